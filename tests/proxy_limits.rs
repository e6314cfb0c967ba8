//! Client-side limits: request head size, concurrent connections, idle
//! keep-alive and header-read timeouts.

mod common;

use std::time::Duration;

use common::*;
use http::{Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn ok_upstream() -> std::net::SocketAddr {
    upstream(|_req: Request<hyper::body::Incoming>| async move {
        Response::builder()
            .header("content-type", "application/octet-stream")
            .body(full("ok"))
            .unwrap()
    })
    .await
}

/// Reads one small response (Content-Length: 2) from a raw connection.
async fn read_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn oversized_request_head_is_rejected() {
    let up = ok_upstream().await;
    let (guard, _) = start_guard_with(up, "[limits]\nmax_request_header_bytes = 8192\n").await;
    let mut s = TcpStream::connect(guard.listen[0]).await.unwrap();
    let big = "x".repeat(20_000);
    let req = format!("GET / HTTP/1.1\r\nHost: a\r\nX-Big: {big}\r\n\r\n");
    let _ = s.write_all(req.as_bytes()).await;
    let text = read_response(&mut s).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text:.80}");

    // A normal request on a new connection still works.
    let mut s = TcpStream::connect(guard.listen[0]).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
    let text = read_response(&mut s).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:.80}");
    assert!(text.ends_with("ok"));
    guard.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let up = ok_upstream().await;
    let (guard, metrics) = start_guard_with(up, "[limits]\nmax_connections = 1\n").await;
    let addr = guard.listen[0];
    let mut first = TcpStream::connect(addr).await.unwrap();
    first.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));
    assert_eq!(metrics.connections_active.get(), 1);

    // The kernel completes the second TCP handshake, but the guard does not
    // serve it while the first connection holds the only slot.
    let mut second = TcpStream::connect(addr).await.unwrap();
    second.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
    let mut byte = [0u8; 1];
    let waited = tokio::time::timeout(Duration::from_millis(300), second.read(&mut byte)).await;
    assert!(waited.is_err(), "second connection served while the limit was reached");

    drop(first);
    let text = tokio::time::timeout(Duration::from_secs(10), read_response(&mut second))
        .await
        .expect("served once the slot frees");
    assert!(text.starts_with("HTTP/1.1 200"), "{text:.80}");
    guard.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let up = ok_upstream().await;
    let (guard, _) = start_guard_with(up, "[limits]\nidle_timeout = \"300ms\"\n").await;
    // A connection that never sends a request.
    let mut silent = TcpStream::connect(guard.listen[0]).await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buf))
        .await
        .expect("silent connection closed by the server");
    assert!(
        matches!(n, Ok(0) | Err(_)) || String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408")
    );

    // A keep-alive connection after one exchange.
    let mut idle = TcpStream::connect(guard.listen[0]).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
    assert!(read_response(&mut idle).await.starts_with("HTTP/1.1 200"));
    let n = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buf))
        .await
        .expect("idle keep-alive connection closed by the server");
    assert!(matches!(n, Ok(0) | Err(_)));
    guard.shutdown().await;
}
