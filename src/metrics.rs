//! Every Prometheus metric leakwarden exports, registered once, in one
//! registry of its own.
//!
//! Label values must come only from bounded sets: route names from the
//! configuration, kind and action names, fixed reason strings, status codes.
//! Never a path, a host, a client address or any byte of a body.

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Proxy latency buckets, in seconds: 0.5 ms to 30 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

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
}

/// Bounded reasons for `leakwarden_scan_skipped_total`.
pub mod skip_reason {
    pub const CONTENT_TYPE: &str = "content_type";
    pub const SIZE_LIMIT: &str = "size_limit";
}

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
    pub connections_active: IntGauge,
    pub config_reloads_total: IntCounterVec,
    pub config_last_reload_success_timestamp_seconds: Gauge,
    /// 1 when the last configuration load (startup or reload) succeeded, 0
    /// when the last reload failed and the previous configuration still
    /// runs (the same convention as Prometheus' own
    /// `prometheus_config_last_reload_successful`).
    pub config_last_reload_successful: IntGauge,
    pub build_info: IntGaugeVec,
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
        let build_info = IntGaugeVec::new(
            Opts::new(
                "leakwarden_build_info",
                "Always 1; the version label says which build runs.",
            ),
            &["version"],
        )
        .expect("valid metric");
        reg.register(Box::new(build_info.clone())).expect("metric registered once");
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        #[cfg(target_os = "linux")]
        {
            let pc = prometheus::process_collector::ProcessCollector::for_self();
            reg.register(Box::new(pc)).expect("process collector registered once");
        }

        Metrics {
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
            config_reloads_total: counter(
                &reg,
                "leakwarden_config_reloads_total",
                "Configuration reloads, by result (success, failure).",
                &["result"],
            ),
            connections_active,
            config_last_reload_success_timestamp_seconds: last_reload,
            config_last_reload_successful: last_reload_ok,
            build_info,
            registry: reg,
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
        assert!(text.contains("leakwarden_build_info{version="));
        assert!(text.contains("leakwarden_connections_active 0"));
    }
}
