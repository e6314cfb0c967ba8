//! The window a detector looks through: the scanner's buffer (a short history
//! of already-emitted input followed by the pending bytes) and whether the
//! stream has ended.
//!
//! Detectors are pure functions of this view. When they need a byte that has
//! not arrived yet they return [`More`] instead of guessing: that is what
//! makes the result independent of how the stream was split into chunks.

use super::{Brand, Kind};

/// A detector needs bytes beyond the end of the buffer to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct More;

/// How many bytes of already-emitted input the scanner keeps for left
/// context. Detectors must never look further back than this.
pub(crate) const HISTORY: usize = 64;

/// A candidate a detector accepted at a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub kind: Kind,
    /// Length in bytes from the candidate position.
    pub len: usize,
    pub brand: Option<Brand>,
    /// Leading bytes that are not sensitive and stay visible when masked
    /// (a secret's well-known prefix such as `ghp_`).
    pub keep_prefix: usize,
    /// The match goes on past `len` and is too long to hold back: the
    /// scanner rewrites the rest as a stream (a JWT longer than
    /// `secrets::MAX_JWT`).
    pub stream: bool,
}

impl Hit {
    pub(crate) fn new(kind: Kind, len: usize) -> Hit {
        Hit { kind, len, brand: None, keep_prefix: 0, stream: false }
    }
}

/// What a detector says about a position.
pub(crate) type Probe = Result<Option<Hit>, More>;

/// The bytes a detector may look at.
pub(crate) struct View<'a> {
    pub buf: &'a [u8],
    /// True once the stream has ended: a read past the end is then "no byte"
    /// rather than "wait for more".
    pub eof: bool,
}

impl<'a> View<'a> {
    /// The byte at `i`, `None` at the end of the stream, `More` if it has not
    /// arrived yet.
    #[inline]
    pub fn at(&self, i: usize) -> Result<Option<u8>, More> {
        match self.buf.get(i) {
            Some(&b) => Ok(Some(b)),
            None if self.eof => Ok(None),
            None => Err(More),
        }
    }

    /// The byte `k` (1..=HISTORY) before `p`, `None` at the start of the
    /// stream.
    #[inline]
    pub fn before(&self, p: usize, k: usize) -> Option<u8> {
        debug_assert!(k <= HISTORY);
        if k <= p {
            Some(self.buf[p - k])
        } else {
            None
        }
    }

    /// Counts bytes satisfying `f` from `i`, stopping at `cap + 1` (so a
    /// result above `cap` means "too long"). Returns the count and the byte
    /// after the run.
    #[inline]
    pub fn run(
        &self,
        i: usize,
        cap: usize,
        f: impl Fn(u8) -> bool,
    ) -> Result<(usize, Option<u8>), More> {
        let mut n = 0;
        loop {
            match self.at(i + n)? {
                Some(b) if f(b) => {
                    n += 1;
                    if n > cap {
                        return Ok((n, Some(b)));
                    }
                }
                other => return Ok((n, other)),
            }
        }
    }
}

/// How a digit cluster starts: its first run of digits and, when a single
/// separator and another digit follow, that separator and the second run's
/// length. Each numeric detector says from this alone whether it can start
/// there ([`card::may_start`](super::card::may_start) and its siblings), so
/// the scanner reads a run once instead of probing every detector.
pub(crate) struct Shape<'a> {
    /// The first run; 20 digits stands for "longer than any numeric kind".
    pub first: &'a [u8],
    /// `' '`, `'-'` or `'.'`, only when a digit follows it.
    pub sep: Option<u8>,
    /// Digits in the second run (capped at 7), 0 without a separator.
    pub second: usize,
}

impl<'a> Shape<'a> {
    /// The shape at `i` (a digit), or `None` when it depends on bytes that
    /// have not arrived.
    #[inline(always)]
    pub(crate) fn read(buf: &'a [u8], i: usize, eof: bool) -> Option<Shape<'a>> {
        let first = digit_run(buf, i, 20, eof)?;
        let mut shape = Shape { first: &buf[i..i + first], sep: None, second: 0 };
        if first > 19 {
            return Some(shape);
        }
        let Some(&after) = buf.get(i + first) else {
            return eof.then_some(shape);
        };
        if matches!(after, b' ' | b'-' | b'.') {
            let second = digit_run(buf, i + first + 1, 7, eof)?;
            if second > 0 {
                shape.sep = Some(after);
                shape.second = second;
            }
        }
        Some(shape)
    }

    /// The shape at `i` from a mask of digits: bit `j` of `digits` says
    /// whether `buf[i + j]` is a digit. The first run must be shorter than
    /// 20 digits, and the mask and `buf` must reach 28 bytes past `i`
    /// (the longest first run read, a separator and a capped second run).
    #[inline]
    pub(crate) fn from_digits(buf: &'a [u8], i: usize, digits: u128) -> Shape<'a> {
        let first = digits.trailing_ones() as usize;
        debug_assert!(first < 20 && i + 28 <= buf.len());
        let mut shape = Shape { first: &buf[i..i + first], sep: None, second: 0 };
        let after = buf[i + first];
        if matches!(after, b' ' | b'-' | b'.') {
            let second = ((digits >> (first + 1)).trailing_ones() as usize).min(7);
            if second > 0 {
                shape.sep = Some(after);
                shape.second = second;
            }
        }
        shape
    }

    pub(crate) fn len(&self) -> usize {
        self.first.len()
    }
}

/// Digits from `i`, counting at most `cap`; `None` when the run reaches the
/// end of a buffer that may still grow.
#[inline]
fn digit_run(buf: &[u8], i: usize, cap: usize, eof: bool) -> Option<usize> {
    let n = count_while(buf, i, buf.len().min(i + cap), digit_bits);
    if i + n == buf.len() && !eof {
        return None;
    }
    Some(n)
}

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

/// Context keywords (matched ignoring ASCII case), compiled once into one
/// automaton: a window is read once, whatever the number of keywords. Most
/// windows hold no keyword at all, and a few byte pairs ([`Pairs`]) say so
/// before the automaton walks them.
#[derive(Clone, Default)]
pub(crate) struct Keywords {
    /// `None` when there are no keywords.
    ac: Option<aho_corasick::AhoCorasick>,
    /// A byte pair from every keyword; `None` when a keyword is one byte
    /// long or no cover of at most [`MAX_PAIRS`] pairs exists.
    pairs: Option<Pairs>,
    words: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Keywords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.words.iter().map(|w| String::from_utf8_lossy(w))).finish()
    }
}

impl Keywords {
    /// Fails only when the automaton would outgrow aho-corasick's limits.
    pub(crate) fn new<W: AsRef<[u8]>>(
        words: impl IntoIterator<Item = W>,
    ) -> Result<Keywords, aho_corasick::BuildError> {
        let words: Vec<Vec<u8>> =
            words.into_iter().map(|w| w.as_ref().to_vec()).filter(|w| !w.is_empty()).collect();
        // Windows are at most `HISTORY` bytes: a DFA walks them fastest, and
        // a prefilter would only add its start-up cost.
        let ac = if words.is_empty() {
            None
        } else {
            Some(
                aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .prefilter(false)
                    .build(&words)?,
            )
        };
        let pairs = Pairs::cover(&words);
        Ok(Keywords { ac, pairs, words })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether a keyword lies wholly within the `window` bytes before `p`
    /// (at most [`HISTORY`]).
    pub(crate) fn before(&self, v: &View, p: usize, window: usize) -> bool {
        let window = window.min(HISTORY).min(p);
        // Most windows hold none of the pairs: that answer takes a few
        // vector compares instead of a walk of the automaton.
        if let Some(pairs) = &self.pairs {
            if !pairs.any_before(v.buf, p, window) {
                return false;
            }
        }
        self.ac.as_ref().is_some_and(|ac| ac.is_match(&v.buf[p - window..p]))
    }
}

/// At most this many pairs (so at most eight distinct bytes) make up a
/// [`Pairs`] cover; keyword sets that need more go straight to the
/// automaton.
const MAX_PAIRS: usize = 4;

/// A prefilter for [`Keywords`]: byte pairs, ASCII case folded, such that
/// every keyword contains one of them. A window that holds none of the pairs
/// holds no keyword; one that holds a pair may (the automaton decides).
#[derive(Clone, Debug)]
struct Pairs {
    /// The distinct bytes of the pairs (at most eight).
    bytes: Vec<u8>,
    /// Each pair as two indices into `bytes`.
    pairs: Vec<(usize, usize)>,
}

impl Pairs {
    /// A small cover of the keywords by pairs, chosen greedily: the pair in
    /// the most keywords not yet covered, the rarer one on a tie.
    fn cover(words: &[Vec<u8>]) -> Option<Pairs> {
        if words.is_empty() {
            return None;
        }
        // Bit 0x20 folds ASCII case; it also merges a few other bytes (`@`
        // with a backquote...), which can only let a window through to the
        // automaton, never hide a keyword.
        let folded: Vec<Vec<u8>> =
            words.iter().map(|w| w.iter().map(|b| b | 0x20).collect()).collect();
        let has = |w: &Vec<u8>, p: (u8, u8)| w.windows(2).any(|q| q == [p.0, p.1]);
        let mut left: Vec<&Vec<u8>> = folded.iter().collect();
        let mut chosen: Vec<(u8, u8)> = Vec::new();
        while !left.is_empty() {
            let best = left.iter().flat_map(|w| w.windows(2)).map(|q| (q[0], q[1])).max_by_key(
                |&(a, b)| {
                    let covers = left.iter().filter(|w| has(w, (a, b))).count();
                    (covers, std::cmp::Reverse(commonness(a) + commonness(b)), a, b)
                },
            )?;
            if chosen.len() == MAX_PAIRS {
                return None;
            }
            left.retain(|w| !has(w, best));
            chosen.push(best);
        }
        let mut distinct: Vec<u8> = chosen.iter().flat_map(|&(a, b)| [a, b]).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let index = |b: u8| distinct.iter().position(|&d| d == b).expect("a chosen byte");
        let pairs = chosen.iter().map(|&(a, b)| (index(a), index(b))).collect();
        Some(Pairs { bytes: distinct, pairs })
    }

    /// Whether a pair lies wholly within the `window` bytes before `p`;
    /// true (undecided, for the automaton) past [`MAX_PAIR_WINDOW`].
    fn any_before(&self, buf: &[u8], p: usize, window: usize) -> bool {
        if window > MAX_PAIR_WINDOW {
            return true;
        }
        // Bit `i` of a 32-byte block's masks is its byte `i`; a pair starts
        // at bits `from..=30` (bit 31's second byte is past the block).
        let found = |end: usize, from: usize| {
            let block = last_32(&buf[..end]);
            let eq = super::simd::folded_eq(&block, &self.bytes);
            let starts = (u32::MAX << from) & !(1 << 31);
            self.pairs.iter().any(|&(a, b)| eq[a] & (eq[b] >> 1) & starts != 0)
        };
        // The 32 bytes before `p` hold the pairs starting in the last 31
        // of them; the 32 bytes ending at `p - 31` hold those starting up to
        // 63 bytes before `p`.
        window >= 2
            && (found(p, 32 - window.min(32))
                || (window > 32 && found(p - 31, MAX_PAIR_WINDOW - window)))
    }
}

/// The longest window [`Pairs`] decides (two overlapping 32-byte blocks).
const MAX_PAIR_WINDOW: usize = 63;

/// The 32 bytes that end `buf`; near the start of a stream the missing
/// front is zero padding, which no window reaches.
#[inline]
fn last_32(buf: &[u8]) -> [u8; 32] {
    match buf.last_chunk::<32>() {
        Some(b) => *b,
        None => {
            let mut padded = [0u8; 32];
            padded[32 - buf.len()..].copy_from_slice(buf);
            padded
        }
    }
}

/// How common a folded byte is in text (higher is more common): the space,
/// then letters in English frequency order, then digits, then the rest.
fn commonness(b: u8) -> usize {
    const LETTERS: &[u8] = b"zqxjkvbpygfwmucldrhsnioate";
    match b {
        b' ' => 40,
        b'a'..=b'z' => 10 + LETTERS.iter().position(|&l| l == b).unwrap_or(0),
        b'0'..=b'9' => 8,
        _ => 0,
    }
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

    proptest::proptest! {
        /// The first-byte filter finds exactly what comparing at every
        /// position finds.
        #[test]
        fn keyword_before_equals_every_window(
            hay in "[sStTnNoOcC#. aAxXiIdD\u{e9}]{0,80}",
            p_frac in 0.0f64..=1.0,
            window in 0usize..70,
        ) {
            let keywords: &[&[u8]] = &[b"ssn", b"soc. sec", b"ss#", b"tax id", b"\xc3\xa9t", b""];
            let buf = hay.as_bytes();
            let p = (buf.len() as f64 * p_frac) as usize;
            let v = View { buf, eof: true };
            let w = window.min(HISTORY).min(p);
            let naive = keywords.iter().filter(|k| !k.is_empty()).any(|k| {
                buf[p - w..p].windows(k.len()).any(|x| x.eq_ignore_ascii_case(k))
            });
            let compiled = Keywords::new(keywords).unwrap();
            proptest::prop_assert_eq!(compiled.before(&v, p, window), naive);
        }
    }

    #[test]
    fn byte_classes_are_exact_for_every_byte_in_every_lane() {
        type Class = (fn(u64) -> u64, fn(&u8) -> bool);
        let classes: [Class; 2] =
            [(digit_bits, u8::is_ascii_digit), (alnum_bits, u8::is_ascii_alphanumeric)];
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

    /// Renders a shape's fields for comparison (`Shape` holds a slice of
    /// the buffer and is not `Debug`).
    fn fields(s: &Shape) -> (Vec<u8>, Option<u8>, usize) {
        (s.first.to_vec(), s.sep, s.second)
    }

    proptest::proptest! {
        /// A shape built from the seek's digit mask equals one read byte by
        /// byte, wherever its first run is shorter than 20 digits.
        #[test]
        fn shape_from_digit_mask_equals_read(
            hay in "([0-9]{1,22}[ .\\-a]{1,2}){1,4}",
            i_frac in 0.0f64..1.0,
        ) {
            let mut buf = hay.into_bytes();
            let i = (buf.len() as f64 * i_frac) as usize;
            buf.extend_from_slice(&[b'x'; 28]);
            if buf[i].is_ascii_digit() {
                let read = Shape::read(&buf, i, false).expect("the run ends in the buffer");
                if read.len() < 20 {
                    let digits = buf[i..]
                        .iter()
                        .take(128)
                        .enumerate()
                        .fold(0u128, |m, (j, b)| m | u128::from(b.is_ascii_digit()) << j);
                    let built = Shape::from_digits(&buf, i, digits);
                    proptest::prop_assert_eq!(fields(&built), fields(&read));
                }
            }
        }
    }

    /// `StartKinds::start_digits` never drops a digit run at which a
    /// numeric kind may start: for every first-run length and first digit
    /// the table leaves out, no shape with that run is a start. The next
    /// three digits are tried exhaustively (issuer ranges depend on four).
    #[test]
    fn start_digit_tables_never_drop_a_start() {
        let all = super::super::StartKinds {
            card: true,
            ssn: true,
            phone: true,
            iban: false,
            email: false,
        };
        let table = all.start_digits();
        let seps: [(Option<u8>, &[usize]); 4] = [
            (None, &[0]),
            (Some(b' '), &[1, 2, 3, 4, 6, 7]),
            (Some(b'-'), &[1, 2, 3, 4, 6, 7]),
            (Some(b'.'), &[1, 2, 3, 4, 6, 7]),
        ];
        for (len, &allowed) in table.iter().enumerate().skip(1) {
            for first in 0..10u8 {
                if allowed >> first & 1 == 1 {
                    continue;
                }
                for tail in 0..1000u32 {
                    for fill in [b'0', b'1', b'5', b'9'] {
                        let mut run = vec![fill; len];
                        run[0] = b'0' + first;
                        for (k, d) in
                            [tail / 100, tail / 10 % 10, tail % 10].into_iter().enumerate()
                        {
                            if let Some(x) = run.get_mut(k + 1) {
                                *x = b'0' + d as u8;
                            }
                        }
                        for (sep, seconds) in seps {
                            for &second in seconds {
                                let shape = Shape { first: &run, sep, second };
                                assert!(
                                    !all.numeric(&shape),
                                    "{:?} {sep:?} {second} starts a kind",
                                    String::from_utf8_lossy(&run)
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn one_byte_keywords_match_alone_in_either_case() {
        let k = Keywords::new(["q", "ssn"]).unwrap();
        let at =
            |s: &str, window| k.before(&View { buf: s.as_bytes(), eof: true }, s.len(), window);
        assert!(at("a Q b", 8));
        assert!(at("q", 1));
        assert!(!at("a b c", 8));
        assert!(!at("q 123", 3));
        assert!(at("SsN", 3));
        assert!(!at("SsN", 2));
        assert!(!Keywords::new([""; 0]).unwrap().before(&View { buf: b"ssn", eof: true }, 3, 3));
    }

    /// Each SSN keyword at every offset of every window length, in both
    /// cases, among filler bytes: found exactly when it lies wholly inside
    /// the window. This is what the pair prefilter's masks must not break.
    #[test]
    fn keywords_are_found_at_every_offset_of_every_window() {
        let words = super::super::ssn::KEYWORD_LIST;
        let k = Keywords::new(words).unwrap();
        assert!(k.pairs.is_some(), "the SSN keywords have a pair cover");
        for word in words {
            for upper in [false, true] {
                let word = if upper { word.to_ascii_uppercase() } else { word.to_string() };
                for at in 0..=HISTORY + 2 {
                    let mut buf = vec![b'-'; at];
                    buf.extend_from_slice(word.as_bytes());
                    // Far enough to leave the keyword out of every window.
                    buf.extend_from_slice(&[b'-'; HISTORY + 2]);
                    let v = View { buf: &buf, eof: true };
                    for p in 0..=buf.len() {
                        for window in [0, 1, 2, 7, 9, 16, 31, 32, 33, 34, 48, 62, 63, HISTORY] {
                            let inside = p >= at + word.len() && p - window.min(p) <= at;
                            assert_eq!(k.before(&v, p, window), inside, "{word} at {at}, p {p}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn view_more_and_eof() {
        let v = View { buf: b"ab", eof: false };
        assert_eq!(v.at(1), Ok(Some(b'b')));
        assert_eq!(v.at(2), Err(More));
        let v = View { buf: b"ab", eof: true };
        assert_eq!(v.at(2), Ok(None));
        assert_eq!(v.before(1, 1), Some(b'a'));
        assert_eq!(v.before(1, 2), None);
    }
}
