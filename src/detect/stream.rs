//! A confirmed secret too long to hold back, rewritten as it streams past:
//! a PEM private key's body (several KB) and a JWT longer than
//! [`secrets::MAX_JWT`].
//!
//! Once the scanner has confirmed a PEM header, or a JWT's header beyond
//! that length, the rest is rewritten here byte by byte (nothing held)
//! until the token ends: a PEM body at its END line or the first byte that
//! cannot be part of a PEM body, a JWT at the first byte that is not
//! base64url or a dot. Neither has a length cap: streaming holds nothing,
//! and a cap would let the rest of a confirmed secret through. Never emits
//! a raw byte of a secret whose action rewrites it.

use hmac::Mac;

use super::fingerprint::{self, HmacSha256};
use super::rewrite;
use super::secrets;
use super::units;
use super::view::{More, View};
use super::{Action, Finding, Kind};

/// A PEM body or a long JWT being streamed.
pub(super) struct Stream {
    /// `PrivateKey` or `Jwt`.
    kind: Kind,
    start: u64,
    action: Action,
    mac: HmacSha256,
}

impl Stream {
    /// A stream of `kind` that started at `start`, its MAC already fed the
    /// part the scanner held and rewrote.
    pub(super) fn new(kind: Kind, start: u64, action: Action, mac: HmacSha256) -> Stream {
        Stream { kind, start, action, mac }
    }

    pub(super) fn kind(&self) -> Kind {
        self.kind
    }

    /// Rewrites the token from `pos` of `buf` into `out`: `Ok` with where it
    /// ends, or `Err` with the position to hold at (the next byte has not
    /// arrived, or a PEM END line is being read).
    pub(super) fn body(
        &mut self,
        buf: &[u8],
        pos: usize,
        eof: bool,
        out: &mut Vec<u8>,
    ) -> Result<usize, usize> {
        let v = View { buf, eof };
        if self.kind == Kind::Jwt {
            self.jwt_body(&v, pos, out)
        } else {
            self.pem_body(&v, pos, out)
        }
    }

    /// Ends the token at absolute offset `end`: appends the marker or token
    /// a redacted or hashed one becomes, and returns its finding.
    pub(super) fn close(self, end: u64, out: &mut Vec<u8>) -> Finding {
        let mac = fingerprint::finish(self.mac);
        let name = self.kind.as_str();
        match self.action {
            Action::Redact => rewrite::redact(out, name),
            Action::Hash => rewrite::token(out, name, &mac),
            Action::Mask | Action::Detect => {}
        }
        Finding {
            kind: self.kind,
            start: self.start,
            end,
            brand: None,
            action: self.action,
            fingerprint: Some(fingerprint::fingerprint(&mac)),
        }
    }

    /// Streams the rest of a long JWT. A JWT ends at the first byte that is
    /// neither base64url nor a segment dot (a dot followed by base64url);
    /// there is no cap, so no part of
    /// a confirmed token ever passes unmasked.
    fn jwt_body(&mut self, v: &View, mut pos: usize, out: &mut Vec<u8>) -> Result<usize, usize> {
        let mask = self.action == Action::Mask;
        let pass = matches!(self.action, Action::Mask | Action::Detect);
        loop {
            let b = match v.at(pos) {
                Err(More) => return Err(pos),
                Ok(None) => return Ok(pos),
                Ok(Some(b)) => b,
            };
            if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
                return Ok(pos);
            }
            if b == b'.' {
                // A dot with no segment after it ends a sentence, not the
                // token.
                match v.at(pos + 1) {
                    Err(More) => return Err(pos),
                    Ok(Some(n)) if n.is_ascii_alphanumeric() || matches!(n, b'-' | b'_') => {}
                    Ok(_) => return Ok(pos),
                }
            }
            self.mac.update(&[b]);
            if pass {
                out.push(if mask { jwt_mask(b) } else { b });
            }
            pos += 1;
        }
    }

    /// Streams a PEM body.
    fn pem_body(&mut self, v: &View, mut pos: usize, out: &mut Vec<u8>) -> Result<usize, usize> {
        let mask = self.action == Action::Mask;
        let pass = matches!(self.action, Action::Mask | Action::Detect);
        let close_at = loop {
            let b = match v.at(pos) {
                Err(More) => return Err(pos),
                Ok(None) => break pos,
                Ok(Some(b)) => b,
            };
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {
                    self.mac.update(&[b]);
                    if pass {
                        out.push(if mask { b'*' } else { b });
                    }
                    pos += 1;
                }
                b'\n' | b'\r' | b' ' | b'\t' => {
                    if pass {
                        out.push(b);
                    }
                    pos += 1;
                }
                b'\\' => {
                    // A JSON or C string escape of a line break: keep it
                    // intact so the document stays valid.
                    match v.at(pos + 1) {
                        Err(More) => return Err(pos),
                        Ok(Some(e @ (b'n' | b'r' | b't' | b'/'))) => {
                            if pass {
                                out.extend_from_slice(&[b'\\', e]);
                            }
                            pos += 2;
                        }
                        _ => break pos,
                    }
                }
                b'&' => {
                    // An HTML page writes the line breaks as `&#10;` (or
                    // `&#13;`, `&#xA;`): kept intact, like `\n` above.
                    match units::read(v.buf, pos, v.eof) {
                        Err(More) => return Err(pos),
                        Ok(Some((units::Unit::Char(b'\n' | b'\r'), n))) if n > 1 => {
                            if pass {
                                out.extend_from_slice(&v.buf[pos..pos + n]);
                            }
                            pos += n;
                        }
                        _ => break pos,
                    }
                }
                b'-' => match secrets::pem_end(v, pos) {
                    Err(More) => return Err(pos),
                    Ok(Some(n)) => {
                        self.mac.update(&v.buf[pos..pos + n]);
                        if pass {
                            out.extend_from_slice(&v.buf[pos..pos + n]);
                        }
                        break pos + n;
                    }
                    Ok(None) => break pos,
                },
                _ => break pos,
            }
        };
        Ok(close_at)
    }
}

/// The mask of one JWT byte, as [`rewrite`] masks a held one: letters and
/// digits become `*`, the dots and `-` `_` stay.
pub(super) fn jwt_mask(b: u8) -> u8 {
    if b.is_ascii_alphanumeric() {
        b'*'
    } else {
        b
    }
}
