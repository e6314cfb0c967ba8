//! The access log end to end (issue 20): real requests (HTTP/1.1 and h2c)
//! through an in-process guard writing its access log to a file. Every
//! field of every line is checked (names, types, values), client-sent
//! card numbers (path, user agent, request id) appear only masked, SIGUSR1
//! makes the writer follow logrotate's rename, and `sample_rate = 0.0`
//! still logs errors, blocks and findings.

mod common;
mod tls_common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use http::{Request, Response};
use http_body_util::BodyExt;
use serde_json::Value;

const CARD_BODY: &str = "card 4111 1111 1111 1111 on file";

/// Raw forms of the test card a line must never carry.
const RAW: [&str; 4] =
    ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "4111%20"];

/// Every field of an access line.
const FIELDS: [&str; 20] = [
    "time",
    "request_id",
    "route",
    "method",
    "path",
    "status",
    "bytes_in",
    "bytes_out",
    "duration_ms",
    "upstream",
    "upstream_ms",
    "protocol",
    "tls",
    "client",
    "user_agent",
    "scanned",
    "findings",
    "actions",
    "blocked",
    "complete",
];

/// The app: reads the whole request body, answers with a card when the
/// path says `card`, with plain text otherwise.
async fn app() -> SocketAddr {
    upstream(|req: Request<hyper::body::Incoming>| async move {
        let card = req.uri().path().contains("card");
        let _ = req.into_body().collect().await;
        let body = if card { CARD_BODY } else { "nothing here" };
        Response::builder().header("content-type", "text/plain").body(full(body)).unwrap()
    })
    .await
}

fn config(app: SocketAddr, down: SocketAddr, log: &Path, extra: &str) -> String {
    format!(
        r#"
[upstreams.app]
url = "http://{app}"
[upstreams.down]
url = "http://{down}"
[policies.vault]
actions = {{ card = "block" }}
[[routes]]
name = "shop"
path_prefix = "/shop"
upstream = "app"
[[routes]]
name = "vault"
path_prefix = "/vault"
upstream = "app"
policy = "vault"
[[routes]]
name = "down"
path_prefix = "/down"
upstream = "down"
[access_log]
output = "file"
path = "{}"
{extra}
"#,
        log.display()
    )
}

/// The lines of `path` once there are at least `n` (the line is written
/// when the guard drops the response body, just after the client got it).
async fn wait_lines(guard: &leakwarden::proxy::Guard, path: &Path, n: usize) -> Vec<String> {
    for _ in 0..250 {
        let log = guard.proxy.runtime().access_log.clone();
        tokio::task::spawn_blocking(move || log.sync()).await.unwrap();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.len() >= n {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("fewer than {n} access lines in {}", path.display());
}

fn parse(line: &str) -> Value {
    for raw in RAW {
        assert!(!line.contains(raw), "raw value {raw:?} in access line {line}");
    }
    let v: Value = serde_json::from_str(line).expect("one JSON object per line");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = FIELDS.to_vec();
    want.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, want, "fields of {line}");
    v
}

fn find<'a>(lines: &'a [Value], route: &str, path: &str) -> &'a Value {
    lines
        .iter()
        .find(|v| v["route"] == route && v["path"] == path)
        .unwrap_or_else(|| panic!("no line for {route} {path}: {lines:#?}"))
}

/// The fields every line shares, and their types.
fn check_common(v: &Value, before: &str, after: &str) {
    let time = v["time"].as_str().unwrap();
    assert_eq!(time.len(), 24, "{time}");
    assert!(time.ends_with('Z') && &time[10..11] == "T", "{time}");
    assert!(before <= time && time <= after, "{before} <= {time} <= {after}");
    let client: SocketAddr = v["client"].as_str().unwrap().parse().unwrap();
    assert_eq!(client.ip().to_string(), "127.0.0.1");
    assert_ne!(client.port(), 0);
    assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
    assert!(v["status"].is_u64() && v["bytes_in"].is_u64() && v["bytes_out"].is_u64());
    assert!(v["scanned"].is_boolean() && v["complete"].is_boolean());
    assert!(v["findings"].is_object() && v["actions"].is_object());
    assert!(v["tls"].is_null(), "plain-HTTP listener: {v}");
    assert!(v["request_id"].as_str().is_some_and(|s| !s.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_of_every_line_and_reopen_on_sigusr1() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("access.jsonl");
    let app = app().await;
    let (down, _held) = closed_port();
    let (guard, metrics) =
        start_guard_config(&config(app, down, &log_path, "sample_rate = 1.0")).await;
    let addr = guard.listen[0];
    let before = leakwarden::audit::now_rfc3339();

    // 1. HTTP/1.1 POST with a body; a card in the path, the query, the
    //    user agent and the request id; the app answers with a card.
    let req = Request::post(format!(
        "http://{addr}/shop/orders/4111111111111111/card?q=4111111111111111"
    ))
    .header("user-agent", "shop-client 4111 1111 1111 1111")
    .header("x-request-id", "4111111111111111")
    .body(full("hello"))
    .unwrap();
    let (h1_parts, h1_body) = send(&h1_client(), req).await;
    assert_eq!(h1_parts.status, 200);
    assert!(!String::from_utf8_lossy(&h1_body).contains("4111 1111 1111 1111"));

    // 2. h2c GET, a card in the user agent, nothing in the body.
    let req = Request::get(format!("http://{addr}/shop/plain"))
        .header("user-agent", "h2-client/1.0 (4111-1111-1111-1111)")
        .body(empty())
        .unwrap();
    let (h2_parts, h2_body) = send(&h2_client(), req).await;
    assert_eq!(h2_parts.status, 200);

    // 3. A response blocked for the card in its body.
    let (blocked_parts, blocked_body) = get(addr, "/vault/card").await;
    assert_ne!(blocked_parts.status, 200);

    // 4. An upstream that refuses connections.
    let (down_parts, down_body) = get(addr, "/down/x").await;
    assert_eq!(down_parts.status, 502);

    // 5. No route.
    let (unrouted_parts, unrouted_body) = get(addr, "/nowhere").await;

    let lines = wait_lines(&guard, &log_path, 5).await;
    let after = leakwarden::audit::now_rfc3339();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    let lines: Vec<Value> = lines.iter().map(|l| parse(l)).collect();
    for v in &lines {
        check_common(v, &before, &after);
    }

    let h1 = find(&lines, "shop", "/shop/orders/****************/card");
    assert_eq!(h1["request_id"], "****************");
    assert_eq!(h1["method"], "POST");
    assert_eq!(h1["status"], 200);
    assert_eq!(h1["bytes_in"], 5);
    assert_eq!(h1["bytes_out"], h1_body.len() as u64);
    assert_eq!(h1["upstream"], app.to_string());
    let up = h1["upstream_ms"].as_f64().unwrap();
    assert!(up >= 0.0 && up <= h1["duration_ms"].as_f64().unwrap(), "{h1}");
    assert_eq!(h1["protocol"], "HTTP/1.1");
    assert_eq!(h1["user_agent"], "shop-client **** **** **** ****");
    assert_eq!(h1["scanned"], true);
    assert_eq!(h1["findings"], serde_json::json!({"card": 1}));
    assert_eq!(h1["actions"], serde_json::json!({"card": "mask"}));
    assert!(h1["blocked"].is_null());
    assert_eq!(h1["complete"], true);

    let h2 = find(&lines, "shop", "/shop/plain");
    assert_eq!(h2["method"], "GET");
    assert_eq!(h2["status"], 200);
    assert_eq!(h2["protocol"], "HTTP/2");
    assert_eq!(h2["user_agent"], "h2-client/1.0 (****-****-****-****)");
    assert_eq!(h2["bytes_in"], 0);
    assert_eq!(h2["bytes_out"], h2_body.len() as u64);
    assert_eq!(h2["upstream"], app.to_string());
    assert!(h2["upstream_ms"].is_f64());
    assert_eq!(h2["scanned"], true);
    assert_eq!(h2["findings"], serde_json::json!({}));
    assert_eq!(h2["actions"], serde_json::json!({}));
    assert!(h2["blocked"].is_null());
    assert_eq!(h2["complete"], true);
    // A generated id (the client sent none), as the response header says.
    assert_eq!(h2["request_id"], h2_parts.headers["x-request-id"].to_str().unwrap());

    let blocked = find(&lines, "vault", "/vault/card");
    assert_eq!(blocked["status"], blocked_parts.status.as_u16());
    assert_eq!(blocked["bytes_out"], blocked_body.len() as u64);
    assert_eq!(blocked["scanned"], true);
    assert_eq!(blocked["findings"], serde_json::json!({"card": 1}));
    assert_eq!(blocked["actions"], serde_json::json!({"card": "block"}));
    assert!(blocked["blocked"].as_str().is_some_and(|r| !r.is_empty()), "{blocked}");
    assert!(blocked["user_agent"].is_null(), "hyper's client sends no user agent");

    let failed = find(&lines, "down", "/down/x");
    assert_eq!(failed["status"], 502);
    assert_eq!(failed["upstream"], down.to_string());
    assert!(failed["upstream_ms"].is_null());
    assert_eq!(failed["scanned"], false);
    assert_eq!(failed["bytes_out"], down_body.len() as u64);
    assert!(failed["blocked"].is_null());
    assert_eq!(failed["complete"], true);

    let unrouted = find(&lines, "unrouted", "/nowhere");
    assert_eq!(unrouted["status"], unrouted_parts.status.as_u16());
    assert_eq!(unrouted["bytes_out"], unrouted_body.len() as u64);
    assert!(unrouted["upstream"].is_null() && unrouted["upstream_ms"].is_null());
    assert_eq!(unrouted["scanned"], false);

    let text = metrics_text(&guard).await;
    assert!(text.contains("leakwarden_access_log_lines_dropped_total 0"), "{text}");

    // logrotate: rename, then SIGUSR1; later lines go to a new file at the
    // configured path, none is lost.
    let _task = leakwarden::serve::spawn_log_reopen(guard.proxy.clone()).unwrap();
    let rotated: PathBuf = dir.path().join("access.jsonl.1");
    std::fs::rename(&log_path, &rotated).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-USR1", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut sent = 0;
    let mut reopened = false;
    for _ in 0..100 {
        get(addr, "/shop/after-rotate").await;
        sent += 1;
        let log = guard.proxy.runtime().access_log.clone();
        tokio::time::sleep(Duration::from_millis(20)).await;
        tokio::task::spawn_blocking(move || log.sync()).await.unwrap();
        if std::fs::read_to_string(&log_path).is_ok_and(|t| !t.is_empty()) {
            reopened = true;
            break;
        }
    }
    assert!(reopened, "no new file after SIGUSR1");
    let old = std::fs::read_to_string(&rotated).unwrap();
    let new = wait_lines(&guard, &log_path, 1).await;
    let after_rotate = old.lines().count() - 5 + new.len();
    assert_eq!(after_rotate, sent, "every line in one of the two files");
    for line in old.lines().skip(5).chain(new.iter().map(String::as_str)) {
        assert_eq!(parse(line)["path"], "/shop/after-rotate");
    }
    drop(metrics);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_rate_zero_still_logs_errors_blocks_and_findings() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("access.jsonl");
    let app = app().await;
    let (down, _held) = closed_port();
    let (guard, _metrics) =
        start_guard_config(&config(app, down, &log_path, "sample_rate = 0.0")).await;
    let addr = guard.listen[0];
    for _ in 0..3 {
        let (parts, _) = get(addr, "/shop/plain").await;
        assert_eq!(parts.status, 200);
    }
    get(addr, "/down/x").await;
    get(addr, "/vault/card").await;
    get(addr, "/shop/card").await;
    wait_lines(&guard, &log_path, 3).await;
    // Late lines of the plain requests would show up by now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines: Vec<Value> =
        wait_lines(&guard, &log_path, 3).await.iter().map(|l| parse(l)).collect();
    let seen: Vec<(&str, &str)> =
        lines.iter().map(|v| (v["route"].as_str().unwrap(), v["path"].as_str().unwrap())).collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for want in [("down", "/down/x"), ("vault", "/vault/card"), ("shop", "/shop/card")] {
        assert!(seen.contains(&want), "{want:?} missing from {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabled_false_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("access.jsonl");
    let app = app().await;
    let (down, _held) = closed_port();
    let (guard, _metrics) =
        start_guard_config(&config(app, down, &log_path, "enabled = false")).await;
    assert!(!guard.proxy.runtime().access_log.enabled());
    get(guard.listen[0], "/down/x").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(std::fs::read_to_string(&log_path).unwrap_or_default().is_empty());
}

/// Over HTTPS the line carries the negotiated TLS version and the ALPN
/// protocol (real curl, TLS 1.3 + h2 and TLS 1.2 + HTTP/1.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_lines_carry_the_tls_version() {
    let pki = tls_common::Pki::new();
    pki.issue("guard", &["guard.test"], false);
    let up = tls_common::http_upstream("<p>hello</p>").await;
    let log_path = pki.path("access.jsonl");
    let toml = format!(
        "[tls]\ncert = \"guard.crt\"\nkey = \"guard.key\"\n[upstreams.app]\nurl = \"http://{up}\"\n\
         [[routes]]\nname = \"app\"\nupstream = \"app\"\n[access_log]\noutput = \"file\"\npath = \"{}\"\n",
        log_path.display()
    );
    let path = pki.path("leakwarden.toml");
    std::fs::write(&path, toml).unwrap();
    let overrides = leakwarden::app::Overrides {
        listen: vec![loopback()],
        admin: Some(loopback()),
        ..Default::default()
    };
    let (_, runtime) = leakwarden::app::load(&path, &overrides).unwrap();
    let guard = leakwarden::proxy::Guard::start(runtime, std::sync::Arc::new(Default::default()))
        .await
        .unwrap();
    let port = guard.listen[0].port();
    let cases = [
        ("/h2", vec!["--http2", "--tlsv1.3"], "HTTP/2", "TLSv1.3"),
        ("/h1", vec!["--http1.1", "--tlsv1.2", "--tls-max", "1.2"], "HTTP/1.1", "TLSv1.2"),
    ];
    for (i, (path, flags, protocol, tls)) in cases.iter().enumerate() {
        let url = format!("https://guard.test:{port}{path}");
        let mut args: Vec<&str> = flags.clone();
        args.push(&url);
        let out = tls_common::curl(&pki, "guard.test", port, &args).await;
        assert_eq!(out.code, 0, "{out:?}");
        let lines = wait_lines(&guard, &log_path, i + 1).await;
        let v = parse(&lines[i]);
        assert_eq!(v["path"], *path);
        assert_eq!(v["protocol"], *protocol, "{v}");
        assert_eq!(v["tls"], *tls, "{v}");
        assert!(v["user_agent"].as_str().unwrap().starts_with("curl/"), "{v}");
    }
}
