//! The guard as a TLS gateway, driven by the real curl binary: HTTPS over
//! HTTP/1.1 and HTTP/2 (ALPN), SNI choosing between certificates, mutual
//! TLS, https upstreams with a private CA, a refused upstream name (502 +
//! upstream_errors_total{reason="tls"}), masking over HTTPS + h2, and
//! certificate reload. Certificates come from rcgen in a tempdir; every
//! server listens on 127.0.0.1 port 0.

mod tls_common;

use std::path::Path;
use std::sync::Arc;

use leakwarden::app::{self, Overrides};
use leakwarden::metrics::Metrics;
use leakwarden::proxy::{Guard, Proxy};
use tls_common::{curl, http_upstream, https_upstream, CurlOut, Pki};

// No access log: a line per request on stdout would flood the test output.
const QUIET: &str = "\n[access_log]\nenabled = false\n";

fn loopback() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Writes `toml` as `leakwarden.toml` next to the certificates and starts a
/// guard from it (relative paths in the file resolve against its directory).
async fn start(pki: &Pki, toml: &str) -> (Guard, Arc<Metrics>) {
    let path = pki.path("leakwarden.toml");
    std::fs::write(&path, format!("{toml}{QUIET}")).unwrap();
    let overrides =
        Overrides { listen: vec![loopback()], admin: Some(loopback()), ..Default::default() };
    let (_, runtime) = app::load(&path, &overrides).expect("test config is valid");
    let metrics = Arc::new(Metrics::new());
    let guard = Guard::start(runtime, metrics.clone()).await.expect("guard starts");
    (guard, metrics)
}

/// A gateway config: TLS listener with `guard.test`'s certificate in front
/// of `upstream_url`, plus `extra` (more [tls] keys or tables).
fn gateway_toml(upstream_url: &str, tls_extra: &str, upstream_extra: &str) -> String {
    format!(
        r#"
[tls]
cert = "guard.crt"
key = "guard.key"
{tls_extra}

[upstreams.app]
url = "{upstream_url}"
{upstream_extra}

[[routes]]
name = "app"
upstream = "app"
"#
    )
}

fn port(guard: &Guard) -> u16 {
    guard.listen[0].port()
}

fn assert_ok(out: &CurlOut) {
    assert_eq!(out.code, 0, "curl failed: {out:?}");
}

#[tokio::test]
async fn https_over_http1_and_http2_with_forwarded_proto() {
    let pki = Pki::new();
    pki.issue("guard", &["guard.test"], false);
    let up = http_upstream("hello over tls").await;
    let (guard, _) = start(&pki, &gateway_toml(&format!("http://{up}"), "", "")).await;
    let url = format!("https://guard.test:{}/", port(&guard));

    for (flag, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
        let out = curl(
            &pki,
            "guard.test",
            port(&guard),
            &[flag, "-D", "-", "-w", "\nversion=%{http_version}", &url],
        )
        .await;
        assert_ok(&out);
        assert!(out.stdout.contains("hello over tls"), "{out:?}");
        assert!(out.stdout.ends_with(&format!("version={version}")), "{flag}: {}", out.stdout);
        assert!(out.stdout.contains("x-seen-forwarded-proto: https"), "{flag}: {}", out.stdout);
    }
    // Plain HTTP on the TLS port is refused, not served.
    let out =
        curl(&pki, "guard.test", port(&guard), &[&format!("http://guard.test:{}/", port(&guard))])
            .await;
    assert!(!out.stdout.contains("hello over tls"), "{out:?}");
    guard.shutdown().await;
}

#[tokio::test]
async fn cards_are_masked_over_https_and_http2() {
    let pki = Pki::new();
    pki.issue("guard", &["guard.test"], false);
    let up = http_upstream("<p>card 4111 1111 1111 1111 on file</p>").await;
    let (guard, metrics) = start(&pki, &gateway_toml(&format!("http://{up}"), "", "")).await;
    let url = format!("https://guard.test:{}/", port(&guard));

    let out = curl(
        &pki,
        "guard.test",
        port(&guard),
        &["--http2", "-w", "\nversion=%{http_version}", &url],
    )
    .await;
    assert_ok(&out);
    assert!(out.stdout.ends_with("version=2"), "{}", out.stdout);
    assert!(out.stdout.contains("<p>card **** **** **** 1111 on file</p>"), "{}", out.stdout);
    assert!(!out.stdout.contains("4111 1111 1111 1111"), "{}", out.stdout);
    let card =
        metrics.findings_total.get_metric_with_label_values(&["app", "card", "mask"]).unwrap();
    assert_eq!(card.get(), 1);
    guard.shutdown().await;
}

#[tokio::test]
async fn sni_chooses_between_certificates() {
    let pki = Pki::new();
    pki.issue("guard", &["guard.test"], false);
    pki.issue("shop", &["shop.test"], false);
    pki.issue("api", &["api.test", "*.api.test"], false);
    let up = http_upstream("sni").await;
    let sni = r#"
[[tls.sni]]
names = ["shop.test"]
cert = "shop.crt"
key = "shop.key"

[[tls.sni]]
names = ["api.test", "*.api.test"]
cert = "api.crt"
key = "api.key"
"#;
    let (guard, _) = start(&pki, &gateway_toml(&format!("http://{up}"), sni, "")).await;
    for (name, cn) in [
        ("shop.test", "shop"),
        ("api.test", "api"),
        ("v2.api.test", "api"),
        ("guard.test", "guard"),
    ] {
        let url = format!("https://{name}:{}/", port(&guard));
        let out = curl(&pki, name, port(&guard), &["-v", &url]).await;
        assert_ok(&out);
        assert!(out.stderr.contains(&format!("subject: CN={cn}")), "{name}: {}", out.stderr);
        assert!(out.stderr.contains("issuer: CN=leakwarden test CA"), "{name}: {}", out.stderr);
    }
    guard.shutdown().await;
}

#[tokio::test]
async fn mutual_tls_accepts_known_clients_and_refuses_others() {
    let pki = Pki::new();
    pki.issue("guard", &["guard.test"], false);
    pki.issue("client", &["client.test"], true);
    let other = Pki::new();
    other.issue("stranger", &["stranger.test"], true);
    let up = http_upstream("members only").await;
    let (guard, _) =
        start(&pki, &gateway_toml(&format!("http://{up}"), "client_ca = \"ca.pem\"", "")).await;
    let url = format!("https://guard.test:{}/", port(&guard));
    let (cert, key) = (pki.path("client.crt"), pki.path("client.key"));
    let (scert, skey) = (other.path("stranger.crt"), other.path("stranger.key"));

    let ok = curl(
        &pki,
        "guard.test",
        port(&guard),
        &["--cert", cert.to_str().unwrap(), "--key", key.to_str().unwrap(), &url],
    )
    .await;
    assert_ok(&ok);
    assert!(ok.stdout.contains("members only"));

    let anonymous = curl(&pki, "guard.test", port(&guard), &[&url]).await;
    assert_ne!(anonymous.code, 0, "{anonymous:?}");
    assert!(!anonymous.stdout.contains("members only"));

    let stranger = curl(
        &pki,
        "guard.test",
        port(&guard),
        &["--cert", scert.to_str().unwrap(), "--key", skey.to_str().unwrap(), &url],
    )
    .await;
    assert_ne!(stranger.code, 0, "{stranger:?}");
    assert!(!stranger.stdout.contains("members only"));
    guard.shutdown().await;
}

#[tokio::test]
async fn https_upstream_with_private_ca_over_h1_and_h2() {
    let pki = Pki::new();
    pki.issue("guard", &["guard.test"], false);
    pki.issue("up", &["up.test"], false);
    let up = https_upstream(&pki, "up", "from the tls upstream").await;
    for h2 in [false, true] {
        let upstream_extra =
            format!("h2 = {h2}\ntls = {{ ca_file = \"ca.pem\", server_name = \"up.test\" }}");
        let (guard, metrics) =
            start(&pki, &gateway_toml(&format!("https://{up}"), "", &upstream_extra)).await;
        let url = format!("https://guard.test:{}/", port(&guard));
        let out = curl(&pki, "guard.test", port(&guard), &["-D", "-", &url]).await;
        assert_ok(&out);
        assert!(out.stdout.contains("from the tls upstream"), "{out:?}");
        let seen = if h2 { "x-upstream-version: HTTP/2.0" } else { "x-upstream-version: HTTP/1.1" };
        assert!(out.stdout.contains(seen), "h2={h2}: {}", out.stdout);
        assert_eq!(metrics.upstream_errors_total.with_label_values(&["app", "tls"]).get(), 0);
        guard.shutdown().await;
    }
}

/// A gateway in front of an HTTPS upstream whose certificate names
/// `up.test` while the guard expects `wrong.test` (plus `upstream_extra`
/// in the upstream's table); returns the URL to request through it.
async fn gateway_to_misnamed_upstream(upstream_extra: &str) -> (Pki, Guard, Arc<Metrics>, String) {
    let pki = Pki::new();
    pki.issue("guard", &["guard.test"], false);
    pki.issue("up", &["up.test"], false);
    let up = https_upstream(&pki, "up", "must not be seen").await;
    let upstream_extra =
        format!("{upstream_extra}\ntls = {{ ca_file = \"ca.pem\", server_name = \"wrong.test\" }}");
    let (guard, metrics) =
        start(&pki, &gateway_toml(&format!("https://{up}"), "", &upstream_extra)).await;
    let url = format!("https://guard.test:{}/", port(&guard));
    (pki, guard, metrics, url)
}

#[tokio::test]
async fn mismatched_upstream_name_is_refused_with_502() {
    let (pki, guard, metrics, url) = gateway_to_misnamed_upstream("").await;
    let out = curl(&pki, "guard.test", port(&guard), &["-w", "\nstatus=%{http_code}", &url]).await;
    assert_ok(&out);
    assert!(out.stdout.ends_with("status=502"), "{out:?}");
    assert!(!out.stdout.contains("must not be seen"));
    assert_eq!(metrics.upstream_errors_total.with_label_values(&["app", "tls"]).get(), 1);
    guard.shutdown().await;
}

/// With an HTTP/2 upstream, concurrent requests share one connection
/// attempt: when its handshake is refused, every request that waited on it
/// is a 502 counted as "tls", not as a refused connection.
#[tokio::test]
async fn refused_h2_upstream_handshake_counts_every_waiting_request_as_tls() {
    const N: usize = 12;
    let (pki, guard, metrics, url) = gateway_to_misnamed_upstream("h2 = true").await;
    let mut args = vec!["--http2", "-Z", "--parallel-immediate", "--parallel-max", "12"];
    args.extend(["-o", "/dev/null", "-w", "status=%{http_code}\n"]);
    let urls = vec![url.as_str(); N];
    args.extend(urls);
    let out = curl(&pki, "guard.test", port(&guard), &args).await;
    assert_ok(&out);
    assert_eq!(out.stdout.matches("status=502").count(), N, "{out:?}");
    let count =
        |reason: &str| metrics.upstream_errors_total.with_label_values(&["app", reason]).get();
    assert_eq!(count("tls"), N as u64, "refused={} reset={}", count("refused"), count("reset"));
    assert_eq!(count("refused"), 0);
    guard.shutdown().await;
}

#[tokio::test]
async fn startup_errors_name_the_file() {
    let pki = Pki::new();
    pki.issue("guard", &["guard.test"], false);
    pki.issue("other", &["other.test"], false);
    pki.issue_with("old", &["old.test"], false, |p| {
        p.not_before = rcgen::date_time_ymd(2019, 1, 1);
        p.not_after = rcgen::date_time_ymd(2020, 1, 1);
    });
    let bin = env!("CARGO_BIN_EXE_leakwarden");
    let dir = pki.dir.path();
    let run = |cert: &str, key: &str| {
        let out = std::process::Command::new(bin)
            .current_dir(dir)
            .args(["run", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
            .args(["--upstream", "http://127.0.0.1:9", "--tls-cert", cert, "--tls-key", key])
            .env_remove("LEAKWARDEN_CONFIG")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let cases = [
        ("missing.crt", "guard.key", "missing.crt", "cannot read"),
        ("guard.crt", "other.key", "other.key", "does not match the certificate"),
        ("old.crt", "old.key", "old.crt", "expired at 2020-01-01"),
    ];
    for (cert, key, file, what) in cases {
        let (code, stderr) = run(cert, key);
        assert_eq!(code, Some(2), "{cert}/{key}: {stderr}");
        assert!(stderr.contains(file) && stderr.contains(what), "{cert}/{key}: {stderr}");
    }
}

/// Rebuilds the runtime from the file, like SIGHUP / POST /reload do.
fn reload(proxy: &Proxy, path: &Path, overrides: &Overrides) -> Result<(), String> {
    let (_, runtime) = app::load(path, overrides).map_err(|e| e.to_string())?;
    proxy.apply(runtime);
    Ok(())
}

#[tokio::test]
async fn certificates_reload_without_dropping_connections() {
    let pki = Pki::new();
    pki.issue("guard", &["guard.test"], false);
    let up = http_upstream("reloaded").await;
    let path = pki.path("leakwarden.toml");
    std::fs::write(&path, gateway_toml(&format!("http://{up}"), "", "") + QUIET).unwrap();
    let overrides =
        Overrides { listen: vec![loopback()], admin: Some(loopback()), ..Default::default() };
    let (_, runtime) = app::load(&path, &overrides).unwrap();
    let proxy = Proxy::new(runtime, Arc::new(Metrics::new()));
    let guard = Guard::start_with(proxy.clone(), None).await.unwrap();
    let url = format!("https://guard.test:{}/", port(&guard));

    let before = curl(&pki, "guard.test", port(&guard), &["-v", &url]).await;
    assert!(before.stderr.contains("subject: CN=guard"), "{}", before.stderr);

    // A renewed certificate with a different subject: new handshakes see it.
    pki.issue_with("guard", &["guard.test"], false, |p| {
        p.distinguished_name.push(rcgen::DnType::OrganizationName, "renewed");
    });
    reload(&proxy, &path, &overrides).unwrap();
    let after = curl(&pki, "guard.test", port(&guard), &["-v", &url]).await;
    assert_ok(&after);
    assert!(after.stderr.contains("O=renewed"), "{}", after.stderr);

    // A broken key: the reload fails naming the file and the renewed
    // certificate keeps being served.
    std::fs::write(pki.path("guard.key"), "not a key\n").unwrap();
    let err = reload(&proxy, &path, &overrides).unwrap_err();
    assert!(err.contains("guard.key"), "{err}");
    let still = curl(&pki, "guard.test", port(&guard), &["-v", &url]).await;
    assert_ok(&still);
    assert!(still.stderr.contains("O=renewed"), "{}", still.stderr);
    guard.shutdown().await;
}

#[tokio::test]
async fn certificate_expiry_is_exported_per_certificate() {
    let pki = Pki::new();
    pki.issue_with("guard", &["guard.test"], false, |p| {
        p.not_after = rcgen::date_time_ymd(2031, 5, 17);
    });
    pki.issue_with("shop", &["shop.test"], false, |p| {
        p.not_after = rcgen::date_time_ymd(2030, 2, 28);
    });
    let up = http_upstream("expiry").await;
    let sni = "[[tls.sni]]\nnames = [\"shop.test\"]\ncert = \"shop.crt\"\nkey = \"shop.key\"\n";
    let (guard, metrics) = start(&pki, &gateway_toml(&format!("http://{up}"), sni, "")).await;
    let day = |y, m, d| leakwarden::clock::days_from_civil(y, m, d) * 86_400;
    let gauge = |label: &str| {
        metrics.tls_certificate_expiry_timestamp_seconds.with_label_values(&[label]).get()
    };
    assert_eq!(gauge("listener"), day(2031, 5, 17));
    assert_eq!(gauge("sni:shop.test"), day(2030, 2, 28));
    let (_, body) = tls_common_metrics(&guard).await;
    let want = format!(
        "leakwarden_tls_certificate_expiry_timestamp_seconds{{certificate=\"listener\"}} {}",
        day(2031, 5, 17)
    );
    assert!(body.contains(&want), "{body}");
    guard.shutdown().await;
}

/// The admin /metrics text, fetched over plain HTTP on loopback.
async fn tls_common_metrics(guard: &Guard) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(guard.admin.unwrap()).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out)
}
