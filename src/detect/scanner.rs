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
//! One exception to non-overlapping: the numbers inside an email address
//! (a card as its local part or a domain label) are findings of their own,
//! found with the address and rewritten together with it, the strongest
//! action winning on shared bytes.
//!
//! A PEM private key can be several KB, and a JWT may exceed
//! [`secrets::MAX_JWT`]: once a PEM header, or a JWT's header beyond that
//! length, is confirmed, the rest is rewritten as a streaming state (nothing
//! held) until the token ends: a PEM body at its END line or the first byte
//! that cannot be part of a PEM body, a JWT at the first byte that is not
//! base64url or a dot. Neither has a length cap: streaming holds nothing,
//! and a cap would let the rest of a confirmed secret through.

use std::sync::Arc;

use hmac::Mac;

use super::email::{self, MAX_LOCAL};
use super::fingerprint::{self, HmacSha256};
use super::rewrite;
use super::secrets;
use super::view::{
    alnum_bits, count_while, digit_bits, is_word, More, Probe, Shape, View, HISTORY,
};
use super::{card, iban, phone, simd, ssn, Action, Anchor, ContentHint, Engine, Finding, Kind};

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

/// A PEM body or a long JWT being streamed.
struct Stream {
    /// `PrivateKey` or `Jwt`.
    kind: Kind,
    start: u64,
    action: Action,
    mac: HmacSha256,
}

/// Scans one stream, chunk by chunk.
pub struct Scanner {
    engine: Arc<Engine>,
    hint: ContentHint,
    buf: Vec<u8>,
    /// History bytes at the front of `buf` (already emitted).
    hist: usize,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    consumed: u64,
    stream: Option<Stream>,
    anchors: Vec<(usize, u32)>,
    norm: Vec<u8>,
    /// Overlapping findings being applied (reused between them).
    cluster: Vec<(usize, super::view::Hit)>,
    finished: bool,
    /// Test only: an overlapping automaton over the anchors; when set, the
    /// scanner probes every position (the specification the fast path must
    /// equal).
    #[cfg(test)]
    reference: Option<aho_corasick::AhoCorasick>,
}

impl std::fmt::Debug for Scanner {
    // Never print the buffer: it holds raw body bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("hint", &self.hint)
            .field("consumed", &self.consumed)
            .field("held", &self.held())
            .field("streaming", &self.stream.as_ref().map(|p| p.kind))
            .finish()
    }
}

enum Step {
    /// Stop here: the next decision needs more input.
    Hold(usize),
    Continue(usize),
}

impl Scanner {
    pub fn new(engine: Arc<Engine>, hint: ContentHint) -> Scanner {
        Scanner {
            engine,
            hint,
            buf: Vec::new(),
            hist: 0,
            base: 0,
            consumed: 0,
            stream: None,
            anchors: Vec::new(),
            norm: Vec::new(),
            cluster: Vec::new(),
            finished: false,
            #[cfg(test)]
            reference: None,
        }
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
        self.run(false, out, findings);
    }

    /// Ends the stream: flushes whatever was held back.
    pub fn finish(&mut self, out: &mut Vec<u8>, findings: &mut Vec<Finding>) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.run(true, out, findings);
    }

    /// Input bytes consumed so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Input bytes currently held back (not yet emitted).
    pub fn held(&self) -> usize {
        self.buf.len() - self.hist
    }

    fn run(&mut self, eof: bool, out: &mut Vec<u8>, findings: &mut Vec<Finding>) {
        let engine = Arc::clone(&self.engine);
        let eng = &*engine;
        let end = self.buf.len();
        let hist = self.hist;
        // Positions from `limit` on may start a literal anchor that has not
        // fully arrived: hold them (only those whose tail is a proper prefix
        // of some anchor, so a chunk ending in plain text is not delayed).
        let mut limit = end;
        if !eof {
            let tail = end.saturating_sub(eng.max_anchor.saturating_sub(1)).max(hist);
            if let Some(p) = (tail..end).find(|&p| eng.is_anchor_prefix(&self.buf[p..end])) {
                limit = p;
            }
        }

        self.anchors.clear();
        #[cfg(test)]
        let reference = self.reference.clone();
        #[cfg(not(test))]
        let reference: Option<aho_corasick::AhoCorasick> = None;
        if let Some(ac) = &reference {
            // The specification: every overlapping match, every position.
            for m in ac.find_overlapping_iter(&self.buf[hist..]) {
                let s = hist + m.start();
                if s < limit {
                    self.anchors.push((s, m.pattern().as_u32()));
                }
            }
            self.anchors.sort_unstable();
        } else if let Some(ac) = &eng.ac {
            // A leftmost search uses the automaton's SIMD prefilter (an
            // overlapping one cannot): each hit gives the leftmost start of
            // any anchor, and every anchor starting there is listed in
            // pattern order, so the sites equal the overlapping ones.
            let hay = &self.buf[..end];
            let mut at = hist;
            while at < limit {
                let Some(m) = ac.find(aho_corasick::Input::new(hay).range(at..end)) else {
                    break;
                };
                let s = m.start();
                if s >= limit {
                    break;
                }
                eng.anchors_at(hay, s, &mut self.anchors);
                at = s + 1;
            }
        }

        let mut pos = hist;
        let mut emit = hist;
        let mut ai = 0;
        let mut next_at = find_at(&self.buf, pos, eof);
        let mut blocks = Blocks::NONE;
        let stop;
        loop {
            if self.stream.is_some() {
                match self.stream_step(pos, eof, out, findings) {
                    Step::Hold(p) => {
                        stop = p;
                        emit = p;
                        break;
                    }
                    Step::Continue(p) => {
                        pos = p;
                        emit = p;
                        continue;
                    }
                }
            }
            while ai < self.anchors.len() && self.anchors[ai].0 < pos {
                ai += 1;
            }
            let next_anchor = self.anchors.get(ai).map_or(usize::MAX, |a| a.0);
            let bound = limit.min(next_anchor);
            if reference.is_none() {
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
                    out.extend_from_slice(&self.buf[emit..pos]);
                    self.apply(eng, pos, hit, out, findings);
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
                    out.extend_from_slice(&self.buf[emit..pos]);
                    let end = if cluster.len() == 1 {
                        self.apply(eng, pos, hit, out, findings);
                        pos + hit.len
                    } else {
                        self.apply_overlapping(eng, &cluster, out, findings)
                    };
                    self.cluster = cluster;
                    pos = end;
                    emit = pos;
                }
            }
        }
        out.extend_from_slice(&self.buf[emit..stop]);
        let keep_from = stop.saturating_sub(HISTORY);
        self.buf.drain(..keep_from);
        self.base += keep_from as u64;
        self.hist = stop - keep_from;
    }

    /// Runs the detectors that can start at `p`, in priority order: anchored
    /// secrets and custom rules, then the numeric kinds, IBAN, email.
    fn probe(&self, eng: &Engine, v: &View, p: usize, ai: usize, in_zone: bool) -> Probe {
        for &(s, pid) in &self.anchors[ai..] {
            if s != p {
                break;
            }
            let (anchor, alen) = eng.anchors[pid as usize];
            let r = match anchor {
                Anchor::Secret(sec) => {
                    if eng.action(sec.kind()).is_none() {
                        continue;
                    }
                    secrets::detect(v, p, sec, alen)?
                }
                Anchor::Custom { rule, exact } => {
                    if exact && !eng.anchor_text_matches(pid as usize, &v.buf[p..p + alen]) {
                        continue;
                    }
                    super::custom::detect(
                        v,
                        p,
                        rule,
                        &eng.customs[rule as usize],
                        alen,
                        eng.cfg.max_custom_match,
                    )?
                }
            };
            if r.is_some() {
                return Ok(r);
            }
        }
        let b = v.buf[p];
        let class = CLASS[usize::from(b)];
        // Numeric kinds never start inside a word or a digit run, and each
        // only at a shape it may start with (the seek's judgement, per kind:
        // a card is not probed at an SSN's three digits).
        #[cfg(test)]
        let exhaustive = self.reference.is_some();
        #[cfg(not(test))]
        let exhaustive = false;
        let numeric = class == DIGIT && !after_word(v.buf, p);
        let shape = if numeric && !exhaustive { Shape::read(v.buf, p, v.eof) } else { None };
        let may = |may_start: fn(&Shape) -> bool| numeric && shape.as_ref().map_or(true, may_start);
        let tries: [(bool, Detector); 5] = [
            (eng.kinds.card && may(card::may_start), card::detect),
            (eng.kinds.ssn && may(ssn::may_start), ssn::detect),
            (eng.kinds.phone && (may(phone::may_start) || class == PHONE_START), phone::detect),
            (class == UPPER && eng.kinds.iban, iban::detect),
            (in_zone && email::is_local(b) && eng.kinds.email, email::detect),
        ];
        for (_, detect) in tries.into_iter().filter(|t| t.0) {
            if let Some(h) = detect(v, p)? {
                // A number that is the local part of an email address:
                // the address holds it (see `inside`).
                if in_zone && numeric && eng.kinds.email && h.kind != Kind::Email {
                    if let Some(e) = email::detect(v, p)? {
                        if e.len > h.len {
                            return Ok(Some(e));
                        }
                    }
                }
                return Ok(Some(h));
            }
        }
        Ok(None)
    }

    /// Rewrites and reports overlapping findings (`cluster`, the first one
    /// at the leftmost position): each is reported with its own action, and
    /// on bytes that several cover the strongest rewrite wins (redact over
    /// hash over mask over detect; masks of one strength combine). Returns
    /// where the cluster ends.
    fn apply_overlapping(
        &mut self,
        eng: &Engine,
        cluster: &[(usize, super::view::Hit)],
        out: &mut Vec<u8>,
        findings: &mut Vec<Finding>,
    ) -> usize {
        let p = cluster[0].0;
        let end = cluster.iter().map(|&(q, h)| q + h.len).max().unwrap_or(p);
        let mut parts = Vec::with_capacity(cluster.len());
        for &(q, hit) in cluster {
            let raw = &self.buf[q..q + hit.len];
            let name = eng.kind_name(hit.kind);
            fingerprint::normalize(hit.kind, raw, &mut self.norm);
            if eng.allow.allows(hit.kind, raw, &self.norm) {
                continue;
            }
            let action = eng.action(hit.kind).unwrap_or(Action::Detect);
            let mut mac = eng.mac(hit.kind);
            mac.update(&self.norm);
            let mac = fingerprint::finish(mac);
            let json_number =
                self.hint == ContentHint::Json && json_number_context(&self.buf, q, raw);
            let mut text = Vec::new();
            let applied = rewrite::write(
                &mut text,
                hit.kind,
                name,
                raw,
                hit.keep_prefix,
                action,
                eng.cfg.card_mask,
                json_number,
                &mac,
            );
            let start = self.base + q as u64;
            findings.push(Finding {
                kind: hit.kind,
                start,
                end: start + hit.len as u64,
                brand: hit.brand,
                action: applied,
                fingerprint: fingerprint::fingerprint(&mac),
            });
            parts.push(rewrite::Part { start: q - p, end: q - p + hit.len, action: applied, text });
        }
        rewrite::overlapping(out, &self.buf[p..end], &mut parts);
        end
    }

    /// Rewrites and reports a confirmed match at `p`.
    fn apply(
        &mut self,
        eng: &Engine,
        p: usize,
        hit: super::view::Hit,
        out: &mut Vec<u8>,
        findings: &mut Vec<Finding>,
    ) {
        let raw = &self.buf[p..p + hit.len];
        let name = eng.kind_name(hit.kind);
        fingerprint::normalize(hit.kind, raw, &mut self.norm);
        if let Kind::Custom(i) = hit.kind {
            if eng.customs[usize::from(i)].case_insensitive {
                self.norm.make_ascii_lowercase();
            }
        }
        if eng.allow.allows(hit.kind, raw, &self.norm) {
            out.extend_from_slice(raw);
            return;
        }
        let action = eng.action(hit.kind).unwrap_or(Action::Detect);
        let start = self.base + p as u64;
        if hit.kind == Kind::PrivateKey || hit.stream {
            // A PEM header stays readable when masked; a long JWT is masked
            // like a short one. The rest streams.
            let mut mac = eng.mac(hit.kind);
            mac.update(raw);
            match action {
                Action::Mask if hit.stream => out.extend(raw.iter().map(|&b| jwt_mask(b))),
                Action::Mask | Action::Detect => out.extend_from_slice(raw),
                Action::Redact | Action::Hash => {}
            }
            self.stream = Some(Stream { kind: hit.kind, start, action, mac });
            return;
        }
        let mut mac = eng.mac(hit.kind);
        mac.update(&self.norm);
        let mac = fingerprint::finish(mac);
        let json_number = self.hint == ContentHint::Json && json_number_context(&self.buf, p, raw);
        let applied = rewrite::write(
            out,
            hit.kind,
            name,
            raw,
            hit.keep_prefix,
            action,
            eng.cfg.card_mask,
            json_number,
            &mac,
        );
        findings.push(Finding {
            kind: hit.kind,
            start,
            end: start + hit.len as u64,
            brand: hit.brand,
            action: applied,
            fingerprint: fingerprint::fingerprint(&mac),
        });
    }

    /// Streams a PEM body or a long JWT from `pos`. Emits its rewrite
    /// directly, so nothing is held except a possible PEM END line being read.
    fn stream_step(
        &mut self,
        pos: usize,
        eof: bool,
        out: &mut Vec<u8>,
        findings: &mut Vec<Finding>,
    ) -> Step {
        let body = if self.stream.as_ref().is_some_and(|p| p.kind == Kind::Jwt) {
            self.jwt_body(pos, eof, out)
        } else {
            self.pem_body(pos, eof, out)
        };
        match body {
            Ok(close_at) => self.close_stream(close_at, out, findings),
            Err(hold) => Step::Hold(hold),
        }
    }

    /// Streams the rest of a long JWT: where it ends, or `Err` with the
    /// position to hold at. A JWT ends at the first byte that is neither
    /// base64url nor a segment dot; there is no cap, so no part of a
    /// confirmed token ever passes unmasked.
    fn jwt_body(&mut self, mut pos: usize, eof: bool, out: &mut Vec<u8>) -> Result<usize, usize> {
        let jwt = self.stream.as_mut().expect("in a JWT");
        let v = View { buf: &self.buf, eof };
        let mask = jwt.action == Action::Mask;
        let pass = matches!(jwt.action, Action::Mask | Action::Detect);
        loop {
            let b = match v.at(pos) {
                Err(More) => return Err(pos),
                Ok(None) => return Ok(pos),
                Ok(Some(b)) => b,
            };
            if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
                return Ok(pos);
            }
            jwt.mac.update(&[b]);
            if pass {
                out.push(if mask { jwt_mask(b) } else { b });
            }
            pos += 1;
        }
    }

    /// Streams a PEM body: where it ends, or `Err` with the position to
    /// hold at.
    fn pem_body(&mut self, mut pos: usize, eof: bool, out: &mut Vec<u8>) -> Result<usize, usize> {
        let pem = self.stream.as_mut().expect("in a PEM body");
        let v = View { buf: &self.buf, eof };
        let mask = pem.action == Action::Mask;
        let pass = matches!(pem.action, Action::Mask | Action::Detect);
        let close_at = loop {
            let b = match v.at(pos) {
                Err(More) => return Err(pos),
                Ok(None) => break pos,
                Ok(Some(b)) => b,
            };
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {
                    pem.mac.update(&[b]);
                    if pass {
                        out.push(if mask { b'*' } else { b });
                    }
                    pos += 1;
                }
                b'\n' | b'\r' | b' ' | b'\t' => {
                    if pass {
                        out.push(b);
                    }
                    pos += 1;
                }
                b'\\' => {
                    // A JSON or C string escape of a line break: keep it
                    // intact so the document stays valid.
                    match v.at(pos + 1) {
                        Err(More) => return Err(pos),
                        Ok(Some(e @ (b'n' | b'r' | b't' | b'/'))) => {
                            if pass {
                                out.extend_from_slice(&[b'\\', e]);
                            }
                            pos += 2;
                        }
                        _ => break pos,
                    }
                }
                b'-' => match secrets::pem_end(&v, pos) {
                    Err(More) => return Err(pos),
                    Ok(Some(n)) => {
                        pem.mac.update(&self.buf[pos..pos + n]);
                        if pass {
                            out.extend_from_slice(&self.buf[pos..pos + n]);
                        }
                        break pos + n;
                    }
                    Ok(None) => break pos,
                },
                _ => break pos,
            }
        };
        Ok(close_at)
    }

    /// Ends the streamed finding at `close_at`.
    fn close_stream(
        &mut self,
        close_at: usize,
        out: &mut Vec<u8>,
        findings: &mut Vec<Finding>,
    ) -> Step {
        let s = self.stream.take().expect("streaming");
        let mac = fingerprint::finish(s.mac);
        let name = s.kind.as_str();
        match s.action {
            Action::Redact => rewrite::redact(out, name),
            Action::Hash => rewrite::token(out, name, &mac),
            Action::Mask | Action::Detect => {}
        }
        findings.push(Finding {
            kind: s.kind,
            start: s.start,
            end: self.base + close_at as u64,
            brand: None,
            action: s.action,
            fingerprint: fingerprint::fingerprint(&mac),
        });
        Step::Continue(close_at)
    }
}

/// The mask of one JWT byte, as [`rewrite`] masks a held one: letters and
/// digits become `*`, the dots and `-` `_` stay.
fn jwt_mask(b: u8) -> u8 {
    if b.is_ascii_alphanumeric() {
        b'*'
    } else {
        b
    }
}

/// The first position in `pos..bound` where some detector may start (or
/// `bound`). Every position passed over is one where [`Scanner::probe`]
/// finds nothing, whatever bytes come later; a position that cannot be
/// decided from the bytes at hand is returned for the probe to decide (or
/// hold at), so chunk invariance rests on the probe alone.
///
/// Before each `@` there is one place an email can start: the first byte
/// of the run of local-part bytes that ends at it ([`email::start_before`]).
/// The seek stops there as well; everything else is [`seek_plain`]'s.
fn seek(
    eng: &Engine,
    buf: &[u8],
    mut pos: usize,
    bound: usize,
    next_at: &mut NextAt,
    blocks: &mut Blocks,
    eof: bool,
) -> usize {
    loop {
        if pos >= bound {
            return pos;
        }
        if next_at.at < pos {
            *next_at = find_at(buf, pos, eof);
        }
        let email = if eng.kinds.email { next_at.email } else { None };
        // An email start before `pos` was already probed (or passed over
        // with its run, when the probe matched something else there).
        let email = email.filter(|&s| s >= pos).unwrap_or(usize::MAX);
        let plain_end = bound.min(email).min(next_at.at);
        if pos < plain_end {
            pos = seek_plain(eng, buf, pos, plain_end, blocks, eof);
            if pos < plain_end {
                return pos;
            }
        }
        if pos >= bound || pos == email {
            return pos;
        }
        // `pos` is the `@` itself, which starts nothing (an anchor there
        // would have bounded the search).
        pos += 1;
    }
}

/// [`seek`] outside the email zone, driven by digits: every detector that
/// starts outside the anchor automaton has a digit at its start or just
/// after it (a card, SSN or national phone at its first digit; a phone's
/// `+` or `(` one byte before; an IBAN's country code two bytes before its
/// check digits). So only the starts of digit runs are looked at: whole
/// 64-byte blocks through their byte-class masks ([`seek_blocks`]), and the
/// last bytes of the buffer, where a block and its lookahead do not fit,
/// eight at a time.
fn seek_plain(
    eng: &Engine,
    buf: &[u8],
    pos: usize,
    end: usize,
    blocks: &mut Blocks,
    eof: bool,
) -> usize {
    let k = eng.kinds;
    // The last two positions of a buffer that may still grow can start an
    // IBAN or a `+` phone whose digits have not arrived: leave them to the
    // probe.
    let sure = if eof { end } else { end.min(buf.len().saturating_sub(2)) };
    let mut pos = match seek_blocks(eng, buf, pos, sure, blocks, eof) {
        Ok(candidate) => return candidate,
        Err(rest) => rest,
    };
    while pos < sure {
        // A candidate before `sure` has its digit at most two bytes later.
        let Some(d) = find_digit(buf, pos, (sure + 2).min(buf.len())) else {
            return sure;
        };
        if k.iban && d >= pos + 2 && iban_start(buf, d - 2, eof) {
            return d - 2;
        }
        if k.phone && d > pos && phone_open(buf, d - 1, eof) {
            return d - 1;
        }
        if after_word(buf, d) {
            // Inside a word (an ID, a hash, a version) nothing starts: no
            // numeric kind or IBAN after a letter or digit, no `+` or `(`.
            pos = d + 1 + count_while(buf, d + 1, buf.len(), alnum_bits);
            continue;
        }
        // A digit cluster: its groups are judged one by one, by shape.
        let mut at = d;
        pos = loop {
            if at >= end {
                return end;
            }
            let Some(shape) = Shape::read(buf, at, eof) else { return at };
            if k.numeric_at(buf, at, &shape) {
                return at;
            }
            match shape.sep {
                // Past the separator: a group that follows one.
                Some(_) => at += shape.len() + 1,
                None => break at + shape.len(),
            }
        };
    }
    pos.min(end)
}

/// [`seek_plain`] over whole 64-byte blocks, judged from byte-class masks:
/// `Ok` with the first candidate (or `sure` when the first one is at or
/// past it), or `Err` with where the byte-by-byte loop takes over (near the
/// end of the buffer, where a block and its lookahead do not fit).
///
/// The candidates are exactly those of the byte-by-byte loop: a digit run's
/// start not glued to a word whose shape may start a numeric kind, a
/// capital that [`iban_start`] accepts, a `+` or `(` that [`phone_open`]
/// accepts. Digit runs of a length no numeric kind starts with are dropped
/// from the masks alone; the rest are judged by [`Shape`] as before.
fn seek_blocks(
    eng: &Engine,
    buf: &[u8],
    pos: usize,
    sure: usize,
    blocks: &mut Blocks,
    eof: bool,
) -> Result<usize, usize> {
    let k = eng.kinds;
    let numeric = k.card || k.ssn || k.phone;
    // No kind starts with a run of two digits (cents, days, months, minutes:
    // the most common runs of all); they are dropped from the masks.
    let two_digit_starts = eng.start_digits[2] != 0;
    let classes = |at: usize| simd::classify(buf[at..at + BLOCK].try_into().expect("a block"));
    let fits = |at: usize| at < sure && at + 2 * BLOCK <= buf.len();
    // A probe that rejected a candidate resumes inside the block it came
    // from: reuse its classes.
    let mut b = blocks.at;
    let mut skip = pos.wrapping_sub(b);
    if b == usize::MAX || skip >= BLOCK {
        if !fits(pos) {
            return Err(pos);
        }
        *blocks = Blocks { at: pos, cur: classes(pos), next: classes(pos + BLOCK) };
        b = pos;
        skip = 0;
    }
    let Blocks { mut cur, mut next, .. } = *blocks;
    let mut word_before = u64::from(after_word(buf, b));
    loop {
        let ahead = |m: u64, n: u64, k: u32| m >> k | n << (64 - k);
        let mut cand = 0;
        if numeric {
            let starts = cur.digit & !(cur.word << 1 | word_before);
            let two = ahead(cur.digit, next.digit, 1) & !ahead(cur.digit, next.digit, 2);
            cand |= if two_digit_starts { starts } else { starts & !two };
        }
        if k.iban {
            // A capital, a capital, two digits.
            cand |= cur.upper
                & ahead(cur.upper, next.upper, 1)
                & ahead(cur.digit, next.digit, 2)
                & ahead(cur.digit, next.digit, 3);
        }
        if k.phone {
            cand |= cur.open & ahead(cur.digit, next.digit, 1);
        }
        cand &= u64::MAX << skip;
        let digits = u128::from(cur.digit) | u128::from(next.digit) << 64;
        while cand != 0 {
            let i = cand.trailing_zeros();
            cand &= cand - 1;
            let q = b + i as usize;
            if q >= sure {
                return Ok(sure);
            }
            let start = if cur.digit >> i & 1 == 1 {
                // The mask reaches at least 64 bytes past `q`: every run
                // length below is exact.
                let digits = digits >> i;
                let run = digits.trailing_ones() as usize;
                let first = usize::from(buf[q] - b'0');
                eng.start_digits.get(run).is_some_and(|d| d >> first & 1 == 1)
                    && k.numeric_at(buf, q, &Shape::from_digits(buf, q, digits))
            } else if cur.upper >> i & 1 == 1 {
                iban_start(buf, q, eof)
            } else {
                phone_open(buf, q, eof)
            };
            if start {
                *blocks = Blocks { at: b, cur, next };
                return Ok(q);
            }
        }
        word_before = cur.word >> 63;
        b += BLOCK;
        skip = 0;
        if !fits(b) {
            *blocks = Blocks::NONE;
            return Err(b);
        }
        cur = next;
        next = classes(b + BLOCK);
    }
}

/// Bytes [`seek_blocks`] classifies at a time.
const BLOCK: usize = 64;

/// The block [`seek_blocks`] last stopped in, with its classes and the
/// next block's (its lookahead). Lives for one run of the scanner, while
/// the buffer does not change.
#[derive(Clone, Copy)]
struct Blocks {
    /// Where the block starts; `usize::MAX` when there is none.
    at: usize,
    cur: simd::Classes,
    next: simd::Classes,
}

impl Blocks {
    const NONE: Blocks =
        Blocks { at: usize::MAX, cur: simd::Classes::EMPTY, next: simd::Classes::EMPTY };
}

/// Whether some detector other than email may start at `p`, judged like
/// [`seek_plain`] does (true when it depends on bytes not yet arrived): the
/// byte-by-byte definition the block seek is tested against.
#[cfg(test)]
fn may_start_at(eng: &Engine, buf: &[u8], p: usize, eof: bool) -> bool {
    let k = eng.kinds;
    let b = buf[p];
    if b.is_ascii_digit() {
        return !after_word(buf, p)
            && Shape::read(buf, p, eof).map_or(true, |s| k.numeric_at(buf, p, &s));
    }
    (k.iban && iban_start(buf, p, eof)) || (k.phone && phone_open(buf, p, eof))
}

/// Lists `hit` (an email at `p`) and every numeric value inside it into
/// `cluster`, leftmost first, each judged by its own detector as anywhere
/// else (a card in a local part or a domain label).
fn inside(
    eng: &Engine,
    v: &View,
    p: usize,
    hit: super::view::Hit,
    cluster: &mut Vec<(usize, super::view::Hit)>,
) -> Result<(), More> {
    cluster.clear();
    cluster.push((p, hit));
    let k = eng.kinds;
    if !(k.card || k.ssn || k.phone) {
        return Ok(());
    }
    let end = p + hit.len;
    let mut q = p;
    while q < end {
        if v.buf[q].is_ascii_digit() && !after_word(v.buf, q) {
            let tries: [(bool, Detector); 3] =
                [(k.card, card::detect), (k.ssn, ssn::detect), (k.phone, phone::detect)];
            let mut found = None;
            for (_, detect) in tries.into_iter().filter(|t| t.0) {
                if let Some(h) = detect(v, q)? {
                    found = Some(h);
                    break;
                }
            }
            if let Some(h) = found {
                cluster.push((q, h));
                q += h.len;
                continue;
            }
        }
        q += 1;
    }
    Ok(())
}

/// True when the byte before `p` is a letter, a digit or `_`: no numeric
/// kind starts glued to a word or inside a digit run.
fn after_word(buf: &[u8], p: usize) -> bool {
    p > 0 && is_word(buf[p - 1])
}

/// Whether an IBAN may start at `c`: not inside a word, a country code,
/// then two digits.
fn iban_start(buf: &[u8], c: usize, eof: bool) -> bool {
    if !buf[c].is_ascii_uppercase() || (c > 0 && buf[c - 1].is_ascii_alphanumeric()) {
        return false;
    }
    match buf.get(c + 1) {
        None => return !eof,
        Some(&c1) if c1.is_ascii_uppercase() && iban::is_country([buf[c], c1]) => {}
        Some(_) => return false,
    }
    for i in c + 2..c + 4 {
        match buf.get(i) {
            None => return !eof,
            Some(d) if d.is_ascii_digit() => {}
            Some(_) => return false,
        }
    }
    true
}

/// Whether a phone number may start at a `+` or `(` at `c`: not glued to
/// what precedes it, and a digit follows.
fn phone_open(buf: &[u8], c: usize, eof: bool) -> bool {
    if !matches!(buf[c], b'+' | b'(') {
        return false;
    }
    if c > 0 && (is_word(buf[c - 1]) || matches!(buf[c - 1], b'+' | b'.' | b'/' | b'-')) {
        return false;
    }
    buf.get(c + 1).map_or(!eof, u8::is_ascii_digit)
}

/// The first ASCII digit in `buf[from..to]`, eight bytes at a time.
#[inline]
fn find_digit(buf: &[u8], from: usize, to: usize) -> Option<usize> {
    // The run of non-digits before it, measured like any other run.
    let at = from + count_while(buf, from, to, |w| !digit_bits(w));
    (at < to).then_some(at)
}

/// The next `@` at or after some position, and where an email ending at it
/// can start ([`email::start_before`]): found once per `@`, not per seek.
#[derive(Clone, Copy)]
struct NextAt {
    /// The `@`; at the end of a chunk the end of the buffer stands in for an
    /// `@` that may still come; `usize::MAX` for none at the end of the
    /// stream.
    at: usize,
    email: Option<usize>,
}

fn find_at(buf: &[u8], pos: usize, eof: bool) -> NextAt {
    let at = match memchr::memchr(b'@', &buf[pos.min(buf.len())..]) {
        Some(i) => pos + i,
        None if eof => usize::MAX,
        None => buf.len(),
    };
    NextAt { at, email: email::start_before(buf, at) }
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

    fn reference(e: &Arc<Engine>, h: ContentHint) -> Scanner {
        let mut s = Scanner::new(e.clone(), h);
        s.reference = Some(
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(e.anchors_ci)
                .build(&e.anchor_text)
                .unwrap(),
        );
        s
    }

    fn run_cuts(mut s: Scanner, input: &[u8], cuts: &[usize]) -> (Vec<u8>, Vec<Finding>) {
        let (mut out, mut f) = (Vec::new(), Vec::new());
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut prev = 0;
        for c in cuts.into_iter().chain([input.len()]) {
            s.feed(&input[prev..c], &mut out, &mut f);
            prev = c;
        }
        s.finish(&mut out, &mut f);
        (out, f)
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
        // Local parts of 64 bytes (the longest allowed) and 65.
        "a234567890123456789012345678901234567890123456789012345678901234@example.org",
        "a2345678901234567890123456789012345678901234567890123456789012345@example.org",
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
            hay in "([0-9]{1,20}[ .\\-+(A-Z_a-z,]{1,3}){8,60}",
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
            1 => "[A-Z]{2}[0-9]{2}[A-Z0-9 ]{0,30}".prop_map(String::into_bytes),
            1 => prop::collection::vec(any::<u8>(), 0..6),
        ]
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
