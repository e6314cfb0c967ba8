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
//!
//! A PEM private key can be several KB: once its header is confirmed the
//! body is rewritten as a streaming state (nothing held) until the END line,
//! the first byte that cannot be part of a PEM body, or
//! [`MAX_PEM_BODY`] bytes.

use std::sync::Arc;

use hmac::Mac;

use super::email::{self, MAX_LOCAL};
use super::fingerprint::{self, HmacSha256};
use super::rewrite;
use super::secrets;
use super::view::{is_digit, is_word, More, Probe, View, HISTORY};
use super::{card, iban, phone, ssn, Action, Anchor, ContentHint, Engine, Finding, Kind};

/// Cap on a PEM body streamed after its header: a finding ends there.
pub(crate) const MAX_PEM_BODY: usize = 64 * 1024;

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

/// A PEM body being streamed.
struct Pem {
    start: u64,
    action: Action,
    mac: HmacSha256,
    body: usize,
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
    pem: Option<Pem>,
    anchors: Vec<(usize, u32)>,
    norm: Vec<u8>,
    finished: bool,
}

impl std::fmt::Debug for Scanner {
    // Never print the buffer: it holds raw body bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("hint", &self.hint)
            .field("consumed", &self.consumed)
            .field("held", &self.held())
            .field("in_private_key", &self.pem.is_some())
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
            pem: None,
            anchors: Vec::new(),
            norm: Vec::new(),
            finished: false,
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
        if let Some(ac) = &eng.ac {
            for m in ac.find_overlapping_iter(&self.buf[hist..]) {
                let s = hist + m.start();
                if s < limit {
                    self.anchors.push((s, m.pattern().as_u32()));
                }
            }
            self.anchors.sort_unstable();
        }

        let mut pos = hist;
        let mut emit = hist;
        let mut ai = 0;
        let mut next_at = find_at(&self.buf, pos, eof);
        let stop;
        loop {
            if self.pem.is_some() {
                match self.pem_step(pos, eof, out, findings) {
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
            // Skip quickly over bytes that cannot start anything.
            let next_anchor = self.anchors.get(ai).map_or(usize::MAX, |a| a.0);
            if next_at < pos {
                next_at = find_at(&self.buf, pos, eof);
            }
            let zone = next_at.saturating_sub(MAX_LOCAL);
            let bound = limit.min(next_anchor).min(zone.max(pos));
            while pos < bound && CLASS[usize::from(self.buf[pos])] == 0 {
                pos += 1;
            }
            if pos >= limit {
                stop = pos;
                break;
            }
            if next_at < pos {
                next_at = find_at(&self.buf, pos, eof);
            }
            while ai < self.anchors.len() && self.anchors[ai].0 < pos {
                ai += 1;
            }
            let in_zone = pos + MAX_LOCAL >= next_at && pos < next_at;
            let v = View { buf: &self.buf, eof };
            match self.probe(eng, &v, pos, ai, in_zone) {
                Err(More) => {
                    stop = pos;
                    break;
                }
                Ok(None) => pos += 1,
                Ok(Some(hit)) => {
                    out.extend_from_slice(&self.buf[emit..pos]);
                    self.apply(eng, pos, hit, out, findings);
                    pos += hit.len;
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
        // Numeric kinds never start inside a word or a digit run.
        let numeric = class == DIGIT && !v.before(p, 1).is_some_and(|c| is_word(c) || is_digit(c));
        let tries: [(bool, Detector); 5] = [
            (numeric && eng.on(Kind::Card), card::detect),
            (numeric && eng.on(Kind::Ssn), ssn::detect),
            ((numeric || class == PHONE_START) && eng.on(Kind::Phone), phone::detect),
            (class == UPPER && eng.on(Kind::Iban), iban::detect),
            (in_zone && email::is_local(b) && eng.on(Kind::Email), email::detect),
        ];
        for (_, detect) in tries.into_iter().filter(|t| t.0) {
            if let Some(h) = detect(v, p)? {
                return Ok(Some(h));
            }
        }
        Ok(None)
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
        if hit.kind == Kind::PrivateKey {
            // The header stays readable when masked; the body streams.
            let mut mac = fingerprint::start(&eng.key, name);
            mac.update(raw);
            if matches!(action, Action::Mask | Action::Detect) {
                out.extend_from_slice(raw);
            }
            self.pem = Some(Pem { start, action, mac, body: 0 });
            return;
        }
        let mut mac = fingerprint::start(&eng.key, name);
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

    /// Streams a PEM body from `pos`. Emits its rewrite directly, so nothing
    /// is held except a possible END line being read.
    fn pem_step(
        &mut self,
        mut pos: usize,
        eof: bool,
        out: &mut Vec<u8>,
        findings: &mut Vec<Finding>,
    ) -> Step {
        let pem = self.pem.as_mut().expect("in a PEM body");
        let v = View { buf: &self.buf, eof };
        let mask = pem.action == Action::Mask;
        let pass = matches!(pem.action, Action::Mask | Action::Detect);
        let close_at = loop {
            if pem.body >= MAX_PEM_BODY {
                break pos;
            }
            let b = match v.at(pos) {
                Err(More) => return Step::Hold(pos),
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
                    pem.body += 1;
                }
                b'\n' | b'\r' | b' ' | b'\t' => {
                    if pass {
                        out.push(b);
                    }
                    pos += 1;
                    pem.body += 1;
                }
                b'\\' => {
                    // A JSON or C string escape of a line break: keep it
                    // intact so the document stays valid.
                    match v.at(pos + 1) {
                        Err(More) => return Step::Hold(pos),
                        Ok(Some(e @ (b'n' | b'r' | b't' | b'/'))) => {
                            if pass {
                                out.extend_from_slice(&[b'\\', e]);
                            }
                            pos += 2;
                            pem.body += 2;
                        }
                        _ => break pos,
                    }
                }
                b'-' => match secrets::pem_end(&v, pos) {
                    Err(More) => return Step::Hold(pos),
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
        let pem = self.pem.take().expect("in a PEM body");
        let mac = fingerprint::finish(pem.mac);
        let name = Kind::PrivateKey.as_str();
        match pem.action {
            Action::Redact => rewrite::redact(out, name),
            Action::Hash => rewrite::token(out, name, &mac),
            Action::Mask | Action::Detect => {}
        }
        findings.push(Finding {
            kind: Kind::PrivateKey,
            start: pem.start,
            end: self.base + close_at as u64,
            brand: None,
            action: pem.action,
            fingerprint: fingerprint::fingerprint(&mac),
        });
        Step::Continue(close_at)
    }
}

/// The next `@` at or after `pos`; at the end of a chunk the end of the
/// buffer stands in for an `@` that may still come.
fn find_at(buf: &[u8], pos: usize, eof: bool) -> usize {
    match memchr::memchr(b'@', &buf[pos.min(buf.len())..]) {
        Some(i) => pos + i,
        None if eof => usize::MAX,
        None => buf.len(),
    }
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
}
