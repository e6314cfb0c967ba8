//! US Social Security numbers: `AAA-GG-SSSS` with one separator throughout
//! (a hyphen, a space, or `.`, `/` or `_` as some pages print them) and the
//! SSA validity rules, and 9 bare digits, which the scanner only reports when
//! SSN context such as "ssn" appears shortly before
//! ([`context`](super::context)).

use super::card;
use super::classes::{is_digit, is_word, opt};
use super::context::Context;
use super::view::{Hit, Probe, Shape, View};
use super::Kind;

/// An SSN and its separator, then the card that may follow it.
pub(crate) const LOOKAHEAD: usize = 12 + card::LOOKAHEAD;

/// Per first-run length, the first digits (bit `d` for digit `d`) with
/// which [`may_start`] can be true: 3 digits of a separated SSN (any), or
/// 9 bare digits whose area does not start with 9.
pub(crate) const START_DIGITS: [u16; 20] = {
    let mut t = [0u16; 20];
    t[3] = 0x3ff;
    t[9] = 0x1ff;
    t
};

/// Whether an SSN can start at a cluster of this shape: 9 bare digits
/// within the SSA rules, or 3 digits, a separator and 2 digits. Never
/// false where [`detect`] could match.
#[inline]
pub(crate) fn may_start(s: &Shape) -> bool {
    match s.len() {
        9 => s.first.try_into().is_ok_and(valid),
        3 => s.sep.is_some_and(is_sep) && s.second == 2,
        _ => false,
    }
}

/// [`may_start`] at `p` of `buf`, with the checks a shape cannot make: a
/// bare 9-digit run needs SSN context before it (the same decision the
/// scanner makes of the hit). Those bytes are always in the buffer (the
/// scanner keeps [`HISTORY`](super::view::HISTORY) bytes of history), so
/// the answer does not depend on how the stream was split. And a separated
/// SSN's second group ends in its separator, as [`detect`] requires: with
/// `.` and `/` accepted, prices and dates (`123.45<`) would otherwise all
/// be probed (true while that byte has not arrived).
#[inline(always)]
pub(crate) fn may_start_at(buf: &[u8], p: usize, s: &Shape, context: &Context) -> bool {
    may_start(s)
        && if s.len() == 9 {
            context_before(buf, p, context)
        } else {
            buf.get(p + 6).is_none_or(|&b| Some(b) == s.sep)
        }
}

/// Kept out of line: the seek's judgement of every digit run inlines
/// [`may_start_at`], and only bare 9-digit runs get this far.
#[inline(never)]
fn context_before(buf: &[u8], p: usize, context: &Context) -> bool {
    context.accepts(buf, p)
}

/// A separator between an SSN's groups.
#[inline]
fn is_sep(b: u8) -> bool {
    matches!(b, b'-' | b' ' | b'.' | b'/' | b'_')
}

/// SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000.
pub(crate) fn valid(d: &[u8; 9]) -> bool {
    let area = &d[..3];
    area != b"000" && area != b"666" && area[0] != b'9' && &d[3..5] != b"00" && &d[5..] != b"0000"
}

/// Detects an SSN starting at `p` (a digit).
pub(crate) fn detect(v: &View, p: usize) -> Probe {
    let prev = v.before(p, 1);
    if opt(prev, |b| is_word(b) || is_digit(b)) {
        return Ok(None);
    }
    // A mask's `*` counts as the digit it was (see `card::detect`).
    if matches!(prev, Some(b'.') | Some(b'-')) && opt(v.before(p, 2), card::digit_or_mask) {
        return Ok(None);
    }
    let (run, next) = v.run(p, 9, is_digit)?;
    let mut d = [0u8; 9];
    let end;
    if run == 3 && opt(next, is_sep) {
        let sep = next.unwrap();
        // Not the end of a longer number in the same separators
        // (`12/822/43/8021`); a space before is any text's.
        if prev == Some(sep) && sep != b' ' && opt(v.before(p, 2), card::digit_or_mask) {
            return Ok(None);
        }
        let (g, after) = v.run(p + 4, 2, is_digit)?;
        if g != 2 || after != Some(sep) {
            return Ok(None);
        }
        let (s, _) = v.run(p + 7, 4, is_digit)?;
        if s != 4 {
            return Ok(None);
        }
        end = p + 11;
        // Not the start of a longer number glued by `-` or `.` (or a
        // decimal), unless what follows is a card of its own:
        // [`card::detect`] does not let an SSN's groups hide a card after
        // them, so the SSN stands too. After a space or a `/` the next
        // digits may start any value (an email's local part, a phone), and
        // an SSN refused for them would be uncovered when they are masked:
        // there the SSN stands whatever follows.
        let n = v.at(end)?;
        let glued = n == Some(b'.') || (n == Some(sep) && sep == b'-');
        if glued && opt(v.at(end + 1)?, is_digit) && card::detect(v, end + 1)?.is_none() {
            return Ok(None);
        }
        d[..3].copy_from_slice(&v.buf[p..p + 3]);
        d[3..5].copy_from_slice(&v.buf[p + 4..p + 6]);
        d[5..].copy_from_slice(&v.buf[p + 7..p + 11]);
    } else if run == 9 {
        end = p + 9;
        if next == Some(b'.') && opt(v.at(end + 1)?, is_digit) {
            return Ok(None);
        }
        d.copy_from_slice(&v.buf[p..end]);
    } else {
        return Ok(None);
    }
    if opt(v.at(end)?, is_word) || !valid(&d) {
        return Ok(None);
    }
    // Bare digits stand only with SSN context before them, which the
    // scanner checks of every hit ([`Engine::confirms`](super::Engine)).
    Ok(Some(Hit::new(Kind::Ssn, end - p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(s: &str) -> Option<usize> {
        let p = s.bytes().position(|b| b.is_ascii_digit()).unwrap();
        let v = View { buf: s.as_bytes(), eof: true };
        let contexts =
            super::super::context::Contexts::new(&super::super::ContextConfig::default()).unwrap();
        detect(&v, p).unwrap().filter(|h| contexts.confirms(v.buf, p, h)).map(|h| h.len)
    }

    /// The seek's check of a separated start agrees with [`detect`]: a
    /// second group that does not end in the separator starts no SSN
    /// (prices, dates); one whose next byte has not arrived may.
    #[test]
    fn separated_start_needs_its_separator_after_the_second_group() {
        let contexts =
            super::super::context::Contexts::new(&super::super::ContextConfig::default()).unwrap();
        let cases: &[(&str, bool)] = &[
            ("822.43.8021", true),
            ("822-43-8021", true),
            ("822/43/8021", true),
            ("822 43 8021", true),
            ("822.43", true),
            ("123.45<", false),
            ("123.45 ", false),
            ("822-43.8021", false),
            ("822/43-8021", false),
        ];
        for (s, want) in cases {
            let buf = s.as_bytes();
            let shape = Shape::read(buf, 0, true).unwrap();
            assert_eq!(may_start_at(buf, 0, &shape, &contexts.ssn), *want, "{s}");
            if !*want {
                assert_eq!(probe(s), None, "{s}");
            }
        }
    }

    #[test]
    fn ssn_table() {
        let cases: &[(&str, Option<usize>)] = &[
            ("822-43-8021", Some(11)),
            ("id 822 43 8021.", Some(11)),
            ("822-43 8021", None),
            // `.`, `/` and `_` throughout, as some pages print them.
            // A card after the SSN's groups does not make them one number.
            ("822 43 8021 4111 1111 1111 1111", Some(11)),
            ("822 43 8021 1234", Some(11)),
            ("822 43 8021 1@e.example", Some(11)),
            ("822-43-8021-1234", None),
            ("822.43.8021", Some(11)),
            ("822/43/8021", Some(11)),
            ("822_43_8021", Some(11)),
            ("822.43-8021", None),
            ("822/43/8021/5", Some(11)),
            ("666.93.9054", None),
            ("822.43.80211", None),
            ("000-20-1554", None),
            ("666-93-9054", None),
            ("912-52-1625", None),
            ("822-00-8021", None),
            ("822-43-0000", None),
            ("822-43-80211", None),
            ("822-43-8021-5", None),
            ("x822-43-8021", None),
            ("822438021", None),
            ("SSN: 822438021", Some(9)),
            ("Social Security number 822438021", Some(9)),
            ("ssn 8224380215", None),
            ("ssn 8224380.21", None),
        ];
        for (s, want) in cases {
            assert_eq!(probe(s), *want, "{s}");
        }
    }

    /// The digits before a separator before `p`: the end of a longer
    /// number in the SSN's own separator, otherwise another value.
    #[test]
    fn groups_before() {
        let at = |s: &str, p: usize| {
            detect(&View { buf: s.as_bytes(), eof: true }, p).unwrap().map(|h| h.len)
        };
        let cases: &[(&str, usize, Option<usize>)] = &[
            ("12/822/43/8021", 3, None),
            ("1_822_43_8021", 2, None),
            ("08/822-43-8021", 3, Some(11)),
            ("12-822-43-8021", 3, None),
            ("12 822 43 8021", 3, Some(11)),
        ];
        for &(s, p, want) in cases {
            assert_eq!(at(s, p), want, "{s}");
        }
    }
}
