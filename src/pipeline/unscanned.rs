//! [`Unscanned`]: the body wrapper of a response the pipeline does not scan
//! (bodiless, exempt path, a type outside `content_types`, an undecodable
//! coding passed on by `fail_open` or monitor mode). Frames pass through
//! untouched, without a copy; its one job is to count a failure of the
//! upstream body in `leakwarden_upstream_errors_total`, once, as
//! [`super::ScanBody`] does for scanned bodies.
//!
//! It never reads, keeps or logs a body byte.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::BoxError;
use crate::metrics::Metrics;

pin_project! {
    /// See the module docs.
    pub struct Unscanned<B> {
        #[pin]
        inner: B,
        // Taken by the first failure: a body counts at most once.
        count: Option<(Arc<Metrics>, Arc<str>)>,
    }
}

impl<B> Unscanned<B> {
    /// Wraps an upstream body of `route`.
    pub fn new(inner: B, metrics: Arc<Metrics>, route: Arc<str>) -> Unscanned<B> {
        Unscanned { inner, count: Some((metrics, route)) }
    }
}

impl<B> Body for Unscanned<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        match ready!(this.inner.poll_frame(cx)) {
            Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
            Some(Err(e)) => {
                let e: BoxError = e.into();
                if let Some((metrics, route)) = this.count.take() {
                    super::count_upstream_failure(&metrics, &route, &e);
                }
                Poll::Ready(Some(Err(e)))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
