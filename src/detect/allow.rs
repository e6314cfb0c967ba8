//! Allow-lists: exact values (compared in each kind's normalized form) and
//! regexes of values that are never reported. A match on the allow-list
//! passes through unchanged and produces no finding.

use std::collections::HashSet;

use regex::bytes::Regex;

use super::fingerprint::normalize;
use super::{EngineError, Kind};

#[derive(Default)]
pub(crate) struct AllowList {
    /// Normalized values per normalization family (digits, IBAN, lowercase,
    /// raw): see [`family`].
    values: [HashSet<Vec<u8>>; 4],
    patterns: Vec<Regex>,
}

impl std::fmt::Debug for AllowList {
    // The values are configuration, but they look like sensitive data: keep
    // them out of Debug output anyway.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllowList")
            .field("values", &self.values.iter().map(HashSet::len).sum::<usize>())
            .field("patterns", &self.patterns.len())
            .finish()
    }
}

fn family(kind: Kind) -> (usize, Kind) {
    match kind {
        Kind::Card | Kind::Ssn | Kind::Phone => (0, Kind::Card),
        Kind::Iban => (1, Kind::Iban),
        Kind::Email => (2, Kind::Email),
        _ => (3, Kind::Jwt),
    }
}

impl AllowList {
    pub(crate) fn new(values: &[String], patterns: &[String]) -> Result<AllowList, EngineError> {
        let mut a = AllowList::default();
        let mut buf = Vec::new();
        for v in values {
            for k in [Kind::Card, Kind::Iban, Kind::Email, Kind::Jwt] {
                normalize(k, v.as_bytes(), &mut buf);
                if !buf.is_empty() {
                    a.values[family(k).0].insert(buf.clone());
                }
            }
        }
        for (i, p) in patterns.iter().enumerate() {
            let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| EngineError::Regex {
                rule: format!("allow_patterns[{i}]"),
                message: e.to_string(),
            })?;
            a.patterns.push(re);
        }
        Ok(a)
    }

    /// True when the value (raw bytes, and `norm` its normalized form) is
    /// allow-listed.
    pub(crate) fn allows(&self, kind: Kind, raw: &[u8], norm: &[u8]) -> bool {
        self.values[family(kind).0].contains(norm)
            || self.patterns.iter().any(|r| r.is_match(raw) || r.is_match(norm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_patterns() {
        let a = AllowList::new(
            &["4111 1111 1111 1111".into(), "Test@Example.com".into()],
            &["sk_live_TEST.*".into()],
        )
        .unwrap();
        assert!(a.allows(Kind::Card, b"4111-1111-1111-1111", b"4111111111111111"));
        assert!(!a.allows(Kind::Card, b"4111111111111112", b"4111111111111112"));
        assert!(a.allows(Kind::Email, b"TEST@example.COM", b"test@example.com"));
        assert!(a.allows(Kind::StripeKey, b"sk_live_TESTxyz", b"sk_live_TESTxyz"));
        assert!(!a.allows(Kind::StripeKey, b"xsk_live_TESTxyz", b"xsk_live_TESTxyz"));
        assert!(AllowList::new(&[], &["(".into()]).is_err());
    }
}
