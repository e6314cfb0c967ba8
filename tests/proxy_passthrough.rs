//! Pass-through: bodies in both directions byte for byte, Content-Length
//! and chunked responses, streaming of a large response, HTTP/2 (h2c)
//! clients and upstreams.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Method, Request, Response, Version};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

/// Upstream that answers with "<METHOD> <version>\n" followed by the
/// request body it received.
async fn echo_upstream() -> std::net::SocketAddr {
    upstream(|req: Request<hyper::body::Incoming>| async move {
        let head = format!("{} {:?}\n", req.method(), req.version());
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let mut out = head.into_bytes();
        out.extend_from_slice(&body);
        Response::new(full(out))
    })
    .await
}

#[tokio::test]
async fn request_bodies_pass_byte_for_byte() {
    let up = echo_upstream().await;
    let (guard, _) = start_guard(up).await;
    let addr = guard.listen[0];
    let binary = pseudo_random(1 << 20, 7);
    // (method, body, chunked?)
    let cases: Vec<(Method, Vec<u8>, bool)> = vec![
        (Method::GET, vec![], false),
        (Method::POST, b"a=1&b=2".to_vec(), false),
        (Method::POST, binary.clone(), false),
        (Method::POST, binary.clone(), true),
        (Method::PUT, binary[..300_001].to_vec(), true),
        (Method::PUT, vec![0, 159, 146, 150, 255, 0, 10], false),
        (Method::DELETE, vec![], false),
        (Method::PATCH, b"{\"x\":1}".to_vec(), true),
    ];
    for client in [h1_client(), h2_client()] {
        for (method, body, chunked) in &cases {
            let req_body = if *chunked { streamed(body.clone(), 7) } else { full(body.clone()) };
            let req = Request::builder()
                .method(method.clone())
                .uri(format!("http://{addr}/echo"))
                .body(req_body)
                .unwrap();
            let (parts, got) = send(&client, req).await;
            assert_eq!(parts.status, 200);
            let mut want = format!("{method} HTTP/1.1\n").into_bytes();
            want.extend_from_slice(body);
            assert!(
                got == want,
                "{method} chunked={chunked}: body differs ({} vs {} bytes)",
                got.len(),
                want.len()
            );
        }
    }
    guard.shutdown().await;
}

#[tokio::test]
async fn content_length_and_chunked_responses() {
    let data = pseudo_random(200_000, 3);
    let d2 = data.clone();
    let up = upstream(move |req: Request<hyper::body::Incoming>| {
        let data = d2.clone();
        async move {
            if req.uri().path() == "/chunked" {
                Response::new(streamed(data, 13))
            } else {
                Response::new(full(data))
            }
        }
    })
    .await;
    let (guard, _) = start_guard(up).await;
    let addr = guard.listen[0];

    let (parts, body) = get(addr, "/length").await;
    assert_eq!(parts.headers["content-length"], "200000");
    assert!(parts.headers.get("transfer-encoding").is_none());
    assert!(body == data);

    let (parts, body) = get(addr, "/chunked").await;
    assert!(parts.headers.get("content-length").is_none());
    assert_eq!(parts.headers["transfer-encoding"], "chunked");
    assert!(body == data);

    // HEAD keeps the length and sends no body.
    let req = Request::head(format!("http://{addr}/length")).body(empty()).unwrap();
    let (parts, body) = send(&h1_client(), req).await;
    assert_eq!(parts.headers["content-length"], "200000");
    assert!(body.is_empty());
    guard.shutdown().await;
}

#[tokio::test]
async fn large_response_streams_before_the_upstream_finishes() {
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 512; // 32 MiB
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let up = upstream(move |_req| {
        let mut release = release_rx.clone();
        async move {
            let (tx, body) = channel_body();
            tokio::spawn(async move {
                let chunk = Bytes::from(pseudo_random(CHUNK, 11));
                tx.send(Ok(chunk.clone())).await.unwrap();
                // Hold the rest back until the client has seen bytes.
                let _ = release.wait_for(|r| *r).await;
                for _ in 1..CHUNKS {
                    if tx.send(Ok(chunk.clone())).await.is_err() {
                        return;
                    }
                }
            });
            Response::new(body)
        }
    })
    .await;
    let (guard, _) = start_guard(up).await;
    let req = Request::get(format!("http://{}/big", guard.listen[0])).body(empty()).unwrap();
    let resp = h1_client().request(req).await.unwrap();
    let mut body = resp.into_body();
    let first = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("first bytes arrive while the upstream is still sending")
        .unwrap()
        .unwrap();
    let mut total = first.data_ref().map_or(0, |d| d.len());
    let mut hash = Sha256::new();
    hash.update(first.data_ref().unwrap());
    release_tx.send(true).unwrap();
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("body completes");
        if let Some(d) = frame.data_ref() {
            total += d.len();
            hash.update(d);
        }
    }
    assert_eq!(total, CHUNK * CHUNKS);
    let mut want = Sha256::new();
    let chunk = pseudo_random(CHUNK, 11);
    for _ in 0..CHUNKS {
        want.update(&chunk);
    }
    assert_eq!(hash.finalize(), want.finalize());
    guard.shutdown().await;
}

#[tokio::test]
async fn h2c_client_to_http1_upstream() {
    let up = echo_upstream().await;
    let (guard, _) = start_guard(up).await;
    let addr = guard.listen[0];
    let client = h2_client();
    let req = Request::post(format!("http://{addr}/x")).body(full("hello h2")).unwrap();
    let (parts, body) = send(&client, req).await;
    assert_eq!(parts.version, Version::HTTP_2);
    assert_eq!(parts.status, 200);
    assert_eq!(&body[..], b"POST HTTP/1.1\nhello h2");
    assert!(parts.headers.get("transfer-encoding").is_none());
    guard.shutdown().await;
}

#[tokio::test]
async fn h2_upstream_when_configured() {
    let up = echo_upstream().await;
    let cfg = format!(
        "[upstreams.app]\nurl = \"http://{up}\"\nh2 = true\n[[routes]]\nname = \"app\"\nupstream = \"app\"\n"
    );
    let (guard, _) = start_guard_config(&cfg).await;
    let addr = guard.listen[0];
    for client in [h1_client(), h2_client()] {
        let req = Request::put(format!("http://{addr}/x"))
            .body(streamed(b"abc".repeat(1000), 3))
            .unwrap();
        let (parts, body) = send(&client, req).await;
        assert_eq!(parts.status, 200);
        let mut want = b"PUT HTTP/2.0\n".to_vec();
        want.extend_from_slice(&b"abc".repeat(1000));
        assert_eq!(body, Bytes::from(want));
    }
    guard.shutdown().await;
}
