//! One proxied exchange: route, rewrite headers, call the upstream with
//! timeouts, hand the response to the pipeline, count it. Bodies are never
//! read here: the request body streams to the upstream as it arrives, the
//! response body streams through [`crate::pipeline::process_response`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::header::{HeaderValue, HOST};
use http::uri::PathAndQuery;
use http::{Request, Response, Uri};
use hyper::body::Incoming;

use super::body::{Observed, RequestBody};
use super::headers::{self, X_REQUEST_ID};
use super::route_metrics::{method_index, RouteMetrics};
use super::{route, Proxy};
use crate::access_log;
use crate::pipeline::error::{ClientError, PipelineError, Rejection, UpstreamError};
use crate::pipeline::{self, block, ProxyBody, ResponseContext};

pub use crate::metrics::UNROUTED;

/// What the accept loop knows about the client connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    /// `"http"` or `"https"`: the scheme the client used to reach us.
    pub proto: &'static str,
    /// The negotiated TLS version (`TLSv1.3`...), `None` for plain HTTP.
    pub tls: Option<&'static str>,
}

/// Serves one request. Never fails: every error becomes a response.
pub async fn handle(
    proxy: Arc<Proxy>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Result<Response<Observed>, std::convert::Infallible> {
    let start = Instant::now();
    // One snapshot for the whole exchange: a reload never changes the rules
    // under an in-flight response.
    let snap = proxy.snapshot();
    let rt = &snap.runtime;
    let limits = &rt.limits;
    let deadline = limits.request_timeout.map(|t| tokio::time::Instant::from_std(start) + t);
    let metrics = proxy.metrics().clone();

    let (mut parts, body) = req.into_parts();
    let method = method_index(&parts.method);
    let request_id = headers::request_id(&mut parts.headers);
    // Only a table with host-specific routes needs the host.
    let host = if route::needs_host(&rt.routes) { route::request_host(&parts) } else { None };

    // `deadline` applies to upstream bodies only: a local response is
    // complete and small, and must not be cut by a deadline that produced it.
    let finish = |rm: &Arc<RouteMetrics>,
                  resp: Response<ProxyBody>,
                  upstream_body: bool,
                  access: Option<access_log::Entry>| {
        rm.count_request(method, resp.status());
        let deadline = if upstream_body { deadline } else { None };
        let access = access.map(|a| a.finished(resp.status().as_u16()));
        resp.map(|b| Observed::new(b, deadline, rm, start, access))
    };
    // The access line (src/access_log), written when the body sent ends.
    // Masks what the client sent before it reaches a log line.
    let log_engine = &rt.policies[crate::app::DEFAULT_POLICY].engine;
    let mut access = rt.access_log.start(
        &metrics,
        log_engine,
        start,
        &parts.method,
        parts.uri.path(),
        parts.version,
        &parts.headers,
        &request_id,
        conn.peer,
        conn.tls,
    );

    let Some(route_index) = route::select_index(&rt.routes, host.as_deref(), parts.uri.path())
    else {
        tracing::debug!(request_id = %request_id.for_log(log_engine), "no route");
        let resp = block::reply(Rejection::NoRoute, request_id.as_str());
        return Ok(finish(&snap.unrouted, resp, false, access));
    };
    let route = &rt.routes[route_index];
    let rm = &snap.route_metrics[route_index];
    let path = parts.uri.path().to_string();
    let route_name = route.name.clone();
    let inventory =
        proxy.inventory().map(|i| i.exchange(&route_name, &parts, conn.proto == "https"));
    let upstream = &rt.upstreams[route.upstream];
    let client = &snap.clients[route.upstream];
    if let Some(a) = access.as_mut() {
        a.route(route_name.clone(), &route.policy.engine);
    }

    // Rewrite the request for the upstream.
    let client_version = parts.version;
    let original_host: Option<HeaderValue> = match parts.uri.authority() {
        Some(a) => HeaderValue::from_str(a.as_str()).ok(),
        None => parts.headers.get(HOST).cloned(),
    };
    headers::remove_hop_by_hop(&mut parts.headers);
    // hyper answers `Expect: 100-continue` itself when the body is polled.
    parts.headers.remove(http::header::EXPECT);
    headers::set_forwarded(
        &mut parts.headers,
        conn.peer.ip(),
        conn.proto,
        original_host.as_ref().and_then(|h| h.to_str().ok()),
    );
    headers::append_via(&mut parts.headers, client_version);
    parts.headers.remove(HOST);
    let host_value = match (upstream.preserve_host, original_host) {
        (true, Some(h)) => h,
        _ => HeaderValue::from_str(upstream.authority.as_str()).expect("valid authority"),
    };
    // HTTP/2 carries the host in :authority, HTTP/1.1 in Host.
    if !upstream.h2 {
        parts.headers.insert(HOST, host_value.clone());
    }
    let pq = parts.uri.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));
    let authority = if upstream.h2 && upstream.preserve_host {
        host_value.to_str().ok().and_then(|h| h.parse().ok()).unwrap_or(upstream.authority.clone())
    } else {
        upstream.authority.clone()
    };
    parts.uri = Uri::builder()
        .scheme(upstream.scheme.clone())
        .authority(authority)
        .path_and_query(pq)
        .build()
        .expect("scheme, authority and path are valid");
    parts.version = if upstream.h2 { http::Version::HTTP_2 } else { http::Version::HTTP_11 };
    pipeline::prepare_request(&route.policy, &mut parts);
    // Shared, not re-parsed, for the response header.
    let request_id_value = parts.headers.get(&X_REQUEST_ID).cloned();
    // Exfiltration budget (src/exfil): the client's count is read before
    // the upstream is called (bounded by `read_timeout`); the response's
    // findings are charged to it when the response ends.
    let exfil = proxy.exfil().check(&route.policy, &parts.headers, conn.peer.ip()).await;

    let ctx = ResponseContext {
        route: route_name.clone(),
        method: parts.method.clone(),
        path,
        request_id: request_id.clone(),
        client: conn.peer,
        policy: route.policy.clone(),
        metrics: metrics.clone(),
        audit: snap.audit.clone(),
        exfil,
        inventory,
        access: access.as_ref().map(access_log::Entry::scan_slot).unwrap_or_default(),
    };
    // Over budget with `action = "block"`: the block page, upstream untouched.
    if ctx.exfil.as_ref().is_some_and(|c| c.blocks()) {
        return Ok(finish(rm, pipeline::budget_block(&ctx), false, access));
    }

    let (body, client_body_failed) = RequestBody::new(body);
    let body = match &mut access {
        Some(a) => {
            a.upstream(upstream.authority.to_string());
            body.count_into(a.bytes_in())
        }
        None => body,
    };
    // The request side (src/pipeline/request): the query string and the
    // body through the engine; a blocked value never reaches the upstream.
    let (mut body, verdict) = match pipeline::request::start(&ctx, &parts, body) {
        Ok(b) => b,
        Err(resp) => return Ok(finish(rm, *resp, false, access)),
    };
    if let Some(resp) = body.hold().await {
        return Ok(finish(rm, resp, false, access));
    }

    let upstream_start = Instant::now();
    let mut header_deadline = tokio::time::Instant::now() + limits.response_header_timeout;
    if let Some(d) = deadline {
        header_deadline = header_deadline.min(d);
    }
    let sent =
        tokio::time::timeout_at(header_deadline, client.request(Request::from_parts(parts, body)))
            .await;
    // The body aborted the upstream request before a value went out: the
    // block page, whatever the upstream managed to say.
    if verdict.blocked() {
        let e = Rejection::Blocked(PipelineError::BlockedKind, route.policy.block_status);
        return Ok(finish(rm, block::reply(e, request_id.as_str()), false, access));
    }
    let result = match sent {
        Ok(Ok(resp)) => Ok(resp),
        // The client's own body broke (a malformed chunk, a cut): its
        // fault, not the upstream's.
        Ok(Err(_)) if client_body_failed.get() => {
            let e = ClientError::RequestBody;
            metrics.client_errors_total.with_label_values(&[&route_name, e.reason()]).inc();
            tracing::debug!(
                request_id = %request_id.for_log(log_engine),
                route = &*route_name,
                "malformed client request body"
            );
            let resp = block::reply(Rejection::Client(e), request_id.as_str());
            return Ok(finish(rm, resp, false, access));
        }
        Ok(Err(e)) => Err(client.classify(&e)),
        Err(_elapsed) => Err(UpstreamError::Timeout),
    };
    let resp = match result {
        Ok(resp) => resp,
        Err(failure) => {
            metrics.upstream_errors_total.with_label_values(&[&route_name, failure.reason()]).inc();
            tracing::warn!(
                request_id = %request_id.for_log(log_engine),
                route = &*route_name,
                upstream = upstream.name,
                reason = failure.reason(),
                "upstream failed before response headers"
            );
            let resp = block::reply(Rejection::Upstream(failure), request_id.as_str());
            return Ok(finish(rm, resp, false, access));
        }
    };
    rm.upstream_duration.observe(upstream_start.elapsed().as_secs_f64());
    if let Some(a) = access.as_mut() {
        a.upstream_responded(upstream_start.elapsed());
    }

    let (mut rparts, rbody) = resp.into_parts();
    headers::transfer_codings_as_content_coding(&mut rparts.headers);
    headers::remove_hop_by_hop(&mut rparts.headers);
    headers::append_via(&mut rparts.headers, rparts.version);
    // The client connection has its own version; hyper picks the wire
    // format from the connection, but an HTTP/1.0 upstream must not turn
    // an HTTP/1.1 client's response into a close-delimited 1.0 one.
    rparts.version = http::Version::default();
    if !rparts.headers.contains_key(&X_REQUEST_ID) {
        if let Some(v) = request_id_value {
            rparts.headers.insert(X_REQUEST_ID.clone(), v);
        }
    }
    // The pipeline may hold the head while its window fills: that wait
    // counts against the whole-request deadline too.
    let counters = snap.route_counters[route_index].clone();
    let processed =
        pipeline::process_response_with(ctx, counters, Response::from_parts(rparts, rbody));
    let resp = match deadline {
        None => processed.await,
        Some(d) => match tokio::time::timeout_at(d, processed).await {
            Ok(resp) => resp,
            Err(_elapsed) => {
                let failure = UpstreamError::Timeout;
                metrics
                    .upstream_errors_total
                    .with_label_values(&[&route_name, failure.reason()])
                    .inc();
                let resp = block::reply(Rejection::Upstream(failure), request_id.as_str());
                return Ok(finish(rm, resp, false, access));
            }
        },
    };
    Ok(finish(rm, resp, true, access))
}
