//! Byte classes of a 64-byte block as bit masks: the seek's view of a body
//! (where digits, words, capitals, a phone's `+` or `(` before a digit
//! and the first two bytes of encoded digits are) computed sixteen,
//! thirty-two or sixty-four bytes at a time; and, for the context-keyword
//! prefilter, where given bytes are with ASCII case folded.
//!
//! On x86_64 the block classes use AVX-512 where the CPU runs it without
//! lowering its clock ([`avx512_classifies`]), AVX2 where it has that
//! (detected at run time, once), and SSE2 otherwise, which is part of that
//! target's baseline; elsewhere a portable loop computes the same masks.
//! This is the one module of the crate allowed `unsafe`, and only for two
//! things: calling a `target_feature` function once the feature is known
//! to be present, and the unaligned vector loads. It must never do
//! anything else.
#![allow(unsafe_code)]

/// Bit `i` of each mask describes byte `i` of the block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Classes {
    /// ASCII digits.
    pub digit: u64,
    /// ASCII letters, digits and `_` (what [`is_word`](super::classes::is_word)
    /// accepts).
    pub word: u64,
    /// ASCII capitals.
    pub upper: u64,
    /// The first byte of a pair ([`open_pair`]) a phone's `+` or `(` or a
    /// digit written as a character reference, a JSON escape,
    /// percent-encoding or a fullwidth digit starts with: a `+` or `(`
    /// before a digit, `&#`, `\\u`, `%3`, `%E` or `%e`, 0xEF 0xBC. Judged
    /// with the byte after the block for its last byte. One class rather
    /// than several: the seek tells them apart by the byte, at the few
    /// places the class holds; the pair keeps out the `&amp;`, `\\n`, `%2F`,
    /// `(x` of real pages, which are most of these bytes.
    pub open: u64,
}

impl Classes {
    pub(crate) const EMPTY: Classes = Classes { digit: 0, word: 0, upper: 0, open: 0 };
}

/// Calls the AVX2 version of a function when the CPU has AVX2 and the SSE2
/// version otherwise; on other targets, the portable one. The one place
/// where a `target_feature` function is called.
macro_rules! dispatch {
    ($avx2:path, $sse2:path, $portable:path, ($($arg:expr),*)) => {{
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            // std caches the answer: this is one relaxed atomic load.
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { $avx2($($arg),*) }
            } else {
                // SAFETY: the build enables SSE2 (the cfg above), so the
                // CPU has it.
                unsafe { $sse2($($arg),*) }
            }
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        {
            $portable($($arg),*)
        }
    }};
}

/// Whether the bytes `a`, `b` are a pair a phone's `+` or `(` or an
/// encoded digit may start with (see [`Classes::open`]): the seek's
/// candidates are exactly these, and the probe accepts nothing else there.
pub(crate) fn open_pair(a: u8, b: u8) -> bool {
    matches!(
        (a, b),
        (b'+' | b'(', b'0'..=b'9')
            | (b'&', b'#')
            | (b'\\', b'u')
            | (b'%', b'3' | b'E' | b'e')
            | (0xef, 0xbc)
    )
}

/// A function giving the classes of the first 64 bytes of a block; its
/// last byte is the one after them, which [`Classes::open`] reads as the
/// second of a pair.
pub(crate) type Classify = fn(&[u8; 65]) -> Classes;

/// The [`Classify`] for this CPU: the AVX-512 one where
/// [`avx512_classifies`], else the AVX2 one where the CPU has AVX2, the
/// SSE2 one otherwise; on other targets, the portable one. The seek asks
/// once per call and calls the function once per block, rather than
/// checking the CPU's features per block (9,069 checks for a 575 KB JSON
/// document, about 0.7% of its scan).
pub(crate) fn classifier() -> Classify {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        if avx512_classifies() {
            x86::classify_avx512
        } else if std::is_x86_feature_detected!("avx2") {
            x86::classify_avx2
        } else {
            x86::classify_sse2
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        portable
    }
}

/// Whether blocks are classified with AVX-512: the CPU has AVX-512F and
/// AVX-512BW, and also VBMI, which only CPUs that keep their clock under
/// 512-bit integer work have (Ice Lake and later, Zen 4). On Skylake-SP and
/// Cascade Lake, which lack it, 512-bit instructions lower the core's clock
/// for everything it runs for a while after, the proxy's own work included;
/// there AVX2 is used. (simdutf draws the same line.)
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn avx512_classifies() -> bool {
    avx512_runs() && std::is_x86_feature_detected!("avx512vbmi")
}

/// Whether the CPU can run `x86::avx512` at all (AVX-512F and AVX-512BW):
/// what its safety requires, and where the tests check it.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn avx512_runs() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw")
}

/// For each of `bytes` (at most eight), the mask of the block's bytes equal
/// to it once bit 0x20 is set in both (which folds ASCII case): bit `i` of
/// mask `k` is `block[i] | 0x20 == bytes[k] | 0x20`. Masks past
/// `bytes.len()` are zero. The block is 32 bytes, one AVX2 vector: a
/// context window is rarely longer.
#[inline]
pub(crate) fn folded_eq(block: &[u8; 32], bytes: &[u8]) -> [u32; 8] {
    dispatch!(x86::folded_eq_avx2, x86::folded_eq_sse2, folded_eq_portable, (block, bytes))
}

/// [`folded_eq`] byte by byte: its definition, and what other targets run.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
pub(crate) fn folded_eq_portable(block: &[u8; 32], bytes: &[u8]) -> [u32; 8] {
    let mut masks = [0u32; 8];
    for (m, &n) in masks.iter_mut().zip(bytes) {
        *m =
            block.iter().enumerate().fold(0, |m, (i, &b)| m | u32::from(b | 0x20 == n | 0x20) << i);
    }
    masks
}

/// The classes byte by byte: the definition every [`Classify`] must equal, and
/// what other targets run.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
pub(crate) fn portable(block: &[u8; 65]) -> Classes {
    let mut c = Classes::default();
    for (i, (&b, &after)) in block.iter().zip(&block[1..]).enumerate() {
        let bit = 1u64 << i;
        if b.is_ascii_digit() {
            c.digit |= bit;
        }
        if super::classes::is_word(b) {
            c.word |= bit;
        }
        if b.is_ascii_uppercase() {
            c.upper |= bit;
        }
        if open_pair(b, after) {
            c.open |= bit;
        }
    }
    c
}

/// The x86_64 versions: one body, `x86::classify_with`, generic over the
/// vector width, the way memchr writes its searchers. It is inlined into a
/// function compiled for SSE2 (16 lanes) and one compiled for AVX2 (32).
/// The AVX-512 version (`x86::avx512`, the whole block in one vector) is
/// written apart: its compares give masks, not vectors.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod x86 {
    use std::arch::x86_64::{
        __m128i, __m256i, __m512i, _mm256_add_epi8, _mm256_and_si256, _mm256_cmpeq_epi8,
        _mm256_cmpgt_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256,
        _mm256_set1_epi8, _mm256_shuffle_epi8, _mm256_srli_epi16, _mm512_and_si512,
        _mm512_cmpeq_epi8_mask, _mm512_cmplt_epu8_mask, _mm512_loadu_si512, _mm512_or_si512,
        _mm512_set1_epi8, _mm512_shuffle_epi8, _mm512_srli_epi16, _mm512_sub_epi8,
        _mm512_test_epi8_mask, _mm_add_epi8, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmplt_epi8,
        _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    use super::Classes;

    /// The tables of the pair class for `vpshufb` (sixteen entries, looked
    /// up per 128-bit lane): for the first byte of a pair by its low and its
    /// high nibble, then for the second byte likewise. Each kind of pair is
    /// one bit; a byte's bits are those set in both its nibbles' entries.
    /// Every bit has a single high nibble on each side, so a bit is set
    /// exactly for its bytes: bit 0 `+`/`(` then a digit, bit 1 `&` then
    /// `#`, bit 2 `\\` then `u`, bit 3 `%` then `3`, bit 4 0xEF then 0xBC,
    /// bit 5 `%` then `E`/`e`.
    const PAIR_TABLES: [[u8; 16]; 4] = [
        //0  1  2  3  4     5  6  7  8  9  a  b  c  d  e  f
        [0, 0, 0, 0, 0, 8 | 32, 2, 0, 1, 0, 0, 1, 4, 0, 0, 16],
        [0, 0, 1 | 2 | 8 | 32, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0],
        [1, 1, 1, 1 | 2 | 8, 1, 1 | 4 | 32, 1, 1, 1, 1, 0, 0, 16, 0, 0, 0],
        [0, 0, 2, 1 | 8, 32, 0, 32, 4, 0, 0, 0, 16, 0, 0, 0, 0],
    ];

    /// The six first bytes of a pair (0x25 `%`, 0x26 `&`, 0x28 `(`, 0x2B
    /// `+`, 0x5C `\\`, 0xEF) have six different low nibbles: a byte is one
    /// of them exactly when it equals the entry its low nibble picks here.
    /// The other entries hold a byte whose low nibble is not their index, so
    /// nothing equals them.
    const FIRST_BYTES: [u8; 16] =
        [0x01, 0, 0, 0, 0, 0x25, 0x26, 0, 0x28, 0, 0, 0x2b, 0x5c, 0, 0, 0xef];

    /// A 16-entry table repeated for each 128-bit lane of an `N`-byte vector.
    const fn lanes<const N: usize>(t: [u8; 16]) -> [u8; N] {
        let mut all = [0; N];
        let mut i = 0;
        while i < N {
            all[i] = t[i % 16];
            i += 1;
        }
        all
    }

    /// The byte-vector operations the classes need.
    ///
    /// # Safety
    /// Every method requires the CPU feature of its vector type (SSE2 for
    /// `__m128i`, AVX2 for `__m256i`) and is only called, inlined, from a
    /// function compiled with that feature; `load` also requires `LANES`
    /// readable bytes at `p`.
    trait Lanes: Copy {
        const LANES: usize;
        unsafe fn load(p: *const u8) -> Self;
        unsafe fn splat(b: u8) -> Self;
        unsafe fn add(self, other: Self) -> Self;
        unsafe fn or(self, other: Self) -> Self;
        unsafe fn and(self, other: Self) -> Self;
        unsafe fn eq(self, other: Self) -> Self;
        /// All ones in each lane where `self` and the byte one lane on
        /// (the vector at `next`, read only when needed) are an
        /// [`open_pair`](super::open_pair).
        unsafe fn open_pair(self, next: *const u8) -> Self;
        /// Lane-wise signed `self < other`.
        unsafe fn lt(self, other: Self) -> Self;
        /// The sign bit of each lane, lane 0 in bit 0.
        unsafe fn bits(self) -> u64;
    }

    impl Lanes for __m128i {
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn load(p: *const u8) -> Self {
            _mm_loadu_si128(p.cast())
        }
        #[inline(always)]
        unsafe fn splat(b: u8) -> Self {
            _mm_set1_epi8(b as i8)
        }
        #[inline(always)]
        unsafe fn add(self, other: Self) -> Self {
            _mm_add_epi8(self, other)
        }
        #[inline(always)]
        unsafe fn or(self, other: Self) -> Self {
            _mm_or_si128(self, other)
        }
        #[inline(always)]
        unsafe fn and(self, other: Self) -> Self {
            _mm_and_si128(self, other)
        }
        #[inline(always)]
        unsafe fn open_pair(self, next: *const u8) -> Self {
            // SSE2 has no byte shuffle: the pairs compared one by one.
            let (x, y) = (self, Self::load(next));
            let is = |v: Self, b: u8| v.eq(Self::splat(b));
            let digit = y.add(Self::splat(0x80 - b'0')).lt(Self::splat(0x80 + 10));
            is(x, b'+')
                .or(is(x, b'('))
                .and(digit)
                .or(is(x, b'&').and(is(y, b'#')))
                .or(is(x, b'\\').and(is(y, b'u')))
                .or(is(x, b'%').and(is(y, b'3').or(is(y.or(Self::splat(0x20)), b'e'))))
                .or(is(x, 0xef).and(is(y, 0xbc)))
        }
        #[inline(always)]
        unsafe fn eq(self, other: Self) -> Self {
            _mm_cmpeq_epi8(self, other)
        }
        #[inline(always)]
        unsafe fn lt(self, other: Self) -> Self {
            _mm_cmplt_epi8(self, other)
        }
        #[inline(always)]
        unsafe fn bits(self) -> u64 {
            u64::from(_mm_movemask_epi8(self) as u16)
        }
    }

    impl Lanes for __m256i {
        const LANES: usize = 32;
        #[inline(always)]
        unsafe fn load(p: *const u8) -> Self {
            _mm256_loadu_si256(p.cast())
        }
        #[inline(always)]
        unsafe fn splat(b: u8) -> Self {
            _mm256_set1_epi8(b as i8)
        }
        #[inline(always)]
        unsafe fn add(self, other: Self) -> Self {
            _mm256_add_epi8(self, other)
        }
        #[inline(always)]
        unsafe fn or(self, other: Self) -> Self {
            _mm256_or_si256(self, other)
        }
        #[inline(always)]
        unsafe fn and(self, other: Self) -> Self {
            _mm256_and_si256(self, other)
        }
        #[inline(always)]
        unsafe fn open_pair(self, next: *const u8) -> Self {
            // See [`PAIR_TABLES`]: a pair is a lane whose two bytes share a
            // bit.
            static FIRST_LO: [u8; 32] = lanes(PAIR_TABLES[0]);
            static FIRST_HI: [u8; 32] = lanes(PAIR_TABLES[1]);
            static SECOND_LO: [u8; 32] = lanes(PAIR_TABLES[2]);
            static SECOND_HI: [u8; 32] = lanes(PAIR_TABLES[3]);
            /// The bits of `v`'s bytes in the tables of their nibbles.
            ///
            /// # Safety
            /// As for [`Lanes`]: inlined into a function compiled for AVX2.
            #[inline(always)]
            unsafe fn nibbles(v: __m256i, lo: &[u8; 32], hi: &[u8; 32]) -> __m256i {
                let low = _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
                let high = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
                _mm256_and_si256(
                    _mm256_shuffle_epi8(__m256i::load(lo.as_ptr()), low),
                    _mm256_shuffle_epi8(__m256i::load(hi.as_ptr()), high),
                )
            }
            static FIRST_BYTE: [u8; 32] = lanes(FIRST_BYTES);
            // Most vectors of a page hold no first byte of a pair: one
            // lookup and one compare say so, and the pair's tables are
            // read only for the others.
            let low = _mm256_and_si256(self, _mm256_set1_epi8(0x0f));
            let any = _mm256_cmpeq_epi8(
                _mm256_shuffle_epi8(__m256i::load(FIRST_BYTE.as_ptr()), low),
                self,
            );
            if _mm256_movemask_epi8(any) == 0 {
                return Self::splat(0);
            }
            let first = nibbles(self, &FIRST_LO, &FIRST_HI);
            let second = nibbles(Self::load(next), &SECOND_LO, &SECOND_HI);
            let none = _mm256_cmpeq_epi8(_mm256_and_si256(first, second), Self::splat(0));
            // Lanes are 0 or all ones: flipping them is a compare with 0.
            _mm256_cmpeq_epi8(none, Self::splat(0))
        }
        #[inline(always)]
        unsafe fn eq(self, other: Self) -> Self {
            _mm256_cmpeq_epi8(self, other)
        }
        #[inline(always)]
        unsafe fn lt(self, other: Self) -> Self {
            // AVX2 only has "greater than".
            _mm256_cmpgt_epi8(other, self)
        }
        #[inline(always)]
        unsafe fn bits(self) -> u64 {
            u64::from(_mm256_movemask_epi8(self) as u32)
        }
    }

    /// The classes of `block`, `V::LANES` bytes at a time.
    ///
    /// # Safety
    /// As for [`Lanes`]: only inlined into a function compiled with `V`'s
    /// feature, on a CPU that has it.
    #[inline(always)]
    unsafe fn classify_with<V: Lanes>(block: &[u8; 65]) -> Classes {
        // Bytes in `lo..lo + n` (ASCII, `lo + n <= 0x80`): shifted so that
        // `lo` lands on -128, the range is exactly the bytes below
        // -128 + n in a signed compare.
        let in_range =
            |x: V, lo: u8, n: u8| x.add(V::splat(0x80u8.wrapping_sub(lo))).lt(V::splat(0x80 + n));
        let mut c = Classes::default();
        for k in 0..64 / V::LANES {
            let x = V::load(block.as_ptr().add(k * V::LANES));
            let digit = in_range(x, b'0', 10);
            let upper = in_range(x, b'A', 26);
            // Setting bit 5 folds capitals onto small letters and keeps
            // every other byte out of `a..=z`.
            let letter = in_range(x.or(V::splat(0x20)), b'a', 26);
            let word = digit.or(letter).or(x.eq(V::splat(b'_')));
            // The bytes one lane on: the block's 65th byte is the last one.
            let open = x.open_pair(block.as_ptr().add(k * V::LANES + 1));
            let at = k * V::LANES;
            c.digit |= digit.bits() << at;
            c.word |= word.bits() << at;
            c.upper |= upper.bits() << at;
            c.open |= open.bits() << at;
        }
        c
    }

    /// [`super::folded_eq`], `V::LANES` bytes at a time.
    ///
    /// # Safety
    /// As for [`classify_with`].
    #[inline(always)]
    unsafe fn folded_eq_with<V: Lanes>(block: &[u8; 32], bytes: &[u8]) -> [u32; 8] {
        let mut masks = [0u32; 8];
        for k in 0..32 / V::LANES {
            let x = V::load(block.as_ptr().add(k * V::LANES)).or(V::splat(0x20));
            for (m, &n) in masks.iter_mut().zip(bytes) {
                // At most 32 lanes: the mask fits.
                *m |= (x.eq(V::splat(n | 0x20)).bits() as u32) << (k * V::LANES);
            }
        }
        masks
    }

    /// # Safety
    /// The CPU must have SSE2.
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn folded_eq_sse2(block: &[u8; 32], bytes: &[u8]) -> [u32; 8] {
        folded_eq_with::<__m128i>(block, bytes)
    }

    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn folded_eq_avx2(block: &[u8; 32], bytes: &[u8]) -> [u32; 8] {
        folded_eq_with::<__m256i>(block, bytes)
    }

    /// # Safety
    /// The CPU must have SSE2 (every x86_64 CPU does).
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn sse2(block: &[u8; 65]) -> Classes {
        classify_with::<__m128i>(block)
    }

    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn avx2(block: &[u8; 65]) -> Classes {
        classify_with::<__m256i>(block)
    }

    /// [`sse2`] as a [`Classify`](super::Classify).
    pub(super) fn classify_sse2(block: &[u8; 65]) -> Classes {
        // SAFETY: this module is compiled only where the build enables SSE2
        // (see `super::classifier`), so the CPU has it.
        unsafe { sse2(block) }
    }

    /// The classes of `block` in one 64-byte vector, each class a compare
    /// straight into a mask register (no sign-bit extraction): 26
    /// instructions for a block with no first byte of a pair, where the
    /// AVX2 version takes about 67.
    ///
    /// # Safety
    /// The CPU must have AVX-512F and AVX-512BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn avx512(block: &[u8; 65]) -> Classes {
        static FIRST_LO: [u8; 64] = lanes(PAIR_TABLES[0]);
        static FIRST_HI: [u8; 64] = lanes(PAIR_TABLES[1]);
        static SECOND_LO: [u8; 64] = lanes(PAIR_TABLES[2]);
        static SECOND_HI: [u8; 64] = lanes(PAIR_TABLES[3]);
        static FIRST_BYTE: [u8; 64] = lanes(FIRST_BYTES);
        let load = |p: *const u8| _mm512_loadu_si512(p.cast());
        let splat = |b: u8| _mm512_set1_epi8(b as i8);
        // Bytes in `lo..lo + n`: an unsigned compare after the shift.
        let in_range = |v: __m512i, lo: u8, n: u8| {
            _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, splat(lo)), splat(n))
        };
        // The bits of `v`'s bytes in the tables of their nibbles.
        let nibbles = |v: __m512i, lo: &[u8; 64], hi: &[u8; 64]| {
            let low = _mm512_and_si512(v, splat(0x0f));
            let high = _mm512_and_si512(_mm512_srli_epi16(v, 4), splat(0x0f));
            _mm512_and_si512(
                _mm512_shuffle_epi8(load(lo.as_ptr()), low),
                _mm512_shuffle_epi8(load(hi.as_ptr()), high),
            )
        };
        let x = load(block.as_ptr());
        let digit = in_range(x, b'0', 10);
        let upper = in_range(x, b'A', 26);
        // Setting bit 5 folds capitals onto small letters and keeps every
        // other byte out of `a..=z`.
        let letter = in_range(_mm512_or_si512(x, splat(0x20)), b'a', 26);
        let word = digit | letter | _mm512_cmpeq_epi8_mask(x, splat(b'_'));
        // As in the AVX2 version: most blocks hold no first byte of a pair,
        // and the pair's tables are read only for the others.
        let low = _mm512_and_si512(x, splat(0x0f));
        let open = if _mm512_cmpeq_epi8_mask(_mm512_shuffle_epi8(load(FIRST_BYTE.as_ptr()), low), x)
            == 0
        {
            0
        } else {
            // The bytes one on: the block's 65th byte is the last one.
            let second = nibbles(load(block.as_ptr().add(1)), &SECOND_LO, &SECOND_HI);
            _mm512_test_epi8_mask(nibbles(x, &FIRST_LO, &FIRST_HI), second)
        };
        Classes { digit, word, upper, open }
    }

    /// [`avx512`] as a [`Classify`](super::Classify); handed out only by
    /// [`classifier`](super::classifier), as [`classify_avx2`] is.
    pub(super) fn classify_avx512(block: &[u8; 65]) -> Classes {
        // SAFETY: only reachable through `super::classifier`, which returns
        // it only when the CPU has AVX-512F and AVX-512BW.
        unsafe { avx512(block) }
    }

    /// [`avx2`] as a [`Classify`](super::Classify). Private to the
    /// module's parent, which hands it out only from
    /// [`classifier`](super::classifier), once the CPU is known to have
    /// AVX2.
    pub(super) fn classify_avx2(block: &[u8; 65]) -> Classes {
        // SAFETY: only reachable through `super::classifier`, which returns
        // it only when the CPU has AVX2.
        unsafe { avx2(block) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both functions, in every version this CPU runs, equal their
    /// portable definitions for every byte value in every lane.
    #[test]
    fn every_byte_in_every_lane_matches_the_definition() {
        // Case pairs, bytes that fold onto them, and bytes of every class.
        let bytes = b"sS#x\x00 \xe9`";
        for b in 0..=255u8 {
            for lane in 0..65 {
                // The other lanes hold bytes of every class around it.
                let mut block = [0u8; 65];
                for (i, x) in block.iter_mut().enumerate() {
                    *x = b"0aZ_+(/:@ \xff\x80`{[9sSxX#\x03\xc9"[i % 23];
                }
                block[lane] = b;
                // `folded_eq` takes half a block.
                let (lo, hi) = block[..64].split_at(32);
                let (lo, hi): (&[u8; 32], &[u8; 32]) =
                    (lo.try_into().unwrap(), hi.try_into().unwrap());
                let want = (
                    portable(&block),
                    [folded_eq_portable(lo, bytes), folded_eq_portable(hi, bytes)],
                );
                let got = (classifier()(&block), [folded_eq(lo, bytes), folded_eq(hi, bytes)]);
                assert_eq!(got, want, "{b:#x} in lane {lane}");
                #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                {
                    // Both vector versions, whichever one this CPU picks.
                    // SAFETY: SSE2 is in the build's baseline.
                    let sse2 = unsafe {
                        let eq = [x86::folded_eq_sse2(lo, bytes), x86::folded_eq_sse2(hi, bytes)];
                        (x86::sse2(&block), eq)
                    };
                    assert_eq!(sse2, want);
                    if std::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU has AVX2.
                        let avx2 = unsafe {
                            let eq =
                                [x86::folded_eq_avx2(lo, bytes), x86::folded_eq_avx2(hi, bytes)];
                            (x86::avx2(&block), eq)
                        };
                        assert_eq!(avx2, want);
                    }
                    if avx512_runs() {
                        // SAFETY: the CPU has AVX-512F and AVX-512BW.
                        assert_eq!(unsafe { x86::avx512(&block) }, want.0, "{b:#x} in lane {lane}");
                    }
                }
            }
        }
    }

    /// The pair class in every version this CPU runs equals its portable
    /// definition for every pair of bytes, in every lane and across the
    /// vectors' edges (the 65th byte), among bytes that start a pair (`&`)
    /// and among bytes that start none (`.`, where the AVX2 version's
    /// first-byte check decides alone).
    #[test]
    fn every_pair_in_every_lane_matches_the_definition() {
        let fills = [b'&', b'.'];
        for (a, b, fill) in
            (0..=255u8).flat_map(|a| (0..=255u8).flat_map(move |b| fills.map(|f| (a, b, f))))
        {
            // A few lanes: each vector's first and last, and the block's.
            for lane in [0, 14, 15, 16, 31, 32, 47, 63] {
                let mut block = [fill; 65];
                block[lane] = a;
                block[lane + 1] = b;
                let want = portable(&block).open;
                assert_eq!(want >> lane & 1 == 1, open_pair(a, b));
                #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                {
                    // SAFETY: SSE2 is in the build's baseline.
                    assert_eq!(unsafe { x86::sse2(&block) }.open, want, "{a:#x} {b:#x}");
                    if std::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU has AVX2.
                        let avx2 = unsafe { x86::avx2(&block) }.open;
                        assert_eq!(avx2, want, "{a:#x} {b:#x} in lane {lane}");
                    }
                    if avx512_runs() {
                        // SAFETY: the CPU has AVX-512F and AVX-512BW.
                        let avx512 = unsafe { x86::avx512(&block) }.open;
                        assert_eq!(avx512, want, "{a:#x} {b:#x} in lane {lane}");
                    }
                }
            }
        }
    }

    #[test]
    fn portable_folded_equality_table() {
        let mut block = [b'.'; 32];
        block[..4].copy_from_slice(b"sSx@");
        block[31] = b'`';
        let masks = folded_eq_portable(&block, b"s`");
        // `@` and a backquote fold together: a prefilter may only over-match.
        assert_eq!(masks, [0b11, 1 << 3 | 1 << 31, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn portable_classes_table() {
        let mut block = [b' '; 65];
        block[..8].copy_from_slice(b"a9_Z+(-.");
        let c = portable(&block);
        assert_eq!(c.digit, 0b10);
        assert_eq!(c.word, 0b1111);
        assert_eq!(c.upper, 0b1000);
        // A `+` or `(` counts before a digit only.
        assert_eq!(c.open, 0);
        block[..20].copy_from_slice(b"+1(2&#&a\\u\\n%3%E%e%2");
        block[20..22].copy_from_slice(b"\xef\xbc");
        block[63] = 0xef;
        block[64] = 0xbc;
        // The last one is a pair with the byte after the block.
        assert_eq!(portable(&block).open, 1 << 63 | 1 << 20 | 0b1_0101_0001_0001_0101);
    }
}
