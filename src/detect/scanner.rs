//! The streaming scanner: takes a body chunk by chunk, emits every byte as
//! soon as no match can include it any more, and rewrites matches in place.
//!
//! Model (like aho-corasick's stream search): `buf` holds up to
//! [`HISTORY`] bytes of already-emitted input (left context only), followed
//! by the pending input. Each run walks candidate positions left to right;
//! every detector either decides or asks for more bytes, and the first
//! position that needs more becomes the hold point. Matches are leftmost and
//! non-overlapping, so the result is a function of the whole stream only,
//! never of how it was split. Memory is bounded by [`Engine::max_hold`].
//! One exception to non-overlapping: the values that start inside an email
//! address (a card as its local part or a domain label, a token glued to
//! its end) are findings of their own, found with the address and
//! rewritten together with it, the strongest action winning on shared
//! bytes.
//!
//! Where the loop looks is [`seek`](super::seek)'s; a confirmed secret too
//! long to hold (a PEM body, a long JWT) is rewritten by
//! [`stream`](super::stream) as it passes. [`Scanner::exhaustive`] probes
//! every position instead: the reference the tests compare against.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use hmac::Mac;

use super::email::{self, MAX_LOCAL};
use super::fingerprint;
use super::rewrite;
use super::secrets;
use super::seek::{
    after_word, encoded_after, encoded_after_shape, encoded_start, find_at, iban_start, phone_open,
    run_may_gate, seek, Blocks,
};
use super::stream::{jwt_mask, Stream};
use super::units::{self, Window};
use super::view::{Hit, More, Probe, Shape, View, HISTORY};
use super::{
    card, iban, phone, ssn, Action, Anchor, ContentHint, Engine, Finding, FingerprintList, Kind,
};

const DIGIT: u8 = 1;
const PHONE_START: u8 = 2;
const UPPER: u8 = 4;

/// Byte classes that can start a match outside the anchor automaton and
/// the email zone.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_digit() {
            DIGIT
        } else if c == b'+' || c == b'(' {
            PHONE_START
        } else if c.is_ascii_uppercase() {
            UPPER
        } else {
            0
        };
        b += 1;
    }
    t
};

/// A detector that starts at a byte class.
type Detector = fn(&View, usize) -> Probe;

/// Unmodified runs at least this long leave [`Scanner::feed_shared`] as
/// slices of the scanner's own buffer; shorter ones (between findings on a
/// dense page) are copied into one owned piece, so that the output is not
/// a fragment per finding.
const SHARE_MIN: usize = 512;

/// Where one run's output goes. Replacements (and, without `spans`, every
/// unmodified run too) are written to `owned`. With `spans`, an unmodified
/// run of at least [`SHARE_MIN`] bytes is only noted, in output order
/// between the owned segments, and handed out as a slice of the buffer when
/// the run ends.
struct Sink<'a> {
    owned: &'a mut Vec<u8>,
    spans: Option<&'a mut Vec<Span>>,
    /// Where the owned segment not yet noted in `spans` starts.
    seg: usize,
    /// Bytes in this step: what `owned` is given at its first write, so
    /// that it does not grow (and copy) in steps.
    room: usize,
}

/// A piece of one run's output, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Span {
    /// Unmodified bytes of the scanner's buffer.
    Buf(Range<usize>),
    /// Bytes of the owned output.
    Owned(Range<usize>),
}

impl Sink<'_> {
    /// The unmodified bytes `range` of `buf` come next.
    fn run(&mut self, buf: &[u8], range: Range<usize>) {
        match &mut self.spans {
            Some(spans) if range.len() >= SHARE_MIN => {
                if self.owned.len() > self.seg {
                    spans.push(Span::Owned(self.seg..self.owned.len()));
                }
                self.seg = self.owned.len();
                spans.push(Span::Buf(range));
            }
            _ => {
                if self.owned.capacity() == 0 {
                    self.owned.reserve(self.room);
                }
                self.owned.extend_from_slice(&buf[range]);
            }
        }
    }

    /// Notes the last owned segment; true when some span is a slice of
    /// the buffer.
    fn close(&mut self) -> bool {
        let Some(spans) = &mut self.spans else { return false };
        if self.owned.len() > self.seg {
            spans.push(Span::Owned(self.seg..self.owned.len()));
            self.seg = self.owned.len();
        }
        spans.iter().any(|s| matches!(s, Span::Buf(_)))
    }
}

/// Scans one stream, chunk by chunk.
pub struct Scanner {
    engine: Arc<Engine>,
    hint: ContentHint,
    /// History, then the held bytes, then the input of the current step.
    /// A `BytesMut` so that [`Scanner::feed_shared`] can hand out the
    /// unmodified bytes of a step without copying them.
    buf: BytesMut,
    /// History bytes at the front of `buf` (already emitted).
    hist: usize,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    consumed: u64,
    stream: Option<Stream>,
    anchors: Vec<(usize, u32)>,
    norm: Vec<u8>,
    /// Overlapping findings being applied (reused between them).
    cluster: Vec<(usize, Hit)>,
    /// [`Scanner::feed_shared`]'s owned output and its pieces (kept for
    /// their allocations).
    owned: Vec<u8>,
    spans: Vec<Span>,
    finished: bool,
    /// See [`Scanner::limit_fingerprints`]: the distinct fingerprints made
    /// so far, up to the limit; `None`: every finding gets its
    /// fingerprint.
    fingerprint_limit: Option<FingerprintList>,
    /// For [`Scanner::exhaustive`] only: an overlapping automaton over the
    /// anchors, and every position probed.
    reference: Option<aho_corasick::AhoCorasick>,
}

impl std::fmt::Debug for Scanner {
    // Never print the buffer: it holds raw body bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("hint", &self.hint)
            .field("consumed", &self.consumed)
            .field("held", &self.held())
            .field("streaming", &self.stream.as_ref().map(Stream::kind))
            .finish()
    }
}

impl Scanner {
    pub fn new(engine: Arc<Engine>, hint: ContentHint) -> Scanner {
        Scanner {
            engine,
            hint,
            buf: BytesMut::new(),
            hist: 0,
            base: 0,
            consumed: 0,
            stream: None,
            anchors: Vec::new(),
            norm: Vec::new(),
            cluster: Vec::new(),
            owned: Vec::new(),
            spans: Vec::new(),
            finished: false,
            fingerprint_limit: None,
            reference: None,
        }
    }

    /// Findings get their fingerprint until `distinct + 1` distinct ones
    /// have been made, the point where a list of the first `distinct` is
    /// known to be incomplete (the audit line's); after that, only a
    /// finding whose action needs the MAC (a `hash` token) has one, the
    /// others `None`. A finding's MAC is most of what a value costs on a
    /// dense page. The output bytes do not change. (A PEM key or long JWT,
    /// rewritten as it streams, always has its fingerprint and is not
    /// counted here: the limit is reached no earlier than such a list
    /// is full.)
    pub fn limit_fingerprints(&mut self, distinct: usize) {
        self.fingerprint_limit = Some(FingerprintList::new(distinct));
    }

    /// The reference scanner: probes every position with every detector and
    /// finds literal anchors with an overlapping automaton, where
    /// [`Scanner::new`] seeks candidates from byte-class masks and a
    /// leftmost search. Its output and findings are the specification the
    /// fast scanner must equal for every input and every split (the
    /// differential tests and fuzz targets compare them); it is many times
    /// slower and never used to serve traffic.
    pub fn exhaustive(engine: Arc<Engine>, hint: ContentHint) -> Scanner {
        let reference = engine.overlapping_anchors();
        Scanner { reference: Some(reference), ..Scanner::new(engine, hint) }
    }

    /// Consumes `input`, appends every output byte that is now final to
    /// `out`, and every finding now complete to `findings`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>, findings: &mut Vec<Finding>) {
        debug_assert!(!self.finished, "feed after finish");
        if input.is_empty() || self.finished {
            return;
        }
        self.consumed += input.len() as u64;
        self.buf.extend_from_slice(input);
        self.run(false, Sink { owned: out, spans: None, seg: 0, room: 0 }, findings);
    }

    /// Ends the stream: flushes whatever was held back.
    pub fn finish(&mut self, out: &mut Vec<u8>, findings: &mut Vec<Finding>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.run(true, Sink { owned: out, spans: None, seg: 0, room: 0 }, findings);
    }

    /// [`Scanner::feed`], with the output as pieces appended to `out`: the
    /// same bytes, but a long unmodified run is a slice of the scanner's
    /// buffer rather than a copy (a body with no finding is copied once,
    /// into the scanner, instead of twice). The scanner then starts a new
    /// buffer with only its history and held bytes; the old one lives as
    /// long as the pieces do, so memory stays one step's worth per piece.
    pub fn feed_shared(&mut self, input: &[u8], out: &mut Vec<Bytes>, findings: &mut Vec<Finding>) {
        debug_assert!(!self.finished, "feed after finish");
        if input.is_empty() || self.finished {
            return;
        }
        self.consumed += input.len() as u64;
        self.buf.extend_from_slice(input);
        self.run_shared(false, out, findings);
    }

    /// [`Scanner::finish`], with the output as pieces (see
    /// [`Scanner::feed_shared`]).
    pub fn finish_shared(&mut self, out: &mut Vec<Bytes>, findings: &mut Vec<Finding>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.run_shared(true, out, findings);
    }

    fn run_shared(&mut self, eof: bool, out: &mut Vec<Bytes>, findings: &mut Vec<Finding>) {
        let mut owned = std::mem::take(&mut self.owned);
        let mut spans = std::mem::take(&mut self.spans);
        owned.clear();
        spans.clear();
        let room = self.buf.len() - self.hist;
        let sink = Sink { owned: &mut owned, spans: Some(&mut spans), seg: 0, room };
        let shared = self.run(eof, sink, findings);
        let owned_bytes = if owned.is_empty() {
            // Kept for the next step; with content it goes out with the
            // pieces.
            self.owned = owned;
            None
        } else {
            Some(Bytes::from(owned))
        };
        for span in spans.drain(..) {
            match span {
                Span::Buf(r) => out.push(shared.as_ref().expect("a shared buffer").slice(r)),
                Span::Owned(r) => out.push(owned_bytes.as_ref().expect("owned bytes").slice(r)),
            }
        }
        self.spans = spans;
    }

    /// Input bytes consumed so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Input bytes currently held back (not yet emitted).
    pub fn held(&self) -> usize {
        self.buf.len() - self.hist
    }

    /// One step over `buf`. Returns the buffer as it was, frozen, when
    /// `sink` took slices of it (the scanner then goes on in a new buffer).
    fn run(&mut self, eof: bool, mut sink: Sink<'_>, findings: &mut Vec<Finding>) -> Option<Bytes> {
        let engine = Arc::clone(&self.engine);
        let eng = &*engine;
        let end = self.buf.len();
        let hist = self.hist;
        // Positions from `limit` on may start a literal anchor that has not
        // fully arrived: hold them (only those whose tail is a proper prefix
        // of some anchor, so a chunk ending in plain text is not delayed).
        let mut limit = end;
        if !eof {
            let tail = end.saturating_sub(eng.max_anchor().saturating_sub(1)).max(hist);
            if let Some(p) = (tail..end).find(|&p| eng.is_anchor_prefix(&self.buf[p..end])) {
                limit = p;
            }
            // Custom rules with no literal anchor: their last bytes.
            if eng.has_bounded() {
                limit = limit.min(eng.bounded_hold(&self.buf, hist, end));
            }
        }

        self.anchors.clear();
        match &self.reference {
            // The specification: every overlapping match, every position.
            Some(ac) => {
                for m in ac.find_overlapping_iter(&self.buf[hist..]) {
                    let s = hist + m.start();
                    if s < limit {
                        self.anchors.push((s, m.pattern().as_u32()));
                    }
                }
                self.anchors.sort_unstable();
            }
            None => eng.anchor_sites(&self.buf[..end], hist, limit, &mut self.anchors),
        }
        let exhaustive = self.reference.is_some();
        if eng.has_bounded() {
            let buf = &self.buf[..end];
            eng.bounded_sites(buf, hist, limit, eof, exhaustive, &mut self.anchors);
            self.anchors.sort_unstable();
        }

        let mut pos = hist;
        let mut emit = hist;
        let mut ai = 0;
        let mut next_at = find_at(&self.buf, pos, eof);
        let mut blocks = Blocks::NONE;
        let stop;
        loop {
            if let Some(stream) = &mut self.stream {
                // A PEM body or a long JWT: rewritten as it arrives.
                match stream.body(&self.buf, pos, eof, sink.owned) {
                    Err(hold) => {
                        stop = hold;
                        emit = hold;
                        break;
                    }
                    Ok(close_at) => {
                        let stream = self.stream.take().expect("streaming");
                        findings.push(stream.close(self.base + close_at as u64, sink.owned));
                        pos = close_at;
                        emit = close_at;
                        continue;
                    }
                }
            }
            while ai < self.anchors.len() && self.anchors[ai].0 < pos {
                ai += 1;
            }
            let next_anchor = self.anchors.get(ai).map_or(usize::MAX, |a| a.0);
            let bound = limit.min(next_anchor);
            if !exhaustive {
                pos = seek(eng, &self.buf, pos, bound, &mut next_at, &mut blocks, eof);
            }
            if pos >= limit {
                stop = pos;
                break;
            }
            if next_at.at < pos {
                next_at = find_at(&self.buf, pos, eof);
            }
            while ai < self.anchors.len() && self.anchors[ai].0 < pos {
                ai += 1;
            }
            let in_zone = pos + MAX_LOCAL >= next_at.at && pos < next_at.at;
            let v = View { buf: &self.buf, eof };
            match self.probe(eng, &v, pos, ai, in_zone) {
                Err(More) => {
                    stop = pos;
                    break;
                }
                Ok(None) => pos += 1,
                Ok(Some(hit)) if hit.kind != Kind::Email => {
                    sink.run(&self.buf, emit..pos);
                    self.apply(eng, pos, hit, sink.owned, findings);
                    pos += hit.len;
                    emit = pos;
                }
                Ok(Some(hit)) => {
                    // An email may hold other values (a card in its local
                    // part or domain): each is a finding of its own.
                    let mut cluster = std::mem::take(&mut self.cluster);
                    if inside(eng, &v, pos, hit, &mut cluster).is_err() {
                        self.cluster = cluster;
                        stop = pos;
                        break;
                    }
                    sink.run(&self.buf, emit..pos);
                    let end = if cluster.len() == 1 {
                        self.apply(eng, pos, hit, sink.owned, findings);
                        pos + hit.len
                    } else {
                        self.apply_overlapping(eng, &cluster, sink.owned, findings)
                    };
                    self.cluster = cluster;
                    pos = end;
                    emit = pos;
                }
            }
        }
        sink.run(&self.buf, emit..stop);
        let keep_from = stop.saturating_sub(HISTORY);
        self.base += keep_from as u64;
        self.hist = stop - keep_from;
        if sink.close() {
            // The output holds slices of this buffer: the scanner goes on
            // in a new one with the history and the held bytes (at most
            // `HISTORY` plus the hold-back), with room for them and a step
            // like this one, so that the next input does not reallocate
            // (and copy) it again.
            let kept = &self.buf[keep_from..];
            let mut next = BytesMut::with_capacity(kept.len() + end);
            next.extend_from_slice(kept);
            return Some(std::mem::replace(&mut self.buf, next).freeze());
        }
        // As `Vec::drain` would: the kept bytes to the front, in place.
        self.buf.copy_within(keep_from.., 0);
        self.buf.truncate(end - keep_from);
        None
    }

    /// Runs the detectors that can start at `p`, in priority order: anchored
    /// secrets and custom rules, then the numeric kinds, IBAN, email.
    fn probe(&self, eng: &Engine, v: &View, p: usize, ai: usize, in_zone: bool) -> Probe {
        for &(s, pid) in &self.anchors[ai..] {
            if s != p {
                break;
            }
            if let Some(h) = anchored(eng, v, p, pid)? {
                // A secret that an email address starting here holds (a
                // token as the local part): the address and the secret are
                // each a finding (see `inside`).
                if in_zone && eng.kinds().email {
                    if let Some(e) = email::detect(v, p)? {
                        return Ok(Some(e));
                    }
                }
                return Ok(Some(h));
            }
        }
        let b = v.buf[p];
        let class = CLASS[usize::from(b)];
        // Numeric kinds never start inside a word or a digit run, and each
        // only at a shape it may start with (the seek's judgement, per kind:
        // a card is not probed at an SSN's three digits).
        let exhaustive = self.reference.is_some();
        // Nor inside an encoded unit (`%38`): the whole body reads it as
        // one character, and masking a value after it would change that.
        let numeric = class == DIGIT
            && !after_word(v.buf, p)
            && !units::digit_inside_unit(v.buf, p, v.eof)?
            && !units::encoded_digit_before(v.buf, p);
        let shape = if numeric && !exhaustive { Shape::read(v.buf, p, v.eof) } else { None };
        let may = |may_start: fn(&Shape) -> bool| numeric && shape.as_ref().is_none_or(may_start);
        let tries: [(bool, Detector); 5] = [
            (eng.kinds().card && may(card::may_start), card::detect),
            (eng.kinds().ssn && may(ssn::may_start), ssn::detect),
            (eng.kinds().phone && (may(phone::may_start) || class == PHONE_START), phone::detect),
            (
                class == UPPER && eng.kinds().iban && !units::encoded_digit_before(v.buf, p),
                iban::detect,
            ),
            // Nor an address inside an encoded unit (the `u` of `\u0030`):
            // masking it would break the unit and uncover what it hid.
            (
                in_zone
                    && email::is_local(b)
                    && eng.kinds().email
                    && !units::inside_unit(v.buf, p, v.eof)?,
                email::detect,
            ),
        ];
        for (_, detect) in tries.into_iter().filter(|t| t.0) {
            // An ambiguous shape stands only in its context (`context.rs`).
            if let Some(h) = detect(v, p)?.filter(|h| eng.confirms(v.buf, p, h)) {
                // A number that is the local part of an email address:
                // the address holds it (see `inside`).
                if in_zone && numeric && eng.kinds().email && h.kind != Kind::Email {
                    if let Some(e) = email::detect(v, p)? {
                        if e.len > h.len {
                            return Ok(Some(e));
                        }
                    }
                }
                return Ok(Some(h));
            }
        }
        // A value the page wrote with references, escapes, percent-encoding,
        // Unicode separators or inline tags: the same detectors, on units.
        // At a digit whose run the shape measured, the gate the units path
        // asks first (`encoded_after`) is asked here, its first check (the
        // run's length and first digit) before the rest: most runs stop
        // without the units path's calls.
        if let Some(s) = &shape {
            let k = eng.kinds();
            if !(run_may_gate(s.len(), b)
                && (k.card || k.ssn || k.phone)
                && encoded_after_shape(v.buf, p, s, v.eof))
            {
                return Ok(None);
            }
        }
        units_hit(eng, v, p, numeric, shape.as_ref())
    }
}

/// The units path at `p`, where the ASCII detectors found nothing: a
/// value the page wrote with references, escapes, percent-encoding,
/// Unicode separators or inline tags. `shape`, the digit run's at `p` when
/// the probe has read it, spares reading it again.
fn units_hit(eng: &Engine, v: &View, p: usize, numeric: bool, shape: Option<&Shape>) -> Probe {
    let Some(start) = units_start(eng, v, p, numeric, shape)? else { return Ok(None) };
    let hit = probe_units(eng, v, p, start)?;
    // The gate says yes while the cluster runs on to the end of the
    // bytes so far (it may still reach an encoded unit). A match stands
    // only once the gate is sure, as it is on the whole body: a cluster
    // of plain bytes (`1+725-...`) is the ASCII detectors' to decide,
    // and they found nothing. The gate's cluster is bounded, so this
    // waits for a bounded number of bytes.
    if hit.is_some() && !v.eof {
        let sure = View { buf: v.buf, eof: true };
        if units_start(eng, &sure, p, numeric, None)?.is_none() {
            return Err(More);
        }
    }
    Ok(hit)
}

impl Scanner {
    /// Rewrites and reports overlapping findings (`cluster`, the first one
    /// at the leftmost position): each is reported with its own action, and
    /// on bytes that several cover the strongest rewrite wins (redact over
    /// hash over mask over detect; masks of one strength combine). Returns
    /// where the cluster ends.
    fn apply_overlapping(
        &mut self,
        eng: &Engine,
        cluster: &[(usize, Hit)],
        out: &mut Vec<u8>,
        findings: &mut Vec<Finding>,
    ) -> usize {
        let p = cluster[0].0;
        let end = cluster.iter().map(|&(q, h)| q + h.len).max().unwrap_or(p);
        let mut parts = Vec::with_capacity(cluster.len());
        let mut stream = None;
        for &(q, hit) in cluster {
            let Some(action) = self.judge(eng, q, hit) else { continue };
            if streamed(hit) {
                // Its bytes in the span take part like any other finding's
                // (a redacted or hashed one's marker or token comes when the
                // stream closes); the stream goes on from the span's end.
                let raw = &self.buf[q..end];
                let mut mac = eng.mac(hit.kind);
                mac.update(raw);
                let text = match action {
                    Action::Mask if hit.stream => raw.iter().map(|&b| jwt_mask(b)).collect(),
                    Action::Mask | Action::Detect => raw.to_vec(),
                    Action::Redact | Action::Hash => Vec::new(),
                };
                parts.push(rewrite::Part { start: q - p, end: end - p, action, text });
                stream = Some(Stream::new(hit.kind, self.base + q as u64, action, mac));
                continue;
            }
            let mut text = Vec::new();
            let finding = self.rewrite(eng, q, hit, action, &mut text);
            let (start, end) = (q - p, q - p + hit.len);
            parts.push(rewrite::Part { start, end, action: finding.action, text });
            findings.push(finding);
        }
        rewrite::overlapping(out, &self.buf[p..end], &mut parts);
        self.stream = stream;
        end
    }

    /// Rewrites and reports a confirmed match at `p`.
    fn apply(
        &mut self,
        eng: &Engine,
        p: usize,
        hit: Hit,
        out: &mut Vec<u8>,
        findings: &mut Vec<Finding>,
    ) {
        let Some(action) = self.judge(eng, p, hit) else {
            out.extend_from_slice(&self.buf[p..p + hit.len]);
            return;
        };
        if hit.kind == Kind::PrivateKey || hit.stream {
            // A PEM header stays readable when masked; a long JWT is masked
            // like a short one. The rest streams.
            let raw = &self.buf[p..p + hit.len];
            let mut mac = eng.mac(hit.kind);
            mac.update(raw);
            match action {
                Action::Mask if hit.stream => out.extend(raw.iter().map(|&b| jwt_mask(b))),
                Action::Mask | Action::Detect => out.extend_from_slice(raw),
                Action::Redact | Action::Hash => {}
            }
            let start = self.base + p as u64;
            self.stream = Some(Stream::new(hit.kind, start, action, mac));
            return;
        }
        let finding = self.rewrite(eng, p, hit, action, out);
        findings.push(finding);
    }

    /// Normalizes the match at `p` into `norm`: its action, or `None` when
    /// the allow list passes it.
    fn judge(&mut self, eng: &Engine, p: usize, hit: Hit) -> Option<Action> {
        let raw = &self.buf[p..p + hit.len];
        fingerprint::normalize(hit.kind, raw, &mut self.norm);
        if let Kind::Custom(i) = hit.kind {
            if eng.custom(i).case_insensitive {
                self.norm.make_ascii_lowercase();
            }
        }
        if eng.allows(hit.kind, raw, &self.norm) {
            return None;
        }
        Some(eng.action(hit.kind).unwrap_or(Action::Detect))
    }

    /// Writes the rewrite of the match at `p` (normalized by
    /// [`Scanner::judge`]) for `action`; returns its finding.
    fn rewrite(
        &mut self,
        eng: &Engine,
        p: usize,
        hit: Hit,
        action: Action,
        out: &mut Vec<u8>,
    ) -> Finding {
        let wanted = self.fingerprint_limit.as_ref().is_none_or(|l| !l.truncated());
        let raw = &self.buf[p..p + hit.len];
        let mac = (wanted || action == Action::Hash).then(|| {
            let mut mac = eng.mac(hit.kind);
            mac.update(&self.norm);
            fingerprint::finish(mac)
        });
        let json_number = self.hint == ContentHint::Json && json_number_context(&self.buf, p, raw);
        let name = eng.kind_name(hit.kind);
        let applied = rewrite::write(
            out,
            hit.kind,
            name,
            raw,
            hit.keep_prefix,
            action,
            eng.card_mask(),
            json_number,
            mac.as_ref(),
        );
        let start = self.base + p as u64;
        let fingerprint = mac.as_ref().map(fingerprint::fingerprint);
        if let (true, Some(made)) = (wanted, &mut self.fingerprint_limit) {
            made.add(fingerprint);
        }
        Finding {
            kind: hit.kind,
            start,
            end: start + hit.len as u64,
            brand: hit.brand,
            action: applied,
            fingerprint,
        }
    }
}

/// What the units path tries at a candidate: the numeric kinds at a digit
/// (ASCII or encoded), a phone number at `+` or `(`, an IBAN at a capital.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UnitStart {
    Digit,
    Phone,
    Iban,
}

/// Whether the units path applies at `p`, where the ASCII detectors found
/// nothing: the cluster that starts here runs into a unit only the units
/// path reads, or `p` is a digit written encoded. The seek returns every
/// such position ([`encoded_after`], [`encoded_start`]).
fn units_start(
    eng: &Engine,
    v: &View,
    p: usize,
    numeric: bool,
    shape: Option<&Shape>,
) -> Result<Option<UnitStart>, More> {
    let k = eng.kinds();
    let (buf, eof) = (v.buf, v.eof);
    let any_numeric = k.card || k.ssn || k.phone;
    let b = buf[p];
    let start = if b.is_ascii_digit() {
        if !numeric || !any_numeric {
            return Ok(None);
        }
        let gate = match shape {
            Some(shape) => encoded_after_shape(buf, p, shape, eof),
            None => {
                let (run, _) = v.run(p, 5, |b| b.is_ascii_digit())?;
                encoded_after(buf, p, run, eof)
            }
        };
        gate.then_some(UnitStart::Digit)
    } else if matches!(b, b'+' | b'(') {
        (k.phone
            && phone_open(buf, p, eof)
            && units::encoded_cluster_holds(buf, p + 1, p + 1, eof, units::MIN_PHONE_DIGITS))
        .then_some(UnitStart::Phone)
    } else if b.is_ascii_uppercase() {
        (k.iban
            && iban_start(buf, p, eof)
            && !units::encoded_digit_before(buf, p)
            && units::cluster_ends_encoded(buf, p, eof, true))
        .then_some(UnitStart::Iban)
    } else {
        (any_numeric && encoded_start(buf, p, eof)).then_some(UnitStart::Digit)
    };
    Ok(start)
}

/// Runs the detectors `start` names on the normalized [`Window`] at `p`
/// and maps a match back to its raw bytes.
fn probe_units(eng: &Engine, v: &View, p: usize, start: UnitStart) -> Probe {
    // An IBAN needs no words before it, and whether it is glued to a word
    // is the raw byte's to say ([`iban_start`], as on the ASCII path): read
    // through a tag (`AKIA...6</span>GB82...`) the byte before it would be
    // the key's last, and masking the key would uncover the IBAN. A tag
    // between two letters or digits ends a value (`Window::read_with`), as
    // a `<` does on the ASCII path: a card before `</span>822/43/8021` is
    // not refused for the SSN's digits, which masking the SSN would hide.
    let iban = start == UnitStart::Iban;
    let mut w = Window::read_with(v.buf, p, v.eof, true);
    // A mask's `*` right before the candidate stands for the letter or
    // digit it replaced: a number written encoded right after a value the
    // ASCII path read (`AKIA...6\u0034111 ...`) is glued to it, and stays
    // glued once that value is masked.
    if !iban && w.at > 0 && w.norm[w.at - 1] == b'*' {
        w.norm[w.at - 1] = b'0';
    }
    let from = if iban { w.at } else { 0 };
    let nv = View { buf: &w.bytes()[from..], eof: w.eof };
    let q = w.at - from;
    if q >= nv.buf.len() {
        return if w.eof { Ok(None) } else { Err(More) };
    }
    let k = eng.kinds();
    let digit = start == UnitStart::Digit;
    let tries: [(bool, Detector); 4] = [
        (digit && k.card, card::detect),
        (digit && k.ssn, ssn::detect),
        (start != UnitStart::Iban && k.phone, phone::detect),
        (start == UnitStart::Iban, iban::detect),
    ];
    for (_, detect) in tries.into_iter().filter(|t| t.0) {
        // Context is judged on the normalized window, as on plain text: an
        // encoded contiguous run is as ambiguous as a plain one, and the
        // words before it are read decoded (`card&nbsp;number`).
        if let Some(h) = detect(&nv, q)?.filter(|h| eng.confirms(nv.buf, q, h)) {
            return Ok(Some(Hit { len: w.raw_len(h.len), ..h }));
        }
    }
    Ok(None)
}

/// Confirms the anchored detector (a built-in secret or a custom rule) of
/// automaton pattern `pid` at `p`; `None` when it is off or does not match.
fn anchored(eng: &Engine, v: &View, p: usize, pid: u32) -> Probe {
    let (anchor, alen) = eng.anchor(pid);
    match anchor {
        Anchor::Secret(sec) => {
            if eng.action(sec.kind()).is_none() {
                return Ok(None);
            }
            secrets::detect(v, p, sec, alen)
        }
        Anchor::Custom { rule, exact } => {
            if exact && !eng.anchor_text_matches(pid as usize, &v.buf[p..p + alen]) {
                return Ok(None);
            }
            super::custom::detect(v, p, rule, eng.custom(rule), alen, eng.max_custom_match())
        }
    }
}

/// Lists `hit` (an email at `p`) and every value that starts inside it
/// into `cluster`, leftmost first and not overlapping one another, each
/// judged by its own detector as anywhere else: a card, SSN or phone in a
/// local part or a domain label, a secret or custom rule (which may run on
/// past the address: `a.b@example.ghp_...`). A secret too long to hold (a
/// streamed JWT) ends the list: it holds everything after its start.
fn inside(
    eng: &Engine,
    v: &View,
    p: usize,
    hit: Hit,
    cluster: &mut Vec<(usize, Hit)>,
) -> Result<(), More> {
    cluster.clear();
    cluster.push((p, hit));
    let k = eng.kinds();
    let numeric = k.card || k.ssn || k.phone;
    let end = p + hit.len;
    let mut sites = Vec::new();
    let mut q = p;
    while q < end {
        // An anchor that has not fully arrived may still start here.
        if !v.eof && v.buf.len() - q < eng.max_anchor() && eng.is_anchor_prefix(&v.buf[q..]) {
            return Err(More);
        }
        sites.clear();
        eng.anchors_at(v.buf, q, &mut sites);
        if eng.has_bounded() {
            eng.bounded_at(v.buf, q, &mut sites);
        }
        let mut found = None;
        for &(_, pid) in &sites {
            if let Some(h) = anchored(eng, v, q, pid)? {
                found = Some(h);
                break;
            }
        }
        if found.is_none() && numeric && v.buf[q].is_ascii_digit() && !after_word(v.buf, q) {
            let tries: [(bool, Detector); 3] =
                [(k.card, card::detect), (k.ssn, ssn::detect), (k.phone, phone::detect)];
            for (_, detect) in tries.into_iter().filter(|t| t.0) {
                if let Some(h) = detect(v, q)?.filter(|h| eng.confirms(v.buf, q, h)) {
                    found = Some(h);
                    break;
                }
            }
        }
        if found.is_none() && k.iban && v.buf[q].is_ascii_uppercase() && q > p {
            // An IBAN starting in a domain label (`a@b.co.GB82...`), plain
            // or written encoded: masking the address would uncover it.
            found = match iban::detect(v, q)? {
                Some(h) => Some(h),
                None => units_hit(eng, v, q, false, None)?.filter(|h| h.kind == Kind::Iban),
            };
        }
        if let Some(h) = found {
            cluster.push((q, h));
            if streamed(h) {
                break;
            }
            q += h.len;
            continue;
        }
        q += 1;
    }
    Ok(())
}

/// A confirmed match whose rest the scanner rewrites as a stream.
fn streamed(hit: Hit) -> bool {
    hit.stream || hit.kind == Kind::PrivateKey
}

/// True when an all-digit value at `p` is a bare JSON number: not inside a
/// string, and the nearest non-blank byte before it opens a value.
fn json_number_context(buf: &[u8], p: usize, raw: &[u8]) -> bool {
    if !raw.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if p > 0 && buf[p - 1] == b'"' {
        return false;
    }
    let lo = p.saturating_sub(HISTORY);
    buf[lo..p]
        .iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| matches!(b, b':' | b'[' | b','))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::seek::{find_digit, may_start_at, seek_blocks, BLOCK};
    use super::super::{Brand, CustomRule, EngineConfig};
    use super::*;

    fn engine_with(f: impl FnOnce(&mut EngineConfig)) -> Arc<Engine> {
        let mut c = EngineConfig { hash_key: b"test-key".to_vec(), ..Default::default() };
        f(&mut c);
        Arc::new(Engine::new(c).unwrap())
    }

    fn all(action: Action) -> impl FnOnce(&mut EngineConfig) {
        move |c| {
            c.detectors =
                Kind::BUILTIN.into_iter().map(|k| (k, action)).collect::<BTreeMap<_, _>>();
        }
    }

    fn scan(e: &Arc<Engine>, s: &str, h: ContentHint) -> (String, Vec<Finding>) {
        let (o, f) = e.scan_all(s.as_bytes(), h);
        (String::from_utf8(o).unwrap(), f)
    }

    /// The first `n` distinct fingerprints of `findings`, and whether a
    /// further distinct one followed: what the audit line lists.
    fn first_distinct(findings: &[Finding], n: usize) -> (Vec<crate::detect::Fingerprint>, bool) {
        let mut list = FingerprintList::new(n);
        for f in findings {
            list.add(f.fingerprint);
        }
        (list.as_slice().to_vec(), list.truncated())
    }

    /// With a fingerprint limit the output and every finding are the same
    /// but for fingerprints past the limit; the first `limit` distinct and
    /// whether more followed are the same; a `hash` token keeps its
    /// fingerprint; and fingerprints are skipped, in one feed.
    #[test]
    fn a_fingerprint_limit_changes_nothing_a_list_of_that_length_shows() {
        let engine = engine_with(|c| {
            c.detectors = [(Kind::Card, Action::Hash), (Kind::Ssn, Action::Mask)]
                .into_iter()
                .chain([(Kind::Email, Action::Redact), (Kind::Iban, Action::Detect)])
                .collect();
        });
        let mut mixed = String::new();
        for i in 0..6 {
            mixed.push_str(&format!("user{i}@example.com 822-43-802{i} 4111 1111 1111 1111\n"));
        }
        let json = r#"{"card":4111111111111111,"ssn":"822438021","to":"x@example.org"}"#;
        // (input, hint, limit, some fingerprint skipped): `mixed` has 13
        // distinct values (the card repeats), the IBAN line 2, the JSON 3.
        let cases = [
            (mixed.as_str(), ContentHint::Text, 0, true),
            (mixed.as_str(), ContentHint::Text, 3, true),
            (mixed.as_str(), ContentHint::Text, 12, false),
            ("iban GB82 WEST 1234 5698 7654 32 and a@b.example.com", ContentHint::Text, 1, false),
            (json, ContentHint::Json, 1, true),
        ];
        for (input, hint, limit, skips) in cases {
            let what = format!("limit {limit}: {input}");
            let mut whole = Scanner::new(engine.clone(), hint);
            let (mut want_out, mut want) = (Vec::new(), Vec::new());
            whole.feed(input.as_bytes(), &mut want_out, &mut want);
            whole.finish(&mut want_out, &mut want);
            assert!(want.iter().all(|f| f.fingerprint.is_some()), "{what}");

            let mut lean = Scanner::new(engine.clone(), hint);
            lean.limit_fingerprints(limit);
            let (mut out, mut got) = (Vec::new(), Vec::new());
            lean.feed(input.as_bytes(), &mut out, &mut got);
            lean.finish(&mut out, &mut got);
            assert_eq!(out, want_out, "{what}");
            assert_eq!(got.len(), want.len(), "{what}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(Finding { fingerprint: w.fingerprint, ..g.clone() }, *w, "{what}");
                assert!(g.fingerprint.is_none() || g.fingerprint == w.fingerprint, "{what}");
                if w.action == Action::Hash {
                    assert_eq!(g.fingerprint, w.fingerprint, "{what}");
                }
            }
            assert_eq!(first_distinct(&got, limit), first_distinct(&want, limit), "{what}");
            let skipped = got.iter().filter(|f| f.fingerprint.is_none()).count();
            assert_eq!(skipped > 0, skips, "{what}: {skipped} skipped");
        }
    }

    #[test]
    fn rewrites_per_action() {
        let input = "card 4111 1111 1111 1111, ssn 822-43-8021.";
        let cases = [
            (Action::Mask, "card **** **** **** 1111, ssn ***-**-****."),
            (Action::Redact, "card [REDACTED:card], ssn [REDACTED:ssn]."),
            (Action::Detect, input),
        ];
        for (a, want) in cases {
            let (out, f) = scan(&engine_with(all(a)), input, ContentHint::Text);
            assert_eq!(out, want);
            assert_eq!(f.len(), 2);
            assert_eq!(
                (f[0].kind, f[0].start, f[0].end, f[0].brand, f[0].action),
                (Kind::Card, 5, 24, Some(Brand::Visa), a)
            );
        }
        let (out, f) = scan(&engine_with(all(Action::Hash)), input, ContentHint::Text);
        assert!(out.starts_with("card tok_card_"), "{out}");
        // Same normalized value, same token and fingerprint.
        let (out2, f2) = scan(
            &engine_with(all(Action::Hash)),
            "card 4111-1111-1111-1111, ssn 822 43 8021.",
            ContentHint::Text,
        );
        assert_eq!(out, out2);
        assert_eq!(f[0].fingerprint, f2[0].fingerprint);
        // A different key gives a different fingerprint.
        let other = engine_with(|c| c.hash_key = b"other".to_vec());
        assert_ne!(scan(&other, input, ContentHint::Text).1[0].fingerprint, f[0].fingerprint);
    }

    /// Issue 16's forms, one row each: found with the plain value's
    /// fingerprint, masked in their own form and length (last four digits
    /// of a card and of an IBAN kept), the span from the first digit to the
    /// last.
    #[test]
    fn every_form_is_found_and_masked_in_its_form() {
        type Row = (Kind, ContentHint, &'static str, &'static str);
        let rows: &[Row] = &[
            (
                Kind::Card,
                ContentHint::Html,
                "4111&nbsp;1111&nbsp;1111&nbsp;1111",
                "****&nbsp;****&nbsp;****&nbsp;1111",
            ),
            (
                Kind::Card,
                ContentHint::Html,
                "4111&thinsp;1111&ensp;1111&emsp;1111",
                "****&thinsp;****&ensp;****&emsp;1111",
            ),
            (
                Kind::Card,
                ContentHint::Html,
                "4111&#8209;1111&#45;1111&#x2D;1111",
                "****&#8209;****&#45;****&#x2D;1111",
            ),
            (
                Kind::Card,
                ContentHint::Html,
                "4111&#160;1111&#32;1111&#XA0;1111",
                "****&#160;****&#32;****&#XA0;1111",
            ),
            (
                Kind::Card,
                ContentHint::Html,
                "&#52;&#49;&#x31;&#X31; 1111 1111 1111",
                "&#42;&#42;&#x2A;&#X2A; **** **** 1111",
            ),
            (
                Kind::Card,
                ContentHint::Html,
                "4111</b> <b>1111</b> <b>1111</b> <b>1111",
                "****</b> <b>****</b> <b>****</b> <b>1111",
            ),
            (
                Kind::Card,
                ContentHint::Text,
                "4111\u{a0}1111\u{2007}1111\u{202f}1111",
                "****\u{a0}****\u{2007}****\u{202f}1111",
            ),
            (
                Kind::Card,
                ContentHint::Text,
                "4111\u{2009}1111\u{2011}1111\u{2013}1111",
                "****\u{2009}****\u{2011}****\u{2013}1111",
            ),
            (
                Kind::Card,
                ContentHint::Text,
                "\u{ff14}\u{ff11}\u{ff11}\u{ff11} 1111 1111 1111",
                "\u{ff0a}\u{ff0a}\u{ff0a}\u{ff0a} **** **** 1111",
            ),
            (Kind::Card, ContentHint::Text, "4111.1111.1111.1111", "****.****.****.1111"),
            (Kind::Card, ContentHint::Text, "4111/1111/1111/1111", "****/****/****/1111"),
            (Kind::Card, ContentHint::Text, "4111_1111_1111_1111", "****_****_****_1111"),
            (Kind::Card, ContentHint::Text, "4111 1111-1111 1111", "**** ****-**** 1111"),
            (
                Kind::Card,
                ContentHint::Json,
                "4111\\u00201111\\u00a01111\\u002d1111",
                "****\\u0020****\\u00a0****\\u002d1111",
            ),
            (
                Kind::Card,
                ContentHint::Json,
                "\\u0034\\u0031\\u0031\\u0031 1111 1111 1111",
                "\\u002A\\u002A\\u002A\\u002A **** **** 1111",
            ),
            (
                Kind::Card,
                ContentHint::Text,
                "4111%201111%2D1111%2d1111",
                "****%20****%2D****%2d1111",
            ),
            (
                Kind::Card,
                ContentHint::Text,
                "%34%31%31%31+1111+1111+1111",
                "%2A%2A%2A%2A+****+****+1111",
            ),
            (
                Kind::Card,
                ContentHint::Text,
                "4111%C2%A01111%C2%A01111%C2%A01111",
                "****%C2%A0****%C2%A0****%C2%A01111",
            ),
            (Kind::Ssn, ContentHint::Html, "822&#45;43&#45;8021", "***&#45;**&#45;****"),
            (Kind::Ssn, ContentHint::Json, "822\\u002d43\\u002d8021", "***\\u002d**\\u002d****"),
            (
                Kind::Ssn,
                ContentHint::Text,
                "\u{ff18}\u{ff12}\u{ff12}-43-8021",
                "\u{ff0a}\u{ff0a}\u{ff0a}-**-****",
            ),
            (
                Kind::Iban,
                ContentHint::Html,
                "GB82&nbsp;WEST&nbsp;1234&nbsp;5698&nbsp;7654&nbsp;32",
                "GB**&nbsp;****&nbsp;****&nbsp;****&nbsp;**54&nbsp;32",
            ),
            (
                Kind::Iban,
                ContentHint::Text,
                "GB82+WEST+1234+5698+7654+32",
                "GB**+****+****+****+**54+32",
            ),
            (
                Kind::Phone,
                ContentHint::Html,
                "+44&nbsp;20&nbsp;7946&nbsp;0958",
                "+**&nbsp;**&nbsp;****&nbsp;****",
            ),
            (Kind::Phone, ContentHint::Text, "(415)%20555%2D0132", "(***)%20***%2D****"),
            (Kind::Phone, ContentHint::Text, "030%2F12345678", "***%2F********"),
            (Kind::Phone, ContentHint::Text, "0221%2f123%204567", "****%2f***%20****"),
            (Kind::Phone, ContentHint::Text, "03322%2F1234567", "*****%2F*******"),
            (Kind::Phone, ContentHint::Html, "030&#47;1234567", "***&#47;*******"),
        ];
        let e = engine_with(all(Action::Mask));
        for &(kind, h, value, want) in rows {
            let doc = format!("pay {value} now");
            let (out, f) = scan(&e, &doc, h);
            assert_eq!(out, format!("pay {want} now"), "{value}");
            assert_eq!(f.len(), 1, "{value}");
            assert_eq!(
                (f[0].kind, f[0].start, f[0].end),
                (kind, 4, 4 + value.len() as u64),
                "{value}"
            );
            // The same chunked one byte at a time.
            let mut s = Scanner::new(e.clone(), h);
            let (mut o, mut fs) = (Vec::new(), Vec::new());
            for b in doc.as_bytes().chunks(1) {
                s.feed(b, &mut o, &mut fs);
            }
            s.finish(&mut o, &mut fs);
            assert_eq!((o, fs), (out.into_bytes(), f), "{value} in 1-byte chunks");
        }
        // A German number in a query string, its area code's slash
        // percent-encoded: the same at every cut into two chunks.
        let doc = "GET /c?tel=030%2F12345678&x=1";
        let (out, f) = scan(&e, doc, ContentHint::Text);
        assert_eq!(out, "GET /c?tel=***%2F********&x=1");
        assert_eq!(
            f.iter().map(|f| (f.kind, f.start, f.end)).collect::<Vec<_>>(),
            [(Kind::Phone, 11, 25)]
        );
        for cut in 1..doc.len() {
            let mut s = Scanner::new(e.clone(), ContentHint::Text);
            let (mut o, mut fs) = (Vec::new(), Vec::new());
            s.feed(&doc.as_bytes()[..cut], &mut o, &mut fs);
            s.feed(&doc.as_bytes()[cut..], &mut o, &mut fs);
            s.finish(&mut o, &mut fs);
            assert_eq!((o, fs), (out.clone().into_bytes(), f.clone()), "cut at {cut}");
        }
        // Encoded slashes that are no area code's: dates, a short number.
        for doc in
            ["on 01%2F05%2F2024", "invoice 0042%2F2024", "2024&#47;05&#47;06", "v0.30%2F1234567"]
        {
            let (out, f) = scan(&e, doc, ContentHint::Html);
            assert!(f.is_empty(), "{doc}: {f:?}");
            assert_eq!(out, doc);
        }
        // Not values: table cells (block tags separate), entities that are
        // not separators, a mixed punctuation run, a date.
        for doc in [
            "<td>4111</td><td>1111</td><td>1111</td><td>1111</td>",
            "4111&amp;1111&amp;1111&amp;1111",
            "4111.1111/1111.1111",
            "2024&#45;05&#45;06",
            "v&#52;111 1111 1111 1111",
        ] {
            let (out, f) = scan(&e, doc, ContentHint::Html);
            assert!(f.iter().all(|f| f.kind != Kind::Card), "{doc}: {f:?}");
            assert_eq!(out, doc);
        }
    }

    #[test]
    fn json_numbers_stay_numbers() {
        let doc = r#"{"pan": 4111111111111111, "list": [378282246310005, 5], "s": "4111111111111111", "ssn_no": 822438021}"#;
        for a in [Action::Mask, Action::Redact, Action::Hash] {
            let (out, f) = scan(&engine_with(all(a)), doc, ContentHint::Json);
            let v: serde_json::Value =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("{a:?}: {e}: {out}"));
            assert_eq!(v["pan"], serde_json::json!(9000000000001111u64));
            assert_eq!(v["list"][0], serde_json::json!(900000000000005u64));
            assert_eq!(f[0].action, Action::Mask);
            assert_eq!(f[2].action, a);
            // The bare SSN is found through its keyword.
            assert_eq!(f.last().unwrap().kind, Kind::Ssn);
        }
    }

    #[test]
    fn html_rewrites_add_no_markup() {
        for a in [Action::Mask, Action::Redact, Action::Hash] {
            let input =
                "<td>4111111111111111</td><td>a.b@example.com</td><td>AKIA6HQS25BK3I6RNGX6</td>";
            let (out, f) = scan(&engine_with(all(a)), input, ContentHint::Html);
            assert_eq!(f.len(), 3);
            let count = |s: &str| {
                s.bytes().filter(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\'')).count()
            };
            assert_eq!(count(&out), count(input), "{out}");
        }
    }

    #[test]
    fn allow_list_and_custom_rules() {
        let e = engine_with(|c| {
            c.allow_values = vec!["4111-1111-1111-1111".into()];
            c.allow_patterns = vec![r"37828224631\d+".into()];
            c.custom = vec![CustomRule {
                name: "honey".into(),
                literals: vec!["canary-host.internal".into()],
                case_insensitive: true,
                action: Some(Action::Redact),
                ..Default::default()
            }];
        });
        let (out, f) = scan(
            &e,
            "4111111111111111 378282246310005 CANARY-host.internal 5500000000000004",
            ContentHint::Text,
        );
        assert_eq!(out, "4111111111111111 378282246310005 [REDACTED:honey] ************0004");
        assert_eq!(f.len(), 2);
        assert_eq!(e.kind_name(f[0].kind), "honey");
    }

    #[test]
    fn disabled_detectors_do_nothing() {
        let e = engine_with(|c| {
            c.detectors = [(Kind::Ssn, Action::Mask)].into_iter().collect();
        });
        let (out, f) =
            scan(&e, "4111111111111111 822-43-8021 AKIA6HQS25BK3I6RNGX6", ContentHint::Text);
        assert_eq!(out, "4111111111111111 ***-**-**** AKIA6HQS25BK3I6RNGX6");
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn binary_junk_and_invalid_utf8_never_panic() {
        let e = engine_with(|_| {});
        let mut junk: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        junk.extend_from_slice(b"\xff\xfe4111111111111111\xc3");
        let (out, f) = e.scan_all(&junk, ContentHint::Text);
        assert_eq!(out.len(), junk.len());
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn pem_redacted_and_hashed_as_one_token() {
        let pem = "k=\"-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\nAbc+/=\\n-----END RSA PRIVATE KEY-----\\n\" done";
        let (out, f) = scan(&engine_with(all(Action::Redact)), pem, ContentHint::Json);
        assert_eq!(out, "k=\"[REDACTED:private_key]\\n\" done");
        assert_eq!(f.len(), 1);
        let (out, _) = scan(&engine_with(all(Action::Mask)), pem, ContentHint::Json);
        assert_eq!(out, "k=\"-----BEGIN RSA PRIVATE KEY-----\\n******\\n******\\n-----END RSA PRIVATE KEY-----\\n\" done");
        let (out, _) = scan(&engine_with(all(Action::Hash)), pem, ContentHint::Json);
        assert!(out.starts_with("k=\"tok_private_key_") && out.ends_with("\\n\" done"), "{out}");
    }

    /// A key body far longer than any real key is still masked to its END
    /// line, in any chunking: nothing of a confirmed key passes.
    #[test]
    fn pem_body_of_any_length_is_masked_to_the_end() {
        let line = format!("{}\n", "QUJD".repeat(16));
        let body = line.repeat(80 * 1024 / line.len());
        let pem = format!("x -----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----\n y");
        let e = engine_with(all(Action::Mask));
        let masked_body: String = body.chars().map(|c| if c == '\n' { c } else { '*' }).collect();
        let want =
            format!("x -----BEGIN PRIVATE KEY-----\n{masked_body}-----END PRIVATE KEY-----\n y");
        for size in [usize::MAX, 1, 4093] {
            let mut s = Scanner::new(e.clone(), ContentHint::Text);
            let (mut o, mut f) = (Vec::new(), Vec::new());
            for c in pem.as_bytes().chunks(size.min(pem.len())) {
                s.feed(c, &mut o, &mut f);
                assert!(s.held() <= e.max_hold());
            }
            s.finish(&mut o, &mut f);
            assert!(o == want.as_bytes(), "chunks of {size}: the key body was not masked whole");
            assert_eq!(f.len(), 1);
            assert_eq!(
                (f[0].kind, f[0].start, f[0].end),
                (Kind::PrivateKey, 2, pem.len() as u64 - 3)
            );
        }
    }

    #[test]
    fn hold_is_bounded_on_long_candidates() {
        let e = engine_with(|_| {});
        let mut s = Scanner::new(e.clone(), ContentHint::Text);
        let (mut out, mut f) = (Vec::new(), Vec::new());
        for chunk in [&b"1"[..], b"2345678901234567890123", b"aaaa@", b"bbbb"] {
            for _ in 0..200 {
                s.feed(chunk, &mut out, &mut f);
                assert!(s.held() <= e.max_hold());
            }
        }
        s.finish(&mut out, &mut f);
        assert_eq!(s.consumed() as usize, out.len());
        let dbg = format!("{s:?} {e:?}");
        assert!(!dbg.contains("2345"));
    }

    /// A JWT longer than the hold-back cap (`secrets::MAX_JWT`) is still a
    /// finding, rewritten as a stream, identically for every chunking; the
    /// same length without a JOSE header is not a token.
    #[test]
    fn jwt_longer_than_the_hold_is_streamed_not_passed() {
        let header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; // {"alg":"HS256","typ":"JWT"}
        let payload = format!("eyJ{}", "a".repeat(secrets::MAX_JWT + 500));
        let jwt = format!("{header}.{payload}.c2ln_bmF0-dXJl");
        let doc = format!("token: {jwt} end");
        let masked: String = jwt.bytes().map(|b| char::from(jwt_mask(b))).collect();
        for (action, want) in [
            (Action::Mask, format!("token: {masked} end")),
            (Action::Redact, "token: [REDACTED:jwt] end".to_string()),
            (Action::Detect, doc.clone()),
        ] {
            let e = engine_with(all(action));
            let (out, f) = scan(&e, &doc, ContentHint::Text);
            // Compared without printing: the strings are 8 KiB long.
            let differs_at = out.bytes().zip(want.bytes()).position(|(a, b)| a != b);
            assert!(
                out == want,
                "{action:?}: differs at {differs_at:?}, lengths {} {}",
                out.len(),
                want.len()
            );
            assert_eq!(f.len(), 1, "{action:?}");
            assert_eq!((f[0].kind, f[0].start, f[0].end), (Kind::Jwt, 7, 7 + jwt.len() as u64));
            for size in [1, 7, 4096] {
                let mut s = Scanner::new(e.clone(), ContentHint::Text);
                let (mut o, mut fs) = (Vec::new(), Vec::new());
                for c in doc.as_bytes().chunks(size) {
                    s.feed(c, &mut o, &mut fs);
                    assert!(s.held() <= e.max_hold());
                }
                s.finish(&mut o, &mut fs);
                assert!(o == want.as_bytes(), "{action:?} in chunks of {size}");
                assert_eq!(fs, f, "{action:?} in chunks of {size}");
            }
        }
        let (out, f) = scan(&engine_with(all(Action::Hash)), &doc, ContentHint::Text);
        assert!(out.starts_with("token: tok_jwt_") && out.ends_with(" end") && out.len() < 64);
        assert_eq!(f.len(), 1);

        let blob = format!("eyJub3QiOjF9.{payload}.c2ln"); // {"not":1}: no "alg"
        let (out, f) = scan(&engine_with(all(Action::Mask)), &blob, ContentHint::Text);
        assert!(out == blob, "a blob without a JOSE header was rewritten");
        assert!(f.is_empty(), "{f:?}");
    }

    /// A long (streamed) JWT that ends a sentence ends before its full
    /// stop, in any chunking; a dot before another segment goes on.
    #[test]
    fn streamed_jwt_ends_before_a_full_stop() {
        let header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
        let jwt = format!("{header}.eyJ{}.c2ln", "a".repeat(secrets::MAX_JWT + 10));
        let masked: String = jwt.bytes().map(|b| char::from(jwt_mask(b))).collect();
        let e = engine_with(all(Action::Mask));
        for (doc, want, end) in [
            (format!("t {jwt}. Next"), format!("t {masked}. Next"), 2 + jwt.len()),
            (format!("t {jwt}."), format!("t {masked}."), 2 + jwt.len()),
            (format!("t {jwt}.x y"), format!("t {masked}.* y"), 4 + jwt.len()),
        ] {
            for size in [1, 7, 4096, doc.len()] {
                let mut s = Scanner::new(e.clone(), ContentHint::Text);
                let (mut o, mut f) = (Vec::new(), Vec::new());
                for c in doc.as_bytes().chunks(size) {
                    s.feed(c, &mut o, &mut f);
                }
                s.finish(&mut o, &mut f);
                assert!(o == want.as_bytes(), "chunks of {size}, ends at {end}");
                assert_eq!(f.len(), 1);
                assert_eq!((f[0].kind, f[0].start, f[0].end), (Kind::Jwt, 2, end as u64));
            }
        }
    }

    fn reference(e: &Arc<Engine>, h: ContentHint) -> Scanner {
        Scanner::exhaustive(e.clone(), h)
    }

    /// The scanner's two output modes, so that one helper runs either:
    /// written into one `Vec` ([`Scanner::feed`]) or handed out as pieces
    /// ([`Scanner::feed_shared`]), joined here.
    trait Output: Default {
        fn feed(&mut self, s: &mut Scanner, chunk: &[u8], f: &mut Vec<Finding>);
        fn finish(&mut self, s: &mut Scanner, f: &mut Vec<Finding>);
        fn into_bytes(self) -> Vec<u8>;
    }

    impl Output for Vec<u8> {
        fn feed(&mut self, s: &mut Scanner, chunk: &[u8], f: &mut Vec<Finding>) {
            s.feed(chunk, self, f);
        }
        fn finish(&mut self, s: &mut Scanner, f: &mut Vec<Finding>) {
            s.finish(self, f);
        }
        fn into_bytes(self) -> Vec<u8> {
            self
        }
    }

    impl Output for Vec<Bytes> {
        fn feed(&mut self, s: &mut Scanner, chunk: &[u8], f: &mut Vec<Finding>) {
            s.feed_shared(chunk, self, f);
        }
        fn finish(&mut self, s: &mut Scanner, f: &mut Vec<Finding>) {
            s.finish_shared(self, f);
        }
        fn into_bytes(self) -> Vec<u8> {
            self.concat()
        }
    }

    /// Feeds `input` cut at `cuts` (taken modulo its length, in order) and
    /// returns the output and the findings.
    fn run_cuts(s: Scanner, input: &[u8], cuts: &[usize]) -> (Vec<u8>, Vec<Finding>) {
        run_cuts_into::<Vec<u8>>(s, input, cuts)
    }

    /// [`run_cuts`] in the output mode `O`.
    fn run_cuts_into<O: Output>(
        mut s: Scanner,
        input: &[u8],
        cuts: &[usize],
    ) -> (Vec<u8>, Vec<Finding>) {
        let (mut out, mut f) = (O::default(), Vec::new());
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut prev = 0;
        for c in cuts.into_iter().chain([input.len()]) {
            out.feed(&mut s, &input[prev..c], &mut f);
            prev = c;
        }
        out.finish(&mut s, &mut f);
        (out.into_bytes(), f)
    }

    /// Which pieces one step hands out: long unmodified runs as slices of
    /// the buffer (no copy), replacements and short runs owned, in order.
    #[test]
    fn long_unmodified_runs_are_shared_not_copied() {
        let e = engine_with(|_| {});
        let clean = "lorem ipsum dolor sit amet ".repeat(40);
        let n = clean.len();
        let card = " 4111 1111 1111 1111 ";
        let cases: Vec<(String, Vec<Span>)> = vec![
            (clean.clone(), vec![Span::Buf(0..n)]),
            (
                format!("{clean}{card}{clean}"),
                vec![Span::Buf(0..n + 1), Span::Owned(0..19), Span::Buf(n + 20..2 * n + 21)],
            ),
            // Runs between findings shorter than `SHARE_MIN`: one owned piece.
            (format!("a{card}b{card}c"), vec![Span::Owned(0..45)]),
            (String::new(), vec![]),
        ];
        for (input, want) in cases {
            let mut s = Scanner::new(e.clone(), ContentHint::Text);
            s.buf.extend_from_slice(input.as_bytes());
            let (mut owned, mut spans, mut found) = (Vec::new(), Vec::new(), Vec::new());
            let sink = Sink { owned: &mut owned, spans: Some(&mut spans), seg: 0, room: 0 };
            let shared = s.run(true, sink, &mut found);
            assert_eq!(spans, want, "{:?}", &input[..input.len().min(40)]);
            assert_eq!(shared.is_some(), want.iter().any(|s| matches!(s, Span::Buf(_))));
            // The scanner went on in a buffer of its own: the pieces
            // handed out are not changed by what it does next.
            if let Some(b) = shared {
                assert_eq!(&b[..], input.as_bytes());
                assert!(s.buf.len() <= HISTORY);
            }
        }
    }

    /// Engines whose start classes, digit minimum and anchor sets differ.
    fn differential_engines() -> &'static [Arc<Engine>] {
        static ENGINES: std::sync::OnceLock<Vec<Arc<Engine>>> = std::sync::OnceLock::new();
        ENGINES.get_or_init(build_differential_engines)
    }

    fn build_differential_engines() -> Vec<Arc<Engine>> {
        let only = |kinds: &[Kind]| {
            let kinds = kinds.to_vec();
            engine_with(move |c| {
                c.detectors = kinds.into_iter().map(|k| (k, Action::Mask)).collect();
            })
        };
        vec![
            engine_with(|_| {}),
            engine_with(all(Action::Redact)),
            only(&[Kind::Ssn]),
            only(&[Kind::Phone, Kind::Email]),
            only(&[Kind::Card, Kind::Iban]),
            only(&[Kind::Email, Kind::Jwt]),
            engine_with(|c| {
                c.custom = vec![
                    CustomRule {
                        name: "acc".into(),
                        literals: vec!["acc".into(), "ACCT-".into()],
                        case_insensitive: true,
                        ..Default::default()
                    },
                    CustomRule {
                        name: "acct".into(),
                        literals: vec!["ACCT".into()],
                        regex: Some(r"ACCT[0-9]{4,12}".into()),
                        ..Default::default()
                    },
                    CustomRule {
                        name: "num".into(),
                        literals: vec!["12".into()],
                        ..Default::default()
                    },
                ];
            }),
        ]
    }

    const PIECES: &[&str] = &[
        "4111 1111 1111 1111",
        "4111111111111111",
        "378282246310005",
        "822-43-8021",
        "SSN: 822438021",
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
        "DE89370400440532013000",
        "john.doe@example.org",
        "+1-725-602-3938x943",
        "+44 20 7946 0958",
        "(415) 555-0132",
        "415.555.0132",
        "1-785-360-4884",
        "AKIA6HQS25BK3I6RNGX6",
        "ghp_DDMDVLjH3mhpr7sAhgnj0u0SrnAhIMYJeUO1",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
        "ACCT4111111111111111",
        "Acct-",
        // Shapes the digit-run fast path decides without probing.
        "4111-1111-1111-1111",
        "3782-822463-10005",
        "3056 930902 5904",
        "4222222222222",
        "675964982648",
        "6759649826438453",
        "4924 2913 7830 1304 924",
        "30569309025904",
        "001-415-555-0132",
        "822 43 8021",
        "ssn 822438021",
        "2024-05-06 10:11:12",
        "13.46.236.249",
        "ISBN 978-6207369461",
        "1684053472519",
        "3499.60",
        // A keyword at the far edge of its window, and just beyond it.
        "ssn: 29 bytes of other text.... 822438021",
        "ssn: 30 bytes of other text..... 822438021",
        // A card beside another digit group, or inside an email address.
        "qty 2 4111 1111 1111 1111",
        "4111 1111 1111 1111 2 items",
        "1-4111-1111-1111-1111",
        "+1 4111 1111 1111 1111",
        "1234 4111 1111 1111 1111",
        "user@4111111111111111.example.com",
        "a.4111-1111-1111-1111@ex.com",
        "4111111111111111@example.com",
        "822-43-8021@ssn.example.org",
        // A secret inside an email address, or glued to its end.
        "a.b@example.ghp_DDMDVLjH3mhpr7sAhgnj0u0SrnAhIMYJeUO1",
        "ghp_DDMDVLjH3mhpr7sAhgnj0u0SrnAhIMYJeUO1@example.com",
        "ops@AKIA6HQS25BK3I6RNGX6.example.com",
        "x@eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        "x@ACCT41111111.example.com",
        // A JWT ending a sentence, and one with a fourth segment.
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig. Next",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig.x",
        // Local parts of 64 bytes (the longest allowed) and 65.
        "a234567890123456789012345678901234567890123456789012345678901234@example.org",
        "a2345678901234567890123456789012345678901234567890123456789012345@example.org",
        // Issue 16's forms (the units path).
        "4111&nbsp;1111&nbsp;1111&nbsp;1111",
        "4111&#160;1111&#xA0;1111&#45;1111",
        "&#52;&#49;&#49;&#49; 1111 1111 1111",
        "<span>4111</span> <span>1111</span> <span>1111</span> <span>1111</span>",
        "4111\u{a0}1111\u{2009}1111\u{2011}1111",
        "\u{ff14}\u{ff11}\u{ff11}\u{ff11} 1111 1111 1111",
        "4111.1111.1111.1111",
        "4111 1111-1111 1111",
        "4111\\u00201111\\u00a01111\\u002d1111",
        "\\u0034111 1111 1111 1111",
        "4111%201111%2D1111%201111",
        "%34111+1111+1111+1111",
        "822&#45;43&#45;8021",
        "GB82&nbsp;WEST&nbsp;1234&nbsp;5698&nbsp;7654&nbsp;32",
        "+44&nbsp;20&nbsp;7946&nbsp;0958",
        "(415)&nbsp;555-0132",
        "1234&nbsp;4111&nbsp;1111&nbsp;1111&nbsp;1111",
        "<td>4111</td><td>1111</td><td>1111</td><td>1111</td>",
        "-----BEGIN PRIVATE KEY-----&#10;MIIB&#10;-----END PRIVATE KEY-----",
    ];

    #[test]
    fn find_digit_table() {
        assert_eq!(find_digit(b"abcdefghijklmnopq7", 0, 18), Some(17));
        assert_eq!(find_digit(b"abcdefghijklmnopq7", 3, 17), None);
        assert_eq!(find_digit(b"ab3", 0, 3), Some(2));
    }

    /// Every piece, in a sentence, cut once at every byte: a chunk edge
    /// inside a candidate (an IBAN's country code, a phone's `+`) must hold,
    /// not pass it. Exhaustive where the property test samples.
    #[test]
    fn every_single_cut_equals_whole() {
        for e in differential_engines() {
            for piece in PIECES {
                let input = format!("x {piece}, ({piece}) end");
                let input = input.as_bytes();
                let want = run_cuts(reference(e, ContentHint::Text), input, &[]);
                for cut in 0..=input.len() {
                    let got = run_cuts(Scanner::new(e.clone(), ContentHint::Text), input, &[cut]);
                    assert!(got.0 == want.0, "output differs: {piece:?} cut at {cut}");
                    assert_eq!(got.1, want.1, "{piece:?} cut at {cut}");
                }
            }
        }
    }

    /// Every piece at every offset from 0 to past two 64-byte blocks, in
    /// filler text whose bytes around it vary with the offset (letters,
    /// digits, `_`, separators, `+`, `(`): the byte-class masks and their
    /// carries across blocks must judge exactly like probing every
    /// position.
    #[test]
    fn every_offset_across_blocks_equals_whole() {
        const FILLER: &[u8] = b"ab 12-3 x_9 (Q+ 4.5 GB 7Z 00 a,b; ";
        let filler = |n: usize| FILLER.iter().copied().cycle().take(n).collect::<Vec<u8>>();
        for e in differential_engines() {
            for piece in PIECES {
                for offset in 0..=140 {
                    let mut input = filler(offset);
                    input.extend_from_slice(piece.as_bytes());
                    input.extend(filler(150));
                    let want = run_cuts(reference(e, ContentHint::Text), &input, &[]);
                    let got = run_cuts(Scanner::new(e.clone(), ContentHint::Text), &input, &[]);
                    assert!(got.0 == want.0, "output differs: {piece:?} at {offset}");
                    assert_eq!(got.1, want.1, "{piece:?} at {offset}");
                }
            }
        }
    }

    proptest::proptest! {
        /// The block seek stops exactly where judging byte by byte
        /// ([`may_start_at`]) first does, and passes over nothing else.
        #[test]
        fn blocks_stop_where_the_bytewise_judgement_does(
            hay in "([0-9]{1,20}([ .\\-+(A-Z_a-z,]|&#52;|&#39;|%34|\\\\u0034|\u{ff14}){1,3}){8,60}",
            from_frac in 0.0f64..1.0,
            e in 0usize..7,
        ) {
            let buf = hay.as_bytes();
            proptest::prop_assume!(buf.len() >= 2 * BLOCK + 2);
            let eng = &differential_engines()[e];
            let pos = ((buf.len() - 2 * BLOCK) as f64 * from_frac) as usize;
            let sure = buf.len() - 2;
            let first = |to: usize| (pos..to).find(|&p| may_start_at(eng, buf, p, false));
            let mut blocks = Blocks::NONE;
            match seek_blocks(eng, buf, pos, sure, &mut blocks, false) {
                Ok(q) => proptest::prop_assert_eq!(first(q + 1), Some(q)),
                Err(r) => proptest::prop_assert_eq!(first(r), None),
            }
        }
    }

    fn piece() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            3 => prop::sample::select(PIECES).prop_map(|s| s.as_bytes().to_vec()),
            3 => "[0-9]{1,20}".prop_map(String::into_bytes),
            4 => "[0-9 .\\-+()@A-Za-z_%:/]{1,12}".prop_map(String::into_bytes),
            2 => proptest::sample::select(vec!["&nbsp;", "&#52;", "&#", "\\u00a0", "\\u0034", "%20", "%34", "<b>", "</span>", "\u{a0}", "\u{ff14}", "+"]).prop_map(|s| s.as_bytes().to_vec()),
            1 => "[A-Z]{2}[0-9]{2}[A-Z0-9 ]{0,30}".prop_map(String::into_bytes),
            1 => prop::collection::vec(any::<u8>(), 0..6),
        ]
    }

    /// A [`piece`], or a run of prose with nothing to find (up to 1.6 KB,
    /// long enough to leave as a shared slice).
    fn piece_or_prose() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            3 => piece(),
            1 => (1usize..60).prop_map(|n| b"lorem ipsum dolor sit amet ".repeat(n)),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Output as shared pieces equals output written out, in any
        /// split, with runs long enough to be shared between the values.
        #[test]
        fn shared_pieces_equal_the_written_output(
            pieces in proptest::collection::vec(piece_or_prose(), 0..24),
            cuts in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..8),
            e in 0usize..7,
            h in proptest::sample::select(vec![ContentHint::Text, ContentHint::Json, ContentHint::Html]),
        ) {
            let input = pieces.concat();
            let engine = &differential_engines()[e];
            let want = run_cuts(Scanner::new(engine.clone(), h), &input, &cuts);
            let got = run_cuts_into::<Vec<Bytes>>(Scanner::new(engine.clone(), h), &input, &cuts);
            proptest::prop_assert!(want.0 == got.0, "output differs");
            proptest::prop_assert_eq!(&want.1, &got.1);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

        /// The fast path (start classes, digit clusters, leftmost anchor
        /// search) equals probing every position with every overlapping
        /// anchor, whole and in any split.
        #[test]
        fn fast_path_equals_exhaustive_probe(
            // Up to ~600 bytes: long enough for whole 64-byte blocks.
            pieces in proptest::collection::vec(piece(), 0..48),
            cuts in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..8),
            e in 0usize..7,
            h in proptest::sample::select(vec![ContentHint::Text, ContentHint::Json, ContentHint::Html]),
        ) {
            let input = pieces.concat();
            let engine = &differential_engines()[e];
            let want = run_cuts(reference(engine, h), &input, &[]);
            let whole = run_cuts(Scanner::new(engine.clone(), h), &input, &[]);
            proptest::prop_assert!(want.0 == whole.0, "output differs");
            proptest::prop_assert_eq!(&want.1, &whole.1);
            let split = run_cuts(Scanner::new(engine.clone(), h), &input, &cuts);
            proptest::prop_assert!(want.0 == split.0, "split output differs");
            proptest::prop_assert_eq!(&want.1, &split.1);
        }
    }
}
