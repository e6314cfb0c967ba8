//! The request side end to end: form posts, JSON posts, a multipart upload
//! and a query string carrying cards, emails and SSNs go through a real
//! guard on 127.0.0.1:0 (sent with curl) to a test upstream that records
//! every body byte it receives. Observe mode forwards exactly the bytes
//! sent and the inventory's `collects` says which fields carried what; a
//! policy that blocks cards in requests never lets the card reach the
//! upstream, inside the hold window (the upstream is never called) or past
//! it (the upstream request is aborted before the card's bytes).

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::*;
use http::header::{self, HeaderValue};
use http::{Request, Response};
use http_body_util::BodyExt;
use serde_json::{json, Value};

const CARD_DIGITS: &str = "4111111111111111";

/// What the upstream received: one entry per request (path, body bytes,
/// whether the body arrived complete).
type Received = Arc<Mutex<Vec<(String, Vec<u8>, bool)>>>;

async fn recording_upstream() -> (SocketAddr, Received) {
    let log: Received = Arc::default();
    let seen = log.clone();
    let addr = upstream(move |req: Request<hyper::body::Incoming>| {
        let seen = seen.clone();
        async move {
            let path = req.uri().path().to_string();
            let mut body = req.into_body();
            let mut got = Vec::new();
            let mut complete = true;
            // Frame by frame, so that the bytes of an aborted body are kept.
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(f) => got.extend_from_slice(f.data_ref().map_or(&[][..], |d| &d[..])),
                    Err(_) => {
                        complete = false;
                        break;
                    }
                }
            }
            seen.lock().unwrap().push((path, got, complete));
            let mut r = Response::new(full("ok\n"));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            r
        }
    })
    .await;
    (addr, log)
}

/// Runs curl with `args` against the guard; returns the status code.
async fn curl(args: &[&str]) -> u16 {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(args)
        .output()
        .await
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a status code")
}

async fn inventory(admin: SocketAddr) -> Value {
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (parts, body) = get(admin, "/inventory").await;
    assert_eq!(parts.status, 200);
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    normalize(&mut v);
    v
}

fn normalize(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if matches!(k.as_str(), "first_seen" | "last_seen" | "since") {
                    *x = json!("T");
                } else {
                    normalize(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn collected(findings: u64, fields: &[&str]) -> Value {
    json!({
        "requests": 1, "findings": findings, "first_seen": "T", "last_seen": "T",
        "actions": {"detect": 1}, "fields": {"items": fields}
    })
}

const FORM: &str =
    "name=Jane&email=jane.doe%40example.com&card=4111+1111+1111+1111&ssn=536-22-1945";
const JSON_BODY: &str = r#"{"user": {"email": "joe@example.com", "ssn": "536-22-1945"}, "cards": [{"number": "4111111111111111"}]}"#;

#[tokio::test]
async fn observe_mode_forwards_every_byte_and_the_inventory_names_the_fields() {
    let (site, received) = recording_upstream().await;
    let (guard, _) = start_guard(site).await;
    let base = format!("http://{}", guard.listen[0]);
    let dir = tempfile::tempdir().unwrap();
    // A file part holding a card: counted by its declared type, not scanned.
    let avatar = dir.path().join("avatar.png");
    std::fs::write(&avatar, format!("\u{89}PNG {CARD_DIGITS}")).unwrap();
    let big = dir.path().join("big.json");
    let big_body = format!(
        "{{\"pad\": \"{}\", \"contact\": {{\"email\": \"late@example.com\"}}}}",
        "x".repeat(300_000)
    );
    std::fs::write(&big, &big_body).unwrap();

    let form_status = curl(&["-d", FORM, &format!("{base}/signup")]).await;
    let json_status = curl(&[
        "-H",
        "content-type: application/json",
        "--data-binary",
        JSON_BODY,
        &format!("{base}/api/users"),
    ])
    .await;
    let multipart_status = curl(&[
        "-F",
        "email=jane@example.com",
        "-F",
        &format!("avatar=@{};type=image/png", avatar.display()),
        &format!("{base}/profile/42"),
    ])
    .await;
    let query_status = curl(&[&format!("{base}/search?q=jane%40example.com&page=2")]).await;
    let big_status = curl(&[
        "-H",
        "content-type: application/json",
        "--data-binary",
        &format!("@{}", big.display()),
        &format!("{base}/api/users"),
    ])
    .await;
    assert_eq!([form_status, json_status, multipart_status, query_status, big_status], [200; 5]);

    // The upstream got exactly what was sent.
    let got = received.lock().unwrap().clone();
    let body_of = |path: &str, n: usize| {
        got.iter().filter(|(p, _, _)| p == path).nth(n).map(|(_, b, c)| (b.clone(), *c)).unwrap()
    };
    assert_eq!(body_of("/signup", 0), (FORM.as_bytes().to_vec(), true));
    assert_eq!(body_of("/api/users", 0), (JSON_BODY.as_bytes().to_vec(), true));
    assert_eq!(body_of("/api/users", 1), (big_body.as_bytes().to_vec(), true));
    let (multipart, complete) = body_of("/profile/42", 0);
    assert!(complete && multipart.windows(CARD_DIGITS.len()).any(|w| w == CARD_DIGITS.as_bytes()));

    let v = inventory(guard.admin.unwrap()).await;
    let endpoints = v["endpoints"].as_array().unwrap();
    let find = |method: &str, template: &str| {
        endpoints
            .iter()
            .find(|e| e["method"] == method && e["template"] == template)
            .unwrap_or_else(|| panic!("{method} {template} in {v}"))
    };
    let signup = find("POST", "/signup");
    assert_eq!(signup["requests"], 1);
    assert_eq!(
        signup["collects"],
        json!({
            "card": collected(1, &["card"]),
            "email": collected(1, &["email"]),
            "ssn": collected(1, &["ssn"]),
        }),
        "{v}"
    );
    let users = find("POST", "/api/users");
    assert_eq!(users["requests"], 2);
    let mut email = collected(2, &["contact.email", "user.email"]);
    email["requests"] = json!(2);
    email["actions"] = json!({"detect": 2});
    assert_eq!(
        users["collects"],
        json!({
            "card": collected(1, &["cards[].number"]),
            "email": email,
            "ssn": collected(1, &["user.ssn"]),
        }),
        "{v}"
    );
    let profile = find("POST", "/profile/{id}");
    assert_eq!(profile["collects"], json!({"email": collected(1, &["email"])}), "{v}");
    assert_eq!(profile["uploads"], json!({"items": {"image/png": 1}}), "{v}");
    let search = find("GET", "/search");
    assert_eq!(search["collects"], json!({"email": collected(1, &["?q"])}), "{v}");

    let metrics = metrics_text(&guard).await;
    for line in [
        "leakwarden_request_findings_total{action=\"detect\",kind=\"card\",route=\"default\"} 2",
        "leakwarden_request_findings_total{action=\"detect\",kind=\"email\",route=\"default\"} 5",
        "leakwarden_requests_scanned_total{route=\"default\"} 5",
    ] {
        assert!(metrics.contains(line), "missing {line}");
    }
    // `leakwarden report` says the same, in its own section.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_leakwarden"))
        .args(["report", "--from", &format!("http://{}", guard.admin.unwrap()), "--format", "md"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8(out.stdout).unwrap();
    for line in [
        "| default | POST | `/signup` | 1 | card 1/1 (detect 1), email 1/1 (detect 1), ssn 1/1 (detect 1) | card: `card`, email: `email`, ssn: `ssn` |  |",
        "| default | POST | `/profile/{id}` | 1 | email 1/1 (detect 1) | email: `email` | image/png 1 |",
        "| default | GET | `/search` | 1 | email 1/1 (detect 1) | email: `?q` |  |",
    ] {
        assert!(md.contains(line), "missing {line} in {md}");
    }
    // No value is anywhere in the inventory.
    let (_, json) = get(guard.admin.unwrap(), "/inventory").await;
    let json = String::from_utf8(json.to_vec()).unwrap();
    for value in ["4111", "536-22-1945", "jane", "joe@", "Jane"] {
        assert!(!json.contains(value), "{value} leaked");
    }
    guard.shutdown().await;
}

/// The digits of `b`, in order (separators dropped).
fn digits(b: &[u8]) -> String {
    b.iter().filter(|c| c.is_ascii_digit()).map(|&c| c as char).collect()
}

#[tokio::test]
async fn a_blocked_card_never_reaches_the_upstream() {
    let (site, received) = recording_upstream().await;
    let cfg = "[policies.default]\nrequest_actions = { card = \"block\" }\nrequest_hold_window_bytes = 4096\n";
    let (guard, _) = start_guard_with(site, cfg).await;
    let base = format!("http://{}", guard.listen[0]);

    // Inside the window: refused, the upstream never called.
    assert_eq!(curl(&["-d", FORM, &format!("{base}/pay")]).await, 403);
    assert_eq!(curl(&[&format!("{base}/search?card=4111-1111-1111-1111")]).await, 403);
    // Other kinds go through untouched.
    let plain = "email=jane%40example.com&ssn=536-22-1945";
    assert_eq!(curl(&["-d", plain, &format!("{base}/signup")]).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    {
        let got = received.lock().unwrap();
        assert_eq!(got.len(), 1, "only the card-free request reached the upstream");
        assert_eq!(got[0].1, plain.as_bytes());
    }

    // Past the window: 200 KB of notes, then the card near the end. The
    // upstream request is opened and aborted before the card's bytes.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("order.txt");
    let notes = "note=".to_string() + &"lorem+ipsum+".repeat(200_000 / 12);
    let body = format!("{notes}&card=4111%201111%201111%201111&tail=1");
    std::fs::write(&file, &body).unwrap();
    let status = curl(&[
        "-H",
        "content-type: application/x-www-form-urlencoded",
        "--data-binary",
        &format!("@{}", file.display()),
        &format!("{base}/pay"),
    ])
    .await;
    assert_eq!(status, 403);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "the long request was opened upstream");
    let (path, bytes, complete) = &got[1];
    assert_eq!(path, "/pay");
    assert!(!complete, "the upstream saw an aborted body");
    assert!(bytes.len() > 4096, "forwarded past the window: {}", bytes.len());
    assert!(body.as_bytes().starts_with(bytes));
    assert!(bytes.len() <= notes.len() + "&card=".len());
    assert!(!digits(bytes).contains(CARD_DIGITS));

    let metrics = metrics_text(&guard).await;
    for line in [
        "leakwarden_requests_blocked_total{reason=\"before_upstream\",route=\"default\"} 2",
        "leakwarden_requests_blocked_total{reason=\"aborted\",route=\"default\"} 1",
        "leakwarden_request_findings_total{action=\"block\",kind=\"card\",route=\"default\"} 3",
    ] {
        assert!(metrics.contains(line), "missing {line} in {metrics}");
    }
    let v = inventory(guard.admin.unwrap()).await;
    let pay = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["template"] == "/pay")
        .unwrap()
        .clone();
    assert_eq!(pay["requests"], 2);
    assert_eq!(pay["collects"]["card"]["actions"], json!({"block": 2}));
    assert_eq!(pay["collects"]["card"]["fields"]["items"], json!(["card"]));
    guard.shutdown().await;
}
