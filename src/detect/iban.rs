//! IBAN: country code, two check digits and the BBAN, compact or printed in
//! groups of four separated by single spaces (ISO 13616's paper form) or
//! single dots (`DE89.3704.0044...`, as some invoices and shop pages print
//! it), one separator throughout; the length must be that country's and
//! the ISO 13616 mod-97 check must hold.

use super::classes::{is_alnum, is_digit, opt};
use super::validate::mod97;
use super::view::{Hit, Probe, View};
use super::Kind;

/// IBAN length per country (SEPA and the other common registry entries).
const LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SC", 31),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
];

/// Longest IBAN (34) printed with spaces, plus right context.
pub(crate) const LOOKAHEAD: usize = 44;

/// [`LENGTHS`] indexed by the two capitals (26 x 26), 0 where none.
static BY_CODE: [u8; 26 * 26] = {
    let mut t = [0u8; 26 * 26];
    let mut i = 0;
    while i < LENGTHS.len() {
        let (cc, len) = LENGTHS[i];
        t[(cc[0] - b'A') as usize * 26 + (cc[1] - b'A') as usize] = len as u8;
        i += 1;
    }
    t
};

fn country_len(cc: [u8; 2]) -> Option<usize> {
    if !cc[0].is_ascii_uppercase() || !cc[1].is_ascii_uppercase() {
        return None;
    }
    let len = BY_CODE[usize::from(cc[0] - b'A') * 26 + usize::from(cc[1] - b'A')];
    (len != 0).then_some(usize::from(len))
}

/// True for a country code with a known IBAN length (the scanner's cheap
/// check before probing an uppercase letter).
#[inline]
pub(crate) fn is_country(cc: [u8; 2]) -> bool {
    country_len(cc).is_some()
}

#[inline]
fn is_bban(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_uppercase()
}

/// Detects an IBAN starting at `p` (an uppercase letter).
pub(crate) fn detect(v: &View, p: usize) -> Probe {
    if opt(v.before(p, 1), is_alnum) {
        return Ok(None);
    }
    let Some(c1) = v.at(p + 1)? else { return Ok(None) };
    let Some(len) = country_len([v.buf[p], c1]) else { return Ok(None) };
    if !opt(v.at(p + 2)?, is_digit) || !opt(v.at(p + 3)?, is_digit) {
        return Ok(None);
    }
    let mut chars = [0u8; 34];
    chars[..4].copy_from_slice(&v.buf[p..p + 4]);
    let mut n = 4;
    let mut i = p + 4;
    let sep = v.at(i)?;
    if matches!(sep, Some(b' ' | b'.')) && opt(v.at(i + 1)?, is_bban) {
        // Printed: groups of four, the last one possibly shorter.
        while n < len {
            if v.at(i)? != sep {
                return Ok(None);
            }
            let (g, _) = v.run(i + 1, 4, is_bban)?;
            if g == 0 || g > 4 || n + g > len || (g < 4 && n + g < len) {
                return Ok(None);
            }
            chars[n..n + g].copy_from_slice(&v.buf[i + 1..i + 1 + g]);
            n += g;
            i += 1 + g;
        }
    } else {
        let (g, _) = v.run(i, len - 4, is_bban)?;
        if g != len - 4 {
            return Ok(None);
        }
        chars[4..len].copy_from_slice(&v.buf[i..i + g]);
        n = len;
        i += g;
    }
    if opt(v.at(i)?, is_alnum) {
        return Ok(None);
    }
    let c = &chars[..n];
    if mod97(&c[4..], &c[..4]) != 1 {
        return Ok(None);
    }
    Ok(Some(Hit { keep_prefix: 2, ..Hit::new(Kind::Iban, i - p) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(s: &str) -> Option<usize> {
        let p = s.bytes().position(|b| b.is_ascii_uppercase()).unwrap();
        let v = View { buf: s.as_bytes(), eof: true };
        detect(&v, p).unwrap().map(|h| h.len)
    }

    #[test]
    fn country_lookup_equals_the_list() {
        // Unique codes, so the table holds every entry of the list.
        assert!(LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let listed = LENGTHS.iter().find(|(c, _)| **c == [a, b]).map(|(_, n)| *n);
                assert_eq!(country_len([a, b]), listed, "{a:#x} {b:#x}");
            }
        }
        assert_eq!(country_len(*b"AD"), Some(24));
        assert_eq!(country_len(*b"XK"), Some(20));
        assert_eq!(country_len(*b"ZZ"), None);
    }

    #[test]
    fn iban_table() {
        let cases: &[(&str, Option<usize>)] = &[
            ("GB82WEST12345698765432", Some(22)),
            ("iban GB82 WEST 1234 5698 7654 32.", Some(27)),
            ("DE89370400440532013000", Some(22)),
            ("DE89 3704 0044 0532 0130 00", Some(27)),
            ("NL91ABNA0417164300", Some(18)),
            ("FR1420041010050500013M02606", Some(27)),
            // Bad check digits.
            ("GB83WEST12345698765432", None),
            ("GB350BTN36357193689710", None),
            // Wrong length for the country.
            ("GB82WEST123456987654321", None),
            ("GB82WEST1234569876543", None),
            // Glued.
            ("xGB82WEST12345698765432", None),
            // Unknown country.
            ("ZZ82WEST12345698765432", None),
            ("DE89 3704 0044 0532 013 000", None),
            // Dots, one separator throughout.
            ("DE89.3704.0044.0532.0130.00", Some(27)),
            ("iban: GB82.WEST.1234.5698.7654.32.", Some(27)),
            ("DE89.3704 0044.0532.0130.00", None),
            ("DE89.3704.0044.0532.013.000", None),
            ("DE88.3704.0044.0532.0130.00", None),
        ];
        for (s, want) in cases {
            assert_eq!(probe(s), *want, "{s}");
        }
    }
}
