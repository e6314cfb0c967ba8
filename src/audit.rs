//! The audit log: one JSON line per response with findings (and per block),
//! saying what was found where. It must never write a raw sensitive value:
//! only kinds, counts, actions and keyed fingerprints. The request path is
//! written without its query string, percent-decoded and passed through
//! the engine ([`masked`]), so a card number in a URL path (or a client's
//! request id) is masked in the audit line too; an extension method is
//! written as `other`.
//!
//! Lines are serialized by the caller and queued to the shared line writer
//! ([`crate::linelog`], also used by the access log): one thread owns the
//! output, the queue is bounded ([`QUEUE_LINES`]), and a dropped line is
//! counted by the caller (`leakwarden_audit_lines_dropped_total`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::Method;
use serde::Serialize;

use crate::config::policy::{AuditOutput, AuditSection};
use crate::config::ConfigError;
use crate::detect::{ContentHint, Engine, Fingerprint};
use crate::metrics::{method_index, METHODS};

/// Most distinct fingerprints listed in one audit line.
pub const MAX_FINGERPRINTS: usize = 32;

use crate::linelog::{json, LineSink, Target};
pub use crate::linelog::{MemoryLog, QUEUE_LINES};

/// Where audit lines go: the shared line writer ([`crate::linelog`]), a
/// bounded queue to a thread that owns the output. Callers (async
/// workers, `Drop` of a body) only serialize the line and try to queue it;
/// they never wait for a lock or a disk.
#[derive(Debug, Default)]
pub struct AuditSink(LineSink);

impl AuditSink {
    /// An audit sink that writes nothing.
    pub fn disabled() -> AuditSink {
        AuditSink(LineSink::disabled())
    }

    /// Opens the sink the `[audit]` section describes. A file is created if
    /// missing and always appended to.
    pub fn from_config(section: &AuditSection) -> Result<AuditSink, ConfigError> {
        if section.enabled == Some(false) {
            return Ok(AuditSink::disabled());
        }
        let output = section.output.unwrap_or(AuditOutput::Stdout);
        let target = output_target("audit", output, section.path.as_ref())?;
        LineSink::open("audit", &target).map(AuditSink).map_err(|source| ConfigError::Io {
            file: match &target {
                Target::File(p) => p.display().to_string(),
                _ => "audit writer thread".to_string(),
            },
            source,
        })
    }

    /// A sink writing to any writer (tests use an in-memory buffer).
    ///
    /// # Panics
    /// When the writer thread cannot be started.
    pub fn from_writer(w: Box<dyn std::io::Write + Send>) -> AuditSink {
        AuditSink(LineSink::from_writer("audit", w))
    }

    /// An in-memory sink and a handle on what it wrote.
    pub fn memory() -> (AuditSink, MemoryLog) {
        let (sink, log) = LineSink::memory("audit");
        (AuditSink(sink), log)
    }

    pub fn enabled(&self) -> bool {
        self.0.enabled()
    }

    /// Serializes one record and queues it as a JSON line. Returns false
    /// when the line was dropped (queue full, writer gone): the caller
    /// counts it. Audit failures never propagate: they must not take the
    /// proxy down.
    pub fn write(&self, record: &AuditRecord<'_>) -> bool {
        if !self.0.enabled() {
            return true;
        }
        let mut line = Vec::with_capacity(LINE_CAPACITY);
        record.write_json(&mut line);
        line.push(b'\n');
        self.0.write_line(line)
    }

    /// Reopens a file output (SIGUSR1, after logrotate); never blocks.
    pub fn reopen(&self) {
        self.0.reopen();
    }

    /// Blocks until every line queued so far is written and flushed (or
    /// five seconds pass). For shutdown and tests: never on an async
    /// worker.
    pub fn sync(&self) {
        self.0.sync();
    }
}

/// The output an `output`/`path` pair of settings names (the `[audit]`
/// and `[access_log]` sections share them); `section` names it in errors.
pub fn output_target(
    section: &str,
    output: AuditOutput,
    path: Option<&std::path::PathBuf>,
) -> Result<Target, ConfigError> {
    if output != AuditOutput::File && path.is_some() {
        return Err(ConfigError::Invalid(format!(
            "{section}: path is only used with output = \"file\""
        )));
    }
    Ok(match output {
        AuditOutput::Stdout => Target::Stdout,
        AuditOutput::Stderr => Target::Stderr,
        AuditOutput::File => Target::File(path.cloned().ok_or_else(|| {
            ConfigError::Invalid(format!("{section}: output = \"file\" needs a path"))
        })?),
    })
}

/// One audit line. Every field is either configuration-bounded (route,
/// kind and action names), protocol metadata, or a keyed fingerprint.
#[derive(Debug, Serialize)]
pub struct AuditRecord<'a> {
    /// RFC 3339 UTC, millisecond precision.
    pub ts: String,
    pub request_id: &'a str,
    pub route: &'a str,
    pub method: &'a str,
    /// Request path without the query string, masked by the engine.
    pub path: &'a str,
    /// Status the client got (the block status when blocked before headers).
    pub status: u16,
    pub mode: &'static str,
    pub policy: &'a str,
    pub client: SocketAddr,
    /// Findings per kind name.
    pub counts: BTreeMap<&'a str, u64>,
    /// Action taken per kind name found: the configured one in enforce
    /// mode, `monitor` in monitor mode (the value passed unchanged).
    pub actions: BTreeMap<&'a str, &'static str>,
    /// Monitor mode: the action enforce mode would have taken per kind.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub would_actions: BTreeMap<&'a str, &'static str>,
    /// Distinct keyed fingerprints, at most [`MAX_FINGERPRINTS`], written
    /// as their `Display` (24 hex digits).
    #[serde(serialize_with = "fingerprints_as_hex")]
    pub fingerprints: &'a [Fingerprint],
    /// True when more distinct values were found than are listed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fingerprints_truncated: bool,
    /// Why the response was blocked, if it was (in monitor mode: why it
    /// would have been).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<&'static str>,
    /// Monitor mode: why enforce mode would have blocked the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_block: Option<&'static str>,
    /// False when the body did not reach its end (client gone, upstream
    /// error, abort).
    pub complete: bool,
    /// The exfiltration budget decision, with the client's keyed hash
    /// (absent when the policy has no budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exfil: Option<crate::exfil::AuditNote<'a>>,
    /// `"request"` on the line of what a request carried (its query string
    /// and body); absent on a response's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<&'static str>,
}

/// Fingerprints as serde writes them: a sequence of their `Display`.
fn fingerprints_as_hex<S: serde::Serializer>(fs: &&[Fingerprint], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(fs.iter().map(|f| f.to_string()))
}

/// Room for a usual line (about 500 bytes with a few fingerprints) without
/// growing the buffer.
const LINE_CAPACITY: usize = 768;

impl AuditRecord<'_> {
    /// Appends the record as one JSON object, byte for byte what
    /// `serde_json::to_vec` writes for it (unit-tested against it), without
    /// serde's machinery: a page with findings writes one per response,
    /// and through serde it cost ~8,000 instructions (~10,000 with a
    /// budget's note), as much as the access line did.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = json::Object::new(out);
        o.string("ts", &self.ts);
        o.string("request_id", self.request_id);
        o.string("route", self.route);
        o.string("method", self.method);
        o.string("path", self.path);
        o.uint("status", u64::from(self.status));
        o.string("mode", self.mode);
        o.string("policy", self.policy);
        json::socket_addr(o.key("client"), self.client);
        json::object(o.key("counts"), &self.counts, |out, n| json::uint(out, *n));
        json::object(o.key("actions"), &self.actions, |out, a| json::string(out, a));
        if !self.would_actions.is_empty() {
            json::object(o.key("would_actions"), &self.would_actions, |out, a| {
                json::string(out, a)
            });
        }
        let list = o.key("fingerprints");
        list.push(b'[');
        for (i, f) in self.fingerprints.iter().enumerate() {
            if i > 0 {
                list.push(b',');
            }
            // A dense page lists up to MAX_FINGERPRINTS.
            json::hex(list, &f.0);
        }
        list.push(b']');
        if self.fingerprints_truncated {
            o.boolean("fingerprints_truncated", true);
        }
        if let Some(b) = self.blocked {
            o.string("blocked", b);
        }
        if let Some(b) = self.would_block {
            o.string("would_block", b);
        }
        o.boolean("complete", self.complete);
        if let Some(note) = &self.exfil {
            let mut n = json::Object::new(o.key("exfil"));
            json::hex(n.key("key"), &note.key.0);
            n.string("decision", note.decision);
            if let Some(kind) = note.kind {
                n.string("kind", kind);
            }
            n.string("action", note.action);
            n.string("source", note.source.as_str());
            n.end();
        }
        if let Some(side) = self.side {
            o.string("side", side);
        }
        o.end();
    }
}

/// Percent-decoding rounds applied before masking: a value encoded twice
/// (`%2534`) is still found; more layers than this are not decoded (and a
/// server would not decode them either).
const DECODE_ROUNDS: usize = 3;

/// A request-controlled text (path, request id) as it may be written to a
/// log line: percent-decoded (so `4111%201111...` is seen as the engine
/// would see it in a body), then every span the engine detects is masked,
/// whatever the policy's action for its kind (an email the policy only
/// detects in bodies is still a value that must not reach a log). Letters
/// and digits inside a span become `*`; separators stay, so the shape is
/// still readable.
pub fn masked(engine: &Arc<Engine>, text: &str) -> String {
    let mut text = std::borrow::Cow::Borrowed(text);
    for _ in 0..DECODE_ROUNDS {
        if !text.contains('%') {
            break;
        }
        let decoded = percent_encoding::percent_decode_str(&text).decode_utf8_lossy();
        if decoded == text {
            break;
        }
        text = std::borrow::Cow::Owned(decoded.into_owned());
    }
    let (_, findings) = engine.scan_all(text.as_bytes(), ContentHint::Text);
    if findings.is_empty() {
        return text.into_owned();
    }
    let mut bytes = text.into_owned().into_bytes();
    for f in findings {
        let span = f.start as usize..(f.end as usize).min(bytes.len());
        for b in bytes.get_mut(span).into_iter().flatten() {
            if b.is_ascii_alphanumeric() {
                *b = b'*';
            }
        }
    }
    // Only ASCII bytes were replaced by ASCII: still valid UTF-8.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Texts a thread remembers as clean, at most (then it forgets them all).
const CLEAN_TEXTS: usize = 256;

/// Longest text remembered as clean.
const CLEAN_TEXT_MAX: usize = 512;

/// Clean texts are client-controlled; the hasher is seeded per process.
type CleanSet = std::collections::HashSet<Box<str>, foldhash::fast::RandomState>;

thread_local! {
    /// Paths and user agents this thread found clean ([`masked`] gave
    /// them back unchanged), with the engine that scanned them. A site
    /// serves few distinct paths and sees few agents, and masking one runs
    /// the engine (thousands of instructions) on every log line. Only
    /// clean texts are kept, so no value the engine would mask is held
    /// here; the engine is kept by reference, so a reload's new engine
    /// starts afresh.
    static CLEAN: std::cell::RefCell<Option<(Arc<Engine>, CleanSet)>> =
        const { std::cell::RefCell::new(None) };
}

/// [`masked`], answered without scanning for a text this thread found
/// clean before with the same engine (masking is a function of the engine
/// and the text).
pub fn masked_remembered<'t>(engine: &Arc<Engine>, text: &'t str) -> std::borrow::Cow<'t, str> {
    use std::borrow::Cow;
    let known = CLEAN.with(|clean| {
        let clean = clean.borrow();
        clean.as_ref().is_some_and(|(e, set)| Arc::ptr_eq(e, engine) && set.contains(text))
    });
    if known {
        return Cow::Borrowed(text);
    }
    let out = masked(engine, text);
    if out != text {
        return Cow::Owned(out);
    }
    if text.len() <= CLEAN_TEXT_MAX {
        CLEAN.with(|clean| {
            let mut clean = clean.borrow_mut();
            let fresh = match &*clean {
                Some((e, set)) => !Arc::ptr_eq(e, engine) || set.len() >= CLEAN_TEXTS,
                None => true,
            };
            if fresh {
                *clean = Some((engine.clone(), CleanSet::default()));
            }
            if let Some((_, set)) = &mut *clean {
                set.insert(text.into());
            }
        });
    }
    Cow::Borrowed(text)
}

/// The method as an audit line writes it: one of the bounded metric labels
/// ([`METHODS`]), `other` for an extension method (its name is
/// client-controlled text).
pub fn method_label(method: &Method) -> &'static str {
    METHODS[method_index(method)]
}

/// An exchange's request id, and who made it: an id this guard generated
/// is written to logs as it is (it cannot carry a client's value, and
/// masking it would cost an engine scan per line for nothing); one the
/// client sent is masked like any client text ([`masked`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId {
    id: Arc<str>,
    generated: bool,
}

impl RequestId {
    /// An id this guard made.
    pub fn generated(id: &str) -> RequestId {
        RequestId { id: id.into(), generated: true }
    }

    /// An id the client sent.
    pub fn from_client(id: &str) -> RequestId {
        RequestId { id: id.into(), generated: false }
    }

    /// The id as it travels in headers and block pages.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The id as logs, audit and access lines may show it.
    pub fn for_log(&self, engine: &Arc<Engine>) -> std::borrow::Cow<'_, str> {
        if self.generated {
            std::borrow::Cow::Borrowed(&self.id)
        } else {
            std::borrow::Cow::Owned(masked(engine, &self.id))
        }
    }
}

/// Strips the query string (and fragment) from a path.
pub fn path_without_query(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or("")
}

/// The current time as RFC 3339 UTC with milliseconds, e.g.
/// `2024-05-01T12:34:56.789Z`.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    rfc3339(d.as_secs(), d.subsec_millis())
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC.
pub fn rfc3339(secs: u64, millis: u32) -> String {
    crate::clock::format_utc(secs as i64, Some(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_text_is_masked_as_the_engine_masks_it() {
        let default = crate::policy::Policy::default_policy().engine.clone();
        let mut cfg = crate::detect::EngineConfig::default();
        cfg.detectors.remove(&crate::detect::Kind::Card);
        let other = Arc::new(Engine::new(cfg).unwrap());
        let ua = "agent/1.0 (4111 1111 1111 1111)";
        let long = format!("/{}", "a".repeat(CLEAN_TEXT_MAX));
        // Alternating engines and texts, each twice (the second answer may
        // come from memory): every answer is the engine's own.
        let cases = [
            (&default, ua),
            (&other, ua),
            (&default, "curl/8"),
            (&other, "curl/8"),
            (&default, "/a%20b"),
            (&default, long.as_str()),
            (&other, ua),
            (&default, "curl/8"),
        ];
        for (engine, text) in cases {
            for round in 0..2 {
                assert_eq!(masked_remembered(engine, text), masked(engine, text), "{round}");
            }
        }
        assert_ne!(masked_remembered(&default, ua), masked_remembered(&other, ua));
        // Past its bound the memory starts afresh, and still answers right.
        for i in 0..CLEAN_TEXTS + 3 {
            let path = format!("/p/{i}");
            assert_eq!(masked_remembered(&default, &path), path);
        }
        let held = CLEAN.with(|c| c.borrow().as_ref().map_or(0, |(_, set)| set.len()));
        assert!(held <= CLEAN_TEXTS, "{held}");
    }

    #[test]
    fn a_request_id_is_masked_in_logs_unless_the_guard_made_it() {
        let engine = crate::policy::Policy::default_policy().engine.clone();
        let card = "4111111111111111";
        let cases = [
            (RequestId::from_client(card), "****************"),
            (RequestId::from_client("abc-123"), "abc-123"),
            (
                RequestId::generated("0123456789abcdef0123456789abcdef"),
                "0123456789abcdef0123456789abcdef",
            ),
        ];
        for (id, logged) in cases {
            assert_eq!(id.for_log(&engine), logged, "{id:?}");
        }
        // Travelling in headers, an id is never changed.
        assert_eq!(RequestId::from_client(card).as_str(), card);
    }

    #[test]
    fn rfc3339_known_instants() {
        let cases = [
            (0, 0, "1970-01-01T00:00:00.000Z"),
            (951_782_400, 5, "2000-02-29T00:00:00.005Z"),
            (1_700_000_000, 123, "2023-11-14T22:13:20.123Z"),
            (4_107_542_399, 999, "2100-02-28T23:59:59.999Z"),
            (1_709_251_199, 0, "2024-02-29T23:59:59.000Z"),
        ];
        for (secs, ms, want) in cases {
            assert_eq!(rfc3339(secs, ms), want);
        }
        assert_eq!(now_rfc3339().len(), 24);
    }

    #[test]
    fn query_is_stripped() {
        assert_eq!(path_without_query("/a/b?card=4111111111111111"), "/a/b");
        assert_eq!(path_without_query("/a#frag"), "/a");
        assert_eq!(path_without_query("/plain"), "/plain");
    }

    const ONE_PRINT: [Fingerprint; 1] =
        [Fingerprint(*b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb")];

    fn record(blocked: Option<&'static str>) -> AuditRecord<'static> {
        AuditRecord {
            ts: rfc3339(0, 0),
            request_id: "r1",
            route: "web",
            method: "GET",
            path: "/x",
            status: 200,
            mode: "enforce",
            policy: "default",
            client: "127.0.0.1:5000".parse().unwrap(),
            counts: BTreeMap::from([("card", 2)]),
            actions: BTreeMap::from([("card", "mask")]),
            would_actions: BTreeMap::new(),
            fingerprints: &ONE_PRINT,
            fingerprints_truncated: false,
            blocked,
            would_block: None,
            complete: true,
            exfil: None,
            side: None,
        }
    }

    #[test]
    fn one_json_line_per_record() {
        let (sink, log) = AuditSink::memory();
        assert!(sink.write(&record(None)));
        assert!(sink.write(&record(Some("threshold"))));
        let lines = log.lines();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(v["counts"]["card"], 2);
        assert_eq!(v["actions"]["card"], "mask");
        assert_eq!(v["client"], "127.0.0.1:5000");
        assert!(v.get("blocked").is_none());
        let v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(v["blocked"], "threshold");
    }

    /// The hand-written line is serde_json's, byte for byte: texts with
    /// every byte JSON escapes, both address families, empty and full
    /// maps, every optional field absent and present, every budget note.
    #[test]
    fn the_written_line_is_what_serde_json_writes() {
        use crate::exfil::key::ClientId;
        use crate::exfil::{AuditNote, Source};
        let mut texts: Vec<String> = vec![
            String::new(),
            "/api/v2/customers".into(),
            "quote\" backslash\\ slash/ del\u{7f} caf\u{e9} \u{1F600}".into(),
            "tab\tnl\ncr\rff\u{c}bs\u{8}nul\u{0}esc\u{1b}us\u{1f}".into(),
        ];
        // Every byte below 0x80 at a few places of a 17-byte text.
        for c in 0u8..0x80 {
            for at in [0, 8, 16] {
                let mut t = b"abcdefghijklmnopq".to_vec();
                t[at] = c;
                texts.push(String::from_utf8(t).unwrap());
            }
        }
        let clients: [SocketAddr; 3] = [
            "127.0.0.1:1".parse().unwrap(),
            "255.255.255.255:65535".parse().unwrap(),
            "[fe80::1%3]:443".parse().unwrap(),
        ];
        let notes = [
            None,
            Some(AuditNote {
                key: ClientId([0; 16]),
                decision: "within",
                kind: None,
                action: "block",
                source: Source::Local,
            }),
            Some(AuditNote {
                key: ClientId(*b"0123456789\xab\xcd\xef\x10\xff\x7f"),
                decision: "over_budget",
                kind: Some("card"),
                action: "monitor",
                source: Source::LocalFallback,
            }),
            Some(AuditNote {
                key: ClientId([0xa5; 16]),
                decision: "store_unavailable",
                kind: Some("e\"mail"),
                action: "block",
                source: Source::Redis,
            }),
            Some(AuditNote {
                key: ClientId([7; 16]),
                decision: "store_unavailable",
                kind: None,
                action: "block",
                source: Source::None,
            }),
        ];
        // Fingerprints whose bytes take every value in every place.
        let prints: Vec<Fingerprint> = (0..=255u8)
            .map(|b| {
                Fingerprint(std::array::from_fn(|j| b.wrapping_add((j as u8).wrapping_mul(37))))
            })
            .collect();
        let mut n = 0usize;
        for (i, text) in texts.iter().enumerate() {
            let full = i % 2 == 0;
            let prints = &prints[(i * 7) % 250..];
            let kinds: BTreeMap<&str, u64> = if full {
                [("card", 3), ("e\"mail", u64::MAX), (text.as_str(), 0)].into()
            } else {
                BTreeMap::new()
            };
            let actions: BTreeMap<&str, &'static str> =
                kinds.keys().map(|&k| (k, ["mask", "monitor", "tokenize"][i % 3])).collect();
            let would: BTreeMap<&str, &'static str> = if i % 3 == 0 {
                kinds.keys().map(|&k| (k, "block")).collect()
            } else {
                BTreeMap::new()
            };
            let record = AuditRecord {
                ts: rfc3339(1_700_000_000 + i as u64, (i % 1000) as u32),
                request_id: text,
                route: if full { "web" } else { text },
                method: ["GET", "other"][i % 2],
                path: text,
                status: [200, 404, 502, 0, u16::MAX][i % 5],
                mode: ["enforce", "monitor"][i % 2],
                policy: if i % 4 == 0 { text } else { "default" },
                client: clients[i % clients.len()],
                counts: kinds,
                actions,
                would_actions: would,
                fingerprints: &prints[..i % 5],
                fingerprints_truncated: i % 5 == 1,
                blocked: (i % 3 == 1).then_some("threshold"),
                would_block: (i % 7 == 2).then_some("budget"),
                complete: i % 4 != 3,
                exfil: notes[i % notes.len()].as_ref().map(|n| AuditNote { ..*n }),
                side: (i % 6 == 5).then_some("request"),
            };
            let mut ours = Vec::new();
            record.write_json(&mut ours);
            let theirs = serde_json::to_vec(&record).unwrap();
            assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs), "{i}");
            n += 1;
        }
        assert!(n > 300, "{n}");
    }

    #[test]
    fn file_output_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        std::fs::write(&path, "earlier\n").unwrap();
        let section = AuditSection {
            enabled: None,
            output: Some(AuditOutput::File),
            path: Some(path.clone()),
        };
        let sink = AuditSink::from_config(&section).unwrap();
        assert!(sink.write(&record(None)));
        sink.sync();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("earlier\n{"), "{text}");
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn config_errors() {
        let no_path = AuditSection { enabled: None, output: Some(AuditOutput::File), path: None };
        assert!(AuditSink::from_config(&no_path).unwrap_err().to_string().contains("needs a path"));
        let bad_dir = AuditSection {
            enabled: None,
            output: Some(AuditOutput::File),
            path: Some("/nonexistent-dir/x/audit.log".into()),
        };
        let err = AuditSink::from_config(&bad_dir).unwrap_err().to_string();
        assert!(err.contains("/nonexistent-dir/x/audit.log"), "{err}");
        let off = AuditSection { enabled: Some(false), output: None, path: None };
        assert!(!AuditSink::from_config(&off).unwrap().enabled());
    }
}
