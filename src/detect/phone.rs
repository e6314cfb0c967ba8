//! Phone numbers: E.164-style international numbers (`+` and 8-15 digits,
//! single separators allowed) and common North American national forms
//! (`(415) 555-0132`, `415-555-0132`, `415.555.0132`, `1-415-555-0132`,
//! `001-415-555-0132`), each with an optional `x123` extension; and the
//! German notation with a `/` after the area code (DIN 5008's older form,
//! still common on German, Austrian and Swiss pages): `030/1234567`,
//! `0221/123 4567`, `+49 30/123 4567`.
//!
//! `_` is not a phone separator: no national convention writes one, and
//! runs joined by it are identifiers (`IMG_20240105_123456`, `2024_05_06`).
//!
//! Phones are soft targets: the rules are deliberately conservative so that
//! timestamps, prices, versions, IP addresses and IDs never match. Ten bare
//! digits in the North American plan's shape are reported here and stand
//! only in phone context (`tel`, `phone`, `fax`... before them), which the
//! scanner decides ([`context`](super::context)); other bare digit runs
//! are never phones.

use super::classes::{is_digit, is_word, opt};
use super::context::Context;
use super::view::{Hit, Probe, Shape, View};
use super::Kind;

pub(crate) const LOOKAHEAD: usize = 40;

/// Per first-run length, the first digits (bit `d` for digit `d`) with
/// which [`may_start`] can be true: any digit, in a first group of 1 or 3;
/// 2 to 9 in a bare run of 10 (an area code never starts with 0 or 1); 0
/// in a German area code of 3 to 6 digits before a `/`.
pub(crate) const START_DIGITS: [u16; 20] = {
    let mut t = [0u16; 20];
    t[1] = 0x3ff;
    t[3] = 0x3ff;
    t[4] = 1;
    t[5] = 1;
    t[6] = 1;
    t[10] = 0x3fc;
    t
};

/// Whether a national phone number can start at a digit cluster of this
/// shape: a group of 1 or 3 digits, then `-` or `.` and a group of 3 (every
/// form [`national`] accepts), ten bare digits in the plan's shape
/// ([`bare`]), or an area code and a `/` ([`slashed`]). Never false where
/// [`detect`] could match at a digit; `+` and `(` forms start at their own
/// byte.
#[inline]
pub(crate) fn may_start(s: &Shape) -> bool {
    (matches!(s.len(), 1 | 3) && matches!(s.sep, Some(b'-' | b'.')) && s.second == 3)
        || (s.len() == 10 && nanp(s.first))
        || (s.sep == Some(b'/') && s.second >= 2 && area_code(s.first))
}

/// A German area code with its trunk prefix: a 0 and 2 to 5 digits, the
/// first of them not 0 (`00` dials abroad).
#[inline]
fn area_code(d: &[u8]) -> bool {
    (3..=6).contains(&d.len()) && d[0] == b'0' && d[1] != b'0'
}

/// [`may_start`] at `p` of `buf`, with the one check a shape cannot make:
/// ten bare digits need phone context before it (the same decision the
/// scanner makes of the hit; it reads only bytes the history keeps). A run
/// [`detect`] refuses for the byte before it (the digits after an ISBN's
/// `978-`) is refused here first: the context is dearer to read.
#[inline(always)]
pub(crate) fn may_start_at(buf: &[u8], p: usize, s: &Shape, context: &Context) -> bool {
    may_start(s)
        && (s.len() != 10
            || (!(p > 0 && glued_after(buf[p - 1])) && context_before(buf, p, context)))
}

/// Whether a number cannot start after `b`: inside a word, or continuing
/// an international number, a decimal, a path or a digit group.
#[inline]
fn glued_after(b: u8) -> bool {
    is_word(b) || matches!(b, b'+' | b'.' | b'/' | b'-')
}

/// Kept out of line: only bare 10-digit runs get this far.
#[inline(never)]
fn context_before(buf: &[u8], p: usize, context: &Context) -> bool {
    context.accepts(buf, p)
}

/// Ten digits whose area code and exchange start with 2 to 9 (the North
/// American numbering plan).
#[inline]
fn nanp(d: &[u8]) -> bool {
    d.len() == 10 && (b'2'..=b'9').contains(&d[0]) && (b'2'..=b'9').contains(&d[3])
}

#[inline]
fn is_sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.')
}

/// An optional extension `x` + 1-5 digits at `i`; returns the end.
fn extension(v: &View, i: usize) -> Result<usize, super::view::More> {
    if v.at(i)? == Some(b'x') {
        let (n, _) = v.run(i + 1, 5, is_digit)?;
        if (1..=5).contains(&n) {
            return Ok(i + 1 + n);
        }
    }
    Ok(i)
}

/// The right boundary: nothing glued, no further digit group.
fn boundary_ok(v: &View, end: usize) -> Result<bool, super::view::More> {
    let n = v.at(end)?;
    if opt(n, is_word) {
        return Ok(false);
    }
    if opt(n, |b| is_sep(b) || b == b'/' || b == b':') && opt(v.at(end + 1)?, is_digit) {
        return Ok(false);
    }
    Ok(true)
}

/// Detects a phone number starting at `p` (a digit, `+` or `(`).
pub(crate) fn detect(v: &View, p: usize) -> Probe {
    if opt(v.before(p, 1), glued_after) {
        return Ok(None);
    }
    match v.buf[p] {
        b'+' => international(v, p),
        b'(' => parenthesised(v, p),
        _ => match bare(v, p)? {
            Some(hit) => Ok(Some(hit)),
            None => match national(v, p)? {
                Some(hit) => Ok(Some(hit)),
                None => slashed(v, p),
            },
        },
    }
}

/// Most digits a German number has with its trunk prefix and an
/// extension (E.164 allows 15 with the country code's two).
const SLASHED_DIGITS: std::ops::RangeInclusive<usize> = 9..=14;

/// `030/1234567`: an area code with its 0 ([`area_code`]), a `/` and the
/// subscriber number, contiguous or in groups of 2 to 8 digits separated
/// by spaces or by hyphens (one of them throughout: `0221/123 4567`,
/// `030/1234567-89` with an extension), 9 to 14 digits in all, and an
/// optional `x123` extension like the other forms. Dates
/// (`01/05/2024`: a two-digit first group), fractions, `NNNN/YYYY`
/// invoice numbers (too few digits) and paths (a `/` before or after)
/// are not.
fn slashed(v: &View, p: usize) -> Probe {
    let (area, after) = v.run(p, 7, is_digit)?;
    if after != Some(b'/') || !area_code(&v.buf[p..p + area]) {
        return Ok(None);
    }
    let mut i = p + area + 1;
    let mut digits = area;
    let mut sep = None;
    loop {
        let (g, after) = v.run(i, 9, is_digit)?;
        if !(2..=8).contains(&g) {
            return Ok(None);
        }
        digits += g;
        i += g;
        match after {
            Some(s @ (b' ' | b'-'))
                if sep.is_none_or(|x| x == s) && opt(v.at(i + 1)?, is_digit) =>
            {
                sep = Some(s);
                i += 1;
            }
            _ => break,
        }
    }
    if !SLASHED_DIGITS.contains(&digits) {
        return Ok(None);
    }
    let end = extension(v, i)?;
    if !boundary_ok(v, end)? {
        return Ok(None);
    }
    Ok(Some(Hit::new(Kind::Phone, end - p)))
}

/// Ten bare digits in the plan's shape, not part of a longer run, a decimal
/// or a further group: a phone number only in phone context, which the
/// scanner checks of the hit ([`context`](super::context)).
fn bare(v: &View, p: usize) -> Probe {
    let (run, _) = v.run(p, 10, is_digit)?;
    if run != 10 || !nanp(&v.buf[p..p + 10]) || !boundary_ok(v, p + 10)? {
        return Ok(None);
    }
    Ok(Some(Hit::new(Kind::Phone, 10)))
}

fn international(v: &View, p: usize) -> Probe {
    let mut i = p + 1;
    let mut digits = 0;
    let mut sep: Option<u8> = None;
    // Groups read, and whether a `/` ended the area code (`+49 30/123
    // 4567`): once, after the country code and the area code.
    let (mut groups, mut slash) = (0, false);
    loop {
        let (g, after) = v.run(i, 15, is_digit)?;
        if g == 0 {
            return Ok(None);
        }
        digits += g;
        groups += 1;
        if digits > 15 {
            return Ok(None);
        }
        i += g;
        match after {
            Some(s) if is_sep(s) && sep.is_none_or(|x| x == s) && opt(v.at(i + 1)?, is_digit) => {
                sep = Some(s);
                i += 1;
            }
            Some(b'/') if groups == 2 && !slash && opt(v.at(i + 1)?, is_digit) => {
                slash = true;
                i += 1;
            }
            _ => break,
        }
    }
    if digits < 8 {
        return Ok(None);
    }
    let end = extension(v, i)?;
    if !boundary_ok(v, end)? {
        return Ok(None);
    }
    Ok(Some(Hit::new(Kind::Phone, end - p)))
}

/// Exactly `n` digits at `i` followed by `follow`.
fn group(v: &View, i: usize, n: usize) -> Result<bool, super::view::More> {
    let (g, _) = v.run(i, n, is_digit)?;
    Ok(g == n)
}

fn parenthesised(v: &View, p: usize) -> Probe {
    if !group(v, p + 1, 3)? || v.at(p + 4)? != Some(b')') {
        return Ok(None);
    }
    let mut i = p + 5;
    if v.at(i)? == Some(b' ') {
        i += 1;
    }
    if !group(v, i, 3)? {
        return Ok(None);
    }
    i += 3;
    if !opt(v.at(i)?, |b| b == b'-' || b == b'.' || b == b' ') || !group(v, i + 1, 4)? {
        return Ok(None);
    }
    let end = extension(v, i + 5)?;
    if !boundary_ok(v, end)? {
        return Ok(None);
    }
    Ok(Some(Hit::new(Kind::Phone, end - p)))
}

/// `[1-|001-]ddd-ddd-dddd` with one separator used throughout (`-` or `.`).
fn national(v: &View, p: usize) -> Probe {
    let mut groups = [0usize; 4];
    let mut ng = 0;
    let mut i = p;
    let mut sep = None;
    loop {
        let (g, after) = v.run(i, 4, is_digit)?;
        if g == 0 || g > 4 || ng == 4 {
            return Ok(None);
        }
        groups[ng] = g;
        ng += 1;
        i += g;
        match after {
            Some(s) if (s == b'-' || s == b'.') && sep.is_none_or(|x| x == s) => {
                if !opt(v.at(i + 1)?, is_digit) {
                    break;
                }
                sep = Some(s);
                i += 1;
            }
            _ => break,
        }
    }
    let ok = match &groups[..ng] {
        [3, 3, 4] => true,
        [1, 3, 3, 4] => v.buf[p] == b'1',
        [3, 3, 3, 4] => &v.buf[p..p + 3] == b"001",
        _ => false,
    };
    if !ok {
        return Ok(None);
    }
    let end = extension(v, i)?;
    if !boundary_ok(v, end)? {
        return Ok(None);
    }
    Ok(Some(Hit::new(Kind::Phone, end - p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hit at the first candidate byte, as the scanner keeps it (ten
    /// bare digits only in phone context).
    fn probe(s: &str) -> Option<usize> {
        let p = s.bytes().position(|b| b.is_ascii_digit() || b == b'+' || b == b'(').unwrap();
        let v = View { buf: s.as_bytes(), eof: true };
        let contexts =
            super::super::context::Contexts::new(&super::super::ContextConfig::default()).unwrap();
        detect(&v, p).unwrap().filter(|h| contexts.confirms(v.buf, p, h)).map(|h| h.len)
    }

    #[test]
    fn phone_table() {
        let cases: &[(&str, Option<usize>)] = &[
            ("+10238297908", Some(12)),
            ("call +1-725-602-3938x943 now", Some(19)),
            ("+44 20 7946 0958", Some(16)),
            ("(415)555-0132", Some(13)),
            ("(415) 555-0132x12", Some(17)),
            ("415-555-0132", Some(12)),
            ("415.555.0132x1234", Some(17)),
            ("001-785-360-4884", Some(16)),
            ("1-785-360-4884", Some(14)),
            ("734-587-4086x17457", Some(18)),
            // German notation: a `/` after the area code.
            ("Tel. 030/1234567", Some(11)),
            ("Tel. 030/123 4567.", Some(12)),
            ("0221/12 34 56", Some(13)),
            ("tel 089/1234567-89", Some(14)),
            ("030/123 4567x12", Some(15)),
            ("+49 30/123 4567", Some(15)),
            ("+49-221/1234567", Some(15)),
            ("+49 30/1234567", Some(14)),
            // Ten bare digits: a phone only in phone context.
            ("tel:4155550132", Some(10)),
            ("Phone: 4155550132.", Some(10)),
            ("{\"mobile\": \"4155550132\"}", Some(10)),
            ("fax 4155550132 ", Some(10)),
            ("phone 1155550132", None),
            ("phone 4151550132", None),
            ("phone 41555501321", None),
            ("phone 4155550132.5", None),
            ("phone 4155550132-12", None),
            ("phone order 4155550132", None),
            ("hotel 4155550132", None),
            // Not phones.
            ("4155550132", None),
            ("ref 4155550132", None),
            ("13.46.236.249", None),
            ("5330.90", None),
            ("v6.14.800", None),
            ("2024-05-06T10:11:12", None),
            ("ISBN 978-6207369461", None),
            ("+1234", None),
            ("+1234567890123456", None),
            ("415-555.0132", None),
            ("415-555-0132-99", None),
            ("415-555-01321", None),
            ("002-785-360-4884", None),
            // Slashes that are no area code's.
            ("01/05/2024", None),
            ("12/05/2024", None),
            ("2024/05/06", None),
            ("0001/2024", None),
            ("030/2024", None),
            ("0042/1234567", None),
            ("030/1234567/8", None),
            ("030/123 4567-89", None),
            ("030/1234567890123", None),
            ("1/2", None),
            ("3/4 cup", None),
            ("/api/0221/1234567", None),
            ("030_1234567", None),
            ("0.030/1234567", None),
            ("+49/30/1234567", None),
            ("+1 10/12/2024", None),
            ("+49 30/12/2024", None),
            ("+49 30/1234567/8", None),
        ];
        for (s, want) in cases {
            assert_eq!(probe(s), *want, "{s}");
        }
    }
}
