//! Upstream faults an attacker (or a broken backend) can cause, as probed
//! against the guard: resets before and during the body, a Content-Length
//! the body does not keep, bad chunk framing, stalls, corrupt and stacked
//! content codings, and a decompression bomb. Each test asserts the
//! outcome the README promises (status, an aborted client stream, the
//! metric) and that the guard keeps serving another client meanwhile.
//! Faulty upstreams are raw TCP so that they can misbehave on purpose.

mod common;
#[path = "support/faults.rs"]
mod faults;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use faults::*;
use http::Request;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CARD: &str = "4111 1111 1111 1111";

/// What a client got for one request.
#[derive(Debug)]
enum Outcome {
    /// Head and the whole body.
    Complete(http::StatusCode, Bytes),
    /// Head, then the body was cut (HTTP/1.1 close or HTTP/2 reset).
    Aborted(http::StatusCode, usize),
    /// No head at all.
    NoHead,
}

/// Sends GET `path` to the guard with `client` and classifies the outcome.
async fn fetch(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        TestBody,
    >,
    guard: &leakwarden::proxy::Guard,
    path: &str,
) -> Outcome {
    let req = Request::get(format!("http://{}{path}", guard.listen[0])).body(empty()).unwrap();
    bounded("faulty request", async {
        let Ok(resp) = client.request(req).await else { return Outcome::NoHead };
        let status = resp.status();
        let mut body = resp.into_body();
        let mut got = Vec::new();
        loop {
            match body.frame().await {
                None => return Outcome::Complete(status, Bytes::from(got)),
                Some(Err(_)) => return Outcome::Aborted(status, got.len()),
                Some(Ok(f)) => {
                    if let Ok(d) = f.into_data() {
                        got.extend_from_slice(&d);
                    }
                }
            }
        }
    })
    .await
}

fn clients() -> [(
    &'static str,
    hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        TestBody,
    >,
); 2] {
    [("h1", h1_client()), ("h2", h2_client())]
}

/// Resets the connection (RST, not FIN): linger 0, then close.
/// (Deprecated because a non-zero linger blocks on drop; zero does not.)
#[allow(deprecated)]
fn reset(s: TcpStream) {
    let _ = s.set_linger(Some(Duration::ZERO));
    drop(s);
}

/// A raw upstream that writes `head` and `body`, then resets (`rst`) or
/// closes the connection.
async fn scripted(head: String, body: Vec<u8>, rst: bool) -> SocketAddr {
    let body = std::sync::Arc::new(body);
    raw_upstream(move |mut s| {
        let head = head.clone();
        let body = body.clone();
        async move {
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
            let _ = s.flush().await;
            if rst {
                // Let the bytes leave before the reset discards the queue.
                tokio::time::sleep(Duration::from_millis(50)).await;
                reset(s);
            }
        }
    })
    .await
}

fn app(labels_reason: &str) -> [&str; 2] {
    ["app", labels_reason]
}

#[tokio::test]
async fn reset_before_headers_is_a_generic_502() {
    let up = raw_upstream(|s| async move { reset(s) }).await;
    let (guard, metrics) = guard_with_fault(up, "", "").await;
    for (name, client) in clients() {
        match fetch(&client, &guard, "/x").await {
            Outcome::Complete(status, body) => {
                assert_eq!(status, 502, "{name}");
                assert_eq!(&body[..], b"bad gateway\n", "{name}");
            }
            other => panic!("{name}: expected a 502, got {other:?}"),
        }
        assert_serves_others(&guard).await;
    }
    assert_eq!(counter(&metrics.upstream_errors_total, &app("reset")), 2);
    assert_eq!(counter(&metrics.requests_total, &["app", "GET", "502"]), 2);
    guard.shutdown().await;
}

/// Upstreams that send a 200 head and part of the body, then reset: one
/// unscanned (the head is forwarded at once) and one scanned past the hold
/// window (the head goes out once 64 KiB of output are ready).
async fn mid_body_resets() -> Vec<(&'static str, SocketAddr)> {
    let text = "lorem ipsum ".repeat(20_000).into_bytes();
    let cases =
        [("octet", "application/octet-stream", vec![b'a'; 10_000]), ("text", "text/plain", text)];
    let mut out = Vec::new();
    for (case, ct, sent) in cases {
        let head =
            format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: 1000000\r\n\r\n");
        out.push((case, scripted(head, sent, true).await));
    }
    out
}

#[tokio::test]
async fn reset_mid_body_aborts_the_client_stream() {
    for (case, up) in mid_body_resets().await {
        let (guard, metrics) = guard_with_fault(up, "", "").await;
        for (name, client) in clients() {
            match fetch(&client, &guard, "/x").await {
                Outcome::Aborted(status, _) => assert_eq!(status, 200, "{case}/{name}"),
                other => panic!("{case}/{name}: expected an aborted 200, got {other:?}"),
            }
            assert_serves_others(&guard).await;
        }
        // Two requests reached the route; neither is a block.
        assert_eq!(counter(&metrics.requests_total, &["app", "GET", "200"]), 2, "{case}");
        guard.shutdown().await;
    }
}

#[tokio::test]
async fn mid_body_upstream_failures_are_counted() {
    for (case, up) in mid_body_resets().await {
        let (guard, metrics) = guard_with_fault(up, "", "").await;
        for (name, client) in clients() {
            assert!(matches!(fetch(&client, &guard, "/x").await, Outcome::Aborted(..)), "{name}");
        }
        let text = metrics_text(&guard).await;
        assert_eq!(
            counter(&metrics.upstream_errors_total, &app("reset")),
            2,
            "{case}: mid-body resets not counted\n{text}"
        );
        guard.shutdown().await;
    }
    // A stall cut by the request deadline is an upstream timeout.
    for ct in ["application/octet-stream", "text/plain"] {
        let up = mid_body_stall(ct).await;
        let (guard, metrics) = guard_with_fault(up, "request_timeout = \"600ms\"", "").await;
        for (name, client) in clients() {
            assert!(matches!(fetch(&client, &guard, "/x").await, Outcome::Aborted(..)), "{name}");
        }
        assert_eq!(counter(&metrics.upstream_errors_total, &app("timeout")), 2, "{ct}");
        guard.shutdown().await;
    }
}

#[tokio::test]
async fn content_length_shorter_than_promised_aborts() {
    for (case, ct) in [("octet", "application/octet-stream"), ("text", "text/html")] {
        let head = format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: 5000\r\n\r\n");
        // 1000 bytes then a clean close (FIN): short of the promise.
        let up = scripted(head, vec![b'a'; 1000], false).await;
        let (guard, _) = guard_with_fault(up, "", "").await;
        for (name, client) in clients() {
            match fetch(&client, &guard, "/x").await {
                Outcome::Aborted(..) | Outcome::NoHead => {}
                Outcome::Complete(status, body) => {
                    // Only a generic error page is an acceptable clean end.
                    assert_eq!(status, 502, "{case}/{name}: short body ended as complete");
                    assert_eq!(&body[..], b"bad gateway\n", "{case}/{name}");
                }
            }
            assert_serves_others(&guard).await;
        }
        guard.shutdown().await;
    }
}

/// A keep-alive raw upstream: each request on a connection is answered
/// with `first` for the first one on the connection, `next` afterwards.
async fn keepalive_upstream(first: &'static [u8], next: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                let mut answered = 0;
                loop {
                    while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        head.drain(..end + 4);
                        let reply = if answered == 0 { first } else { next };
                        answered += 1;
                        if s.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn bytes_past_content_length_are_not_smuggled() {
    // The first answer carries a whole second response after its promised
    // 10 bytes; it must never reach a client, as a body or as the answer
    // to the next request on a pooled connection.
    const FIRST_TEXT: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n0123456789HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nSMUGGLED";
    const FIRST_OCTET: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n\r\n0123456789HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nSMUGGLED";
    const NEXT: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfresh";
    for (ct_case, first) in [("text", FIRST_TEXT), ("octet", FIRST_OCTET)] {
        let up = keepalive_upstream(first, NEXT).await;
        let (guard, _) = guard_with_fault(up, "", "").await;
        for (name, client) in clients() {
            for i in 0..3 {
                match fetch(&client, &guard, "/x").await {
                    Outcome::Complete(status, body) => {
                        assert_eq!(status, 200, "{ct_case}/{name}/{i}");
                        assert!(
                            &body[..] == b"0123456789" || &body[..] == b"fresh",
                            "{ct_case}/{name}/{i}: got {body:?}"
                        );
                    }
                    other => panic!("{ct_case}/{name}/{i}: expected 200, got {other:?}"),
                }
            }
            assert_serves_others(&guard).await;
        }
        guard.shutdown().await;
    }
}

#[tokio::test]
async fn invalid_chunk_framing_never_ends_clean() {
    let bodies: [(&str, &[u8]); 4] = [
        ("bad size", b"zz\r\nhello\r\n0\r\n\r\n"),
        ("no CRLF after data", b"5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n"),
        ("size overflow", b"fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
        ("longer than sent", b"400\r\nhello"),
    ];
    for (case, body) in bodies {
        for ct in ["application/octet-stream", "text/plain"] {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            let up = scripted(head, body.to_vec(), false).await;
            let (guard, _) = guard_with_fault(up, "", "").await;
            for (name, client) in clients() {
                match fetch(&client, &guard, "/x").await {
                    Outcome::Aborted(..) | Outcome::NoHead => {}
                    Outcome::Complete(status, got) => {
                        assert_eq!(status, 502, "{case}/{ct}/{name}: bad framing ended clean");
                        assert_eq!(&got[..], b"bad gateway\n", "{case}/{ct}/{name}");
                    }
                }
                assert_serves_others(&guard).await;
            }
            guard.shutdown().await;
        }
    }
}

/// A raw upstream that sends a 200 head and 100 KB of body (more than the
/// hold window), then stalls.
async fn mid_body_stall(ct: &str) -> SocketAddr {
    let head =
        format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nTransfer-Encoding: chunked\r\n\r\n");
    let chunk = format!("{:x}\r\n{}\r\n", 100_000, "z".repeat(100_000));
    let head = std::sync::Arc::new(head + &chunk);
    raw_upstream(move |mut s| {
        let head = head.clone();
        async move {
            let _ = s.write_all(head.as_bytes()).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    })
    .await
}

#[tokio::test]
async fn stall_before_headers_is_504_and_mid_body_is_cut() {
    // Before headers: response_header_timeout gives a generic 504.
    let stall = raw_upstream(|s| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    })
    .await;
    let (guard, metrics) = guard_with_fault(stall, "response_header_timeout = \"300ms\"", "").await;
    for (name, client) in clients() {
        let stalled = fetch(&client, &guard, "/x");
        // Another client is served while this one waits.
        let (outcome, ()) = tokio::join!(stalled, assert_serves_others(&guard));
        match outcome {
            Outcome::Complete(status, body) => {
                assert_eq!(status, 504, "{name}");
                assert_eq!(&body[..], b"gateway timeout\n", "{name}");
            }
            other => panic!("{name}: expected 504, got {other:?}"),
        }
    }
    assert_eq!(counter(&metrics.upstream_errors_total, &app("timeout")), 2);
    guard.shutdown().await;

    // Mid-body: the head went out, then the upstream stalls; the request
    // deadline cuts the client stream.
    for ct in ["application/octet-stream", "text/plain"] {
        let up = mid_body_stall(ct).await;
        let (guard, _) = guard_with_fault(up, "request_timeout = \"600ms\"", "").await;
        for (name, client) in clients() {
            let stalled = fetch(&client, &guard, "/x");
            let (outcome, ()) = tokio::join!(stalled, assert_serves_others(&guard));
            match outcome {
                Outcome::Aborted(status, got) => {
                    assert_eq!(status, 200, "{ct}/{name}");
                    assert!(got <= 100_000, "{ct}/{name}: more bytes than sent");
                }
                other => panic!("{ct}/{name}: expected a cut 200, got {other:?}"),
            }
        }
        guard.shutdown().await;
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).unwrap();
    }
    out
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// Damages a compressed stream in its middle (and keeps its length).
fn corrupt(mut data: Vec<u8>) -> Vec<u8> {
    let mid = data.len() / 2;
    let end = (mid + 8).min(data.len());
    for b in &mut data[mid..end] {
        *b ^= 0xa5;
    }
    data
}

/// The first half of a compressed stream.
fn half(mut data: Vec<u8>) -> Vec<u8> {
    data.truncate(data.len() / 2);
    data
}

fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn corrupt_and_stacked_codings_fail_closed() {
    // README "Blocking": an unknown or stacked Content-Encoding on a
    // scannable type, or a corrupt or truncated compressed stream, fails
    // closed; counted as scan errors `unknown_encoding` / `decode`.
    let doc = format!("<p>card {CARD}</p>").repeat(200).into_bytes();
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        // gzip's CRC catches any damage; br and zstd (no checksum by
        // default) may decode damaged bytes to other bytes, so they are cut.
        ("gzip corrupt", "gzip", corrupt(gzip(&doc)), "decode"),
        ("gzip truncated", "gzip", half(gzip(&doc)), "decode"),
        ("br truncated", "br", half(brotli(&doc)), "decode"),
        ("zstd truncated", "zstd", half(zstd(&doc)), "decode"),
        ("not gzip at all", "gzip", doc.clone(), "decode"),
        ("not zstd at all", "zstd", doc.clone(), "decode"),
        ("gzip, br", "gzip, br", brotli(&gzip(&doc)), "unknown_encoding"),
        ("br, gzip", "br, gzip", gzip(&brotli(&doc)), "unknown_encoding"),
        ("unknown", "x-custom", doc.clone(), "unknown_encoding"),
    ];
    for (case, coding, body, reason) in cases {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: {coding}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let up = scripted(head, body.clone(), false).await;
        let (guard, metrics) = guard_with_fault(up, "", "").await;
        for (name, client) in clients() {
            match fetch(&client, &guard, "/x").await {
                Outcome::Complete(status, got) => {
                    assert_eq!(status, 403, "{case}/{name}: not failed closed");
                    assert!(!has(&got, CARD.as_bytes()), "{case}/{name}: card in the block page");
                    assert!(!has(&got, &body[..body.len().min(16)]), "{case}/{name}: raw bytes");
                }
                Outcome::Aborted(status, got) => {
                    panic!("{case}/{name}: a small body must be blocked whole, got {status} cut after {got}")
                }
                Outcome::NoHead => panic!("{case}/{name}: no answer"),
            }
            assert_serves_others(&guard).await;
        }
        assert_eq!(counter(&metrics.scan_errors_total, &app(reason)), 2, "{case}");
        assert_eq!(counter(&metrics.responses_blocked_total, &app("fail_closed")), 2, "{case}");
        guard.shutdown().await;
    }
}

#[tokio::test]
async fn decompression_bomb_is_cut_and_counted() {
    // 64 MiB of one byte gzip to ~64 KiB: a ratio far over the default 250
    // once 1 MiB is decoded, so the guard stops decoding there.
    let bomb = gzip(&vec![b'a'; 64 << 20]);
    let len = bomb.len();
    let head =
        format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: {len}\r\n\r\n");
    let up = scripted(head, bomb, false).await;
    let (guard, metrics) = guard_with_fault(up, "", "").await;
    for (name, client) in clients() {
        // No Accept-Encoding: the guard sends decoded bytes, so what the
        // client gets is what the guard decoded and let through.
        match fetch(&client, &guard, "/x").await {
            Outcome::Complete(status, body) => {
                assert_eq!(status, 403, "{name}: a bomb ended as a complete {status}");
                assert!(body.len() < 4096, "{name}: block page too large");
            }
            Outcome::Aborted(status, got) => {
                assert_eq!(status, 200, "{name}");
                assert!(got < 2 << 20, "{name}: {got} decoded bytes let through");
            }
            Outcome::NoHead => panic!("{name}: no answer"),
        }
        assert_serves_others(&guard).await;
    }
    assert_eq!(counter(&metrics.scan_errors_total, &app("bomb")), 2);
    let blocked: u64 = ["fail_closed", "aborted"]
        .iter()
        .map(|r| counter(&metrics.responses_blocked_total, &app(r)))
        .sum();
    assert_eq!(blocked, 2, "bomb responses not counted as blocked");
    guard.shutdown().await;
}

#[tokio::test]
async fn h2_upstream_reset_mid_body_is_counted() {
    // An HTTP/2 upstream resets the stream (its body fails) after 256 KB,
    // more than the hold window: the head is out, the client's stream is
    // cut, and the failure counts once as a reset, scanned or not.
    for ct in ["application/octet-stream", "text/plain"] {
        let up = upstream(move |_req| async move {
            let (tx, body) = channel_body();
            tokio::spawn(async move {
                for _ in 0..4 {
                    let _ = tx.send(Ok(Bytes::from(vec![b'a'; 64_000]))).await;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = tx.send(Err("upstream gives up".into())).await;
            });
            http::Response::builder().header("content-type", ct).body(body).unwrap()
        })
        .await;
        let healthy = healthy_upstream().await;
        let url = format!("url = \"http://{up}\"\n");
        let cfg = two_routes(up, healthy, "", "").replacen(&url, &format!("{url}h2 = true\n"), 1);
        let (guard, metrics) = start_guard_config(&cfg).await;
        for (name, client) in clients() {
            match fetch(&client, &guard, "/x").await {
                Outcome::Aborted(status, _) => assert_eq!(status, 200, "{ct}/{name}"),
                other => panic!("{ct}/{name}: expected an aborted 200, got {other:?}"),
            }
        }
        let text = metrics_text(&guard).await;
        assert_eq!(counter(&metrics.upstream_errors_total, &app("reset")), 2, "{ct}\n{text}");
        guard.shutdown().await;
    }
}
