//! Graceful shutdown: an in-flight response finishes after shutdown
//! begins, /readyz turns 503 while draining, the listener closes, and the
//! drain timeout bounds how long a stuck response can hold the exit.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, Response};
use http_body_util::BodyExt;

#[tokio::test]
async fn in_flight_response_completes_after_shutdown_begins() {
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let up = upstream(move |_req| {
        let mut release = release_rx.clone();
        async move {
            let (tx, body) = channel_body();
            tokio::spawn(async move {
                tx.send(Ok(Bytes::from_static(b"first,"))).await.unwrap();
                let _ = release.wait_for(|r| *r).await;
                tx.send(Ok(Bytes::from_static(b"last"))).await.unwrap();
            });
            // Not a scanned type: the head goes out at once.
            Response::builder()
                .header("content-type", "application/octet-stream")
                .body(body)
                .unwrap()
        }
    })
    .await;
    let (mut guard, _) = start_guard(up).await;
    let addr = guard.listen[0];
    let admin = guard.admin.unwrap();
    let (parts, _) = get(admin, "/readyz").await;
    assert_eq!(parts.status, 200);

    let req = Request::get(format!("http://{addr}/slow")).body(empty()).unwrap();
    let resp = h1_client().request(req).await.unwrap();
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], b"first,");

    // A connection that never sends a request must not hold the drain
    // (the idle timeout is 60 s, the wait below allows 10 s).
    let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();

    guard.begin_shutdown();
    let (parts, text) = get(admin, "/readyz").await;
    assert_eq!(parts.status, 503);
    assert_eq!(&text[..], b"draining\n");
    let (parts, _) = get(admin, "/healthz").await;
    assert_eq!(parts.status, 200);

    release_tx.send(true).unwrap();
    let rest = body.collect().await.expect("in-flight response completes").to_bytes();
    assert_eq!(&rest[..], b"last");
    tokio::time::timeout(Duration::from_secs(10), guard.wait()).await.expect("guard stops");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "listener closed after drain");
}

#[tokio::test]
async fn drain_timeout_bounds_a_stuck_response() {
    let up = upstream(|_req| async move {
        let (tx, body) = channel_body();
        tokio::spawn(async move {
            tx.send(Ok(Bytes::from_static(b"never ends"))).await.unwrap();
            // Keep the sender alive so the body never finishes.
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(tx);
        });
        Response::builder().header("content-type", "application/octet-stream").body(body).unwrap()
    })
    .await;
    let (mut guard, metrics) = start_guard_with(up, "[server]\ndrain_timeout = \"300ms\"\n").await;
    let req = Request::get(format!("http://{}/stuck", guard.listen[0])).body(empty()).unwrap();
    let resp = h1_client().request(req).await.unwrap();
    let mut body = resp.into_body();
    body.frame().await.unwrap().unwrap();
    guard.begin_shutdown();
    tokio::time::timeout(Duration::from_secs(10), guard.wait())
        .await
        .expect("drain timeout ends the wait");
    let rest = tokio::time::timeout(Duration::from_secs(10), body.collect()).await.unwrap();
    assert!(rest.is_err(), "a response cut by the drain timeout is aborted, not ended");
    assert_eq!(metrics.connections_active.get(), 0);
}
