//! Byte classes of a 64-byte block as bit masks: the seek's view of a body
//! (where digits, words, capitals and a phone's `+` or `(` are) computed
//! sixteen bytes at a time.
//!
//! On x86_64 this uses AVX2 where the CPU has it (detected at run time,
//! once) and SSE2 otherwise, which is part of that target's baseline;
//! elsewhere a portable loop computes the same masks. This is the one
//! module of the crate allowed `unsafe`, and only for two things: calling
//! a `target_feature` function once the feature is known to be present,
//! and the unaligned vector loads. It must never do anything else.
#![allow(unsafe_code)]

/// Bit `i` of each mask describes byte `i` of the block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Classes {
    /// ASCII digits.
    pub digit: u64,
    /// ASCII letters, digits and `_` (what [`is_word`](super::view::is_word)
    /// accepts).
    pub word: u64,
    /// ASCII capitals.
    pub upper: u64,
    /// `+` and `(`.
    pub open: u64,
}

impl Classes {
    pub(crate) const EMPTY: Classes = Classes { digit: 0, word: 0, upper: 0, open: 0 };
}

/// The classes of `block`.
#[inline]
pub(crate) fn classify(block: &[u8; 64]) -> Classes {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // std caches the answer: this is one relaxed atomic load.
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { avx2::classify(block) }
        } else {
            // SAFETY: the build enables SSE2 (the cfg above), so the CPU
            // has it.
            unsafe { sse2::classify(block) }
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        portable(block)
    }
}

/// The classes byte by byte: the definition [`classify`] must equal, and
/// what other targets run.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
pub(crate) fn portable(block: &[u8; 64]) -> Classes {
    let mut c = Classes::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        if b.is_ascii_digit() {
            c.digit |= bit;
        }
        if super::view::is_word(b) {
            c.word |= bit;
        }
        if b.is_ascii_uppercase() {
            c.upper |= bit;
        }
        if matches!(b, b'+' | b'(') {
            c.open |= bit;
        }
    }
    c
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };

    use super::Classes;

    /// Bytes in `lo..lo + n` (ASCII, `lo + n <= 0x80`): shifted so that
    /// `lo` lands on -128, the range is exactly the bytes below -128 + n in
    /// a signed compare.
    #[target_feature(enable = "sse2")]
    fn in_range(x: __m128i, lo: u8, n: u8) -> __m128i {
        let shifted = _mm_add_epi8(x, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
        _mm_cmplt_epi8(shifted, _mm_set1_epi8((0x80u8 + n) as i8))
    }

    #[target_feature(enable = "sse2")]
    fn bits(m: __m128i, k: usize) -> u64 {
        // The sign bit of each of the 16 lanes.
        u64::from(_mm_movemask_epi8(m) as u16) << (16 * k)
    }

    #[target_feature(enable = "sse2")]
    pub(super) fn classify(block: &[u8; 64]) -> Classes {
        let mut c = Classes::default();
        for k in 0..4 {
            // SAFETY: `block` holds 64 bytes, so bytes 16k..16k+16 are in
            // bounds; `_mm_loadu_si128` has no alignment requirement.
            let x = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>()) };
            let digit = in_range(x, b'0', 10);
            let upper = in_range(x, b'A', 26);
            // Setting bit 5 folds capitals onto small letters and keeps
            // every other byte out of `a..=z`.
            let letter = in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), b'a', 26);
            let under = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'_' as i8));
            let open = _mm_or_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'+' as i8)),
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'(' as i8)),
            );
            c.digit |= bits(digit, k);
            c.word |= bits(_mm_or_si128(_mm_or_si128(digit, letter), under), k);
            c.upper |= bits(upper, k);
            c.open |= bits(open, k);
        }
        c
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi8, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256,
        _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
    };

    use super::Classes;

    /// Bytes in `lo..lo + n`, as in the SSE2 version.
    #[target_feature(enable = "avx2")]
    fn in_range(x: __m256i, lo: u8, n: u8) -> __m256i {
        let shifted = _mm256_add_epi8(x, _mm256_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
        _mm256_cmpgt_epi8(_mm256_set1_epi8((0x80u8 + n) as i8), shifted)
    }

    #[target_feature(enable = "avx2")]
    fn bits(m: __m256i, k: usize) -> u64 {
        u64::from(_mm256_movemask_epi8(m) as u32) << (32 * k)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn classify(block: &[u8; 64]) -> Classes {
        let mut c = Classes::default();
        for k in 0..2 {
            // SAFETY: `block` holds 64 bytes, so bytes 32k..32k+32 are in
            // bounds; `_mm256_loadu_si256` has no alignment requirement.
            let x = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * k).cast::<__m256i>()) };
            let digit = in_range(x, b'0', 10);
            let upper = in_range(x, b'A', 26);
            let letter = in_range(_mm256_or_si256(x, _mm256_set1_epi8(0x20)), b'a', 26);
            let under = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'_' as i8));
            let open = _mm256_or_si256(
                _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'+' as i8)),
                _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'(' as i8)),
            );
            c.digit |= bits(digit, k);
            c.word |= bits(_mm256_or_si256(_mm256_or_si256(digit, letter), under), k);
            c.upper |= bits(upper, k);
            c.open |= bits(open, k);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_in_every_lane_matches_the_definition() {
        for b in 0..=255u8 {
            for lane in 0..64 {
                // The other lanes hold bytes of every class around it.
                let mut block = [0u8; 64];
                for (i, x) in block.iter_mut().enumerate() {
                    *x = b"0aZ_+(/:@ \xff\x80`{[9"[i % 16];
                }
                block[lane] = b;
                let want = portable(&block);
                assert_eq!(classify(&block), want, "{b:#x} in lane {lane}");
                #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                {
                    // Both vector versions, whichever one this CPU picks.
                    // SAFETY: SSE2 is in the build's baseline.
                    assert_eq!(unsafe { sse2::classify(&block) }, want);
                    if std::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU has AVX2.
                        assert_eq!(unsafe { avx2::classify(&block) }, want);
                    }
                }
            }
        }
    }

    #[test]
    fn portable_classes_table() {
        let mut block = [b' '; 64];
        block[..8].copy_from_slice(b"a9_Z+(-.");
        let c = portable(&block);
        assert_eq!(c.digit, 0b10);
        assert_eq!(c.word, 0b1111);
        assert_eq!(c.upper, 0b1000);
        assert_eq!(c.open, 0b11_0000);
    }
}
