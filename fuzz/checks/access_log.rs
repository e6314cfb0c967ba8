//! The access log writer, through the pipeline as the proxy drives it: a
//! request with an arbitrary method, path, user agent and request id, a
//! response with an arbitrary HTML body, and the access line written when
//! the body the client gets ends.
//!
//! Input: four length-prefixed fields (a length byte, then the bytes):
//! method, path (with query), `User-Agent`, request id; the rest is the
//! body. Checks: no panic; exactly one access line, and it is JSON; no
//! key or string in it holds a value the engine would rewrite, read as
//! written and after percent-decoding.
//!
//! Shared by the fuzz target (`fuzz/fuzz_targets/access_log.rs`) and the
//! regression test that replays seeds and kept crash inputs
//! (`tests/fuzz_regressions.rs`).
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Response, Version};
use http_body_util::{BodyExt, Full};
use leakwarden::access_log::AccessLog;
use leakwarden::audit::{AuditSink, RequestId};
use leakwarden::pipeline::{process_response, ResponseContext};

#[path = "logline.rs"]
mod logline;

pub fn check(data: &[u8]) {
    let Some((method, rest)) = logline::take(data) else { return };
    let Some((path, rest)) = logline::take(rest) else { return };
    let Some((agent, rest)) = logline::take(rest) else { return };
    let Some((request_id, body)) = logline::take(rest) else { return };
    let Ok(method) = Method::from_bytes(method) else { return };
    let Ok(pq) = http::uri::PathAndQuery::try_from(path) else { return };
    let Ok(agent) = HeaderValue::from_bytes(agent) else { return };
    // The proxy takes a client's request id only as a header value.
    let Ok(request_id) = HeaderValue::from_bytes(request_id) else { return };
    let request_id = RequestId::from_client(&String::from_utf8_lossy(request_id.as_bytes()));
    let f = logline::fixed();
    let (log, lines) = AccessLog::memory(1.0);
    let log = Arc::new(log);
    let mut headers = HeaderMap::new();
    headers.insert(header::USER_AGENT, agent);
    let client = "127.0.0.1:40000".parse().expect("address");
    let mut entry = log
        .start(
            &f.metrics,
            &f.policy.engine,
            Instant::now(),
            &method,
            pq.as_str(),
            Version::HTTP_11,
            &headers,
            &request_id,
            client,
            None,
        )
        .expect("the in-memory access log is on");
    entry.route(Arc::from("fuzz"), &f.policy.engine);
    let (audit, _) = AuditSink::memory();
    let ctx = ResponseContext {
        access: entry.scan_slot(),
        route: Arc::from("fuzz"),
        method,
        path: pq.as_str().to_string(),
        request_id,
        client,
        policy: f.policy.clone(),
        metrics: f.metrics.clone(),
        audit: Arc::new(audit),
        exfil: None,
        inventory: None,
    };
    let mut resp = Response::new(Full::new(Bytes::copy_from_slice(body)));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    let mut finished = entry.finished(200);
    f.rt.block_on(async {
        let out = process_response(ctx, resp).await;
        match out.into_body().collect().await {
            Ok(body) => {
                finished.sent(body.to_bytes().len());
                finished.ended(true);
            }
            Err(_) => finished.ended(false),
        }
    });
    drop(finished);
    log.sync();
    let written = lines.lines();
    assert_eq!(written.len(), 1, "one access line per request");
    for line in written {
        let v: serde_json::Value = serde_json::from_str(&line).expect("an access line is JSON");
        logline::walk(&f.policy.engine, "line", &v);
    }
}
