//! The response pipeline: the one place where a response body meets the
//! detection engine. The proxy hands every upstream response to
//! [`process_response`] and sends on whatever comes back, and every
//! upstream request through [`prepare_request`].
//!
//! This module must never buffer a whole body: memory per response is
//! bounded by the engine's hold-back plus the policy's hold window. It must
//! never let an upstream byte of a blocked response reach the client, and
//! never put a matched value in a header, an error or a log.
//!
//! Layout: [`content`] (media types, from [`crate::media`]), [`codec`] decodes and
//! re-encodes content codings, [`body`] is the `http_body::Body` wrapper,
//! `transform` is the pure decode-scan-encode step inside it, `decide` the
//! policy's block decision for a finding, `report` the
//! response's metrics and audit line, [`error`] the data path's error
//! vocabulary (causes, statuses, metric labels) and [`block`] turns a
//! rejection into the generic response that replaces the upstream's.

pub mod block;
pub mod body;
pub mod codec;
mod decide;
pub mod error;
mod report;
pub mod request;
mod transform;
mod unscanned;

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use prometheus::IntCounter;

use crate::audit::AuditSink;
use crate::config::policy::{AcceptEncoding, OnError};
use crate::detect::Kind;
pub use crate::media as content;
use crate::metrics::{skip_reason, Metrics, MONITOR_ACTION};
use crate::policy::Policy;
use body::{Failure, ScanBody};
use codec::{Coding, Decoder, Encoder};
use content::MediaType;
use error::{PipelineError, Rejection, UpstreamError};
use report::AuditExtra;
use unscanned::Unscanned;

/// Boxed error of a body stream. A body that yields one makes hyper abort
/// the response (HTTP/1.1: the connection closes before the body completes;
/// HTTP/2: the stream is reset), which is how a cut response is signalled.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body type the proxy serves.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// What the pipeline knows about the exchange a response belongs to.
#[derive(Clone)]
pub struct ResponseContext {
    /// Route name from configuration (a bounded metrics label).
    pub route: Arc<str>,
    pub method: Method,
    /// Request path without the query string.
    pub path: String,
    pub request_id: crate::audit::RequestId,
    pub client: SocketAddr,
    pub policy: Arc<Policy>,
    pub metrics: Arc<Metrics>,
    pub audit: Arc<AuditSink>,
    /// The client's exfiltration budget ([`crate::exfil`]), charged with
    /// the findings when the response ends; `None` without a budget.
    pub exfil: Option<crate::exfil::Charge>,
    /// The privacy inventory's view of the request (`None`: not recorded).
    pub inventory: Option<crate::inventory::Exchange>,
    /// Where the scan summary goes for the access line (a default slot
    /// when the access log is off).
    pub access: crate::access_log::ScanSlot,
}

/// The per-route series the pipeline touches on every response, resolved
/// once per configuration (`with_label_values` hashes the labels and takes
/// the vector's lock on every call). The series themselves are the ones
/// [`Metrics::init_route`] creates at zero, so resolving them early makes
/// none appear.
pub struct RouteCounters {
    responses_scanned: IntCounter,
    scan_bytes: IntCounter,
    skipped_content_type: IntCounter,
    skipped_exempt: IntCounter,
    /// The finding counters of each kind the policy names.
    findings: Vec<(Kind, FindingCounter)>,
}

/// The series one finding of a kind increments on a route: what was done
/// (`findings_total`; `action="monitor"` in monitor mode, where nothing
/// was) and, in monitor mode only, what enforce mode would have done
/// (`monitored_findings_total`).
pub(crate) struct FindingCounter {
    taken: IntCounter,
    would: Option<IntCounter>,
}

impl FindingCounter {
    pub(crate) fn new(metrics: &Metrics, route: &str, policy: &Policy, kind: Kind) -> Self {
        let name = policy.engine.kind_name(kind);
        let action = policy.action(kind).as_str();
        if policy.monitor() {
            FindingCounter {
                taken: metrics.findings_total.with_label_values(&[route, name, MONITOR_ACTION]),
                would: Some(
                    metrics.monitored_findings_total.with_label_values(&[route, name, action]),
                ),
            }
        } else {
            FindingCounter {
                taken: metrics.findings_total.with_label_values(&[route, name, action]),
                would: None,
            }
        }
    }

    pub(crate) fn inc(&self) {
        self.taken.inc();
        if let Some(w) = &self.would {
            w.inc();
        }
    }
}

impl RouteCounters {
    pub fn new(metrics: &Metrics, route: &str, policy: &Policy) -> RouteCounters {
        let findings = policy
            .actions
            .keys()
            .map(|&kind| (kind, FindingCounter::new(metrics, route, policy, kind)))
            .collect();
        RouteCounters {
            responses_scanned: metrics.responses_scanned_total.with_label_values(&[route]),
            scan_bytes: metrics.scan_bytes_total.with_label_values(&[route]),
            skipped_content_type: metrics
                .scan_skipped_total
                .with_label_values(&[route, skip_reason::CONTENT_TYPE]),
            skipped_exempt: metrics
                .scan_skipped_total
                .with_label_values(&[route, skip_reason::EXEMPT_PATH]),
            findings,
        }
    }

    /// The resolved `findings_total` handle of a kind the policy names.
    fn finding(&self, kind: Kind) -> Option<&FindingCounter> {
        self.findings.iter().find(|(k, _)| *k == kind).map(|(_, c)| c)
    }
}

/// Codings leakwarden can decode, in the order offered upstream.
const DECODABLE: &[&str] = &["gzip", "x-gzip", "deflate", "br", "zstd", "identity"];

/// Headers that describe the exact bytes of a body; wrong once it is
/// rewritten.
const DIGEST_HEADERS: &[&str] = &["content-md5", "digest", "content-digest", "repr-digest"];

/// Adjusts the upstream request for scanning.
///
/// - `Range` and `If-Range` are dropped (policy `strip_range`, default on):
///   a range can start or end in the middle of a card number, which the
///   engine would then never see whole, and the response's type is unknown
///   when the request leaves. The client gets the full body (200), which
///   HTTP allows a server to answer to any range request.
/// - `Accept-Encoding` keeps only codings the pipeline can decode
///   (`passthrough`), or is set to `identity`.
pub fn prepare_request(policy: &Policy, parts: &mut http::request::Parts) {
    if policy.strip_range {
        parts.headers.remove(header::RANGE);
        parts.headers.remove(header::IF_RANGE);
    }
    match policy.accept_encoding {
        AcceptEncoding::Identity => {
            parts.headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        }
        AcceptEncoding::Passthrough => {
            if !parts.headers.contains_key(header::ACCEPT_ENCODING) {
                return;
            }
            let mut kept: Vec<String> = Vec::new();
            for v in parts.headers.get_all(header::ACCEPT_ENCODING) {
                let Ok(v) = v.to_str() else { continue };
                for item in v.split(',') {
                    let item = item.trim();
                    let coding = item.split(';').next().unwrap_or("").trim();
                    if DECODABLE.iter().any(|c| c.eq_ignore_ascii_case(coding)) {
                        kept.push(item.to_string());
                    }
                }
            }
            let value = if kept.is_empty() { "identity".to_string() } else { kept.join(", ") };
            let value = HeaderValue::from_str(&value)
                .unwrap_or_else(|_| HeaderValue::from_static("identity"));
            parts.headers.insert(header::ACCEPT_ENCODING, value);
        }
    }
}

/// An unscanned response: its body passes untouched, and only a failure
/// of it is counted.
fn passthrough<B>(ctx: ResponseContext, resp: Response<B>) -> Response<ProxyBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    resp.map(|b| ProxyBody::new(Unscanned::new(b, ctx.metrics, ctx.route)))
}

/// Counts a failed upstream body in `upstream_errors_total` (the caller
/// makes sure it happens once per response) and returns its cause.
pub(crate) fn count_upstream_failure(
    metrics: &Metrics,
    route: &str,
    err: &BoxError,
) -> UpstreamError {
    let e = UpstreamError::classify(&**err, false);
    metrics.upstream_errors_total.with_label_values(&[route, e.reason()]).inc();
    e
}

/// True when the response has no body to scan, whatever its headers say.
fn bodiless(method: &Method, status: StatusCode) -> bool {
    method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}

/// Turns the upstream response into the one the client gets.
///
/// Scannable responses are wrapped in a [`ScanBody`]; in enforce mode the
/// head is held until `hold_window` output bytes are ready, the body ends
/// or `hold_timeout` passes, so that a block decided by then replaces the
/// whole response with the generic block page.
///
/// This resolves the route's counters for this one response; the proxy
/// keeps them per configuration and calls [`process_response_with`].
pub async fn process_response<B>(ctx: ResponseContext, resp: Response<B>) -> Response<ProxyBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let counters = Arc::new(RouteCounters::new(&ctx.metrics, &ctx.route, &ctx.policy));
    process_response_with(ctx, counters, resp).await
}

/// [`process_response`] with the route's counters already resolved
/// (`counters` must belong to `ctx.route` and `ctx.policy`).
pub async fn process_response_with<B>(
    ctx: ResponseContext,
    counters: Arc<RouteCounters>,
    resp: Response<B>,
) -> Response<ProxyBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let policy = ctx.policy.clone();
    let status = resp.status();
    if bodiless(&ctx.method, status) {
        return passthrough(ctx, resp);
    }
    if policy.exempt(&ctx.path) {
        counters.skipped_exempt.inc();
        return passthrough(ctx, resp);
    }
    // No Content-Type, or one that does not parse: scan it anyway, the
    // fail-closed choice (sniffing is not worth its surprises).
    let media = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(MediaType::parse);
    if let Some(mt) = &media {
        if !content::any_match(&policy.content_types, mt) {
            counters.skipped_content_type.inc();
            return passthrough(ctx, resp);
        }
    }
    let hint = media.as_ref().map(MediaType::hint).unwrap_or_default();
    let streaming = media.as_ref().is_some_and(|mt| content::any_match(&policy.stream_types, mt));

    let coding = match codec::content_coding(resp.headers()) {
        Ok(c) => c,
        // Unknown or stacked: the same answer either way.
        Err(_) => return unknown_coding(ctx, resp),
    };
    let (decoder, encoder) = match coding.map(|c| coders(c, &policy)).transpose() {
        Ok(Some((d, e))) => (Some(d), Some(e)),
        Ok(None) => (None, None),
        Err(_) => return unknown_coding(ctx, resp),
    };

    let (mut parts, upstream) = resp.into_parts();
    // The body owns the context from here on (no per-response copy of it).
    let mut body = Box::pin(ScanBody::new(upstream, ctx, counters, status, hint, decoder, encoder));
    if policy.monitor() {
        // Monitor mode sends the upstream bytes as they are: no header
        // changes, no hold.
        body.as_mut().state_mut().headers_sent = true;
        return Response::from_parts(parts, ProxyBody::new(body));
    }

    if !streaming && policy.hold_window > 0 {
        let window = policy.hold_window;
        let fill = poll_fn(|cx| body.as_mut().poll_fill(cx, window));
        // A timeout only means the window did not fill in time: send the
        // head and keep streaming.
        let _ = tokio::time::timeout(policy.hold_timeout, fill).await;
    }

    let st = body.state();
    let ctx = st.ctx();
    let rejection = match st.failure() {
        Some(Failure::Pipeline(e)) => Some(Rejection::Blocked(e, ctx.policy.block_status)),
        // The upstream died mid-body before the head went out: a clean
        // 502 rather than a cut 200 (the body counted the failure).
        Some(Failure::Upstream(e)) => Some(Rejection::Upstream(e)),
        None => None,
    };
    if let Some(r) = rejection {
        return block::reply(r, ctx.request_id.as_str());
    }

    let h = &mut parts.headers;
    if st.done() {
        // The whole body is known: its exact length and whether it changed.
        if st.has_trailers() {
            h.remove(header::CONTENT_LENGTH);
        } else {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(st.queued_bytes()));
        }
        if st.modified() {
            rewritten_headers(h);
        }
    } else {
        if coding.is_some() || !policy.length_preserving() {
            h.remove(header::CONTENT_LENGTH);
        }
        // Any later finding may still rewrite the body.
        rewritten_headers(h);
    }
    body.as_mut().state_mut().headers_sent = true;
    Response::from_parts(parts, ProxyBody::new(body))
}

/// A body that is (or may be) rewritten no longer matches validators and
/// digests of the upstream bytes: a strong ETag becomes weak (the content is
/// semantically the same document, not byte-identical) and digests go.
fn rewritten_headers(h: &mut http::HeaderMap) {
    if let Some(etag) = h.get(header::ETAG) {
        let b = etag.as_bytes();
        if !b.starts_with(b"W/") {
            let mut weak = Vec::with_capacity(b.len() + 2);
            weak.extend_from_slice(b"W/");
            weak.extend_from_slice(b);
            match HeaderValue::from_bytes(&weak) {
                Ok(v) => {
                    h.insert(header::ETAG, v);
                }
                Err(_) => {
                    h.remove(header::ETAG);
                }
            }
        }
    }
    for name in DIGEST_HEADERS {
        h.remove(*name);
    }
}

fn coders(c: Coding, policy: &Policy) -> std::io::Result<(Decoder, Encoder)> {
    Ok((Decoder::new(c, policy.max_decoded_bytes, policy.max_ratio)?, Encoder::new(c)?))
}

/// A scannable response whose coding cannot be decoded: fail closed (the
/// block page), or pass it untouched with `on_error = "fail_open"` or in
/// monitor mode.
fn unknown_coding<B>(ctx: ResponseContext, resp: Response<B>) -> Response<ProxyBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let e = PipelineError::UnknownEncoding;
    if let Some(reason) = e.error_reason() {
        ctx.metrics.scan_errors_total.with_label_values(&[&ctx.route, reason]).inc();
    }
    if ctx.policy.monitor() || ctx.policy.on_error == OnError::FailOpen {
        return passthrough(ctx, resp);
    }
    blocked_without_body(&ctx, e)
}

/// A client over its exfiltration budget ([`crate::exfil`]): the block page
/// instead of calling the upstream.
pub fn budget_block(ctx: &ResponseContext) -> Response<ProxyBody> {
    blocked_without_body(ctx, PipelineError::ExfilBudget)
}

/// The block page for a response decided before any body byte was read,
/// counted and audited under the error's block reason.
fn blocked_without_body(ctx: &ResponseContext, e: PipelineError) -> Response<ProxyBody> {
    let reason = e.block_reason(false);
    ctx.metrics.responses_blocked_total.with_label_values(&[&ctx.route, reason]).inc();
    ctx.access.set(crate::access_log::ScanSummary { blocked: Some(reason), ..Default::default() });
    report::write_audit(
        ctx,
        ctx.policy.block_status.as_u16(),
        AuditExtra {
            counts: Default::default(),
            actions: Default::default(),
            would_actions: Default::default(),
            fingerprints: &[],
            truncated: false,
            blocked: Some(reason),
            would_block: None,
            complete: false,
            side: None,
        },
    );
    block::reply(Rejection::Blocked(e, ctx.policy.block_status), ctx.request_id.as_str())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_engine;
