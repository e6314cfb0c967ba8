//! The window a detector looks through: the scanner's buffer (a short history
//! of already-emitted input followed by the pending bytes) and whether the
//! stream has ended; what a detector answers ([`Hit`], [`More`]); and the
//! [`Shape`] of a digit cluster, from which each numeric detector says
//! whether it may start there.
//!
//! Detectors are pure functions of this view. When they need a byte that has
//! not arrived yet they return [`More`] instead of guessing: that is what
//! makes the result independent of how the stream was split into chunks.

use super::classes::{count_while, digit_bits};
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
    /// `' '`, `'-'`, `'.'`, `'/'` or `'_'`, only when a digit follows it.
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
        if matches!(after, b' ' | b'-' | b'.' | b'/' | b'_') {
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
        if matches!(after, b' ' | b'-' | b'.' | b'/' | b'_') {
            // `first + 1` is at most 20: the low half of the mask is exact
            // that far and one word shifts cheaper than two.
            let second = ((digits as u64 >> (first + 1)).trailing_ones() as usize).min(7);
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

#[cfg(test)]
mod tests {
    use super::*;

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
            hay in "([0-9]{1,22}[ .\\-a/_]{1,2}){1,4}",
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
            contexts: Default::default(),
        };
        let table = all.start_digits();
        let seps: [(Option<u8>, &[usize]); 6] = [
            (None, &[0]),
            (Some(b' '), &[1, 2, 3, 4, 6, 7]),
            (Some(b'-'), &[1, 2, 3, 4, 6, 7]),
            (Some(b'.'), &[1, 2, 3, 4, 6, 7]),
            (Some(b'/'), &[1, 2, 3, 4, 6, 7]),
            (Some(b'_'), &[1, 2, 3, 4, 6, 7]),
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
