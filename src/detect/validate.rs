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

/// ISO 7064 mod 97-10 as used by IBAN: letters count as 10..35. Input is
/// already rearranged (country code and check digits moved to the end).
pub(crate) fn mod97(chars: impl Iterator<Item = u8>) -> u32 {
    // Reduced every eight characters, not every one: from below 97, eight
    // steps of at most x100 + 35 stay below 9.8e17, well inside a u64.
    let mut r = 0u64;
    for (i, c) in chars.enumerate() {
        r = match c {
            b'0'..=b'9' => r * 10 + u64::from(c - b'0'),
            b'A'..=b'Z' => r * 100 + u64::from(c - b'A') + 10,
            b'a'..=b'z' => r * 100 + u64::from(c - b'a') + 10,
            _ => r,
        };
        if i % 8 == 7 {
            r %= 97;
        }
    }
    (r % 97) as u32
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
        fn mod97_equals_stepwise(s in "[0-9A-Za-z ]{0,70}") {
            let stepwise = s.bytes().fold(0u32, |r, c| match c {
                b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
                b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
                b'a'..=b'z' => (r * 100 + u32::from(c - b'a') + 10) % 97,
                _ => r,
            });
            proptest::prop_assert_eq!(mod97(s.bytes()), stepwise);
        }
    }

    #[test]
    fn mod97_iban_example() {
        // GB82WEST12345698765432 rearranged.
        let s = b"WEST12345698765432GB82";
        assert_eq!(mod97(s.iter().copied()), 1);
    }
}
