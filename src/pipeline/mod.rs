//! The response pipeline: the one place where a response body meets the
//! detection engine. The proxy hands every upstream response to
//! [`process_response`] and sends on whatever comes back.
//!
//! This module must never buffer a whole body: memory per response is
//! bounded by the engine's hold-back plus the policy's hold window.
//!
//! SKELETON: the identity until the response-pipeline issue lands.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;

use crate::audit::AuditSink;
use crate::metrics::Metrics;
use crate::policy::Policy;

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
    pub request_id: String,
    pub client: SocketAddr,
    pub policy: Arc<Policy>,
    pub metrics: Arc<Metrics>,
    pub audit: Arc<AuditSink>,
}

/// Adjusts the upstream request for scanning (for example drops `Range` on
/// scannable types, asks for identity encoding when configured).
pub fn prepare_request(_policy: &Policy, _parts: &mut http::request::Parts) {}

/// Turns the upstream response into the one the client gets.
pub async fn process_response<B>(_ctx: ResponseContext, resp: Response<B>) -> Response<ProxyBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    resp.map(|b| b.map_err(Into::into).boxed_unsync())
}
