//! Upstream failures: 502 on refused or reset before headers, 504 on a
//! stalled upstream, an aborted (never complete-looking) client response
//! when the upstream dies mid-body or the request deadline passes; error
//! bodies are generic and never echo upstream bytes.

mod common;

use std::time::Duration;

use common::*;
use http::Request;
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

fn route_to(up: std::net::SocketAddr, limits: &str) -> String {
    format!(
        "[limits]\n{limits}\n[upstreams.app]\nurl = \"http://{up}\"\n[[routes]]\nname = \"app\"\nupstream = \"app\"\n"
    )
}

#[tokio::test]
async fn failures_before_headers_map_to_502_and_504() {
    let (refused, _refused_socket) = closed_port();
    let reset = raw_upstream(|s| async move { drop(s) }).await;
    let garbage = raw_upstream(|mut s| async move {
        let _ = s.write_all(b"SECRET-UPSTREAM-BYTES 4111111111111111\r\n\r\n").await;
    })
    .await;
    let stall = raw_upstream(|s| async move {
        // Hold the connection open without answering.
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    })
    .await;
    let cases = [
        (refused, 502, "bad gateway\n", "refused"),
        (reset, 502, "bad gateway\n", "reset"),
        (garbage, 502, "bad gateway\n", "protocol"),
        (stall, 504, "gateway timeout\n", "timeout"),
    ];
    for (up, status, body, reason) in cases {
        let (guard, _) =
            start_guard_config(&route_to(up, "response_header_timeout = \"300ms\"")).await;
        for client in [h1_client(), h2_client()] {
            let req = Request::get(format!("http://{}/x", guard.listen[0])).body(empty()).unwrap();
            let (parts, got) = send(&client, req).await;
            assert_eq!(parts.status, status, "{reason}");
            assert_eq!(&got[..], body.as_bytes(), "{reason}");
            assert_eq!(parts.headers["content-type"], "text/plain; charset=utf-8");
            assert!(parts.headers.contains_key("x-request-id"));
        }
        let text = metrics_text(&guard).await;
        let want =
            format!("leakwarden_upstream_errors_total{{reason=\"{reason}\",route=\"app\"}} 2");
        assert!(text.contains(&want), "{reason}: missing {want}\n{text}");
        let want = format!(
            "leakwarden_requests_total{{code=\"{status}\",method=\"GET\",route=\"app\"}} 2"
        );
        assert!(text.contains(&want), "{reason}: missing {want}");
        guard.shutdown().await;
    }
}

/// A raw upstream that sends `head`, then `body_len` bytes of `fill`, then
/// closes the connection without finishing the body.
async fn cut_upstream(
    head: &'static str,
    prefix: &'static [u8],
    body_len: usize,
) -> std::net::SocketAddr {
    raw_upstream(move |mut s| async move {
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.write_all(prefix).await;
        let _ = s.write_all(&vec![b'a'; body_len]).await;
        // Close early.
    })
    .await
}

#[tokio::test]
async fn mid_body_upstream_reset_aborts_the_client_response() {
    // Not scanned: the proxy forwards the head at once, so the cut must
    // surface as an aborted body.
    let unscanned = [
        cut_upstream("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n", b"", 1000).await,
        cut_upstream("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n", b"5\r\nhello\r\n", 0).await,
    ];
    for up in unscanned {
        let (guard, _) = start_guard(up).await;
        for (name, client) in [("h1", h1_client()), ("h2", h2_client())] {
            let req = Request::get(format!("http://{}/x", guard.listen[0])).body(empty()).unwrap();
            let resp = client.request(req).await.expect("headers arrive");
            assert_eq!(resp.status(), 200);
            let result = resp.into_body().collect().await;
            assert!(result.is_err(), "{name}: a cut upstream body must abort the client response");
        }
        guard.shutdown().await;
    }

    // Scanned (text): the pipeline may still hold the head when the cut
    // comes (then a generic 502 is a clean answer), or it has sent it (then
    // the body must abort). Never a complete-looking 200.
    let scanned = [
        cut_upstream(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n",
            b"",
            1000,
        )
        .await,
        cut_upstream(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 900000\r\n\r\n",
            b"",
            300_000,
        )
        .await,
        cut_upstream(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"5\r\nhello\r\n",
            0,
        )
        .await,
    ];
    for up in scanned {
        let (guard, _) = start_guard(up).await;
        for (name, client) in [("h1", h1_client()), ("h2", h2_client())] {
            let req = Request::get(format!("http://{}/x", guard.listen[0])).body(empty()).unwrap();
            match client.request(req).await {
                // The connection closed before a head: aborted.
                Err(_) => {}
                Ok(resp) => {
                    let status = resp.status();
                    match resp.into_body().collect().await {
                        Err(_) => {}
                        Ok(body) => {
                            let body = body.to_bytes();
                            assert!(
                                status.is_server_error(),
                                "{name}: cut body ended as a complete {status}"
                            );
                            assert!(
                                !body.windows(5).any(|w| w == b"hello" || w == b"aaaaa"),
                                "{name}: error body echoes upstream bytes"
                            );
                        }
                    }
                }
            }
        }
        guard.shutdown().await;
    }
}

#[tokio::test]
async fn request_deadline_aborts_a_streaming_body() {
    let slow = raw_upstream(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (guard, _) = start_guard_config(&route_to(slow, "request_timeout = \"400ms\"")).await;
    let req = Request::get(format!("http://{}/x", guard.listen[0])).body(empty()).unwrap();
    let resp = h1_client().request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let result =
        tokio::time::timeout(Duration::from_secs(10), resp.into_body().collect()).await.unwrap();
    assert!(result.is_err(), "body must be aborted at the request deadline");
    guard.shutdown().await;
}

#[tokio::test]
async fn request_deadline_covers_a_held_head() {
    // A scanned response whose window never fills and whose hold timeout
    // is longer than the request deadline: 504, not a hang.
    let slow = raw_upstream(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let cfg = format!(
        "{}[policies.default]\nhold_timeout_ms = 20000\n",
        route_to(slow, "request_timeout = \"400ms\"")
    );
    let (guard, _) = start_guard_config(&cfg).await;
    let req = Request::get(format!("http://{}/x", guard.listen[0])).body(empty()).unwrap();
    let (parts, body) =
        tokio::time::timeout(Duration::from_secs(10), send(&h1_client(), req)).await.unwrap();
    assert_eq!(parts.status, 504);
    assert_eq!(&body[..], b"gateway timeout\n");
    guard.shutdown().await;
}
