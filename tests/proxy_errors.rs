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
    let refused = closed_port().await;
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

#[tokio::test]
async fn mid_body_upstream_reset_aborts_the_client_response() {
    let content_length = raw_upstream(|mut s| async move {
        let _ = s
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n",
            )
            .await;
        let _ = s.write_all(&[b'a'; 1000]).await;
        // Close 99 000 bytes early.
    })
    .await;
    let chunked = raw_upstream(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        let _ = s.write_all(b"5\r\nhello\r\n").await;
        // Close before the last chunk.
    })
    .await;
    for up in [content_length, chunked] {
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
}

#[tokio::test]
async fn request_deadline_aborts_a_streaming_body() {
    let slow = raw_upstream(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (guard, _) = start_guard_config(&route_to(slow, "request_timeout = \"400ms\"")).await;
    let req = Request::get(format!("http://{}/x", guard.listen[0])).body(empty()).unwrap();
    let resp = h1_client().request(req).await.unwrap();
    let result =
        tokio::time::timeout(Duration::from_secs(10), resp.into_body().collect()).await.unwrap();
    assert!(result.is_err(), "body must be aborted at the request deadline");
    guard.shutdown().await;
}
