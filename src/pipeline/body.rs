//! [`ScanBody`]: the one `http_body::Body` wrapper through which a scanned
//! response flows. It pulls upstream frames, decodes them, feeds the
//! detection scanner, re-encodes and yields what is final; trailers pass
//! through after the last data.
//!
//! It never holds more than the engine's hold-back, one decoded step and
//! the frames queued for the hold window. A block decided after the
//! headers went out is signalled by yielding an error, which makes hyper
//! abort the response: the client never sees a complete-looking response
//! that was cut. It never puts a matched value in an error, a log or an
//! audit line.
//!
//! What it does not do itself: the block decision is [`super::decide`]'s,
//! metrics and the audit line are [`super::report`]'s.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::codec::{CodecError, Decoder, Encoder};
use super::decide;
pub use super::error::PipelineError;
use super::error::UpstreamError;
use super::report::Report;
use super::transform::{Events, Limit, Transform};
use super::{BoxError, ResponseContext, RouteCounters};
use crate::audit::MAX_FINGERPRINTS;
use crate::config::policy::OverLimit;
use crate::detect::{ContentHint, Finding, Scanner};

impl From<CodecError> for PipelineError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Corrupt => PipelineError::Decode,
            CodecError::Bomb => PipelineError::Bomb,
        }
    }
}

/// How a scanned body ended badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The pipeline decided to block or cut.
    Pipeline(PipelineError),
    /// The upstream body itself failed (counted in `upstream_errors_total`
    /// when it happened).
    Upstream(UpstreamError),
}

enum Phase {
    Running,
    /// The one failure state: why, and the error the body still has to
    /// yield (taken once).
    Failed(Failure, Option<BoxError>),
    Done,
}

/// Everything a scanned body owns besides the upstream body.
pub(crate) struct ScanState {
    ctx: ResponseContext,
    status: StatusCode,
    enforce: bool,
    /// Decode, scan, re-encode.
    transform: Transform,
    queue: VecDeque<Frame<Bytes>>,
    queued_bytes: usize,
    trailers: Option<HeaderMap>,
    phase: Phase,
    pub(crate) headers_sent: bool,
    /// Metrics and the audit line of this response.
    report: Report,
}

pin_project! {
    /// A response body on its way through the detection engine.
    pub struct ScanBody<B> {
        #[pin]
        inner: B,
        st: ScanState,
    }
}

impl<B> ScanBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    /// Wraps an upstream body. `decoder` and `encoder` come as a pair for a
    /// coded body (the encoder is unused in monitor mode).
    pub(crate) fn new(
        inner: B,
        ctx: ResponseContext,
        counters: Arc<RouteCounters>,
        status: StatusCode,
        hint: ContentHint,
        decoder: Option<Decoder>,
        encoder: Option<Encoder>,
    ) -> ScanBody<B> {
        let enforce = !ctx.policy.monitor();
        let mut scanner = Scanner::new(ctx.policy.engine.clone(), hint);
        // The audit line lists the first MAX_FINGERPRINTS distinct: past
        // them the report uses none, so none are made.
        scanner.limit_fingerprints(MAX_FINGERPRINTS);
        let observer =
            ctx.inventory.as_ref().map(|x| x.observer(hint, ctx.policy.engine.max_hold()));
        let limit = Limit {
            bytes: ctx.policy.scan_limit,
            block: ctx.policy.over_limit == OverLimit::Block,
        };
        ScanBody {
            inner,
            st: ScanState {
                ctx,
                status,
                enforce,
                transform: Transform::new(scanner, decoder, encoder, enforce, limit),
                queue: VecDeque::new(),
                queued_bytes: 0,
                trailers: None,
                phase: Phase::Running,
                headers_sent: false,
                report: Report::new(counters, observer),
            },
        }
    }

    /// Pulls upstream until `window` output bytes are queued, the body ends
    /// or it fails. Used to hold the response head.
    pub(crate) fn poll_fill(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        window: usize,
    ) -> Poll<()> {
        loop {
            let st = &self.st;
            if st.queued_bytes >= window || !matches!(st.phase, Phase::Running) {
                return Poll::Ready(());
            }
            ready!(self.as_mut().poll_advance(cx));
        }
    }

    /// Polls upstream once and processes what it yields.
    fn poll_advance(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let st = this.st;
        match ready!(this.inner.as_mut().poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    if let Err(e) = st.on_data(data) {
                        st.on_error(e);
                    }
                    // A body framed by its length ends with its last byte:
                    // hyper may never be asked for the `None` after it (an
                    // HTTP/1.1 client connection stops polling once the
                    // Content-Length is written), so the end is handled now.
                    if this.inner.is_end_stream() && matches!(st.phase, Phase::Running) {
                        st.end();
                    }
                }
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        match &mut st.trailers {
                            Some(have) => have.extend(t),
                            None => st.trailers = Some(t),
                        }
                    }
                }
            },
            Some(Err(e)) => st.fail_upstream(e.into()),
            None => st.end(),
        }
        Poll::Ready(())
    }

    pub(crate) fn state(&self) -> &ScanState {
        &self.st
    }

    pub(crate) fn state_mut(self: Pin<&mut Self>) -> &mut ScanState {
        self.project().st
    }
}

impl ScanState {
    /// The exchange this body belongs to.
    pub(crate) fn ctx(&self) -> &ResponseContext {
        &self.ctx
    }

    /// True once the upstream body ended and everything is queued.
    pub(crate) fn done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    pub(crate) fn failure(&self) -> Option<Failure> {
        match self.phase {
            Phase::Failed(f, _) => Some(f),
            _ => None,
        }
    }

    /// True when some output differs from the input (known for sure only
    /// once the body is done).
    pub(crate) fn modified(&self) -> bool {
        self.report.modified()
    }

    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    pub(crate) fn has_trailers(&self) -> bool {
        self.trailers.is_some() || self.queue.iter().any(|f| f.is_trailers())
    }

    fn push(&mut self, data: Bytes) {
        push(&mut self.queue, &mut self.queued_bytes, data);
    }

    /// The transform and, borrowed beside it, where its events go.
    fn split(&mut self) -> (&mut Transform, Sink<'_>) {
        let sink = Sink {
            ctx: &self.ctx,
            report: &mut self.report,
            queue: &mut self.queue,
            queued_bytes: &mut self.queued_bytes,
            enforce: self.enforce,
        };
        (&mut self.transform, sink)
    }

    fn on_data(&mut self, data: Bytes) -> Result<(), PipelineError> {
        if !self.enforce {
            // Monitor mode: the client gets the upstream bytes untouched.
            self.push(data.clone());
        }
        let (transform, mut sink) = self.split();
        transform.feed(&data, &mut sink)
    }

    /// The upstream body ended: flush everything and queue the rest.
    fn end(&mut self) {
        if let Err(e) = self.on_end() {
            self.on_error(e);
        }
        // Monitor mode survives errors: the body still completes.
        if matches!(self.phase, Phase::Running) {
            if let Some(t) = self.trailers.take() {
                self.queue.push_back(Frame::trailers(t));
            }
            self.phase = Phase::Done;
        }
    }

    fn on_end(&mut self) -> Result<(), PipelineError> {
        let (transform, mut sink) = self.split();
        transform.finish(&mut sink)?;
        if let Some(t) = self.trailers.take() {
            self.queue.push_back(Frame::trailers(t));
        }
        Ok(())
    }

    fn on_error(&mut self, e: PipelineError) {
        self.report.scan_error(&self.ctx, e);
        if !self.enforce {
            // Monitor mode never changes traffic: stop scanning, keep
            // passing the upstream bytes through.
            self.transform.stop();
            return;
        }
        self.queue.clear();
        self.queued_bytes = 0;
        self.report.blocked(&self.ctx, e.block_reason(self.headers_sent));
        self.phase = Phase::Failed(Failure::Pipeline(e), Some(Box::new(e)));
        self.report(false);
    }

    /// The upstream body failed: counted here, once, whether the head is
    /// still held (the client gets a 502) or already sent (the client's
    /// stream is cut).
    fn fail_upstream(&mut self, e: BoxError) {
        let cause = super::count_upstream_failure(&self.ctx.metrics, &self.ctx.route, &e);
        self.queue.clear();
        self.queued_bytes = 0;
        self.phase = Phase::Failed(Failure::Upstream(cause), Some(e));
        self.report(false);
    }

    /// The status the client got (or gets).
    fn client_status(&self) -> u16 {
        match (self.headers_sent, self.failure()) {
            (false, Some(Failure::Pipeline(_))) => self.ctx.policy.block_status.as_u16(),
            (false, Some(Failure::Upstream(e))) => e.status().as_u16(),
            _ => self.status.as_u16(),
        }
    }

    /// Writes metrics and the audit line once, at the end of the body (or
    /// when it is dropped early).
    fn report(&mut self, complete: bool) {
        let status = self.client_status();
        self.report.finish(&self.ctx, self.enforce, status, complete);
    }
}

fn push(queue: &mut VecDeque<Frame<Bytes>>, queued_bytes: &mut usize, data: Bytes) {
    if !data.is_empty() {
        *queued_bytes += data.len();
        queue.push_back(Frame::data(data));
    }
}

/// Where the transform's events go: findings to the report and the
/// policy's decision, output to the frame queue.
struct Sink<'a> {
    ctx: &'a ResponseContext,
    report: &'a mut Report,
    queue: &'a mut VecDeque<Frame<Bytes>>,
    queued_bytes: &'a mut usize,
    enforce: bool,
}

impl Events for Sink<'_> {
    fn findings(&mut self, found: &mut Vec<Finding>) -> Result<(), PipelineError> {
        let mut decision = None;
        for f in found.drain(..) {
            let seen = self.report.finding(self.ctx, &f, self.enforce);
            decision = decision.or(decide::block(&self.ctx.policy, f.kind, seen));
        }
        match decision {
            Some(e) if self.enforce => Err(e),
            Some(e) => {
                self.report.would_block(e);
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn scanned(&mut self, input: &[u8]) {
        self.report.scanned(input);
    }

    fn limit_reached(&mut self) {
        self.report.skipped_size_limit(self.ctx);
    }

    fn output(&mut self, data: Bytes) {
        push(self.queue, self.queued_bytes, data);
    }
}

impl Drop for ScanState {
    fn drop(&mut self) {
        // A body dropped before its end (client gone) still gets its line.
        self.report(false);
    }
}

impl<B> Body for ScanBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            let st = self.as_mut().project().st;
            if let Some(frame) = st.queue.pop_front() {
                if let Some(d) = frame.data_ref() {
                    st.queued_bytes -= d.len();
                }
                if st.queue.is_empty() && matches!(st.phase, Phase::Done) {
                    // The last frame is handed over: the client gets the
                    // whole body (hyper may drop this body without asking
                    // for more).
                    st.report(true);
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            match &mut st.phase {
                Phase::Running => {}
                Phase::Failed(_, e) => return Poll::Ready(e.take().map(Err)),
                Phase::Done => {
                    st.report(true);
                    return Poll::Ready(None);
                }
            }
            ready!(self.as_mut().poll_advance(cx));
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.st.phase, Phase::Done) && self.st.queue.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        if matches!(self.st.phase, Phase::Done) && !self.st.has_trailers() {
            SizeHint::with_exact(self.st.queued_bytes as u64)
        } else {
            SizeHint::default()
        }
    }
}
