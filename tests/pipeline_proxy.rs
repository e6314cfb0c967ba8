//! The response pipeline end to end: real upstream servers and a real guard
//! on 127.0.0.1:0, real HTTP/1.1 and h2c clients.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use leakwarden::detect::ContentHint;
use leakwarden::pipeline::codec::{decode_all, encode_all, Coding};
use leakwarden::policy::Policy;
use tokio::io::AsyncWriteExt;

const CARD: &str = "4111 1111 1111 1111";
const SSN: &str = "536-22-1945";

fn has(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// What the default policy makes of a whole document.
fn expected(doc: &[u8], hint: ContentHint) -> Vec<u8> {
    Policy::default_policy().engine.scan_all(doc, hint).0
}

fn resp(ct: &str, body: impl Into<Bytes>) -> Response<TestBody> {
    let mut r = Response::new(full(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
    r
}

/// An upstream answering every request with `body` as `ct`.
async fn fixed_upstream(ct: &'static str, body: impl Into<Bytes>) -> SocketAddr {
    let body: Bytes = body.into();
    upstream(move |_| {
        let b = body.clone();
        async move { resp(ct, b) }
    })
    .await
}

/// A raw upstream answering every request with `head`, then the body
/// pieces written one by one with a flush and a short pause in between, so
/// that they reach the guard as separate reads.
async fn split_upstream(head: String, pieces: Vec<Vec<u8>>) -> SocketAddr {
    let pieces = std::sync::Arc::new(pieces);
    raw_upstream(move |mut s| {
        let head = head.clone();
        let pieces = pieces.clone();
        async move {
            let _ = s.set_nodelay(true);
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.flush().await;
            for p in pieces.iter() {
                tokio::time::sleep(Duration::from_millis(3)).await;
                if s.write_all(p).await.is_err() || s.flush().await.is_err() {
                    return;
                }
            }
        }
    })
    .await
}

fn head(ct: &str, len: usize) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
}

#[tokio::test]
async fn card_split_at_every_byte_between_two_writes_is_masked() {
    let doc = format!("<p>Visa: {CARD} exp 12/29</p>");
    let want = expected(doc.as_bytes(), ContentHint::Html);
    assert!(!has(&want, CARD));
    let mut tasks = Vec::new();
    for cut in 1..doc.len() {
        let doc = doc.clone();
        let want = want.clone();
        tasks.push(tokio::spawn(async move {
            let (a, b) = doc.as_bytes().split_at(cut);
            let up =
                split_upstream(head("text/html", doc.len()), vec![a.to_vec(), b.to_vec()]).await;
            let (guard, _) = start_guard_with(up, "[audit]\nenabled = false").await;
            let (parts, body) = get(guard.listen[0], "/").await;
            assert_eq!(parts.status, StatusCode::OK, "cut {cut}");
            assert_eq!(body, want, "cut {cut}");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn one_byte_upstream_writes_are_masked() {
    let doc = format!("{{\"card\": \"{CARD}\", \"ssn\": \"{SSN}\", \"n\": 4111111111111111}}");
    let pieces = doc.bytes().map(|b| vec![b]).collect();
    let up = split_upstream(head("application/json", doc.len()), pieces).await;
    let (guard, _) = start_guard_with(up, "[audit]\nenabled = false").await;
    let (parts, body) = get(guard.listen[0], "/").await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(body, expected(doc.as_bytes(), ContentHint::Json));
    assert!(!has(&body, CARD) && !has(&body, SSN) && !has(&body, "4111111111111111"));
    serde_json::from_slice::<serde_json::Value>(&body).expect("masked JSON still parses");
}

#[tokio::test]
async fn compressed_responses_are_masked_and_decode_cleanly() {
    let doc: String = (0..2000)
        .map(|i| format!("<tr><td>{i}</td><td>{CARD}</td><td>{SSN}</td></tr>\n"))
        .collect();
    let want = expected(doc.as_bytes(), ContentHint::Html);
    for (token, coding) in [
        ("gzip", Coding::Gzip),
        ("br", Coding::Br),
        ("zstd", Coding::Zstd),
        ("deflate", Coding::Deflate),
    ] {
        let wire = Bytes::from(encode_all(coding, doc.as_bytes()));
        let up = upstream(move |_req| {
            let wire = wire.clone();
            async move {
                let mut r = resp("text/html; charset=utf-8", wire);
                r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
                r
            }
        })
        .await;
        let (guard, _) = start_guard_with(up, "[audit]\nenabled = false").await;
        for client in [h1_client(), h2_client()] {
            let req = Request::get(format!("http://{}/", guard.listen[0])).body(empty()).unwrap();
            let (parts, body) = send(&client, req).await;
            assert_eq!(parts.status, StatusCode::OK, "{token}");
            assert_eq!(parts.headers[header::CONTENT_ENCODING], token);
            let plain = decode_all(coding, &body).expect("client decodes the re-encoded body");
            assert_eq!(plain, want, "{token}");
            assert!(!has(&plain, CARD), "{token}");
        }
    }
}

#[tokio::test]
async fn content_length_kept_for_masks_and_dropped_for_redacts() {
    let doc = format!("<p>{CARD}</p>").repeat(50);
    for (policy, kept) in [("", true), ("actions = { card = \"redact\" }", false)] {
        let up = fixed_upstream("text/html", doc.clone()).await;
        // No hold: the length decision is made before the body is seen.
        let cfg = format!(
            "[audit]\nenabled = false\n[policies.default]\nhold_window_bytes = 0\n{policy}"
        );
        let (guard, _) = start_guard_with(up, &cfg).await;
        let (parts, body) = get(guard.listen[0], "/").await;
        assert!(!has(&body, CARD), "{policy}");
        if kept {
            assert_eq!(parts.headers[header::CONTENT_LENGTH], doc.len().to_string().as_str());
            assert_eq!(body.len(), doc.len());
        } else {
            assert!(parts.headers.get(header::CONTENT_LENGTH).is_none(), "{policy}");
            assert_eq!(parts.headers[header::TRANSFER_ENCODING], "chunked");
            assert!(has(&body, "[REDACTED:card]"));
        }
    }
}

async fn card_page_upstream(clean_prefix: usize) -> SocketAddr {
    let mut doc = "clean text, nothing to see. ".repeat(clean_prefix / 28 + 1).into_bytes();
    doc.truncate(clean_prefix);
    doc.extend_from_slice(format!("<p>{CARD}</p>").as_bytes());
    let doc = Bytes::from(doc);
    upstream(move |_| {
        let d = doc.clone();
        async move {
            let mut r = resp("text/html", d);
            r.headers_mut().insert("x-upstream", HeaderValue::from_static("1"));
            r
        }
    })
    .await
}

#[tokio::test]
async fn block_inside_the_hold_window_gives_403_without_the_value() {
    let up = card_page_upstream(1000).await;
    let (guard, _) = start_guard_with(
        up,
        "[audit]\nenabled = false\n[policies.default]\nactions = { card = \"block\" }",
    )
    .await;
    for client in [h1_client(), h2_client()] {
        let req = Request::get(format!("http://{}/", guard.listen[0])).body(empty()).unwrap();
        let (parts, body) = send(&client, req).await;
        assert_eq!(parts.status, StatusCode::FORBIDDEN);
        assert!(parts.headers.get("x-upstream").is_none());
        assert!(!has(&body, "4111") && !has(&body, "1111") && !has(&body, "clean text"));
    }
    let text = metrics_text(&guard).await;
    assert!(
        text.contains(
            "leakwarden_responses_blocked_total{reason=\"before_headers\",route=\"default\"} 2"
        ),
        "{text}"
    );
}

/// A raw upstream that sends 200 KB of clean text, then waits for `go`
/// before sending a card: the test releases it once the client has the
/// response head, so the block is decided after the headers for sure.
async fn late_card_upstream(go: std::sync::Arc<tokio::sync::Notify>) -> SocketAddr {
    let clean = "clean text, nothing to see. ".repeat(200_000 / 28).into_bytes();
    let tail = format!("<p>{CARD}</p>").into_bytes();
    let total = clean.len() + tail.len();
    raw_upstream(move |mut s| {
        let go = go.clone();
        let clean = clean.clone();
        let tail = tail.clone();
        async move {
            let head = head("text/html", total);
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&clean).await;
            let _ = s.flush().await;
            go.notified().await;
            let _ = s.write_all(&tail).await;
            let _ = s.flush().await;
        }
    })
    .await
}

const LATE_BLOCK: &str = "[audit]\nenabled = false\n[policies.default]\nactions = { card = \"block\" }\nhold_window_bytes = 4096";

#[tokio::test]
async fn block_after_the_headers_cuts_the_response_on_h1_and_h2() {
    for (name, client) in [("h1", h1_client()), ("h2", h2_client())] {
        let go = std::sync::Arc::new(tokio::sync::Notify::new());
        let up = late_card_upstream(go.clone()).await;
        let (guard, metrics) = start_guard_with(up, LATE_BLOCK).await;
        let req = Request::get(format!("http://{}/", guard.listen[0])).body(empty()).unwrap();
        let resp = client.request(req).await.expect("head arrives");
        assert_eq!(resp.status(), StatusCode::OK, "{name}: the head went out first");
        go.notify_one();
        let mut body = resp.into_body();
        let mut got = Vec::new();
        let mut cut = false;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => got.extend_from_slice(f.data_ref().map(|d| &d[..]).unwrap_or(&[])),
                Err(_) => {
                    cut = true;
                    break;
                }
            }
        }
        assert!(cut, "{name}: the client must see an incomplete response");
        assert!(!has(&got, "4111"), "{name}: no card digit before the cut");
        let text = String::from_utf8(metrics.encode()).unwrap();
        assert!(
            text.contains(
                "leakwarden_responses_blocked_total{reason=\"aborted\",route=\"default\"} 1"
            ),
            "{name}: {text}"
        );
    }
}

#[tokio::test]
async fn h1_abort_is_short_of_content_length() {
    use tokio::io::AsyncReadExt;
    let go = std::sync::Arc::new(tokio::sync::Notify::new());
    let up = late_card_upstream(go.clone()).await;
    let (guard, _) = start_guard_with(up, LATE_BLOCK).await;
    let mut s = tokio::net::TcpStream::connect(guard.listen[0]).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    while !has(&raw, "\r\n\r\n") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "head arrives");
        raw.extend_from_slice(&buf[..n]);
    }
    go.notify_one();
    // The guard closes the connection: read_to_end returns.
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
        .await
        .expect("connection closed by the guard")
        .ok();
    let text = String::from_utf8_lossy(&raw).to_string();
    assert!(text.starts_with("HTTP/1.1 200"), "{}", &text[..40]);
    let split = text.find("\r\n\r\n").unwrap() + 4;
    let cl: usize = text[..split]
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .expect("mask-only policy keeps Content-Length")
        .trim()
        .parse()
        .unwrap();
    assert!(raw.len() - split < cl, "a cut body must stop short of its Content-Length");
    assert!(!has(&raw, "4111"));
}

#[tokio::test]
async fn monitor_mode_is_byte_identical_and_still_audited() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let doc = format!("<p>{CARD}</p><p>{SSN}</p>");
    let up = fixed_upstream("text/html", doc.clone()).await;
    let cfg = format!(
        "[audit]\noutput = \"file\"\npath = {:?}\n[policies.default]\nmode = \"monitor\"\nactions = {{ card = \"block\" }}",
        log.display().to_string()
    );
    let (guard, metrics) = start_guard_with(up, &cfg).await;
    let (parts, body) = get(guard.listen[0], "/account?id=7").await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(body, doc.as_bytes());
    guard.shutdown().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text.lines().next().expect("one audit line");
    assert!(!line.contains(CARD) && !line.contains(SSN) && !line.contains("id=7"), "{line}");
    let a: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(a["mode"], "monitor");
    assert_eq!(a["path"], "/account");
    assert_eq!(a["method"], "GET");
    assert_eq!(a["route"], "default");
    assert_eq!(a["counts"]["card"], 1);
    assert_eq!(a["counts"]["ssn"], 1);
    // Nothing was done to the values: the line says so, and what enforce
    // mode would have done has its own field.
    assert_eq!(a["actions"]["card"], "monitor");
    assert_eq!(a["would_actions"]["card"], "block");
    assert_eq!(a["would_actions"]["ssn"], "mask");
    assert_eq!(a["would_block"], "block_action");
    assert_eq!(a["complete"], true);
    assert!(a.get("blocked").is_none());
    // No series claims an enforced action.
    let text = String::from_utf8(metrics.encode()).unwrap();
    for want in [
        r#"leakwarden_findings_total{action="monitor",kind="card",route="default"} 1"#,
        r#"leakwarden_monitored_findings_total{kind="card",route="default",would_action="block"} 1"#,
        r#"leakwarden_monitored_findings_total{kind="ssn",route="default",would_action="mask"} 1"#,
    ] {
        assert!(text.contains(want), "missing {want}\n{text}");
    }
    for l in text.lines().filter(|l| l.starts_with("leakwarden_findings_total{")) {
        assert!(l.contains(r#"action="monitor""#), "{l}");
    }
    let blocked: Vec<&str> =
        text.lines().filter(|l| l.starts_with("leakwarden_responses_blocked_total{")).collect();
    assert!(blocked.iter().all(|l| l.ends_with(" 0")), "{blocked:?}");
    assert!(a["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(!a["request_id"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn thresholds_block_bulk_pages_only() {
    let up = upstream(|req| async move {
        let n: usize = req.uri().path().trim_start_matches('/').parse().unwrap_or(0);
        resp("text/plain", format!("{CARD}\n").repeat(n))
    })
    .await;
    let (guard, _) = start_guard_with(
        up,
        "[audit]\nenabled = false\n[policies.default]\nthresholds = { card = 20 }",
    )
    .await;
    let (parts, body) = get(guard.listen[0], "/19").await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(!has(&body, CARD));
    let (parts, _) = get(guard.listen[0], "/20").await;
    assert_eq!(parts.status, StatusCode::FORBIDDEN);
    let text = metrics_text(&guard).await;
    assert!(
        text.contains(
            "leakwarden_responses_blocked_total{reason=\"threshold\",route=\"default\"} 1"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn head_204_304_pass_through() {
    let up = upstream(|req| async move {
        let mut r = match req.uri().path() {
            "/204" => resp("text/html", ""),
            "/304" => resp("text/html", ""),
            _ => resp("text/html", format!("<p>{CARD}</p>")),
        };
        match req.uri().path() {
            "/204" => *r.status_mut() = StatusCode::NO_CONTENT,
            "/304" => *r.status_mut() = StatusCode::NOT_MODIFIED,
            _ => {}
        }
        r.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"v1\""));
        r
    })
    .await;
    let (guard, _) = start_guard_with(up, "[audit]\nenabled = false").await;
    let addr = guard.listen[0];
    for client in [h1_client(), h2_client()] {
        let req = Request::builder()
            .method(Method::HEAD)
            .uri(format!("http://{addr}/page"))
            .body(empty())
            .unwrap();
        let (parts, body) = send(&client, req).await;
        assert_eq!(parts.status, StatusCode::OK);
        assert!(body.is_empty());
        assert_eq!(parts.headers[header::ETAG], "\"v1\"");
        for (path, status) in [("/204", StatusCode::NO_CONTENT), ("/304", StatusCode::NOT_MODIFIED)]
        {
            let req = Request::get(format!("http://{addr}{path}")).body(empty()).unwrap();
            let (parts, body) = send(&client, req).await;
            assert_eq!(parts.status, status);
            assert!(body.is_empty());
            assert_eq!(parts.headers[header::ETAG], "\"v1\"");
        }
    }
}

#[tokio::test]
async fn non_scannable_types_pass_byte_identical() {
    let mut blob = pseudo_random(300_000, 7);
    blob.extend_from_slice(CARD.as_bytes());
    let blob = Bytes::from(blob);
    let up = fixed_upstream("application/octet-stream", blob.clone()).await;
    let (guard, _) = start_guard_with(up, "[audit]\nenabled = false").await;
    let (parts, body) = get(guard.listen[0], "/blob").await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(body, blob);
    assert_eq!(parts.headers[header::CONTENT_LENGTH], blob.len().to_string().as_str());
}

#[tokio::test]
async fn range_is_not_sent_upstream_and_the_full_body_is_masked() {
    let up = upstream(|req| async move {
        let had_range = req.headers().contains_key(header::RANGE);
        resp("text/plain", format!("range={had_range} {CARD}"))
    })
    .await;
    let (guard, _) = start_guard_with(up, "[audit]\nenabled = false").await;
    let req = Request::get(format!("http://{}/", guard.listen[0]))
        .header(header::RANGE, "bytes=0-9")
        .body(empty())
        .unwrap();
    let (parts, body) = send(&h1_client(), req).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(has(&body, "range=false"));
    assert!(!has(&body, CARD));
}

#[tokio::test]
async fn audit_file_gets_one_line_per_response_with_findings() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let up = upstream(|req| async move {
        if req.uri().path() == "/clean" {
            resp("text/plain", "nothing here")
        } else {
            resp(
                "text/plain",
                format!("card A: {CARD}; card B: {CARD}; card C: 5555 5555 5555 4444."),
            )
        }
    })
    .await;
    let cfg = format!("[audit]\noutput = \"file\"\npath = {:?}", log.display().to_string());
    let (guard, _) = start_guard_with(up, &cfg).await;
    get(guard.listen[0], "/clean").await;
    get(guard.listen[0], "/cards?q=secret").await;
    // The audit writer runs on its own thread: shutting down flushes it.
    guard.shutdown().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let a: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(a["path"], "/cards");
    assert_eq!(a["status"], 200);
    assert_eq!(a["counts"]["card"], 3);
    assert_eq!(a["fingerprints"].as_array().unwrap().len(), 2);
    assert!(a["ts"].as_str().unwrap().ends_with('Z'));
    assert!(!lines[0].contains("1111 1111") && !lines[0].contains("5555 5555"));
}
