//! Client faults an attacker can cause, as probed against the guard: a
//! client leaving mid-body (the upstream connection pool must stay
//! healthy), slowloris, oversized request heads, HTTP/2 rapid reset and a
//! stream flood past the concurrent-stream limit. Each test asserts the
//! outcome (status, closed connection, metric, upstream work released) and
//! that the guard keeps serving another client meanwhile. Attacking
//! clients are raw TCP (HTTP/2 frames written by hand) so that they can
//! misbehave on purpose.

mod common;
#[path = "support/faults.rs"]
mod faults;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use faults::*;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An upstream: `/big` streams text without end (16 KiB frames) until the
/// reader goes away, `/hang` never answers, anything else answers "ok".
async fn app_upstream() -> (std::net::SocketAddr, Arc<UpstreamCounts>) {
    counted_upstream(|req: Request<Incoming>, counts| async move {
        let live = InFlight::new(&counts);
        match req.uri().path() {
            "/big" => {
                let (tx, body) = channel_body();
                tokio::spawn(async move {
                    let _live = live;
                    let piece = Bytes::from("lorem ipsum dolor sit amet\n".repeat(600));
                    while tx.send(Ok(piece.clone())).await.is_ok() {}
                });
                Response::builder().header("content-type", "text/plain").body(body).unwrap()
            }
            "/hang" => {
                let _live = live;
                tokio::time::sleep(Duration::from_secs(60)).await;
                Response::new(full("late"))
            }
            _ => Response::builder().header("content-type", "text/plain").body(full("ok")).unwrap(),
        }
    })
    .await
}

/// Reads from `s` until the peer closes (or resets) it; bounded.
async fn read_until_closed(what: &str, s: &mut TcpStream) -> Vec<u8> {
    bounded(what, async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
}

/// GET `path` on the guard over HTTP/1.1, expecting 200 "ok".
async fn get_ok(guard: &leakwarden::proxy::Guard, path: &str) {
    let (parts, body) = bounded("small request", get(guard.listen[0], path)).await;
    assert_eq!(parts.status, 200);
    assert_eq!(&body[..], b"ok");
}

#[tokio::test]
async fn client_leaving_mid_body_releases_the_upstream_and_the_pool_stays_healthy() {
    let (up, counts) = app_upstream().await;
    let (guard, metrics) = guard_with_fault(up, "", "").await;

    // One small exchange opens a pooled upstream connection.
    get_ok(&guard, "/small").await;
    assert_eq!(counts.get(&counts.accepted), 1);

    // A client reads part of an endless body, then disconnects.
    let mut s = TcpStream::connect(guard.listen[0]).await.unwrap();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
    let mut got = 0;
    let mut buf = [0u8; 16384];
    while got < 200_000 {
        let n = bounded("big body", s.read(&mut buf)).await.unwrap();
        assert!(n > 0, "big body ended early");
        got += n;
    }
    drop(s);

    // The guard drops the upstream response (the upstream's writer sees
    // its reader gone) instead of draining an endless body.
    eventually("upstream body released", || counts.get(&counts.in_flight) == 0).await;
    assert_serves_others(&guard).await;

    // The next requests work: the half-read connection was not returned to
    // the pool (that would hand its leftover bytes to the next request),
    // and one fresh pooled connection serves both.
    let before = counts.get(&counts.accepted);
    assert!(before <= 2, "{before} upstream connections for two exchanges");
    get_ok(&guard, "/small").await;
    let after_first = counts.get(&counts.accepted);
    get_ok(&guard, "/small").await;
    get_ok(&guard, "/small").await;
    assert_eq!(
        counts.get(&counts.accepted),
        after_first,
        "the pooled upstream connection was not reused"
    );
    assert!(after_first <= before + 1);
    assert_eq!(counter(&metrics.requests_total, &["app", "GET", "200"]), 5);
    eventually("client connections closed", || metrics.connections_active.get() <= 1).await;

    // HTTP/2: the client resets the stream mid-body; the upstream is
    // released and the same client connection keeps working.
    let client = h2_client();
    let req = Request::get(format!("http://{}/big", guard.listen[0])).body(empty()).unwrap();
    let resp = bounded("h2 big head", client.request(req)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut got = 0;
    while got < 200_000 {
        let frame = bounded("h2 big body", body.frame()).await.expect("body continues").unwrap();
        got += frame.data_ref().map_or(0, |d| d.len());
    }
    drop(body);
    eventually("h2 upstream body released", || counts.get(&counts.in_flight) == 0).await;
    let req = Request::get(format!("http://{}/small", guard.listen[0])).body(empty()).unwrap();
    let (parts, small) = bounded("h2 small", send(&client, req)).await;
    assert_eq!((parts.status.as_u16(), &small[..]), (200, &b"ok"[..]));
    guard.shutdown().await;
}

#[tokio::test]
async fn slowloris_connections_are_closed_at_the_header_timeout() {
    let (up, _) = app_upstream().await;
    let (guard, metrics) = guard_with_fault(up, "idle_timeout = \"600ms\"", "").await;

    // Ten clients dribble a request head one byte every 100 ms: the whole
    // head would take over 5 s; the guard must close them well before.
    let head = b"GET /small HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let addr = guard.listen[0];
        tasks.push(tokio::spawn(async move {
            let start = std::time::Instant::now();
            let mut s = TcpStream::connect(addr).await.unwrap();
            for b in head.iter() {
                if s.write_all(&[*b]).await.is_err() {
                    break;
                }
                // Stop writing once the guard closed the connection.
                let mut probe = [0u8; 256];
                match tokio::time::timeout(Duration::from_millis(100), s.read(&mut probe)).await {
                    Err(_) => {}
                    Ok(Ok(0)) | Ok(Err(_)) => return (start.elapsed(), String::new()),
                    Ok(Ok(n)) => {
                        let text = String::from_utf8_lossy(&probe[..n]).into_owned();
                        let _ = read_until_closed("slowloris close", &mut s).await;
                        return (start.elapsed(), text);
                    }
                }
            }
            (start.elapsed(), "whole head sent".to_string())
        }));
    }
    // Meanwhile another client is served.
    assert_serves_others(&guard).await;
    for t in tasks {
        let (took, answer) = bounded("slowloris task", t).await.unwrap();
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "slowloris got {answer:.60}"
        );
        assert!(took < Duration::from_secs(5), "slowloris kept for {took:?}");
    }
    eventually("slowloris connections released", || metrics.connections_active.get() == 0).await;
    assert_eq!(counter(&metrics.requests_total, &["app", "GET", "200"]), 0);
    assert_serves_others(&guard).await;
    guard.shutdown().await;
}

#[tokio::test]
async fn oversized_request_heads_get_431() {
    let (up, counts) = app_upstream().await;
    let (guard, _) = guard_with_fault(up, "max_request_header_bytes = 8192", "").await;
    let big = "x".repeat(20_000);
    let many: String = (0..600).map(|i| format!("X-H{i}: {}\r\n", "v".repeat(20))).collect();
    let cases = [
        ("one big header", format!("GET /small HTTP/1.1\r\nHost: a\r\nX-Big: {big}\r\n\r\n")),
        ("many headers", format!("GET /small HTTP/1.1\r\nHost: a\r\n{many}\r\n")),
        ("long target", format!("GET /small?{big} HTTP/1.1\r\nHost: a\r\n\r\n")),
    ];
    for (case, req) in cases {
        let mut s = TcpStream::connect(guard.listen[0]).await.unwrap();
        let _ = s.write_all(req.as_bytes()).await;
        let answer = read_until_closed(case, &mut s).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 431"), "{case}: {text:.80}");
        assert_serves_others(&guard).await;
    }

    // HTTP/2: a header list over the limit is refused with 431 (or a
    // stream error); the connection and the guard keep working.
    let client = h2_client();
    let req = Request::get(format!("http://{}/small", guard.listen[0]))
        .header("x-big", big.as_str())
        .body(empty())
        .unwrap();
    if let Ok(resp) = bounded("h2 big head", client.request(req)).await {
        assert_eq!(resp.status(), 431);
    }
    assert_serves_others(&guard).await;
    // None of them reached the upstream.
    assert_eq!(counts.get(&counts.requests), 0);
    guard.shutdown().await;
}

// --- HTTP/2 frames written by hand ---

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// HPACK block for `GET http://a/hang`: static-table indexes for :method
/// GET and :scheme http, literal :path and :authority without indexing.
fn get_block(path: &str) -> Vec<u8> {
    let mut b = vec![0x82, 0x86, 0x04, path.len() as u8];
    b.extend_from_slice(path.as_bytes());
    b.extend_from_slice(&[0x01, 0x01, b'a']);
    b
}

/// HEADERS with END_HEADERS (and END_STREAM when `end`).
fn headers(stream: u32, path: &str, end: bool) -> Vec<u8> {
    frame(0x1, if end { 0x5 } else { 0x4 }, stream, &get_block(path))
}

fn rst_stream(stream: u32) -> Vec<u8> {
    frame(0x3, 0, stream, &8u32.to_be_bytes()) // CANCEL
}

/// What the guard sent back on an attacking h2 connection.
#[derive(Debug, Default)]
struct H2Replies {
    goaway: Option<u32>,
    rst_refused: usize,
    rst_other: usize,
    headers: usize,
}

/// Opens an h2c connection: preface, empty SETTINGS, SETTINGS ACK.
async fn h2_attacker(guard: &leakwarden::proxy::Guard) -> TcpStream {
    let mut s = TcpStream::connect(guard.listen[0]).await.unwrap();
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(0x4, 0, 0, &[]));
    hello.extend(frame(0x4, 0x1, 0, &[]));
    s.write_all(&hello).await.unwrap();
    s
}

/// Reads frames until the connection closes or `quiet` passes without
/// one, and sums them up.
async fn h2_replies(s: &mut TcpStream, quiet: Duration) -> H2Replies {
    let mut out = H2Replies::default();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        while buf.len() >= 9 {
            let len = (buf[0] as usize) << 16 | (buf[1] as usize) << 8 | buf[2] as usize;
            if buf.len() < 9 + len {
                break;
            }
            let payload = &buf[9..9 + len];
            match buf[3] {
                0x1 => out.headers += 1,
                0x3 if payload == 7u32.to_be_bytes() => out.rst_refused += 1,
                0x3 => out.rst_other += 1,
                0x7 => out.goaway = Some(u32::from_be_bytes(payload[4..8].try_into().unwrap())),
                _ => {}
            }
            buf.drain(..9 + len);
        }
        match tokio::time::timeout(quiet, s.read(&mut chunk)).await {
            Err(_) | Ok(Ok(0)) | Ok(Err(_)) => return out,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn h2_rapid_reset_does_not_pile_up_work() {
    let (up, counts) = app_upstream().await;
    let (guard, metrics) = guard_with_fault(up, "", "").await;
    let mut s = h2_attacker(&guard).await;
    // 2000 streams, each opened (to an upstream that never answers) and
    // cancelled at once, in one burst.
    const STREAMS: u32 = 2000;
    let mut burst = Vec::new();
    for i in 0..STREAMS {
        let id = 1 + 2 * i;
        burst.extend(headers(id, "/hang", true));
        burst.extend(rst_stream(id));
    }
    let _ = s.write_all(&burst).await;
    let (replies, ()) =
        tokio::join!(h2_replies(&mut s, Duration::from_secs(3)), assert_serves_others(&guard));
    drop(s);

    // Whatever the guard forwarded was cancelled with its stream: no
    // upstream request is left hanging, and at no point were more in
    // flight than the concurrent-stream limit (128).
    eventually("reset streams released upstream", || counts.get(&counts.in_flight) == 0).await;
    let peak = counts.get(&counts.peak);
    assert!(peak <= 128, "{peak} upstream requests in flight at once");
    // The burst must not turn into 2000 upstream requests: hyper's h2
    // server closes such a connection (GOAWAY ENHANCE_YOUR_CALM) once too
    // many streams are reset before they were accepted.
    let forwarded = counts.get(&counts.requests);
    assert!(forwarded <= 256, "{forwarded} reset streams forwarded upstream");
    assert!(
        replies.goaway.is_some() || forwarded <= 128,
        "rapid reset neither stopped nor bounded: {replies:?}"
    );
    let answered: u64 = ["200", "499", "502", "504"]
        .iter()
        .map(|c| counter(&metrics.requests_total, &["app", "GET", c]))
        .sum();
    assert!(answered <= STREAMS as u64, "more requests counted than streams sent");
    eventually("attacker connection released", || metrics.connections_active.get() == 0).await;
    assert_serves_others(&guard).await;

    // Slower resets, each after its request reached the upstream: the
    // cancellation must travel upstream (no request left hanging there).
    let mut s = h2_attacker(&guard).await;
    let mut opened = Vec::new();
    for i in 0..50u32 {
        opened.extend(headers(1 + 2 * i, "/hang", true));
    }
    s.write_all(&opened).await.unwrap();
    let base = forwarded;
    eventually("50 streams reach the upstream", || counts.get(&counts.requests) == base + 50).await;
    let mut resets = Vec::new();
    for i in 0..50u32 {
        resets.extend(rst_stream(1 + 2 * i));
    }
    s.write_all(&resets).await.unwrap();
    eventually("reset streams cancelled upstream", || counts.get(&counts.in_flight) == 0).await;
    // The connection survives ordinary cancellations: a new stream on it
    // is answered.
    s.write_all(&headers(101, "/small", true)).await.unwrap();
    let after = h2_replies(&mut s, Duration::from_secs(2)).await;
    assert!(after.headers >= 1, "no answer after cancellations: {after:?}");
    drop(s);
    eprintln!("rapid reset: {forwarded} forwarded, peak {peak}, replies {replies:?}");
    guard.shutdown().await;
}

#[tokio::test]
async fn h2_stream_flood_past_the_limit_is_refused() {
    let (up, counts) = app_upstream().await;
    let (guard, metrics) = guard_with_fault(up, "h2_max_concurrent_streams = 8", "").await;
    let mut s = h2_attacker(&guard).await;
    // Let the guard's SETTINGS (max 8 streams) arrive, then open 100
    // streams at once to an upstream that never answers.
    let _ = h2_replies(&mut s, Duration::from_millis(300)).await;
    let mut burst = Vec::new();
    for i in 0..100u32 {
        burst.extend(headers(1 + 2 * i, "/hang", true));
    }
    let _ = s.write_all(&burst).await;
    let (replies, ()) =
        tokio::join!(h2_replies(&mut s, Duration::from_secs(2)), assert_serves_others(&guard));

    // The limit holds: never more than 8 of this connection's streams
    // reached the upstream; the rest were refused (RST_STREAM
    // REFUSED_STREAM) or the connection was closed with GOAWAY.
    let peak = counts.get(&counts.peak);
    eprintln!("stream flood: peak {peak}, replies {replies:?}");
    assert!(peak <= 8, "{peak} streams in flight past the limit of 8");
    assert!(
        replies.rst_refused + replies.rst_other >= 92 || replies.goaway.is_some(),
        "excess streams neither refused nor the connection closed: {replies:?}"
    );
    drop(s);
    eventually("flood released upstream", || counts.get(&counts.in_flight) == 0).await;
    eventually("attacker connection released", || metrics.connections_active.get() == 0).await;
    assert_serves_others(&guard).await;
    assert!(counts.get(&counts.requests) <= 8 + 4, "refused streams reached the upstream");
    guard.shutdown().await;
}
