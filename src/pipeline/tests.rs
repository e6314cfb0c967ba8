//! Unit tests of the pipeline, driving `process_response` directly on
//! in-memory bodies (no sockets). Integration tests with real servers live
//! in `tests/pipeline_*.rs`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use super::codec::{decode_all, encode_all, Coding};
use super::*;
use crate::audit::{AuditSink, MemoryLog};
use crate::config::detect::DetectSection;
use crate::config::policy::PolicySection;
use crate::metrics::Metrics;
use crate::policy::Policy;

/// A body fed from a channel: frames, errors, and "nothing yet" (an open
/// sender) exactly as a test wants them.
pub(super) struct ChanBody {
    rx: mpsc::UnboundedReceiver<Result<Frame<Bytes>, BoxError>>,
}

impl Body for ChanBody {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.rx.poll_recv(cx)
    }
}

pub(super) type Tx = mpsc::UnboundedSender<Result<Frame<Bytes>, BoxError>>;

pub(super) fn chan() -> (Tx, ChanBody) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, ChanBody { rx })
}

/// A finished body made of these chunks.
pub(super) fn chunks<I: IntoIterator<Item = Vec<u8>>>(parts: I) -> ChanBody {
    let (tx, body) = chan();
    for p in parts {
        tx.send(Ok(Frame::data(Bytes::from(p)))).unwrap();
    }
    body
}

pub(super) struct Harness {
    pub(super) ctx: ResponseContext,
    pub(super) log: MemoryLog,
    pub(super) metrics: Arc<Metrics>,
}

pub(super) fn harness(policy_toml: &str) -> Harness {
    let section: PolicySection = toml::from_str(policy_toml).expect("policy toml");
    let policy = Policy::build("test", &section, &DetectSection::default()).expect("policy");
    let (sink, log) = AuditSink::memory();
    let metrics = Arc::new(Metrics::new());
    // The route's zero series exist from the start, as the proxy creates
    // them, so a check for 0 reads a real series.
    metrics.init_route("r", std::iter::empty());
    let ctx = ResponseContext {
        access: Default::default(),
        route: Arc::from("r"),
        method: Method::GET,
        path: "/p".into(),
        request_id: crate::audit::RequestId::from_client("req-1"),
        client: "127.0.0.1:40000".parse().unwrap(),
        policy: Arc::new(policy),
        metrics: metrics.clone(),
        audit: Arc::new(sink),
        exfil: None,
        inventory: None,
    };
    Harness { ctx, log, metrics }
}

pub(super) fn response(ct: Option<&str>, body: ChanBody) -> Response<ChanBody> {
    let mut r = Response::new(body);
    if let Some(ct) = ct {
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
    }
    r
}

pub(super) async fn collect(
    resp: Response<ProxyBody>,
) -> Result<(Bytes, Option<HeaderMap>), BoxError> {
    let c = resp.into_body().collect().await?;
    let trailers = c.trailers().cloned();
    Ok((c.to_bytes(), trailers))
}

/// The value of one exported series. A series that does not exist (a
/// misspelled label, a series never created) fails the test rather than
/// reading as 0.
pub(super) fn metric(m: &Metrics, needle: &str) -> u64 {
    let text = String::from_utf8(m.encode()).unwrap();
    let line = text
        .lines()
        .find(|l| l.split(' ').next() == Some(needle))
        .unwrap_or_else(|| panic!("no series {needle} in\n{text}"));
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a counter value")
}

fn text(n: usize) -> Vec<u8> {
    (0..)
        .flat_map(|i: u32| format!("row {i}: nothing to see here; ").into_bytes())
        .take(n)
        .collect()
}

#[tokio::test]
async fn non_scannable_types_pass_byte_identical() {
    let h = harness("");
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let mut resp = response(Some("image/png"), chunks([data.clone()]));
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
    resp.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"abc\""));
    let out = process_response(h.ctx.clone(), resp).await;
    assert_eq!(out.headers()[header::CONTENT_LENGTH], data.len().to_string().as_str());
    assert_eq!(out.headers()[header::ETAG], "\"abc\"");
    assert_eq!(collect(out).await.unwrap().0, data);
    assert_eq!(
        metric(&h.metrics, "leakwarden_scan_skipped_total{reason=\"content_type\",route=\"r\"}"),
        1
    );
    assert_eq!(metric(&h.metrics, "leakwarden_responses_scanned_total{route=\"r\"}"), 0);
}

#[tokio::test]
async fn bodiless_responses_pass_untouched() {
    for (method, status) in [
        (Method::HEAD, StatusCode::OK),
        (Method::GET, StatusCode::NO_CONTENT),
        (Method::GET, StatusCode::NOT_MODIFIED),
    ] {
        let mut h = harness("");
        h.ctx.method = method.clone();
        let mut resp = response(Some("text/html"), chunks([]));
        *resp.status_mut() = status;
        resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("1234"));
        resp.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"v1\""));
        let out = process_response(h.ctx.clone(), resp).await;
        assert_eq!(out.status(), status);
        assert_eq!(out.headers()[header::CONTENT_LENGTH], "1234", "{method} {status}");
        assert_eq!(out.headers()[header::ETAG], "\"v1\"", "{method} {status}");
        assert!(collect(out).await.unwrap().0.is_empty());
        assert_eq!(metric(&h.metrics, "leakwarden_responses_scanned_total{route=\"r\"}"), 0);
    }
}

#[tokio::test]
async fn scanned_identity_body_is_reassembled_and_counted() {
    let h = harness("");
    let data = text(200_000);
    let parts: Vec<Vec<u8>> = data.chunks(7919).map(<[u8]>::to_vec).collect();
    let mut resp = response(Some("text/plain; charset=utf-8"), chunks(parts));
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
    let out = process_response(h.ctx.clone(), resp).await;
    assert_eq!(out.status(), StatusCode::OK);
    // Mask-only policy on an identity body: the length is kept.
    assert_eq!(out.headers()[header::CONTENT_LENGTH], data.len().to_string().as_str());
    assert_eq!(collect(out).await.unwrap().0, data);
    assert_eq!(metric(&h.metrics, "leakwarden_responses_scanned_total{route=\"r\"}"), 1);
    assert_eq!(metric(&h.metrics, "leakwarden_scan_bytes_total{route=\"r\"}"), data.len() as u64);
}

#[tokio::test]
async fn missing_content_type_is_scanned() {
    let h = harness("");
    let out = process_response(h.ctx.clone(), response(None, chunks([b"hello".to_vec()]))).await;
    assert_eq!(collect(out).await.unwrap().0, "hello");
    assert_eq!(metric(&h.metrics, "leakwarden_responses_scanned_total{route=\"r\"}"), 1);
}

#[tokio::test]
async fn every_coding_roundtrips_through_the_pipeline() {
    let data = text(300_000);
    for (token, coding) in [
        ("gzip", Coding::Gzip),
        ("x-gzip", Coding::Gzip),
        ("deflate", Coding::Deflate),
        ("br", Coding::Br),
        ("zstd", Coding::Zstd),
    ] {
        for window in ["", "hold_window_bytes = 0"] {
            let h = harness(window);
            let enc = encode_all(coding, &data);
            let parts: Vec<Vec<u8>> = enc.chunks(1000).map(<[u8]>::to_vec).collect();
            let mut resp = response(Some("application/json"), chunks(parts));
            resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
            resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(enc.len()));
            let out = process_response(h.ctx.clone(), resp).await;
            assert_eq!(out.headers()[header::CONTENT_ENCODING], token);
            if window.is_empty() {
                // Small enough to end inside the window: exact length.
                let cl: usize =
                    out.headers()[header::CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
                let body = collect(out).await.unwrap().0;
                assert_eq!(cl, body.len(), "{token}");
                assert_eq!(decode_all(coding, &body).unwrap(), data, "{token}");
            } else {
                assert!(out.headers().get(header::CONTENT_LENGTH).is_none(), "{token}");
                let body = collect(out).await.unwrap().0;
                assert_eq!(decode_all(coding, &body).unwrap(), data, "{token}");
            }
        }
    }
}

#[tokio::test]
async fn corrupt_coding_fails_closed_inside_the_window() {
    let h = harness("");
    let mut resp =
        response(Some("text/html"), chunks([b"\x1f\x8b\x08\x00garbage garbage garbage".to_vec()]));
    resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    let out = process_response(h.ctx.clone(), resp).await;
    assert_eq!(out.status(), StatusCode::FORBIDDEN);
    let body = collect(out).await.unwrap().0;
    assert!(!body.windows(7).any(|w| w == b"garbage"));
    assert_eq!(
        metric(&h.metrics, "leakwarden_scan_errors_total{reason=\"decode\",route=\"r\"}"),
        1
    );
    assert_eq!(
        metric(
            &h.metrics,
            "leakwarden_responses_blocked_total{reason=\"fail_closed\",route=\"r\"}"
        ),
        1
    );
    let lines = h.log.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("\"blocked\":\"fail_closed\""), "{}", lines[0]);
    assert!(lines[0].contains("\"status\":403"), "{}", lines[0]);
}

#[tokio::test]
async fn corrupt_coding_after_the_headers_aborts() {
    let h = harness("hold_window_bytes = 1024");
    let good = encode_all(Coding::Gzip, &text(100_000));
    // A valid start, then the stream turns to junk.
    let mut bad = good[..good.len() / 2].to_vec();
    bad.extend(std::iter::repeat_n(0xAAu8, 5000));
    let mut resp = response(Some("text/plain"), chunks(bad.chunks(512).map(<[u8]>::to_vec)));
    resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    let out = process_response(h.ctx.clone(), resp).await;
    assert_eq!(out.status(), StatusCode::OK);
    assert!(collect(out).await.is_err());
    assert_eq!(
        metric(
            &h.metrics,
            "leakwarden_responses_blocked_total{reason=\"fail_closed\",route=\"r\"}"
        ),
        1
    );
}

#[tokio::test]
async fn unknown_and_stacked_codings() {
    for ce in ["compress", "gzip, br"] {
        let h = harness("");
        let mut resp = response(Some("text/plain"), chunks([b"opaque".to_vec()]));
        resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_str(ce).unwrap());
        let out = process_response(h.ctx.clone(), resp).await;
        assert_eq!(out.status(), StatusCode::FORBIDDEN, "{ce}");
        assert_eq!(
            metric(
                &h.metrics,
                "leakwarden_scan_errors_total{reason=\"unknown_encoding\",route=\"r\"}"
            ),
            1
        );
        for open in ["on_error = \"fail_open\"", "mode = \"monitor\""] {
            let h = harness(open);
            let mut resp = response(Some("text/plain"), chunks([b"opaque".to_vec()]));
            resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_str(ce).unwrap());
            let out = process_response(h.ctx.clone(), resp).await;
            assert_eq!(out.status(), StatusCode::OK, "{ce} {open}");
            assert_eq!(collect(out).await.unwrap().0, "opaque");
        }
    }
}

#[tokio::test]
async fn decompression_bomb_fails_closed() {
    let h = harness("max_decompression_ratio = 50");
    let enc = encode_all(Coding::Gzip, &vec![b'a'; 8 * 1024 * 1024]);
    let mut resp = response(Some("text/plain"), chunks(enc.chunks(4096).map(<[u8]>::to_vec)));
    resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    let out = process_response(h.ctx.clone(), resp).await;
    // The re-encoded output of the first MiB is far below the window, so
    // the bomb is caught before the head: the block page replaces it.
    assert_eq!(out.status(), StatusCode::FORBIDDEN);
    assert_eq!(metric(&h.metrics, "leakwarden_scan_errors_total{reason=\"bomb\",route=\"r\"}"), 1);
}

#[tokio::test]
async fn scan_limit_block_and_pass() {
    let data = text(10_000);
    let h = harness("scan_limit_bytes = 4000");
    let out =
        process_response(h.ctx.clone(), response(Some("text/plain"), chunks([data.clone()]))).await;
    assert_eq!(out.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        metric(&h.metrics, "leakwarden_scan_errors_total{reason=\"size_limit\",route=\"r\"}"),
        1
    );

    let h = harness("scan_limit_bytes = 4000\nover_limit = \"pass\"");
    let out =
        process_response(h.ctx.clone(), response(Some("text/plain"), chunks([data.clone()]))).await;
    assert_eq!(out.status(), StatusCode::OK);
    assert_eq!(collect(out).await.unwrap().0, data);
    assert_eq!(metric(&h.metrics, "leakwarden_scan_bytes_total{route=\"r\"}"), 4000);
    assert_eq!(
        metric(&h.metrics, "leakwarden_scan_skipped_total{reason=\"size_limit\",route=\"r\"}"),
        1
    );
}

#[tokio::test]
async fn upstream_error_inside_window_is_502_and_after_is_an_abort() {
    let h = harness("");
    let (tx, body) = chan();
    tx.send(Ok(Frame::data(Bytes::from_static(b"partial")))).unwrap();
    tx.send(Err("upstream reset".into())).unwrap();
    let out = process_response(h.ctx.clone(), response(Some("text/plain"), body)).await;
    assert_eq!(out.status(), StatusCode::BAD_GATEWAY);
    assert!(!collect(out).await.unwrap().0.windows(7).any(|w| w == b"partial"));

    let h = harness("hold_window_bytes = 10");
    let (tx, body) = chan();
    tx.send(Ok(Frame::data(Bytes::from(text(100))))).unwrap();
    tx.send(Err("upstream reset".into())).unwrap();
    let out = process_response(h.ctx.clone(), response(Some("text/plain"), body)).await;
    assert_eq!(out.status(), StatusCode::OK);
    assert!(collect(out).await.is_err());
}

#[tokio::test]
async fn upstream_body_failures_count_once_with_their_cause() {
    // (case, policy, content type, bytes before the failure, head held)
    let cases = [
        ("scanned, head held", "", "text/plain", 100, true),
        ("scanned, head sent", "hold_window_bytes = 10", "text/plain", 100, false),
        ("scanned, monitor", "mode = \"monitor\"", "text/plain", 100, false),
        ("unscanned", "", "application/octet-stream", 100, false),
    ];
    type MakeError = fn() -> BoxError;
    let errors: [(&str, MakeError); 3] = [
        ("reset", || "upstream reset".into()),
        ("reset", || Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset))),
        ("protocol", || Box::new(std::io::Error::from(std::io::ErrorKind::InvalidData))),
    ];
    for (case, policy, ct, n, held) in cases {
        for (reason, err) in errors {
            let h = harness(policy);
            let (tx, body) = chan();
            // A card well before the failure, so that a scanned response
            // has a finding and writes an audit line.
            let mut data = text(n);
            data.extend_from_slice(b" 4111 1111 1111 1111 ");
            data.extend_from_slice(&text(n));
            tx.send(Ok(Frame::data(Bytes::from(data)))).unwrap();
            tx.send(Err(err())).unwrap();
            let out = process_response(h.ctx.clone(), response(Some(ct), body)).await;
            if held {
                assert_eq!(out.status(), StatusCode::BAD_GATEWAY, "{case}/{reason}");
                collect(out).await.expect("the 502 page is complete");
            } else {
                assert_eq!(out.status(), StatusCode::OK, "{case}/{reason}");
                assert!(collect(out).await.is_err(), "{case}/{reason}: not aborted");
            }
            for r in ["reset", "protocol", "timeout"] {
                let series =
                    format!("leakwarden_upstream_errors_total{{reason=\"{r}\",route=\"r\"}}");
                let want = u64::from(r == reason);
                assert_eq!(metric(&h.metrics, &series), want, "{case}/{reason}: {series}");
            }
            let lines = h.log.lines();
            if ct == "text/plain" {
                assert_eq!(lines.len(), 1, "{case}/{reason}: {lines:?}");
                assert!(lines[0].contains("\"complete\":false"), "{case}: {}", lines[0]);
                let status = if held { "\"status\":502" } else { "\"status\":200" };
                assert!(lines[0].contains(status), "{case}: {}", lines[0]);
            } else {
                assert!(lines.is_empty(), "{case}: {lines:?}");
            }
        }
    }
}

/// What the engine emits for `input` before the stream ends (the rest is
/// held back as a possible start of a match).
fn emitted_before_end(h: &Harness, input: &[u8]) -> Vec<u8> {
    let mut s = crate::detect::Scanner::new(h.ctx.policy.engine.clone(), Default::default());
    let mut out = Vec::new();
    s.feed(input, &mut out, &mut Vec::new());
    out
}

/// Reads frames until `n` data bytes arrived.
async fn read_exactly(b: &mut ProxyBody, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        let f = b.frame().await.expect("more frames").expect("no error");
        got.extend_from_slice(f.data_ref().expect("data"));
    }
    got
}

#[tokio::test]
async fn hold_times_out_and_streams_are_not_held() {
    // A slow body: the head goes out after the hold timeout, and what the
    // engine has released so far follows without waiting for the rest.
    let h = harness("hold_timeout_ms = 50");
    let first = b"first line of a slow page.\n\n".to_vec();
    let want = emitted_before_end(&h, &first);
    assert!(!want.is_empty(), "precondition: the engine releases a finished line");
    let (tx, body) = chan();
    tx.send(Ok(Frame::data(Bytes::from(first.clone())))).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        process_response(h.ctx.clone(), response(Some("text/plain"), body)),
    )
    .await
    .expect("head after the hold timeout");
    let mut b = out.into_body();
    let got = tokio::time::timeout(Duration::from_secs(20), read_exactly(&mut b, want.len()))
        .await
        .expect("released bytes flow while upstream is idle");
    assert_eq!(got, want);
    tx.send(Ok(Frame::data(Bytes::from_static(b"second line.\n")))).unwrap();
    drop(tx);
    let rest = b.collect().await.unwrap().to_bytes();
    let mut all = got;
    all.extend_from_slice(&rest);
    assert_eq!(all, b"first line of a slow page.\n\nsecond line.\n");

    // Server-sent events: no hold at all even with a long timeout.
    let h = harness("hold_timeout_ms = 600000");
    let event = b"event: tick\ndata: {\"n\": 1}\n\n".to_vec();
    let want = emitted_before_end(&h, &event);
    assert!(!want.is_empty(), "precondition: the engine releases a finished event");
    let (tx, body) = chan();
    tx.send(Ok(Frame::data(Bytes::from(event)))).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        process_response(h.ctx.clone(), response(Some("text/event-stream"), body)),
    )
    .await
    .expect("no hold for event streams");
    let mut b = out.into_body();
    let got = tokio::time::timeout(Duration::from_secs(20), read_exactly(&mut b, want.len()))
        .await
        .expect("events flow without waiting for the next one");
    assert_eq!(got, want);
    drop(tx);
}

#[tokio::test]
async fn trailers_pass_through() {
    let h = harness("hold_window_bytes = 0");
    let (tx, body) = chan();
    tx.send(Ok(Frame::data(Bytes::from_static(b"body")))).unwrap();
    let mut t = HeaderMap::new();
    t.insert("x-checksum", HeaderValue::from_static("abc"));
    tx.send(Ok(Frame::trailers(t))).unwrap();
    drop(tx);
    let out = process_response(h.ctx.clone(), response(Some("text/plain"), body)).await;
    let (data, trailers) = collect(out).await.unwrap();
    assert_eq!(data, "body");
    assert_eq!(trailers.unwrap()["x-checksum"], "abc");
}

#[tokio::test]
async fn etag_and_digests_follow_what_is_known() {
    // Ends inside the window unmodified: validators stay.
    let h = harness("");
    let mut resp = response(Some("text/plain"), chunks([b"clean".to_vec()]));
    resp.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"v1\""));
    resp.headers_mut().insert("content-md5", HeaderValue::from_static("xyz"));
    let out = process_response(h.ctx.clone(), resp).await;
    assert_eq!(out.headers()[header::ETAG], "\"v1\"");
    assert!(out.headers().contains_key("content-md5"));

    // Streamed past the window: it may still change, so it is weakened.
    let h = harness("hold_window_bytes = 0");
    let mut resp = response(Some("text/plain"), chunks([b"clean".to_vec()]));
    resp.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"v1\""));
    resp.headers_mut().insert("content-md5", HeaderValue::from_static("xyz"));
    resp.headers_mut().insert("digest", HeaderValue::from_static("sha-256=xyz"));
    let out = process_response(h.ctx.clone(), resp).await;
    assert_eq!(out.headers()[header::ETAG], "W/\"v1\"");
    assert!(!out.headers().contains_key("content-md5"));
    assert!(!out.headers().contains_key("digest"));
}

#[tokio::test]
async fn monitor_mode_is_byte_identical_with_headers_untouched() {
    let h = harness("mode = \"monitor\"\nactions = { card = \"redact\" }");
    let data = encode_all(Coding::Br, &text(50_000));
    let mut resp = response(Some("text/html"), chunks(data.chunks(333).map(<[u8]>::to_vec)));
    resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
    resp.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"v1\""));
    let out = process_response(h.ctx.clone(), resp).await;
    assert_eq!(out.headers()[header::CONTENT_LENGTH], data.len().to_string().as_str());
    assert_eq!(out.headers()[header::ETAG], "\"v1\"");
    assert_eq!(collect(out).await.unwrap().0, data);
    assert_eq!(metric(&h.metrics, "leakwarden_scan_bytes_total{route=\"r\"}"), 50_000);
}

#[test]
fn prepare_request_strips_range_and_filters_codings() {
    let p = Policy::default_policy();
    let (mut parts, ()) = http::Request::builder()
        .header(header::RANGE, "bytes=0-99")
        .header(header::IF_RANGE, "\"v1\"")
        .header(header::ACCEPT_ENCODING, "gzip;q=1.0, compress, br, *;q=0.1, zstd")
        .body(())
        .unwrap()
        .into_parts();
    prepare_request(&p, &mut parts);
    assert!(!parts.headers.contains_key(header::RANGE));
    assert!(!parts.headers.contains_key(header::IF_RANGE));
    assert_eq!(parts.headers[header::ACCEPT_ENCODING], "gzip;q=1.0, br, zstd");

    let (mut parts, ()) = http::Request::builder()
        .header(header::ACCEPT_ENCODING, "compress, sdch")
        .body(())
        .unwrap()
        .into_parts();
    prepare_request(&p, &mut parts);
    assert_eq!(parts.headers[header::ACCEPT_ENCODING], "identity");

    let section: PolicySection =
        toml::from_str("accept_encoding = \"identity\"\nstrip_range = false").unwrap();
    let p = Policy::build("i", &section, &DetectSection::default()).unwrap();
    let (mut parts, ()) = http::Request::builder()
        .header(header::RANGE, "bytes=0-99")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(())
        .unwrap()
        .into_parts();
    prepare_request(&p, &mut parts);
    assert_eq!(parts.headers[header::RANGE], "bytes=0-99");
    assert_eq!(parts.headers[header::ACCEPT_ENCODING], "identity");
}

/// Runs one body through the pipeline on a fresh runtime and returns the
/// decoded client body.
fn run_split(policy: &str, coding: Option<Coding>, body: &[u8], splits: &[usize]) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let h = harness(policy);
        let wire = match coding {
            Some(c) => encode_all(c, body),
            None => body.to_vec(),
        };
        let mut cuts: Vec<usize> = splits.iter().map(|s| s % (wire.len() + 1)).collect();
        cuts.sort_unstable();
        let mut parts = Vec::new();
        let mut last = 0;
        for c in cuts.into_iter().chain([wire.len()]) {
            parts.push(wire[last..c].to_vec());
            last = c;
        }
        let mut resp = response(Some("application/json"), chunks(parts));
        if let Some(c) = coding {
            let token = match c {
                Coding::Gzip => "gzip",
                Coding::Deflate => "deflate",
                Coding::Br => "br",
                Coding::Zstd => "zstd",
            };
            resp.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
        }
        let out = process_response(h.ctx.clone(), resp).await;
        assert_eq!(out.status(), StatusCode::OK);
        let data = collect(out).await.expect("complete body").0;
        match coding {
            Some(c) => decode_all(c, &data).expect("client can decode"),
            None => data.to_vec(),
        }
    })
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 48, ..Default::default() })]

    /// For any split of the wire bytes and any coding, the client gets what
    /// scanning the whole decoded body at once gives.
    #[test]
    fn any_split_any_coding_equals_whole_body_scan(
        seed in proptest::collection::vec(0usize..6, 1..40),
        splits in proptest::collection::vec(0usize..100_000, 0..12),
        coding in 0usize..5,
        hold in proptest::bool::ANY,
    ) {
        let pieces = [
            "{\"card\": 4111111111111111, ",
            "\"pan\": \"5500 0000 0000 0004\", ",
            "\"ssn\": \"219-09-9999\", ",
            "\"note\": \"order 1234567890123 shipped\", ",
            "\"key\": \"AKIAIOSFODNN7EXAMPLE\"}\n",
            "plain words and more plain words; ",
        ];
        let body: Vec<u8> = seed.iter().flat_map(|&i| pieces[i].bytes()).collect();
        let coding = [None, Some(Coding::Gzip), Some(Coding::Deflate), Some(Coding::Br), Some(Coding::Zstd)][coding];
        let policy = if hold { "" } else { "hold_window_bytes = 0" };
        let got = run_split(policy, coding, &body, &splits);
        let engine = Policy::default_policy().engine;
        let (want, _) = engine.scan_all(&body, crate::detect::ContentHint::Json);
        proptest::prop_assert_eq!(got, want);
    }
}
