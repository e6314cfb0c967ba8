//! Path templates: a request path with every segment that identifies a
//! record or holds a value folded into a placeholder (`/users/{id}/cards/
//! {card}`), so that one endpoint is one line in the inventory.
//!
//! It must never return a raw segment that holds a detected value: every
//! segment goes through the engine (percent-decoded first), and what the
//! engine finds there becomes `{kind}`.

use std::sync::Arc;

use crate::detect::{ContentHint, Engine};

/// Template of paths past a route's template limit.
pub const OTHER: &str = "{other}";

/// Longest segment kept as it is; longer ones become `{long}`.
const MAX_SEGMENT: usize = 64;

/// Classifies one path segment or key: `None` keeps it as it is, `Some`
/// is its placeholder (without braces).
pub fn classify(engine: &Arc<Engine>, raw: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let s: &str = &decoded;
    if s.is_empty() {
        return None;
    }
    // The engine first: a card number is all digits, but `{card}` says more
    // than `{id}`.
    let (_, findings) = engine.scan_all(s.as_bytes(), ContentHint::Text);
    if let Some(f) = findings.first() {
        return Some(engine.kind_name(f.kind).to_string());
    }
    let b = s.as_bytes();
    if b.iter().all(u8::is_ascii_digit) {
        return Some("id".into());
    }
    if is_uuid(b) {
        return Some("uuid".into());
    }
    if b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit) {
        return Some("hex".into());
    }
    if is_token(b) {
        return Some("token".into());
    }
    if b.len() > MAX_SEGMENT {
        return Some("long".into());
    }
    // Anything not printable ASCII would be shown escaped and may be an
    // encoded value: not kept.
    if !b.iter().all(|c| c.is_ascii_graphic()) {
        return Some("text".into());
    }
    None
}

/// The segment as it is kept: itself, or `{placeholder}`.
pub fn segment(engine: &Arc<Engine>, raw: &str) -> String {
    match classify(engine, raw) {
        Some(p) => format!("{{{p}}}"),
        None => raw.to_string(),
    }
}

/// `text` itself, or the placeholder of the first kind the engine finds in
/// it (for origins and other text kept whole).
pub fn checked(engine: &Arc<Engine>, text: &str) -> String {
    let (_, findings) = engine.scan_all(text.as_bytes(), ContentHint::Text);
    match findings.first() {
        Some(f) => format!("{{{}}}", engine.kind_name(f.kind)),
        None => text.to_string(),
    }
}

/// The template of a request path (query already removed).
pub fn template(engine: &Arc<Engine>, path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() || path == "/" {
        return "/".into();
    }
    let mut out = String::with_capacity(path.len());
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&segment(engine, seg));
    }
    out
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A base64 or base64url token: 20 characters or more of its alphabet,
/// with both letters and digits (a long word is not a token).
fn is_token(b: &[u8]) -> bool {
    let body = b.strip_suffix(b"==").or_else(|| b.strip_suffix(b"=")).unwrap_or(b);
    body.len() >= 20
        && body.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_'))
        && body.iter().any(u8::is_ascii_digit)
        && body.iter().any(u8::is_ascii_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::tests_support::engine;

    #[test]
    fn segments_fold_into_placeholders() {
        let e = engine();
        let cases = [
            ("/", "/"),
            ("", "/"),
            ("/api/customers", "/api/customers"),
            ("/api/customers/42", "/api/customers/{id}"),
            ("/api/customers/42/", "/api/customers/{id}/"),
            ("/o/123e4567-e89b-12d3-a456-426614174000", "/o/{uuid}"),
            ("/blob/deadbeefdeadbeefdeadbeef", "/blob/{hex}"),
            ("/s/aGVsbG8gd29ybGQgaGVsbG8x", "/s/{token}"),
            ("/u/jane.doe@example.com/profile", "/u/{email}/profile"),
            ("/u/jane.doe%40example.com", "/u/{email}"),
            ("/cards/4111111111111111", "/cards/{card}"),
            ("/search?q=4111111111111111", "/search"),
            ("/docs/getting-started", "/docs/getting-started"),
            ("/caf%C3%A9", "/{text}"),
        ];
        for (path, want) in cases {
            assert_eq!(template(&e, path), want, "{path}");
        }
        let long = format!("/{}", "x".repeat(65));
        assert_eq!(template(&e, &long), "/{long}");
    }

    #[test]
    fn checked_text_keeps_only_clean_text() {
        let e = engine();
        assert_eq!(checked(&e, "https://cdn.example.com"), "https://cdn.example.com");
        assert_eq!(checked(&e, "https://4111111111111111.example.com"), "{card}");
    }

    #[test]
    fn no_detected_value_survives() {
        let e = engine();
        for p in ["/x/4111-1111-1111-1111", "/x/4111%201111%201111%201111", "/a/b@c.io"] {
            let t = template(&e, p);
            let (_, f) = e.scan_all(t.as_bytes(), ContentHint::Text);
            assert!(f.is_empty(), "{p} -> {t}");
            assert!(!t.contains("1111") && !t.contains("b@c"), "{t}");
        }
    }
}
