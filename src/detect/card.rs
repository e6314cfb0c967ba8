//! Payment card numbers: 12-19 digits, contiguous or in consistent groups of
//! single spaces or dashes, Luhn-valid and inside a known issuer range with
//! that brand's lengths.
//!
//! Never reports a digit run that is part of a longer run, of a decimal
//! number, or glued to letters or `_` (IDs, hashes).

use super::classes::{is_digit, is_word, opt};
use super::validate::luhn;
use super::view::{Hit, Probe, Shape, View};
use super::{Brand, Kind};

/// Whether these group lengths are a layout accepted for separated numbers:
/// 4-4-4 and a last group of 1 to 4 (13 to 16 digits), 4-4-4-4 and 1 to 3
/// (17 to 19), 4-6-5 (Amex) and 4-6-4 (Diners Club). Conservative on
/// purpose: the common printed forms only.
fn grouping_ok(groups: &[usize]) -> bool {
    matches!(groups, [4, 4, 4, 1..=4] | [4, 4, 4, 4, 1..=3] | [4, 6, 4 | 5])
}

/// Longest span a card candidate can cover (19 digits, 4 separators) plus
/// the two bytes of right context.
pub(crate) const LOOKAHEAD: usize = 26;

/// Per first-run length, the first digits (bit `d` for digit `d`) with
/// which [`may_start`] can be true: the seek drops every other digit run
/// from its byte-class masks alone. A first group of 4 may start with any
/// digit (its brand is checked once the whole number is read); a
/// contiguous run only with a first digit of an issuer range of that
/// length (see [`brand`]).
pub(crate) const START_DIGITS: [u16; 20] = {
    let mut t = [0u16; 20];
    t[4] = 0x3ff;
    t[12] = 1 << 5 | 1 << 6; // Maestro
    t[13] = 1 << 4 | 1 << 5 | 1 << 6; // Visa, Maestro
    t[14] = 1 << 3 | 1 << 5 | 1 << 6; // Diners Club, Maestro
    t[15] = 1 << 3 | 1 << 5 | 1 << 6; // Amex, Maestro
    t[16] = 0b111_1100; // 2 to 6
    t[19] = 0b111_1100;
    t
};

/// Whether a card can start at a cluster of this shape: a contiguous run of
/// a card length inside an issuer range, or a first group of 4 followed by
/// a second group of 4 or 6 (every layout [`grouping_ok`] accepts). Never false
/// where [`detect`] could match.
#[inline]
pub(crate) fn may_start(s: &Shape) -> bool {
    match s.len() {
        4 => matches!(s.sep, Some(b' ' | b'-')) && matches!(s.second, 4 | 6),
        12..=16 | 19 => brand(s.first).is_some(),
        _ => false,
    }
}

/// Detects a card starting at `p` (a digit).
///
/// A separated number is read group by group. When the whole run does not
/// validate, the card may still be a part of it: a short group (1 to 3
/// digits) cannot be a group of any printed layout's start, so one just
/// before `p` (`qty 2 4111 ...`, `+1 4111 ...`, `1-4111-...`) does not hide
/// the card, and the groups up to a short group after it (`... 1111 2
/// items`) are tried as a card of their own, the longest first. A group of
/// 4 or more digits next to the card continues its grouping: the whole run
/// is one number, not a card (`1234 4111 1111 1111 1111`).
pub(crate) fn detect(v: &View, p: usize) -> Probe {
    let prev = v.before(p, 1);
    if opt(prev, |b| is_word(b) || is_digit(b)) {
        return Ok(None);
    }
    if prev == Some(b'.') && opt(v.before(p, 2), is_digit) {
        return Ok(None);
    }
    let mut digits = [0u8; 19];
    let mut n = 0usize;
    let (run, next) = v.run(p, 19, is_digit)?;
    if run > 19 {
        return Ok(None);
    }
    digits[..run].copy_from_slice(&v.buf[p..p + run]);
    n += run;
    let mut end = p + run;
    if run == 4 && matches!(next, Some(b' ') | Some(b'-')) && opt(v.at(end + 1)?, is_digit) {
        let sep = next.unwrap();
        if prev == Some(sep) && opt(v.before(p, 2), is_digit) && !short_group_before(v, p) {
            return Ok(None);
        }
        // Each group's length and the end of the digits read up to it.
        let mut groups = [(4usize, end); MAX_GROUPS];
        let mut ng = 1;
        loop {
            // `end` is at a separator followed by a digit.
            let (g, after) = v.run(end + 1, 6, is_digit)?;
            if g > 6 || n + g > 19 || ng == MAX_GROUPS {
                // The run goes on past any card: only a layout that a short
                // group ends can still be one.
                break;
            }
            digits[n..n + g].copy_from_slice(&v.buf[end + 1..end + 1 + g]);
            n += g;
            end += 1 + g;
            groups[ng] = (g, end);
            ng += 1;
            if after == Some(sep) && opt(v.at(end + 1)?, is_digit) {
                continue;
            }
            // The run ends here: the whole of it is the candidate.
            let lens = group_lens(&groups[..ng]);
            if grouping_ok(&lens[..ng]) {
                if let Some(hit) = whole(v, p, end, &digits[..n])? {
                    return Ok(Some(hit));
                }
            }
            break;
        }
        // The groups before a short one, longest first (at most three
        // layouts fit in five groups).
        for k in (3..ng).rev() {
            if groups[k].0 >= 4 {
                continue;
            }
            let lens = group_lens(&groups[..k]);
            if !grouping_ok(&lens[..k]) {
                continue;
            }
            let len: usize = lens[..k].iter().sum();
            if let Some(brand) = validate(&digits[..len]) {
                let end = groups[k - 1].1;
                return Ok(Some(Hit { brand: Some(brand), ..Hit::new(Kind::Card, end - p) }));
            }
        }
        return Ok(None);
    } else if !(12..=19).contains(&run) {
        return Ok(None);
    }
    whole(v, p, end, &digits[..n])
}

/// Most groups read from one run: the longest layout (5 groups) and the
/// short group after it.
const MAX_GROUPS: usize = 6;

fn group_lens(groups: &[(usize, usize)]) -> [usize; MAX_GROUPS] {
    let mut lens = [0; MAX_GROUPS];
    for (l, g) in lens.iter_mut().zip(groups) {
        *l = g.0;
    }
    lens
}

/// Whether the group just before the separator before `p` has 1 to 3
/// digits: a quantity, a country code or a list number, not a group of the
/// card's layout (every layout's groups but the last have 4 or more).
fn short_group_before(v: &View, p: usize) -> bool {
    let run = (2..=5).take_while(|&k| opt(v.before(p, k), is_digit)).count();
    (1..=3).contains(&run)
}

/// The card that ends at `end`, when the digits validate and the right
/// boundary holds.
fn whole(v: &View, p: usize, end: usize, digits: &[u8]) -> Probe {
    // Right boundary: not glued to a word, not the integer part of a decimal.
    let next = v.at(end)?;
    if opt(next, is_word) {
        return Ok(None);
    }
    if next == Some(b'.') && opt(v.at(end + 1)?, is_digit) {
        return Ok(None);
    }
    let Some(brand) = validate(digits) else { return Ok(None) };
    // A contiguous 19-digit run is the width of a signed 64-bit ID; Visa's
    // rare 19-digit numbers are only accepted when printed in groups.
    if brand == Brand::Visa && digits.len() == 19 && end - p == 19 {
        return Ok(None);
    }
    Ok(Some(Hit { brand: Some(brand), ..Hit::new(Kind::Card, end - p) }))
}

/// The brand of Luhn-valid digits in an issuer range.
fn validate(digits: &[u8]) -> Option<Brand> {
    if !luhn(digits) {
        return None;
    }
    brand(digits)
}

fn prefix(d: &[u8], k: usize) -> u32 {
    d[..k].iter().fold(0, |a, &c| a * 10 + u32::from(c - b'0'))
}

/// The brand of a card number (ASCII digits) if its issuer range and length
/// agree.
///
/// Lengths are conservative: 17 and 18 digits are accepted for no brand
/// (practically never issued, and exactly the length of 64-bit snowflake
/// IDs, which would otherwise pass Luhn one time in ten). The co-branded
/// 622126-622925 range is reported as UnionPay, its issuing network.
pub(crate) fn brand(d: &[u8]) -> Option<Brand> {
    let n = d.len();
    if !(12..=19).contains(&n) || n == 17 || n == 18 {
        return None;
    }
    // No issuer range starts with 0, 1, 7, 8 or 9: most IDs and epoch
    // timestamps end here.
    if !matches!(d[0], b'2'..=b'6') {
        return None;
    }
    let p4 = prefix(d, 4);
    let (p2, p3) = (p4 / 100, p4 / 10);
    let len = |lens: &[usize], b: Brand| lens.contains(&n).then_some(b);
    let long = |b: Brand| (n == 16 || n == 19).then_some(b);
    if d[0] == b'4' {
        return len(&[13, 16, 19], Brand::Visa);
    }
    if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
        return len(&[16], Brand::Mastercard);
    }
    if (2200..=2204).contains(&p4) {
        return long(Brand::Mir);
    }
    if p2 == 34 || p2 == 37 {
        return len(&[15], Brand::Amex);
    }
    if p2 == 62 {
        return long(Brand::UnionPay);
    }
    if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 {
        return long(Brand::Discover);
    }
    if (3528..=3589).contains(&p4) {
        return long(Brand::Jcb);
    }
    if (300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39 {
        return len(&[14, 16], Brand::DinersClub);
    }
    if matches!(p4, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761..=6763) {
        return Some(Brand::Maestro);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(s: &str) -> Option<(usize, Option<Brand>)> {
        // The candidate is the first digit.
        let p = s.bytes().position(|b| b.is_ascii_digit()).unwrap();
        let v = View { buf: s.as_bytes(), eof: true };
        detect(&v, p).unwrap().map(|h| (h.len, h.brand))
    }

    #[test]
    fn cards_table() {
        use Brand::*;
        type Case = (&'static str, Option<(usize, Option<Brand>)>);
        let cases: &[Case] = &[
            ("4111111111111111", Some((16, Some(Visa)))),
            ("x 4111 1111 1111 1111 y", Some((19, Some(Visa)))),
            ("4111-1111-1111-1111", Some((19, Some(Visa)))),
            ("4111-1111 1111-1111", None),
            ("5500000000000004", Some((16, Some(Mastercard)))),
            ("2223000048400011", Some((16, Some(Mastercard)))),
            ("378282246310005", Some((15, Some(Amex)))),
            ("3782-822463-10005", Some((17, Some(Amex)))),
            ("30569309025904", Some((14, Some(DinersClub)))),
            ("3056-930902-5904", Some((16, Some(DinersClub)))),
            ("6011111111111117", Some((16, Some(Discover)))),
            ("3530111333300000", Some((16, Some(Jcb)))),
            ("6200000000000005", Some((16, Some(UnionPay)))),
            ("6759649826438453", Some((16, Some(Maestro)))),
            ("2200000000000004", Some((16, Some(Mir)))),
            ("4222222222222", Some((13, Some(Visa)))),
            ("4222 2222 2222 2", Some((16, Some(Visa)))),
            // Luhn failure.
            ("4111111111111112", None),
            // Part of a longer run.
            ("41111111111111110", None),
            ("ord_4111111111111111", None),
            ("a4111111111111111", None),
            ("4111111111111111abc", None),
            ("4111111111111111_x", None),
            // Decimals.
            ("0.4111111111111111", None),
            ("4111111111111111.5", None),
            ("4111111111111111. Next", Some((16, Some(Visa)))),
            // No issuer.
            ("9999999999999995", None),
            // Mastercard with the wrong length.
            ("55000000000000041", None),
            // 18 digits: a snowflake-shaped ID, never a card.
            ("398331291350924828", None),
            ("4924291378301304924", None),
            ("4924 2913 7830 1304 924", Some((23, Some(Visa)))),
            ("3004965080980378032", None),
            // Grouping continues beyond a card.
            ("4111 1111 1111 1111 1111", None),
            ("1234 4111 1111 1111 1111", None),
            ("4111 1111 1111 1111 12345", None),
            // A short group after the card is not part of it.
            ("4111 1111 1111 1111 2 items", Some((19, Some(Visa)))),
            ("4111-1111-1111-1111-22", Some((19, Some(Visa)))),
            ("3782-822463-10005-1", Some((17, Some(Amex)))),
            ("4222 2222 2222 2 5", Some((16, Some(Visa)))),
            ("4111 1111 1111 1111 2 3 4", Some((19, Some(Visa)))),
            // ... but the digits before it must still validate.
            ("4111 1111 1111 1112 2 items", None),
        ];
        for (s, want) in cases {
            assert_eq!(probe(s), *want, "{s}");
        }
    }

    /// A short group before the separator before the card does not hide
    /// it; a group of four or more continues its grouping.
    #[test]
    fn short_group_before_the_card() {
        let at = |s: &str, p: usize| {
            let v = View { buf: s.as_bytes(), eof: true };
            detect(&v, p).unwrap().map(|h| h.len)
        };
        let cases: &[(&str, usize, Option<usize>)] = &[
            ("qty 2 4111 1111 1111 1111", 6, Some(19)),
            ("1-4111-1111-1111-1111", 2, Some(19)),
            ("+1 4111 1111 1111 1111", 3, Some(19)),
            ("a 7 5555 5555 5555 4444", 4, Some(19)),
            ("123 4111 1111 1111 1111", 4, Some(19)),
            ("1234 4111 1111 1111 1111", 5, None),
            ("12345 4111 1111 1111 1111", 6, None),
            // A different separator before is no group of the card's.
            ("2024-4111 1111 1111 1111", 5, Some(19)),
        ];
        for &(s, p, want) in cases {
            assert_eq!(at(s, p), want, "{s}");
        }
    }

    #[test]
    fn needs_more_at_the_end_of_a_chunk() {
        let v = View { buf: b"4111111111111111", eof: false };
        assert!(detect(&v, 0).is_err());
        let v = View { buf: b"4111 1111 1111 1111", eof: false };
        assert!(detect(&v, 0).is_err());
    }
}
