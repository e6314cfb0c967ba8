//! Upstream clients: one pooled hyper-util client per upstream (HTTP/1.1 by
//! default, HTTP/2 prior knowledge when configured), and the mapping of
//! client errors to an [`UpstreamError`] (which carries the status and the
//! metric label).
//!
//! Error classification never looks at bodies and never echoes upstream
//! bytes: the client only ever sees a short generic text.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::app::{Limits, Upstream};
use crate::pipeline::error::UpstreamError;

/// The request body type sent upstream: the client's body, streamed
/// through the request side's scan ([`crate::pipeline::request`]).
pub type UpstreamBody = crate::pipeline::request::RequestScan<super::body::RequestBody>;

type BoxError = Box<dyn StdError + Send + Sync>;

/// A pooled client for one upstream, with the outcome of its last
/// connection attempt.
#[derive(Clone)]
pub struct UpstreamClient {
    client: Client<UpstreamConnector, UpstreamBody>,
    last_connect: Arc<LastConnect>,
}

impl UpstreamClient {
    /// Sends a request upstream (see hyper-util's `Client::request`).
    pub fn request(&self, req: http::Request<UpstreamBody>) -> ResponseFuture {
        self.client.request(req)
    }

    /// Classifies a client error: connect timeouts are 504, everything
    /// else that happens before response headers is 502.
    ///
    /// With an HTTP/2 upstream, hyper-util lets one request connect while
    /// the others wait for that connection; when the attempt fails the
    /// waiters only learn that their checkout was canceled. They failed for
    /// the same reason as the attempt they waited on (a refused TLS
    /// handshake must count as "tls" for every request it failed), so
    /// that reason is taken from the connector's record.
    pub fn classify(&self, err: &hyper_util::client::legacy::Error) -> UpstreamError {
        let own = classify(err);
        if err.is_connect() && own == UpstreamError::Refused && !has_io_cause(err) {
            if let Some(shared) = self.last_connect.failure() {
                return shared;
            }
        }
        own
    }
}

/// The outcome of the most recent connection attempt to one upstream:
/// `0` after a success (or before any attempt), else 1 + an index into
/// [`UpstreamError::ALL`].
#[derive(Default)]
struct LastConnect(AtomicU8);

impl LastConnect {
    fn record(&self, outcome: Result<(), UpstreamError>) {
        let code = match outcome {
            Ok(()) => 0,
            Err(f) => UpstreamError::ALL.iter().position(|k| *k == f).map_or(1, |i| i as u8 + 1),
        };
        self.0.store(code, Ordering::Relaxed);
    }

    fn failure(&self) -> Option<UpstreamError> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            n => UpstreamError::ALL.get(usize::from(n) - 1).copied(),
        }
    }
}

/// Dials the configured upstream whatever authority the request URI
/// carries: with `preserve_host` on an HTTP/2 upstream the URI holds the
/// client's host (it becomes `:authority`), which must never decide where
/// the proxy connects.
#[derive(Clone)]
pub struct UpstreamConnector {
    /// TCP, plus verified TLS for https:// targets.
    http: crate::tls::UpstreamConnector,
    target: http::Uri,
    last_connect: Arc<LastConnect>,
}

impl tower_service::Service<http::Uri> for UpstreamConnector {
    type Response = crate::tls::MaybeTlsStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        tower_service::Service::<http::Uri>::poll_ready(&mut self.http, cx).map_err(Into::into)
    }

    fn call(&mut self, _requested: http::Uri) -> Self::Future {
        let fut = tower_service::Service::call(&mut self.http, self.target.clone());
        let last = self.last_connect.clone();
        Box::pin(async move {
            let res = fut.await.map_err(BoxError::from);
            last.record(res.as_ref().map(|_| ()).map_err(|e| classify_chain(&**e, true)));
            res
        })
    }
}

/// Builds the client for one upstream. Creating it opens no connection.
pub fn build_client(upstream: &Upstream, limits: &Limits) -> UpstreamClient {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(limits.connect_timeout));
    http.set_nodelay(true);
    http.set_keepalive(Some(std::time::Duration::from_secs(60)));
    // https:// upstreams get the verified client configuration built at
    // load time; a failed handshake is a 502 with reason "tls".
    let http = crate::tls::UpstreamConnector::new(
        http,
        upstream.tls_client.clone(),
        upstream.tls_server_name.clone(),
    )
    .with_handshake_timeout(limits.connect_timeout);
    let target = http::Uri::builder()
        .scheme(upstream.scheme.clone())
        .authority(upstream.authority.clone())
        .path_and_query("/")
        .build()
        .expect("validated upstream URL");
    let last_connect = Arc::new(LastConnect::default());
    let connector = UpstreamConnector { http, target, last_connect: last_connect.clone() };
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(limits.upstream_idle_timeout)
        .pool_max_idle_per_host(limits.upstream_max_idle_per_host)
        // hyper grows the read buffer while reads fill it (to ~400 KiB by
        // default) and a body's chunks keep it alive: bounded per response.
        .http1_max_buf_size(limits.upstream_read_buffer)
        // The Host header is decided by the proxy (preserve_host).
        .set_host(false)
        .http2_only(upstream.h2);
    UpstreamClient { client: builder.build(connector), last_connect }
}

/// Whether an I/O error (a real socket or handshake failure) is among the
/// causes of `err`.
fn has_io_cause(err: &(dyn StdError + 'static)) -> bool {
    let mut cur = err.source();
    while let Some(e) = cur {
        if e.is::<io::Error>() || e.is::<crate::tls::ConnectError>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Classifies a client error on its own: connect timeouts are 504,
/// everything else that happens before response headers is 502.
pub fn classify(err: &hyper_util::client::legacy::Error) -> UpstreamError {
    classify_chain(err, err.is_connect())
}

/// Classifies `err` and its causes; `connect` says that no connection was
/// made (so nothing was sent).
fn classify_chain(err: &(dyn StdError + 'static), connect: bool) -> UpstreamError {
    if let Some(reason) = crate::tls::classify_connect_error(err) {
        return UpstreamError::from_reason(reason).unwrap_or(UpstreamError::Tls);
    }
    UpstreamError::classify(err, connect)
}
