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

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::codec::{CodecError, Decoder, Encoder, DECODE_SLICE};
use super::{BoxError, ResponseContext, RouteCounters};
use crate::audit::{self, AuditRecord, MAX_FINGERPRINTS};
use crate::config::policy::{OverLimit, PolicyAction};
use crate::detect::{Action, ContentHint, Finding, Fingerprint, Kind, Scanner};
use crate::metrics::{block_reason, skip_reason};

/// Why the pipeline cut or blocked a response. Its messages are generic on
/// purpose: they may end up in a client-facing error or a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// A finding of a kind whose action is `block`.
    #[error("response blocked by policy")]
    BlockedKind,
    /// A kind reached its threshold.
    #[error("response blocked by policy (threshold)")]
    BlockedThreshold,
    /// The content coding is corrupt or truncated.
    #[error("response cut: undecodable content coding")]
    Decode,
    /// Decompression bomb limits.
    #[error("response cut: decompression limit exceeded")]
    Bomb,
    /// Past the scan limit with `over_limit = "block"`.
    #[error("response cut: scan limit exceeded")]
    SizeLimit,
    /// Re-encoding failed.
    #[error("response cut: re-encoding failed")]
    Encode,
}

impl PipelineError {
    /// The `scan_errors_total` reason, for errors that are not decisions.
    pub fn error_reason(self) -> Option<&'static str> {
        match self {
            PipelineError::BlockedKind | PipelineError::BlockedThreshold => None,
            PipelineError::Decode => Some("decode"),
            PipelineError::Bomb => Some("bomb"),
            PipelineError::SizeLimit => Some("size_limit"),
            PipelineError::Encode => Some("encode"),
        }
    }

    /// The `responses_blocked_total` reason.
    pub fn block_reason(self, headers_sent: bool) -> &'static str {
        match self {
            PipelineError::BlockedKind if headers_sent => block_reason::ABORTED,
            PipelineError::BlockedKind => block_reason::BEFORE_HEADERS,
            PipelineError::BlockedThreshold if headers_sent => block_reason::ABORTED,
            PipelineError::BlockedThreshold => block_reason::THRESHOLD,
            _ => block_reason::FAIL_CLOSED,
        }
    }
}

impl From<CodecError> for PipelineError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Corrupt => PipelineError::Decode,
            CodecError::Bomb => PipelineError::Bomb,
        }
    }
}

/// Extra output room reserved per scanned input for bytes the engine held
/// back from earlier input and releases now.
const OUT_SLACK: usize = 512;

/// How a scanned body ended badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The pipeline decided to block or cut.
    Pipeline(PipelineError),
    /// The upstream body itself failed.
    Upstream,
}

enum Phase {
    Running,
    Failed(Option<BoxError>),
    Done,
}

/// Findings of one response, as the audit line and metrics see them.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<Kind, u64>,
    fingerprints: Vec<Fingerprint>,
    truncated: bool,
    modified: bool,
    blocked: Option<&'static str>,
    would_block: Option<&'static str>,
    reported: bool,
}

/// Everything a scanned body owns besides the upstream body.
pub(crate) struct ScanState {
    ctx: ResponseContext,
    status: StatusCode,
    enforce: bool,
    decoder: Option<Decoder>,
    encoder: Option<Encoder>,
    scanner: Scanner,
    scanning: bool,
    /// Upstream data bytes seen (encoded).
    input_seen: u64,
    /// Decoded bytes that went through the scanner.
    scanned: u64,
    /// The route's per-response series, resolved once per configuration.
    counters: Arc<RouteCounters>,
    /// `findings_total` handles this response resolved itself: kinds the
    /// policy does not name (their action is the default, `detect`).
    finding_counters: Vec<(Kind, prometheus::IntCounter)>,
    out: Vec<u8>,
    decoded: Vec<u8>,
    findings: Vec<Finding>,
    queue: VecDeque<Frame<Bytes>>,
    queued_bytes: usize,
    trailers: Option<HeaderMap>,
    phase: Phase,
    failure: Option<Failure>,
    pub(crate) headers_sent: bool,
    tally: Tally,
    /// The privacy inventory's observer of this body.
    observer: Option<crate::inventory::Observer>,
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
        let scanner = Scanner::new(ctx.policy.engine.clone(), hint);
        counters.responses_scanned.inc();
        let observer =
            ctx.inventory.as_ref().map(|x| x.observer(hint, ctx.policy.engine.max_hold()));
        ScanBody {
            inner,
            st: ScanState {
                ctx,
                status,
                enforce,
                decoder,
                encoder: if enforce { encoder } else { None },
                scanner,
                scanning: true,
                input_seen: 0,
                scanned: 0,
                counters,
                finding_counters: Vec::new(),
                out: Vec::new(),
                decoded: Vec::new(),
                findings: Vec::new(),
                queue: VecDeque::new(),
                queued_bytes: 0,
                trailers: None,
                phase: Phase::Running,
                failure: None,
                headers_sent: false,
                tally: Tally::default(),
                observer,
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
        let this = self.project();
        let st = this.st;
        match ready!(this.inner.poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    if let Err(e) = st.on_data(data) {
                        st.on_error(e);
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
            None => {
                if let Err(e) = st.on_end() {
                    st.on_error(e);
                }
                // Monitor mode survives errors: the body still completes.
                if matches!(st.phase, Phase::Running) {
                    if let Some(t) = st.trailers.take() {
                        st.queue.push_back(Frame::trailers(t));
                    }
                    st.phase = Phase::Done;
                    st.report(true);
                }
            }
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
        self.failure
    }

    /// True when some output differs from the input (known for sure only
    /// once the body is done).
    pub(crate) fn modified(&self) -> bool {
        self.tally.modified
    }

    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    pub(crate) fn has_trailers(&self) -> bool {
        self.trailers.is_some() || self.queue.iter().any(|f| f.is_trailers())
    }

    fn push(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.queued_bytes += data.len();
            self.queue.push_back(Frame::data(data));
        }
    }

    fn on_data(&mut self, data: Bytes) -> Result<(), PipelineError> {
        self.input_seen += data.len() as u64;
        if !self.enforce {
            // Monitor mode: the client gets the upstream bytes untouched.
            self.push(data.clone());
        }
        if self.decoder.is_some() {
            for piece in data.chunks(DECODE_SLICE) {
                let Some(dec) = self.decoder.as_mut() else { break };
                dec.write(piece)?;
                let mut buf = std::mem::take(&mut self.decoded);
                dec.take_output(&mut buf);
                let r = self.consume(&buf);
                self.decoded = buf;
                r?;
            }
        } else {
            self.consume(&data)?;
        }
        self.flush_encoder()
    }

    fn on_end(&mut self) -> Result<(), PipelineError> {
        if self.input_seen > 0 {
            if let Some(dec) = self.decoder.as_mut() {
                dec.finish()?;
                let mut buf = std::mem::take(&mut self.decoded);
                dec.take_output(&mut buf);
                let r = self.consume(&buf);
                self.decoded = buf;
                r?;
            }
        }
        if self.scanning {
            self.scanner.finish(&mut self.out, &mut self.findings);
            self.scanning = false;
            self.handle_findings()?;
        }
        self.drain_out()?;
        if let Some(enc) = self.encoder.as_mut() {
            // An empty upstream body stays empty rather than becoming an
            // encoded empty document.
            if self.input_seen > 0 {
                let mut tail = enc.take_output();
                tail.extend(enc.finish().map_err(|_| PipelineError::Encode)?);
                self.push(Bytes::from(tail));
            }
        }
        if let Some(t) = self.trailers.take() {
            self.queue.push_back(Frame::trailers(t));
        }
        Ok(())
    }

    /// Scans decoded bytes (up to the scan limit) and moves the result on.
    fn consume(&mut self, mut input: &[u8]) -> Result<(), PipelineError> {
        if self.scanning {
            if let Some(limit) = self.ctx.policy.scan_limit {
                let room = limit.saturating_sub(self.scanned);
                if input.len() as u64 > room {
                    let (head, rest) = input.split_at(room as usize);
                    self.scan(head)?;
                    if self.ctx.policy.over_limit == OverLimit::Block {
                        return Err(PipelineError::SizeLimit);
                    }
                    self.scanner.finish(&mut self.out, &mut self.findings);
                    self.scanning = false;
                    self.handle_findings()?;
                    self.ctx
                        .metrics
                        .scan_skipped_total
                        .with_label_values(&[&self.ctx.route, skip_reason::SIZE_LIMIT])
                        .inc();
                    input = rest;
                }
            }
            if self.scanning {
                self.scan(input)?;
                input = &[];
            }
        }
        if self.enforce {
            self.out.extend_from_slice(input);
        }
        self.drain_out()
    }

    fn scan(&mut self, input: &[u8]) -> Result<(), PipelineError> {
        if input.is_empty() {
            return Ok(());
        }
        // Room for this input plus what the engine held back from the last
        // one, so the output grows without reallocating (and copying) in
        // steps; `drain_out` hands the buffer on as it is.
        self.out.reserve(input.len() + OUT_SLACK);
        if let Some(o) = &mut self.observer {
            o.feed(input);
        }
        self.scanner.feed(input, &mut self.out, &mut self.findings);
        self.scanned += input.len() as u64;
        self.counters.scan_bytes.inc_by(input.len() as u64);
        self.handle_findings()
    }

    /// Moves scanner output to the encoder or the queue.
    fn drain_out(&mut self) -> Result<(), PipelineError> {
        if !self.enforce {
            self.out.clear();
            return Ok(());
        }
        if self.out.is_empty() {
            return Ok(());
        }
        match self.encoder.as_mut() {
            Some(enc) => {
                enc.write_all(&self.out).map_err(|_| PipelineError::Encode)?;
                self.out.clear();
            }
            None => {
                let data = Bytes::from(std::mem::take(&mut self.out));
                self.push(data);
            }
        }
        Ok(())
    }

    fn flush_encoder(&mut self) -> Result<(), PipelineError> {
        if let Some(enc) = self.encoder.as_mut() {
            enc.flush().map_err(|_| PipelineError::Encode)?;
            let data = enc.take_output();
            self.push(Bytes::from(data));
        }
        Ok(())
    }

    fn handle_findings(&mut self) -> Result<(), PipelineError> {
        if self.findings.is_empty() {
            return Ok(());
        }
        let policy = self.ctx.policy.clone();
        let mut decision = None;
        for f in self.findings.drain(..) {
            if let Some(o) = &mut self.observer {
                o.finding(&f, &policy);
            }
            let action = policy.action(f.kind);
            let resolved = self.counters.finding(f.kind);
            match resolved.or_else(|| {
                self.finding_counters.iter().find(|(k, _)| *k == f.kind).map(|(_, c)| c)
            }) {
                Some(c) => c.inc(),
                None => {
                    let c = self.ctx.metrics.findings_total.with_label_values(&[
                        &self.ctx.route,
                        policy.engine.kind_name(f.kind),
                        action.as_str(),
                    ]);
                    c.inc();
                    self.finding_counters.push((f.kind, c));
                }
            }
            let n = self.tally.counts.entry(f.kind).or_insert(0);
            *n += 1;
            let n = *n;
            // Once the list is full and known to be truncated, nothing a
            // finding's fingerprint could do changes it: skip the search.
            if !self.tally.truncated && !self.tally.fingerprints.contains(&f.fingerprint) {
                if self.tally.fingerprints.len() < MAX_FINGERPRINTS {
                    self.tally.fingerprints.push(f.fingerprint);
                } else {
                    self.tally.truncated = true;
                }
            }
            if self.enforce && f.action != Action::Detect {
                self.tally.modified = true;
            }
            if action == PolicyAction::Block {
                decision = decision.or(Some(PipelineError::BlockedKind));
            }
            if policy.thresholds.get(&f.kind).is_some_and(|&t| n >= t) {
                decision = decision.or(Some(PipelineError::BlockedThreshold));
            }
        }
        match decision {
            Some(e) if self.enforce => Err(e),
            Some(e) => {
                let why = match e {
                    PipelineError::BlockedThreshold => "threshold",
                    _ => "block_action",
                };
                self.tally.would_block = self.tally.would_block.or(Some(why));
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn on_error(&mut self, e: PipelineError) {
        if let Some(reason) = e.error_reason() {
            self.ctx.metrics.scan_errors_total.with_label_values(&[&self.ctx.route, reason]).inc();
        }
        if !self.enforce {
            // Monitor mode never changes traffic: stop scanning, keep
            // passing the upstream bytes through.
            self.decoder = None;
            self.scanning = false;
            return;
        }
        self.queue.clear();
        self.queued_bytes = 0;
        let reason = e.block_reason(self.headers_sent);
        self.ctx
            .metrics
            .responses_blocked_total
            .with_label_values(&[&self.ctx.route, reason])
            .inc();
        self.tally.blocked = Some(reason);
        self.failure = Some(Failure::Pipeline(e));
        self.phase = Phase::Failed(Some(Box::new(e)));
        self.report(false);
    }

    fn fail_upstream(&mut self, e: BoxError) {
        self.queue.clear();
        self.queued_bytes = 0;
        self.failure = Some(Failure::Upstream);
        self.phase = Phase::Failed(Some(e));
        self.report(false);
    }

    /// The status the client got (or gets).
    fn client_status(&self) -> u16 {
        match (self.headers_sent, self.failure) {
            (false, Some(Failure::Pipeline(_))) => self.ctx.policy.block_status.as_u16(),
            (false, Some(Failure::Upstream)) => StatusCode::BAD_GATEWAY.as_u16(),
            _ => self.status.as_u16(),
        }
    }

    /// Writes metrics and the audit line once, at the end of the body (or
    /// when it is dropped early).
    fn report(&mut self, complete: bool) {
        if std::mem::replace(&mut self.tally.reported, true) {
            return;
        }
        if let Some(o) = self.observer.take() {
            o.finish(&self.ctx.policy, self.tally.blocked.is_some());
        }
        if self.tally.modified {
            self.ctx.metrics.responses_modified_total.with_label_values(&[&self.ctx.route]).inc();
        }
        let t = &self.tally;
        if t.counts.is_empty() && t.blocked.is_none() {
            return;
        }
        let policy = &self.ctx.policy;
        let engine = &policy.engine;
        let counts = t.counts.iter().map(|(&k, &n)| (engine.kind_name(k), n)).collect();
        let actions =
            t.counts.keys().map(|&k| (engine.kind_name(k), policy.action(k).as_str())).collect();
        write_audit(
            &self.ctx,
            self.client_status(),
            AuditExtra {
                counts,
                actions,
                fingerprints: t.fingerprints.iter().map(fingerprint_hex).collect(),
                truncated: t.truncated,
                blocked: t.blocked,
                would_block: t.would_block,
                complete,
            },
        );
    }
}

/// A fingerprint as its `Display` writes it (lower-case hex), without the
/// formatting machinery: a dense page lists up to [`MAX_FINGERPRINTS`] in
/// its audit line, and `{:02x}` per byte cost more than the rest of the
/// line.
fn fingerprint_hex(f: &Fingerprint) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(f.0.len() * 2);
    for b in f.0 {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

/// The per-response part of an audit line.
pub(crate) struct AuditExtra<'a> {
    pub counts: BTreeMap<&'a str, u64>,
    pub actions: BTreeMap<&'a str, &'static str>,
    pub fingerprints: Vec<String>,
    pub truncated: bool,
    pub blocked: Option<&'static str>,
    pub would_block: Option<&'static str>,
    pub complete: bool,
}

/// Writes one audit line for a response.
pub(crate) fn write_audit(ctx: &ResponseContext, status: u16, extra: AuditExtra<'_>) {
    if !ctx.audit.enabled() {
        return;
    }
    // The path may itself carry a value (a card number as an id): mask it
    // with the same engine before it is written anywhere.
    let path = audit::path_without_query(&ctx.path);
    let (masked, _) = ctx.policy.engine.scan_all(path.as_bytes(), ContentHint::Text);
    let path = String::from_utf8_lossy(&masked);
    ctx.audit.write(&AuditRecord {
        ts: audit::now_rfc3339(),
        request_id: &ctx.request_id,
        route: &ctx.route,
        method: ctx.method.as_str(),
        path: &path,
        status,
        mode: ctx.policy.mode.as_str(),
        policy: &ctx.policy.name,
        client: ctx.client,
        counts: extra.counts,
        actions: extra.actions,
        fingerprints: extra.fingerprints,
        fingerprints_truncated: extra.truncated,
        blocked: extra.blocked,
        would_block: extra.would_block,
        complete: extra.complete,
    });
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
                return Poll::Ready(Some(Ok(frame)));
            }
            match &mut st.phase {
                Phase::Running => {}
                Phase::Failed(e) => return Poll::Ready(e.take().map(Err)),
                Phase::Done => return Poll::Ready(None),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_hex_matches_display() {
        let mut cases = vec![[0u8; 12], [0xff; 12], *b"0123456789ab"];
        // Every byte value, in every position.
        for b in 0..=255u8 {
            let mut f = [0u8; 12];
            for (i, x) in f.iter_mut().enumerate() {
                *x = b.wrapping_add((i as u8).wrapping_mul(37));
            }
            cases.push(f);
        }
        for c in cases {
            let f = Fingerprint(c);
            assert_eq!(fingerprint_hex(&f), f.to_string());
        }
    }
}
