//! The generic responses the guard sends instead of an upstream's: the one
//! place a [`Rejection`] becomes a response (no route, a client error, an
//! upstream failure before the head, a blocked response).
//!
//! They must never carry an upstream byte or say what was found: only a
//! fixed text and the request id, so that support can find the audit line.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};

use super::error::{Rejection, UpstreamError};
use super::ProxyBody;

/// Keeps a request id printable and short for the page text.
fn safe_id(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || "-_.:".contains(*c)).take(64).collect()
}

/// The response for a rejection. `request_id` is the exchange's id
/// (already checked printable by the proxy), echoed in `x-request-id`.
pub fn reply(rejection: Rejection, request_id: &str) -> Response<ProxyBody> {
    let (status, text) = match rejection {
        Rejection::NoRoute => (StatusCode::NOT_FOUND, "no route\n".to_string()),
        Rejection::Client(_) => (StatusCode::BAD_REQUEST, "bad request\n".to_string()),
        Rejection::Upstream(e) => (
            e.status(),
            match e {
                UpstreamError::Timeout => "gateway timeout\n",
                _ => "bad gateway\n",
            }
            .to_string(),
        ),
        Rejection::Blocked(_, block_status) => (
            block_status,
            format!(
                "{} {}\nThis response was blocked because it contained data that must not leave this site.\nRequest ID: {}\n",
                block_status.as_u16(),
                block_status.canonical_reason().unwrap_or("Blocked"),
                safe_id(request_id)
            ),
        ),
    };
    let body = Bytes::from(text);
    let len = body.len();
    let mut resp = Response::new(Full::new(body).map_err(|never| match never {}).boxed_unsync());
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-request-id", v);
    }
    resp
}
