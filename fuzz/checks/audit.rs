//! The audit log writer, through the pipeline as the proxy drives it: a
//! request with an arbitrary method and path, a response with an arbitrary
//! HTML body, and the audit line written for it.
//!
//! Input: byte 0 is the method's length, then the method; the next byte is
//! the path's length, then the path (with query); the rest is the body.
//! Checks: no panic; every audit line is JSON; no field holds a value the
//! engine would rewrite, read as written and after percent-decoding (a
//! value in a URL path arrives percent-encoded).
//!
//! Shared by the fuzz target (`fuzz/fuzz_targets/audit.rs`) and the
//! regression test that replays seeds and kept crash inputs
//! (`tests/fuzz_regressions.rs`).
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Response};
use http_body_util::{BodyExt, Full};
use leakwarden::audit::{AuditSink, RequestId};
use leakwarden::pipeline::{process_response, ResponseContext};

#[path = "logline.rs"]
mod logline;

pub fn check(data: &[u8]) {
    let Some((method, rest)) = logline::take(data) else { return };
    let Some((path, body)) = logline::take(rest) else { return };
    let Ok(method) = Method::from_bytes(method) else { return };
    let Ok(pq) = http::uri::PathAndQuery::try_from(path) else { return };
    let f = logline::fixed();
    let (sink, log) = AuditSink::memory();
    let ctx = ResponseContext {
        access: Default::default(),
        route: Arc::from("fuzz"),
        method,
        path: pq.as_str().to_string(),
        request_id: RequestId::from_client("fuzz"),
        client: "127.0.0.1:40000".parse().expect("address"),
        policy: f.policy.clone(),
        metrics: f.metrics.clone(),
        audit: Arc::new(sink),
        exfil: None,
        inventory: None,
    };
    let mut resp = Response::new(Full::new(Bytes::copy_from_slice(body)));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    f.rt.block_on(async {
        let out = process_response(ctx, resp).await;
        let _ = out.into_body().collect().await;
    });
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(&line).expect("an audit line is JSON");
        logline::walk(&f.policy.engine, "line", &v);
    }
}
