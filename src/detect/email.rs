//! Email addresses: a local part of up to 64 characters, `@`, and a domain
//! of at least two labels ending in an alphabetic TLD.
//!
//! The local part is read forward from its first byte, so the scanner holds
//! back a trailing run of local-part characters only while an `@` may still
//! follow (see the email zone in the scanner).

use super::classes::opt;
use super::view::{Hit, Probe, View};
use super::Kind;

/// RFC 5321 limits.
pub(crate) const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
pub(crate) const LOOKAHEAD: usize = MAX_LOCAL + 1 + MAX_DOMAIN + 2;

#[inline]
pub(crate) fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

#[inline]
fn is_label(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Where an email whose `@` is at `at` can start: the first byte of the run
/// of local-part bytes that ends there, when that run is 1 to [`MAX_LOCAL`]
/// bytes long and does not start with a dot; anywhere else [`detect`] finds
/// nothing. `at` may be the end of the buffer, standing in for an `@` that
/// has not arrived; past it there is no `@`. Kept beside [`detect`]: the two
/// state the same rules.
#[inline]
pub(crate) fn start_before(buf: &[u8], at: usize) -> Option<usize> {
    let before = buf.get(at.saturating_sub(MAX_LOCAL + 1)..at)?;
    let run = before.iter().rev().take_while(|&&b| is_local(b)).count();
    let s = at - run;
    ((1..=MAX_LOCAL).contains(&run) && buf[s] != b'.').then_some(s)
}

/// Detects an email address whose local part starts at `p`.
pub(crate) fn detect(v: &View, p: usize) -> Probe {
    if opt(v.before(p, 1), is_local) || v.buf[p] == b'.' {
        return Ok(None);
    }
    let (local, after) = v.run(p, MAX_LOCAL, is_local)?;
    if local == 0 || local > MAX_LOCAL || after != Some(b'@') || v.buf[p + local - 1] == b'.' {
        return Ok(None);
    }
    let d0 = p + local + 1;
    let mut i = d0;
    let mut labels = 0;
    let mut best = None;
    loop {
        let (n, after) = v.run(i, 63, is_label)?;
        if n == 0 || n > 63 || v.buf[i] == b'-' || v.buf[i + n - 1] == b'-' {
            break;
        }
        labels += 1;
        let label = &v.buf[i..i + n];
        i += n;
        if i - d0 > MAX_DOMAIN {
            break;
        }
        if labels >= 2 && n >= 2 && label.iter().all(u8::is_ascii_alphabetic) {
            best = Some(i);
        }
        if after == Some(b'.') && opt(v.at(i + 1)?, is_label) {
            i += 1;
            continue;
        }
        break;
    }
    let Some(end) = best else { return Ok(None) };
    Ok(Some(Hit::new(Kind::Email, end - p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(s: &str, p: usize) -> Option<usize> {
        let v = View { buf: s.as_bytes(), eof: true };
        detect(&v, p).unwrap().map(|h| h.len)
    }

    #[test]
    fn email_table() {
        let cases: &[(&str, usize, Option<usize>)] = &[
            ("mhernandez@example.org", 0, Some(22)),
            ("to: a.b+c@mail.example.co.uk.", 4, Some(24)),
            ("x@y", 0, None),
            ("x@localhost", 0, None),
            ("x@example.c0m", 0, None),
            ("x@-bad.com", 0, None),
            (".x@example.com", 0, None),
            ("x.@example.com", 0, None),
            ("ab@example.com", 1, None),
            ("user@example.com.", 0, Some(16)),
        ];
        for (s, p, want) in cases {
            assert_eq!(probe(s, *p), *want, "{s}");
        }
    }
}
