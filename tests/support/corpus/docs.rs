//! The document types the pipeline scans and how each embeds a written
//! value: records of a JSON array, NDJSON lines, server-sent events, CSV
//! rows, log lines, XML elements, HTML rows, paragraphs and attributes, and
//! plain-text paragraphs.
//!
//! Every value sits after a neutral sentence (no SSN, card or phone
//! keyword, so an ambiguous decoy has no context it did not ask for) and
//! its own `lead`, and before a boundary (quote, tag, comma, space).

use super::forms;
use super::values::{self, Class, Value};
use super::{Doc, Label, Rng};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocType {
    Html,
    Json,
    Ndjson,
    Sse,
    Csv,
    Log,
    Xml,
    Text,
}

impl DocType {
    pub const ALL: [DocType; 8] = [
        DocType::Html,
        DocType::Json,
        DocType::Csv,
        DocType::Log,
        DocType::Sse,
        DocType::Ndjson,
        DocType::Xml,
        DocType::Text,
    ];

    pub fn ext(self) -> &'static str {
        match self {
            DocType::Html => "html",
            DocType::Json => "json",
            DocType::Ndjson => "ndjson",
            DocType::Sse => "sse",
            DocType::Csv => "csv",
            DocType::Log => "log",
            DocType::Xml => "xml",
            DocType::Text => "txt",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            DocType::Html => "text/html; charset=utf-8",
            DocType::Json => "application/json",
            DocType::Ndjson => "application/x-ndjson",
            DocType::Sse => "text/event-stream",
            DocType::Csv => "text/csv",
            DocType::Log => "text/plain; charset=utf-8",
            DocType::Xml => "application/xml",
            DocType::Text => "text/plain",
        }
    }

    /// `s` as the text of a field of this document (a JSON string's
    /// contents, HTML/XML character data, a CSV field's contents inside
    /// quotes, a log message inside quotes).
    pub fn escape(self, s: &str) -> String {
        match self {
            DocType::Json | DocType::Ndjson | DocType::Sse => {
                let q = serde_json::to_string(s).expect("a string serializes");
                q[1..q.len() - 1].to_string()
            }
            DocType::Html | DocType::Xml => s
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;"),
            DocType::Csv => s.replace('"', "\"\""),
            DocType::Log => s.replace('"', "\\\""),
            DocType::Text => s.to_string(),
        }
    }
}

const WORDS: &[&str] = &[
    "the", "river", "garden", "window", "morning", "green", "simple", "quiet", "market", "review",
    "travel", "before", "after", "light", "north", "paper", "music", "coffee", "table", "house",
    "summer", "yellow", "mountain", "letter", "friend", "early", "under", "bright", "story",
    "winter", "forest", "street", "happy", "autumn", "planet", "silver", "orange", "harbor",
    "meeting", "journey", "weather", "season", "kitchen", "school", "bridge", "sunset",
];

/// A neutral sentence of at least 34 bytes, so the keyword window of a
/// following value never reaches an earlier field.
fn sentence(rng: &mut Rng) -> String {
    let mut s = String::new();
    while s.len() < 34 {
        if !s.is_empty() {
            s.push(' ');
        }
        let w = *rng.pick(WORDS);
        s.push_str(w);
    }
    let mut c = s.chars();
    let first = c.next().expect("non-empty").to_ascii_uppercase();
    format!("{first}{}", c.as_str())
}

fn name(rng: &mut Rng) -> String {
    let cap = |s: &str| format!("{}{}", s[..1].to_ascii_uppercase(), &s[1..]);
    let (first, last) = (*rng.pick(values::FIRST_NAMES), *rng.pick(values::LAST_NAMES));
    format!("{} {}", cap(first), cap(last))
}

/// A document being written: its text and the labels of what was planted.
struct Builder {
    t: DocType,
    out: String,
    labels: Vec<Label>,
}

impl Builder {
    fn text(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Writes `v` in form `form`; records its label.
    fn plant(&mut self, v: &Value, form: &forms::Form) {
        let written = (form.write)(v, self.t);
        let start = self.out.len() as u64;
        self.out.push_str(&written);
        self.labels.push(Label {
            class: v.class.as_str().into(),
            kind: v.kind.into(),
            start,
            end: self.out.len() as u64,
            value: written,
            brand: v.brand.map(Into::into),
            form: form.name.into(),
            shape: v.shape.into(),
        });
    }

    /// A field's text: a neutral sentence, the value's lead, the value.
    fn field(&mut self, rng: &mut Rng, v: &Value) {
        let s = sentence(rng);
        let form = forms::choose(rng, v, self.t);
        self.text(&self.t.escape(&format!("{s}. {}", v.lead)));
        self.plant(v, form);
    }

    /// A JSON value: a bare number for a digits-only value without lead
    /// (sometimes), otherwise a string.
    fn json_value(&mut self, rng: &mut Rng, v: &Value) {
        let form = forms::choose(rng, v, self.t);
        if v.number && v.lead.is_empty() && form.name == "plain" && rng.chance(40) {
            self.plant(v, form);
        } else {
            self.text("\"");
            self.text(&self.t.escape(v.lead));
            self.plant(v, form);
            self.text("\"");
        }
    }
}

fn id(rng: &mut Rng) -> String {
    rng.digits(b"1", 12)
}

fn ms(rng: &mut Rng) -> String {
    rng.digits(b"1", 13)
}

fn iso(rng: &mut Rng) -> String {
    format!(
        "2026-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        rng.range(1, 12),
        rng.range(1, 28),
        rng.range(0, 23),
        rng.range(0, 59),
        rng.range(0, 59),
        rng.below(1000)
    )
}

/// One record holding `v`, in the syntax of `b.t`. `first` is true for
/// the first record (JSON arrays need commas between records).
fn record(b: &mut Builder, rng: &mut Rng, v: &Value, first: bool) {
    match b.t {
        DocType::Json => {
            if !first {
                b.text(",");
            }
            let key = *rng.pick(&["value", "detail", "text", "field"]);
            b.text(&format!(
                "\n  {{\"id\":{},\"name\":\"{}\",\"note\":\"{}.\",\"{key}\":",
                id(rng),
                name(rng),
                sentence(rng)
            ));
            b.json_value(rng, v);
            b.text(&format!(",\"updated\":{}}}", ms(rng)));
        }
        DocType::Ndjson => {
            b.text(&format!(
                "{{\"ts\":\"{}\",\"level\":\"info\",\"user\":\"{}\",\"msg\":\"",
                iso(rng),
                name(rng)
            ));
            b.field(rng, v);
            b.text("\"}\n");
        }
        DocType::Sse => {
            if rng.chance(30) {
                b.text(&format!("id: {}\n", rng.range(1, 99_999)));
            }
            b.text("event: message\ndata: {\"delta\":\"");
            b.field(rng, v);
            b.text("\"}\n\n");
        }
        DocType::Csv => {
            b.text(&format!("{},{},\"", id(rng), name(rng)));
            b.field(rng, v);
            b.text(&format!("\",{}.{:02}\n", rng.range(1, 999), rng.below(100)));
        }
        DocType::Log => {
            let level = *rng.pick(&["INFO", "WARN", "DEBUG", "ERROR"]);
            let user = format!("{}{}", rng.pick(values::FIRST_NAMES), rng.range(1, 99));
            b.text(&format!("{} {level} req={} user={user} ", iso(rng), values::uuid_text(rng)));
            if v.multiline {
                // A multi-line value follows its log line, as a dump would.
                let s = sentence(rng);
                b.text(&format!("msg=\"{s}:\"\n"));
                let form = forms::choose(rng, v, b.t);
                b.plant(v, form);
                b.text("\n");
            } else {
                b.text("msg=\"");
                b.field(rng, v);
                b.text("\"\n");
            }
        }
        DocType::Xml => {
            b.text(&format!(
                "  <record id=\"{}\">\n    <name>{}</name>\n    <note>",
                id(rng),
                name(rng)
            ));
            b.field(rng, v);
            b.text("</note>\n  </record>\n");
        }
        DocType::Html => {
            if v.multiline {
                b.text(&format!("<p>{}:</p>\n<pre>", sentence(rng)));
                let form = forms::choose(rng, v, b.t);
                b.plant(v, form);
                b.text("</pre>\n");
                return;
            }
            match rng.below(4) {
                0 => {
                    b.text(&format!("<tr><td>{}</td><td>", name(rng)));
                    b.field(rng, v);
                    b.text("</td></tr>\n");
                }
                1 => {
                    b.text("<li class=\"item\">");
                    b.field(rng, v);
                    b.text("</li>\n");
                }
                2 => {
                    let form = forms::choose(rng, v, b.t);
                    b.text(&format!(
                        "<p>{}.</p>\n<input type=\"hidden\" name=\"f{}\" value=\"",
                        sentence(rng),
                        rng.below(100)
                    ));
                    b.text(&b.t.escape(v.lead));
                    b.plant(v, form);
                    b.text("\">\n");
                }
                _ => {
                    b.text("<p>");
                    b.field(rng, v);
                    b.text(&format!(" {}.</p>\n", sentence(rng).to_lowercase()));
                }
            }
        }
        DocType::Text => {
            b.field(rng, v);
            let after = *rng.pick(&[". ", ", ", " ", "\n"]);
            b.text(&format!("{after}{}.\n\n", sentence(rng)));
        }
    }
}

fn head(b: &mut Builder, rng: &mut Rng) {
    match b.t {
        DocType::Json => b.text("{\"data\":["),
        DocType::Csv => b.text("id,name,note,amount\n"),
        DocType::Xml => b.text("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<records>\n"),
        DocType::Html => b.text(&format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<table>\n",
            sentence(rng)
        )),
        _ => {}
    }
}

fn tail(b: &mut Builder, n: usize) {
    match b.t {
        DocType::Json => b.text(&format!("\n],\"count\":{n}}}\n")),
        DocType::Xml => b.text("</records>\n"),
        DocType::Html => b.text("</table>\n</body>\n</html>\n"),
        _ => {}
    }
}

fn builder(t: DocType) -> Builder {
    Builder { t, out: String::new(), labels: Vec::new() }
}

fn finish(b: Builder, index: usize) -> Doc {
    Doc {
        file: format!("gen{index:03}.{}", b.t.ext()),
        content_type: b.t.content_type().into(),
        data: b.out.into_bytes(),
        labels: b.labels,
    }
}

/// A document of type `t` with `items` planted values, `pii_percent` of
/// them positives.
pub fn document(rng: &mut Rng, t: DocType, index: usize, items: usize, pii_percent: usize) -> Doc {
    let mut b = builder(t);
    head(&mut b, rng);
    for i in 0..items {
        let rows = if rng.chance(pii_percent) { values::POSITIVES } else { values::NEGATIVES };
        let v = values::pick(rng, rows).make(rng);
        record(&mut b, rng, &v, i == 0);
    }
    tail(&mut b, items);
    finish(b, index)
}

/// A document of type `t` of about `bytes` bytes with decoys only.
pub fn document_of_size(rng: &mut Rng, t: DocType, index: usize, bytes: usize) -> Doc {
    let mut b = builder(t);
    head(&mut b, rng);
    let mut n = 0;
    while b.out.len() < bytes {
        let v = values::pick(rng, values::NEGATIVES).make(rng);
        debug_assert_eq!(v.class, Class::Decoy);
        record(&mut b, rng, &v, n == 0);
        n += 1;
    }
    tail(&mut b, n);
    finish(b, index)
}
