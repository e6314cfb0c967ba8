//! Check-digit validators: Luhn for card numbers, ISO 7064 mod 97-10 for
//! IBANs (custom rules may require either).

/// Luhn (mod 10) over ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// What one character does to a mod-97 remainder: `(multiplier, addend)`.
/// A digit is one decimal digit, a letter (either case) two (10..35),
/// anything else leaves the remainder as it is.
static MOD97_STEP: [(u8, u8); 256] = {
    let mut t = [(1u8, 0u8); 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = match b {
            b'0'..=b'9' => (10, b - b'0'),
            b'A'..=b'Z' => (100, b - b'A' + 10),
            b'a'..=b'z' => (100, b - b'a' + 10),
            _ => (1, 0),
        };
        c += 1;
    }
    t
};

/// ISO 7064 mod 97-10 as used by IBAN, of `head` followed by `tail`:
/// letters count as 10..35. An IBAN is checked as its BBAN (`head`) then
/// its country code and check digits (`tail`), so nothing is rearranged.
pub(crate) fn mod97(head: &[u8], tail: &[u8]) -> u32 {
    // Reduced every eight characters, not every one: from below 97, eight
    // steps of at most x100 + 35 stay below 9.8e17, well inside a u64. A
    // table step per character rather than a match: IBAN-shaped decoys
    // (order and reference numbers) reach this on clean pages.
    let mut r = 0u64;
    for part in [head, tail] {
        for chunk in part.chunks(8) {
            for &c in chunk {
                let (m, a) = MOD97_STEP[usize::from(c)];
                r = r * u64::from(m) + u64::from(a);
            }
            r %= 97;
        }
    }
    r as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_table() {
        for (s, ok) in [
            ("4111111111111111", true),
            ("4111111111111112", false),
            ("79927398713", true),
            ("0", true),
            ("", false),
            ("378282246310005", true),
        ] {
            assert_eq!(luhn(s.as_bytes()), ok, "{s}");
        }
    }

    proptest::proptest! {
        /// Reducing every eighth character equals reducing at every one.
        #[test]
        fn mod97_equals_stepwise(s in "[0-9A-Za-z ]{0,70}", cut in 0usize..71) {
            let stepwise = s.bytes().fold(0u32, |r, c| match c {
                b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
                b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
                b'a'..=b'z' => (r * 100 + u32::from(c - b'a') + 10) % 97,
                _ => r,
            });
            proptest::prop_assert_eq!(mod97(s.as_bytes(), b""), stepwise);
            // Split anywhere, the same.
            let cut = cut % (s.len() + 1);
            proptest::prop_assert_eq!(mod97(&s.as_bytes()[..cut], &s.as_bytes()[cut..]), stepwise);
        }
    }

    #[test]
    fn mod97_iban_example() {
        // GB82WEST12345698765432 rearranged.
        assert_eq!(mod97(b"WEST12345698765432", b"GB82"), 1);
        assert_eq!(mod97(b"WEST12345698765432", b"GB83"), 2);
    }
}
