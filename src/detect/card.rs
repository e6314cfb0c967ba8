//! Payment card numbers: 12-19 digits, contiguous or in consistent groups
//! (single spaces or dashes, mixed as pages print them, or one of `.`, `/`
//! and `_` throughout), Luhn-valid and inside an issued range with that
//! scheme's lengths ([`issuers`]). Numbers written with
//! references, escapes, Unicode separators or inline tags reach [`detect`]
//! normalized by the scanner's units path ([`units`](super::units)).
//!
//! Three shapes are also the shapes of other things and are reported here
//! for the scanner to decide from their context
//! ([`context`](super::context)): a contiguous 19-digit run (the width of a
//! 64-bit ID), a bare 15-digit UATP number (starting with 1, like many
//! numeric IDs), and a Luhn-valid number of 15 to 19 digits printed in a
//! card's groups from no known range (brand [`Brand::Unknown`]).
//!
//! Never reports a digit run that is part of a longer run, of a decimal
//! number, or glued to letters or `_` (IDs, hashes).

use super::classes::{is_digit, is_word, opt};
use super::validate::luhn;
use super::view::{Hit, Probe, Shape, View};
use super::{issuers, Brand, Kind};

/// Whether these group lengths are a layout accepted for separated numbers:
/// 4-4-4 and a last group of 1 to 4 (13 to 16 digits), 4-4-4-4 and 1 to 3
/// (17 to 19), 4-6-5 (Amex) and 4-6-4 (Diners Club). Conservative on
/// purpose: the common printed forms only.
fn grouping_ok(groups: &[usize]) -> bool {
    matches!(groups, [4, 4, 4, 1..=4] | [4, 4, 4, 4, 1..=3] | [4, 6, 4 | 5])
}

/// A separator between a card's groups.
#[inline]
fn is_sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'/' | b'_')
}

/// Whether `b` continues a grouping whose first separator is `first`: a
/// space and a hyphen mix (`4111 1111-1111 1111`); `.`, `/` and `_` only
/// continue themselves (a mix of those is a date, a path or a version).
#[inline]
fn continues(first: u8, b: u8) -> bool {
    b == first || (matches!(first, b' ' | b'-') && matches!(b, b' ' | b'-'))
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
    let mut t = issuers::first_digits();
    // What `brand_bare` refuses: contiguous 17 and 18 digits.
    t[17] = 0;
    t[18] = 0;
    t[4] = 0x3ff;
    t
};

/// Whether a card can start at a cluster of this shape: a contiguous run of
/// a card length inside an issuer range, or a first group of 4 followed by
/// a second group of 4 or 6 (every layout [`grouping_ok`] accepts). Never false
/// where [`detect`] could match.
#[inline]
pub(crate) fn may_start(s: &Shape) -> bool {
    match s.len() {
        4 => s.sep.is_some_and(is_sep) && matches!(s.second, 4 | 6),
        // The two-digit filter alone: the probe checks Luhn before the
        // issuer table (measured: judging by the exact lookup here costs
        // 6% more instructions on clean text than this filter).
        12..=16 | 19 => may_start_bare(s.first),
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
    // After a decimal point (`6.4111 ...`). A mask's `*` counts as the
    // digit it was: masking a token that ends in a digit (`AKIA...6.`)
    // must not turn the number after it into a card.
    if prev == Some(b'.') && opt(v.before(p, 2), digit_or_mask) {
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
    if run == 4 && opt(next, is_sep) && opt(v.at(end + 1)?, is_digit) {
        let sep = next.unwrap();
        if prev == Some(sep)
            && opt(v.before(p, 2), digit_or_mask)
            && long_groups_before(v, p, sep)
            && !card_before(v, p)
        {
            return Ok(None);
        }
        // A number from no known range, kept while a known one may follow.
        let mut unknown = None;
        // Each group's length and the end of the digits read up to it.
        let mut groups = [(4usize, end); MAX_GROUPS];
        let mut ng = 1;
        // Whether the run goes on past the groups read.
        let mut more = false;
        loop {
            // `end` is at a separator followed by a digit.
            let (g, after) = v.run(end + 1, 6, is_digit)?;
            if g > 6 || n + g > 19 || ng == MAX_GROUPS {
                // The run goes on past any card: only a layout that ends
                // before a group can still be one.
                more = true;
                break;
            }
            digits[n..n + g].copy_from_slice(&v.buf[end + 1..end + 1 + g]);
            n += g;
            end += 1 + g;
            groups[ng] = (g, end);
            ng += 1;
            if opt(after, |b| continues(sep, b)) && opt(v.at(end + 1)?, is_digit) {
                continue;
            }
            // The run ends here: the whole of it is the candidate.
            let lens = group_lens(&groups[..ng]);
            if grouping_ok(&lens[..ng]) {
                if let Some(hit) = whole(v, p, end, &digits[..n])? {
                    if hit.brand != Some(Brand::Unknown) {
                        return Ok(Some(hit));
                    }
                    unknown = Some(hit);
                }
            }
            break;
        }
        // The groups before a later one, longest first (at most three
        // layouts fit in five groups): a quantity (`... 1111 2 items`), a
        // reference number or the next card of a list (`... 1111 5555 5555
        // ...`, see [`card_before`]). A number from a known range wins
        // over one from none (which only stands in card context).
        let last = if more { ng } else { ng - 1 };
        for k in (3..=last).rev() {
            let lens = group_lens(&groups[..k]);
            if !grouping_ok(&lens[..k]) {
                continue;
            }
            // A short last group between two different separators is the
            // first group of another value (`... 1118 822-43-8021`, `...
            // 415-555-0132`), not the end of this one.
            let (g, end) = groups[k - 1];
            if g < 4 && v.buf[end - g - 1] != v.buf[end] {
                continue;
            }
            // Nor is a last group of three before two and four digits in
            // the same separator: an SSN's area (`... 7654 346 55 7654`),
            // which masking the card would leave half shown.
            if g == 3 && ssn_after(v, end)? {
                continue;
            }
            let len: usize = lens[..k].iter().sum();
            if let Some(brand) = validate(&digits[..len], false) {
                let hit = Hit { brand: Some(brand), ..Hit::new(Kind::Card, end - p) };
                if brand != Brand::Unknown {
                    return Ok(Some(hit));
                }
                unknown = unknown.or(Some(hit));
            }
        }
        return Ok(unknown);
    } else if !(12..=19).contains(&run) {
        return Ok(None);
    }
    whole(v, p, end, &digits[..n])
}

/// Whether the separator at `end` (after a group of three) is followed by
/// two digits, the same separator and four digits: the rest of an SSN.
fn ssn_after(v: &View, end: usize) -> Result<bool, super::view::More> {
    let Some(sep) = v.at(end)? else { return Ok(false) };
    let (a, after) = v.run(end + 1, 2, is_digit)?;
    if a != 2 || after != Some(sep) {
        return Ok(false);
    }
    let (b, _) = v.run(end + 4, 4, is_digit)?;
    Ok(b == 4)
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

/// Whether the run before the separator before `p` (a digit before it)
/// continues the card's grouping: every group of it, back to its start, has
/// 4 or more digits. A group of 1 to 3 digits is a quantity, a country code,
/// a list number or a group of another value (`822-43-8021`), not a group of
/// any card layout (each layout's groups but the last have 4 or more), so
/// such a run does not hide the card. Reads at most [`MAX_GROUPS`] groups
/// back (inside the view's history); a run longer than that is one number.
fn long_groups_before(v: &View, p: usize, sep: u8) -> bool {
    // `k` counts bytes back from `p`: `k` is the separator before a group.
    let mut k = 1;
    for _ in 0..MAX_GROUPS {
        // Masked digits count: masking the value before (an SSN) must not
        // uncover the card.
        let digits = (k + 1..=k + 8).take_while(|&j| opt(v.before(p, j), digit_or_mask)).count();
        if digits < 4 {
            return false;
        }
        k += digits + 1;
        let group_sep = v.before(p, k);
        if digits > 7
            || !opt(group_sep, |s| continues(sep, s))
            || !opt(v.before(p, k + 1), digit_or_mask)
        {
            return true;
        }
    }
    true
}

/// Whether the 19 bytes before the separator before `p` are a card in four
/// groups of four that starts a run or follows another group: cards listed
/// one after another (`4111 1111 1111 1111 5555 5555 5555 4444`), the first
/// of which [`detect`] reports as the leading groups of the run. The card
/// at `p` then starts a number of its own rather than continuing one.
fn card_before(v: &View, p: usize) -> bool {
    if p < 20 || opt(v.before(p, 21), |b| is_digit(b) || is_word(b)) {
        return false;
    }
    let s = &v.buf[p - 20..p - 1];
    let mut digits = [0u8; 16];
    for (g, d) in digits.chunks_exact_mut(4).enumerate() {
        let group = &s[5 * g..5 * g + 4];
        if !group.iter().all(|&b| is_digit(b)) {
            return false;
        }
        if g > 0 && !continues(s[4], s[5 * g - 1]) {
            return false;
        }
        d.copy_from_slice(group);
    }
    is_sep(s[4]) && validate(&digits, false).is_some()
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
    let Some(brand) = validate(digits, end - p == digits.len()) else { return Ok(None) };
    Ok(Some(Hit { brand: Some(brand), ..Hit::new(Kind::Card, end - p) }))
}

/// The brand of Luhn-valid digits in an issuer range; `bare` for a
/// contiguous run ([`brand_bare`]). Grouped digits (15 to 19) from no range
/// are [`Brand::Unknown`], which the scanner keeps only in card context.
fn validate(digits: &[u8], bare: bool) -> Option<Brand> {
    if !luhn(digits) {
        return None;
    }
    if bare {
        brand_bare(digits)
    } else {
        brand(digits).or_else(|| (15..=19).contains(&digits.len()).then_some(Brand::Unknown))
    }
}

/// The brand of a card number (ASCII digits) if an issued range and its
/// lengths agree ([`issuers`], the one table of them).
pub(crate) fn brand(d: &[u8]) -> Option<Brand> {
    issuers::lookup(d).map(|r| r.brand)
}

/// What [`brand_bare`] may accept, from the first two digits and the
/// length only (a superset of it).
#[inline]
fn may_start_bare(d: &[u8]) -> bool {
    let n = d.len();
    n != 17 && n != 18 && issuers::may_issue(d)
}

/// [`brand`] of a contiguous run, which must also not look like the IDs
/// that share its shape: 17 and 18 digits are the widths of 64-bit
/// snowflake IDs (which pass Luhn one time in ten) and are accepted only
/// printed in groups. 19 digits (the width of a signed 64-bit ID) and a
/// UATP number (15 digits from 1, the shape of many numeric IDs) are
/// returned, and stand only in card context (the scanner asks
/// [`context`](super::context)).
pub(crate) fn brand_bare(d: &[u8]) -> Option<Brand> {
    let n = d.len();
    if n == 17 || n == 18 {
        return None;
    }
    brand(d)
}

/// A digit, or the `*` a mask wrote over one.
#[inline]
pub(crate) fn digit_or_mask(b: u8) -> bool {
    is_digit(b) || b == b'*'
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hit at the first digit, as the scanner keeps it (ambiguous
    /// shapes only in card context).
    fn probe(s: &str) -> Option<(usize, Option<Brand>)> {
        // The candidate is the first digit.
        let p = s.bytes().position(|b| b.is_ascii_digit()).unwrap();
        let v = View { buf: s.as_bytes(), eof: true };
        let contexts =
            super::super::context::Contexts::new(&super::super::ContextConfig::default()).unwrap();
        detect(&v, p).unwrap().filter(|h| contexts.confirms(v.buf, p, h)).map(|h| (h.len, h.brand))
    }

    #[test]
    fn cards_table() {
        use Brand::*;
        type Case = (&'static str, Option<(usize, Option<Brand>)>);
        let cases: &[Case] = &[
            ("4111111111111111", Some((16, Some(Visa)))),
            ("x 4111 1111 1111 1111 y", Some((19, Some(Visa)))),
            ("4111-1111-1111-1111", Some((19, Some(Visa)))),
            // Mixed space and hyphen; `.`, `/`, `_` throughout only.
            ("4111-1111 1111-1111", Some((19, Some(Visa)))),
            ("4111 1111-1111 1111", Some((19, Some(Visa)))),
            ("4111.1111.1111.1111", Some((19, Some(Visa)))),
            ("4111/1111/1111/1111", Some((19, Some(Visa)))),
            ("4111_1111_1111_1111", Some((19, Some(Visa)))),
            ("3782.822463.10005", Some((17, Some(Amex)))),
            ("4111.1111/1111.1111", None),
            ("4111 1111.1111 1111", None),
            ("4111_1111_1111_1111_x", None),
            ("2024.1111.1111.1111", None),
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
            ("card 398331291350924828", None),
            // 19 contiguous digits: a card only in card context; grouped,
            // the grouping is the context.
            ("4924291378301304924", None),
            ("id 4924291378301304924", None),
            ("card 4924291378301304924", Some((19, Some(Visa)))),
            ("card_number=4924291378301304924", Some((19, Some(Visa)))),
            ("card, order_id 4924291378301304924", None),
            ("4924 2913 7830 1304 924", Some((23, Some(Visa)))),
            ("id 4924 2913 7830 1304 924", Some((23, Some(Visa)))),
            ("3004965080980378032", None),
            ("cc: 3004965080980378032", Some((19, Some(DinersClub)))),
            // Grouped, Luhn-valid, from no known range: a card (brand
            // unknown) only in card context.
            ("9111 1111 1111 1110", None),
            ("card 9111 1111 1111 1110", Some((19, Some(Unknown)))),
            ("card 9000-1234-5678-9012-348", Some((23, Some(Unknown)))),
            ("card 9111111111111110", None),
            ("card 7000 1234 1234 15", None),
            ("card 9111 1111 1111 1111", None),
            // A group of four or more after a card: a number of its own
            // (a reference, the next card of a list); before it, the
            // grouping continues (see `groups_before_the_card`).
            ("4111 1111 1111 1111 1111", Some((19, Some(Visa)))),
            ("4111 1111 1111 1111 12345", Some((19, Some(Visa)))),
            ("4111 1111 1111 1111 5555-5555-5555-4444", Some((19, Some(Visa)))),
            ("3782-822463-10005-1234", Some((17, Some(Amex)))),
            ("4111 1111 1111 1112 1111", None),
            ("1234 4111 1111 1111 1111", None),
            // A short group after the card is not part of it.
            ("4111 1111 1111 1111 2 items", Some((19, Some(Visa)))),
            ("4111-1111-1111-1111-22", Some((19, Some(Visa)))),
            ("3782-822463-10005-1", Some((17, Some(Amex)))),
            ("4222 2222 2222 2 5", Some((16, Some(Visa)))),
            ("4111 1111 1111 1111 2 3 4", Some((19, Some(Visa)))),
            // A short last group that another value's separator follows
            // is that value's first group.
            ("card 4111 1111 1118 822-43-8021", None),
            ("4222 2222 2222 2-555-0132", None),
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
    fn groups_before_the_card() {
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
            // The groups before are another value's, or a short one.
            ("822-43-8021 4111 1111 1111 1111", 12, Some(19)),
            ("+1 415 555 0132 4111 1111 1111 1111", 16, Some(19)),
            ("12 3456 4111 1111 1111 1111", 8, Some(19)),
            ("1234 5678 4111 1111 1111 1111", 10, None),
            // Cards listed one after another, in any separators.
            ("4111 1111 1111 1111 5555 5555 5555 4444", 20, Some(19)),
            ("4111-1111-1111-1111 5555 5555 5555 4444", 20, Some(19)),
            ("4111.1111.1111.1111 5555 5555 5555 4444", 20, Some(19)),
            ("x 4111 1111 1111 1111 5555 5555 5555 4444", 22, Some(19)),
            // ... but only after a card.
            ("4111 1111 1111 1112 5555 5555 5555 4444", 20, None),
            ("a4111 1111 1111 1111 5555 5555 5555 4444", 21, None),
            ("14111 1111 1111 1111 5555 5555 5555 4444", 21, None),
        ];
        for &(s, p, want) in cases {
            assert_eq!(at(s, p), want, "{s}");
        }
    }

    /// Every scheme's published test numbers are found bare, except UATP's
    /// (15 digits from 1, the shape of many IDs) and 19-digit ones (the
    /// width of a 64-bit ID), which are found in groups or in card context.
    #[test]
    fn every_scheme_is_found() {
        let cases: &[(&str, Option<Brand>)] = &[
            ("pay 6703444444444449 now", Some(Brand::Bancontact)),
            ("pay 5066991111111118 now", Some(Brand::Elo)),
            ("pay 6062826786276634 now", Some(Brand::Hipercard)),
            ("pay 8171999927660000 now", Some(Brand::UnionPay)),
            ("pay 8171999900000000021 now", None),
            ("card 8171999900000000021 now", Some(Brand::UnionPay)),
            ("8171 9999 0000 0000 021 now", Some(Brand::UnionPay)),
            ("pay 9792030394440796 now", Some(Brand::Troy)),
            ("pay 5019717010103742 now", Some(Brand::Dankort)),
            ("pay 6370950000000005 now", Some(Brand::InstaPayment)),
            ("pay 135410014004955 now", None),
            ("card 135410014004955 now", Some(Brand::Uatp)),
            ("pay 1354 100140 04955 now", Some(Brand::Uatp)),
        ];
        for &(s, want) in cases {
            assert_eq!(probe(s).and_then(|h| h.1), want, "{s}");
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
