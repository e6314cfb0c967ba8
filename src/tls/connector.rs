//! The upstream connector: hyper-util's `HttpConnector` for TCP, plus a
//! verified rustls handshake for `https://` URIs, as a
//! `tower_service::Service<Uri>` that hyper-util's legacy client pools.
//!
//! A failed or timed-out handshake is a distinct [`ConnectError`] so the
//! proxy can count it as `upstream_errors_total{reason="tls"}` and answer
//! 502. This module never skips certificate or name verification.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::metrics::upstream_reason;

/// Default bound on the upstream TLS handshake (after TCP connect).
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to upstreams over TCP, and over TLS for `https://` URIs.
#[derive(Clone)]
pub struct UpstreamConnector {
    http: HttpConnector,
    tls: Option<TlsConnector>,
    server_name: Option<ServerName<'static>>,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for UpstreamConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConnector")
            .field("tls", &self.tls.is_some())
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// Why an upstream connection could not be made. Never holds body data.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// TCP connect (or DNS) failed; classified by the proxy as usual.
    #[error("connect: {0}")]
    Tcp(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The TLS handshake failed: untrusted or mismatched certificate, no
    /// common protocol version, client certificate refused...
    #[error("upstream TLS handshake failed: {0}")]
    Tls(#[source] io::Error),
    /// The TLS handshake did not finish in time.
    #[error("upstream TLS handshake timed out after {0:?}")]
    TlsTimeout(Duration),
    /// An `https://` URI but no TLS configuration for this upstream.
    #[error("https upstream without a TLS client configuration")]
    NoTlsConfig,
    /// The URI has no host usable as a TLS server name.
    #[error("upstream URI has no host usable as a TLS server name")]
    NoServerName,
}

/// The bounded `upstream_errors_total` reason for an error that came out of
/// this connector (looked for anywhere in the source chain), or `None` if
/// the error did not come from here or is a plain TCP failure the proxy
/// classifies itself.
pub fn classify_connect_error(err: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(ce) = e.downcast_ref::<ConnectError>() {
            return match ce {
                ConnectError::Tcp(_) => None,
                ConnectError::TlsTimeout(_) => Some(upstream_reason::TIMEOUT),
                ConnectError::Tls(_) | ConnectError::NoTlsConfig | ConnectError::NoServerName => {
                    Some(upstream_reason::TLS)
                }
            };
        }
        cur = e.source();
    }
    None
}

impl UpstreamConnector {
    /// `http` does the TCP part (its timeouts and keepalive settings are
    /// kept; `enforce_http` is turned off so https URIs reach us). `tls` is
    /// the upstream's client configuration (see [`super::client_config`]);
    /// without it only `http://` URIs connect. `server_name` overrides the
    /// URI host for SNI and certificate name checks.
    pub fn new(
        mut http: HttpConnector,
        tls: Option<Arc<ClientConfig>>,
        server_name: Option<ServerName<'static>>,
    ) -> Self {
        http.enforce_http(false);
        Self {
            http,
            tls: tls.map(TlsConnector::from),
            server_name,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Bounds the TLS handshake (default 10 s).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }
}

fn host_server_name(uri: &Uri) -> Option<ServerName<'static>> {
    let host = uri.host()?;
    // IPv6 literals come bracketed in URIs.
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    ServerName::try_from(host.to_owned()).ok()
}

impl tower_service::Service<Uri> for UpstreamConnector {
    type Response = MaybeTlsStream;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<MaybeTlsStream, ConnectError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower_service::Service::<Uri>::poll_ready(&mut self.http, cx)
            .map_err(|e| ConnectError::Tcp(Box::new(e)))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let is_https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let tls = self.tls.clone();
        let name = self.server_name.clone().or_else(|| host_server_name(&uri));
        let timeout = self.handshake_timeout;
        let connecting = tower_service::Service::<Uri>::call(&mut self.http, uri);
        Box::pin(async move {
            if !is_https {
                let tcp = connecting.await.map_err(|e| ConnectError::Tcp(Box::new(e)))?;
                return Ok(MaybeTlsStream::Plain(tcp));
            }
            let tls = tls.ok_or(ConnectError::NoTlsConfig)?;
            let name = name.ok_or(ConnectError::NoServerName)?;
            let tcp = connecting.await.map_err(|e| ConnectError::Tcp(Box::new(e)))?;
            match tokio::time::timeout(timeout, tls.connect(name, tcp.into_inner())).await {
                Ok(Ok(stream)) => Ok(MaybeTlsStream::Tls(Box::new(TokioIo::new(stream)))),
                Ok(Err(e)) => Err(ConnectError::Tls(e)),
                Err(_) => Err(ConnectError::TlsTimeout(timeout)),
            }
        })
    }
}

/// An upstream connection: plain TCP or TLS over TCP.
#[derive(Debug)]
pub enum MaybeTlsStream {
    /// `http://` upstream.
    Plain(TokioIo<TcpStream>),
    /// `https://` upstream.
    Tls(Box<TokioIo<TlsStream<TcpStream>>>),
}

impl Connection for MaybeTlsStream {
    fn connected(&self) -> Connected {
        match self {
            Self::Plain(s) => s.connected(),
            Self::Tls(s) => {
                let (tcp, conn) = s.inner().get_ref();
                let connected = tcp.connected();
                if conn.alpn_protocol() == Some(b"h2") {
                    connected.negotiated_h2()
                } else {
                    connected
                }
            }
        }
    }
}

impl Read for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl Write for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
        }
    }
}
