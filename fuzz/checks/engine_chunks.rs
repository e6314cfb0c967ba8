//! The streaming engine fed arbitrary bytes in arbitrary chunkings.
//!
//! Input: byte 0 picks the content hint and the engine (mask, redact, hash,
//! detect for every kind), byte 1 seeds the chunk sizes (0: one byte at a
//! time), the rest is the body. Checks: no panic; the streamed output and
//! findings equal the one-shot scan; the scanner never holds more than
//! `max_hold`; every finding lies inside the input, ordered and disjoint
//! (but for values inside an email address, reported beside it);
//! masks keep the length; and rescanning the masked output finds no value
//! the first scan did not rewrite (nothing detectable passes through).
//!
//! Shared by the fuzz target (`fuzz/fuzz_targets/engine_chunks.rs`) and the
//! regression test that replays seeds and kept crash inputs
//! (`tests/fuzz_regressions.rs`).
use std::sync::{Arc, OnceLock};

use leakwarden::detect::{Action, ContentHint, Engine, EngineConfig, Finding, Kind, Scanner};

fn engines() -> &'static [Arc<Engine>] {
    static E: OnceLock<Vec<Arc<Engine>>> = OnceLock::new();
    E.get_or_init(|| {
        let with = |a: Action| {
            let mut c = EngineConfig { hash_key: b"fuzz".to_vec(), ..Default::default() };
            for v in c.detectors.values_mut() {
                *v = a;
            }
            c
        };
        [with(Action::Mask), with(Action::Redact), with(Action::Hash), with(Action::Detect)]
            .into_iter()
            .map(|c| Arc::new(Engine::new(c).expect("engine builds")))
            .collect()
    })
}

fn streamed(
    engine: &Arc<Engine>,
    input: &[u8],
    hint: ContentHint,
    seed: u8,
) -> (Vec<u8>, Vec<Finding>) {
    let mut s = Scanner::new(engine.clone(), hint);
    let (mut out, mut f) = (Vec::new(), Vec::new());
    let mut x = u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let max = 1 + usize::from(seed % 64);
    let mut i = 0;
    while i < input.len() {
        let n = if seed == 0 {
            1
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + (x % max as u64) as usize
        };
        let j = (i + n).min(input.len());
        s.feed(&input[i..j], &mut out, &mut f);
        assert!(s.held() <= engine.max_hold(), "held {} > {}", s.held(), engine.max_hold());
        i = j;
    }
    s.finish(&mut out, &mut f);
    assert_eq!(s.held(), 0);
    (out, f)
}

pub fn check(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let (ctl, input) = data.split_at(2);
    let hint = [ContentHint::Text, ContentHint::Json, ContentHint::Html][usize::from(ctl[0] % 3)];
    let which = usize::from(ctl[0] / 3) % engines().len();
    let engine = &engines()[which];

    let (out, findings) = engine.scan_all(input, hint);
    let (s_out, s_findings) = streamed(engine, input, hint, ctl[1]);
    assert!(s_out == out, "streamed output differs from the one-shot scan");
    assert_eq!(s_findings, findings, "streamed findings differ from the one-shot scan");

    // Findings come in order of their starts and are disjoint, except that
    // a value starting inside an email address (a card as a domain label,
    // a token glued to its end) is reported beside the address.
    let (mut start, mut end, mut email) = (0, 0, (0, 0));
    for f in &findings {
        assert!(f.start < f.end && f.end <= input.len() as u64, "span outside the input");
        assert!(f.start >= start, "findings out of order");
        let in_email = email.0 <= f.start && f.start < email.1;
        assert!(f.start >= end || in_email, "findings overlap outside an email address");
        if f.kind == Kind::Email {
            email = (f.start, f.end);
        }
        (start, end) = (f.start, end.max(f.end));
    }
    if which == 0 || which == 3 {
        assert_eq!(out.len(), input.len(), "mask and detect keep the length");
    }
    if which == 0 {
        // Every card, SSN and IBAN found is rewritten, and so is every
        // secret with anything after its prefix (`xoxp-` and dashes only
        // has nothing to mask; a PEM header with no body neither).
        for f in &findings {
            let (a, b) = (f.start as usize, f.end as usize);
            let maskable = match f.kind {
                Kind::Card | Kind::Ssn | Kind::Iban => true,
                Kind::Email | Kind::Phone | Kind::PrivateKey => false,
                _ => input[a..b].iter().skip(11).any(u8::is_ascii_alphanumeric),
            };
            assert!(
                !maskable || out[a..b] != input[a..b],
                "{} at {a}..{b} passed unmasked",
                f.kind.as_str()
            );
        }
        // Rescan the masked output: every card, SSN, IBAN or secret found
        // there must be one the first scan found and rewrote (a PEM header
        // stays and is found again). Emails and phones are left out: an
        // email whose local part starts with a phone number is reported as
        // the phone only, so masking it uncovers the rest of the address as
        // a new email (issue 14, defect 2: overlapping kinds; input kept in
        // fuzz/regressions/engine_chunks/phone_inside_email).
        let (_, again) = engine.scan_all(&out, hint);
        for g in again.into_iter().filter(|g| !matches!(g.kind, Kind::Email | Kind::Phone)) {
            assert!(
                findings.iter().any(|f| f.kind == g.kind && f.start < g.end && g.start < f.end),
                "masked output holds a new {} at {}..{}",
                g.kind.as_str(),
                g.start,
                g.end
            );
        }
    }
}
