//! Context keywords: the words that must appear shortly before an
//! ambiguous shape (a bare 9-digit SSN, a custom rule's match) for it to be
//! reported, compiled once into one automaton with a vector prefilter. It
//! only answers whether a keyword lies in a window; it never sees past
//! [`HISTORY`] bytes before a position.

#[cfg(test)]
use super::view::View;
use super::view::HISTORY;

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
    /// (at most [`HISTORY`]), as a substring: the reference the pair
    /// prefilter is checked against.
    #[cfg(test)]
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

    /// The keyword nearest to `p` that lies wholly within the `window`
    /// bytes before it (at most `HISTORY - 1`, so that the byte before the
    /// window, which the word boundary looks at, is always in the buffer)
    /// and stands as a word of its own ([`is_word_at`]): its end and
    /// length, the longest one at the nearest end.
    pub(crate) fn nearest_before(&self, buf: &[u8], p: usize, window: usize) -> Option<Near> {
        let window = window.min(HISTORY - 1).min(p);
        if let Some(pairs) = &self.pairs {
            if !pairs.any_before(buf, p, window) {
                return None;
            }
        }
        let ac = self.ac.as_ref()?;
        let lo = p - window;
        let mut best: Option<Near> = None;
        for m in ac.find_overlapping_iter(&buf[lo..p]) {
            let (s, e) = (lo + m.start(), lo + m.end());
            if !is_word_at(buf, s, e) {
                continue;
            }
            let near = Near { end: e, len: e - s };
            if best.is_none_or(|b| (near.end, near.len) > (b.end, b.len)) {
                best = Some(near);
            }
        }
        best
    }
}

/// A keyword found by [`Keywords::nearest_before`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Near {
    /// One past its last byte.
    pub end: usize,
    pub len: usize,
}

/// Whether `buf[s..e]` stands as a word of its own: an edge that is a
/// letter is not glued to another letter (`pan` is not found in `company`
/// or `panel`, `id` not in `paid`), except across a camelCase step
/// (`cardNumber`, `orderId`) or before a plural `s` (`cards`). Digits,
/// `_`, `-` and punctuation separate words (`card_number`, `order_id`,
/// `tel:`). Reads at most one byte before `s` and two after `e - 1`.
pub(crate) fn is_word_at(buf: &[u8], s: usize, e: usize) -> bool {
    let letter = |i: usize| buf.get(i).is_some_and(u8::is_ascii_alphabetic);
    let camel = |a: usize, b: usize| buf[a].is_ascii_lowercase() && buf[b].is_ascii_uppercase();
    let left = !letter(s) || s == 0 || !letter(s - 1) || camel(s - 1, s);
    let right = !letter(e - 1)
        || !letter(e)
        || camel(e - 1, e)
        || (matches!(buf[e], b's' | b'S') && !letter(e + 1));
    left && right
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

    proptest::proptest! {
        /// The nearest whole-word keyword equals comparing at every
        /// position, pair prefilter or not (`#` has no pair cover).
        #[test]
        fn nearest_before_equals_every_window(
            hay in "[cCaArRdDiI#_ .:tTeElLsSxN]{0,80}",
            p_frac in 0.0f64..=1.0,
            window in 0usize..70,
            with_hash in proptest::bool::ANY,
        ) {
            let mut keywords: Vec<&[u8]> = vec![b"card", b"id", b"card #", b"tel:", b"cards"];
            if with_hash {
                keywords.push(b"#");
            }
            let buf = hay.as_bytes();
            let p = (buf.len() as f64 * p_frac) as usize;
            let w = window.min(HISTORY - 1).min(p);
            let naive = keywords
                .iter()
                .flat_map(|k| {
                    (p - w..p)
                        .filter(|&s| s + k.len() <= p && buf[s..s + k.len()].eq_ignore_ascii_case(k))
                        .filter(|&s| is_word_at(buf, s, s + k.len()))
                        .map(|s| (s + k.len(), k.len()))
                        .collect::<Vec<_>>()
                })
                .max();
            let compiled = Keywords::new(&keywords).unwrap();
            let got = compiled.nearest_before(buf, p, window).map(|n| (n.end, n.len));
            proptest::prop_assert_eq!(got, naive);
        }
    }

    #[test]
    fn whole_words() {
        let cases: &[(&str, &str, bool)] = &[
            ("a card b", "card", true),
            ("cardNumber", "card", true),
            ("orderId", "id", true),
            ("order_id", "id", true),
            ("paid", "id", false),
            ("Ideal", "id", false),
            ("cards", "card", true),
            ("cardsx", "card", false),
            ("company", "pan", false),
            ("PANEL", "pan", false),
            ("ss#", "#", true),
            ("tel:", "tel", true),
            ("hotel", "tel", false),
        ];
        for &(text, word, want) in cases {
            let lower = text.to_ascii_lowercase();
            let s = lower.find(word).unwrap();
            assert_eq!(is_word_at(text.as_bytes(), s, s + word.len()), want, "{word} in {text}");
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
        let words = super::super::ContextWords::ssn_default().words;
        let k = Keywords::new(&words).unwrap();
        assert!(k.pairs.is_some(), "the SSN keywords have a pair cover");
        for word in words {
            for upper in [false, true] {
                let word = if upper { word.to_ascii_uppercase() } else { word.clone() };
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
}
