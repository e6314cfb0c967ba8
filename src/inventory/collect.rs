//! What a request carries: a request body (form-urlencoded, JSON,
//! multipart/form-data, text) or a query string projected onto the bytes
//! the detection engine scans, with the field each scanned byte belongs to
//! (a form field name, a JSON path, a multipart part name).
//!
//! The projection is a byte-at-a-time state machine, so any split of the
//! raw stream into chunks gives the same scanned bytes and the same fields.
//! Form bodies and query strings are percent-decoded (`%40` is an `@`, `+`
//! a space) so that `jane%40example.com` is seen as the address it is;
//! multipart bodies yield the content of their text parts, one line break
//! between parts, while file parts (a `filename` in their disposition) are
//! not scanned: only their declared type is kept. Every scanned byte maps
//! back to the raw byte it came from ([`Projection::release`]): the request
//! side forwards a raw byte only once the engine has let go of the scanned
//! bytes it produced.
//!
//! Memory is bounded whatever the body holds: the mapping keeps only the
//! marks of bytes the engine still holds, the field log the spans of the
//! last `retain` bytes, names are cut at [`MAX_KEY`] bytes and multipart
//! header lines at [`MAX_HEADER_LINE`]. It never keeps a value: names are
//! checked by the engine when a path is rendered ([`super::fields::render`]).
//! It knows nothing of HTTP libraries or async runtimes.

use std::collections::VecDeque;

use super::fields::{JsonTracker, SpanLog, MAX_KEY, SEG_KEY};

/// Declared types of file parts kept per request.
pub const MAX_FILE_TYPES: usize = 16;
/// Longest multipart header line read; the rest of a longer one is ignored.
pub const MAX_HEADER_LINE: usize = 1024;
/// Longest multipart boundary (RFC 2046 allows 70).
const MAX_BOUNDARY: usize = 70;
/// Longest declared file type kept (longer ones count as `other`).
const MAX_TYPE: usize = 64;

/// How a request body is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `application/json`, `application/*+json`.
    Json,
    /// `multipart/form-data` with its boundary.
    Multipart(Vec<u8>),
    /// Text types (and a body without a Content-Type): scanned as they are.
    Text,
}

impl Format {
    /// The format of a request body with this `Content-Type`; `None` for a
    /// type that is not scanned (binary uploads, images...).
    pub fn of(content_type: Option<&str>) -> Option<Format> {
        let Some(ct) = content_type else { return Some(Format::Text) };
        let mut params = ct.split(';');
        let essence = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let (top, sub) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
        match (top, sub) {
            ("application", "x-www-form-urlencoded") => Some(Format::Form),
            ("application", "json") => Some(Format::Json),
            (_, s) if s.ends_with("+json") => Some(Format::Json),
            ("multipart", "form-data") => {
                let boundary = params.find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"'))
                });
                match boundary {
                    Some(b) if !b.is_empty() && b.len() <= MAX_BOUNDARY => {
                        Some(Format::Multipart(b.as_bytes().to_vec()))
                    }
                    // No usable boundary: every byte is scanned.
                    _ => Some(Format::Text),
                }
            }
            ("text", _) => Some(Format::Text),
            ("application", "xml" | "graphql" | "javascript") => Some(Format::Text),
            (_, s) if s.ends_with("+xml") => Some(Format::Text),
            _ => None,
        }
    }
}

/// Where scanned bytes come from in the raw stream: marks `(scanned, raw)`
/// where the mapping changes; between marks one scanned byte is one raw
/// byte.
#[derive(Debug)]
struct Map {
    scanned: u64,
    marks: VecDeque<(u64, u64)>,
}

impl Map {
    fn emit(&mut self, out: &mut Vec<u8>, b: u8, raw: u64) {
        let &(s0, r0) = self.marks.back().expect("one mark at least");
        if r0 + (self.scanned - s0) != raw {
            self.marks.push_back((self.scanned, raw));
        }
        out.push(b);
        self.scanned += 1;
    }

    /// Raw bytes that map one to one (text and JSON bodies).
    fn emit_all(&mut self, out: &mut Vec<u8>, bytes: &[u8], raw: u64) {
        if let Some(&first) = bytes.first() {
            self.emit(out, first, raw);
            out.extend_from_slice(&bytes[1..]);
            self.scanned += bytes.len() as u64 - 1;
        }
    }
}

/// The current field of a form or multipart body.
#[derive(Debug, Default)]
struct Field {
    /// Encoded path: [`SEG_KEY`] and the (cut) name.
    path: Vec<u8>,
    /// Scanned offset where the open value started.
    value_start: u64,
    open: bool,
}

impl Field {
    fn start_name(&mut self, prefix: &[u8]) {
        self.path.clear();
        self.path.push(SEG_KEY);
        self.path.extend_from_slice(prefix);
        self.open = false;
    }

    fn name_byte(&mut self, b: u8) {
        if self.path.len() <= MAX_KEY {
            // Control bytes would read as path markers.
            self.path.push(if b < b' ' { b'?' } else { b });
        }
    }

    fn open_value(&mut self, at: u64) {
        self.value_start = at;
        self.open = true;
    }

    fn close_value(&mut self, log: &mut SpanLog, end: u64) {
        if std::mem::take(&mut self.open) {
            log.push(self.value_start, end, &self.path, end);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormLex {
    Name,
    Value,
}

/// Percent-decoding form reader.
#[derive(Debug)]
struct Form {
    lex: FormLex,
    /// `%` seen: how many of its two hex digits so far, the first's value
    /// and the raw offset of the `%`.
    esc: Option<(u8, u8, u64)>,
    prefix: &'static [u8],
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

impl Form {
    fn feed(
        &mut self,
        b: u8,
        r: u64,
        m: &mut Map,
        f: &mut Field,
        log: &mut SpanLog,
        out: &mut Vec<u8>,
    ) {
        match self.esc {
            Some((0, _, start)) => match hex(b) {
                Some(h) => {
                    self.esc = Some((1, h, start));
                    return;
                }
                None => {
                    self.esc = None;
                    self.decoded(b'%', start, m, f, out);
                }
            },
            Some((_, hi, start)) => {
                self.esc = None;
                match hex(b) {
                    Some(lo) => {
                        self.decoded(hi * 16 + lo, start, m, f, out);
                        return;
                    }
                    None => {
                        self.decoded(b'%', start, m, f, out);
                        let first = if hi < 10 { b'0' + hi } else { b'A' + hi - 10 };
                        self.decoded(first, start + 1, m, f, out);
                    }
                }
            }
            None => {}
        }
        match (self.lex, b) {
            (_, b'%') => self.esc = Some((0, 0, r)),
            (_, b'&') => {
                f.close_value(log, m.scanned);
                self.lex = FormLex::Name;
                f.start_name(self.prefix);
                m.emit(out, b'&', r);
            }
            (FormLex::Name, b'=') => {
                m.emit(out, b'=', r);
                self.lex = FormLex::Value;
                f.open_value(m.scanned);
            }
            (_, b'+') => self.decoded(b' ', r, m, f, out),
            _ => self.decoded(b, r, m, f, out),
        }
    }

    fn decoded(&mut self, b: u8, r: u64, m: &mut Map, f: &mut Field, out: &mut Vec<u8>) {
        if self.lex == FormLex::Name {
            f.name_byte(b);
        }
        m.emit(out, b, r);
    }

    fn finish(&mut self, m: &mut Map, f: &mut Field, log: &mut SpanLog, out: &mut Vec<u8>) {
        if let Some((n, hi, start)) = self.esc.take() {
            self.decoded(b'%', start, m, f, out);
            if n == 1 {
                let first = if hi < 10 { b'0' + hi } else { b'A' + hi - 10 };
                self.decoded(first, start + 1, m, f, out);
            }
        }
        f.close_value(log, m.scanned);
    }

    fn undecided_from(&self, raw: u64) -> u64 {
        self.esc.map_or(raw, |(_, _, start)| start)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Before the first delimiter.
    Preamble,
    /// Right after a delimiter: `--` ends the body, else the line ends.
    AfterDelimiter {
        dash: bool,
    },
    /// The rest of the delimiter line.
    DelimiterLine,
    Headers,
    Body,
    /// After the closing delimiter.
    Done,
}

/// `multipart/form-data` reader.
#[derive(Debug)]
struct Multipart {
    /// `\r\n--` and the boundary.
    delim: Vec<u8>,
    /// Delimiter bytes matched so far and the raw offset of the first.
    matched: usize,
    match_start: u64,
    state: Part,
    line: Vec<u8>,
    file: bool,
    ctype: Vec<u8>,
    /// A part has been scanned (a separator goes before the next one).
    any_text: bool,
}

impl Multipart {
    fn new(boundary: &[u8]) -> Multipart {
        let mut delim = b"\r\n--".to_vec();
        delim.extend_from_slice(boundary);
        // The first delimiter may open the body without a line break.
        Multipart {
            delim,
            matched: 2,
            match_start: 0,
            state: Part::Preamble,
            line: Vec::new(),
            file: false,
            ctype: Vec::new(),
            any_text: false,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn feed(
        &mut self,
        b: u8,
        r: u64,
        m: &mut Map,
        f: &mut Field,
        log: &mut SpanLog,
        files: &mut Vec<String>,
        out: &mut Vec<u8>,
    ) {
        match self.state {
            Part::Preamble | Part::Body => {
                if b == self.delim[self.matched] {
                    if self.matched == 0 {
                        self.match_start = r;
                    }
                    self.matched += 1;
                    if self.matched == self.delim.len() {
                        self.matched = 0;
                        if self.state == Part::Body {
                            f.close_value(log, m.scanned);
                        }
                        self.state = Part::AfterDelimiter { dash: false };
                    }
                    return;
                }
                if self.matched > 0 {
                    // Not a delimiter after all: what matched is content.
                    let n = std::mem::take(&mut self.matched);
                    if self.state == Part::Body {
                        for i in 0..n {
                            self.content(self.delim[i], self.match_start + i as u64, m, out);
                        }
                    }
                    if b == self.delim[0] {
                        self.match_start = r;
                        self.matched = 1;
                        return;
                    }
                }
                if self.state == Part::Body {
                    self.content(b, r, m, out);
                }
            }
            Part::AfterDelimiter { dash } => match b {
                b'-' if dash => self.state = Part::Done,
                b'-' => self.state = Part::AfterDelimiter { dash: true },
                b'\n' => self.start_headers(),
                _ => self.state = Part::DelimiterLine,
            },
            Part::DelimiterLine => {
                if b == b'\n' {
                    self.start_headers();
                }
            }
            Part::Headers => {
                if b != b'\n' {
                    if self.line.len() < MAX_HEADER_LINE {
                        self.line.push(b);
                    }
                    return;
                }
                if self.line.last() == Some(&b'\r') {
                    self.line.pop();
                }
                if self.line.is_empty() {
                    self.start_body(r, m, f, files, out);
                } else {
                    self.header(f);
                    self.line.clear();
                }
            }
            Part::Done => {}
        }
    }

    fn start_headers(&mut self) {
        self.state = Part::Headers;
        self.line.clear();
        self.file = false;
        self.ctype.clear();
    }

    /// One part header line (`Content-Disposition`, `Content-Type`).
    fn header(&mut self, f: &mut Field) {
        let line = &self.line;
        let Some(colon) = line.iter().position(|&b| b == b':') else { return };
        let name = line[..colon].trim_ascii();
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-type") {
            let essence = value.split(|&b| b == b';').next().unwrap_or(b"").trim_ascii();
            self.ctype = essence.to_ascii_lowercase();
        } else if name.eq_ignore_ascii_case(b"content-disposition") {
            f.start_name(b"");
            for param in value.split(|&b| b == b';').skip(1) {
                let param = param.trim_ascii();
                let Some(eq) = param.iter().position(|&b| b == b'=') else { continue };
                let key = param[..eq].trim_ascii();
                let v = param[eq + 1..].trim_ascii();
                let v = v.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")).unwrap_or(v);
                if key.eq_ignore_ascii_case(b"name") {
                    f.start_name(b"");
                    v.iter().for_each(|&b| f.name_byte(b));
                } else if key.eq_ignore_ascii_case(b"filename")
                    || key.eq_ignore_ascii_case(b"filename*")
                {
                    self.file = true;
                }
            }
        }
    }

    fn start_body(
        &mut self,
        r: u64,
        m: &mut Map,
        f: &mut Field,
        files: &mut Vec<String>,
        out: &mut Vec<u8>,
    ) {
        self.state = Part::Body;
        if self.file {
            if files.len() < MAX_FILE_TYPES {
                files.push(file_type(&self.ctype));
            }
            return;
        }
        // Parts are scanned as one stream: a line break between two keeps
        // the end of one and the start of the next from reading as one
        // value.
        if std::mem::replace(&mut self.any_text, true) {
            m.emit(out, b'\n', r);
        }
        f.open_value(m.scanned);
    }

    fn content(&mut self, b: u8, r: u64, m: &mut Map, out: &mut Vec<u8>) {
        if !self.file {
            m.emit(out, b, r);
        }
    }

    fn finish(&mut self, m: &mut Map, f: &mut Field, log: &mut SpanLog, out: &mut Vec<u8>) {
        if self.state == Part::Body {
            let n = std::mem::take(&mut self.matched);
            for i in 0..n {
                self.content(self.delim[i], self.match_start + i as u64, m, out);
            }
            f.close_value(log, m.scanned);
        }
    }

    fn undecided_from(&self, raw: u64) -> u64 {
        if self.state == Part::Body && self.matched > 0 {
            self.match_start
        } else {
            raw
        }
    }
}

/// A declared file type as kept: `type/subtype` in lower case when it
/// looks like one, else `other` (absent: `application/octet-stream`, the
/// default of RFC 7578).
fn file_type(ctype: &[u8]) -> String {
    if ctype.is_empty() {
        return "application/octet-stream".into();
    }
    let token = |s: &[u8]| {
        !s.is_empty() && s.iter().all(|&b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match ctype.iter().position(|&b| b == b'/') {
        Some(i) if ctype.len() <= MAX_TYPE && token(&ctype[..i]) && token(&ctype[i + 1..]) => {
            String::from_utf8_lossy(ctype).into_owned()
        }
        _ => "other".into(),
    }
}

#[derive(Debug)]
enum Mode {
    Text,
    Json(JsonTracker),
    Form(Form),
    Multipart(Box<Multipart>),
}

/// One request body (or query string) on its way to the engine.
#[derive(Debug)]
pub struct Projection {
    mode: Mode,
    raw: u64,
    map: Map,
    field: Field,
    log: SpanLog,
    files: Vec<String>,
}

impl Projection {
    /// A body of this format; field spans of the last `retain` scanned
    /// bytes are remembered.
    pub fn new(format: &Format, retain: usize) -> Projection {
        let mode = match format {
            Format::Text => Mode::Text,
            Format::Json => Mode::Json(JsonTracker::new(retain)),
            Format::Form => Mode::Form(Form { lex: FormLex::Name, esc: None, prefix: b"" }),
            Format::Multipart(b) => Mode::Multipart(Box::new(Multipart::new(b))),
        };
        let mut field = Field::default();
        field.start_name(b"");
        Projection {
            mode,
            raw: 0,
            map: Map { scanned: 0, marks: VecDeque::from([(0, 0)]) },
            field,
            log: SpanLog::new(retain),
            files: Vec::new(),
        }
    }

    /// A query string (without its `?`): read as a form, its field names
    /// shown as `?name`.
    pub fn query(retain: usize) -> Projection {
        let mut p = Projection::new(&Format::Form, retain);
        if let Mode::Form(f) = &mut p.mode {
            f.prefix = b"?";
        }
        p.field.start_name(b"?");
        p
    }

    /// Reads `raw` and appends the bytes to scan to `out`.
    pub fn feed(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        let base = self.raw;
        self.raw += raw.len() as u64;
        let (m, f, log) = (&mut self.map, &mut self.field, &mut self.log);
        match &mut self.mode {
            Mode::Text => m.emit_all(out, raw, base),
            Mode::Json(t) => {
                let from = out.len();
                m.emit_all(out, raw, base);
                t.feed(&out[from..]);
            }
            Mode::Form(form) => {
                for (i, &b) in raw.iter().enumerate() {
                    form.feed(b, base + i as u64, m, f, log, out);
                }
            }
            Mode::Multipart(mp) => {
                for (i, &b) in raw.iter().enumerate() {
                    mp.feed(b, base + i as u64, m, f, log, &mut self.files, out);
                }
            }
        }
    }

    /// The body ended: appends what was still undecided.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let (m, f, log) = (&mut self.map, &mut self.field, &mut self.log);
        match &mut self.mode {
            Mode::Text | Mode::Json(_) => {}
            Mode::Form(form) => form.finish(m, f, log, out),
            Mode::Multipart(mp) => mp.finish(m, f, log, out),
        }
    }

    /// Scanned bytes produced so far.
    pub fn scanned(&self) -> u64 {
        self.map.scanned
    }

    /// How many raw bytes may be forwarded once the engine has emitted
    /// (let go of) the first `emitted` scanned bytes: every raw byte before
    /// the one the first held scanned byte came from, and none whose fate
    /// is still undecided (a `%` escape or a possible multipart delimiter
    /// cut by the chunk's end). Forgets the marks before `emitted`.
    pub fn release(&mut self, emitted: u64) -> u64 {
        let undecided = match &self.mode {
            Mode::Form(f) => f.undecided_from(self.raw),
            Mode::Multipart(mp) => mp.undecided_from(self.raw),
            _ => self.raw,
        };
        if emitted >= self.map.scanned {
            // Everything scanned is emitted: drop every mark but the last.
            while self.map.marks.len() > 1 {
                self.map.marks.pop_front();
            }
            return undecided;
        }
        let marks = &mut self.map.marks;
        while marks.len() > 1 && marks[1].0 <= emitted {
            marks.pop_front();
        }
        let (s, r) = marks[0];
        (r + (emitted - s)).min(undecided)
    }

    /// The raw offset scanned byte `scanned` came from, while its mark is
    /// kept (`None` once [`Self::release`] forgot it).
    pub fn raw_of(&self, scanned: u64) -> Option<u64> {
        let i = self.map.marks.partition_point(|&(s, _)| s <= scanned);
        let &(s, r) = self.map.marks.get(i.checked_sub(1)?)?;
        Some(r + (scanned - s))
    }

    /// The encoded field path of the scanned bytes `start..end`, if known
    /// (render it with [`super::fields::render`]).
    pub fn field(&self, start: u64, end: u64) -> Option<&[u8]> {
        match &self.mode {
            Mode::Text => None,
            Mode::Json(t) => t.path_of(start, end),
            Mode::Form(_) | Mode::Multipart(_) => {
                if self.field.open && start >= self.field.value_start {
                    return Some(&self.field.path);
                }
                self.log.find(start, end)
            }
        }
    }

    /// Declared types of the file parts seen (at most [`MAX_FILE_TYPES`]).
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Marks kept (for tests of the memory bound).
    pub fn marks(&self) -> usize {
        self.map.marks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{ContentHint, Scanner};
    use crate::inventory::fields::render;
    use crate::inventory::tests_support::engine;
    use proptest::prelude::*;

    /// Scanned bytes, (kind, field) of every finding and the file types of
    /// `body` fed in pieces cut at `cuts`.
    fn project(
        format: &Format,
        body: &[u8],
        cuts: &[usize],
    ) -> (Vec<u8>, Vec<(String, String)>, Vec<String>) {
        let e = engine();
        let hint = if *format == Format::Json { ContentHint::Json } else { ContentHint::Text };
        let mut p = Projection::new(format, 1 << 16);
        let mut sc = Scanner::new(e.clone(), hint);
        let (mut scanned, mut out, mut found) = (Vec::new(), Vec::new(), Vec::new());
        let mut fields = Vec::new();
        let mut at = 0;
        let mut step = |p: &mut Projection, piece: &[u8], end: bool, sc: &mut Scanner| {
            let from = scanned.len();
            p.feed(piece, &mut scanned);
            if end {
                p.finish(&mut scanned);
            }
            sc.feed(&scanned[from..], &mut out, &mut found);
            if end {
                sc.finish(&mut out, &mut found);
            }
            for f in found.drain(..) {
                let path = p.field(f.start, f.end).map(|enc| render(&e, enc, 128));
                fields.push((e.kind_name(f.kind).to_string(), path.unwrap_or_default()));
            }
            let emitted = sc.consumed() - sc.held() as u64;
            p.release(emitted);
        };
        for &c in cuts {
            let to = (at + c).min(body.len());
            step(&mut p, &body[at..to], false, &mut sc);
            at = to;
        }
        step(&mut p, &body[at..], true, &mut sc);
        let files = p.files().to_vec();
        (scanned, fields, files)
    }

    const FORM: &[u8] =
        b"name=Jane&email=jane.doe%40example.com&card%5Bnumber%5D=4111+1111+1111+1111&ssn=536-22-1945&pct=100%25&bad=%zz%4";

    const MULTIPART: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\njane@example.com\r\n--XyZ\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"me.png\"\r\nContent-Type: image/png\r\n\r\n4111111111111111\r\n--Xy\r\n--XyZ\r\nContent-Disposition: form-data; name=\"card\"\r\n\r\n4111 1111 1111 1111\r\n--XyZ--\r\nepilogue 4111111111111111";

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn forms_are_decoded_and_fields_named() {
        let (scanned, fields, _) = project(&Format::Form, FORM, &[]);
        assert_eq!(
            String::from_utf8(scanned).unwrap(),
            "name=Jane&email=jane.doe@example.com&card[number]=4111 1111 1111 1111&ssn=536-22-1945&pct=100%&bad=%zz%4"
        );
        assert_eq!(fields, pairs(&[("email", "email"), ("card", "card[number]"), ("ssn", "ssn")]));
        let mut q = Projection::query(1024);
        let mut out = Vec::new();
        q.feed(b"q=jane%40example.com", &mut out);
        q.finish(&mut out);
        assert_eq!(
            q.field(2, out.len() as u64).map(|p| render(&engine(), p, 64)).as_deref(),
            Some("?q")
        );
    }

    #[test]
    fn multipart_scans_text_parts_and_counts_files_by_type() {
        let fmt = Format::of(Some("multipart/form-data; boundary=\"XyZ\"")).unwrap();
        assert_eq!(fmt, Format::Multipart(b"XyZ".to_vec()));
        let (scanned, fields, files) = project(&fmt, MULTIPART, &[]);
        // The file's bytes, the preamble and the epilogue are not scanned;
        // a near-delimiter inside a part is content.
        assert_eq!(String::from_utf8(scanned).unwrap(), "jane@example.com\n4111 1111 1111 1111");
        assert_eq!(fields, pairs(&[("email", "email"), ("card", "card")]));
        assert_eq!(files, ["image/png"]);
    }

    #[test]
    fn formats_follow_the_content_type() {
        let cases = [
            (None, Some(Format::Text)),
            (Some("application/x-www-form-urlencoded; charset=utf-8"), Some(Format::Form)),
            (Some("Application/JSON"), Some(Format::Json)),
            (Some("application/vnd.api+json"), Some(Format::Json)),
            (Some("text/plain"), Some(Format::Text)),
            (Some("multipart/form-data"), Some(Format::Text)),
            (Some("image/png"), None),
            (Some("application/octet-stream"), None),
        ];
        for (ct, want) in cases {
            assert_eq!(Format::of(ct), want, "{ct:?}");
        }
        assert_eq!(file_type(b"image/png"), "image/png");
        assert_eq!(file_type(b""), "application/octet-stream");
        assert_eq!(file_type(b"jane@example.com"), "other");
    }

    #[test]
    fn released_raw_bytes_never_hold_a_held_scanned_byte() {
        // Every escape shifts the mapping: released raw bytes are exactly
        // the ones whose scanned bytes were emitted.
        let mut p = Projection::new(&Format::Form, 1024);
        let mut out = Vec::new();
        p.feed(b"a=%41%42c", &mut out);
        assert_eq!(out, b"a=ABc");
        assert_eq!(p.release(2), 2);
        assert_eq!(p.release(3), 5);
        assert_eq!(p.release(4), 8);
        assert_eq!(p.release(5), 9);
        // A `%` cut by the chunk's end is undecided.
        p.feed(b"%4", &mut out);
        assert_eq!(p.release(out.len() as u64), 9);
        assert!(p.marks() <= 2);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut p = Projection::new(&Format::Form, 1024);
        let mut out = Vec::new();
        for _ in 0..10_000 {
            out.clear();
            p.feed(b"k%41=v%42&", &mut out);
            let s = p.scanned();
            p.release(s);
        }
        assert!(p.marks() <= 2);
        let mut mp = Projection::new(&Format::Multipart(b"b".to_vec()), 1024);
        let long = vec![b'x'; 100_000];
        mp.feed(b"--b\r\nContent-Disposition: form-data; name=\"", &mut out);
        mp.feed(&long, &mut out);
        if let Mode::Multipart(m) = &mp.mode {
            assert!(m.line.len() <= MAX_HEADER_LINE);
        }
        assert!(mp.field.path.len() <= MAX_KEY + 1);
    }

    proptest! {
        #[test]
        fn projection_does_not_depend_on_chunking(cuts in proptest::collection::vec(1usize..20, 0..30)) {
            let mp = Format::Multipart(b"XyZ".to_vec());
            for (fmt, body) in [(Format::Form, FORM), (mp, MULTIPART)] {
                let whole = project(&fmt, body, &[]);
                let split = project(&fmt, body, &cuts);
                prop_assert_eq!(whole, split);
            }
        }
    }
}
