//! Shared helpers for the tls_* integration tests: a private CA made with
//! rcgen in a tempdir, and a small HTTPS upstream (tokio-rustls + hyper)
//! on 127.0.0.1 port 0.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

#[path = "../support/pki.rs"]
mod pki;
pub use pki::Pki;

/// Starts an HTTPS upstream on 127.0.0.1:0 serving `body` (as text/html)
/// with `stem`'s certificate, ALPN h2 + http/1.1. Every response carries
/// `x-upstream-version` (the HTTP version the upstream saw) and echoes the
/// request's `x-forwarded-proto` as `x-seen-forwarded-proto`.
pub async fn https_upstream(pki: &Pki, stem: &str, body: &'static str) -> SocketAddr {
    https_upstream_with(pki, listener_section(pki, stem), body).await
}

/// A listener section for `stem`'s certificate and key (absolute paths).
pub fn listener_section(pki: &Pki, stem: &str) -> leakwarden::config::tls::ListenerTlsSection {
    leakwarden::config::tls::ListenerTlsSection::from_files(
        pki.path(&format!("{stem}.crt")),
        pki.path(&format!("{stem}.key")),
    )
}

/// Like [`https_upstream`] with a full listener section (e.g. mTLS).
pub async fn https_upstream_with(
    pki: &Pki,
    section: leakwarden::config::tls::ListenerTlsSection,
    body: &'static str,
) -> SocketAddr {
    let tls = Arc::new(leakwarden::tls::ServerTls::new(section, pki.dir.path()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let tls = tls.clone();
            tokio::spawn(async move {
                let Ok(stream) = tls.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |req| echo(body, req));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// The upstreams' handler: `body` as text/html, plus headers saying which
/// HTTP version and X-Forwarded-Proto the upstream saw.
async fn echo(
    body: &'static str,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let version = format!("{:?}", req.version());
    let xfp = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Ok(Response::builder()
        .header("content-type", "text/html; charset=utf-8")
        .header("x-upstream-version", version)
        .header("x-seen-forwarded-proto", xfp)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap())
}

/// A plain HTTP/1.1 (and h2c) upstream on 127.0.0.1:0 with the same
/// handler as [`https_upstream`].
pub async fn http_upstream(body: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| echo(body, req));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// What a curl run printed.
#[derive(Debug)]
pub struct CurlOut {
    /// curl's exit code (0 = transfer done; 35/56/... = TLS failures).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the real curl binary, trusting the test CA, resolving `name` to
/// the guard on 127.0.0.1:`port`. Async so the in-process guard keeps
/// running on the test's runtime while curl talks to it.
pub async fn curl(pki: &Pki, name: &str, port: u16, args: &[&str]) -> CurlOut {
    let out = tokio::process::Command::new("curl")
        .arg("-sS")
        .arg("--max-time")
        .arg("20")
        .arg("--cacert")
        .arg(pki.path("ca.pem"))
        .arg("--resolve")
        .arg(format!("{name}:{port}:127.0.0.1"))
        .args(args)
        .output()
        .await
        .expect("the curl binary is needed for the TLS tests");
    CurlOut {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
