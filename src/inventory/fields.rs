//! Field paths of a streamed body: which JSON field (`customers[].ssn`) or
//! form field (`card_number`) a finding's byte offsets sit in.
//!
//! The trackers are byte-at-a-time state machines, so any split of the body
//! into chunks gives the same answer. They remember the value spans of the
//! last `retain` bytes only (a finding is reported at most the engine's
//! hold-back after its bytes were fed), with a cap on spans, key length and
//! depth: memory per body is bounded whatever the body holds. They never
//! keep a value, only keys, and keys are checked against the engine when a
//! path is rendered (a key may itself be a value: `{"jane@x.io": {...}}`).

use std::collections::VecDeque;
use std::sync::Arc;

use super::template;
use crate::detect::Engine;

/// Longest key kept, in bytes (longer keys are cut).
pub const MAX_KEY: usize = 64;
/// Deepest nesting rendered in a path; deeper levels show as `…`.
pub const MAX_DEPTH: usize = 32;
/// Most value spans remembered at once.
pub const MAX_SPANS: usize = 4096;

/// Path segment markers in the span arena.
pub(super) const SEG_KEY: u8 = 1;
const SEG_ARRAY: u8 = 2;
const SEG_DEEP: u8 = 3;

#[derive(Clone, Copy, Debug)]
struct Span {
    start: u64,
    end: u64,
    /// Offset of the span's path in the arena (absolute: `arena_base` is
    /// subtracted to index).
    path_off: u64,
    path_len: u32,
}

/// Recent value spans and their encoded paths.
#[derive(Debug, Default)]
pub(super) struct SpanLog {
    spans: VecDeque<Span>,
    arena: Vec<u8>,
    arena_base: u64,
    retain: u64,
}

impl SpanLog {
    /// Remembers the spans of the last `retain` bytes.
    pub(super) fn new(retain: usize) -> SpanLog {
        SpanLog { retain: retain as u64, ..SpanLog::default() }
    }

    pub(super) fn push(&mut self, start: u64, end: u64, path: &[u8], fed: u64) {
        let path_off = self.arena_base + self.arena.len() as u64;
        self.arena.extend_from_slice(path);
        self.spans.push_back(Span { start, end, path_off, path_len: path.len() as u32 });
        while self.spans.len() > MAX_SPANS
            || self.spans.front().is_some_and(|s| s.end + self.retain < fed)
        {
            self.spans.pop_front();
        }
        // Compact once the dead front of the arena is the larger half.
        let live_from = self.spans.front().map_or(path_off + path.len() as u64, |s| s.path_off);
        let dead = (live_from - self.arena_base) as usize;
        if dead > 4096 && dead * 2 > self.arena.len() {
            self.arena.drain(..dead);
            self.arena_base = live_from;
        }
    }

    pub(super) fn find(&self, start: u64, end: u64) -> Option<&[u8]> {
        let i = self.spans.partition_point(|s| s.end <= start);
        let s = self.spans.get(i)?;
        if s.start <= start && end <= s.end.max(start + 1) {
            let off = (s.path_off - self.arena_base) as usize;
            return self.arena.get(off..off + s.path_len as usize);
        }
        None
    }
}

/// Renders an encoded path; segments the engine or the templating rules
/// recognise become placeholders, and the whole is cut at `max_len`.
pub fn render(engine: &Arc<Engine>, encoded: &[u8], max_len: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < encoded.len() {
        let marker = encoded[i];
        let end = encoded[i + 1..]
            .iter()
            .position(|&b| b <= SEG_DEEP)
            .map_or(encoded.len(), |p| i + 1 + p);
        match marker {
            SEG_KEY => {
                if !out.is_empty() {
                    out.push('.');
                }
                let key = String::from_utf8_lossy(&encoded[i + 1..end]);
                out.push_str(&template::segment(engine, &key));
            }
            SEG_ARRAY => out.push_str("[]"),
            _ => out.push_str(".…"),
        }
        i = end;
    }
    if out.len() > max_len {
        let mut cut = max_len.saturating_sub('…'.len_utf8());
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    if out.is_empty() {
        out.push('$');
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lex {
    /// Between tokens.
    Between,
    /// In a string; `key` when it is an object key.
    Str { key: bool, escaped: bool },
    /// In a number or a literal (`true`, `null`...).
    Scalar,
}

/// A streaming JSON field-path tracker. Tolerant: it never fails on bad
/// JSON, it only stops knowing where it is.
#[derive(Debug)]
pub struct JsonTracker {
    log: SpanLog,
    fed: u64,
    lex: Lex,
    /// Containers opened (all of them, also past [`MAX_DEPTH`]).
    stack: Vec<Container>,
    /// The current path, encoded; `path_marks[d]` is its length before
    /// level `d` was added.
    path: Vec<u8>,
    path_marks: Vec<usize>,
    /// True after `{` or `,` in an object: the next string is a key.
    expect_key: bool,
    key: Vec<u8>,
    value_start: u64,
}

impl JsonTracker {
    pub fn new(retain: usize) -> JsonTracker {
        JsonTracker {
            log: SpanLog { retain: retain as u64, ..SpanLog::default() },
            fed: 0,
            lex: Lex::Between,
            stack: Vec::new(),
            path: Vec::new(),
            path_marks: Vec::new(),
            expect_key: false,
            key: Vec::new(),
            value_start: 0,
        }
    }

    fn open(&mut self, c: Container) {
        self.stack.push(c);
        if self.stack.len() <= MAX_DEPTH {
            self.path_marks.push(self.path.len());
            if c == Container::Array {
                self.path.push(SEG_ARRAY);
            }
        } else if self.stack.len() == MAX_DEPTH + 1 {
            self.path_marks.push(self.path.len());
            self.path.push(SEG_DEEP);
        }
        self.expect_key = c == Container::Object;
    }

    fn close(&mut self) {
        if self.stack.pop().is_some() && self.stack.len() <= MAX_DEPTH {
            if let Some(m) = self.path_marks.pop() {
                self.path.truncate(m);
            }
        }
        self.expect_key = false;
    }

    /// Sets the current object's key (after the key string ended).
    fn set_key(&mut self) {
        if self.stack.len() > MAX_DEPTH {
            return;
        }
        if let Some(&m) = self.path_marks.last() {
            self.path.truncate(m);
            self.path.push(SEG_KEY);
            // Control bytes would read as markers.
            self.path.extend(self.key.iter().map(|&b| if b <= SEG_DEEP { b'?' } else { b }));
        }
    }

    fn end_value(&mut self, end: u64) {
        let fed = self.fed;
        self.log.push(self.value_start, end, &self.path, fed);
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        for (i, &b) in chunk.iter().enumerate() {
            let at = self.fed + i as u64;
            match self.lex {
                Lex::Str { key, escaped } => {
                    if escaped {
                        self.lex = Lex::Str { key, escaped: false };
                    } else if b == b'\\' {
                        self.lex = Lex::Str { key, escaped: true };
                    } else if b == b'"' {
                        self.lex = Lex::Between;
                        if key {
                            self.set_key();
                        } else {
                            self.end_value(at + 1);
                        }
                        continue;
                    }
                    if key && self.key.len() <= MAX_KEY {
                        self.key.push(b);
                    }
                }
                Lex::Scalar => {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n' | b':') {
                        self.lex = Lex::Between;
                        self.end_value(at);
                        self.structural(b, at);
                    }
                }
                Lex::Between => self.structural(b, at),
            }
        }
        self.fed += chunk.len() as u64;
    }

    fn structural(&mut self, b: u8, at: u64) {
        match b {
            b'{' => self.open(Container::Object),
            b'[' => self.open(Container::Array),
            b'}' | b']' => self.close(),
            b',' => self.expect_key = self.stack.last() == Some(&Container::Object),
            b':' => self.expect_key = false,
            b'"' => {
                let key = self.expect_key;
                if key {
                    self.key.clear();
                    self.expect_key = false;
                } else {
                    self.value_start = at;
                }
                self.lex = Lex::Str { key, escaped: false };
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => {
                self.value_start = at;
                self.lex = Lex::Scalar;
            }
        }
    }

    /// The encoded path of the value holding bytes `start..end`, if known
    /// (the engine may report a finding before its value has ended).
    pub(super) fn path_of(&self, start: u64, end: u64) -> Option<&[u8]> {
        let open = matches!(self.lex, Lex::Scalar | Lex::Str { key: false, .. });
        if open && start >= self.value_start {
            return Some(&self.path);
        }
        self.log.find(start, end)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FormLex {
    Name,
    Value,
}

/// A streaming `application/x-www-form-urlencoded` field tracker.
#[derive(Debug)]
pub struct FormTracker {
    log: SpanLog,
    fed: u64,
    lex: FormLex,
    path: Vec<u8>,
    value_start: u64,
}

impl FormTracker {
    pub fn new(retain: usize) -> FormTracker {
        FormTracker {
            log: SpanLog { retain: retain as u64, ..SpanLog::default() },
            fed: 0,
            lex: FormLex::Name,
            path: vec![SEG_KEY],
            value_start: 0,
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        for (i, &b) in chunk.iter().enumerate() {
            let at = self.fed + i as u64;
            match (self.lex, b) {
                (FormLex::Name, b'=') => {
                    self.lex = FormLex::Value;
                    self.value_start = at + 1;
                }
                (FormLex::Name, b'&') => {
                    self.path.truncate(1);
                }
                (FormLex::Name, _) => {
                    if self.path.len() <= MAX_KEY + 1 {
                        self.path.push(if b <= SEG_DEEP { b'?' } else { b });
                    }
                }
                (FormLex::Value, b'&') => {
                    let fed = self.fed + chunk.len() as u64;
                    self.log.push(self.value_start, at, &self.path, fed);
                    self.lex = FormLex::Name;
                    self.path.truncate(1);
                }
                (FormLex::Value, _) => {}
            }
        }
        self.fed += chunk.len() as u64;
    }

    /// Closes the last field (the body ended).
    pub fn finish(&mut self) {
        if self.lex == FormLex::Value {
            let fed = self.fed;
            self.log.push(self.value_start, fed, &self.path, fed);
            self.lex = FormLex::Name;
        }
    }

    fn path_of(&self, start: u64, end: u64) -> Option<&[u8]> {
        if self.lex == FormLex::Value && start >= self.value_start {
            // The open last field.
            return Some(&self.path);
        }
        self.log.find(start, end)
    }
}

/// A field tracker for the body's media type.
#[derive(Debug)]
pub enum Fields {
    Json(JsonTracker),
    Form(FormTracker),
}

impl Fields {
    pub fn feed(&mut self, chunk: &[u8]) {
        match self {
            Fields::Json(t) => t.feed(chunk),
            Fields::Form(t) => t.feed(chunk),
        }
    }

    /// The encoded field path of a finding at `start..end`, if known (equal
    /// encodings render equally: callers may reuse a rendering).
    pub fn encoded(&self, start: u64, end: u64) -> Option<&[u8]> {
        match self {
            Fields::Json(t) => t.path_of(start, end),
            Fields::Form(t) => t.path_of(start, end),
        }
    }

    /// The rendered field path of a finding at `start..end`, if known.
    pub fn path(
        &self,
        engine: &Arc<Engine>,
        start: u64,
        end: u64,
        max_len: usize,
    ) -> Option<String> {
        let encoded = match self {
            Fields::Json(t) => t.path_of(start, end),
            Fields::Form(t) => t.path_of(start, end),
        }?;
        Some(render(engine, encoded, max_len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ContentHint;
    use crate::inventory::tests_support::engine;
    use proptest::prelude::*;

    /// Paths of every finding, feeding `body` in the given chunk sizes.
    fn paths(mut fields: Fields, body: &[u8], cuts: &[usize]) -> Vec<(String, Option<String>)> {
        let e = engine();
        let (_, findings) = e.scan_all(body, ContentHint::Json);
        let mut fed = 0;
        let mut out = Vec::new();
        let mut pending = findings.as_slice();
        let mut step = |fields: &mut Fields,
                        upto: usize,
                        pending: &mut &[crate::detect::Finding]| {
            fields.feed(&body[fed..upto]);
            fed = upto;
            // Findings are only ever reported for bytes already fed.
            while let Some(f) = pending.first().filter(|f| f.end as usize <= fed) {
                out.push((e.kind_name(f.kind).to_string(), fields.path(&e, f.start, f.end, 128)));
                *pending = &pending[1..];
            }
        };
        let mut at = 0;
        for &c in cuts {
            at = (at + c).min(body.len());
            step(&mut fields, at, &mut pending);
        }
        step(&mut fields, body.len(), &mut pending);
        if let Fields::Form(t) = &mut fields {
            t.finish();
        }
        for f in pending {
            out.push((e.kind_name(f.kind).to_string(), fields.path(&e, f.start, f.end, 128)));
        }
        out
    }

    const API: &str = r#"{"customers": [{"name": "Jane", "ssn": "SSN 536-22-1945", "card": {"number": 4111111111111111, "exp": "12/30"}},
        {"name": "Joe", "contact": {"email": "joe@example.com", "tags": ["a", "b"]}, "ssn": "ssn: 536-22-1946"}],
        "jane.doe@example.com": {"iban": "DE89 3704 0044 0532 0130 00"}, "escaped\"key": "x@y.io"}"#;

    #[test]
    fn json_paths_name_the_fields() {
        let got = paths(Fields::Json(JsonTracker::new(1 << 16)), API.as_bytes(), &[]);
        let want = [
            ("ssn", "customers[].ssn"),
            ("card", "customers[].card.number"),
            ("email", "customers[].contact.email"),
            ("ssn", "customers[].ssn"),
            // An email as a key is in no value: no path.
            ("email", ""),
            ("iban", "{email}.iban"),
            ("email", "escaped\\\"key"),
        ];
        let got: Vec<(String, String)> =
            got.into_iter().map(|(k, p)| (k, p.unwrap_or_default())).collect();
        let want: Vec<(String, String)> =
            want.iter().map(|(k, p)| (k.to_string(), p.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn form_paths_name_the_fields() {
        let body = b"name=Jane&email=jane@example.com&card_number=4111111111111111&x=1";
        let got = paths(Fields::Form(FormTracker::new(1 << 16)), body, &[]);
        let got: Vec<String> =
            got.into_iter().map(|(k, p)| format!("{k}:{}", p.unwrap())).collect();
        assert_eq!(got, ["email:email", "card:card_number"]);
        let last = b"a=1&card=4111111111111111";
        let got = paths(Fields::Form(FormTracker::new(1 << 16)), last, &[]);
        assert_eq!(got, [("card".to_string(), Some("card".to_string()))]);
    }

    #[test]
    fn deep_and_long_paths_are_bounded() {
        let deep = format!("{}\"x@y.io\"{}", "[".repeat(40), "]".repeat(40));
        let got = paths(Fields::Json(JsonTracker::new(1 << 16)), deep.as_bytes(), &[]);
        let p = got[0].1.clone().unwrap();
        assert_eq!(p, format!("{}.…", "[]".repeat(MAX_DEPTH)));
        let long_key = format!("{{\"{}\": \"x@y.io\"}}", "k".repeat(300));
        let got = paths(Fields::Json(JsonTracker::new(1 << 16)), long_key.as_bytes(), &[]);
        assert_eq!(got[0].1.as_deref(), Some("{long}"));
        let e = engine();
        let mut t = JsonTracker::new(1024);
        let many = format!("[{}]", "1,".repeat(100_000));
        t.feed(many.as_bytes());
        assert!(t.log.spans.len() <= MAX_SPANS);
        assert!(t.log.arena.len() < 64 * 1024, "{}", t.log.arena.len());
        // A finding long gone from the window has no path, rather than a
        // wrong one.
        assert_eq!(Fields::Json(t).path(&e, 1, 2, 128), None);
    }

    proptest! {
        #[test]
        fn json_paths_do_not_depend_on_chunking(cuts in proptest::collection::vec(1usize..40, 0..40)) {
            let whole = paths(Fields::Json(JsonTracker::new(1 << 16)), API.as_bytes(), &[]);
            let split = paths(Fields::Json(JsonTracker::new(1 << 16)), API.as_bytes(), &cuts);
            prop_assert_eq!(whole, split);
        }

        #[test]
        fn form_paths_do_not_depend_on_chunking(cuts in proptest::collection::vec(1usize..12, 0..20)) {
            let body = b"email=jane@example.com&card_number=4111111111111111&n=x";
            let whole = paths(Fields::Form(FormTracker::new(1 << 16)), body, &[]);
            let split = paths(Fields::Form(FormTracker::new(1 << 16)), body, &cuts);
            prop_assert_eq!(whole, split);
        }
    }
}
