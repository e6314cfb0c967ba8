//! Custom rules from configuration: literal lists (exact strings, optionally
//! case-insensitive) and regexes confirmed at a literal anchor, each with an
//! optional validator and optional context words.
//!
//! A regex runs at a site where one of the rule's anchors (its `literals`,
//! or a literal prefix derived from the regex) matched, over a window capped
//! by `max_custom_match`. A regex with no literal prefix is accepted only
//! when its matches are bounded in length ([`Bounded`]): the scanner must
//! hold back every byte a match may still include, and without an anchor
//! any byte may start one, so an unbounded pattern such as `\d+` would need
//! an unbounded hold-back (or, cut short, would match differently
//! depending on where the stream was split).

use regex::bytes::Regex;
use regex_automata::{meta, Anchored, Input};
use regex_syntax::hir::{Class, Hir, HirKind};

use super::context::{Context, ContextWords};
use super::validate::{luhn, mod97};
use super::view::{Hit, More, Probe, View};
use super::{Action, CustomRule, EngineError, Kind, Validator};

/// How far before a custom match its context words may be, unless the rule
/// says (`context_window`).
pub(crate) const CONTEXT_WINDOW: usize = 48;

/// Bytes a look-around assertion may read past a match's end (`\b` decodes
/// the next UTF-8 character): a bounded rule is decided this far past its
/// longest match.
pub(crate) const LOOK_AHEAD: usize = 4;

/// A regex rule with no literal prefix and a bounded match length, found
/// wherever it may start: where the regex matches anchored at a position,
/// seeing the bytes before it (for `\b`) and [`LOOK_AHEAD`] bytes past its
/// longest match, all of which the scanner keeps, so the decision is the
/// same for every chunking.
#[derive(Debug)]
pub(crate) struct Bounded {
    re: meta::Regex,
    /// The longest match, in bytes (at most `max_custom_match`).
    pub max_len: usize,
    /// The bytes a match can start with (a superset).
    pub first: [bool; 256],
}

impl Bounded {
    fn new(pattern: &str, ci: bool, max_match: usize, rule: &str) -> Result<Bounded, EngineError> {
        let invalid = |e: String| EngineError::Regex { rule: rule.to_string(), message: e };
        let bad = |m: String| EngineError::Rule { rule: rule.to_string(), message: m };
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(ci)
            .utf8(false)
            .build()
            .parse(pattern)
            .map_err(|e| invalid(e.to_string()))?;
        let props = hir.properties();
        let Some(max_len) = props.maximum_len() else {
            return Err(bad(format!(
                "the regex has no literal prefix and no bounded length: give it `literals` to anchor it, or bound every repetition ({{1,32}}, not + or *) so that a match is at most max_custom_match ({max_match}) bytes; without an anchor the scanner holds back every byte a match may still include, so that bound is what keeps memory per response bounded and the result the same for every split of the body"
            )));
        };
        if max_len > max_match {
            return Err(bad(format!(
                "the regex has no literal prefix and matches up to {max_len} bytes, more than max_custom_match ({max_match}): bound it tighter or raise max_custom_match"
            )));
        }
        if props.minimum_len().is_none_or(|n| n == 0) {
            return Err(bad(
                "the regex has no literal prefix and can match the empty string".into()
            ));
        }
        let mut first = [false; 256];
        first_bytes(&hir, &mut first);
        let re = meta::Regex::builder().build_from_hir(&hir).map_err(|e| invalid(e.to_string()))?;
        Ok(Bounded { re, max_len, first })
    }

    /// The length of the match anchored at `p`, if any; `Err(More)` when it
    /// depends on bytes that have not arrived. Reads at most
    /// [`LOOK_AHEAD`] bytes past the longest match, and whatever the
    /// regex's look-behind needs before `p` (one character).
    pub(crate) fn at(&self, buf: &[u8], p: usize, eof: bool) -> Result<Option<usize>, More> {
        let want = p + self.max_len + LOOK_AHEAD;
        if want > buf.len() && !eof {
            return Err(More);
        }
        let cut = want.min(buf.len());
        let input = Input::new(&buf[..cut]).range(p..cut).anchored(Anchored::Yes);
        Ok(self.re.search(&input).map(|m| m.len()).filter(|&n| n > 0))
    }

    /// The first position in `from..to` of `buf` where a match starts
    /// (unanchored, leftmost): every position where [`Bounded::at`]
    /// matches is one this returns, in turn. Matches must start before
    /// `to`, and `buf` must reach [`LOOK_AHEAD`] bytes past any match
    /// starting there (or be the whole stream).
    pub(crate) fn next_site(&self, buf: &[u8], from: usize, to: usize) -> Option<usize> {
        let input = Input::new(buf).range(from..buf.len());
        self.re.search(&input).map(|m| m.start()).filter(|&s| s < to)
    }
}

/// Adds the bytes a match of `h` can start with to `set`; returns whether
/// `h` can match the empty string (then what follows it can start too). A
/// Unicode class adds the leading bytes of its characters' UTF-8 forms
/// (a range of them: leading bytes grow with the code point).
fn first_bytes(h: &Hir, set: &mut [bool; 256]) -> bool {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(lit) => match lit.0.first() {
            Some(&b) => {
                set[usize::from(b)] = true;
                false
            }
            None => true,
        },
        HirKind::Class(Class::Bytes(c)) => {
            for r in c.ranges() {
                for b in r.start()..=r.end() {
                    set[usize::from(b)] = true;
                }
            }
            false
        }
        HirKind::Class(Class::Unicode(c)) => {
            let lead = |ch: char| {
                let mut tmp = [0u8; 4];
                ch.encode_utf8(&mut tmp).as_bytes()[0]
            };
            for r in c.ranges() {
                for b in lead(r.start())..=lead(r.end()) {
                    set[usize::from(b)] = true;
                }
            }
            false
        }
        HirKind::Repetition(r) => first_bytes(&r.sub, set) || r.min == 0,
        HirKind::Capture(c) => first_bytes(&c.sub, set),
        HirKind::Concat(hs) => hs.iter().all(|h| first_bytes(h, set)),
        HirKind::Alternation(hs) => hs.iter().fold(false, |e, h| first_bytes(h, set) | e),
    }
}

/// A rule, compiled.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub name: String,
    pub regex: Option<Regex>,
    /// A regex with no literal anchor, found wherever it may start.
    pub bounded: Option<Bounded>,
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

pub(crate) fn compile(
    rule: &CustomRule,
    max_match: usize,
) -> Result<(Compiled, Anchors), EngineError> {
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
    let mut bounded = None;
    let regex = match &rule.regex {
        None => {
            if anchors.is_empty() {
                return Err(bad("needs `literals` or a `regex`"));
            }
            None
        }
        Some(re) => {
            if anchors.is_empty() {
                match literal_prefix(re) {
                    Some((prefix, pci)) => {
                        ci |= pci;
                        anchors.push(prefix.into_bytes());
                    }
                    None => {
                        bounded = Some(Bounded::new(re, rule.case_insensitive, max_match, name)?);
                    }
                }
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
        bounded,
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
    let len = match (&rule.bounded, &rule.regex) {
        (Some(b), _) => match b.at(v.buf, p, v.eof)? {
            Some(n) => n,
            None => return Ok(None),
        },
        (None, None) => anchor_len,
        (None, Some(re)) => {
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
            a.len() > 4 && mod97(&a[4..], &a[..4]) == 1
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
        assert!(compile(&ok, 256).is_ok());
        // No literal prefix, bounded: found wherever it starts.
        for re in [r"\d{9}", r"[A-Z]{2}\d{6,8}", r"(?:foo|bar)\d{3}", r"\b\w{4}-\d{2}\b"] {
            let rule =
                CustomRule { name: "r".into(), regex: Some(re.into()), ..Default::default() };
            let (c, anchors) = compile(&rule, 256).unwrap_or_else(|e| panic!("{re}: {e}"));
            assert!(c.bounded.is_some() && anchors.is_empty(), "{re}");
        }
        // Unbounded, empty-matching or longer than max_custom_match: each
        // error names the rule and says why.
        for (re, why) in [
            (r"\d+", "no bounded length"),
            (r"[a-z]{3,}x", "no bounded length"),
            (r"\d{0,4}", "empty string"),
            (r"\d{300}", "more than max_custom_match"),
        ] {
            let rule =
                CustomRule { name: "r".into(), regex: Some(re.into()), ..Default::default() };
            let err = compile(&rule, 256).unwrap_err().to_string();
            assert!(err.contains("custom rule \"r\"") && err.contains(why), "{re}: {err}");
        }
        for bad in [
            CustomRule {
                name: "Bad Name".into(),
                literals: vec!["x".into()],
                ..Default::default()
            },
            CustomRule { name: "card".into(), literals: vec!["x".into()], ..Default::default() },
            CustomRule { name: "r".into(), ..Default::default() },
            CustomRule { name: "r".into(), regex: Some(r"\d+".into()), ..Default::default() },
            CustomRule { name: "r".into(), regex: Some(r"AB(".into()), ..Default::default() },
            CustomRule { name: "r".into(), literals: vec![String::new()], ..Default::default() },
        ] {
            assert!(compile(&bad, 256).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn regex_confirms_at_anchor() {
        let (c, _) = compile(
            &CustomRule {
                name: "cust".into(),
                regex: Some(r"CUST-\d{8}".into()),
                context: vec!["customer".into()],
                ..Default::default()
            },
            256,
        )
        .unwrap();
        let s = b"customer CUST-12345678 and CUST-1234";
        let v = View { buf: s, eof: true };
        assert_eq!(detect(&v, 9, 0, &c, 5, 64).unwrap().map(|h| h.len), Some(13));
        assert_eq!(detect(&v, 27, 0, &c, 5, 64).unwrap(), None);
        let v = View { buf: &s[..20], eof: false };
        assert!(detect(&v, 9, 0, &c, 5, 64).is_err());
    }

    /// A bounded rule matches anchored at a place, with the byte before it
    /// for `\b`, and waits for its longest match and the look-ahead.
    #[test]
    fn bounded_rules_match_in_place() {
        let rule = |re: &str| {
            let r = CustomRule { name: "r".into(), regex: Some(re.into()), ..Default::default() };
            compile(&r, 64).unwrap().0
        };
        type Case = (&'static str, &'static str, usize, Option<usize>);
        let cases: &[Case] = &[
            (r"\b\d{9}\b", "id 123456789 x", 3, Some(9)),
            (r"\b\d{9}\b", "x123456789 x", 1, None),
            (r"\b\d{9}\b", "id 1234567890 x", 3, None),
            (r"[A-Z]{2}\d{6,8}", "p AB1234567.", 2, Some(9)),
            (r"[A-Z]{2}\d{6,8}", "p AB12345.", 2, None),
            (r"(?i)emp-\d{4}", "EMP-0042 ", 0, Some(8)),
        ];
        for &(re, text, p, want) in cases {
            let c = rule(re);
            let v = View { buf: text.as_bytes(), eof: true };
            let got = detect(&v, p, 0, &c, 0, 64).unwrap().map(|h| h.len);
            assert_eq!(got, want, "{re} in {text:?} at {p}");
            // Before its longest match and look-ahead have arrived: more.
            let v = View { buf: &text.as_bytes()[..p + 1], eof: false };
            assert!(detect(&v, p, 0, &c, 0, 64).is_err(), "{re} in {text:?}");
        }
        let c = rule(r"(?i)(?:emp|mgr)-\d{4}");
        let b = c.bounded.as_ref().unwrap();
        assert!(b.first[usize::from(b'e')] && b.first[usize::from(b'M')]);
        assert!(!b.first[usize::from(b'x')]);
    }
}
