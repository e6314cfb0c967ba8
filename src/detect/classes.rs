//! Byte classes: SWAR tests of eight bytes at a time (digits, letters and
//! digits) and the one-byte predicates the detectors share. Pure functions
//! of their input; no allocation, no state.

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Bytes from `i` (up to `end`) whose bit is set in `class`, eight at a
/// time: digit runs and words are measured for every candidate. A word may
/// be read past `end` (never past the buffer); only the count is capped.
#[inline]
pub(crate) fn count_while(buf: &[u8], i: usize, end: usize, class: impl Fn(u64) -> u64) -> usize {
    let mut n = i;
    while n < end {
        if let Some(w) = buf.get(n..n + 8) {
            let other = !class(u64::from_le_bytes(w.try_into().expect("eight bytes"))) & HIGH;
            if other != 0 {
                return (n + other.trailing_zeros() as usize / 8).min(end) - i;
            }
            n += 8;
        } else if class(u64::from(buf[n])) & 0x80 != 0 {
            n += 1;
        } else {
            break;
        }
    }
    n.min(end) - i
}

/// The high bit of every byte of `w` that is an ASCII digit (SWAR: no
/// carry crosses a byte, so each byte's answer is exact).
#[inline]
pub(crate) fn digit_bits(w: u64) -> u64 {
    // Digits become 0..=9; bytes >= 0x80 keep their high bit.
    let y = w ^ 0x3030_3030_3030_3030;
    // Adding 0x76 to the low seven bits sets the high bit exactly when
    // they are 10 or more.
    !(((y & LOW7) + 0x7676_7676_7676_7676) | y) & HIGH
}

/// The high bit of every byte of `w` that is an ASCII capital.
#[inline]
pub(crate) fn upper_bits(w: u64) -> u64 {
    let y = w & LOW7;
    let from_a = y + 0x3f3f_3f3f_3f3f_3f3f; // >= 0x41
    let past_z = y + 0x2525_2525_2525_2525; // >= 0x5b
    from_a & !past_z & !w & HIGH
}

/// The high bit of every byte of `w` that is an ASCII letter or digit.
#[inline]
pub(crate) fn alnum_bits(w: u64) -> u64 {
    // Folding case maps letters to 0x61..=0x7a and keeps the high bit.
    let y = w | 0x2020_2020_2020_2020;
    let from_a = (y & LOW7) + 0x1f1f_1f1f_1f1f_1f1f; // >= 0x61
    let past_z = (y & LOW7) + 0x0505_0505_0505_0505; // >= 0x7b
    (from_a & !past_z & !y & HIGH) | digit_bits(w)
}

#[inline]
pub(crate) fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

#[inline]
pub(crate) fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Letters, digits and `_`: a value glued to one of these is part of a
/// longer token (an ID, a hash) and is not reported.
#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub(crate) fn opt(b: Option<u8>, f: impl Fn(u8) -> bool) -> bool {
    b.is_some_and(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_classes_are_exact_for_every_byte_in_every_lane() {
        type Class = (fn(u64) -> u64, fn(&u8) -> bool);
        let classes: [Class; 3] = [
            (digit_bits, u8::is_ascii_digit),
            (alnum_bits, u8::is_ascii_alphanumeric),
            (upper_bits, u8::is_ascii_uppercase),
        ];
        for (bits_of, is) in classes {
            for b in 0..=255u8 {
                for lane in 0..8 {
                    // The other lanes hold bytes of every kind around it.
                    let mut w = [b'0', b'a', b'Z', b'/', b':', 0xff, b'@', 0x80];
                    w[lane] = b;
                    let bits = bits_of(u64::from_le_bytes(w));
                    for (k, c) in w.iter().enumerate() {
                        assert_eq!(bits >> (8 * k + 7) & 1 == 1, is(c), "{b:#x} in lane {lane}");
                    }
                }
            }
        }
        // Runs shorter and longer than a word, cut by `end`.
        let s = b"12345678901234x5";
        assert_eq!(count_while(s, 0, s.len(), digit_bits), 14);
        assert_eq!(count_while(s, 3, 9, digit_bits), 6);
        assert_eq!(count_while(s, 14, s.len(), digit_bits), 0);
        assert_eq!(count_while(b"ab_9", 0, 4, alnum_bits), 2);
        assert_eq!(count_while(b"abcDEF0123456789", 1, 16, alnum_bits), 15);
    }
}
