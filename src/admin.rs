//! The admin listener: /healthz, /readyz, /metrics (and /reload). It binds
//! to loopback by default and never serves proxied traffic.
//!
//! It must never expose configuration secrets or scanned values: it only
//! says whether the process is alive and ready, and exports metrics.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::proxy::Proxy;

/// Called on `POST /reload`: returns a short summary on success or the
/// configuration error. Installed by whoever owns reloading.
pub type ReloadHook = Arc<dyn Fn() -> Result<String, String> + Send + Sync>;

/// Content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A bound admin listener.
pub struct AdminServer {
    listener: TcpListener,
    proxy: Arc<Proxy>,
    reload: Option<ReloadHook>,
}

impl AdminServer {
    pub async fn bind(
        addr: SocketAddr,
        proxy: Arc<Proxy>,
        reload: Option<ReloadHook>,
    ) -> io::Result<AdminServer> {
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            io::Error::new(e.kind(), format!("cannot listen on {addr} (admin): {e}"))
        })?;
        Ok(AdminServer { listener, proxy, reload })
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
                    let proxy = self.proxy.clone();
                    let reload = self.reload.clone();
                    let svc = service_fn(move |req| {
                        let resp = respond(&proxy, reload.as_ref(), &req);
                        async move { Ok::<_, Infallible>(resp) }
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

fn respond(
    proxy: &Proxy,
    reload: Option<&ReloadHook>,
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    match req.uri().path() {
        "/healthz" | "/readyz" | "/metrics" if !get => {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            r.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        }
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" if proxy.is_ready() => text(StatusCode::OK, "ready\n"),
        "/readyz" if proxy.is_draining() => text(StatusCode::SERVICE_UNAVAILABLE, "draining\n"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        "/metrics" => {
            let mut r = text(StatusCode::OK, proxy.metrics().encode());
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_CONTENT_TYPE));
            r
        }
        "/inventory" | "/inventory.html" => {
            crate::inventory::admin_response(proxy.inventory(), req)
        }
        "/reload" => match (req.method(), reload) {
            (&Method::POST, Some(hook)) => match hook() {
                Ok(summary) => text(StatusCode::OK, format!("{summary}\n")),
                Err(err) => text(StatusCode::UNPROCESSABLE_ENTITY, format!("{err}\n")),
            },
            (&Method::POST, None) => text(StatusCode::NOT_FOUND, "reload is not enabled\n"),
            _ => {
                let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
                r.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
                r
            }
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}
