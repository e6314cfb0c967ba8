//! Per-route metric handles, resolved once per configuration snapshot.
//!
//! `MetricVec::with_label_values` hashes every label value and takes the
//! vector's lock on each call; the series every request touches (request
//! count, request and upstream durations) are resolved here once, so the
//! request path only does an atomic add. Label values still come only from
//! bounded sets: the route name, a fixed method list and the status code.
//!
//! This module must never create a series that no request produced: the
//! `(method, status)` counters are filled in lazily, on first use.

use std::sync::{Arc, OnceLock};

use http::StatusCode;
use prometheus::{Histogram, IntCounter};

use crate::metrics::Metrics;

pub use crate::metrics::{method_index, METHODS};

/// Status codes common enough to keep a resolved counter for; any other
/// status goes through the labelled vector (correct, just slower).
const STATUSES: [u16; 16] =
    [200, 201, 204, 206, 301, 302, 304, 400, 401, 403, 404, 429, 500, 502, 503, 504];

/// The metric handles of one route (or of unrouted requests).
pub struct RouteMetrics {
    pub route: Arc<str>,
    pub request_duration: Histogram,
    pub upstream_duration: Histogram,
    /// `requests_total` by `method * STATUSES.len() + status slot`.
    requests: Box<[OnceLock<IntCounter>]>,
    metrics: Arc<Metrics>,
}

impl RouteMetrics {
    pub fn new(metrics: &Arc<Metrics>, route: Arc<str>) -> RouteMetrics {
        RouteMetrics {
            request_duration: metrics.request_duration_seconds.with_label_values(&[&route]),
            upstream_duration: metrics.upstream_duration_seconds.with_label_values(&[&route]),
            requests: (0..METHODS.len() * STATUSES.len()).map(|_| OnceLock::new()).collect(),
            metrics: metrics.clone(),
            route,
        }
    }

    /// Counts one answered request in `requests_total`.
    pub fn count_request(&self, method: usize, status: StatusCode) {
        let method = method.min(METHODS.len() - 1);
        match STATUSES.iter().position(|&s| s == status.as_u16()) {
            Some(slot) => self.requests[method * STATUSES.len() + slot]
                .get_or_init(|| self.counter(method, status))
                .inc(),
            None => self.counter(method, status).inc(),
        }
    }

    fn counter(&self, method: usize, status: StatusCode) -> IntCounter {
        self.metrics.requests_total.with_label_values(&[
            &self.route,
            METHODS[method],
            status.as_str(),
        ])
    }

    /// The shared metrics, for the rarer per-route series.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn counts_land_in_the_labelled_series_and_nothing_else_appears() {
        let metrics = Arc::new(Metrics::new());
        let rm = RouteMetrics::new(&metrics, Arc::from("api"));
        let cases = [
            (Method::GET, 200, 3),
            (Method::HEAD, 304, 1),
            (Method::POST, 418, 2), // not a cached status
            (Method::from_bytes(b"PURGE").unwrap(), 200, 1),
            (Method::DELETE, 504, 1),
        ];
        for (m, code, n) in &cases {
            for _ in 0..*n {
                rm.count_request(method_index(m), StatusCode::from_u16(*code).unwrap());
            }
        }
        let get = |m: &str, c: &str| metrics.requests_total.with_label_values(&["api", m, c]).get();
        assert_eq!(get("GET", "200"), 3);
        assert_eq!(get("HEAD", "304"), 1);
        assert_eq!(get("POST", "418"), 2);
        assert_eq!(get("other", "200"), 1);
        assert_eq!(get("DELETE", "504"), 1);
        // A resolved handle creates no series until it is used.
        let fresh = Arc::new(Metrics::new());
        let rm = RouteMetrics::new(&fresh, Arc::from("r"));
        rm.count_request(0, StatusCode::OK);
        rm.count_request(0, StatusCode::OK);
        let text = String::from_utf8(fresh.encode()).unwrap();
        let series: Vec<&str> =
            text.lines().filter(|l| l.starts_with("leakwarden_requests_total{")).collect();
        assert_eq!(series, [r#"leakwarden_requests_total{code="200",method="GET",route="r"} 2"#]);
    }

    #[test]
    fn durations_observe_into_the_route_series() {
        let metrics = Arc::new(Metrics::new());
        let rm = RouteMetrics::new(&metrics, Arc::from("web"));
        rm.request_duration.observe(0.002);
        rm.upstream_duration.observe(0.001);
        let h = metrics.request_duration_seconds.with_label_values(&["web"]);
        assert_eq!(h.get_sample_count(), 1);
        let h = metrics.upstream_duration_seconds.with_label_values(&["web"]);
        assert_eq!(h.get_sample_count(), 1);
    }

    #[test]
    fn method_index_matches_the_label_list() {
        for (m, label) in [
            (Method::GET, "GET"),
            (Method::HEAD, "HEAD"),
            (Method::POST, "POST"),
            (Method::PUT, "PUT"),
            (Method::DELETE, "DELETE"),
            (Method::PATCH, "PATCH"),
            (Method::OPTIONS, "OPTIONS"),
            (Method::TRACE, "other"),
        ] {
            assert_eq!(METHODS[method_index(&m)], label);
        }
    }
}
