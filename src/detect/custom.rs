//! Custom rules from configuration: literal lists (exact strings, optionally
//! case-insensitive) and regexes confirmed at a literal anchor, each with an
//! optional validator and optional context keywords.
//!
//! Regexes never sweep a body: they only run at a site where one of the
//! rule's anchors (its `literals`, or a literal prefix derived from the
//! regex) matched, over a window capped by `max_custom_match`.

use regex::bytes::Regex;

use super::context::{Context, ContextWords};
use super::validate::{luhn, mod97};
use super::view::{Hit, More, Probe, View};
use super::{Action, CustomRule, EngineError, Kind, Validator};

/// How far before a custom match its context words may be, unless the rule
/// says (`context_window`).
pub(crate) const CONTEXT_WINDOW: usize = 48;

/// A rule, compiled.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub name: String,
    pub regex: Option<Regex>,
    pub validator: Option<Validator>,
    /// `context` and `not_context` ([`context`](super::context)).
    pub context: Context,
    pub action: Action,
    pub case_insensitive: bool,
}

/// Rule names appear in redaction markers, metrics and audit lines, so they
/// are restricted to a safe alphabet.
fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Compiles a rule; returns it with its anchors (literal, case-insensitive).
/// A rule's anchors: literal bytes and whether they match ignoring case.
pub(crate) type Anchors = Vec<(Vec<u8>, bool)>;

pub(crate) fn compile(rule: &CustomRule) -> Result<(Compiled, Anchors), EngineError> {
    let name = &rule.name;
    let bad = |m: &str| EngineError::Rule { rule: name.clone(), message: m.to_string() };
    if !valid_name(name) {
        return Err(bad("name must be 1-64 characters of a-z, 0-9, '_' or '-'"));
    }
    if super::Kind::from_name(name).is_some() {
        return Err(bad("name clashes with a built-in kind"));
    }
    if rule.literals.iter().any(String::is_empty) {
        return Err(bad("empty literal"));
    }
    let mut ci = rule.case_insensitive;
    let mut anchors: Vec<Vec<u8>> = rule.literals.iter().map(|l| l.as_bytes().to_vec()).collect();
    let regex = match &rule.regex {
        None => {
            if anchors.is_empty() {
                return Err(bad("needs `literals` or a `regex`"));
            }
            None
        }
        Some(re) => {
            if anchors.is_empty() {
                let Some((prefix, pci)) = literal_prefix(re) else {
                    return Err(bad(
                        "cannot derive a literal prefix from the regex: list the literal prefixes it starts with in `literals` (regexes only confirm at an anchor, they never sweep a whole body)",
                    ));
                };
                ci |= pci;
                anchors.push(prefix.into_bytes());
            }
            let flags = if rule.case_insensitive { "(?i)" } else { "" };
            let full = format!("{flags}^(?:{re})");
            Some(
                Regex::new(&full).map_err(|e| EngineError::Regex {
                    rule: name.clone(),
                    message: e.to_string(),
                })?,
            )
        }
    };
    let compiled = Compiled {
        name: name.clone(),
        regex,
        validator: rule.validator,
        context: Context::new(&ContextWords {
            words: rule.context.clone(),
            not_words: rule.not_context.clone(),
            window: rule.context_window.unwrap_or(CONTEXT_WINDOW),
        })
        .map_err(|e| bad(&e))?,
        action: rule.action.unwrap_or(Action::Mask),
        case_insensitive: ci,
    };
    Ok((compiled, anchors.into_iter().map(|a| (a, ci)).collect()))
}

/// The literal text every match of `re` must start with, if it can be read
/// off the pattern conservatively (at least 2 bytes). The `bool` is true
/// when the pattern starts with `(?i)`.
pub(crate) fn literal_prefix(re: &str) -> Option<(String, bool)> {
    let mut s = re;
    let mut ci = false;
    if let Some(rest) = s.strip_prefix("(?i)") {
        ci = true;
        s = rest;
    }
    // A top-level alternation has no single prefix.
    let (mut depth, mut class, mut esc) = (0i32, false, false);
    for c in s.chars() {
        match (esc, class, c) {
            (true, _, _) => esc = false,
            (false, _, '\\') => esc = true,
            (false, true, ']') => class = false,
            (false, true, _) => {}
            (false, false, '[') => class = true,
            (false, false, '(') => depth += 1,
            (false, false, ')') => depth -= 1,
            (false, false, '|') if depth == 0 => return None,
            _ => {}
        }
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let (lit, next) = if c == '\\' {
            match chars.get(i + 1) {
                Some(&e) if e.is_ascii_punctuation() => (e, i + 2),
                _ => break,
            }
        } else if c.is_ascii_alphanumeric() || "_-:/=@#,;'\"<>!%&~` ".contains(c) {
            (c, i + 1)
        } else {
            break;
        };
        match chars.get(next) {
            Some('?') | Some('*') | Some('{') => break,
            Some('+') => {
                out.push(lit);
                break;
            }
            _ => {}
        }
        out.push(lit);
        i = next;
    }
    (out.len() >= 2).then_some((out, ci))
}

/// Confirms rule `idx` at `p`, where one of its anchors (`anchor_len`
/// bytes) matched.
pub(crate) fn detect(
    v: &View,
    p: usize,
    idx: u16,
    rule: &Compiled,
    anchor_len: usize,
    max_match: usize,
) -> Probe {
    let len = match &rule.regex {
        None => anchor_len,
        Some(re) => {
            let want = p + max_match;
            if want > v.buf.len() && !v.eof {
                return Err(More);
            }
            let window = &v.buf[p..want.min(v.buf.len())];
            match re.find(window) {
                Some(m) if m.end() > 0 => m.end(),
                _ => return Ok(None),
            }
        }
    };
    let value = &v.buf[p..p + len];
    let ok = match rule.validator {
        None => true,
        Some(Validator::Luhn) => {
            let d: Vec<u8> = value.iter().copied().filter(u8::is_ascii_digit).collect();
            d.len() >= 2 && luhn(&d)
        }
        Some(Validator::Mod97) => {
            let a: Vec<u8> = value.iter().copied().filter(u8::is_ascii_alphanumeric).collect();
            a.len() > 4 && mod97(a[4..].iter().chain(&a[..4]).copied()) == 1
        }
    };
    if !ok {
        return Ok(None);
    }
    if !rule.context.is_empty() && !rule.context.accepts(v.buf, p) {
        return Ok(None);
    }
    Ok(Some(Hit::new(Kind::Custom(idx), len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let cases: &[(&str, Option<(&str, bool)>)] = &[
            (r"CUST-\d{8}", Some(("CUST-", false))),
            (r"(?i)acme_[a-z]+", Some(("acme_", true))),
            (r"tok\.x+", Some(("tok.x", false))),
            (r"abc?d", Some(("ab", false))),
            (r"ab*", None),
            (r"foo|bar", None),
            (r"\d+", None),
            (r"[a-z]+", None),
            (r"x", None),
            (r"(foo|bar)baz", None),
        ];
        for (re, want) in cases {
            assert_eq!(literal_prefix(re), want.map(|(s, c)| (s.to_string(), c)), "{re}");
        }
    }

    #[test]
    fn rules_are_validated() {
        let ok = CustomRule {
            name: "cust_id".into(),
            regex: Some(r"CUST-\d{8}".into()),
            ..Default::default()
        };
        assert!(compile(&ok).is_ok());
        for bad in [
            CustomRule {
                name: "Bad Name".into(),
                literals: vec!["x".into()],
                ..Default::default()
            },
            CustomRule { name: "card".into(), literals: vec!["x".into()], ..Default::default() },
            CustomRule { name: "r".into(), ..Default::default() },
            CustomRule { name: "r".into(), regex: Some(r"\d{9}".into()), ..Default::default() },
            CustomRule { name: "r".into(), regex: Some(r"AB(".into()), ..Default::default() },
            CustomRule { name: "r".into(), literals: vec![String::new()], ..Default::default() },
        ] {
            assert!(compile(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn regex_confirms_at_anchor() {
        let (c, _) = compile(&CustomRule {
            name: "cust".into(),
            regex: Some(r"CUST-\d{8}".into()),
            context: vec!["customer".into()],
            ..Default::default()
        })
        .unwrap();
        let s = b"customer CUST-12345678 and CUST-1234";
        let v = View { buf: s, eof: true };
        assert_eq!(detect(&v, 9, 0, &c, 5, 64).unwrap().map(|h| h.len), Some(13));
        assert_eq!(detect(&v, 27, 0, &c, 5, 64).unwrap(), None);
        let v = View { buf: &s[..20], eof: false };
        assert!(detect(&v, 9, 0, &c, 5, 64).is_err());
    }
}
