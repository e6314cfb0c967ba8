//! The access log: one JSON line per request, as nginx and Envoy users
//! expect (on by default, to stdout). What it must never do: write a
//! client-controlled text unmasked. The path (without its query string),
//! the request id and the user agent go through [`audit::masked`], the
//! engine of the request's policy, like the audit line; the method is a
//! bounded label; everything else is protocol metadata, configuration
//! names, counts and the scan summary the pipeline hands over through a
//! [`ScanSlot`] (kinds, counts, actions, block reason; never a value).
//!
//! Lines go through the shared line writer ([`crate::linelog`]): queued,
//! never waited for; a dropped line counts in
//! `leakwarden_access_log_lines_dropped_total`.
//!
//! Sampling (`sample_rate`): lines of requests that went wrong or matter
//! for security are always written: status >= 400, a blocked response, a
//! response with findings, a body that did not complete (cut, client
//! gone). The others are
//! kept evenly at the configured rate (a counter, not a random draw, so
//! 0.25 keeps exactly every fourth one).
//!
//! One line is written when the response body the client is sent ends or
//! is dropped ([`crate::proxy::body::Observed`] owns the [`Finished`]
//! record), so the duration runs to the last byte or the abort.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method, Version};
use serde::Serialize;

use crate::audit;
use crate::config::access_log::AccessLogSection;
use crate::config::policy::AuditOutput;
use crate::config::ConfigError;
use crate::detect::Engine;
use crate::linelog::{json, LineSink, MemoryLog};
use crate::metrics::Metrics;

/// The opened access log of one configuration.
#[derive(Debug, Default)]
pub struct AccessLog {
    sink: LineSink,
    sampler: Sampler,
}

/// Keeps `rate` of the lines offered, evenly spaced.
#[derive(Debug)]
struct Sampler {
    rate: f64,
    seen: AtomicU64,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler { rate: 1.0, seen: AtomicU64::new(0) }
    }
}

impl Sampler {
    fn keep(&self) -> bool {
        if self.rate >= 1.0 {
            return true;
        }
        if self.rate <= 0.0 {
            return false;
        }
        // Line n is kept when floor((n + 1) * rate) passes a whole number.
        let n = self.seen.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * self.rate).floor() > (n * self.rate).floor()
    }
}

impl AccessLog {
    /// An access log that writes nothing.
    pub fn disabled() -> AccessLog {
        AccessLog::default()
    }

    /// Opens the log the `[access_log]` section describes (a file is
    /// opened here, so a bad path is a configuration error).
    pub fn from_config(section: &AccessLogSection) -> Result<AccessLog, ConfigError> {
        let rate = section.sample_rate;
        if !(0.0..=1.0).contains(&rate) {
            return Err(ConfigError::Invalid(format!(
                "access_log: sample_rate must be between 0.0 and 1.0, got {rate}"
            )));
        }
        let output = section.output.unwrap_or(AuditOutput::Stdout);
        let target = audit::output_target("access_log", output, section.path.as_ref())?;
        if !section.enabled {
            return Ok(AccessLog::disabled());
        }
        let sink = LineSink::open("access-log", &target).map_err(|source| ConfigError::Io {
            file: match &section.path {
                Some(p) => p.display().to_string(),
                None => "access log writer thread".to_string(),
            },
            source,
        })?;
        Ok(AccessLog::with_sink(sink, rate))
    }

    /// An in-memory access log and a handle on its lines (tests).
    pub fn memory(sample_rate: f64) -> (AccessLog, MemoryLog) {
        let (sink, log) = LineSink::memory("access-log");
        (AccessLog::with_sink(sink, sample_rate), log)
    }

    fn with_sink(sink: LineSink, rate: f64) -> AccessLog {
        AccessLog { sink, sampler: Sampler { rate, seen: AtomicU64::new(0) } }
    }

    pub fn enabled(&self) -> bool {
        self.sink.enabled()
    }

    /// Reopens a file output (SIGUSR1, after logrotate); never blocks.
    pub fn reopen(&self) {
        self.sink.reopen();
    }

    /// Waits until the lines queued so far are written (tests, shutdown;
    /// never on an async worker).
    pub fn sync(&self) {
        self.sink.sync();
    }

    /// Starts the record of one request; `None` when the log is off.
    /// `engine` masks the client's texts until a route names its policy.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        self: &Arc<Self>,
        metrics: &Arc<Metrics>,
        engine: &Arc<Engine>,
        start: Instant,
        method: &Method,
        path: &str,
        version: Version,
        headers: &HeaderMap,
        request_id: &audit::RequestId,
        client: SocketAddr,
        tls: Option<&'static str>,
    ) -> Option<Entry> {
        if !self.enabled() {
            return None;
        }
        let user_agent = headers
            .get(http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        Some(Entry {
            log: self.clone(),
            metrics: metrics.clone(),
            engine: engine.clone(),
            time: SystemTime::now(),
            start,
            request_id: request_id.clone(),
            route: None,
            method: audit::method_label(method),
            path: audit::path_without_query(path).to_string(),
            protocol: protocol_name(version),
            tls,
            client,
            user_agent,
            upstream: None,
            upstream_time: None,
            bytes_in: Arc::new(AtomicU64::new(0)),
            scan: ScanSlot(Some(Arc::new(Mutex::new(None)))),
        })
    }
}

/// `HTTP/1.1`, `HTTP/2`... as the client spoke it.
pub fn protocol_name(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "other",
    }
}

/// `TLSv1.3`, `TLSv1.2` (the only versions the listener accepts).
pub fn tls_version_name(v: rustls::ProtocolVersion) -> &'static str {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
        _ => "other",
    }
}

/// What the pipeline found in one response, handed to the access log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanSummary {
    /// True when the body went through the engine.
    pub scanned: bool,
    /// Findings per kind name.
    pub findings: BTreeMap<String, u64>,
    /// Action taken per kind found (`monitor` in monitor mode).
    pub actions: BTreeMap<String, &'static str>,
    /// The `responses_blocked_total` reason, when blocked or cut.
    pub blocked: Option<&'static str>,
}

/// Where the pipeline leaves the [`ScanSummary`] of a response for its
/// access line. The default slot (access log off) ignores it.
#[derive(Debug, Clone, Default)]
pub struct ScanSlot(Option<Arc<Mutex<Option<ScanSummary>>>>);

impl ScanSlot {
    /// True when someone will read the summary (skip building it if not).
    pub fn wanted(&self) -> bool {
        self.0.is_some()
    }

    pub fn set(&self, summary: ScanSummary) {
        if let Some(slot) = &self.0 {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(summary);
        }
    }

    fn take(&self) -> Option<ScanSummary> {
        self.0.as_ref().and_then(|s| s.lock().unwrap_or_else(|p| p.into_inner()).take())
    }
}

/// One request's access record while the exchange runs.
pub struct Entry {
    log: Arc<AccessLog>,
    metrics: Arc<Metrics>,
    engine: Arc<Engine>,
    time: SystemTime,
    start: Instant,
    request_id: audit::RequestId,
    route: Option<Arc<str>>,
    method: &'static str,
    path: String,
    protocol: &'static str,
    tls: Option<&'static str>,
    client: SocketAddr,
    user_agent: Option<String>,
    upstream: Option<String>,
    upstream_time: Option<Duration>,
    bytes_in: Arc<AtomicU64>,
    scan: ScanSlot,
}

impl Entry {
    /// The route matched, and its policy's engine (masks the line).
    pub fn route(&mut self, name: Arc<str>, engine: &Arc<Engine>) {
        self.route = Some(name);
        self.engine = engine.clone();
    }

    /// The upstream address the request goes to.
    pub fn upstream(&mut self, addr: String) {
        self.upstream = Some(addr);
    }

    /// The upstream answered with its response head.
    pub fn upstream_responded(&mut self, took: Duration) {
        self.upstream_time = Some(took);
    }

    /// The counter the request body adds its bytes to.
    pub fn bytes_in(&self) -> Arc<AtomicU64> {
        self.bytes_in.clone()
    }

    /// The slot the pipeline leaves its scan summary in.
    pub fn scan_slot(&self) -> ScanSlot {
        self.scan.clone()
    }

    /// The response head is decided: the rest is the body's.
    pub fn finished(self, status: u16) -> Finished {
        Finished { entry: self, status, bytes_out: 0, end: None, complete: false }
    }
}

/// The access record of a response whose body is being sent; written
/// once, when dropped.
pub struct Finished {
    entry: Entry,
    status: u16,
    bytes_out: u64,
    end: Option<Instant>,
    complete: bool,
}

impl Finished {
    /// A data frame of `n` bytes went to the client.
    pub fn sent(&mut self, n: usize) {
        self.bytes_out += n as u64;
    }

    /// The body ended (`complete`) or failed: the duration stops here.
    pub fn ended(&mut self, complete: bool) {
        if self.end.is_none() {
            self.end = Some(Instant::now());
            self.complete = complete;
        }
    }
}

/// One access line (see the module docs for what may appear in it).
#[derive(Debug, Serialize)]
pub struct AccessRecord<'a> {
    /// Request start, RFC 3339 UTC with milliseconds.
    pub time: String,
    pub request_id: &'a str,
    /// Route name, `unrouted` when none matched.
    pub route: &'a str,
    pub method: &'static str,
    pub path: &'a str,
    pub status: u16,
    /// Request body bytes received from the client.
    pub bytes_in: u64,
    /// Response body bytes sent to the client.
    pub bytes_out: u64,
    /// From the request head to the last body byte (or the abort).
    pub duration_ms: f64,
    /// The upstream's address, when one was called.
    pub upstream: Option<&'a str>,
    /// Time until the upstream's response head.
    pub upstream_ms: Option<f64>,
    pub protocol: &'static str,
    pub tls: Option<&'static str>,
    pub client: SocketAddr,
    pub user_agent: Option<&'a str>,
    pub scanned: bool,
    pub findings: &'a BTreeMap<String, u64>,
    pub actions: &'a BTreeMap<String, &'static str>,
    pub blocked: Option<&'static str>,
    /// True when the client got the whole body.
    pub complete: bool,
}

/// Room for a usual line (about 400 bytes) without growing the buffer.
const LINE_CAPACITY: usize = 512;

impl AccessRecord<'_> {
    /// Appends the record as one JSON object, byte for byte what
    /// `serde_json::to_vec` writes for it (unit-tested against it), without
    /// serde's machinery: every request writes one, and serializing it
    /// through serde cost ~8,000 instructions (a per-byte escape loop over
    /// every key and value, `Display` for the client address).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = json::Object::new(out);
        o.string("time", &self.time);
        o.string("request_id", self.request_id);
        o.string("route", self.route);
        o.string("method", self.method);
        o.string("path", self.path);
        o.uint("status", u64::from(self.status));
        o.uint("bytes_in", self.bytes_in);
        o.uint("bytes_out", self.bytes_out);
        o.float("duration_ms", self.duration_ms);
        o.opt_string("upstream", self.upstream);
        json::opt(o.key("upstream_ms"), self.upstream_ms, json::float);
        o.string("protocol", self.protocol);
        o.opt_string("tls", self.tls);
        json::socket_addr(o.key("client"), self.client);
        o.opt_string("user_agent", self.user_agent);
        o.boolean("scanned", self.scanned);
        json::object(o.key("findings"), self.findings, |out, n| json::uint(out, *n));
        json::object(o.key("actions"), self.actions, |out, a| json::string(out, a));
        o.opt_string("blocked", self.blocked);
        o.boolean("complete", self.complete);
        o.end();
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl Drop for Finished {
    fn drop(&mut self) {
        let end = self.end.unwrap_or_else(Instant::now);
        let e = &self.entry;
        let scan = e.scan.take().unwrap_or_default();
        let complete = self.end.is_some() && self.complete;
        // Never sampled away: errors, blocks, findings, cut bodies.
        let always =
            self.status >= 400 || scan.blocked.is_some() || !scan.findings.is_empty() || !complete;
        if !always && !e.log.sampler.keep() {
            return;
        }
        let since = e.time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let request_id = e.request_id.for_log(&e.engine);
        let path = audit::masked_remembered(&e.engine, &e.path);
        let user_agent = e.user_agent.as_deref().map(|ua| audit::masked_remembered(&e.engine, ua));
        let record = AccessRecord {
            time: audit::rfc3339(since.as_secs(), since.subsec_millis()),
            request_id: &request_id,
            route: e.route.as_deref().unwrap_or(crate::metrics::UNROUTED),
            method: e.method,
            path: &path,
            status: self.status,
            bytes_in: e.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out,
            duration_ms: millis(end.saturating_duration_since(e.start)),
            upstream: e.upstream.as_deref(),
            upstream_ms: e.upstream_time.map(millis),
            protocol: e.protocol,
            tls: e.tls,
            client: e.client,
            user_agent: user_agent.as_deref(),
            scanned: scan.scanned,
            findings: &scan.findings,
            actions: &scan.actions,
            blocked: scan.blocked,
            complete,
        };
        let mut line = Vec::with_capacity(LINE_CAPACITY);
        record.write_json(&mut line);
        line.push(b'\n');
        if !e.log.sink.write_line(line) {
            e.metrics.access_log_lines_dropped_total.inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_keeps_the_rate_evenly() {
        for (rate, of, want) in [(1.0, 10, 10), (0.0, 10, 0), (0.25, 100, 25), (0.5, 9, 4)] {
            let s = Sampler { rate, seen: AtomicU64::new(0) };
            let kept: Vec<bool> = (0..of).map(|_| s.keep()).collect();
            assert_eq!(kept.iter().filter(|k| **k).count(), want, "rate {rate}");
            if rate == 0.25 {
                // Every fourth, not bunched.
                assert!(kept.chunks(4).all(|c| c.iter().filter(|k| **k).count() == 1));
            }
        }
    }

    #[test]
    fn config_is_validated() {
        let bad = |s: AccessLogSection| AccessLog::from_config(&s).unwrap_err().to_string();
        let base = AccessLogSection::default();
        for rate in [-0.1, 1.5, f64::NAN] {
            let e = bad(AccessLogSection { sample_rate: rate, ..base.clone() });
            assert!(e.contains("sample_rate"), "{e}");
        }
        let e = bad(AccessLogSection { output: Some(AuditOutput::File), ..base.clone() });
        assert!(e.contains("access_log: output = \"file\" needs a path"), "{e}");
        let e = bad(AccessLogSection { path: Some("x.log".into()), ..base.clone() });
        assert!(e.contains("only used with output = \"file\""), "{e}");
        let off = AccessLog::from_config(&AccessLogSection { enabled: false, ..base }).unwrap();
        assert!(!off.enabled());
    }

    #[test]
    fn names() {
        assert_eq!(protocol_name(Version::HTTP_11), "HTTP/1.1");
        assert_eq!(protocol_name(Version::HTTP_2), "HTTP/2");
        assert_eq!(tls_version_name(rustls::ProtocolVersion::TLSv1_3), "TLSv1.3");
        assert_eq!(tls_version_name(rustls::ProtocolVersion::TLSv1_2), "TLSv1.2");
    }

    /// `sample_rate = 0.0`: which lines are still written.
    #[test]
    fn sampling_never_drops_errors_findings_blocks_or_cut_bodies() {
        let (log, lines) = AccessLog::memory(0.0);
        let log = Arc::new(log);
        let metrics = Arc::new(Metrics::new());
        let engine = crate::policy::Policy::default_policy().engine.clone();
        let entry = |path: &str| {
            log.start(
                &metrics,
                &engine,
                Instant::now(),
                &Method::GET,
                path,
                Version::HTTP_11,
                &HeaderMap::new(),
                &audit::RequestId::from_client("id"),
                "127.0.0.1:1".parse().unwrap(),
                None,
            )
            .unwrap()
        };
        let done = |e: Entry, status: u16| {
            let mut f = e.finished(status);
            f.ended(true);
        };
        done(entry("/ok"), 200);
        done(entry("/error"), 503);
        let e = entry("/findings");
        e.scan_slot().set(ScanSummary {
            scanned: true,
            findings: [("card".to_string(), 1)].into(),
            actions: [("card".to_string(), "mask")].into(),
            blocked: None,
        });
        done(e, 200);
        let e = entry("/blocked");
        e.scan_slot().set(ScanSummary { blocked: Some("threshold"), ..Default::default() });
        done(e, 200);
        drop(entry("/cut").finished(200));
        let paths: Vec<String> = lines
            .lines()
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["path"].to_string())
            .collect();
        assert_eq!(paths, ["\"/error\"", "\"/findings\"", "\"/blocked\"", "\"/cut\""]);
    }

    /// The hand-written line is serde_json's, byte for byte, for texts
    /// with every kind of byte JSON escapes, both address families, empty
    /// and full maps, absent and present options and awkward numbers.
    #[test]
    fn the_written_line_is_what_serde_json_writes() {
        let mut texts: Vec<String> = vec![
            String::new(),
            "/".into(),
            "/api/v2/customers".into(),
            "0123456789abcdef0123456789abcdef".into(),
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36".into(),
            "quote\" backslash\\ slash/ del\u{7f} caf\u{e9} \u{1F600}".into(),
            "\"\"\"\"\"\"\"\"\\\\\\\\".into(),
            "tab\tnl\ncr\rff\u{c}bs\u{8}nul\u{0}esc\u{1b}us\u{1f}".into(),
            "*******\u{1}".into(),
            "twelve bytes\n".into(),
        ];
        // Every byte below 0x80 at every place of a 17-byte text.
        for c in 0u8..0x80 {
            for at in [0, 7, 8, 15, 16] {
                let mut t = b"abcdefghijklmnopq".to_vec();
                t[at] = c;
                texts.push(String::from_utf8(t).unwrap());
            }
        }
        let clients: [SocketAddr; 4] = [
            "127.0.0.1:1".parse().unwrap(),
            "255.255.255.255:65535".parse().unwrap(),
            "[::1]:8080".parse().unwrap(),
            "[fe80::1%3]:443".parse().unwrap(),
        ];
        let full_findings: BTreeMap<String, u64> =
            [("card".to_string(), 3), ("e\"mail".to_string(), u64::MAX)].into();
        let full_actions: BTreeMap<String, &'static str> =
            [("card".to_string(), "mask"), ("e\"mail".to_string(), "detect")].into();
        let (no_findings, no_actions) = (BTreeMap::new(), BTreeMap::new());
        let mut n = 0usize;
        for (i, text) in texts.iter().enumerate() {
            let full = i % 2 == 0;
            let record = AccessRecord {
                time: audit::rfc3339(1_700_000_000 + i as u64, (i % 1000) as u32),
                request_id: text,
                route: if full { "bench" } else { text },
                method: "GET",
                path: text,
                status: [200, 404, 502, 0, u16::MAX][i % 5],
                bytes_in: [0, 1, 12_345, u64::MAX][i % 4],
                bytes_out: (i as u64) * 1_000_003,
                duration_ms: [0.0, 0.001, 1.5, 12.345, 1e-7, 123_456_789.123, f64::NAN][i % 7],
                upstream: full.then_some("127.0.0.1:8080"),
                upstream_ms: [None, Some(0.25), Some(1e21), Some(f64::INFINITY)][i % 4],
                protocol: "HTTP/1.1",
                tls: full.then_some("TLSv1.3"),
                client: clients[i % clients.len()],
                user_agent: (i % 3 != 0).then_some(text.as_str()),
                scanned: full,
                findings: if full { &full_findings } else { &no_findings },
                actions: if full { &full_actions } else { &no_actions },
                blocked: (i % 3 == 1).then_some("threshold"),
                complete: i % 4 != 3,
            };
            let mut ours = Vec::new();
            record.write_json(&mut ours);
            let theirs = serde_json::to_vec(&record).unwrap();
            assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs), "{i}");
            n += 1;
        }
        assert!(n > 600, "{n}");
    }

    #[test]
    fn an_unwanted_slot_ignores_the_summary() {
        let off = ScanSlot::default();
        assert!(!off.wanted());
        off.set(ScanSummary { scanned: true, ..ScanSummary::default() });
        assert_eq!(off.take(), None);
    }
}
