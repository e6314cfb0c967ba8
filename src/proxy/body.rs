//! The proxy's own body wrappers, one job each:
//!
//! - [`Observed`], the outermost response body: enforces the whole-request
//!   deadline while the body streams and records the request duration when
//!   the body ends. It passes frames through untouched; an expired deadline
//!   becomes a body error, which makes hyper abort the response rather than
//!   end it cleanly, and, when the body was waiting on the upstream, counts
//!   as an upstream `timeout` (a deadline that passes while a slow client
//!   drains the body is not the upstream's failure). It also carries the
//!   request's access record ([`crate::access_log::Finished`]): it counts
//!   the bytes sent, marks when the body ended, and the record writes its
//!   line when dropped.
//! - [`RequestBody`], the client's request body on its way upstream: it
//!   passes frames through and remembers whether the client's body itself
//!   failed, so that a malformed request body is answered as the client's
//!   fault (400) rather than as an upstream failure. It counts the bytes
//!   received for the access log.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::route_metrics::RouteMetrics;
use crate::pipeline::error::UpstreamError;
use crate::pipeline::{BoxError, ProxyBody};
use prometheus::Histogram;

/// The body error when the whole-request deadline passes mid-body.
#[derive(Debug, thiserror::Error)]
#[error("request timeout while streaming the response")]
pub struct DeadlineExceeded;

/// Observes `request_duration_seconds` once, when dropped (the body ended,
/// failed, or the client went away).
struct Timing {
    /// The route's series, resolved once per configuration.
    duration: Histogram,
    start: Instant,
}

impl Drop for Timing {
    fn drop(&mut self) {
        self.duration.observe(self.start.elapsed().as_secs_f64());
    }
}

pin_project! {
    /// See the module docs.
    pub struct Observed {
        #[pin]
        inner: ProxyBody,
        deadline: Option<Pin<Box<Sleep>>>,
        timing: Option<Timing>,
        // Where an upstream timeout is counted; set with a deadline.
        route: Option<Arc<RouteMetrics>>,
        // The inner body's last answer was `Pending`: the stream waits on
        // the upstream, not on the client.
        waiting: bool,
        // Last: dropped after `inner`, so the pipeline has handed over its
        // scan summary when the access line is written.
        access: Option<crate::access_log::Finished>,
    }
}

impl Observed {
    /// Wraps a response body of the route `rm`; `deadline` is set for
    /// upstream bodies only.
    pub fn new(
        inner: ProxyBody,
        deadline: Option<tokio::time::Instant>,
        rm: &Arc<RouteMetrics>,
        start: Instant,
        mut access: Option<crate::access_log::Finished>,
    ) -> Observed {
        // hyper never polls a body that says it is over (an empty one).
        if let (Some(a), true) = (access.as_mut(), inner.is_end_stream()) {
            a.ended(true);
        }
        Observed {
            inner,
            timing: Some(Timing { duration: rm.request_duration.clone(), start }),
            route: deadline.map(|_| rm.clone()),
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
            waiting: false,
            access,
        }
    }
}

impl Body for Observed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        if let Some(deadline) = this.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                this.timing.take();
                *this.deadline = None;
                if let Some(rm) = this.route.take().filter(|_| *this.waiting) {
                    let e = UpstreamError::Timeout;
                    rm.metrics()
                        .upstream_errors_total
                        .with_label_values(&[&rm.route, e.reason()])
                        .inc();
                }
                if let Some(a) = this.access.as_mut() {
                    a.ended(false);
                }
                return Poll::Ready(Some(Err(Box::new(DeadlineExceeded))));
            }
        }
        let mut inner = this.inner;
        let polled = inner.as_mut().poll_frame(cx);
        *this.waiting = polled.is_pending();
        match &polled {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                this.timing.take();
                *this.deadline = None;
                if let Some(a) = this.access.as_mut() {
                    a.ended(matches!(polled, Poll::Ready(None)));
                }
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(a) = this.access.as_mut() {
                    if let Some(data) = frame.data_ref() {
                        a.sent(data.len());
                    }
                    // hyper stops polling once the body says it is over.
                    if inner.is_end_stream() {
                        a.ended(true);
                    }
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// See the module docs.
    pub struct RequestBody {
        #[pin]
        inner: Incoming,
        failed: Arc<AtomicBool>,
        received: Option<Arc<AtomicU64>>,
    }
}

/// Tells whether a [`RequestBody`] failed (the client's fault: a
/// malformed chunk, a body cut short).
#[derive(Clone, Default)]
pub struct ClientBodyFailed(Arc<AtomicBool>);

impl ClientBodyFailed {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl RequestBody {
    pub fn new(inner: Incoming) -> (RequestBody, ClientBodyFailed) {
        let flag = ClientBodyFailed::default();
        (RequestBody { inner, failed: flag.0.clone(), received: None }, flag)
    }

    /// Adds the data bytes received to `counter` (the access log's
    /// `bytes_in`).
    pub fn count_into(mut self, counter: Arc<AtomicU64>) -> RequestBody {
        self.received = Some(counter);
        self
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Err(_))) => this.failed.store(true, Ordering::Relaxed),
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(c), Some(data)) = (this.received.as_ref(), frame.data_ref()) {
                    c.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
