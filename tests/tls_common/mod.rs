//! Shared helpers for the tls_* integration tests: a private CA made with
//! rcgen in a tempdir, and a small HTTPS upstream (tokio-rustls + hyper)
//! on 127.0.0.1 port 0.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use tokio::net::TcpListener;

/// A private CA that writes `<stem>.crt` / `<stem>.key` into a tempdir.
pub struct Pki {
    pub dir: tempfile::TempDir,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "leakwarden test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Self { dir, ca, ca_key }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Issues a server (or client) certificate with CN = `stem`.
    pub fn issue(&self, stem: &str, names: &[&str], client: bool) {
        self.issue_with(stem, names, client, |_| {});
    }

    pub fn issue_with(
        &self,
        stem: &str,
        names: &[&str],
        client: bool,
        tweak: impl FnOnce(&mut CertificateParams),
    ) {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, stem);
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        tweak(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        std::fs::write(self.path(&format!("{stem}.crt")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{stem}.key")), key.serialize_pem()).unwrap();
    }
}

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
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let version = format!("{:?}", req.version());
                        let xfp = req
                            .headers()
                            .get("x-forwarded-proto")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        async move {
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .header("content-type", "text/html; charset=utf-8")
                                    .header("x-upstream-version", version)
                                    .header("x-seen-forwarded-proto", xfp)
                                    .body(Full::new(Bytes::from_static(body.as_bytes())))
                                    .unwrap(),
                            )
                        }
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}
