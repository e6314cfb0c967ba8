//! Media types: parsing a `Content-Type` into its essence and matching it
//! against configured patterns (`text/*`, `application/*+json`, ...).
//!
//! Pure string handling; it never looks at a body. A leaf: policies parse
//! their patterns with it and the pipeline matches responses against them.

use crate::detect::ContentHint;

/// The media types scanned when a policy does not say otherwise.
pub const DEFAULT_SCANNED: &[&str] = &[
    "text/*",
    "application/json",
    "application/*+json",
    "application/xml",
    "application/*+xml",
    "application/javascript",
    "application/x-ndjson",
    "text/event-stream",
    "text/csv",
];

/// Long-lived streaming types that are never held back by the hold window.
pub const DEFAULT_STREAM: &[&str] = &["text/event-stream", "application/x-ndjson"];

/// A `type/subtype` essence, parameters dropped, borrowed from the header
/// value: it is parsed on every response, so it is compared
/// case-insensitively rather than lowercased into new strings.
#[derive(Debug, Clone, Copy)]
pub struct MediaType<'a> {
    pub top: &'a str,
    pub sub: &'a str,
}

impl PartialEq for MediaType<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.top.eq_ignore_ascii_case(other.top) && self.sub.eq_ignore_ascii_case(other.sub)
    }
}

impl Eq for MediaType<'_> {}

impl<'a> MediaType<'a> {
    /// Parses a `Content-Type` value. `None` when it has no `type/subtype`.
    pub fn parse(value: &'a str) -> Option<MediaType<'a>> {
        let essence = value.split(';').next().unwrap_or("").trim();
        let (top, sub) = essence.split_once('/')?;
        let (top, sub) = (top.trim(), sub.trim());
        if top.is_empty() || sub.is_empty() || sub.contains('/') {
            return None;
        }
        Some(MediaType { top, sub })
    }

    /// What the engine should assume about documents of this type.
    pub fn hint(&self) -> ContentHint {
        let sub = self.sub;
        if sub.eq_ignore_ascii_case("json")
            || ends_with_ignore_case(sub, "+json")
            || sub.eq_ignore_ascii_case("x-ndjson")
        {
            ContentHint::Json
        } else if self.top.eq_ignore_ascii_case("text") && sub.eq_ignore_ascii_case("html") {
            ContentHint::Html
        } else {
            ContentHint::Text
        }
    }
}

/// `s` ends with the ASCII `suffix`, ignoring ASCII case (compared as bytes,
/// so a non-ASCII `s` cannot split a character).
fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    let (s, suffix) = (s.as_bytes(), suffix.as_bytes());
    s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SubPattern {
    Any,
    Exact(String),
    /// `*+json` matches every subtype ending in `+json`.
    Suffix(String),
}

/// A configured media-type pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPattern {
    /// `None` for `*`.
    top: Option<String>,
    sub: SubPattern,
}

impl MediaPattern {
    /// Parses `type/subtype`, `type/*`, `type/*+suffix` or `*/*`.
    pub fn parse(s: &str) -> Result<MediaPattern, String> {
        let bad = || {
            format!("invalid media type pattern {s:?} (expected type/subtype, type/*, type/*+suffix or */*)")
        };
        let s = s.trim().to_ascii_lowercase();
        let (top, sub) = s.split_once('/').ok_or_else(bad)?;
        if top.is_empty() || sub.is_empty() || sub.contains('/') || s.contains(';') {
            return Err(bad());
        }
        let top = if top == "*" { None } else { Some(top.to_string()) };
        let sub = if sub == "*" {
            SubPattern::Any
        } else if let Some(suffix) = sub.strip_prefix('*') {
            if !suffix.starts_with('+') || suffix.len() < 2 {
                return Err(bad());
            }
            SubPattern::Suffix(suffix.to_string())
        } else if sub.contains('*') {
            return Err(bad());
        } else {
            SubPattern::Exact(sub.to_string())
        };
        if top.is_none() && sub != SubPattern::Any {
            return Err(bad());
        }
        Ok(MediaPattern { top, sub })
    }

    /// Patterns are stored lowercased; the media type is compared ignoring
    /// ASCII case.
    pub fn matches(&self, mt: &MediaType<'_>) -> bool {
        if let Some(top) = &self.top {
            if !top.eq_ignore_ascii_case(mt.top) {
                return false;
            }
        }
        match &self.sub {
            SubPattern::Any => true,
            SubPattern::Exact(s) => s.eq_ignore_ascii_case(mt.sub),
            SubPattern::Suffix(s) => ends_with_ignore_case(mt.sub, s),
        }
    }
}

/// True when any pattern matches.
pub fn any_match(patterns: &[MediaPattern], mt: &MediaType<'_>) -> bool {
    patterns.iter().any(|p| p.matches(mt))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<MediaPattern> {
        DEFAULT_SCANNED.iter().map(|s| MediaPattern::parse(s).unwrap()).collect()
    }

    #[test]
    fn default_list_classifies_common_types() {
        let pats = defaults();
        let cases = [
            ("text/html; charset=utf-8", true, ContentHint::Html),
            ("TEXT/HTML", true, ContentHint::Html),
            ("Text/Html ; charset=UTF-8", true, ContentHint::Html),
            ("Application/Problem+JSON", true, ContentHint::Json),
            ("APPLICATION/X-NDJSON", true, ContentHint::Json),
            ("Application/Atom+XML", true, ContentHint::Text),
            ("IMAGE/PNG", false, ContentHint::Text),
            ("application/json\u{e9}", false, ContentHint::Text),
            ("text/plain", true, ContentHint::Text),
            ("application/json", true, ContentHint::Json),
            ("application/problem+json; charset=utf-8", true, ContentHint::Json),
            ("application/xml", true, ContentHint::Text),
            ("application/atom+xml", true, ContentHint::Text),
            ("application/javascript", true, ContentHint::Text),
            ("application/x-ndjson", true, ContentHint::Json),
            ("text/event-stream", true, ContentHint::Text),
            ("text/csv", true, ContentHint::Text),
            ("image/png", false, ContentHint::Text),
            ("application/octet-stream", false, ContentHint::Text),
            ("application/jsonx", false, ContentHint::Text),
            ("video/mp4", false, ContentHint::Text),
        ];
        for (value, scanned, hint) in cases {
            let mt = MediaType::parse(value).unwrap();
            assert_eq!(any_match(&pats, &mt), scanned, "{value}");
            if scanned {
                assert_eq!(mt.hint(), hint, "{value}");
            }
        }
    }

    #[test]
    fn essence_is_borrowed_and_compares_ignoring_case() {
        let mt = MediaType::parse(" Text/HTML ;charset=utf-8").unwrap();
        assert_eq!((mt.top, mt.sub), ("Text", "HTML"));
        assert_eq!(mt, MediaType::parse("text/html").unwrap());
        assert_ne!(mt, MediaType::parse("text/plain").unwrap());
        let exact = MediaPattern::parse("Text/Plain").unwrap();
        assert!(exact.matches(&MediaType::parse("TEXT/PLAIN").unwrap()));
        assert!(!exact.matches(&MediaType::parse("text/plainx").unwrap()));
        // A suffix longer than the subtype, and a non-ASCII subtype.
        let suffix = MediaPattern::parse("application/*+json").unwrap();
        assert!(!suffix.matches(&MediaType::parse("application/json").unwrap()));
        assert!(!suffix.matches(&MediaType::parse("application/\u{e9}+jsonx").unwrap()));
        assert!(suffix.matches(&MediaType::parse("application/\u{e9}+JSON").unwrap()));
    }

    #[test]
    fn unparseable_content_types() {
        for v in ["", "json", "/json", "text/", "a/b/c"] {
            assert_eq!(MediaType::parse(v), None, "{v:?}");
        }
    }

    #[test]
    fn pattern_validation() {
        for ok in ["*/*", "text/*", "application/*+json", "application/json"] {
            assert!(MediaPattern::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "text", "*/json", "text/ht*ml", "application/*json", "text/html; q=1"] {
            assert!(MediaPattern::parse(bad).is_err(), "{bad}");
        }
        let any = MediaPattern::parse("*/*").unwrap();
        assert!(any.matches(&MediaType::parse("image/png").unwrap()));
    }
}
