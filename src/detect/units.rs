//! Logical characters however a page writes them: an ASCII byte, an HTML
//! character reference (`&#52;`, `&#x2D;`, `&nbsp;`), a JSON escape
//! (`\u0034`), percent-encoding (`%34`, `%C2%A0`), a UTF-8 sequence (a
//! no-break space, a fullwidth digit) or an inline tag between digit groups
//! (`<span>`), each read as one [`Unit`] with its raw length.
//!
//! The numeric detectors never see these forms directly: when the ASCII
//! fast path cannot decide (the gate: [`cluster_ends_encoded`],
//! [`encoded_digit_at`], [`digits_ahead`]), the scanner reads a [`Window`] of
//! units around the candidate, normalized to one ASCII byte per unit
//! (digits as digits, space-like separators as `' '`, hyphen-like ones as
//! `'-'`, inline tags as nothing), runs the same detectors on it and maps
//! the match back to raw bytes. [`mask_unit`] masks one unit in its own
//! form and length, and [`normalize_digits`] gives a match's value.
//!
//! Pure and bounded: a unit is at most [`MAX_TAG`] bytes, a window at most
//! [`RAW_CAP`] raw bytes after its start and [`HISTORY`] before it; a read
//! that needs a byte not yet arrived answers [`More`], so the result never
//! depends on how the stream was split. Never allocates.

use super::classes::{count_while, digit_bits, upper_bits};
use super::view::{More, HISTORY};

/// One logical character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A decimal digit (`b'0'..=b'9'`), in any form, fullwidth included.
    Digit(u8),
    /// A separator between digit groups: `b' '` for the space-like ones
    /// (space, no-break, figure, thin, narrow no-break, en and em spaces),
    /// `b'-'` for the hyphen-like ones (hyphen-minus, hyphen, non-breaking
    /// hyphen, figure dash, en dash, minus).
    Sep(u8),
    /// An inline tag (`<span class="x">`, `</b>`): shown as nothing.
    Tag,
    /// Any other character: its ASCII byte, or `0x80` for any other
    /// non-ASCII character (never a digit, a letter or a separator).
    Char(u8),
}

/// The longest tag read as one unit. A styled `<span class="...">` fits;
/// the bound keeps a window, and with it the scanner's hold-back, bounded
/// whatever a page puts between two digit groups (a longer tag is markup,
/// not formatting of a number, and ends the number).
pub(crate) const MAX_TAG: usize = 128;

/// Raw bytes a [`Window`] reads past its start: 19 digits each wrapped in
/// inline tags, with separators, fit several times over.
pub(crate) const RAW_CAP: usize = 1024;

/// Normalized bytes a [`Window`] holds from its start: more than any
/// numeric detector's lookahead (an IBAN's 44).
pub(crate) const WINDOW: usize = 64;

/// Normalized bytes of left context (an SSN keyword window is 32).
pub(crate) const LEFT: usize = 40;

/// Inline elements whose tags a browser shows as nothing between two digit
/// groups. Block and table tags (`td`, `div`, `br`, `li`) separate values
/// on screen and end a number. A `match` rather than a list: every number
/// before a `</td>` asks.
#[inline]
fn is_inline(name: &[u8]) -> bool {
    matches!(
        name,
        b"a" | b"abbr"
            | b"b"
            | b"bdi"
            | b"bdo"
            | b"big"
            | b"code"
            | b"em"
            | b"font"
            | b"i"
            | b"ins"
            | b"kbd"
            | b"mark"
            | b"nobr"
            | b"s"
            | b"samp"
            | b"small"
            | b"span"
            | b"strong"
            | b"u"
            | b"var"
            | b"wbr"
    )
}

/// Named references read as separators (case-insensitive).
const NAMED: &[(&[u8], u32)] = &[
    (b"nbsp", 0xa0),
    (b"ensp", 0x2002),
    (b"emsp", 0x2003),
    (b"numsp", 0x2007),
    (b"thinsp", 0x2009),
    (b"hyphen", 0x2010),
    (b"dash", 0x2010),
    (b"ndash", 0x2013),
    (b"minus", 0x2212),
    (b"nonbreakingspace", 0xa0),
];

/// The unit of a code point.
fn classify(cp: u32) -> Unit {
    match cp {
        0x30..=0x39 => Unit::Digit(cp as u8),
        0xff10..=0xff19 => Unit::Digit(b'0' + (cp - 0xff10) as u8),
        0x20 | 0xa0 | 0x2002 | 0x2003 | 0x2007 | 0x2008 | 0x2009 | 0x202f => Unit::Sep(b' '),
        0x2d | 0x2010 | 0x2011 | 0x2012 | 0x2013 | 0x2212 => Unit::Sep(b'-'),
        0..=0x7f => Unit::Char(cp as u8),
        _ => Unit::Char(0x80),
    }
}

#[inline]
fn at(buf: &[u8], i: usize, eof: bool) -> Result<Option<u8>, More> {
    match buf.get(i) {
        Some(&b) => Ok(Some(b)),
        None if eof => Ok(None),
        None => Err(More),
    }
}

fn hex_val(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// The unit at `i` and its raw length; `None` at the end of the stream.
pub(crate) fn read(buf: &[u8], i: usize, eof: bool) -> Result<Option<(Unit, usize)>, More> {
    let Some(b) = at(buf, i, eof)? else { return Ok(None) };
    let one = |u| Ok(Some((u, 1)));
    match b {
        b'0'..=b'9' => one(Unit::Digit(b)),
        b' ' | b'-' => one(Unit::Sep(b)),
        b'&' => Ok(Some(reference(buf, i, eof)?.unwrap_or((Unit::Char(b'&'), 1)))),
        b'\\' => Ok(Some(escape(buf, i, eof)?.unwrap_or((Unit::Char(b'\\'), 1)))),
        b'%' => Ok(Some(percent(buf, i, eof)?.unwrap_or((Unit::Char(b'%'), 1)))),
        b'<' => Ok(Some(tag(buf, i, eof)?.unwrap_or((Unit::Char(b'<'), 1)))),
        0x80.. => utf8(buf, i, eof).map(Some),
        _ => one(Unit::Char(b)),
    }
}

/// `&#NNN;`, `&#xHHH;` or `&name;` at `i` (an `&`).
fn reference(buf: &[u8], i: usize, eof: bool) -> Result<Option<(Unit, usize)>, More> {
    let mut j = i + 1;
    if at(buf, j, eof)? == Some(b'#') {
        j += 1;
        let hex = matches!(at(buf, j, eof)?, Some(b'x' | b'X'));
        if hex {
            j += 1;
        }
        let (radix, cap) = if hex { (16, 6) } else { (10, 7) };
        let mut cp = 0u32;
        let mut n = 0;
        loop {
            match at(buf, j, eof)? {
                Some(b';') if n > 0 => return Ok(Some((classify(cp), j + 1 - i))),
                Some(d) if n < cap => match (d as char).to_digit(radix) {
                    Some(v) => {
                        cp = cp * radix + v;
                        n += 1;
                        j += 1;
                    }
                    None => return Ok(None),
                },
                _ => return Ok(None),
            }
        }
    }
    let mut name = [0u8; 16];
    let mut n = 0;
    loop {
        match at(buf, j, eof)? {
            Some(b';') if n > 0 => break,
            Some(c) if c.is_ascii_alphabetic() && n < name.len() => {
                name[n] = c.to_ascii_lowercase();
                n += 1;
                j += 1;
            }
            _ => return Ok(None),
        }
    }
    let name = &name[..n];
    Ok(NAMED.iter().find(|(k, _)| *k == name).map(|&(_, cp)| (classify(cp), j + 1 - i)))
}

/// `\uHHHH` at `i` (a backslash); an escaped backslash is one unit.
fn escape(buf: &[u8], i: usize, eof: bool) -> Result<Option<(Unit, usize)>, More> {
    match at(buf, i + 1, eof)? {
        Some(b'\\') => return Ok(Some((Unit::Char(b'\\'), 2))),
        Some(b'u') => {}
        _ => return Ok(None),
    }
    let mut cp = 0;
    for k in 2..6 {
        let Some(v) = at(buf, i + k, eof)?.and_then(hex_val) else { return Ok(None) };
        cp = cp << 4 | v;
    }
    Ok(Some((classify(cp), 6)))
}

/// One `%HH` at `i`: its byte.
fn pct_byte(buf: &[u8], i: usize, eof: bool) -> Result<Option<u8>, More> {
    if at(buf, i, eof)? != Some(b'%') {
        return Ok(None);
    }
    let Some(h) = at(buf, i + 1, eof)?.and_then(hex_val) else { return Ok(None) };
    let Some(l) = at(buf, i + 2, eof)?.and_then(hex_val) else { return Ok(None) };
    Ok(Some((h << 4 | l) as u8))
}

/// `%HH` at `i`, or a percent-encoded UTF-8 sequence of two or three bytes.
fn percent(buf: &[u8], i: usize, eof: bool) -> Result<Option<(Unit, usize)>, More> {
    let Some(lead) = pct_byte(buf, i, eof)? else { return Ok(None) };
    let conts = match lead {
        0..=0x7f => return Ok(Some((classify(u32::from(lead)), 3))),
        0xc2..=0xdf => 1,
        0xe0..=0xef => 2,
        _ => return Ok(None),
    };
    let mut cp = u32::from(lead) & (0x3f >> conts);
    for k in 1..=conts {
        match pct_byte(buf, i + 3 * k, eof)? {
            Some(c @ 0x80..=0xbf) => cp = cp << 6 | u32::from(c & 0x3f),
            _ => return Ok(None),
        }
    }
    Ok(Some((classify(cp), 3 * (conts + 1))))
}

/// A UTF-8 sequence at `i` (a byte of 0x80 or more); an invalid one is a
/// one-byte [`Unit::Char`].
fn utf8(buf: &[u8], i: usize, eof: bool) -> Result<(Unit, usize), More> {
    let lead = buf[i];
    let conts = match lead {
        0xc2..=0xdf => 1,
        0xe0..=0xef => 2,
        0xf0..=0xf4 => 3,
        _ => return Ok((Unit::Char(0x80), 1)),
    };
    let mut cp = u32::from(lead) & (0x3f >> conts);
    for k in 1..=conts {
        match at(buf, i + k, eof)? {
            Some(c @ 0x80..=0xbf) => cp = cp << 6 | u32::from(c & 0x3f),
            _ => return Ok((Unit::Char(0x80), 1)),
        }
    }
    Ok((classify(cp), conts + 1))
}

/// An inline tag at `i` (a `<`), at most [`MAX_TAG`] bytes.
fn tag(buf: &[u8], i: usize, eof: bool) -> Result<Option<(Unit, usize)>, More> {
    let mut j = i + 1;
    if at(buf, j, eof)? == Some(b'/') {
        j += 1;
    }
    let mut name = [0u8; 8];
    let mut n = 0;
    loop {
        match at(buf, j, eof)? {
            Some(c) if c.is_ascii_alphabetic() => {
                if n == name.len() {
                    return Ok(None);
                }
                name[n] = c.to_ascii_lowercase();
                n += 1;
                j += 1;
            }
            Some(b'>' | b' ' | b'\t' | b'\n' | b'/') if n > 0 => break,
            _ => return Ok(None),
        }
    }
    if !is_inline(&name[..n]) {
        return Ok(None);
    }
    // A value may sit inside the tag (`<s title="822-43-8021">`, a token
    // in an attribute): such a tag is not read through, so the value is
    // scanned as text rather than hidden inside a match around it. Every
    // numeric value has a group of four digits, every token a run of at
    // least 15 token characters and a PEM key five dashes; class names
    // (`text-gray-500`) have none of them.
    let (mut digits, mut token, mut dashes) = (0, 0, 0);
    while j < i + MAX_TAG {
        match at(buf, j, eof)? {
            Some(b'>') => return Ok(Some((Unit::Tag, j + 1 - i))),
            Some(b'<') | None => return Ok(None),
            Some(c) => {
                digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
                token =
                    if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' { token + 1 } else { 0 };
                dashes = if c == b'-' { dashes + 1 } else { 0 };
                if digits == 4 || token == 15 || dashes == 5 {
                    return Ok(None);
                }
                j += 1;
            }
        }
    }
    Ok(None)
}

/// The unit that ends at `q` and starts at or after `lo`, read backwards:
/// the longest encoded unit ending exactly there, else the byte.
fn read_back(buf: &[u8], lo: usize, q: usize) -> Option<(Unit, usize)> {
    if q <= lo {
        return None;
    }
    let last = buf[q - 1];
    let head = &buf[..q];
    let try_at = |s: usize| match read(head, s, true) {
        Ok(Some((u, n))) if n == q - s && n > 1 => Some((u, s)),
        _ => None,
    };
    let from = |back: usize| q.saturating_sub(back).max(lo);
    let found = match last {
        b';' => (from(20)..q - 1).filter(|&s| buf[s] == b'&').find_map(try_at),
        b'>' => (from(MAX_TAG)..q - 1).rev().filter(|&s| buf[s] == b'<').find_map(try_at),
        0x80.. => (from(4)..q - 1).find_map(try_at),
        _ if last.is_ascii_hexdigit() => [9, 6, 3]
            .into_iter()
            .filter(|&k| q >= lo + k && matches!(buf[q - k], b'\\' | b'%'))
            .find_map(|k| try_at(q - k)),
        _ => None,
    };
    found.or_else(|| {
        // The last byte alone (an invalid or cut sequence is one byte).
        let u = match read(&buf[q - 1..q], 0, true) {
            Ok(Some((u, 1))) => u,
            _ => Unit::Char(if last < 0x80 { last } else { 0x80 }),
        };
        Some((u, q - 1))
    })
}

/// A unit's normalized byte (`None` for a tag, which is shown as nothing).
#[inline]
fn norm(u: Unit) -> Option<u8> {
    match u {
        Unit::Digit(d) => Some(d),
        Unit::Sep(s) => Some(s),
        Unit::Char(c) => Some(c),
        Unit::Tag => None,
    }
}

/// Whether a `+` between `before` and `after` stands for a space, as in a
/// query string: between two letters or digits, or after a `)`
/// (`?phone=(415)+555-0132`, `?iban=GB82+WEST+...`).
#[inline]
fn plus_is_space(before: u8, after: Option<u8>) -> bool {
    (before.is_ascii_alphanumeric() || before == b')')
        && after.is_some_and(|a| a.is_ascii_alphanumeric())
}

/// The normalized units around a candidate: [`LEFT`] bytes of context
/// before it and up to [`WINDOW`] from it, each with the raw offset (from
/// the candidate) just past its unit. A `+` in a query string's place is a
/// space ([`plus_is_space`]). The window ends at the end of the stream, at
/// [`RAW_CAP`] or [`WINDOW`] (then `eof`: a fixed end, the same for every
/// split), or where a unit has not fully arrived (not `eof`).
pub(crate) struct Window {
    pub norm: [u8; LEFT + WINDOW],
    ends: [u16; WINDOW],
    /// Where the candidate is in `norm`.
    pub at: usize,
    pub len: usize,
    pub eof: bool,
}

impl Window {
    /// The window at `p` of `buf` (whose last [`HISTORY`] bytes before `p`
    /// are always present, or the stream starts in it).
    #[cfg(test)]
    pub(crate) fn read(buf: &[u8], p: usize, eof: bool) -> Window {
        Window::read_with(buf, p, eof, false)
    }

    /// `Window::read`; with `apart`, a tag between two letters or digits
    /// (`32<span>4111`) is read as a boundary (`0x80`) rather than as
    /// nothing: an IBAN's groups are read through tags next to their
    /// separators only, so a value after a tag never lengthens its last
    /// group (as on the ASCII path, which a `<` ends), and masking that
    /// value never uncovers the IBAN.
    pub(crate) fn read_with(buf: &[u8], p: usize, eof: bool, apart: bool) -> Window {
        let mut w =
            Window { norm: [0; LEFT + WINDOW], ends: [0; WINDOW], at: 0, len: 0, eof: false };
        // Left context, read backwards into the end of a scratch buffer.
        let lo = p.saturating_sub(HISTORY);
        let mut left = [0u8; LEFT];
        let mut n = 0;
        let mut q = p;
        // With `apart`, tags between the candidate (a letter or digit) and
        // a letter or digit before it are a boundary too: `first` until
        // the first shown unit before the candidate, `tags` once a tag was
        // read before it.
        let (mut first, mut tags) = (apart, false);
        while n < LEFT {
            let Some((u, s)) = read_back(buf, lo, q) else { break };
            q = s;
            let Some(b) = norm(u) else {
                tags = true;
                continue;
            };
            if std::mem::take(&mut first) && tags && b.is_ascii_alphanumeric() {
                let digit = matches!(read(buf, p, eof), Ok(Some((Unit::Digit(_), _))));
                if digit || buf.get(p).is_some_and(u8::is_ascii_alphanumeric) {
                    left[LEFT - 1 - n] = 0x80;
                    n += 1;
                    if n == LEFT {
                        break;
                    }
                }
            }
            left[LEFT - 1 - n] = b;
            n += 1;
        }
        for k in 1..n {
            let i = LEFT - n + k;
            if left[i] == b'+' && plus_is_space(left[i - 1], left.get(i + 1).copied()) {
                left[i] = b' ';
            }
        }
        w.norm[..n].copy_from_slice(&left[LEFT - n..]);
        w.at = n;
        // Units from `p`.
        let mut i = p;
        let mut k = 0;
        // A tag (or tags) right after a letter or digit, with `apart`.
        let mut split = false;
        loop {
            if k == WINDOW || i - p > RAW_CAP {
                w.eof = true;
                break;
            }
            match read(buf, i, eof) {
                Err(More) => {
                    // A `+` is a space only before a digit: not known yet.
                    if k > 0 && w.norm[w.at + k - 1] == b'+' {
                        k -= 1;
                    }
                    break;
                }
                Ok(None) => {
                    w.eof = true;
                    break;
                }
                Ok(Some((u, len))) => {
                    if i + len - p > RAW_CAP {
                        w.eof = true;
                        break;
                    }
                    let start = i;
                    i += len;
                    let Some(b) = norm(u) else {
                        split |= apart && k > 0 && w.norm[w.at + k - 1].is_ascii_alphanumeric();
                        continue;
                    };
                    if std::mem::take(&mut split) && b.is_ascii_alphanumeric() {
                        w.norm[w.at + k] = 0x80;
                        w.ends[k] = (start - p) as u16;
                        k += 1;
                        if k == WINDOW {
                            w.eof = true;
                            break;
                        }
                    }
                    let j = w.at + k;
                    // A `+` for a space (not the candidate's own, which
                    // starts a phone number).
                    if j >= 2
                        && j - 1 != w.at
                        && w.norm[j - 1] == b'+'
                        && plus_is_space(w.norm[j - 2], Some(b))
                    {
                        w.norm[j - 1] = b' ';
                    }
                    w.norm[j] = b;
                    w.ends[k] = (i - p) as u16;
                    k += 1;
                }
            }
        }
        w.len = w.at + k;
        w
    }

    /// The normalized bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.norm[..self.len]
    }

    /// Raw length of the first `n` normalized bytes from the candidate.
    pub(crate) fn raw_len(&self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::from(self.ends[n - 1])
        }
    }
}

const CLUSTER_BYTE: u8 = 1;
const CAPITAL: u8 = 2;
const SPECIAL: u8 = 4;

/// Per byte: whether a digit cluster may hold it while the ASCII path reads
/// it, whether it is a capital (an IBAN's), whether a longer unit may
/// start with it (`&`, `\\`, `%`, `<`, `+`, a UTF-8 lead byte). A table:
/// every digit group of a body that ends a cluster is walked through it.
static BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_digit() || matches!(c, b' ' | b'-' | b'.' | b'/' | b'_' | b'(' | b')')
        {
            CLUSTER_BYTE
        } else if c.is_ascii_uppercase() {
            CAPITAL
        } else if matches!(c, b'&' | b'\\' | b'%' | b'<' | b'+') || c >= 0x80 {
            SPECIAL
        } else {
            0
        };
        b += 1;
    }
    t
};

/// How far [`cluster_ends_encoded`] walks an ASCII cluster for an encoded
/// part.
const CLUSTER: usize = 48;

/// Whether the ASCII cluster that starts at `i` runs into a unit only the
/// units path reads (a reference, an escape, a UTF-8 separator, an inline
/// tag, a `+` before a digit): true also when that is not known yet.
pub(crate) fn cluster_ends_encoded(buf: &[u8], i: usize, eof: bool, alpha: bool) -> bool {
    cluster_ends_encoded_from(buf, i, i, eof, alpha)
}

/// [`cluster_ends_encoded`] for a caller that already knows the bytes
/// `i..from` belong to the cluster (the digit groups it has measured): the
/// walk starts at `from` (at most [`CLUSTER`] bytes past `i`). Every digit
/// group of a body that a separator or a special byte ends gets here, so
/// what is known is not walked again.
#[inline]
pub(crate) fn cluster_ends_encoded_from(
    buf: &[u8],
    i: usize,
    from: usize,
    eof: bool,
    alpha: bool,
) -> bool {
    match cluster_unit_at(buf, i, from, eof, alpha) {
        Ok(j) => encoded_unit(buf, j, eof, read(buf, j, eof)),
        Err(decided) => decided,
    }
}

/// The prelude [`cluster_ends_encoded_from`] and [`encoded_cluster_holds`]
/// share: `Ok` with where the ASCII cluster that starts at `i` (walked from
/// `from`) ends at a byte a longer unit may start with, whose unit is then
/// to be read; or `Err` with the answer when no unit needs reading: at the
/// end of the bytes so far, true unless the stream has ended (the cluster
/// may still run into one); past [`CLUSTER`] bytes, at a byte no longer
/// unit starts with, or at a `<` that no inline element's tag opens,
/// false.
#[inline(always)]
fn cluster_unit_at(
    buf: &[u8],
    i: usize,
    from: usize,
    eof: bool,
    alpha: bool,
) -> Result<usize, bool> {
    let j = cluster_end(buf, i, from, alpha);
    if j == buf.len() {
        return Err(!eof);
    }
    if j >= i + CLUSTER || BYTE[usize::from(buf[j])] != SPECIAL {
        return Err(false);
    }
    if buf[j] == b'<' && !may_be_inline_tag(buf, j) {
        return Err(false);
    }
    Ok(j)
}

/// Where the ASCII cluster that starts at `i` ends, walked from `from`
/// (at most [`CLUSTER`] bytes past `i`).
#[inline(always)]
fn cluster_end(buf: &[u8], i: usize, from: usize, alpha: bool) -> usize {
    debug_assert!(i <= from && from <= i + CLUSTER);
    let end = buf.len().min(i + CLUSTER);
    let member = if alpha { CLUSTER_BYTE | CAPITAL } else { CLUSTER_BYTE };
    let mut j = from;
    while j < end {
        // Digits (and an IBAN's capitals) eight at a time, the separators
        // between them one by one: an IBAN-shaped run (`GB33...75</td>`)
        // or a card's groups are mostly the former.
        j += if alpha {
            count_while(buf, j, end, |w| digit_bits(w) | upper_bits(w))
        } else {
            count_while(buf, j, end, digit_bits)
        };
        if j < end && BYTE[usize::from(buf[j])] & member != 0 {
            j += 1;
        } else {
            break;
        }
    }
    j
}

/// [`cluster_ends_encoded_from`] (digits only) and then
/// [`digits_ahead`]`(buf, i, eof, need)`, with the unit that ends the
/// cluster read once for both: the cluster's bytes are all ones
/// `digits_ahead` passes over without reading, so it reads that unit
/// first (most often an inline tag after a number: `12</a>`, read for
/// up to [`MAX_TAG`] bytes).
#[inline]
pub(crate) fn encoded_cluster_holds(
    buf: &[u8],
    i: usize,
    from: usize,
    eof: bool,
    need: usize,
) -> bool {
    let j = match cluster_unit_at(buf, i, from, eof, false) {
        Ok(j) => j,
        // At the end of the bytes so far, the digits are counted as
        // `digits_ahead` counts them.
        Err(more) => return more && digits_ahead(buf, i, eof, need),
    };
    // A short number before an inline tag and a byte `digits_ahead` stops
    // at (`<span class="number">1</span>,`, `1</span>);`, most numbers
    // before a tag in code listings): with fewer bytes than `need` before
    // the tag, fewer digits, so the walk after the tag's `>` below is
    // false at its first byte. Decided before counting the digits.
    let tag_end = if buf[j] == b'<' { tag_end(buf, j) } else { None };
    if j - i < need && tag_end.is_some_and(|k| buf.get(k + 1).is_some_and(|&c| ends_digits(c))) {
        return false;
    }
    // `digits_ahead` would walk the cluster's bytes (digits and separators
    // it passes over, fewer than `RAW_CAP`) as they are counted here, and
    // go on at `j` with the unit read there.
    let before = buf[i..j].iter().filter(|b| b.is_ascii_digit()).count();
    if before >= need {
        return encoded_unit(buf, j, eof, read(buf, j, eof));
    }
    // A number before an inline tag and a comma, a bracket, a letter or a
    // space and a middle dot (`<span class="number">1</span>,`,
    // `1.0.0</span> · `): a tag read at `j` ends at the first `>`, and
    // `digits_ahead` goes on after it; when it stops there, either no tag
    // is read at `j` or the gate is false anyway. Decided without reading
    // the tag.
    if tag_end.is_some_and(|k| !digits_ahead_from::<true>(buf, i, k + 1, before, eof, need, None)) {
        return false;
    }
    let unit = read(buf, j, eof);
    encoded_unit(buf, j, eof, unit)
        && digits_ahead_from::<true>(buf, i, j, before, eof, need, Some((j, unit)))
}

/// Where a tag read at the `<` at `j` ends, if one does: the first `>` in
/// the bytes a tag may span, with no `<` before it (or `None`: no tag, or
/// not known from the bytes at hand).
#[inline]
fn tag_end(buf: &[u8], j: usize) -> Option<usize> {
    let end = buf.len().min(j + MAX_TAG);
    let k = j + 1 + buf.get(j + 1..end)?.iter().position(|&c| matches!(c, b'>' | b'<'))?;
    (buf[k] == b'>').then_some(k)
}

/// Whether the `<` at `j` may open or close an inline element (true when
/// not known yet). Most tags after a number are block or table tags
/// (`</td>`): their first letter is no inline element's.
#[inline]
pub(crate) fn may_be_inline_tag(buf: &[u8], j: usize) -> bool {
    let k = j + 1 + usize::from(buf.get(j + 1) == Some(&b'/'));
    buf.get(k).is_none_or(|&c| may_start_inline(c))
}

/// Whether an inline element's name ([`is_inline`]) may start with `c`
/// (either case): one of `abcefikmnsuvw`, as a bit set.
#[inline]
fn may_start_inline(c: u8) -> bool {
    const FIRST: u32 = {
        let names = b"abcefikmnsuvw";
        let mut m = 0u32;
        let mut k = 0;
        while k < names.len() {
            m |= 1 << (names[k] - b'a');
            k += 1;
        }
        m
    };
    let c = (c | 0x20).wrapping_sub(b'a');
    c < 26 && FIRST >> c & 1 == 1
}

/// Whether the unit at `j`, which `unit` is what [`read`] answers for, is
/// a digit, a separator, an inline tag or a `/` the ASCII path cannot read,
/// or a `+` before a digit or a letter (true when not known yet).
#[inline(always)]
fn encoded_unit(buf: &[u8], j: usize, eof: bool, unit: Read) -> bool {
    match unit {
        Err(More) => true,
        Ok(Some((Unit::Digit(_) | Unit::Sep(_) | Unit::Tag, n))) => n > 1,
        // An encoded `/` after a German area code (`030%2F1234567` in a
        // query string): which kind takes it is the detectors' to say.
        Ok(Some((Unit::Char(b'/'), n))) => n > 1,
        Ok(Some((Unit::Char(b'+'), _))) => match read(buf, j + 1, eof) {
            Err(More) | Ok(Some((Unit::Digit(_), _))) => true,
            Ok(Some((Unit::Char(c), _))) => c.is_ascii_alphanumeric(),
            _ => false,
        },
        _ => false,
    }
}

/// Whether a digit written in an encoded form (`&#52;`, `\u0034`, `%34`,
/// a fullwidth digit) starts at `i` (true when that depends on bytes not
/// yet arrived).
#[inline]
pub(crate) fn encoded_digit_at(buf: &[u8], i: usize, eof: bool) -> bool {
    // The byte after the start says most of the time that no digit is
    // written here (`&amp;`, `\n`, `%2F`): checked inline, before the
    // rest, for every `&`, `\\`, `%` and 0xEF of a body.
    let next = |ok: fn(u8) -> bool| buf.get(i + 1).map_or(!eof, |&c| ok(c));
    let may = match buf[i] {
        b'&' => next(|c| c == b'#'),
        b'\\' => next(|c| c == b'u'),
        b'%' => next(|c| matches!(c, b'3' | b'E' | b'e')),
        0xef => next(|c| c == 0xbc),
        _ => false,
    };
    may && encoded_digit_after_two(buf, i, eof)
}

/// [`encoded_digit_at`] past its first check. The byte after those two
/// rules most of the rest out (`&#39;`, `\u00e9`, `%3A`, `%E2`) before
/// reading: a digit is U+0030..U+0039 or U+FF10..U+FF19, so a decimal
/// reference's first digit is `4` or `5` (48 to 57), `6` (65296 to 65305)
/// or a leading `0`, a JSON escape's first hex digit is `0` or `f`, a
/// percent-encoded digit is `%3` and a decimal digit or starts `%EF`, and
/// a fullwidth digit's last byte is 0x90..=0x99. Out of line: most bodies
/// rarely get here.
#[inline(never)]
fn encoded_digit_after_two(buf: &[u8], i: usize, eof: bool) -> bool {
    let third = |ok: fn(u8) -> bool| buf.get(i + 2).map_or(!eof, |&c| ok(c));
    let may = match (buf[i], buf.get(i + 1)) {
        (b'&', _) => third(|c| matches!(c, b'0' | b'4' | b'5' | b'6') || c | 0x20 == b'x'),
        (b'\\', _) => third(|c| c == b'0' || c | 0x20 == b'f'),
        (b'%', Some(b'3')) => third(|c| c.is_ascii_digit()),
        (b'%', Some(b'E' | b'e')) => third(|c| c | 0x20 == b'f'),
        (0xef, _) => third(|c| (0x90..=0x99).contains(&c)),
        // `%` at the end of a chunk.
        _ => true,
    };
    may && matches!(read(buf, i, eof), Err(More) | Ok(Some((Unit::Digit(_), 2..))))
}

/// Whether at least `need` digits follow `i` before the cluster of digit
/// groups that starts there ends (at a unit no numeric value holds: a
/// letter, a comma, a block tag...): fewer, and no card (12), SSN (9) or
/// phone number (8 after a `+`) can start at `i`. True when not known
/// yet. Keeps the units path off the short numbers markup is full of
/// (`<span class="number">1</span>`).
pub(crate) fn digits_ahead(buf: &[u8], i: usize, eof: bool, need: usize) -> bool {
    digits_ahead_from::<true>(buf, i, i, 0, eof, need, None)
}

/// What [`read`] answers.
type Read = Result<Option<(Unit, usize)>, More>;

/// [`digits_ahead`] from `j`, with `n` of the `need` digits already
/// counted from `i`, and `known`, a position and what [`read`] answers
/// there, when the caller has read it: not read again. With `ASCII`, the
/// ASCII bytes are decided without reading (the digits, separators and
/// tags of markup after a number); without, every unit is read: the
/// definition, which the shortcut must answer as (tested).
#[inline(always)]
fn digits_ahead_from<const ASCII: bool>(
    buf: &[u8],
    i: usize,
    mut j: usize,
    mut n: usize,
    eof: bool,
    need: usize,
    mut known: Option<(usize, Read)>,
) -> bool {
    while n < need {
        if j - i > RAW_CAP {
            return false;
        }
        if ASCII {
            // An ASCII byte other than those a longer unit starts with is
            // a one-byte unit.
            match buf.get(j) {
                Some(b'0'..=b'9') => {
                    n += 1;
                    j += 1;
                    continue;
                }
                Some(b' ' | b'-' | b'.' | b'/' | b'_' | b'(' | b')' | b'+') => {
                    j += 1;
                    continue;
                }
                Some(&b) if ends_digits(b) => return false,
                _ => {}
            }
        }
        let unit = match known {
            Some((k, unit)) if k == j => {
                known = None;
                unit
            }
            _ => read(buf, j, eof),
        };
        match unit {
            Err(More) => return true,
            Ok(None) => return false,
            Ok(Some((u, len))) => {
                match u {
                    Unit::Digit(_) => n += 1,
                    Unit::Sep(_) | Unit::Tag => {}
                    Unit::Char(b'.' | b'/' | b'_' | b'(' | b')' | b'+') => {}
                    Unit::Char(_) => return false,
                }
                j += len;
            }
        }
    }
    true
}

/// Whether [`digits_ahead`] stops at the byte `c` without reading it: an
/// ASCII byte that is a one-byte unit no numeric value holds (not a digit,
/// a separator or a byte a longer unit starts with).
#[inline(always)]
fn ends_digits(c: u8) -> bool {
    c < 0x80
        && !matches!(
            c,
            b'0'..=b'9'
                | b' '
                | b'-'
                | b'.'
                | b'/'
                | b'_'
                | b'('
                | b')'
                | b'+'
                | b'&'
                | b'\\'
                | b'%'
                | b'<'
        )
}

/// Fewest digits a card, an SSN or a national phone number has.
pub(crate) const MIN_DIGITS: usize = 9;

/// Fewest digits after a phone number's `+`.
pub(crate) const MIN_PHONE_DIGITS: usize = 8;

/// Whether `raw` is plain ASCII with no unit of more than one byte: the
/// masks and normal forms of the ASCII path apply to it.
#[inline]
pub(crate) fn plain(raw: &[u8]) -> bool {
    !raw.iter().any(|&b| matches!(b, b'&' | b'\\' | b'%' | b'<') || b >= 0x80)
}

/// Calls `f` with each unit of a whole match and its raw range.
pub(crate) fn each(raw: &[u8], mut f: impl FnMut(Unit, usize, usize)) {
    let mut i = 0;
    while let Ok(Some((u, n))) = read(raw, i, true) {
        f(u, i, i + n);
        i += n;
    }
}

/// Whether the digit at `p` is inside an encoded unit that starts before
/// it (the `3` or `8` of `%38`, the `5` of `&#52;`, the `4` of `\u0034`):
/// a value never starts there, since the whole body reads that unit as one
/// character. Looks back at most [`UNIT_BACK`] bytes (inside the scanner's
/// history); `More` while such a unit has not fully arrived.
pub(crate) fn inside_unit(buf: &[u8], p: usize, eof: bool) -> Result<bool, More> {
    for s in (p.saturating_sub(UNIT_BACK)..p).rev() {
        if matches!(buf[s], b'%' | b'\\' | b'&') {
            if let Some((_, n)) = read(buf, s, eof)? {
                if n > 1 && s + n > p {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// [`inside_unit`] for a digit at `p` whose byte before is no word's
/// (the scanner's numeric starts, checked after `is_word`): a unit that
/// covers such a digit has a `%` or a reference's `#` right before it (its
/// other bytes before a digit are hex digits, `x` or `u`, and a named
/// reference holds no digits), so every other digit is decided by that
/// one byte, without looking back. Equal to [`inside_unit`] there.
#[inline]
pub(crate) fn digit_inside_unit(buf: &[u8], p: usize, eof: bool) -> Result<bool, More> {
    if p == 0 || !matches!(buf[p - 1], b'%' | b'#') {
        return Ok(false);
    }
    inside_unit(buf, p, eof)
}

/// Whether a digit written encoded ends right before `p` (`&#56;`, a
/// fullwidth digit; an escape or percent-encoding ends in a word byte,
/// which the callers' word checks see): a value starting at `p` is glued
/// to it, as the whole body reads it. A masked one (`&#42;`, a fullwidth
/// `*`) counts as the digit it was, so masking the value before never
/// uncovers the one at `p`.
pub(crate) fn encoded_digit_before(buf: &[u8], p: usize) -> bool {
    match p.checked_sub(1).map(|q| buf[q]) {
        Some(b';' | 0x80..=0xbf) => matches!(
            read_back(buf, p.saturating_sub(HISTORY), p),
            Some((Unit::Digit(_) | Unit::Char(b'*'), s)) if p - s > 1
        ),
        _ => false,
    }
}

/// How far back an encoded unit covering a digit may start: the longest
/// percent-encoded character (`%F0%9F%98%80`) or reference less one byte.
const UNIT_BACK: usize = 11;

/// Appends the digits of `raw` (a match in any form): its normal form.
pub(crate) fn normalize_digits(raw: &[u8], out: &mut Vec<u8>) {
    each(raw, |u, _, _| {
        if let Unit::Digit(d) = u {
            out.push(d);
        }
    });
}

/// Appends the letters and digits of `raw`, capitals (an IBAN's normal
/// form).
pub(crate) fn normalize_alnum(raw: &[u8], out: &mut Vec<u8>) {
    each(raw, |u, _, _| match u {
        Unit::Digit(d) => out.push(d),
        Unit::Char(c) if c.is_ascii_alphanumeric() => out.push(c.to_ascii_uppercase()),
        _ => {}
    });
}

/// Overwrites one unit's raw bytes with the mask character `*` in the same
/// form and length: `&#52;` becomes `&#42;`, `&#x34;` `&#x2A;`, `\u0034`
/// `\u002a`, `%34` `%2A`, a fullwidth digit a fullwidth asterisk, a plain
/// byte `*`. The document stays valid and the body keeps its length.
pub(crate) fn mask_unit(w: &mut [u8]) {
    let n = w.len();
    let lower = w.iter().any(|b| matches!(b, b'a'..=b'f'));
    let hex_star: &[u8] = if lower { b"2a" } else { b"2A" };
    let fill = |d: &mut [u8], tail: &[u8]| {
        let k = d.len() - tail.len();
        d[..k].fill(b'0');
        d[k..].copy_from_slice(tail);
    };
    enum Form {
        One,
        Hex,
        Dec,
        Json,
        Pct,
        Pct3,
        Wide,
        Other,
    }
    let form = match *w {
        [_] => Form::One,
        [b'&', b'#', b'x' | b'X', .., b';'] if n >= 6 => Form::Hex,
        [b'&', b'#', .., b';'] if n >= 5 => Form::Dec,
        [b'\\', b'u', ..] if n == 6 => Form::Json,
        [b'%', ..] if n == 3 => Form::Pct,
        [b'%', ..] if n == 9 => Form::Pct3,
        [0xef, 0xbc, _] => Form::Wide,
        _ => Form::Other,
    };
    match form {
        Form::One => w[0] = b'*',
        Form::Hex => fill(&mut w[3..n - 1], hex_star),
        Form::Dec => fill(&mut w[2..n - 1], b"42"),
        Form::Json => fill(&mut w[2..], hex_star),
        Form::Pct => w[1..].copy_from_slice(b"2A"),
        Form::Pct3 => w.copy_from_slice(b"%EF%BC%8A"),
        Form::Wide => w[2] = 0x8a,
        Form::Other => w.iter_mut().filter(|b| b.is_ascii_alphanumeric()).for_each(|b| *b = b'*'),
    }
}

/// Masks, in `w` (a match in any form), the units `class` accepts from the
/// `from`-th of them (counted from 0) up to, not including, the `to`-th.
pub(crate) fn mask_units(w: &mut [u8], class: fn(Unit) -> bool, from: usize, to: usize) {
    let mut spans = [(0usize, 0usize); 64];
    let mut n = 0;
    let mut k = 0;
    each(w, |u, s, e| {
        if class(u) {
            if k >= from && k < to && n < spans.len() {
                spans[n] = (s, e);
                n += 1;
            }
            k += 1;
        }
    });
    for &(s, e) in &spans[..n] {
        mask_unit(&mut w[s..e]);
    }
}

/// Counts the units of `raw` that `class` accepts.
pub(crate) fn count(raw: &[u8], class: fn(Unit) -> bool) -> usize {
    let mut k = 0;
    each(raw, |u, _, _| k += usize::from(class(u)));
    k
}

pub(crate) fn is_digit(u: Unit) -> bool {
    matches!(u, Unit::Digit(_))
}

pub(crate) fn is_alnum(u: Unit) -> bool {
    matches!(u, Unit::Digit(_)) || matches!(u, Unit::Char(c) if c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::super::classes::is_word;
    use super::*;

    /// The cluster walk, eight bytes at a time, ends where walking byte by
    /// byte through [`BYTE`] does: from every start and every place inside
    /// the cluster, with and without capitals, near the end of the buffer
    /// too.
    #[test]
    fn cluster_end_equals_the_bytewise_walk() {
        let pieces: &[&[u8]] = &[
            b"4111",
            b"GB33",
            b"0",
            b" ",
            b"-",
            b".",
            b"/",
            b"_",
            b"(",
            b")",
            b"a",
            b"<b>",
            b"&#52;",
            b"\xc2\xa0",
            b"Z9",
            b"12345678901",
            b"ABCDEFGHJ",
        ];
        let mut next = crate::detect::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..2000 {
            let mut buf = Vec::new();
            let len = 8 + next() as usize % 90;
            while buf.len() < len {
                buf.extend_from_slice(pieces[next() as usize % pieces.len()]);
            }
            for i in 0..buf.len() {
                for from in i..=(i + CLUSTER).min(buf.len() + 2) {
                    for alpha in [false, true] {
                        let end = buf.len().min(i + CLUSTER);
                        let member = if alpha { CLUSTER_BYTE | CAPITAL } else { CLUSTER_BYTE };
                        let want = match buf.get(from..end) {
                            Some(rest) => {
                                from + rest
                                    .iter()
                                    .take_while(|&&b| BYTE[usize::from(b)] & member != 0)
                                    .count()
                            }
                            None => from,
                        };
                        assert_eq!(cluster_end(&buf, i, from, alpha), want, "{buf:?} {i} {from}");
                    }
                }
            }
        }
    }

    #[test]
    fn units_table() {
        use Unit::*;
        let cases: &[(&str, Option<(Unit, usize)>)] = &[
            ("4", Some((Digit(b'4'), 1))),
            ("&#52;", Some((Digit(b'4'), 5))),
            ("&#x34;", Some((Digit(b'4'), 6))),
            ("&#X34;", Some((Digit(b'4'), 6))),
            ("&#0052;", Some((Digit(b'4'), 7))),
            ("&nbsp;", Some((Sep(b' '), 6))),
            ("&NBSP;", Some((Sep(b' '), 6))),
            ("&thinsp;", Some((Sep(b' '), 8))),
            ("&ensp;", Some((Sep(b' '), 6))),
            ("&emsp;", Some((Sep(b' '), 6))),
            ("&#8209;", Some((Sep(b'-'), 7))),
            ("&#160;", Some((Sep(b' '), 6))),
            ("&#32;", Some((Sep(b' '), 5))),
            ("&#45;", Some((Sep(b'-'), 5))),
            ("&#xA0;", Some((Sep(b' '), 6))),
            ("&#xa0;", Some((Sep(b' '), 6))),
            ("&#x2D;", Some((Sep(b'-'), 6))),
            ("&#65300;", Some((Digit(b'4'), 8))),
            ("&amp;", Some((Char(b'&'), 1))),
            ("&#52", Some((Char(b'&'), 1))),
            ("&#99999999;", Some((Char(b'&'), 1))),
            ("\\u0034", Some((Digit(b'4'), 6))),
            ("\\u00a0", Some((Sep(b' '), 6))),
            ("\\u00A0", Some((Sep(b' '), 6))),
            ("\\u0020", Some((Sep(b' '), 6))),
            ("\\u002d", Some((Sep(b'-'), 6))),
            ("\\n", Some((Char(b'\\'), 1))),
            ("\\\\u0034", Some((Char(b'\\'), 2))),
            ("%20", Some((Sep(b' '), 3))),
            ("%2D", Some((Sep(b'-'), 3))),
            ("%2d", Some((Sep(b'-'), 3))),
            ("%34", Some((Digit(b'4'), 3))),
            ("%C2%A0", Some((Sep(b' '), 6))),
            ("%E2%80%89", Some((Sep(b' '), 9))),
            ("%zz", Some((Char(b'%'), 1))),
            ("\u{a0}", Some((Sep(b' '), 2))),
            ("\u{2007}", Some((Sep(b' '), 3))),
            ("\u{202f}", Some((Sep(b' '), 3))),
            ("\u{2009}", Some((Sep(b' '), 3))),
            ("\u{2011}", Some((Sep(b'-'), 3))),
            ("\u{2013}", Some((Sep(b'-'), 3))),
            ("\u{ff14}", Some((Digit(b'4'), 3))),
            ("\u{e9}", Some((Char(0x80), 2))),
            ("<span>", Some((Tag, 6))),
            ("</span>", Some((Tag, 7))),
            ("<SPAN class=\"n\">", Some((Tag, 16))),
            ("<b>", Some((Tag, 3))),
            ("<span class=\"mr-1 w-64\">", Some((Tag, 24))),
            ("<span class=\"text-gray-500\">", Some((Tag, 28))),
            ("<s title=\"822-43-8021\">", Some((Char(b'<'), 1))),
            ("<span data-n=\"1234\">", Some((Char(b'<'), 1))),
            ("<s\nAKIA0HQA1HJ55Q2A0HQA>", Some((Char(b'<'), 1))),
            ("<s -----BEGIN PRIVATE KEY----->", Some((Char(b'<'), 1))),
            ("<td>", Some((Char(b'<'), 1))),
            ("<br>", Some((Char(b'<'), 1))),
            ("<spanner>", Some((Char(b'<'), 1))),
            ("", None),
        ];
        for &(s, want) in cases {
            assert_eq!(read(s.as_bytes(), 0, true), Ok(want), "{s:?}");
        }
        let long = format!("<span title=\"{}\">", "x".repeat(MAX_TAG));
        assert_eq!(read(long.as_bytes(), 0, true), Ok(Some((Char(b'<'), 1))));
    }

    /// Every proper prefix of an encoded unit needs more bytes; the whole
    /// unit is read the same with or without bytes after it.
    #[test]
    fn a_cut_unit_asks_for_more() {
        for s in ["&#52;", "&nbsp;", "&#x2D;", "\\u00a0", "%20", "%C2%A0", "\u{ff14}", "<span>"] {
            let b = s.as_bytes();
            for cut in 1..b.len() {
                assert_eq!(read(&b[..cut], 0, false), Err(More), "{s:?} cut at {cut}");
            }
            let more = [b, b"1".as_slice()].concat();
            assert_eq!(read(b, 0, true), read(&more, 0, false), "{s:?}");
        }
    }

    #[test]
    fn window_normalizes_and_maps_back() {
        let s = "ssn x <span>4111</span>&nbsp;\\u0031111%201111\u{a0}&#49;111+2 end";
        let p = s.find('4').unwrap();
        let w = Window::read(s.as_bytes(), p, true);
        assert_eq!(&w.bytes()[..w.at], b"ssn x ");
        assert_eq!(&w.bytes()[w.at..], b"4111 1111 1111 1111 2 end");
        // 19 normalized bytes end just after the `&#49;111`.
        let raw = &s[p..p + w.raw_len(19)];
        assert!(raw.ends_with("&#49;111"), "{raw}");
        // A `+` between digits is a space; at the start it stays.
        let w = Window::read(b"4111+1111", 0, true);
        assert_eq!(w.bytes(), b"4111 1111");
        let w = Window::read(b"GB82+WEST+1234 (415)+555 a+ b", 0, true);
        assert_eq!(w.bytes(), b"GB82 WEST 1234 (415) 555 a+ b");
        let w = Window::read(b"+1&nbsp;415", 0, true);
        assert_eq!(w.bytes(), b"+1 415");
        // A `+` at the end of a chunk waits for what follows it.
        let w = Window::read(b"4111+", 0, false);
        assert_eq!((w.bytes(), w.eof), (&b"4111"[..], false));
        // Left context through references and tags.
        let s = b"1234&nbsp;<b>4111";
        let w = Window::read(s, 13, true);
        assert_eq!(w.bytes(), b"1234 4111");
        // Apart: a tag between two letters or digits is a boundary; next
        // to a separator it is nothing.
        let s = b"8021</span>4111";
        let w = Window::read_with(s, 11, true, true);
        assert_eq!((w.bytes(), w.at), (&b"8021\x804111"[..], 5));
        let s = b"GB82 <b>WEST</b> 1234 32<span>4111";
        let w = Window::read_with(s, 0, true, true);
        assert_eq!(w.bytes(), b"GB82 WEST 1234 32\x804111");
        assert_eq!(&s[..w.raw_len(17)], b"GB82 <b>WEST</b> 1234 32");
        let w = Window::read_with(s, 0, true, false);
        assert_eq!(w.bytes(), b"GB82 WEST 1234 324111");
        // A window cut by the end of a chunk is not at its end.
        let w = Window::read(b"4111&nb", 0, false);
        assert!(!w.eof);
        assert_eq!(w.bytes(), b"4111");
    }

    #[test]
    fn masks_keep_form_and_length() {
        let cases: &[(&str, &str)] = &[
            ("4", "*"),
            ("&#52;", "&#42;"),
            ("&#0052;", "&#0042;"),
            ("&#x34;", "&#x2A;"),
            ("&#xff14;", "&#x002a;"),
            ("\\u0034", "\\u002A"),
            ("\\uff14", "\\u002a"),
            ("%34", "%2A"),
            ("\u{ff14}", "\u{ff0a}"),
        ];
        for &(raw, want) in cases {
            let mut w = raw.as_bytes().to_vec();
            mask_unit(&mut w);
            assert_eq!(String::from_utf8(w).unwrap(), want, "{raw}");
        }
        let mut w = b"&#52;&#49;&nbsp;<b>1</b>2".to_vec();
        mask_units(&mut w, is_digit, 0, 3);
        assert_eq!(&w, b"&#42;&#42;&nbsp;<b>*</b>2");
        let mut out = Vec::new();
        normalize_digits(b"&#52;&#49;&nbsp;<b>1</b>2\\u0033%34\xef\xbc\x95", &mut out);
        assert_eq!(out, b"4112345");
    }

    /// The byte checks in front of the reads answer as the reads would:
    /// `encoded_digit_at` as reading the unit, `digits_ahead` as reading
    /// every unit (its definition, written out here), for every prefix of
    /// bodies made of the units they look at.
    #[test]
    fn digits_inside_a_unit() {
        let cases: &[(&str, usize, bool)] = &[
            ("%38", 1, true),
            ("%38", 2, true),
            ("a%387", 4, false),
            ("&#52;1", 2, true),
            ("&#52;1", 5, false),
            ("\\u0034", 5, true),
            ("x 4111", 2, false),
            ("100% 4111", 5, false),
        ];
        for &(s, p, want) in cases {
            assert_eq!(inside_unit(s.as_bytes(), p, true), Ok(want), "{s} at {p}");
        }
        assert_eq!(inside_unit(b"%3", 1, false), Err(More));
    }

    #[test]
    fn byte_checks_answer_as_the_reads() {
        let pieces: &[&[u8]] = &[
            b"4",
            b"1",
            b" ",
            b"-",
            b".",
            b"/",
            b"_",
            b"(",
            b")",
            b"+",
            b",",
            b"a",
            b"&nbsp;",
            b"&#52;",
            b"&#x34;",
            b"&#39;",
            b"&#60;",
            b"&#48;",
            b"&#57;",
            b"&#0052;",
            b"&#65300;",
            b"&#65305;",
            b"&amp;",
            b"\\u0034",
            b"\\uff14",
            b"\\u00e9",
            b"\\n",
            b"%34",
            b"%3A",
            b"%EF%BC%94",
            b"%E2%80%89",
            b"%ef%bc%90",
            b"%2",
            b"</td>",
            b"<span>",
            b"</b>",
            b"</span>,",
            b"</a>)",
            b"<b title=x>",
            "\u{a0}".as_bytes(),
            "\u{ff14}".as_bytes(),
            "\u{ff0a}".as_bytes(),
            "\u{e9}".as_bytes(),
        ];
        let reference = |buf: &[u8], i: usize, eof: bool| {
            digits_ahead_from::<false>(buf, i, i, 0, eof, MIN_DIGITS, None)
        };
        let mut next = crate::detect::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..2000 {
            let mut buf = Vec::new();
            for _ in 0..12 {
                buf.extend_from_slice(pieces[next() as usize % pieces.len()]);
            }
            for cut in 1..=buf.len() {
                let part = &buf[..cut];
                for eof in [false, true] {
                    for i in 0..cut {
                        let starts = matches!(part[i], b'&' | b'\\' | b'%' | 0xef);
                        let digit = |buf: &[u8], eof| match read(buf, i, eof) {
                            Err(More) => None,
                            Ok(u) => Some(starts && matches!(u, Some((Unit::Digit(_), 2..)))),
                        };
                        let at = String::from_utf8_lossy(part);
                        let got = encoded_digit_at(part, i, eof);
                        // Where the read is decided, the same answer; where it
                        // waits for more, a `false` only when no bytes to come
                        // make a digit (here: the rest of this body).
                        match digit(part, eof) {
                            Some(d) => assert_eq!(got, d, "{at:?} at {i}"),
                            None => {
                                assert!(got || digit(&buf, true) == Some(false), "{at:?} at {i}")
                            }
                        }
                        let want = reference(part, i, eof);
                        assert_eq!(digits_ahead(part, i, eof, MIN_DIGITS), want, "{at:?} at {i}");
                        // The gate that reads the cluster's last unit once.
                        let mut from = i;
                        while from < cut && from < i + 6 && part[from].is_ascii_digit() {
                            from += 1;
                        }
                        for need in [MIN_PHONE_DIGITS, MIN_DIGITS] {
                            assert_eq!(
                                encoded_cluster_holds(part, i, from, eof, need),
                                cluster_ends_encoded_from(part, i, from, eof, false)
                                    && digits_ahead(part, i, eof, need),
                                "{at:?} at {i} from {from}"
                            );
                        }
                        // The scanner's check for a digit after no word's byte.
                        if part[i].is_ascii_digit() && (i == 0 || !is_word(part[i - 1])) {
                            assert_eq!(
                                digit_inside_unit(part, i, eof),
                                inside_unit(part, i, eof),
                                "{at:?} at {i}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn gates() {
        let t = |s: &str| cluster_ends_encoded(s.as_bytes(), 0, true, false);
        assert!(t("4111&nbsp;1111"));
        assert!(t("4111 1111&#45;1111"));
        assert!(t("4111</span> <span>1111"));
        assert!(t("4111+1111"));
        assert!(t("4111\u{a0}1111"));
        assert!(!t("4111</td><td>1111"));
        assert!(!t("2024&amp;x"));
        assert!(!t("4111 1111 1111 1111"));
        assert!(cluster_ends_encoded(b"4111&nb", 0, false, false));
        assert!(cluster_ends_encoded(b"GB82 WEST&nbsp;1234", 0, true, true));
        assert!(!cluster_ends_encoded(b"GB82 WEST&nbsp;1234", 0, true, false));
        assert!(encoded_digit_at(b"&#52;", 0, true));
        assert!(encoded_digit_at("\u{ff14}".as_bytes(), 0, true));
        assert!(!encoded_digit_at(b"&nbsp;", 0, true));
        assert!(!encoded_digit_at(b"&amp;", 0, true));
        assert!(encoded_digit_at(b"&#5", 0, false));
        assert!(encoded_digit_at(b"&", 0, false));
        assert!(!encoded_digit_at(b"&", 0, true));
        for (s, want) in [
            ("&#39;", false),
            ("&#x34;", true),
            ("\\u00e9", false),
            ("\\uFF14", true),
            ("%3A", false),
            ("%34", true),
            ("%E2%80%89", false),
            ("%EF%BC%94", true),
            ("\u{ff0a}", false),
        ] {
            assert_eq!(encoded_digit_at(s.as_bytes(), 0, true), want, "{s}");
        }
        let d = |s: &str| digits_ahead(s.as_bytes(), 0, true, MIN_DIGITS);
        assert!(d("4111&nbsp;1111&nbsp;1111"));
        assert!(d("822&#45;43&#45;8021"));
        assert!(d("<b>1</b>2 3 4 5 6 7 8 9"));
        assert!(!d("1</span>, 2"));
        assert!(!d("4111&nbsp;1111 and"));
        assert!(digits_ahead(b"4111&nbsp;1111&nb", 0, false, MIN_DIGITS));
    }
}
