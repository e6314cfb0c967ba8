//! The generic pages that replace a response: the block page (policy
//! status, default 403) and the 502 for an upstream body that failed before
//! the head was sent.
//!
//! They must never carry an upstream byte or say what was found: only a
//! fixed text and the request id, so that support can find the audit line.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};

use super::ProxyBody;
use crate::policy::Policy;

fn page_with(status: StatusCode, text: String) -> Response<ProxyBody> {
    let body = Bytes::from(text);
    let mut resp =
        Response::new(Full::new(body.clone()).map_err(|never| match never {}).boxed_unsync());
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    resp
}

/// Keeps a request id printable and short: it may come from a client.
fn safe_id(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || "-_.:".contains(*c)).take(64).collect()
}

/// The page that replaces a blocked response.
pub fn page(policy: &Policy, request_id: &str) -> Response<ProxyBody> {
    let status = policy.block_status;
    let text = format!(
        "{} {}\nThis response was blocked because it contained data that must not leave this site.\nRequest ID: {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Blocked"),
        safe_id(request_id)
    );
    let mut resp = page_with(status, text);
    if let Ok(v) = HeaderValue::from_str(&safe_id(request_id)) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// The page for an upstream body that failed before the head was sent.
/// Same body as the proxy's own 502.
pub fn bad_gateway(request_id: &str) -> Response<ProxyBody> {
    let mut resp = page_with(StatusCode::BAD_GATEWAY, "bad gateway\n".to_string());
    if let Ok(v) = HeaderValue::from_str(&safe_id(request_id)) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}
