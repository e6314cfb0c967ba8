//! The candidate seek: from a position, the first place where some
//! detector outside the anchor automaton may start. Every position it
//! passes over is one where [`Scanner`](super::Scanner)'s probe would find
//! nothing, whatever bytes come later; one it cannot decide from the bytes
//! at hand is returned for the probe to decide (or hold at), so chunk
//! invariance rests on the probe alone.
//!
//! It judges 64-byte blocks from the byte-class masks of [`simd`] and digit
//! runs by their [`Shape`]; it must never skip a start the detectors would
//! accept (the differential tests in the scanner hold it to probing every
//! position).

use super::classes::{alnum_bits, count_while, digit_bits, is_word};
use super::email;
use super::view::{More, Shape};
use super::{iban, simd, units, Engine};

/// The first position in `pos..bound` where some detector may start (or
/// `bound`). Every position passed over is one where
/// [`Scanner::probe`](super::scanner::Scanner::probe) finds nothing,
/// whatever bytes come later; a position that cannot be
/// decided from the bytes at hand is returned for the probe to decide (or
/// hold at), so chunk invariance rests on the probe alone.
///
/// Before each `@` there is one place an email can start: the first byte
/// of the run of local-part bytes that ends at it ([`email::start_before`]).
/// The seek stops there as well; everything else is [`seek_plain`]'s.
pub(super) fn seek(
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
        let email = if eng.kinds().email { next_at.email } else { None };
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
/// check digits), plain or written encoded (the `open` pairs of `&#`,
/// `\u`, `%3`, `%E`, a fullwidth digit). So only the starts of digit runs
/// and of encoded digits are looked at: whole 64-byte blocks through their
/// byte-class masks ([`seek_blocks`]), and the last bytes of the buffer,
/// where a block and its lookahead do not fit, eight at a time.
fn seek_plain(
    eng: &Engine,
    buf: &[u8],
    pos: usize,
    end: usize,
    blocks: &mut Blocks,
    eof: bool,
) -> usize {
    let k = eng.kinds();
    let numeric = k.card || k.ssn || k.phone;
    // The last two positions of a buffer that may still grow can start an
    // IBAN or a `+` phone whose digits have not arrived: leave them to the
    // probe.
    let sure = if eof { end } else { end.min(buf.len().saturating_sub(2)) };
    let mut pos = match seek_blocks(eng, buf, pos, sure, blocks, eof) {
        Ok(candidate) => return candidate,
        Err(rest) => rest,
    };
    while pos < sure {
        // A candidate before `sure` has its digit at most two bytes later,
        // or is a digit written encoded (`&#52;`, `\u0034`, `%34`, a
        // fullwidth digit).
        let digit = find_digit(buf, pos, (sure + 2).min(buf.len()));
        // Every position before the digit (a digit found past `sure` is
        // judged below, so the ones before it must be here).
        let to = digit.unwrap_or(sure).min(end);
        if numeric || k.iban {
            // What starts before the digit: a digit written encoded, an
            // IBAN or a phone number whose first digit is (`GB&#56;2`,
            // `+&#52;4`).
            let starts = |i: usize| {
                (numeric && encoded_start(buf, i, eof))
                    || (k.iban && iban_start(buf, i, eof))
                    || (k.phone && phone_open(buf, i, eof))
            };
            if let Some(e) =
                (pos..to).find(|&i| STARTS_BEFORE_DIGIT[usize::from(buf[i])] && starts(i))
            {
                return e;
            }
        }
        let Some(d) = digit else {
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
            if k.numeric_at(buf, at, &shape)
                || (numeric && encoded_after(buf, at, shape.len(), eof))
            {
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

/// The bytes `starts` in [`seek_plain`]'s byte-by-byte loop can accept
/// first: a capital ([`iban_start`]), `+` or `(` ([`phone_open`]), and the
/// first byte of a digit written encoded ([`encoded_start`]: `&`, `\`,
/// `%`, a fullwidth digit's 0xEF). One look-up passes over every other
/// byte instead of three calls.
static STARTS_BEFORE_DIGIT: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] = true;
        b += 1;
    }
    let mut i = 0;
    let more = [b'+', b'(', b'&', b'\\', b'%', 0xef];
    while i < more.len() {
        t[more[i] as usize] = true;
        i += 1;
    }
    t
};

/// [`seek_plain`] over whole 64-byte blocks, judged from byte-class masks:
/// `Ok` with the first candidate (or `sure` when the first one is at or
/// past it), or `Err` with where the byte-by-byte loop takes over (near the
/// end of the buffer, where a block and its lookahead do not fit).
///
/// The candidates are exactly those of the byte-by-byte loop: a digit run's
/// start not glued to a word whose shape may start a numeric kind, a
/// capital that [`iban_start`] accepts (before plain or encoded check
/// digits), a `+` or `(` that [`phone_open`] accepts (before a plain or an
/// encoded digit), an encoded digit that [`encoded_start`] accepts. Digit runs of a length no numeric kind starts with are dropped
/// from the masks alone; the rest are judged by [`Shape`] as before.
pub(super) fn seek_blocks(
    eng: &Engine,
    buf: &[u8],
    pos: usize,
    sure: usize,
    blocks: &mut Blocks,
    eof: bool,
) -> Result<usize, usize> {
    let k = eng.kinds();
    let numeric = k.card || k.ssn || k.phone;
    // No kind starts with a run of two digits (cents, days, months, minutes:
    // the most common runs of all); they are dropped from the masks.
    let two_digit_starts = eng.start_digits()[2] != 0;
    // A block and the byte after it (the second of an `open` pair), by
    // the CPU's classifier, chosen once per call.
    let classify = simd::classifier();
    let classes = |buf: &[u8], at: usize| -> simd::Classes {
        classify(buf[at..at + BLOCK + 1].try_into().expect("a block"))
    };
    let fits = |at: usize| at < sure && at + 2 * BLOCK < buf.len();
    // A probe that rejected a candidate resumes inside the block it came
    // from: reuse its classes.
    let mut b = blocks.at;
    let mut skip = pos.wrapping_sub(b);
    if b == usize::MAX || skip >= BLOCK {
        if !fits(pos) {
            return Err(pos);
        }
        *blocks = Blocks { at: pos, cur: classes(buf, pos), next: classes(buf, pos + BLOCK) };
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
        // A capital, a capital, two check digits, each plain or written
        // encoded (where an `open` pair of `&#`, `\\u`, `%3`, a fullwidth
        // digit starts), told apart by `iban_start`.
        let upper2 = cur.upper & ahead(cur.upper, next.upper, 1);
        let digit2 = ahead(cur.digit, next.digit, 2);
        if k.iban {
            cand |= upper2 & digit2 & ahead(cur.digit, next.digit, 3);
        }
        if numeric {
            // A phone's `+` or `(` before a digit or an encoded digit's
            // first two bytes, told apart below; a phone is a numeric kind.
            cand |= cur.open;
        }
        // What starts before an encoded digit: most blocks hold no `open`
        // pair (nor does the next block's start), and pay one test.
        if cur.open | next.open != 0 {
            if k.iban {
                let open3 = ahead(cur.open, next.open, 3);
                cand |= upper2 & (digit2 & open3 | ahead(cur.open, next.open, 2));
            }
            if k.phone {
                // A phone's `+` or `(` before a digit written encoded
                // (`+&#52;4`): the byte before an `open` pair, if no
                // word's (the pair after a letter is `n&#39;t`'s), told
                // apart below. The next block's classes say it of this
                // block's last byte.
                cand |= ahead(cur.open, next.open, 1) & !cur.word;
            }
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
                // Most runs of a page are short (prices, dates, years): one
                // table rules them out before the shape and the gate.
                (run > 6 || short_may_start(buf, q, run, digits as u64))
                    && ((eng.start_digits().get(run).is_some_and(|d| d >> first & 1 == 1)
                        && k.numeric_at(buf, q, &Shape::from_digits(buf, q, digits)))
                        // Runs after the first one from the mask too, exact
                        // that far (the block and its lookahead reach 64
                        // bytes past `q`, and the buffer past both).
                        || encoded_after_with(buf, q, run, eof, |r| {
                            // At most five bytes on: the low half of the mask
                            // is exact that far.
                            Some((digits as u64 >> (r - q)).trailing_ones() as usize)
                        }))
            } else if cur.upper >> i & 1 == 1 {
                iban_start(buf, q, eof)
            } else if matches!(buf[q], b'+' | b'(') {
                k.phone && phone_open(buf, q, eof)
            } else {
                encoded_start(buf, q, eof)
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
        next = classes(buf, b + BLOCK);
    }
}

/// Bytes [`seek_blocks`] classifies at a time.
pub(super) const BLOCK: usize = 64;

/// The block [`seek_blocks`] last stopped in, with its classes and the
/// next block's (its lookahead). Lives for one run of the scanner, while
/// the buffer does not change.
#[derive(Clone, Copy)]
pub(super) struct Blocks {
    /// Where the block starts; `usize::MAX` when there is none.
    at: usize,
    cur: simd::Classes,
    next: simd::Classes,
}

impl Blocks {
    pub(super) const NONE: Blocks =
        Blocks { at: usize::MAX, cur: simd::Classes::EMPTY, next: simd::Classes::EMPTY };
}

/// Whether some detector other than email may start at `p`, judged like
/// [`seek_plain`] does (true when it depends on bytes not yet arrived): the
/// byte-by-byte definition the block seek is tested against.
#[cfg(test)]
pub(super) fn may_start_at(eng: &Engine, buf: &[u8], p: usize, eof: bool) -> bool {
    let k = eng.kinds();
    let numeric = k.card || k.ssn || k.phone;
    let b = buf[p];
    if b.is_ascii_digit() {
        return !after_word(buf, p)
            && Shape::read(buf, p, eof).is_none_or(|s| {
                k.numeric_at(buf, p, &s) || (numeric && encoded_after(buf, p, s.len(), eof))
            });
    }
    if numeric && encoded_start(buf, p, eof) {
        return true;
    }
    (k.iban && iban_start(buf, p, eof)) || (k.phone && phone_open(buf, p, eof))
}

/// Whether a value written partly encoded may start at the digit run of
/// `run` digits at `p` (not glued to a word): a first group a card, an
/// SSN or a national phone number starts with (4, 3 or 1 digits) whose
/// cluster runs into a reference, an escape, a Unicode separator or an
/// inline tag ([`units::cluster_ends_encoded`]) and holds enough digits
/// ([`units::digits_ahead`]). The probe asks the same.
#[inline]
pub(super) fn encoded_after(buf: &[u8], p: usize, run: usize, eof: bool) -> bool {
    encoded_after_with(buf, p, run, eof, |q| {
        let n = count_while(buf, q, buf.len().min(q + 8), digit_bits);
        (q + n < buf.len()).then_some(n)
    })
}

/// [`encoded_after`] at a digit run whose [`Shape`] the caller has read
/// (the probe's): its second group is the shape's (capped at 7, as the
/// gate's table caps it; 0 when the separator is followed by no digit), so
/// it is not counted again.
#[inline]
pub(super) fn encoded_after_shape(buf: &[u8], p: usize, shape: &Shape, eof: bool) -> bool {
    encoded_after_with(buf, p, shape.len(), eof, |_| Some(shape.second))
}

/// [`encoded_after`] with `digits_at(q)`, the length of the digit run at
/// `q` (exact below 8), `None` when it reaches the end of the buffer:
/// [`seek_blocks`] reads it from the block's digit mask, the byte-by-byte
/// callers count it.
#[inline(always)]
fn encoded_after_with(
    buf: &[u8],
    p: usize,
    run: usize,
    eof: bool,
    digits_at: impl Fn(usize) -> Option<usize>,
) -> bool {
    // Runs of 1, 3 and 4 digits, and of 5 and 6 that start with a 0 (a
    // German area code's): most runs stop here.
    if run > 6 {
        return false;
    }
    let row = gate_row(run, buf[p]);
    if LIVE_ROWS >> row & 1 == 0 {
        return false;
    }
    let Some(&after) = buf.get(p + run) else { return !eof };
    // Where the cluster walk starts: past the groups measured here.
    let from = match AFTER_GROUP[row][usize::from(after)] {
        0 => return false,
        SPECIAL_AFTER => {
            if after == b'<' && !units::may_be_inline_tag(buf, p + run) {
                return false;
            }
            p + run
        }
        fits => {
            // An ASCII separator: the next group has a length some kind
            // takes after this first group (`fits`). Dates, prices and
            // versions stop here. (A group whose own digits are partly
            // encoded after an ASCII separator is not read.)
            let q = p + run + 1;
            let Some(second) = digits_at(q) else { return !eof };
            if fits >> second.min(7) & 1 == 0 {
                return false;
            }
            // A subscriber number's run may be long; the walk goes on
            // through its digits from anywhere inside it.
            q + second.min(8)
        }
    };
    units::encoded_cluster_holds(buf, p, from, eof, units::MIN_DIGITS)
}

/// [`AFTER_GROUP`]'s mark for a byte a longer unit may start with (`&`,
/// `\\`, `%`, `<`, `+`, a UTF-8 lead byte: what the units path reads).
const SPECIAL_AFTER: u8 = 0x80;

/// The second groups a card takes after a first group of 4 (bit `n` for
/// `n` digits).
const CARD_AFTER_4: u8 = 1 << 4 | 1 << 6;

/// The second groups a German subscriber number starts with after the
/// area code's `/` (2 to 7 digits and more, capped at 7).
const SUBSCRIBER: u8 = 0b1111_1100;

/// [`AFTER_GROUP`]'s row for a first group of `run` digits whose first
/// digit is `first`: its length (7 for any longer) and whether it starts
/// with a 0.
#[inline(always)]
fn gate_row(run: usize, first: u8) -> usize {
    run.min(7) * 2 + usize::from(first == b'0')
}

/// The rows of [`AFTER_GROUP`] that hold anything, as a bit set: runs of
/// 1, 3 and 4 digits, and of 5 and 6 that start with a 0.
const LIVE_ROWS: u16 = {
    let mut m = 0u16;
    let mut row = 0;
    while row < 16 {
        let mut b = 0;
        while b < 256 {
            if AFTER_GROUP[row][b] != 0 {
                m |= 1 << row;
            }
            b += 1;
        }
        row += 1;
    }
    m
};

/// Whether [`encoded_after`] may be true for a digit run of `run` digits
/// (its whole length) starting with `first`: false for most runs, which
/// the probe then decides without the units path.
#[inline(always)]
pub(super) fn run_may_gate(run: usize, first: u8) -> bool {
    LIVE_ROWS >> gate_row(run, first) & 1 == 1
}

/// Per first group ([`gate_row`]: its length, a card's 4, an SSN's or a
/// phone number's 3, a phone's 1, a German area code's 3 to 6, which
/// starts with a 0; other lengths start nothing written encoded, and 7
/// stands for any longer) and the byte after it: [`SPECIAL_AFTER`] for a
/// byte a longer unit may start with, for an ASCII separator the lengths
/// of a second group that fit (bit `n` for `n` digits: a card's 4 or 6
/// after 4, an SSN's 2 or a phone's 3 after 3, a phone's 3 after 1, a
/// subscriber number after an area code's `/`), else 0. A table: every
/// digit group of a body that a separator ends is judged through it, and
/// the first digit in the row spares a test of it per group.
static AFTER_GROUP: [[u8; 256]; 16] = {
    let mut t = [[0u8; 256]; 16];
    let mut row = 0;
    while row < 16 {
        let (run, zero) = (row / 2, row % 2 == 1);
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[row][b] = match (zero, run, c) {
                (_, 0 | 2 | 7, _) => 0,
                // A long area code before a `/` only, plain or encoded
                // (`03322%2F1234567`): no value starts with five or six
                // digits and another encoded unit.
                (true, 5 | 6, b'/') => SUBSCRIBER,
                (true, 5 | 6, b'%' | b'&' | b'\\') => SPECIAL_AFTER,
                (_, 5 | 6, _) => 0,
                (_, _, b'&' | b'\\' | b'%' | b'<' | b'+' | 0x80..) => SPECIAL_AFTER,
                // A `/` ends a German area code, which starts with a 0;
                // after any other first group only a card's
                // (`4111/1111/...`).
                (true, 4, b'/') => CARD_AFTER_4 | SUBSCRIBER,
                (false, 4, b'/') => CARD_AFTER_4,
                (true, 3, b'/') => SUBSCRIBER,
                (_, 4, b' ' | b'-' | b'.' | b'_') => CARD_AFTER_4,
                (_, 3, b'-' | b' ') => 1 << 2 | 1 << 3,
                (_, 3, b'.') | (_, 1, b'-' | b'.' | b' ') => 1 << 3,
                _ => 0,
            };
            b += 1;
        }
        row += 1;
    }
    t
};

/// Whether a numeric kind ([`StartKinds::numeric_at`](super::StartKinds),
/// any kind on) or the gate ([`encoded_after`]) may accept the digit run of
/// `run` digits (1 to 6) at `p`, judged from the byte after it, the second
/// group's length (from `digits`, the digit mask from `p`, exact at least
/// 16 bytes on) and, for an SSN's first group, the byte after a second
/// group of two: false for most short runs of a page (`2002-02-06`,
/// `$316.09<`), which then cost one table read instead of a [`Shape`]
/// and the gate's. Its callers need at least 7 bytes after `p`.
#[inline(always)]
fn short_may_start(buf: &[u8], p: usize, run: usize, digits: u64) -> bool {
    let after = buf[p + run];
    let t = SHORT[gate_row(run, buf[p])][usize::from(after)];
    // The second group's length, as `Shape` and the gate measure it.
    let second = ((digits >> (run + 1)).trailing_ones() as usize).min(7);
    // An SSN's second group ends in its separator (`ssn::may_start_at`).
    let bits = if run == 3 && buf[p + 6] != after { t >> 8 } else { t };
    bits >> second & 1 == 1
}

/// [`short_may_start`]'s table: per first group ([`gate_row`]) of at most
/// 6 digits and the byte after it, the second-group lengths (bit `n` for
/// `n` digits, 7 for any longer) at which a numeric kind's shape or the
/// gate may accept the run: in the low byte with an SSN's `AAA-GG`, in the
/// high byte without (its second group not ending in the separator); all
/// ones where the gate reads a longer unit ([`SPECIAL_AFTER`]). The shapes
/// are `card::may_start`'s `4444-4444` and `4444-666666`, `ssn::may_start`'s
/// `333-22`, `phone::may_start`'s `1-333`, `333.333` and a German area
/// code's `0333/22...`; the test below holds it to those functions.
static SHORT: [[u16; 256]; 16] = {
    let mut t = [[0u16; 256]; 16];
    let mut row = 0;
    while row < 16 {
        let (run, zero) = (row / 2, row % 2 == 1);
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            let gate = AFTER_GROUP[row][b];
            t[row][b] = if gate == SPECIAL_AFTER {
                u16::MAX
            } else {
                let sep = matches!(c, b' ' | b'-' | b'.' | b'/' | b'_');
                let mut other = gate;
                if run == 4 && sep {
                    other |= CARD_AFTER_4;
                }
                if (run == 1 || run == 3) && matches!(c, b'-' | b'.') {
                    other |= 1 << 3;
                }
                if zero && run >= 3 && c == b'/' {
                    other |= SUBSCRIBER;
                }
                let ssn = if run == 3 && sep { 1u8 << 2 } else { 0 };
                (other | ssn) as u16 | (other as u16) << 8
            };
            b += 1;
        }
        row += 1;
    }
    t
};

/// Whether a digit written encoded starts at `p` with enough digits after
/// it for a numeric value ([`units::digits_ahead`]). The probe asks the
/// same.
#[inline]
pub(super) fn encoded_start(buf: &[u8], p: usize, eof: bool) -> bool {
    units::encoded_digit_at(buf, p, eof) && units::digits_ahead(buf, p, eof, units::MIN_DIGITS)
}

/// True when the byte before `p` is a letter, a digit or `_`: no numeric
/// kind starts glued to a word or inside a digit run.
pub(super) fn after_word(buf: &[u8], p: usize) -> bool {
    p > 0 && is_word(buf[p - 1])
}

/// Whether an IBAN may start at `c`: not inside a word, a country code,
/// then two check digits, each plain or written encoded (`GB&#56;2`,
/// `GB\u0038\u0032`, `GB%38%32`, fullwidth).
pub(super) fn iban_start(buf: &[u8], c: usize, eof: bool) -> bool {
    if !buf[c].is_ascii_uppercase() || (c > 0 && buf[c - 1].is_ascii_alphanumeric()) {
        return false;
    }
    match buf.get(c + 1) {
        None => return !eof,
        Some(&c1) if c1.is_ascii_uppercase() && iban::is_country([buf[c], c1]) => {}
        Some(_) => return false,
    }
    let mut i = c + 2;
    for _ in 0..2 {
        match buf.get(i) {
            None => return !eof,
            Some(d) if d.is_ascii_digit() => i += 1,
            Some(_) => match encoded_digit_len(buf, i, eof) {
                Err(More) => return true,
                Ok(Some(n)) => i += n,
                Ok(None) => return false,
            },
        }
    }
    true
}

/// The raw length of a digit written encoded at `i` (a reference, an
/// escape, percent-encoding, a fullwidth digit), `None` when none is.
/// The byte checks of [`units::encoded_digit_at`] first: real text's
/// `&amp;` and `%2F` are ruled out before any read.
#[inline]
fn encoded_digit_len(buf: &[u8], i: usize, eof: bool) -> Result<Option<usize>, More> {
    if !units::encoded_digit_at(buf, i, eof) {
        return Ok(None);
    }
    match units::read(buf, i, eof)? {
        Some((units::Unit::Digit(_), n)) if n > 1 => Ok(Some(n)),
        _ => Ok(None),
    }
}

/// Whether a phone number may start at a `+` or `(` at `c`: not glued to
/// what precedes it, and a digit follows, plain or written encoded
/// (`+&#52;4`, `+\u0034`, `+%34`, a fullwidth digit).
pub(super) fn phone_open(buf: &[u8], c: usize, eof: bool) -> bool {
    if !matches!(buf[c], b'+' | b'(') {
        return false;
    }
    if c > 0 && (is_word(buf[c - 1]) || matches!(buf[c - 1], b'+' | b'.' | b'/' | b'-')) {
        return false;
    }
    match buf.get(c + 1) {
        None => !eof,
        Some(d) if d.is_ascii_digit() => true,
        Some(_) => phone_open_encoded(buf, c + 1, eof),
    }
}

/// [`phone_open`]'s encoded digit after the `+` or `(`: out of line, real
/// text rarely gets here.
#[inline(never)]
fn phone_open_encoded(buf: &[u8], i: usize, eof: bool) -> bool {
    units::encoded_digit_at(buf, i, eof)
}

/// The first ASCII digit in `buf[from..to]`, eight bytes at a time.
#[inline]
pub(super) fn find_digit(buf: &[u8], from: usize, to: usize) -> Option<usize> {
    // The run of non-digits before it, measured like any other run.
    let at = from + count_while(buf, from, to, |w| !digit_bits(w));
    (at < to).then_some(at)
}

/// The next `@` at or after some position, and where an email ending at it
/// can start ([`email::start_before`]): found once per `@`, not per seek.
#[derive(Clone, Copy)]
pub(super) struct NextAt {
    /// The `@`; at the end of a chunk the end of the buffer stands in for an
    /// `@` that may still come; `usize::MAX` for none at the end of the
    /// stream.
    pub at: usize,
    pub email: Option<usize>,
}

pub(super) fn find_at(buf: &[u8], pos: usize, eof: bool) -> NextAt {
    let at = match memchr::memchr(b'@', &buf[pos.min(buf.len())..]) {
        Some(i) => pos + i,
        None if eof => usize::MAX,
        None => buf.len(),
    };
    NextAt { at, email: email::start_before(buf, at) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No byte outside [`STARTS_BEFORE_DIGIT`] starts anything the byte
    /// loop's three tests accept, whatever follows it: the table may only
    /// pass over what they would reject.
    #[test]
    fn bytes_outside_the_table_start_nothing() {
        let after: [&[u8]; 12] = [
            b"",
            b"#52;4111",
            b"#x34;111",
            b"u0034u0031",
            b"34%31%31",
            b"B82WEST1234",
            b"B&#56;2",
            b"4111 1111",
            b"(415) 555",
            b"\xbc\x94\xef\xbc\x91",
            b"&#52;",
            b"\xbc\x91\xef\xbc\x91\xef\xbc\x91",
        ];
        for b in (0..=255u8).filter(|&b| !STARTS_BEFORE_DIGIT[usize::from(b)]) {
            for tail in after {
                for before in [&b""[..], b" ", b"x"] {
                    let buf = [before, &[b], tail].concat();
                    let i = before.len();
                    for eof in [false, true] {
                        assert!(
                            !encoded_start(&buf, i, eof)
                                && !iban_start(&buf, i, eof)
                                && !phone_open(&buf, i, eof),
                            "byte {b:#04x} before {tail:?}, eof {eof}"
                        );
                    }
                }
            }
        }
        // Where one of the tests accepts, the table lets it be asked.
        for (buf, i) in [(&b"GB82"[..], 0), (b" +44 20", 1), (b"&#52;&#49;&#49;", 0)] {
            assert!(
                encoded_start(buf, i, false)
                    || iban_start(buf, i, false)
                    || phone_open(buf, i, false)
            );
            assert!(STARTS_BEFORE_DIGIT[usize::from(buf[i])]);
        }
    }

    /// The rows that may gate: runs of 1, 3 and 4 digits, and of 5 and 6
    /// that start with a 0.
    #[test]
    fn live_rows() {
        for run in 0..30 {
            for first in b'0'..=b'9' {
                let want = matches!(run, 1 | 3 | 4) || (first == b'0' && matches!(run, 5 | 6));
                assert_eq!(run_may_gate(run, first), want, "{run} {first}");
            }
        }
    }

    /// [`short_may_start`] refuses only runs that neither a numeric kind
    /// (every kind on) nor the gate accepts: every first group of 1 to 6
    /// digits, every byte after it, every second-group length, a second
    /// group ended by the separator or not, and tails the gate reads on
    /// (references, escapes, inline tags, more groups).
    #[test]
    fn short_table_refuses_only_what_nothing_accepts() {
        let cfg = crate::detect::EngineConfig {
            hash_key: b"test-key".to_vec(),
            detectors: crate::detect::Kind::BUILTIN
                .into_iter()
                .map(|k| (k, crate::detect::Action::Detect))
                .collect(),
            ..Default::default()
        };
        let eng = Engine::new(cfg).unwrap();
        let k = eng.kinds();
        let tails: &[&[u8]] = &[
            b"",
            b"&#52;&#52;&#52;&#52;",
            b"<b>1234</b>5678",
            b"\\u0034%34 1234 5678 9012",
            b"-1234-5678",
        ];
        let mut refused = 0;
        for run in 1..=6usize {
            for first in b'0'..=b'9' {
                for rest in [b'0', b'1', b'5'] {
                    for after in 0..=255u8 {
                        if after.is_ascii_digit() {
                            continue;
                        }
                        for second in 0..=8usize {
                            for end_sep in [false, true] {
                                for tail in tails {
                                    let mut buf = vec![rest; run];
                                    buf[0] = first;
                                    buf.push(after);
                                    buf.extend(std::iter::repeat_n(b'2', second));
                                    if end_sep {
                                        buf.push(after);
                                    }
                                    buf.extend_from_slice(tail);
                                    buf.resize(3 * BLOCK, b' ');
                                    let digits = (0..128)
                                        .filter(|&j| buf[j].is_ascii_digit())
                                        .fold(0u128, |m, j| m | 1 << j);
                                    if short_may_start(&buf, 0, run, digits as u64) {
                                        continue;
                                    }
                                    refused += 1;
                                    let shape = Shape::from_digits(&buf, 0, digits);
                                    let ctx = String::from_utf8_lossy(&buf[..24]).into_owned();
                                    assert!(!k.numeric_at(&buf, 0, &shape), "numeric: {ctx:?}");
                                    assert!(!encoded_after(&buf, 0, run, false), "gate: {ctx:?}");
                                    assert!(!encoded_after(&buf, 0, run, true), "gate: {ctx:?}");
                                }
                            }
                        }
                    }
                }
            }
        }
        // Most of them: the table is worth its read.
        assert!(refused > 1_000_000, "{refused}");
    }

    /// The gate read through the block's digit mask equals the gate read
    /// byte by byte, at every digit run start of bodies made of the pieces
    /// it judges (groups of every length, every separator, references,
    /// escapes, tags, UTF-8).
    #[test]
    fn gate_from_the_digit_mask_equals_the_byte_gate() {
        let pieces: &[&[u8]] = &[
            b"4",
            b"41",
            b"411",
            b"4111",
            b"411111",
            b"1111111",
            b"030",
            b"0221",
            b"03581",
            b"030581",
            b"0305812",
            b"12345",
            b"123456",
            b" ",
            b"-",
            b".",
            b"/",
            b"_",
            b"(",
            b")",
            b"+",
            b"&nbsp;",
            b"&#52;",
            b"&amp;",
            b"\\u0034",
            b"\\n",
            b"%20",
            b"%2",
            b"</td>",
            b"<span>",
            b"</b>",
            b"<br>",
            b"\xc2\xa0",
            b"\xef\xbc\x94",
            b"a",
            b"Z",
            b",",
            b"\"",
        ];
        let mut next = crate::detect::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let mut buf = Vec::new();
            while buf.len() < 4 * BLOCK {
                buf.extend_from_slice(pieces[next() as usize % pieces.len()]);
            }
            for p in 0..BLOCK {
                if !buf[p].is_ascii_digit() || after_word(&buf, p) {
                    continue;
                }
                let digits = (0..128)
                    .filter(|&j| buf[p + j].is_ascii_digit())
                    .fold(0u128, |m, j| m | 1 << j);
                let run = digits.trailing_ones() as usize;
                for eof in [false, true] {
                    // The probe's shortcut: a run it rules out is one the
                    // gate refuses (the units path measures at most 6).
                    if !run_may_gate(run, buf[p]) {
                        assert!(!encoded_after(&buf, p, run.min(6), eof));
                    }
                    let masked = encoded_after_with(&buf, p, run, eof, |r| {
                        Some((digits >> (r - p)).trailing_ones() as usize)
                    });
                    let bytes = encoded_after(&buf, p, run, eof);
                    assert_eq!(masked, bytes, "{:?} at {p}", String::from_utf8_lossy(&buf));
                }
            }
        }
    }
}
