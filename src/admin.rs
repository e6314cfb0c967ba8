//! The admin listener: /healthz, /readyz, /metrics (and /reload). It binds
//! to loopback by default and never serves proxied traffic.
//!
//! It must never expose configuration secrets or scanned values: it only
//! says whether the process is alive and ready, exports metrics, and
//! reloads the configuration on request.
//!
//! Because a web page can make a browser send a simple `POST` to any
//! address, loopback included, the listener defends itself against being
//! driven from a browser (see [`Access`]): a request carrying an `Origin`
//! header, or naming a `Host` that is neither an IP literal, `localhost`
//! nor one of the configured admin host names (DNS rebinding), is refused;
//! mutating endpoints need the admin token when one is configured, and are
//! refused on a non-loopback address without one unless explicitly allowed.
//!
//! It knows the rest of the application only through a [`Health`] handle,
//! the metrics registry and an optional reload hook.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    HeaderValue, ALLOW, AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN, WWW_AUTHENTICATE,
};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// Called on `POST /reload`: returns a short summary on success or the
/// configuration error. Installed by whoever owns reloading. It blocks
/// (reads files, compiles detectors): the listener runs it on the blocking
/// pool.
pub type ReloadHook = Arc<dyn Fn() -> Result<String, String> + Send + Sync>;

/// Content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether the process is ready to serve and whether it is draining: all
/// the admin listener knows of the proxy.
#[derive(Debug, Default)]
pub struct Health {
    ready: AtomicBool,
    draining: AtomicBool,
}

impl Health {
    /// True once listeners are bound and configuration is loaded, and until
    /// draining starts.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.is_draining()
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
}

/// The admin token, kept only as its SHA-256 digest: the process never
/// holds the token itself after loading, and comparing digests in constant
/// time hides the token's length as well as its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken([u8; 32]);

/// Shortest accepted admin token, in bytes.
pub const MIN_TOKEN_LEN: usize = 16;

impl AdminToken {
    /// A token from its text (surrounding whitespace, such as the newline
    /// at the end of a token file, is ignored). The error never contains
    /// the token.
    pub fn new(token: &str) -> Result<AdminToken, String> {
        let token = token.trim();
        if token.len() < MIN_TOKEN_LEN {
            return Err(format!("the admin token must be at least {MIN_TOKEN_LEN} bytes"));
        }
        Ok(AdminToken(Sha256::digest(token.as_bytes()).into()))
    }

    /// Constant-time check of a presented token.
    pub fn verify(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        self.0.ct_eq(&digest).into()
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// Who may use the admin listener, from the `[admin]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Required (as `Authorization: Bearer <token>`) by every mutating
    /// endpoint when set.
    pub token: Option<AdminToken>,
    /// Host names, lower case, accepted in the `Host` header besides IP
    /// literals and `localhost`.
    pub hosts: Vec<String>,
    /// Serve mutating endpoints without a token on a non-loopback address.
    pub allow_remote_without_token: bool,
}

/// A bound admin listener.
pub struct AdminServer {
    listener: TcpListener,
    state: Arc<State>,
}

struct State {
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    reload: Option<ReloadHook>,
    /// The privacy inventory (`GET /inventory`, `/inventory.html`).
    inventory: Option<Arc<crate::inventory::Inventory>>,
    access: Access,
    mutations: Gate,
}

/// Who may call a mutating endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Whoever reaches the port: no token, and loopback or explicitly
    /// allowed.
    Open,
    /// Holders of the token.
    Token,
    /// Nobody: a non-loopback address without a token, not allowed.
    Refused,
}

impl Gate {
    fn new(loopback: bool, access: &Access) -> Gate {
        match (&access.token, loopback || access.allow_remote_without_token) {
            (Some(_), _) => Gate::Token,
            (None, true) => Gate::Open,
            (None, false) => Gate::Refused,
        }
    }
}

impl AdminServer {
    pub async fn bind(
        addr: SocketAddr,
        access: Access,
        health: Arc<Health>,
        metrics: Arc<Metrics>,
        reload: Option<ReloadHook>,
        inventory: Option<Arc<crate::inventory::Inventory>>,
    ) -> io::Result<AdminServer> {
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            io::Error::new(e.kind(), format!("cannot listen on {addr} (admin): {e}"))
        })?;
        let loopback = addr.ip().is_loopback();
        let no_token = access.token.is_none();
        if !loopback && no_token {
            if access.allow_remote_without_token {
                tracing::warn!(
                    %addr,
                    "the admin listener is on a non-loopback address without a token: anyone \
                     who reaches it can reload the configuration (allow_remote_without_token)"
                );
            } else {
                tracing::warn!(
                    %addr,
                    "the admin listener is on a non-loopback address without a token: POST \
                     /reload is refused; set [admin] token_file or token_env"
                );
            }
        }
        let mutations = Gate::new(loopback, &access);
        let state = State { health, metrics, reload, inventory, mutations, access };
        Ok(AdminServer { listener, state: Arc::new(state) })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then closes connections.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(std::time::Duration::from_secs(10));
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    };
                    let state = self.state.clone();
                    let svc = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(respond(&state, &req).await) }
                    });
                    let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
                    let watched = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = watched.await;
                    });
                }
            }
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), graceful.shutdown()).await;
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

fn method_not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    r.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// True when the `Host` (or `:authority`) names the admin listener: absent,
/// an IP literal, `localhost`, or a configured admin host name. A browser
/// led to the port by DNS rebinding sends the attacker's host name.
fn host_allowed<B>(access: &Access, req: &Request<B>) -> bool {
    let host = match req.headers().get(HOST) {
        Some(v) => match v.to_str() {
            Ok(h) => h.to_string(),
            Err(_) => return false,
        },
        None => match req.uri().authority() {
            Some(a) => a.as_str().to_string(),
            None => return true,
        },
    };
    let Ok(authority) = host.parse::<http::uri::Authority>() else { return false };
    let name = authority.host().trim_start_matches('[').trim_end_matches(']');
    name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || access.hosts.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Checks a mutating request's credentials; `Some(response)` refuses it.
fn authorize<B>(state: &State, req: &Request<B>) -> Option<Response<Full<Bytes>>> {
    match state.mutations {
        Gate::Open => return None,
        Gate::Token => {}
        Gate::Refused => {
            return Some(text(
                StatusCode::FORBIDDEN,
                "refused: the admin listener is not on loopback and has no token; set [admin] \
             token_file or token_env\n",
            ))
        }
    }
    let token = state.access.token.as_ref()?;
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .map(|t| t.trim_ascii());
    match presented {
        Some(t) if token.verify(t) => None,
        _ => {
            let mut r = text(StatusCode::UNAUTHORIZED, "a valid admin token is required\n");
            r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Some(r)
        }
    }
}

async fn respond<B>(state: &State, req: &Request<B>) -> Response<Full<Bytes>> {
    // Browsers send Origin on cross-site requests (and on every POST);
    // the tools that use this listener (curl, probes, Prometheus) never do.
    if req.headers().contains_key(ORIGIN) {
        return text(StatusCode::FORBIDDEN, "requests from web pages are refused\n");
    }
    if !host_allowed(&state.access, req) {
        return text(StatusCode::FORBIDDEN, "unknown host\n");
    }
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    match req.uri().path() {
        "/healthz" | "/readyz" | "/metrics" if !get => method_not_allowed("GET, HEAD"),
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" if state.health.is_ready() => text(StatusCode::OK, "ready\n"),
        "/readyz" if state.health.is_draining() => {
            text(StatusCode::SERVICE_UNAVAILABLE, "draining\n")
        }
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        "/metrics" => {
            let mut r = text(StatusCode::OK, state.metrics.encode());
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_CONTENT_TYPE));
            r
        }
        "/inventory" | "/inventory.html" => {
            crate::inventory::admin_response(state.inventory.as_ref(), req)
        }
        "/reload" if req.method() != Method::POST => method_not_allowed("POST"),
        "/reload" => {
            if let Some(refused) = authorize(state, req) {
                return refused;
            }
            let Some(hook) = state.reload.clone() else {
                return text(StatusCode::NOT_FOUND, "reload is not enabled\n");
            };
            // Reading files and compiling detectors blocks: keep it off the
            // async workers.
            match tokio::task::spawn_blocking(move || hook()).await {
                Ok(Ok(summary)) => text(StatusCode::OK, format!("{summary}\n")),
                Ok(Err(err)) => text(StatusCode::UNPROCESSABLE_ENTITY, format!("{err}\n")),
                Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "reload failed\n"),
            }
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_in_constant_time_and_never_print() {
        let t = AdminToken::new("0123456789abcdef-secret\n").unwrap();
        assert!(t.verify(b"0123456789abcdef-secret"));
        assert!(!t.verify(b"0123456789abcdef-secreT"));
        assert!(!t.verify(b""));
        assert!(!format!("{t:?}").contains("secret"));
        let err = AdminToken::new("short").unwrap_err();
        assert!(!err.contains("short"), "{err}");
    }

    #[test]
    fn mutations_need_loopback_a_token_or_an_explicit_allowance() {
        let token = Some(AdminToken::new("0123456789abcdef").unwrap());
        let cases = [
            (true, None, false, Gate::Open),
            (false, None, false, Gate::Refused),
            (false, None, true, Gate::Open),
            (true, token.clone(), false, Gate::Token),
            (false, token.clone(), false, Gate::Token),
            (false, token, true, Gate::Token),
        ];
        for (loopback, token, allow, want) in cases {
            let access = Access { token, hosts: Vec::new(), allow_remote_without_token: allow };
            assert_eq!(Gate::new(loopback, &access), want, "{loopback} {allow} {access:?}");
        }
    }

    #[test]
    fn hosts_are_ip_literals_localhost_or_configured() {
        let access = Access { hosts: vec!["admin.internal".into()], ..Access::default() };
        let cases = [
            (Some("127.0.0.1:9901"), true),
            (Some("[::1]:9901"), true),
            (Some("10.1.2.3"), true),
            (Some("localhost:9901"), true),
            (Some("LOCALHOST"), true),
            (Some("admin.internal:9901"), true),
            (Some("evil.example:9901"), false),
            (Some("127.0.0.1.evil.example"), false),
            (Some("bad host"), false),
            (None, true),
        ];
        for (host, want) in cases {
            let mut b = Request::get("/healthz");
            if let Some(h) = host {
                b = b.header(HOST, h);
            }
            let req = b.body(()).unwrap();
            assert_eq!(host_allowed(&access, &req), want, "{host:?}");
        }
    }
}
