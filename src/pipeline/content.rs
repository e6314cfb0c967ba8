//! Media types: parsing a `Content-Type` into its essence and matching it
//! against configured patterns (`text/*`, `application/*+json`, ...).
//!
//! Pure string handling; it never looks at a body.

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

/// A `type/subtype` essence, lowercased, parameters dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub top: String,
    pub sub: String,
}

impl MediaType {
    /// Parses a `Content-Type` value. `None` when it has no `type/subtype`.
    pub fn parse(value: &str) -> Option<MediaType> {
        let essence = value.split(';').next().unwrap_or("").trim();
        let (top, sub) = essence.split_once('/')?;
        let (top, sub) = (top.trim(), sub.trim());
        if top.is_empty() || sub.is_empty() || sub.contains('/') {
            return None;
        }
        Some(MediaType { top: top.to_ascii_lowercase(), sub: sub.to_ascii_lowercase() })
    }

    /// What the engine should assume about documents of this type.
    pub fn hint(&self) -> ContentHint {
        if self.sub == "json" || self.sub.ends_with("+json") || self.sub == "x-ndjson" {
            ContentHint::Json
        } else if self.top == "text" && self.sub == "html" {
            ContentHint::Html
        } else {
            ContentHint::Text
        }
    }
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

    pub fn matches(&self, mt: &MediaType) -> bool {
        if let Some(top) = &self.top {
            if *top != mt.top {
                return false;
            }
        }
        match &self.sub {
            SubPattern::Any => true,
            SubPattern::Exact(s) => *s == mt.sub,
            SubPattern::Suffix(s) => mt.sub.ends_with(s.as_str()),
        }
    }
}

/// True when any pattern matches.
pub fn any_match(patterns: &[MediaPattern], mt: &MediaType) -> bool {
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
