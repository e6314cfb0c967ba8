//! Path templates: a request path with every segment that identifies a
//! record or holds a value folded into a placeholder (`/users/{id}/cards/
//! {card}`), so that one endpoint is one line in the inventory.
//!
//! It must never return a raw segment that holds a detected value: every
//! segment goes through the engine (percent-decoded first), and what the
//! engine finds there becomes `{kind}`.

use std::sync::Arc;

use siphasher::sip128::{Hasher128, SipHasher13};

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
    fold(path, |seg, out| out.push_str(&segment(engine, seg)))
}

/// `path` without its query or fragment, `/` between segments, each
/// segment written by `seg`.
fn fold(path: &str, mut seg: impl FnMut(&str, &mut String)) -> String {
    // A byte search (splitting on a set of chars decodes every char); an
    // ASCII byte is a char boundary.
    let end = path.bytes().position(|b| b == b'?' || b == b'#');
    let path = end.map_or(path, |end| &path[..end]);
    if path.is_empty() || path == "/" {
        return "/".into();
    }
    let mut out = String::with_capacity(path.len());
    for (i, s) in segments(path).enumerate() {
        if i > 0 {
            out.push('/');
        }
        seg(s, &mut out);
    }
    out
}

/// `path.split('/')`, by a byte search: the char searcher behind `split`
/// costs more than the search itself on segments this short (and both
/// run on every response: here and in the sampler's key).
pub(crate) fn segments(path: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(path);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(|b| b == b'/') {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// One remembered decision and the engine it was made with.
type Entry = (std::sync::Weak<Engine>, Option<Box<str>>);

/// Independent maps (and locks) of a [`SegmentCache`].
const CACHE_SHARDS: usize = 16;
/// Decisions remembered per shard (4096 in all).
pub const CACHE_PER_SHARD: usize = 256;

/// Remembered [`classify`] decisions for the path segments of a route, so
/// that a segment seen again (`api`, `customers`, `v2`: most of them) does
/// not go through the engine once per request. Keyed by a keyed 128-bit
/// hash of the route, the engine (a reload's new engine starts afresh) and
/// the segment: it never keeps a raw segment, and a segment that holds a
/// value is only ever kept as its placeholder. Each entry holds a `Weak`
/// of its engine, so the engine's address (part of the key) cannot be
/// reused by another engine while the entry lives. Bounded: a full shard is
/// cleared (its segments are classified once more).
pub struct SegmentCache {
    shards: Box<[std::sync::Mutex<super::PrehashedMap<u128, Entry>>]>,
    /// The SipHash key (random per cache).
    keys: (u64, u64),
}

/// The keyed hasher of a [`SegmentCache`] key, fed the route and the
/// engine once per path; each segment continues a copy of it.
type KeyBase = SipHasher13;

impl Default for SegmentCache {
    fn default() -> Self {
        SegmentCache {
            shards: (0..CACHE_SHARDS).map(|_| Default::default()).collect(),
            keys: {
                use std::hash::BuildHasher;
                let random = std::collections::hash_map::RandomState::new();
                (random.hash_one(0u8), random.hash_one(1u8))
            },
        }
    }
}

impl SegmentCache {
    /// The hasher of `route`'s keys under `engine`.
    fn key_base(&self, route: &str, engine: &Arc<Engine>) -> KeyBase {
        use std::hash::Hash;
        let mut h = SipHasher13::new_with_keys(self.keys.0, self.keys.1);
        route.hash(&mut h);
        (Arc::as_ptr(engine) as usize).hash(&mut h);
        h
    }

    /// The key of `seg` (a keyed 128-bit hash of the route, the engine and
    /// the segment).
    fn key(base: &KeyBase, seg: &str) -> u128 {
        use std::hash::Hash;
        let mut h = *base;
        seg.hash(&mut h);
        h.finish128().as_u128()
    }

    /// [`segment`], remembered per route.
    fn segment(&self, base: &KeyBase, engine: &Arc<Engine>, raw: &str, out: &mut String) {
        let key = Self::key(base, raw);
        let shard = &self.shards[(key % CACHE_SHARDS as u128) as usize];
        if let Some((_, d)) = lock(shard).get(&key) {
            push_decision(out, d.as_deref(), raw);
            return;
        }
        let d = classify(engine, raw).map(String::into_boxed_str);
        push_decision(out, d.as_deref(), raw);
        let mut map = lock(shard);
        if map.len() >= CACHE_PER_SHARD {
            map.clear();
        }
        map.insert(key, (Arc::downgrade(engine), d));
    }

    /// [`template`], with the decisions of `route`'s segments remembered.
    pub fn template(&self, route: &str, engine: &Arc<Engine>, path: &str) -> String {
        let base = self.key_base(route, engine);
        fold(path, |seg, out| {
            if !seg.is_empty() {
                self.segment(&base, engine, seg, out);
            }
        })
    }

    /// Decisions held (for tests of the bound).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map_or(0, |m| m.len())).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Writes a segment as kept: `{placeholder}`, or the raw segment.
fn push_decision(out: &mut String, placeholder: Option<&str>, raw: &str) {
    match placeholder {
        Some(p) => {
            out.push('{');
            out.push_str(p);
            out.push('}');
        }
        None => out.push_str(raw),
    }
}

/// A shard's map; a panic while it was held leaves a valid map.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
    fn the_cache_gives_the_same_templates_and_stays_bounded() {
        let e = engine();
        let cache = SegmentCache::default();
        let paths = [
            "/",
            "",
            "/api/customers/42",
            "/api/customers/42/",
            "/u/jane.doe%40example.com/profile",
            "/cards/4111111111111111",
            "/search?q=4111111111111111",
            "/caf%C3%A9",
            "//double",
        ];
        for _ in 0..2 {
            for p in paths {
                assert_eq!(cache.template("r", &e, p), template(&e, p), "{p}");
            }
        }
        for i in 0..(CACHE_SHARDS * CACHE_PER_SHARD * 2) {
            cache.template("r", &e, &format!("/x{i}"));
        }
        assert!(cache.len() <= CACHE_SHARDS * CACHE_PER_SHARD);
    }

    #[test]
    fn segments_split_as_split_does() {
        for p in ["", "/", "//", "/a", "a/b/", "/api/caf\u{e9}/42//x/", "no-slash"] {
            assert_eq!(segments(p).collect::<Vec<_>>(), p.split('/').collect::<Vec<_>>(), "{p}");
        }
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
