//! Scrape /metrics on the admin listener after real traffic through the
//! guard and check that the counters moved exactly: requests by code,
//! findings by kind and action, responses scanned/modified/skipped, bytes
//! scanned, latency histogram counts. Also checks that no path, address or
//! matched value ever shows up in the exposition.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::*;
use http::{Request, Response, StatusCode};
use leakwarden::detect::{ContentHint, Engine};
use leakwarden::proxy::Guard;

/// Two cards (Visa and Mastercard test numbers) and one SSN.
const JSON_BODY: &str = r#"{"customer":{"card":"4111 1111 1111 1111","backup":"5555-5555-5555-4444","ssn":"536-22-1945"}}"#;
const NOT_FOUND_BODY: &str = "no such page";
const PNG_BODY: &[u8] = b"\x89PNG\r\n\x1a\n4111 1111 1111 1111";

async fn shop() -> SocketAddr {
    upstream(|req| async move {
        let (ct, status, body): (&str, u16, Vec<u8>) = match req.uri().path() {
            "/customer.json" => ("application/json", 200, JSON_BODY.into()),
            "/logo.png" => ("image/png", 200, PNG_BODY.into()),
            _ => ("text/plain", 404, NOT_FOUND_BODY.into()),
        };
        Response::builder().status(status).header("content-type", ct).body(full(body)).unwrap()
    })
    .await
}

/// The value of the sample `series` (name plus labels in exposition
/// order). Panics when the exposition has no such sample: a misspelled
/// name, label or label value must fail, not read as 0.
fn value(text: &str, series: &str) -> f64 {
    try_value(text, series).unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

/// The value of the sample `series`, `None` when absent (for polling).
fn try_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
}

/// The exposition once both latency histograms of the route have counted
/// `requests`. The guard observes a request's duration when hyper drops
/// the response body, which can happen just after the client has read the
/// last byte: there is no signal to await, so the scrape is repeated (every
/// 10 ms, for at most 5 s) until the count is reached, as a Prometheus
/// server would see it a moment later. The assertions then run on that
/// exposition, so a count that never arrives still fails them.
async fn metrics_once_observed(guard: &Guard, requests: f64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let text = metrics_text(guard).await;
        let settled = [
            r#"leakwarden_request_duration_seconds_count{route="shop"}"#,
            r#"leakwarden_upstream_duration_seconds_count{route="shop"}"#,
        ]
        .iter()
        .all(|series| try_value(&text, series).is_some_and(|v| v >= requests));
        if settled || std::time::Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn counters_move_exactly_with_traffic() {
    let up = shop().await;
    let (guard, _metrics) = start_guard_config(&format!(
        r#"
[upstreams.shop]
url = "http://{up}"

[[routes]]
name = "shop"
path_prefix = "/"
upstream = "shop"
"#
    ))
    .await;
    let addr = guard.listen[0];
    let mut raw_values = Vec::new();

    // What the route's own engine finds in the JSON body: the counters
    // must move by exactly that, per response (2 cards and 1 SSN with the
    // full engine).
    let policy = guard.proxy.runtime().routes[0].policy.clone();
    let (_, found) = Engine::scan_all(&policy.engine, JSON_BODY.as_bytes(), ContentHint::Json);
    let mut per_response: BTreeMap<(String, &str), u64> = BTreeMap::new();
    for f in &found {
        let key = (policy.engine.kind_name(f.kind).to_string(), policy.action(f.kind).as_str());
        *per_response.entry(key).or_default() += 1;
        if policy.action(f.kind).as_str() != "detect" {
            raw_values.push(JSON_BODY[f.start as usize..f.end as usize].to_string());
        }
    }
    for _ in 0..3 {
        let (parts, body) = get(addr, "/customer.json").await;
        assert_eq!(parts.status, StatusCode::OK);
        let body = String::from_utf8(body.to_vec()).unwrap();
        for raw in &raw_values {
            assert!(!body.contains(raw.as_str()), "{raw} rewritten: {body}");
        }
    }
    let req = Request::post(format!("http://{addr}/customer.json")).body(full("q")).unwrap();
    assert_eq!(send(&h1_client(), req).await.0.status, StatusCode::OK);
    let (parts, body) = get(addr, "/logo.png").await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(&body[..], PNG_BODY, "images pass untouched");
    for _ in 0..2 {
        assert_eq!(
            get(addr, "/secret/path/4111111111111111").await.0.status,
            StatusCode::NOT_FOUND
        );
    }

    let text = metrics_once_observed(&guard, 7.0).await;
    let v = |s: &str| value(&text, s);
    assert_eq!(
        v(r#"leakwarden_requests_total{code="200",method="GET",route="shop"}"#),
        4.0,
        "{text}"
    );
    assert_eq!(v(r#"leakwarden_requests_total{code="200",method="POST",route="shop"}"#), 1.0);
    assert_eq!(v(r#"leakwarden_requests_total{code="404",method="GET",route="shop"}"#), 2.0);
    assert_eq!(v(r#"leakwarden_request_duration_seconds_count{route="shop"}"#), 7.0);
    assert_eq!(v(r#"leakwarden_upstream_duration_seconds_count{route="shop"}"#), 7.0);

    // 4 JSON responses, each with what the engine found.
    for ((kind, action), n) in &per_response {
        let series =
            format!(r#"leakwarden_findings_total{{action="{action}",kind="{kind}",route="shop"}}"#);
        assert_eq!(v(&series), (4 * n) as f64, "{series}\n{text}");
    }
    let total: f64 = text
        .lines()
        .filter(|l| l.starts_with("leakwarden_findings_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total, 4.0 * per_response.values().sum::<u64>() as f64, "no other findings");
    // JSON and the 404 text bodies are scanned; the PNG is skipped.
    assert_eq!(v(r#"leakwarden_responses_scanned_total{route="shop"}"#), 6.0);
    let rewritten = if raw_values.is_empty() { 0.0 } else { 4.0 };
    assert_eq!(v(r#"leakwarden_responses_modified_total{route="shop"}"#), rewritten);
    assert_eq!(v(r#"leakwarden_scan_skipped_total{reason="content_type",route="shop"}"#), 1.0);
    let scanned = 4 * JSON_BODY.len() + 2 * NOT_FOUND_BODY.len();
    assert_eq!(v(r#"leakwarden_scan_bytes_total{route="shop"}"#), scanned as f64);
    assert_eq!(v(r#"leakwarden_responses_blocked_total{reason="threshold",route="shop"}"#), 0.0);
    assert_eq!(v(r#"leakwarden_upstream_errors_total{reason="refused",route="shop"}"#), 0.0);

    // Nothing unbounded or sensitive in the exposition.
    for needle in ["/customer", "/secret", "4111", "536-22", "127.0.0.1", &up.port().to_string()] {
        assert!(!text.contains(needle), "exposition contains {needle:?}");
    }
    guard.shutdown().await;
}

#[tokio::test]
async fn upstream_errors_are_counted_by_reason() {
    let (dead, _dead_socket) = closed_port();
    let (guard, _metrics) = start_guard_config(&format!(
        r#"
[upstreams.gone]
url = "http://{dead}"

[[routes]]
name = "gone"
path_prefix = "/"
upstream = "gone"
"#
    ))
    .await;
    let addr = guard.listen[0];
    for _ in 0..3 {
        assert_eq!(get(addr, "/").await.0.status, StatusCode::BAD_GATEWAY);
    }
    let text = metrics_text(&guard).await;
    assert_eq!(
        value(&text, r#"leakwarden_upstream_errors_total{reason="refused",route="gone"}"#),
        3.0,
        "{text}"
    );
    assert_eq!(
        value(&text, r#"leakwarden_requests_total{code="502",method="GET",route="gone"}"#),
        3.0
    );
    guard.shutdown().await;
}
