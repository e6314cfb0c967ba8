//! What a finding becomes in the output: masks, redaction markers and hash
//! tokens.
//!
//! Masks are length-preserving and keep the structure that is not
//! sensitive: separators everywhere; the last four digits of a card (and
//! the first six with `CardMask::First6Last4`); the country code and last
//! four characters of an IBAN; the `@`, the dots and the top-level domain
//! of an email; the well-known prefix of a secret (`ghp_`, `AKIA`...). No
//! rewrite ever introduces `<`, `>`, `&` or a quote, so HTML and JSON stay
//! well-formed; a value written as a bare JSON number is rewritten with
//! digits only (see [`write()`]). A value written with references, escapes,
//! percent-encoding or fullwidth digits is masked unit by unit in its own
//! form and length ([`units::mask_unit`]): `&#52;` becomes `&#42;`.

use super::units;
use super::{Action, CardMask, Kind};

const MASK: u8 = b'*';

/// Appends the length-preserving mask of `raw`.
fn mask(
    out: &mut Vec<u8>,
    kind: Kind,
    raw: &[u8],
    keep_prefix: usize,
    card_mask: CardMask,
    json_number: bool,
) {
    let start = out.len();
    // Copied whole, then the masked bytes overwritten in place: one copy
    // and a plain loop per finding, which dense input pays on every match.
    out.extend_from_slice(raw);
    let written = &mut out[start..];
    match kind {
        Kind::Card | Kind::Ssn | Kind::Phone => {
            let (head, tail) = match (kind, card_mask) {
                (Kind::Card, CardMask::Last4) => (0, 4),
                (Kind::Card, CardMask::First6Last4) => (6, 4),
                _ => (0, 0),
            };
            if units::plain(raw) {
                let total = raw.iter().filter(|b| b.is_ascii_digit()).count();
                mask_class(written, u8::is_ascii_digit, head, total.saturating_sub(tail));
            } else {
                // Written with references, escapes or tags: each digit is
                // masked in its own form (see `units::mask_unit`).
                let total = units::count(raw, units::is_digit);
                units::mask_units(written, units::is_digit, head, total.saturating_sub(tail));
            }
        }
        Kind::Iban if units::plain(raw) => {
            let total = raw.iter().filter(|b| b.is_ascii_alphanumeric()).count();
            mask_class(written, u8::is_ascii_alphanumeric, keep_prefix, total.saturating_sub(4));
        }
        Kind::Iban => {
            let total = units::count(raw, units::is_alnum);
            units::mask_units(written, units::is_alnum, keep_prefix, total.saturating_sub(4));
        }
        Kind::Email => {
            let at = raw.iter().position(|&b| b == b'@').unwrap_or(raw.len());
            let tld = raw.iter().rposition(|&b| b == b'.').filter(|&d| d > at).unwrap_or(raw.len());
            for (i, b) in written.iter_mut().enumerate() {
                let keep = *b == b'@' || (i > at && *b == b'.') || i > tld;
                if !keep {
                    *b = MASK;
                }
            }
        }
        _ => {
            for b in written.iter_mut().skip(keep_prefix) {
                if b.is_ascii_alphanumeric() {
                    *b = MASK;
                }
            }
        }
    }
    if json_number {
        // A JSON number is digits only and cannot start with 0.
        let written = &mut out[start..];
        for (i, b) in written.iter_mut().enumerate() {
            if *b == MASK {
                *b = if i == 0 { b'9' } else { b'0' };
            }
        }
    }
}

/// Masks the bytes of `class` in `w` from the `from`-th of them (counted
/// from 0) up to, not including, the `to`-th; every other byte stays.
fn mask_class(w: &mut [u8], class: fn(&u8) -> bool, from: usize, to: usize) {
    let mut k = 0;
    for b in w.iter_mut() {
        if class(b) {
            if k >= from && k < to {
                *b = MASK;
            }
            k += 1;
        }
    }
}

/// Writes the rewrite of `raw` for `action`; returns the action actually
/// applied (redact and hash fall back to a digits-only mask for a bare JSON
/// number, which they would otherwise turn into invalid JSON). `mac` is the
/// value's MAC, which a `hash` token is made of: the scanner always passes
/// it with that action; without it the value is redacted, never passed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write(
    out: &mut Vec<u8>,
    kind: Kind,
    name: &str,
    raw: &[u8],
    keep_prefix: usize,
    action: Action,
    card_mask: CardMask,
    json_number: bool,
    mac: Option<&[u8; 32]>,
) -> Action {
    match action {
        Action::Detect => {
            out.extend_from_slice(raw);
            Action::Detect
        }
        Action::Mask => {
            mask(out, kind, raw, keep_prefix, card_mask, json_number);
            Action::Mask
        }
        _ if json_number => {
            mask(out, kind, raw, keep_prefix, card_mask, true);
            Action::Mask
        }
        Action::Hash => match mac {
            Some(mac) => {
                token(out, name, mac);
                Action::Hash
            }
            None => {
                redact(out, name);
                Action::Redact
            }
        },
        Action::Redact => {
            redact(out, name);
            Action::Redact
        }
    }
}

/// One of several overlapping findings, already rewritten on its own.
pub(crate) struct Part {
    /// Byte range inside the overlapping span.
    pub start: usize,
    pub end: usize,
    /// The action applied ([`write()`]'s answer).
    pub action: Action,
    /// Its rewrite: as long as its range for a mask or detect, a marker
    /// or token for redact and hash.
    pub text: Vec<u8>,
}

/// How strongly an action rewrites: the stronger one wins on the bytes two
/// findings share.
fn strength(a: Action) -> u8 {
    match a {
        Action::Detect => 0,
        Action::Mask => 1,
        Action::Hash => 2,
        Action::Redact => 3,
    }
}

/// Appends the rewrite of `raw`, a span several findings (`parts`) cover:
/// every byte a mask changes is changed (masks combine), and a run of bytes
/// that redacted or hashed findings cover, overlapping ones merged, is
/// replaced once, by the strongest one's marker or token (the first on a
/// tie). Bytes no finding rewrites stay as they are.
pub(crate) fn overlapping(out: &mut Vec<u8>, raw: &[u8], parts: &mut [Part]) {
    let mut text = raw.to_vec();
    for part in parts.iter().filter(|p| p.action.preserves_length()) {
        let span = &raw[part.start..part.end];
        for ((t, &r), &m) in text[part.start..part.end].iter_mut().zip(span).zip(&part.text) {
            if m != r {
                *t = m;
            }
        }
    }
    parts.sort_by_key(|p| (p.start, p.end));
    let mut at = 0;
    let mut replaced = parts.iter().filter(|p| !p.action.preserves_length()).peekable();
    while let Some(first) = replaced.next() {
        let (mut end, mut best) = (first.end, first);
        while let Some(next) = replaced.next_if(|n| n.start < end) {
            end = end.max(next.end);
            if strength(next.action) > strength(best.action) {
                best = next;
            }
        }
        out.extend_from_slice(&text[at..first.start.max(at)]);
        out.extend_from_slice(&best.text);
        at = end.max(at);
    }
    out.extend_from_slice(&text[at..]);
}

pub(crate) fn redact(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b"[REDACTED:");
    out.extend_from_slice(name.as_bytes());
    out.push(b']');
}

/// `tok_<kind>_<16 hex>`: the first 8 bytes of the value's keyed MAC.
pub(crate) fn token(out: &mut Vec<u8>, name: &str, mac: &[u8; 32]) {
    let mut digits = [0u8; 16];
    hex::encode_to_slice(&mac[..8], &mut digits).expect("8 bytes are 16 hex digits");
    out.extend_from_slice(b"tok_");
    out.extend_from_slice(name.as_bytes());
    out.push(b'_');
    out.extend_from_slice(&digits);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: Kind, raw: &str, keep: usize, cm: CardMask, json: bool) -> String {
        let mut o = Vec::new();
        mask(&mut o, kind, raw.as_bytes(), keep, cm, json);
        assert_eq!(o.len(), raw.len());
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn masks() {
        use CardMask::*;
        let cases: &[(Kind, &str, usize, CardMask, bool, &str)] = &[
            (Kind::Card, "4111 1111 1111 1111", 0, Last4, false, "**** **** **** 1111"),
            (Kind::Card, "4111-1111-1111-1111", 0, First6Last4, false, "4111-11**-****-1111"),
            (Kind::Card, "4111111111111111", 0, Last4, true, "9000000000001111"),
            (Kind::Card, "4111111111111111", 0, First6Last4, true, "4111110000001111"),
            (Kind::Ssn, "822-43-8021", 0, Last4, false, "***-**-****"),
            (Kind::Ssn, "822438021", 0, Last4, true, "900000000"),
            (Kind::Phone, "+1-725-602-3938x943", 0, Last4, false, "+*-***-***-****x***"),
            (
                Kind::Iban,
                "GB82 WEST 1234 5698 7654 32",
                2,
                Last4,
                false,
                "GB** **** **** **** **54 32",
            ),
            (
                Kind::Email,
                "john.doe@mail.example.org",
                0,
                Last4,
                false,
                "********@****.*******.org",
            ),
            (Kind::GithubToken, "ghp_abcDEF123", 4, Last4, false, "ghp_*********"),
            (Kind::SlackToken, "xoxb-123-abc", 5, Last4, false, "xoxb-***-***"),
        ];
        for (k, raw, keep, cm, json, want) in cases {
            assert_eq!(m(*k, raw, *keep, *cm, *json), *want, "{raw}");
        }
    }

    /// Overlapping findings: masks combine, the strongest replacement wins
    /// on a merged run, and bytes no finding rewrites pass.
    #[test]
    fn overlapping_parts() {
        let part = |start, end, action, text: &str| Part {
            start,
            end,
            action,
            text: text.as_bytes().to_vec(),
        };
        let raw = "ab1234cd";
        let cases: Vec<(Vec<Part>, &str)> = vec![
            (vec![part(0, 8, Action::Detect, raw), part(2, 6, Action::Mask, "**34")], "ab**34cd"),
            (
                vec![part(0, 8, Action::Mask, "*b1234c*"), part(2, 6, Action::Mask, "**34")],
                "*b**34c*",
            ),
            (
                vec![part(0, 8, Action::Mask, "********"), part(2, 6, Action::Redact, "[R]")],
                "**[R]**",
            ),
            (vec![part(0, 8, Action::Redact, "[E]"), part(2, 6, Action::Mask, "**34")], "[E]"),
            (vec![part(0, 4, Action::Hash, "<h>"), part(2, 6, Action::Redact, "[R]")], "[R]cd"),
            (
                vec![part(0, 2, Action::Hash, "<h>"), part(6, 8, Action::Redact, "[R]")],
                "<h>1234[R]",
            ),
        ];
        for (mut parts, want) in cases {
            let mut out = Vec::new();
            overlapping(&mut out, raw.as_bytes(), &mut parts);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn redact_and_token() {
        // (action, bare JSON number, mac byte, output, action applied)
        let cases: &[(Action, bool, Option<u8>, &str, Action)] = &[
            (Action::Redact, false, Some(7), "[REDACTED:card]", Action::Redact),
            (Action::Redact, false, None, "[REDACTED:card]", Action::Redact),
            (Action::Hash, false, Some(0xab), "tok_card_abababababababab", Action::Hash),
            // A bare JSON number cannot become a token: digits-only mask
            // (of a whole card, so that the mask shows in the output).
            (Action::Hash, true, Some(0xab), "9000000000001111", Action::Mask),
            // No MAC for a token: redacted, never passed.
            (Action::Hash, false, None, "[REDACTED:card]", Action::Redact),
        ];
        for &(action, json, mac, want, applied) in cases {
            let mut o = Vec::new();
            let got = write(
                &mut o,
                Kind::Card,
                "card",
                b"4111111111111111",
                0,
                action,
                CardMask::Last4,
                json,
                mac.map(|m| [m; 32]).as_ref(),
            );
            assert_eq!(
                (String::from_utf8(o).unwrap().as_str(), got),
                (want, applied),
                "{action:?}"
            );
        }
    }
}
