//! Regression tests for the defects an attacker's probe found (issue 14):
//! a transfer coding that bypassed the scan, raw values in the audit line,
//! `complete: false` on fully delivered responses, and a client's malformed
//! request body counted as an upstream failure. Real servers on
//! 127.0.0.1:0, real clients.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use leakwarden::detect::ContentHint;
use leakwarden::pipeline::codec::{decode_all, encode_all, Coding};
use leakwarden::policy::Policy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CARD: &str = "4111 1111 1111 1111";

fn has(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Audit lines are written by a writer task: wait (bounded) until `n` are
/// in the file.
async fn audit_lines(path: &Path, n: usize) -> Vec<serde_json::Value> {
    for _ in 0..200 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
        if lines.len() >= n {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {n} audit lines in {}", path.display());
}

fn audit_cfg(path: &Path, policy: &str) -> String {
    format!(
        "[audit]\noutput = \"file\"\npath = {:?}\n[policies.default]\n{policy}",
        path.display().to_string()
    )
}

/// Chunked framing of `body` in pieces of `size`.
fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(size) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A raw upstream answering every request with `head` and `body`.
async fn raw_answer(head: String, body: Vec<u8>) -> std::net::SocketAddr {
    let all = std::sync::Arc::new([head.into_bytes(), body].concat());
    raw_upstream(move |mut s| {
        let all = all.clone();
        async move {
            let _ = s.write_all(&all).await;
            let _ = s.flush().await;
            // Let the guard read everything before the close.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
}

#[tokio::test]
async fn a_transfer_coding_other_than_chunked_is_decoded_and_scanned() {
    let doc = format!("<p>card {CARD}</p>").repeat(50);
    let want = Policy::default_policy().engine.scan_all(doc.as_bytes(), ContentHint::Html).0;
    assert!(!has(&want, CARD));
    let gz = encode_all(Coding::Gzip, doc.as_bytes());
    for te in ["gzip, chunked", "GZIP,chunked", "x-gzip, chunked"] {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\nTransfer-Encoding: {te}\r\n\r\n"
        );
        let up = raw_answer(head, chunked(&gz, 100)).await;
        let (guard, _) = start_guard_with(up, "[audit]\nenabled = false").await;
        for (name, client) in [("h1", h1_client()), ("h2", h2_client())] {
            let req = Request::get(format!("http://{}/", guard.listen[0])).body(empty()).unwrap();
            let (parts, body) = send(&client, req).await;
            assert_eq!(parts.status, StatusCode::OK, "{te} {name}");
            // The transfer coding became a content coding the client can
            // undo; whatever it undoes it to was scanned.
            let ce = parts.headers["content-encoding"].to_str().unwrap();
            assert_eq!(Coding::from_token(ce), Some(Coding::Gzip), "{te} {name}");
            let plain = decode_all(Coding::Gzip, &body).expect("gzip body");
            assert_eq!(plain, want, "{te} {name}");
        }
        guard.shutdown().await;
    }
    // A coding that cannot be decoded, or stacked with a content coding,
    // fails closed like an unknown content coding.
    let cases = [
        ("compress, chunked", ""),
        ("gzip, chunked", "Content-Encoding: br\r\n"),
        ("gzip, gzip, chunked", ""),
    ];
    for (te, extra) in cases {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n{extra}Transfer-Encoding: {te}\r\n\r\n"
        );
        let up = raw_answer(head, chunked(&gz, 100)).await;
        let (guard, metrics) = start_guard_with(up, "[audit]\nenabled = false").await;
        let (parts, body) = get(guard.listen[0], "/").await;
        assert_eq!(parts.status, StatusCode::FORBIDDEN, "{te} {extra}");
        assert!(!has(&body, CARD));
        let text = String::from_utf8(metrics.encode()).unwrap();
        assert!(
            text.contains(
                "leakwarden_responses_blocked_total{reason=\"fail_closed\",route=\"default\"} 1"
            ),
            "{te} {extra}"
        );
        guard.shutdown().await;
    }
}

#[tokio::test]
async fn audit_lines_carry_no_raw_value_from_path_method_or_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let up = upstream(|_| async move {
        let mut r = http::Response::new(full(format!("card {CARD}")));
        r.headers_mut().insert("content-type", "text/plain".parse().unwrap());
        r
    })
    .await;
    let (guard, _) = start_guard_with(up, &audit_cfg(&log, "")).await;
    let requests = [
        (Method::GET, "/cardx/4111%201111%201111%201111", "req-1"),
        (Method::GET, "/cardy/4111%2D1111%2d1111%2D1111/x", "req-2"),
        (Method::GET, "/cardz/%34%31%31%31111111111111", "req-3"),
        (Method::from_bytes(b"FOO4111111111111111").unwrap(), "/plain", "req-4"),
        (Method::GET, "/plain", "4111111111111111"),
    ];
    for (method, path, id) in &requests {
        let req = Request::builder()
            .method(method.clone())
            .uri(format!("http://{}{path}", guard.listen[0]))
            .header("x-request-id", *id)
            .body(empty())
            .unwrap();
        let (parts, _) = send(&h1_client(), req).await;
        assert_eq!(parts.status, StatusCode::OK, "{method} {path}");
    }
    let lines = audit_lines(&log, requests.len()).await;
    let text = std::fs::read_to_string(&log).unwrap();
    for raw in ["4111111111111111", "4111%20", "1111%201111", "%2D1111", "%31%31", "1111-1111"] {
        assert!(!text.contains(raw), "{raw} in {text}");
    }
    let paths: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths[..3],
        ["/cardx/**** **** **** ****", "/cardy/****-****-****-****/x", "/cardz/****************"]
    );
    assert_eq!(lines[4]["request_id"], "****************");
    assert_eq!(lines[3]["method"], "other");
    assert_eq!(lines[0]["method"], "GET");
    assert_eq!(lines[1]["request_id"], "req-2");
}

/// A response with a card near its start, `len` bytes long, framed by
/// Content-Length.
fn big_page(len: usize) -> String {
    let mut doc = format!("<p>{CARD}</p>");
    doc.push_str(&"x".repeat(len - doc.len()));
    doc
}

#[tokio::test]
async fn complete_is_true_exactly_when_the_client_got_the_whole_body() {
    let doc = big_page(1_800_000);
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        doc.len()
    );
    let up = raw_answer(head.clone(), doc.clone().into_bytes()).await;
    for mode in ["monitor", "enforce"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.log");
        let (guard, _) =
            start_guard_with(up, &audit_cfg(&log, &format!("mode = \"{mode}\""))).await;
        for (name, client) in [("h1", h1_client()), ("h2", h2_client())] {
            let req = Request::get(format!("http://{}/", guard.listen[0])).body(empty()).unwrap();
            let (parts, body) = send(&client, req).await;
            assert_eq!(parts.status, StatusCode::OK, "{mode} {name}");
            assert_eq!(body.len(), doc.len(), "{mode} {name}");
        }
        let lines = audit_lines(&log, 2).await;
        for l in &lines {
            assert_eq!(l["complete"], true, "{mode}: {l}");
        }
        guard.shutdown().await;
    }

    // A client that goes away mid-body: the line says incomplete.
    let slow = raw_upstream(move |mut s| {
        let head = head.clone();
        let doc = doc.clone();
        async move {
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&doc.as_bytes()[..100_000]).await;
            let _ = s.flush().await;
            // The rest never comes while the client is there.
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let (guard, _) = start_guard_with(slow, &audit_cfg(&log, "hold_window_bytes = 0")).await;
    let mut s = tokio::net::TcpStream::connect(guard.listen[0]).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 65536];
    let mut got = 0;
    while got < 50_000 {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        got += n;
    }
    drop(s);
    let lines = audit_lines(&log, 1).await;
    assert_eq!(lines[0]["complete"], false, "{}", lines[0]);
}

#[tokio::test]
async fn a_malformed_chunked_request_body_is_the_clients_fault() {
    let up = upstream(|req| async move {
        // Read the whole request body before answering.
        let ok = req.into_body().collect().await.is_ok();
        http::Response::new(full(if ok { "read" } else { "broken" }))
    })
    .await;
    let (guard, metrics) = start_guard(up).await;
    let mut s = tokio::net::TcpStream::connect(guard.listen[0]).await.unwrap();
    s.write_all(
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz-not-a-size\r\n\r\n",
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let m = String::from_utf8(metrics.encode()).unwrap();
    assert!(
        m.contains("leakwarden_upstream_errors_total{reason=\"protocol\",route=\"default\"} 0"),
        "{m}"
    );
    assert!(
        m.contains("leakwarden_client_errors_total{reason=\"request_body\",route=\"default\"} 1"),
        "{m}"
    );
}
