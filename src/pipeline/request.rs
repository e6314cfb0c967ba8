//! The request side: what a request carries (its query string and its body)
//! through the same detection engine as responses, on its way to the
//! upstream. [`start`] decides per request (scan or not, the query string
//! at once) and wraps the body in [`RequestScan`], the one
//! `http_body::Body` wrapper of this side: it forwards the client's bytes
//! unchanged and, as they pass, feeds them through
//! [`crate::inventory::collect::Projection`] (percent-decoded forms,
//! multipart text parts) into a [`Scanner`].
//!
//! By default it only observes: every chunk is forwarded as it arrives,
//! byte for byte. When the policy blocks a kind in requests
//! (`request_actions = { card = "block" }`, enforce mode), it forwards a
//! raw byte only once the engine has let go of every scanned byte that
//! came from it: the engine holds back any byte that may still start a
//! match, so when it reports a value, none of the value's bytes has been
//! forwarded, and the body yields an error instead of them, which makes
//! hyper abort the upstream request. Before the upstream request is even
//! opened, [`RequestScan::hold`] reads up to the policy's request hold
//! window: a value found there is answered with the block page and the
//! upstream is never called.
//!
//! Memory per request: the engine's hold-back, the hold window, the
//! projection's marks for the held bytes and one chunk; never the body.
//! Request content codings (`Content-Encoding: gzip` on a request) are not
//! decoded: such a body is counted as uninspected
//! (`request_scan_skipped_total{reason="content_coding"}`), and refused
//! when the policy blocks kinds in requests (fail closed, unless
//! `on_error = "fail_open"`). File parts of multipart bodies are not
//! scanned; their declared types go to the inventory. It never puts a value
//! in an error, a log, a metric or an audit line.

use std::collections::{BTreeMap, VecDeque};
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body::{Body, Frame, SizeHint};

use super::error::{PipelineError, Rejection};
use super::report::{kind_maps, write_audit, AuditExtra};
use super::{block, BoxError, ProxyBody, ResponseContext};
use crate::audit::MAX_FINGERPRINTS;
use crate::config::policy::OnError;
use crate::detect::{ContentHint, Finding, FingerprintList, Kind, Scanner};
use crate::inventory::collect::{Format, Projection};
use crate::inventory::Collector;
use crate::metrics::{request_block_reason, request_skip_reason, MONITOR_ACTION};

/// Field spans remembered beyond the engine's hold-back (as the response
/// side's field paths).
const FIELD_SLACK: usize = 16 * 1024;

/// Whether a request was blocked, shared with the proxy: a request the
/// guard aborted upstream is answered with the block page, whatever the
/// upstream said.
#[derive(Clone, Default)]
pub struct Verdict(Arc<AtomicBool>);

impl Verdict {
    /// True once a request-side block was decided.
    pub fn blocked(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// What one request showed: metrics, the inventory's collector and its
/// audit line, written once.
struct Report {
    ctx: ResponseContext,
    counts: BTreeMap<Kind, u64>,
    fingerprints: FingerprintList,
    collector: Option<Collector>,
    blocked: Option<&'static str>,
    would_block: bool,
    done: bool,
}

impl Report {
    fn new(ctx: ResponseContext) -> Report {
        ctx.metrics.requests_scanned_total.with_label_values(&[&ctx.route]).inc();
        let collector = ctx.inventory.as_ref().map(|x| x.collector());
        Report {
            ctx,
            counts: BTreeMap::new(),
            fingerprints: FingerprintList::new(MAX_FINGERPRINTS),
            collector,
            blocked: None,
            would_block: false,
            done: false,
        }
    }

    /// Counts one finding; true when it blocks the request.
    fn finding(&mut self, f: &Finding, field: Option<&[u8]>) -> bool {
        let policy = &self.ctx.policy;
        if let Some(c) = &mut self.collector {
            c.finding(f, field, policy);
        }
        let blocks = policy.request_blocks.contains(&f.kind);
        let action =
            if policy.monitor() { MONITOR_ACTION } else { policy.request_action(f.kind).as_str() };
        self.ctx
            .metrics
            .request_findings_total
            .with_label_values(&[&self.ctx.route, policy.engine.kind_name(f.kind), action])
            .inc();
        *self.counts.entry(f.kind).or_default() += 1;
        self.fingerprints.add(f.fingerprint);
        if blocks && policy.monitor() {
            self.would_block = true;
        }
        blocks && !policy.monitor()
    }

    fn blocked(&mut self, reason: &'static str) {
        if self.blocked.is_none() {
            self.ctx
                .metrics
                .requests_blocked_total
                .with_label_values(&[&self.ctx.route, reason])
                .inc();
            self.blocked = Some(reason);
        }
    }

    /// The inventory record and the audit line, once. `complete`: the
    /// whole body was read.
    fn finish(&mut self, files: &[String], complete: bool) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let ctx = &self.ctx;
        let policy = &ctx.policy;
        if let Some(mut c) = self.collector.take() {
            c.files(files);
            c.finish(policy, self.blocked.is_some());
        }
        if self.counts.is_empty() && self.blocked.is_none() {
            return;
        }
        let engine = &policy.engine;
        let (counts, actions, would_actions) =
            kind_maps(&self.counts, engine, !policy.monitor(), |k| {
                policy.request_action(k).as_str()
            });
        // The status the client got when the guard answered itself; 0 when
        // the request went on to the upstream (its response has a line of
        // its own if it carries findings).
        let status = if self.blocked.is_some() { policy.block_status.as_u16() } else { 0 };
        write_audit(
            ctx,
            status,
            AuditExtra {
                counts,
                actions,
                would_actions,
                fingerprints: self.fingerprints.as_slice(),
                truncated: self.fingerprints.truncated(),
                blocked: self.blocked,
                would_block: self.would_block.then_some("block_action"),
                complete,
                side: Some("request"),
            },
        );
    }
}

enum Phase {
    Running,
    /// The body ended; trailers (if any) still to yield.
    Ended,
    /// Blocked or failed: the error still to yield (taken once).
    Failed(Option<BoxError>),
}

/// The body's scan: projection, engine, the raw bytes read but not yet
/// forwarded.
struct Scan {
    projection: Projection,
    scanner: Scanner,
    /// Reused buffers: projected bytes, engine output (discarded: requests
    /// are never rewritten), findings.
    scanned: Vec<u8>,
    out: Vec<u8>,
    findings: Vec<Finding>,
    /// Only release what the engine let go of (a kind blocks).
    enforce: bool,
}

/// Everything a scanned request body owns besides the client's body.
struct State {
    report: Report,
    scan: Option<Scan>,
    verdict: Verdict,
    queue: VecDeque<Bytes>,
    /// Raw bytes read from the client, forwarded, and allowed out.
    read: u64,
    yielded: u64,
    releasable: u64,
    trailers: Option<HeaderMap>,
    phase: Phase,
    /// hyper polls the body: the upstream request is open.
    forwarding: bool,
}

/// A request body on its way to the upstream. See the module docs.
pub struct RequestScan<B> {
    inner: B,
    /// `None`: the request is not scanned (its body passes as it is).
    st: Option<Box<State>>,
}

/// Starts the request side of an exchange: scans the query string at once
/// and wraps the body. `Err` is the response that replaces the exchange:
/// a blocked query string, or a body that cannot be inspected on a policy
/// that blocks kinds in requests. The upstream is not called then.
pub fn start<B>(
    ctx: &ResponseContext,
    parts: &http::request::Parts,
    body: B,
) -> Result<(RequestScan<B>, Verdict), Box<Response<ProxyBody>>>
where
    B: Body<Data = Bytes> + Unpin,
{
    let verdict = Verdict::default();
    let policy = &ctx.policy;
    let query = parts.uri.query().filter(|q| !q.is_empty());
    let has_body = !body.is_end_stream();
    if !policy.scan_requests || (query.is_none() && !has_body) {
        return Ok((RequestScan { inner: body, st: None }, verdict));
    }
    // The body first: a request whose body is not read and that has no
    // query string is not a scanned request at all.
    let (mut format, mut refuse_coded) = (None, false);
    if has_body {
        let coded = parts
            .headers
            .get_all(http::header::CONTENT_ENCODING)
            .iter()
            .any(|v| !v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"identity"));
        let ctype = parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let skipped = |reason: &str| {
            ctx.metrics.request_scan_skipped_total.with_label_values(&[&ctx.route, reason]).inc();
        };
        if coded {
            skipped(request_skip_reason::CONTENT_CODING);
            // What the guard cannot inspect but must: fail closed.
            refuse_coded = policy.request_enforces() && policy.on_error == OnError::FailClosed;
        } else {
            format = Format::of(ctype);
            if format.is_none() {
                skipped(request_skip_reason::CONTENT_TYPE);
            }
        }
    }
    if query.is_none() && format.is_none() && !refuse_coded {
        return Ok((RequestScan { inner: body, st: None }, verdict));
    }

    let mut report = Report::new(ctx.clone());
    let retain = policy.engine.max_hold() + FIELD_SLACK;
    let reject = |report: &mut Report, reason, e: PipelineError| {
        report.blocked(reason);
        report.finish(&[], false);
        Err(Box::new(block::reply(
            Rejection::Blocked(e, policy.block_status),
            ctx.request_id.as_str(),
        )))
    };

    if let Some(q) = query {
        let mut p = Projection::query(retain);
        let mut sc = Scanner::new(policy.engine.clone(), ContentHint::Text);
        let (mut scanned, mut out, mut found) = (Vec::new(), Vec::new(), Vec::new());
        p.feed(q.as_bytes(), &mut scanned);
        p.finish(&mut scanned);
        sc.feed(&scanned, &mut out, &mut found);
        sc.finish(&mut out, &mut found);
        let mut blocks = false;
        for f in &found {
            blocks |= report.finding(f, p.field(f.start, f.end));
        }
        if blocks {
            verdict.set();
            return reject(
                &mut report,
                request_block_reason::BEFORE_UPSTREAM,
                PipelineError::BlockedKind,
            );
        }
    }
    if refuse_coded {
        verdict.set();
        return reject(
            &mut report,
            request_block_reason::FAIL_CLOSED,
            PipelineError::UnknownEncoding,
        );
    }

    let scan = format.take().map(|format| {
        let hint = if format == Format::Json { ContentHint::Json } else { ContentHint::Text };
        // The audit line lists the first MAX_FINGERPRINTS distinct (the
        // query's first): the body's scanner stops making them no earlier.
        let mut scanner = Scanner::new(policy.engine.clone(), hint);
        scanner.limit_fingerprints(MAX_FINGERPRINTS);
        Scan {
            projection: Projection::new(&format, retain),
            scanner,
            scanned: Vec::new(),
            out: Vec::new(),
            findings: Vec::new(),
            enforce: policy.request_enforces(),
        }
    });
    let mut st = State {
        report,
        scan,
        verdict: verdict.clone(),
        queue: VecDeque::new(),
        read: 0,
        yielded: 0,
        releasable: 0,
        trailers: None,
        phase: Phase::Running,
        forwarding: false,
    };
    if !has_body {
        // Only the query string: recorded now, the (empty) body ends.
        st.phase = Phase::Ended;
        st.finish(true);
    }
    Ok((RequestScan { inner: body, st: Some(Box::new(st)) }, verdict))
}

impl State {
    fn on_data(&mut self, data: Bytes) {
        self.read += data.len() as u64;
        let Some(scan) = self.scan.as_mut() else {
            self.releasable = self.read;
            push(&mut self.queue, data);
            return;
        };
        scan.projection.feed(&data, &mut scan.scanned);
        scan.scanner.feed(&scan.scanned, &mut scan.out, &mut scan.findings);
        scan.scanned.clear();
        scan.out.clear();
        push(&mut self.queue, data);
        self.after_scan();
    }

    fn on_end(&mut self) {
        if let Some(scan) = self.scan.as_mut() {
            scan.projection.finish(&mut scan.scanned);
            scan.scanner.feed(&scan.scanned, &mut scan.out, &mut scan.findings);
            scan.scanner.finish(&mut scan.out, &mut scan.findings);
            scan.scanned.clear();
            scan.out.clear();
            self.after_scan();
        }
        if matches!(self.phase, Phase::Running) {
            self.releasable = self.read;
            self.phase = Phase::Ended;
            self.finish(true);
        }
    }

    /// Reports the findings and moves the release point.
    fn after_scan(&mut self) {
        let scan = self.scan.as_mut().expect("scanning");
        let mut blocks = false;
        for f in scan.findings.drain(..) {
            let field = scan.projection.field(f.start, f.end);
            blocks |= self.report.finding(&f, field);
            // The engine's hold-back at work: no byte of a value it reports
            // has been let out.
            debug_assert!(
                !scan.enforce || scan.projection.raw_of(f.start).is_none_or(|r| r >= self.yielded),
                "a reported value's bytes were already forwarded"
            );
        }
        let emitted = scan.scanner.consumed() - scan.scanner.held() as u64;
        let release = scan.projection.release(emitted);
        self.releasable = if scan.enforce { release.max(self.yielded) } else { self.read };
        if blocks {
            self.block();
        }
    }

    fn block(&mut self) {
        let reason = if self.forwarding {
            request_block_reason::ABORTED
        } else {
            request_block_reason::BEFORE_UPSTREAM
        };
        self.verdict.set();
        self.queue.clear();
        self.report.blocked(reason);
        self.phase = Phase::Failed(Some(Box::new(PipelineError::BlockedKind)));
        self.finish(false);
    }

    fn finish(&mut self, complete: bool) {
        let files = self.scan.as_ref().map(|s| s.projection.files().to_vec()).unwrap_or_default();
        self.report.finish(&files, complete);
    }

    /// The next releasable piece of the queue.
    fn next_chunk(&mut self) -> Option<Bytes> {
        let room = self.releasable.saturating_sub(self.yielded);
        if room == 0 {
            return None;
        }
        let front = self.queue.front_mut()?;
        let chunk = if front.len() as u64 <= room {
            self.queue.pop_front()?
        } else {
            front.split_to(room as usize)
        };
        self.yielded += chunk.len() as u64;
        Some(chunk)
    }
}

fn push(queue: &mut VecDeque<Bytes>, data: Bytes) {
    if !data.is_empty() {
        queue.push_back(data);
    }
}

impl<B> RequestScan<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    /// Polls the client's body once and processes what it yields.
    fn poll_advance(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let st = self.st.as_mut().expect("a scanned body");
        match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    st.on_data(data);
                    if self.inner.is_end_stream() && matches!(st.phase, Phase::Running) {
                        st.on_end();
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
            Some(Err(e)) => {
                // The client's own body broke (the inner body flags it).
                st.queue.clear();
                st.phase = Phase::Failed(Some(e.into()));
                st.finish(false);
            }
            None => st.on_end(),
        }
        Poll::Ready(())
    }

    /// Reads until `window` bytes are held, the body ends or fails.
    fn poll_fill(&mut self, cx: &mut Context<'_>, window: u64) -> Poll<()> {
        loop {
            let st = self.st.as_ref().expect("a scanned body");
            if st.read - st.yielded >= window || !matches!(st.phase, Phase::Running) {
                return Poll::Ready(());
            }
            ready!(self.poll_advance(cx));
        }
    }

    /// Holds the request before the upstream is called, while a block may
    /// still be decided: reads up to the policy's request hold window (or
    /// until the body ends, or `request_hold_timeout_ms` passes). `Some` is
    /// the block page that answers the request instead; the upstream is
    /// never called then. Only when a kind blocks in requests.
    pub async fn hold(&mut self) -> Option<Response<ProxyBody>> {
        let st = self.st.as_ref()?;
        let policy = &st.report.ctx.policy;
        if !st.scan.as_ref().is_some_and(|s| s.enforce) {
            return None;
        }
        let (window, timeout) = (policy.request_hold_window as u64, policy.request_hold_timeout);
        if window > 0 {
            let fill = poll_fn(|cx| self.poll_fill(cx, window));
            // A timeout only means the window did not fill in time.
            let _ = tokio::time::timeout(timeout, fill).await;
        }
        let st = self.st.as_ref()?;
        st.verdict.blocked().then(|| {
            let ctx = &st.report.ctx;
            block::reply(
                Rejection::Blocked(PipelineError::BlockedKind, ctx.policy.block_status),
                ctx.request_id.as_str(),
            )
        })
    }
}

impl<B> Body for RequestScan<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.st.is_none() {
            return Pin::new(&mut this.inner).poll_frame(cx).map_err(Into::into);
        }
        loop {
            let st = this.st.as_mut().expect("a scanned body");
            st.forwarding = true;
            if let Some(chunk) = st.next_chunk() {
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
            match &mut st.phase {
                Phase::Running => {}
                Phase::Failed(e) => return Poll::Ready(e.take().map(Err)),
                Phase::Ended => {
                    return Poll::Ready(st.trailers.take().map(|t| Ok(Frame::trailers(t))));
                }
            }
            ready!(this.poll_advance(cx));
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.st {
            None => self.inner.is_end_stream(),
            Some(st) => {
                matches!(st.phase, Phase::Ended) && st.queue.is_empty() && st.trailers.is_none()
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        // Forwarded unchanged: what the client still sends plus what is
        // queued (a cut body is an error, never a shorter complete one).
        let inner = self.inner.size_hint();
        let Some(st) = &self.st else { return inner };
        let queued: u64 = st.queue.iter().map(|b| b.len() as u64).sum();
        let mut h = SizeHint::new();
        h.set_lower(inner.lower() + queued);
        if let Some(u) = inner.upper() {
            h.set_upper(u + queued);
        }
        h
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // A request dropped before its end (client gone, upstream failed)
        // still gets its record.
        self.finish(false);
    }
}

#[cfg(test)]
mod tests;
