//! The upstream connector on its own (hyper-util legacy client + our
//! `UpstreamConnector`) against a real tokio-rustls upstream on 127.0.0.1
//! with a private CA: verified connections, h2 by ALPN, SNI override,
//! client certificates, and refusals classified as reason "tls".

mod tls_common;

use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use leakwarden::config::tls::{ClientAuth, UpstreamTlsSection};
use leakwarden::tls::{
    classify_connect_error, client_config, upstream_server_name, UpstreamConnector,
};
use tls_common::{https_upstream, https_upstream_with, listener_section, Pki};

type TestClient = Client<UpstreamConnector, Empty<Bytes>>;

fn client(section: &UpstreamTlsSection, dir: &Path, h2: bool) -> TestClient {
    let cfg = client_config(section, dir, h2).unwrap();
    let name = section.server_name.as_deref().map(|n| upstream_server_name(n).unwrap());
    let connector = UpstreamConnector::new(HttpConnector::new(), Some(cfg), name);
    Client::builder(TokioExecutor::new()).build(connector)
}

async fn get(
    client: &TestClient,
    url: String,
) -> Result<(String, String), hyper_util::client::legacy::Error> {
    let resp = client.get(url.parse().unwrap()).await?;
    let version = resp.headers()["x-upstream-version"].to_str().unwrap().to_owned();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Ok((version, String::from_utf8(body.to_vec()).unwrap()))
}

fn private_ca(name: &str) -> UpstreamTlsSection {
    UpstreamTlsSection {
        ca_file: Some("ca.pem".into()),
        server_name: Some(name.to_owned()),
        ..Default::default()
    }
}

#[tokio::test]
async fn private_ca_upstream_over_h1_and_h2() {
    let pki = Pki::new();
    pki.issue("up", &["up.test"], false);
    let addr = https_upstream(&pki, "up", "hello").await;
    let url = format!("https://127.0.0.1:{}/", addr.port());

    let (version, body) =
        get(&client(&private_ca("up.test"), pki.dir.path(), true), url.clone()).await.unwrap();
    assert_eq!((version.as_str(), body.as_str()), ("HTTP/2.0", "hello"));
    let (version, _) =
        get(&client(&private_ca("up.test"), pki.dir.path(), false), url).await.unwrap();
    assert_eq!(version, "HTTP/1.1");
}

#[tokio::test]
async fn ip_address_upstream_verified_by_ip_san() {
    let pki = Pki::new();
    pki.issue("ip", &["127.0.0.1"], false);
    let addr = https_upstream(&pki, "ip", "by ip").await;
    let section = UpstreamTlsSection { ca_file: Some("ca.pem".into()), ..Default::default() };
    let (_, body) = get(
        &client(&section, pki.dir.path(), false),
        format!("https://127.0.0.1:{}/", addr.port()),
    )
    .await
    .unwrap();
    assert_eq!(body, "by ip");
}

#[tokio::test]
async fn refusals_are_classified_as_tls() {
    let pki = Pki::new();
    pki.issue("up", &["up.test"], false);
    let addr = https_upstream(&pki, "up", "secret").await;
    let url = format!("https://127.0.0.1:{}/", addr.port());

    // Name mismatch; untrusted CA (bundled roots only); https without TLS
    // config. Each one must fail, and as "tls".
    let untrusted =
        UpstreamTlsSection { server_name: Some("up.test".into()), ..Default::default() };
    let no_tls: TestClient = Client::builder(TokioExecutor::new()).build(UpstreamConnector::new(
        HttpConnector::new(),
        None,
        None,
    ));
    let cases = [
        ("name mismatch", client(&private_ca("other.test"), pki.dir.path(), false)),
        ("untrusted CA", client(&untrusted, pki.dir.path(), false)),
        ("no TLS config", no_tls),
    ];
    for (what, c) in cases {
        let err = get(&c, url.clone()).await.expect_err(what);
        assert_eq!(classify_connect_error(&err), Some("tls"), "{what}: {err:?}");
    }

    // A refused TCP connect is not a TLS error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let err =
        get(&client(&private_ca("up.test"), pki.dir.path(), false), format!("https://{closed}/"))
            .await
            .expect_err("nothing listens");
    assert_eq!(classify_connect_error(&err), None, "{err:?}");
}

#[tokio::test]
async fn client_certificate_to_upstream() {
    let pki = Pki::new();
    pki.issue("up", &["up.test"], false);
    pki.issue("guard", &["guard.test"], true);
    let mut section = listener_section(&pki, "up");
    section.client_ca = Some(pki.path("ca.pem"));
    section.client_auth = Some(ClientAuth::Required);
    let addr = https_upstream_with(&pki, section, "mtls ok").await;
    let url = format!("https://127.0.0.1:{}/", addr.port());

    let with_cert = UpstreamTlsSection {
        client_cert: Some("guard.crt".into()),
        client_key: Some("guard.key".into()),
        ..private_ca("up.test")
    };
    let (_, body) = get(&client(&with_cert, pki.dir.path(), true), url.clone()).await.unwrap();
    assert_eq!(body, "mtls ok");
    // Without a client certificate the upstream refuses us. With TLS 1.3
    // the refusal arrives after the client's handshake finished, so it
    // surfaces as a failed request rather than a failed connect.
    get(&client(&private_ca("up.test"), pki.dir.path(), true), url)
        .await
        .expect_err("no client cert");
}
