//! Every Prometheus metric leakwarden exports, registered once, in one
//! registry of its own.
//!
//! Label values must come only from bounded sets: route names from the
//! configuration, kind and action names, fixed reason strings, status codes.
//! Never a path, a host, a client address or any byte of a body.

use http::Method;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// Proxy latency buckets, in seconds: 0.5 ms to 30 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The bounded `method` label values, in [`method_index`] order.
pub const METHODS: [&str; 8] =
    ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"];

/// Index of a request method in [`METHODS`].
pub fn method_index(m: &Method) -> usize {
    match *m {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::PATCH => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Bounded reasons for `leakwarden_upstream_errors_total`.
pub mod upstream_reason {
    pub const REFUSED: &str = "refused";
    pub const TIMEOUT: &str = "timeout";
    pub const RESET: &str = "reset";
    pub const PROTOCOL: &str = "protocol";
    pub const TLS: &str = "tls";
}

/// Bounded reasons for `leakwarden_responses_blocked_total`.
pub mod block_reason {
    pub const BEFORE_HEADERS: &str = "before_headers";
    pub const ABORTED: &str = "aborted";
    pub const THRESHOLD: &str = "threshold";
    pub const FAIL_CLOSED: &str = "fail_closed";
    /// The client was over its exfiltration budget at request start.
    pub const EXFIL_BUDGET: &str = "exfil_budget";
}

/// Bounded reasons for `leakwarden_scan_skipped_total`.
pub mod skip_reason {
    pub const CONTENT_TYPE: &str = "content_type";
    pub const SIZE_LIMIT: &str = "size_limit";
    /// The request path is in the policy's `exempt_paths`.
    pub const EXEMPT_PATH: &str = "exempt_path";
}

/// Bounded reasons for `leakwarden_requests_blocked_total`.
pub mod request_block_reason {
    /// Found inside the request hold window: refused, upstream never called.
    pub const BEFORE_UPSTREAM: &str = "before_upstream";
    /// Found past the window: the upstream request was aborted before the
    /// value's bytes were sent.
    pub const ABORTED: &str = "aborted";
    /// A request body the guard could not inspect (a content coding) on a
    /// policy that blocks kinds in requests.
    pub const FAIL_CLOSED: &str = "fail_closed";
}

/// Bounded reasons for `leakwarden_request_scan_skipped_total`.
pub mod request_skip_reason {
    /// A body media type that is not scanned (binary uploads).
    pub const CONTENT_TYPE: &str = "content_type";
    /// A body with a content coding (gzip...): not decoded, not inspected.
    pub const CONTENT_CODING: &str = "content_coding";
}

/// The `action` label of `leakwarden_findings_total` for a finding in
/// monitor mode: nothing was done to it (the value left as it was). What
/// enforce mode would have done is the `would_action` label of
/// `leakwarden_monitored_findings_total`, never `action`, so no query for
/// enforced actions can count it.
pub const MONITOR_ACTION: &str = "monitor";

/// Bounded reasons for `leakwarden_client_errors_total`.
pub mod client_reason {
    /// The client's request body broke while it streamed upstream
    /// (malformed chunked framing, a body cut short).
    pub const REQUEST_BODY: &str = "request_body";
}

/// Route label for requests that matched no route.
pub const UNROUTED: &str = "unrouted";

/// Values of the `result` label of `leakwarden_config_reloads_total`.
pub mod reload_result {
    pub const SUCCESS: &str = "success";
    pub const FAILURE: &str = "failure";
}

const UPSTREAM_REASONS: &[&str] = &[
    upstream_reason::REFUSED,
    upstream_reason::TIMEOUT,
    upstream_reason::RESET,
    upstream_reason::PROTOCOL,
    upstream_reason::TLS,
];
const BLOCK_REASONS: &[&str] = &[
    block_reason::BEFORE_HEADERS,
    block_reason::ABORTED,
    block_reason::THRESHOLD,
    block_reason::FAIL_CLOSED,
    block_reason::EXFIL_BUDGET,
];
const SKIP_REASONS: &[&str] =
    &[skip_reason::CONTENT_TYPE, skip_reason::SIZE_LIMIT, skip_reason::EXEMPT_PATH];
const CLIENT_REASONS: &[&str] = &[client_reason::REQUEST_BODY];
const REQUEST_BLOCK_REASONS: &[&str] = &[
    request_block_reason::BEFORE_UPSTREAM,
    request_block_reason::ABORTED,
    request_block_reason::FAIL_CLOSED,
];
const REQUEST_SKIP_REASONS: &[&str] =
    &[request_skip_reason::CONTENT_TYPE, request_skip_reason::CONTENT_CODING];

/// All metrics. Cheap to share behind an `Arc`; every test server gets its
/// own so that counters can be asserted exactly.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests_total: IntCounterVec,
    pub request_duration_seconds: HistogramVec,
    pub upstream_duration_seconds: HistogramVec,
    pub upstream_errors_total: IntCounterVec,
    pub findings_total: IntCounterVec,
    pub responses_scanned_total: IntCounterVec,
    pub responses_modified_total: IntCounterVec,
    pub responses_blocked_total: IntCounterVec,
    pub scan_bytes_total: IntCounterVec,
    pub scan_skipped_total: IntCounterVec,
    pub scan_errors_total: IntCounterVec,
    /// Requests the client got wrong (answered 4xx by the guard itself).
    pub client_errors_total: IntCounterVec,
    /// Monitor-mode findings by what enforce mode would have done.
    pub monitored_findings_total: IntCounterVec,
    /// Audit lines dropped because the writer's queue was full.
    pub audit_lines_dropped_total: IntCounter,
    pub connections_active: IntGauge,
    pub config_reloads_total: IntCounterVec,
    pub config_last_reload_success_timestamp_seconds: Gauge,
    /// 1 when the last configuration load (startup or reload) succeeded, 0
    /// when the last reload failed and the previous configuration still
    /// runs (the same convention as Prometheus' own
    /// `prometheus_config_last_reload_successful`).
    pub config_last_reload_successful: IntGauge,
    pub build_info: IntGaugeVec,
    /// Exfiltration budgets ([`crate::exfil`]).
    pub exfiltration: ExfilMetrics,
    /// `notAfter` of each configured certificate (listener, SNI entries,
    /// upstream client certificates), labelled by where the configuration
    /// names it: a bounded set.
    pub tls_certificate_expiry_timestamp_seconds: IntGaugeVec,
    /// Inventory: pages with a form asking for personal data that posts to
    /// a third-party origin, by route.
    pub inventory_third_party_pii_forms_total: IntCounterVec,
    /// Inventory: scanned responses to requests that sent `Sec-GPC: 1`.
    pub inventory_gpc_requests_total: IntCounterVec,
    /// Inventory: paths counted under `{other}` past a route's template
    /// limit.
    pub inventory_template_overflow_total: IntCounterVec,
    /// Access lines dropped because the access log writer's queue was full.
    pub access_log_lines_dropped_total: IntCounter,
    /// Requests whose query string or body went through the engine.
    pub requests_scanned_total: IntCounterVec,
    /// Request-side findings by route, kind and action (`detect`, `block`,
    /// `monitor`).
    pub request_findings_total: IntCounterVec,
    /// Requests refused or aborted by a request-side block.
    pub requests_blocked_total: IntCounterVec,
    /// Request bodies not scanned, by reason.
    pub request_scan_skipped_total: IntCounterVec,
}

fn counter(reg: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    reg.register(Box::new(c.clone())).expect("metric registered once");
    c
}

fn histogram(reg: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let h =
        HistogramVec::new(HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()), labels)
            .expect("valid metric");
    reg.register(Box::new(h.clone())).expect("metric registered once");
    h
}

impl Metrics {
    pub fn new() -> Metrics {
        let reg = Registry::new();
        let connections_active =
            IntGauge::new("leakwarden_connections_active", "Client connections currently open.")
                .expect("valid metric");
        reg.register(Box::new(connections_active.clone())).expect("metric registered once");
        let last_reload = Gauge::new(
            "leakwarden_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load.",
        )
        .expect("valid metric");
        reg.register(Box::new(last_reload.clone())).expect("metric registered once");
        let last_reload_ok = IntGauge::new(
            "leakwarden_config_last_reload_successful",
            "1 if the last configuration load or reload succeeded, 0 if it failed.",
        )
        .expect("valid metric");
        reg.register(Box::new(last_reload_ok.clone())).expect("metric registered once");
        let audit_dropped = IntCounter::new(
            "leakwarden_audit_lines_dropped_total",
            "Audit lines dropped because the audit writer's queue was full.",
        )
        .expect("valid metric");
        reg.register(Box::new(audit_dropped.clone())).expect("metric registered once");
        let build_info = IntGaugeVec::new(
            Opts::new(
                "leakwarden_build_info",
                "Always 1; the version and revision labels say which build runs.",
            ),
            &["version", "revision"],
        )
        .expect("valid metric");
        reg.register(Box::new(build_info.clone())).expect("metric registered once");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), env!("LEAKWARDEN_REVISION")])
            .set(1);
        let cert_expiry = IntGaugeVec::new(
            Opts::new(
                "leakwarden_tls_certificate_expiry_timestamp_seconds",
                "Unix time at which a configured certificate expires (its notAfter), by where \
                 the configuration names it.",
            ),
            &["certificate"],
        )
        .expect("valid metric");
        reg.register(Box::new(cert_expiry.clone())).expect("metric registered once");
        #[cfg(target_os = "linux")]
        {
            let pc = prometheus::process_collector::ProcessCollector::for_self();
            reg.register(Box::new(pc)).expect("process collector registered once");
        }

        let m = Metrics {
            requests_total: counter(
                &reg,
                "leakwarden_requests_total",
                "Requests answered, by route, method and status code.",
                &["route", "method", "code"],
            ),
            request_duration_seconds: histogram(
                &reg,
                "leakwarden_request_duration_seconds",
                "Time from request received to response body finished.",
                &["route"],
            ),
            upstream_duration_seconds: histogram(
                &reg,
                "leakwarden_upstream_duration_seconds",
                "Time from request sent upstream to upstream response headers.",
                &["route"],
            ),
            upstream_errors_total: counter(
                &reg,
                "leakwarden_upstream_errors_total",
                "Upstream failures, by route and reason.",
                &["route", "reason"],
            ),
            findings_total: counter(
                &reg,
                "leakwarden_findings_total",
                "Sensitive values found in responses, by route, kind and action taken.",
                &["route", "kind", "action"],
            ),
            monitored_findings_total: counter(
                &reg,
                "leakwarden_monitored_findings_total",
                "Sensitive values found in responses of routes in monitor mode (passed unchanged), by route, kind and the action enforce mode would have taken.",
                &["route", "kind", "would_action"],
            ),
            responses_scanned_total: counter(
                &reg,
                "leakwarden_responses_scanned_total",
                "Responses whose body went through the detection engine.",
                &["route"],
            ),
            responses_modified_total: counter(
                &reg,
                "leakwarden_responses_modified_total",
                "Responses whose body was rewritten (masked, redacted or hashed).",
                &["route"],
            ),
            responses_blocked_total: counter(
                &reg,
                "leakwarden_responses_blocked_total",
                "Responses blocked or aborted, by route and reason.",
                &["route", "reason"],
            ),
            scan_bytes_total: counter(
                &reg,
                "leakwarden_scan_bytes_total",
                "Decoded response body bytes scanned.",
                &["route"],
            ),
            scan_skipped_total: counter(
                &reg,
                "leakwarden_scan_skipped_total",
                "Responses not scanned, by route and reason.",
                &["route", "reason"],
            ),
            scan_errors_total: counter(
                &reg,
                "leakwarden_scan_errors_total",
                "Errors inside the scanning pipeline (bad encodings, limits), by route and reason.",
                &["route", "reason"],
            ),
            client_errors_total: counter(
                &reg,
                "leakwarden_client_errors_total",
                "Requests the client got wrong (a malformed request body), by route and reason.",
                &["route", "reason"],
            ),
            config_reloads_total: counter(
                &reg,
                "leakwarden_config_reloads_total",
                "Configuration reloads, by result (success, failure).",
                &["result"],
            ),
            inventory_third_party_pii_forms_total: counter(
                &reg,
                "leakwarden_inventory_third_party_pii_forms_total",
                "Pages with a form asking for personal data that posts to a third-party origin, by route.",
                &["route"],
            ),
            inventory_gpc_requests_total: counter(
                &reg,
                "leakwarden_inventory_gpc_requests_total",
                "Scanned responses to requests sent with Sec-GPC: 1, by route.",
                &["route"],
            ),
            inventory_template_overflow_total: counter(
                &reg,
                "leakwarden_inventory_template_overflow_total",
                "Request paths counted under {other} past the route's template limit, by route.",
                &["route"],
            ),
            connections_active,
            audit_lines_dropped_total: audit_dropped,
            config_last_reload_success_timestamp_seconds: last_reload,
            config_last_reload_successful: last_reload_ok,
            build_info,
            exfiltration: ExfilMetrics::register(&reg),
            tls_certificate_expiry_timestamp_seconds: cert_expiry,
            access_log_lines_dropped_total: {
                let c = IntCounter::new(
                    "leakwarden_access_log_lines_dropped_total",
                    "Access log lines dropped because the access log writer's queue was full.",
                )
                .expect("valid metric");
                reg.register(Box::new(c.clone())).expect("metric registered once");
                c
            },
            requests_scanned_total: counter(
                &reg,
                "leakwarden_requests_scanned_total",
                "Requests whose query string or body went through the detection engine, by route.",
                &["route"],
            ),
            request_findings_total: counter(
                &reg,
                "leakwarden_request_findings_total",
                "Findings in request query strings and bodies, by route, kind and action (detect, block, monitor).",
                &["route", "kind", "action"],
            ),
            requests_blocked_total: counter(
                &reg,
                "leakwarden_requests_blocked_total",
                "Requests refused before the upstream or aborted upstream by a request-side block, by route and reason.",
                &["route", "reason"],
            ),
            request_scan_skipped_total: counter(
                &reg,
                "leakwarden_request_scan_skipped_total",
                "Request bodies not scanned, by route and reason (content_type, content_coding).",
                &["route", "reason"],
            ),
            registry: reg,
        };
        // Both results exist from the start so that the first failure is an
        // increase from 0 that alerts can see.
        for result in [reload_result::SUCCESS, reload_result::FAILURE] {
            m.config_reloads_total.with_label_values(&[result]);
        }
        m
    }

    /// Replaces the certificate-expiry series with `certificates` (label,
    /// `notAfter` in Unix seconds): a certificate dropped by a reload stops
    /// being exported.
    pub fn set_certificate_expiries(&self, certificates: &[(String, i64)]) {
        self.tls_certificate_expiry_timestamp_seconds.reset();
        for (label, not_after) in certificates {
            self.tls_certificate_expiry_timestamp_seconds
                .with_label_values(&[label])
                .set(*not_after);
        }
    }

    /// Creates the zero-valued series of one configured route, so that
    /// they exist from the first scrape. Without that, the first event on a
    /// route creates its counter at 1 and `increase()` in an alert has no
    /// earlier sample to compare with. `findings` lists the (kind, action)
    /// pairs the route's policy can report. Idempotent: touching an existing
    /// series does not change it. Series of routes removed by a reload stay
    /// until restart (the set is bounded by what configurations named).
    pub fn init_route<'a>(
        &self,
        route: &str,
        findings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        self.request_duration_seconds.with_label_values(&[route]);
        self.upstream_duration_seconds.with_label_values(&[route]);
        for reason in UPSTREAM_REASONS {
            self.upstream_errors_total.with_label_values(&[route, reason]);
        }
        for reason in BLOCK_REASONS {
            self.responses_blocked_total.with_label_values(&[route, reason]);
        }
        for reason in SKIP_REASONS {
            self.scan_skipped_total.with_label_values(&[route, reason]);
        }
        for reason in CLIENT_REASONS {
            self.client_errors_total.with_label_values(&[route, reason]);
        }
        self.requests_scanned_total.with_label_values(&[route]);
        for reason in REQUEST_BLOCK_REASONS {
            self.requests_blocked_total.with_label_values(&[route, reason]);
        }
        for reason in REQUEST_SKIP_REASONS {
            self.request_scan_skipped_total.with_label_values(&[route, reason]);
        }
        self.responses_scanned_total.with_label_values(&[route]);
        self.responses_modified_total.with_label_values(&[route]);
        self.scan_bytes_total.with_label_values(&[route]);
        for (kind, action) in findings {
            self.findings_total.with_label_values(&[route, kind, action]);
        }
    }

    /// Creates the zero-valued monitor-mode series of one route:
    /// `findings_total{action="monitor"}` and
    /// `monitored_findings_total{would_action}` for each (kind, configured
    /// action) pair (see [`Metrics::init_route`]).
    pub fn init_monitored<'a>(
        &self,
        route: &str,
        findings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        for (kind, would) in findings {
            self.findings_total.with_label_values(&[route, kind, MONITOR_ACTION]);
            self.monitored_findings_total.with_label_values(&[route, kind, would]);
        }
    }

    /// Records the configuration loaded at startup: not a reload, so no
    /// counter moves, but the last-success time and flag are set.
    pub fn record_initial_load(&self, unix_time: f64) {
        self.config_last_reload_successful.set(1);
        self.config_last_reload_success_timestamp_seconds.set(unix_time);
    }

    /// Records the outcome of a configuration reload.
    pub fn record_reload(&self, success: bool, unix_time: f64) {
        let result = if success { reload_result::SUCCESS } else { reload_result::FAILURE };
        self.config_reloads_total.with_label_values(&[result]).inc();
        self.config_last_reload_successful.set(i64::from(success));
        if success {
            self.config_last_reload_success_timestamp_seconds.set(unix_time);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(16 * 1024);
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding into a Vec cannot fail");
        buf
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Values of the `op` label of `leakwarden_exfiltration_store_errors_total`.
pub mod exfil_op {
    /// The request-start read failed.
    pub const READ: &str = "read";
    /// A read or write did not answer in time.
    pub const TIMEOUT: &str = "timeout";
    /// A write pipeline failed, or its queue was full.
    pub const WRITE: &str = "write";
    /// A (re)connection attempt failed.
    pub const CONNECT: &str = "connect";
    /// The local counters were full and a new client was not tracked.
    pub const LOCAL_FULL: &str = "local_full";
    pub const ALL: &[&str] = &[READ, TIMEOUT, WRITE, CONNECT, LOCAL_FULL];
}

/// Metrics of exfiltration budgets. Labels: policy names (configuration),
/// kind names (the configured budgets), `action` (block, monitor) and `op`
/// ([`exfil_op`]); never a client or its hash.
#[derive(Clone)]
pub struct ExfilMetrics {
    pub store_errors_total: IntCounterVec,
    pub store_degraded: IntGauge,
    pub over_budget_total: IntCounterVec,
    pub charged_total: IntCounterVec,
    /// Request-start reads of the shared store answered from the replica's
    /// mirror (`hit`) or sent to Redis (`miss`).
    pub mirror_reads_total: IntCounterVec,
    /// Keys Redis told this replica it changed (another replica's charge,
    /// or expiry) while the mirror tracked them.
    pub mirror_invalidations_total: IntCounter,
}

impl ExfilMetrics {
    fn register(reg: &Registry) -> ExfilMetrics {
        let degraded = IntGauge::new(
            "leakwarden_exfiltration_store_degraded",
            "1 while the shared exfiltration store cannot answer and budgets fall back to local counters (or fail closed).",
        )
        .expect("valid metric");
        reg.register(Box::new(degraded.clone())).expect("metric registered once");
        let invalidations = IntCounter::new(
            "leakwarden_exfiltration_mirror_invalidations_total",
            "Shared-store keys that Redis reported changed by another replica (or expired) while this replica's mirror held them.",
        )
        .expect("valid metric");
        reg.register(Box::new(invalidations.clone())).expect("metric registered once");
        let m = ExfilMetrics {
            store_errors_total: counter(
                reg,
                "leakwarden_exfiltration_store_errors_total",
                "Exfiltration store failures, by operation (read, timeout, write, connect, local_full).",
                &["op"],
            ),
            store_degraded: degraded,
            over_budget_total: counter(
                reg,
                "leakwarden_exfiltration_over_budget_total",
                "Requests whose client was over its exfiltration budget at request start, by policy and action (block, monitor).",
                &["policy", "action"],
            ),
            charged_total: counter(
                reg,
                "leakwarden_exfiltration_charged_total",
                "Sensitive values charged to client budgets, by policy and kind.",
                &["policy", "kind"],
            ),
            mirror_reads_total: counter(
                reg,
                "leakwarden_exfiltration_mirror_reads_total",
                "Request-start budget reads with a shared store, by result: hit (answered from this replica's mirror), miss (sent to Redis).",
                &["result"],
            ),
            mirror_invalidations_total: invalidations,
        };
        // At zero from the first scrape, so the first error is an increase.
        for op in exfil_op::ALL {
            m.store_errors_total.with_label_values(&[op]);
        }
        for result in ["hit", "miss"] {
            m.mirror_reads_total.with_label_values(&[result]);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_every_family() {
        let m = Metrics::new();
        m.requests_total.with_label_values(&["r", "GET", "200"]).inc();
        let text = String::from_utf8(m.encode()).unwrap();
        assert!(
            text.contains("leakwarden_requests_total{code=\"200\",method=\"GET\",route=\"r\"} 1")
        );
        let build_info = format!(
            "leakwarden_build_info{{revision=\"{}\",version=\"{}\"}} 1",
            env!("LEAKWARDEN_REVISION"),
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&build_info), "{text}");
        assert!(text.contains("leakwarden_connections_active 0"));
        assert!(text.contains("leakwarden_config_reloads_total{result=\"failure\"} 0"));
        assert!(text.contains("leakwarden_config_reloads_total{result=\"success\"} 0"));
    }

    #[test]
    fn init_route_creates_zero_series_and_keeps_values() {
        let m = Metrics::new();
        m.responses_blocked_total.with_label_values(&["api", "threshold"]).inc();
        m.init_route("api", [("card", "mask"), ("ssn", "redact")]);
        let text = String::from_utf8(m.encode()).unwrap();
        for line in [
            "leakwarden_responses_blocked_total{reason=\"threshold\",route=\"api\"} 1",
            "leakwarden_responses_blocked_total{reason=\"fail_closed\",route=\"api\"} 0",
            "leakwarden_findings_total{action=\"mask\",kind=\"card\",route=\"api\"} 0",
            "leakwarden_findings_total{action=\"redact\",kind=\"ssn\",route=\"api\"} 0",
            "leakwarden_upstream_errors_total{reason=\"tls\",route=\"api\"} 0",
            "leakwarden_scan_skipped_total{reason=\"size_limit\",route=\"api\"} 0",
            "leakwarden_scan_bytes_total{route=\"api\"} 0",
            "leakwarden_request_duration_seconds_count{route=\"api\"} 0",
        ] {
            assert!(text.contains(line), "missing {line}");
        }
        assert!(!text.contains("kind=\"email\""));
    }

    #[test]
    fn record_reload_sets_result_gauge_and_timestamp() {
        let m = Metrics::new();
        m.record_reload(true, 1000.0);
        m.record_reload(false, 2000.0);
        assert_eq!(m.config_reloads_total.with_label_values(&["success"]).get(), 1);
        assert_eq!(m.config_reloads_total.with_label_values(&["failure"]).get(), 1);
        assert_eq!(m.config_last_reload_successful.get(), 0);
        // A failure does not move the last-success time.
        assert_eq!(m.config_last_reload_success_timestamp_seconds.get(), 1000.0);
        m.record_reload(true, 3000.0);
        assert_eq!(m.config_last_reload_successful.get(), 1);
        assert_eq!(m.config_last_reload_success_timestamp_seconds.get(), 3000.0);
    }
}
