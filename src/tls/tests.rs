//! Unit tests: certificates generated with rcgen into a tempdir, handshakes
//! over in-memory duplex pipes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::config::tls::{ClientAuth, ListenerTlsSection, SniCertSection, UpstreamTlsSection};

#[path = "../../tests/support/pki.rs"]
mod pki;
use pki::Pki;

/// The listener section for `<stem>.crt` / `<stem>.key` (relative paths,
/// resolved against the Pki directory).
fn listener(stem: &str) -> ListenerTlsSection {
    ListenerTlsSection::from_files(format!("{stem}.crt").into(), format!("{stem}.key").into())
}

fn err_text<T>(r: Result<T, TlsError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// A client config trusting the test CA (plus a client cert if given).
fn test_client(pki: &Pki, alpn: &[&[u8]], client_stem: Option<&str>) -> Arc<rustls::ClientConfig> {
    let section = UpstreamTlsSection {
        ca_file: Some("ca.pem".into()),
        builtin_roots: false,
        client_cert: client_stem.map(|s| format!("{s}.crt").into()),
        client_key: client_stem.map(|s| format!("{s}.key").into()),
        ..Default::default()
    };
    let mut cfg = (*client_config(&section, pki.dir.path(), false).unwrap()).clone();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}

/// Runs a handshake through an in-memory pipe; returns the served leaf and
/// the negotiated ALPN, or the client-side error text.
async fn handshake(
    server: &ServerTls,
    client: Arc<rustls::ClientConfig>,
    sni: &str,
) -> Result<(CertificateDer<'static>, Option<Vec<u8>>), String> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let connector = tokio_rustls::TlsConnector::from(client);
    let name = ServerName::try_from(sni.to_owned()).unwrap();
    let (srv, cli) = tokio::join!(server.accept(a), connector.connect(name, b));
    let mut cli = cli.map_err(|e| e.to_string())?;
    let mut srv = srv.map_err(|e| e.to_string())?;
    let alpn_server = srv.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    // Round-trip one byte so TLS 1.3 client-auth failures surface.
    let (w, r) = tokio::join!(async { srv.write_all(b"x").await.and(srv.flush().await) }, async {
        let mut one = [0u8; 1];
        cli.read_exact(&mut one).await.map(|_| one)
    });
    w.map_err(|e| e.to_string())?;
    assert_eq!(r.map_err(|e| e.to_string())?, *b"x");
    let leaf = cli.get_ref().1.peer_certificates().unwrap()[0].clone().into_owned();
    assert_eq!(cli.get_ref().1.alpn_protocol().map(<[u8]>::to_vec), alpn_server);
    Ok((leaf, alpn_server))
}

#[test]
fn loads_ecdsa_pkcs8_key_and_sec1_key() {
    let pki = Pki::new();
    pki.issue("a", &["a.test"], false);
    server_config(&listener("a"), pki.dir.path()).expect("PKCS#8");

    // Unwrap the SEC1 ECPrivateKey from the PKCS#8 OCTET STRING.
    let pem = std::fs::read_to_string(pki.path("a.key")).unwrap();
    let pk8 =
        <rustls_pki_types::PrivatePkcs8KeyDer as rustls_pki_types::pem::PemObject>::from_pem_slice(
            pem.as_bytes(),
        )
        .unwrap();
    let der = pk8.secret_pkcs8_der();
    let sec1 = der.windows(4).position(|w| w == [0x04, 0x6d, 0x30, 0x6b]).map(|i| {
        let len = der[i + 1] as usize;
        der[i + 2..i + 2 + len].to_vec()
    });
    let sec1 = sec1.expect("P-256 PKCS#8 holds a short-form OCTET STRING");
    assert_eq!(sec1[0], 0x30, "ECPrivateKey is a SEQUENCE");
    let pem = pem_block("EC PRIVATE KEY", &sec1);
    std::fs::write(pki.path("a-sec1.key"), pem).unwrap();
    let mut section = listener("a");
    section.key = "a-sec1.key".into();
    server_config(&section, pki.dir.path()).expect("SEC1");
}

fn pem_block(label: &str, der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    let body: Vec<&str> =
        out.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", body.join("\n"))
}

#[test]
fn loads_rsa_pkcs1_key_made_by_openssl() {
    let pki = Pki::new();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(pki.dir.path())
            .output()
            .expect("the openssl binary is needed for the RSA key test");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["genrsa", "-traditional", "-out", "rsa.key", "2048"]);
    run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "rsa.key",
        "-out",
        "rsa.crt",
        "-days",
        "2",
        "-subj",
        "/CN=rsa.test",
    ]);
    let key = std::fs::read_to_string(pki.path("rsa.key")).unwrap();
    assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----"), "PKCS#1 expected");
    server_config(&listener("rsa"), pki.dir.path()).expect("PKCS#1 RSA");
}

#[test]
fn file_errors_name_the_file_and_the_problem() {
    let pki = Pki::new();
    pki.issue("a", &["a.test"], false);
    pki.issue("b", &["b.test"], false);
    let dir = pki.dir.path();

    let mut s = listener("a");
    s.cert = "missing.crt".into();
    let e = err_text(server_config(&s, dir));
    assert!(e.contains("missing.crt") && e.contains("cannot read"), "{e}");

    let mut s = listener("a");
    s.key = "b.key".into();
    let e = err_text(server_config(&s, dir));
    assert!(e.contains("b.key") && e.contains("does not match") && e.contains("a.crt"), "{e}");

    std::fs::write(pki.path("empty.pem"), "no pem here\n").unwrap();
    let mut s = listener("a");
    s.key = "empty.pem".into();
    let e = err_text(server_config(&s, dir));
    assert!(e.contains("empty.pem") && e.contains("no private key"), "{e}");

    let mut s = listener("a");
    s.cert = "a.key".into();
    let e = err_text(server_config(&s, dir));
    assert!(e.contains("a.key") && e.contains("no PEM certificate"), "{e}");

    pki.issue_with("old", &["old.test"], false, |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 6, 30);
    });
    let e = err_text(server_config(&listener("old"), dir));
    assert!(e.contains("old.crt") && e.contains("expired at 2021-06-30T00:00:00Z"), "{e}");

    pki.issue_with("future", &["future.test"], false, |p| {
        p.not_before = rcgen::date_time_ymd(2090, 1, 1);
        p.not_after = rcgen::date_time_ymd(2091, 1, 1);
    });
    let e = err_text(server_config(&listener("future"), dir));
    assert!(e.contains("future.crt") && e.contains("not valid before 2090"), "{e}");

    // Errors never quote key material.
    let key_pem = std::fs::read_to_string(pki.path("b.key")).unwrap();
    let key_line = key_pem.lines().nth(1).unwrap();
    let mut s = listener("a");
    s.key = "b.key".into();
    assert!(!err_text(server_config(&s, dir)).contains(key_line));
}

#[test]
fn setting_errors_are_explained() {
    let pki = Pki::new();
    pki.issue("a", &["a.test"], false);
    let dir = pki.dir.path();
    type Tweak = Box<dyn Fn(&mut ListenerTlsSection)>;
    let cases: Vec<(Tweak, &str)> = vec![
        (Box::new(|s| s.client_auth = Some(ClientAuth::Required)), "needs client_ca"),
        (Box::new(|s| s.client_auth = Some(ClientAuth::Optional)), "needs client_ca"),
        (
            Box::new(|s| {
                s.client_ca = Some("ca.pem".into());
                s.client_auth = Some(ClientAuth::None);
            }),
            "client_ca is set",
        ),
        (Box::new(|s| s.client_ca = Some("a.key".into())), "a.key: bad CA bundle"),
        (Box::new(|s| s.alpn = vec!["spdy/3".into()]), "\"spdy/3\" is not served"),
        (Box::new(|s| s.alpn = vec!["h2".into(), "h2".into()]), "listed twice"),
        (
            Box::new(|s| {
                s.sni = vec![SniCertSection {
                    names: vec!["other.test".into()],
                    cert: "a.crt".into(),
                    key: "a.key".into(),
                }]
            }),
            "a.crt: certificate is not valid for server name \"other.test\"",
        ),
        (
            Box::new(|s| {
                s.sni = vec![SniCertSection {
                    names: vec![],
                    cert: "a.crt".into(),
                    key: "a.key".into(),
                }]
            }),
            "lists no names",
        ),
        (
            Box::new(|s| {
                s.sni = vec![SniCertSection {
                    names: vec!["a.test".into(), "A.test.".into()],
                    cert: "a.crt".into(),
                    key: "a.key".into(),
                }]
            }),
            "more than one",
        ),
    ];
    for (tweak, expected) in cases {
        let mut s = listener("a");
        tweak(&mut s);
        let e = err_text(server_config(&s, dir));
        assert!(e.contains(expected), "{e:?} should mention {expected:?}");
    }
}

#[test]
fn client_config_checks() {
    let pki = Pki::new();
    pki.issue("c", &["c.test"], true);
    let dir = pki.dir.path();
    let none = UpstreamTlsSection { builtin_roots: false, ..Default::default() };
    assert!(err_text(client_config(&none, dir, false)).contains("needs a ca_file"));
    let half = UpstreamTlsSection { client_cert: Some("c.crt".into()), ..Default::default() };
    assert!(err_text(client_config(&half, dir, false)).contains("set together"));
    let bad_name =
        UpstreamTlsSection { server_name: Some("not a name".into()), ..Default::default() };
    assert!(err_text(client_config(&bad_name, dir, false)).contains("server_name"));
    let mismatch = UpstreamTlsSection {
        client_cert: Some("c.crt".into()),
        client_key: Some("ca.pem".into()),
        ..Default::default()
    };
    assert!(err_text(client_config(&mismatch, dir, false)).contains("ca.pem: no private key"));

    let ok = client_config(&UpstreamTlsSection::default(), dir, true).unwrap();
    assert_eq!(ok.alpn_protocols, [b"h2".to_vec()]);
    let ok = client_config(&UpstreamTlsSection::default(), dir, false).unwrap();
    assert_eq!(ok.alpn_protocols, [b"http/1.1".to_vec()]);
}

#[tokio::test]
async fn sni_alpn_and_default_certificate() {
    let pki = Pki::new();
    let default = pki.issue("default", &["default.test"], false);
    let shop = pki.issue("shop", &["shop.test"], false);
    let wild = pki.issue("wild", &["*.apps.test"], false);
    let mut section = listener("default");
    section.sni = vec![
        SniCertSection {
            names: vec!["shop.test".into()],
            cert: "shop.crt".into(),
            key: "shop.key".into(),
        },
        SniCertSection {
            names: vec!["*.apps.test".into()],
            cert: "wild.crt".into(),
            key: "wild.key".into(),
        },
    ];
    let server = ServerTls::new(section, pki.dir.path()).unwrap();

    let h2 = test_client(&pki, &[b"h2", b"http/1.1"], None);
    let (leaf, alpn) = handshake(&server, h2.clone(), "shop.test").await.unwrap();
    assert_eq!(leaf, shop);
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let (leaf, _) = handshake(&server, h2.clone(), "one.apps.test").await.unwrap();
    assert_eq!(leaf, wild);
    let (leaf, _) = handshake(&server, h2.clone(), "default.test").await.unwrap();
    assert_eq!(leaf, default);
    // An unknown name gets the default certificate, which the client then
    // refuses because it does not cover the name.
    let e = handshake(&server, h2, "unknown.test").await.unwrap_err();
    assert!(e.contains("not valid for name") || e.contains("NotValidForName"), "{e}");

    let h1 = test_client(&pki, &[b"http/1.1"], None);
    let (_, alpn) = handshake(&server, h1, "shop.test").await.unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    let no_alpn = test_client(&pki, &[], None);
    let (_, alpn) = handshake(&server, no_alpn, "shop.test").await.unwrap();
    assert_eq!(alpn, None);
}

#[tokio::test]
async fn mutual_tls_required_and_optional() {
    let pki = Pki::new();
    pki.issue("srv", &["srv.test"], false);
    pki.issue("client", &["client.test"], true);
    let other = Pki::new();
    other.issue("stranger", &["stranger.test"], true);
    std::fs::copy(other.path("stranger.crt"), pki.path("stranger.crt")).unwrap();
    std::fs::copy(other.path("stranger.key"), pki.path("stranger.key")).unwrap();

    let mut section = listener("srv");
    section.client_ca = Some("ca.pem".into());
    let required = ServerTls::new(section.clone(), pki.dir.path()).unwrap();
    handshake(&required, test_client(&pki, &[], Some("client")), "srv.test").await.unwrap();
    assert!(handshake(&required, test_client(&pki, &[], None), "srv.test").await.is_err());
    assert!(handshake(&required, test_client(&pki, &[], Some("stranger")), "srv.test")
        .await
        .is_err());

    section.client_auth = Some(ClientAuth::Optional);
    let optional = ServerTls::new(section, pki.dir.path()).unwrap();
    handshake(&optional, test_client(&pki, &[], None), "srv.test").await.unwrap();
    handshake(&optional, test_client(&pki, &[], Some("client")), "srv.test").await.unwrap();
    assert!(handshake(&optional, test_client(&pki, &[], Some("stranger")), "srv.test")
        .await
        .is_err());
}

#[tokio::test]
async fn reload_swaps_for_new_handshakes_and_keeps_old_on_error() {
    let pki = Pki::new();
    let first = pki.issue("srv", &["srv.test"], false);
    let server = ServerTls::new(listener("srv"), pki.dir.path()).unwrap();
    let client = test_client(&pki, &[], None);

    // An established connection survives the reload.
    let (a, b) = tokio::io::duplex(16 * 1024);
    let connector = tokio_rustls::TlsConnector::from(client.clone());
    let (srv, cli) = tokio::join!(
        server.accept(a),
        connector.connect(ServerName::try_from("srv.test").unwrap(), b)
    );
    let (mut srv, mut cli) = (srv.unwrap(), cli.unwrap());

    let second = pki.issue("srv", &["srv.test"], false);
    assert_ne!(first, second);
    server.reload().unwrap();
    assert_eq!(handshake(&server, client.clone(), "srv.test").await.unwrap().0, second);

    srv.write_all(b"still here").await.unwrap();
    srv.flush().await.unwrap();
    let mut buf = [0u8; 10];
    cli.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"still here");

    // A broken key file: the error names it and the current cert stays.
    std::fs::write(pki.path("srv.key"), "garbage\n").unwrap();
    let e = err_text(server.reload());
    assert!(e.contains("srv.key"), "{e}");
    assert_eq!(handshake(&server, client, "srv.test").await.unwrap().0, second);
}

#[tokio::test]
async fn handshake_timeout_is_enforced() {
    let pki = Pki::new();
    pki.issue("srv", &["srv.test"], false);
    let mut section = listener("srv");
    section.handshake_timeout =
        Some(crate::config::file::ConfigDuration(Duration::from_millis(50)));
    let server = ServerTls::new(section, pki.dir.path()).unwrap();
    let (a, _silent_client) = tokio::io::duplex(1024);
    match server.accept(a).await {
        Err(AcceptError::Timeout(d)) => assert_eq!(d.as_millis(), 50),
        other => panic!("expected a timeout, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn relative_paths_resolve_against_base_dir() {
    let pki = Pki::new();
    pki.issue("a", &["a.test"], false);
    let abs = ListenerTlsSection::from_files(pki.path("a.crt"), pki.path("a.key"));
    server_config(&abs, Path::new("/nonexistent")).expect("absolute paths ignore base_dir");
    assert!(server_config(&listener("a"), Path::new("/nonexistent")).is_err());
}
