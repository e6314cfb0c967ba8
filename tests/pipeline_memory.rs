//! A very large streamed response keeps memory flat: the pipeline holds the
//! engine's hold-back and the hold window, never the body.
//!
//! This file holds a single test on purpose: it reads the process's peak
//! resident set (VmHWM), which other tests running in parallel threads of the
//! same binary would disturb.
//!
//! The size defaults to 1 GiB; set `LEAKWARDEN_MEMORY_TEST_MIB` to change it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use leakwarden::audit::AuditSink;
use leakwarden::metrics::Metrics;
use leakwarden::pipeline::{process_response, BoxError, ResponseContext};
use leakwarden::policy::Policy;

/// An endless-looking body: the same 64 KiB chunk (with a card number in
/// it) until `remaining` is used up.
struct Generated {
    chunk: Bytes,
    remaining: u64,
}

impl Body for Generated {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(self.chunk.len() as u64) as usize;
        self.remaining -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..n)))))
    }
}

fn vm_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

#[tokio::test]
async fn large_streamed_response_keeps_memory_flat() {
    let mib: u64 = std::env::var("LEAKWARDEN_MEMORY_TEST_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let total = mib * 1024 * 1024;

    let mut line = Vec::new();
    while line.len() < 64 * 1024 {
        line.extend_from_slice(
            b"{\"order\": 1234, \"card\": \"4111 1111 1111 1111\", \"note\": \"",
        );
        line.extend_from_slice(&[b'x'; 900]);
        line.extend_from_slice(b"\"}\n");
    }
    line.truncate(64 * 1024);
    let body = Generated { chunk: Bytes::from(line), remaining: total };

    let metrics = Arc::new(Metrics::new());
    let ctx = ResponseContext {
        access: Default::default(),
        route: Arc::from("big"),
        method: Method::GET,
        path: "/export".into(),
        request_id: leakwarden::audit::RequestId::from_client("mem"),
        client: "127.0.0.1:1".parse().unwrap(),
        policy: Arc::new(Policy::default_policy()),
        metrics: metrics.clone(),
        audit: Arc::new(AuditSink::disabled()),
        exfil: None,
        inventory: None,
    };
    let mut resp = Response::new(body);
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));

    let before = vm_kib("VmHWM:");
    let out = process_response(ctx, resp).await;
    assert_eq!(out.status(), StatusCode::OK);
    let mut body = out.into_body();
    let mut seen = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("no error");
        if let Some(d) = frame.data_ref() {
            seen += d.len() as u64;
        }
    }
    let after = vm_kib("VmHWM:");
    assert_eq!(seen, total, "masking keeps the length");
    let grown_mib = (after.saturating_sub(before)) / 1024;
    eprintln!("streamed {mib} MiB; peak RSS grew by {grown_mib} MiB ({before} kB -> {after} kB)");
    assert!(grown_mib < 64, "peak RSS grew by {grown_mib} MiB streaming {mib} MiB");
    let text = String::from_utf8(metrics.encode()).unwrap();
    assert!(text.contains(&format!("leakwarden_scan_bytes_total{{route=\"big\"}} {total}")));
}
