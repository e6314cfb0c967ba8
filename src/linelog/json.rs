//! JSON pieces of a log line, written byte for byte as `serde_json` writes
//! them, without serde's machinery: the access log writes a line per
//! request and the audit log one per response with findings, and through
//! serde each cost thousands of instructions (a per-byte escape loop over
//! every key and value, `Display` for addresses). Callers unit-test their
//! whole line against `serde_json::to_vec` of the same record.
//!
//! It never decides what goes in a line: masking is the callers' job.

use std::collections::BTreeMap;
use std::net::SocketAddr;

/// `bytes` as a string of lowercase hex digits, which need no escaping
/// (fingerprints and client keys: no `String` each).
pub fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    out.resize(start + 2 * bytes.len(), 0);
    ::hex::encode_to_slice(bytes, &mut out[start..]).expect("room for two digits a byte");
    out.push(b'"');
}

/// A string, quoted and escaped as serde_json escapes: `"` and `\`,
/// the short forms of backspace, tab, newline, form feed and carriage
/// return, `\u00xx` for the other control bytes; everything else
/// (non-ASCII included) as it is.
pub fn string(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    if !needs_escape(b) {
        // The usual case (paths, names, addresses): one copy.
        out.extend_from_slice(b);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c >= 0x20 && c != b'"' && c != b'\\' {
            continue;
        }
        out.extend_from_slice(&b[start..i]);
        start = i + 1;
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// Whether any byte of `b` needs escaping, eight bytes at a time (the
/// last few padded with a space).
pub fn needs_escape(b: &[u8]) -> bool {
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        if any_escaped(u64::from_le_bytes(w.try_into().expect("eight bytes"))) {
            return true;
        }
    }
    let rest = words.remainder();
    if rest.is_empty() {
        return false;
    }
    let mut last = [b' '; 8];
    last[..rest.len()].copy_from_slice(rest);
    any_escaped(u64::from_le_bytes(last))
}

/// Whether any of the eight bytes of `w` is a control byte, `"` or
/// `\` (the classic "has a byte less than n" and "has a zero byte"
/// tests: exact about whether one exists, which is all that is asked).
pub fn any_escaped(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    (control | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\')))) != 0
}

pub fn uint(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// A float through serde_json itself (its shortest round-trip form;
/// `null` when not finite): one number, not worth re-implementing.
pub fn float(out: &mut Vec<u8>, x: f64) {
    if serde_json::to_writer(&mut *out, &x).is_err() {
        out.extend_from_slice(b"null");
    }
}

pub fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

pub fn opt<T>(out: &mut Vec<u8>, v: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
    match v {
        Some(v) => write(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// An address as serde writes it (its `Display`, as a string); IPv4
/// by hand.
pub fn socket_addr(out: &mut Vec<u8>, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(a) => {
            out.push(b'"');
            for (i, octet) in a.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                uint(out, u64::from(octet));
            }
            out.push(b':');
            uint(out, u64::from(a.port()));
            out.push(b'"');
        }
        SocketAddr::V6(a) => string(out, &a.to_string()),
    }
}

/// A map as serde writes a `BTreeMap` with string keys: an object in the
/// map's order.
pub fn object<K: AsRef<str>, V>(
    out: &mut Vec<u8>,
    map: &BTreeMap<K, V>,
    mut value: impl FnMut(&mut Vec<u8>, &V),
) {
    out.push(b'{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, k.as_ref());
        out.push(b':');
        value(out, v);
    }
    out.push(b'}');
}

/// An object being written, field by field, in the order serde writes a
/// struct's fields. Keys are the callers' own field names (plain ASCII,
/// written as they are); values go through the functions above.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, first: true }
    }

    /// Writes `"key":` (after a comma but for the first field) and hands
    /// back the line for the value.
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !std::mem::replace(&mut self.first, false) {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub fn string(&mut self, key: &str, v: &str) {
        string(self.key(key), v);
    }

    pub fn uint(&mut self, key: &str, v: u64) {
        uint(self.key(key), v);
    }

    pub fn float(&mut self, key: &str, v: f64) {
        float(self.key(key), v);
    }

    pub fn boolean(&mut self, key: &str, v: bool) {
        boolean(self.key(key), v);
    }

    /// A string, or `null` (an `Option` serde does not skip).
    pub fn opt_string(&mut self, key: &str, v: Option<&str>) {
        opt(self.key(key), v, string);
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_test_finds_every_escaped_byte() {
        let escaped = |c: u8| c < 0x20 || c == b'"' || c == b'\\';
        for c in 0..=255u8 {
            for at in 0..8 {
                for fill in [b'a', b'~', 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']'] {
                    let mut w = [fill; 8];
                    w[at] = c;
                    let want = w.iter().any(|&b| escaped(b));
                    assert_eq!(any_escaped(u64::from_le_bytes(w)), want, "{w:?}");
                }
            }
        }
        // Whole texts of every length up to 17, the byte at every place.
        for len in 1..=17usize {
            for at in 0..len {
                for c in [0u8, 0x1f, b'"', b'\\', b' ', b'a', 0x7f, 0xc3] {
                    let mut t = vec![b'x'; len];
                    t[at] = c;
                    assert_eq!(needs_escape(&t), escaped(c), "{t:?}");
                }
            }
        }
        assert!(!needs_escape(b""));
    }
}
