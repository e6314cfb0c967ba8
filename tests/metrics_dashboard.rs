//! The Grafana dashboard and the alerting rules may only use metric names
//! (and label names) that the guard really exports: a renamed metric must
//! break this test, not silently blank a panel or mute an alert.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use leakwarden::config::policy::PolicyAction;
use leakwarden::metrics::{block_reason, Metrics};
use regex::Regex;
use serde_json::Value;

/// Metric name -> label names, from the exposition of a Metrics that saw
/// every kind of event.
fn exported() -> BTreeMap<String, BTreeSet<String>> {
    let m = Metrics::new();
    m.init_route("api", [("card", "mask")]);
    m.init_monitored("shop", [("card", "mask")]);
    m.requests_total.with_label_values(&["api", "GET", "200"]).inc();
    m.scan_errors_total.with_label_values(&["api", "decode"]).inc();
    m.exfiltration.over_budget_total.with_label_values(&["default", "block"]).inc();
    m.exfiltration.charged_total.with_label_values(&["default", "card"]).inc();
    m.record_initial_load(1.0);
    let text = String::from_utf8(m.encode()).unwrap();
    let sample = Regex::new(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? ").unwrap();
    let label = Regex::new(r#"([a-zA-Z_][a-zA-Z0-9_]*)=""#).unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let c = sample.captures(line).unwrap_or_else(|| panic!("unparsed line {line:?}"));
        let labels = out.entry(c[1].to_string()).or_default();
        if let Some(ls) = c.get(2) {
            labels.extend(label.captures_iter(ls.as_str()).map(|l| l[1].to_string()));
        }
    }
    out
}

/// Labels Prometheus adds at scrape time, or that histogram_quantile uses.
const TARGET_LABELS: &[&str] = &["job", "instance", "le"];

fn repo_file(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Checks one PromQL expression against the exported metrics: every
/// leakwarden_/process_ name exists, every label used in a selector or a
/// `by (...)` belongs to one of the expression's metrics, and block reasons
/// are real ones. Returns the metric names used.
fn check_expr(expr: &str, exported: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let name_re = Regex::new(r"\b((?:leakwarden|process)_[a-z0-9_]+)\b").unwrap();
    let sel_re = Regex::new(r"\b((?:leakwarden|process)_[a-z0-9_]+)\{([^}]*)\}").unwrap();
    let matcher_re =
        Regex::new(r#"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"([^"]*)""#).unwrap();
    let by_re = Regex::new(r"\bby\s*\(([^)]*)\)").unwrap();

    let names: Vec<String> = name_re.captures_iter(expr).map(|c| c[1].to_string()).collect();
    assert!(!names.is_empty(), "expression uses no leakwarden metric: {expr}");
    let mut labels_of_expr: BTreeSet<String> =
        TARGET_LABELS.iter().map(|s| s.to_string()).collect();
    for n in &names {
        let labels = exported
            .get(n)
            .unwrap_or_else(|| panic!("{n} is not exported by Metrics (expression: {expr})"));
        labels_of_expr.extend(labels.iter().cloned());
    }
    for sel in sel_re.captures_iter(expr) {
        let metric_labels = &exported[&sel[1]];
        for m in matcher_re.captures_iter(&sel[2]) {
            let l = &m[1];
            assert!(
                metric_labels.contains(l) || TARGET_LABELS.contains(&l),
                "{} has no label {l} (expression: {expr})",
                &sel[1]
            );
            if &sel[1] == "leakwarden_responses_blocked_total" && l == "reason" {
                let known = [
                    block_reason::BEFORE_HEADERS,
                    block_reason::ABORTED,
                    block_reason::THRESHOLD,
                    block_reason::FAIL_CLOSED,
                    block_reason::EXFIL_BUDGET,
                ];
                for v in m[2].split('|') {
                    assert!(known.contains(&v), "unknown block reason {v:?} in {expr}");
                }
            }
            if l == "action" {
                for v in m[2].split('|') {
                    assert!(
                        [
                            PolicyAction::Mask,
                            PolicyAction::Redact,
                            PolicyAction::Hash,
                            PolicyAction::Block,
                            PolicyAction::Detect
                        ]
                        .iter()
                        .any(|a| a.as_str() == v),
                        "unknown action {v:?} in {expr}"
                    );
                }
            }
        }
    }
    for by in by_re.captures_iter(expr) {
        for l in by[1].split(',').map(str::trim).filter(|l| !l.is_empty()) {
            assert!(
                labels_of_expr.contains(l),
                "grouping by {l}, which none of {names:?} has: {expr}"
            );
        }
    }
    names
}

/// Every PromQL expression in the dashboard: panel targets (rows included),
/// template variable queries and annotation queries.
fn dashboard_exprs(d: &Value) -> Vec<(String, String)> {
    fn panels(list: &Value, out: &mut Vec<(String, String)>) {
        for p in list.as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or("?").to_string();
            for t in p["targets"].as_array().into_iter().flatten() {
                let e =
                    t["expr"].as_str().unwrap_or_else(|| panic!("target without expr in {title}"));
                out.push((title.clone(), e.to_string()));
            }
            panels(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    panels(&d["panels"], &mut out);
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        if let Some(q) = v["definition"].as_str() {
            out.push((format!("variable {}", v["name"]), q.to_string()));
        }
    }
    for a in d["annotations"]["list"].as_array().into_iter().flatten() {
        if let Some(e) = a["expr"].as_str() {
            out.push((format!("annotation {}", a["name"]), e.to_string()));
        }
    }
    out
}

#[test]
fn dashboard_uses_only_exported_metrics_and_labels() {
    let exported = exported();
    let d: Value = serde_json::from_str(&repo_file("config/grafana-dashboard.json"))
        .expect("config/grafana-dashboard.json is valid JSON");
    let exprs = dashboard_exprs(&d);
    assert!(exprs.len() >= 20, "only {} expressions found", exprs.len());
    let mut used = BTreeSet::new();
    for (title, e) in &exprs {
        let names = std::panic::catch_unwind(|| check_expr(e, &exported))
            .unwrap_or_else(|_| panic!("in panel {title:?}"));
        used.extend(names);
    }
    // The panels the issue asks for are there.
    for required in [
        "leakwarden_requests_total",
        "leakwarden_request_duration_seconds_bucket",
        "leakwarden_upstream_duration_seconds_bucket",
        "leakwarden_upstream_errors_total",
        "leakwarden_findings_total",
        "leakwarden_responses_blocked_total",
        "leakwarden_responses_scanned_total",
        "leakwarden_responses_modified_total",
        "leakwarden_scan_bytes_total",
        "leakwarden_scan_skipped_total",
        "leakwarden_scan_errors_total",
        "leakwarden_connections_active",
        "leakwarden_config_reloads_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "leakwarden_exfiltration_over_budget_total",
        "leakwarden_exfiltration_charged_total",
        "leakwarden_exfiltration_store_errors_total",
        "leakwarden_exfiltration_store_degraded",
        "leakwarden_exfiltration_mirror_reads_total",
        "leakwarden_exfiltration_mirror_invalidations_total",
    ] {
        assert!(used.contains(required), "no panel shows {required}");
    }
}

#[test]
fn dashboard_is_importable() {
    let d: Value = serde_json::from_str(&repo_file("config/grafana-dashboard.json")).unwrap();
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36);
    assert_eq!(d["uid"], "leakwarden-overview");
    let inputs = d["__inputs"].as_array().expect("__inputs for import");
    assert!(inputs.iter().any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus"));
    let mut ids = BTreeSet::new();
    let mut count = 0;
    for p in d["panels"].as_array().unwrap() {
        assert!(ids.insert(p["id"].as_u64().expect("panel id")), "duplicate panel id {}", p["id"]);
        let g = &p["gridPos"];
        assert!(
            g["w"].as_u64().unwrap() <= 24
                && g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24
        );
        if p["type"] != "row" {
            count += 1;
            assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "panel {}", p["title"]);
            assert!(
                !p["targets"].as_array().unwrap().is_empty(),
                "panel {} has no query",
                p["title"]
            );
            for t in p["targets"].as_array().unwrap() {
                assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}");
            }
        }
    }
    assert!(count >= 10, "{count} panels");
}

#[test]
fn alert_rules_use_only_exported_metrics_and_labels() {
    let exported = exported();
    let text = repo_file("config/alerts.yml");
    // The expressions are the `expr: |` blocks: gather each block's
    // indented lines (no YAML parser needed for this file's shape).
    let mut exprs = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("expr:") else { continue };
        let indent = line.len() - t.len();
        let rest = rest.trim();
        if rest != "|" && rest != ">" {
            exprs.push(rest.to_string());
            continue;
        }
        let mut e = String::new();
        while let Some(next) = lines.peek() {
            let nt = next.trim_start();
            if !nt.is_empty() && next.len() - nt.len() <= indent {
                break;
            }
            if !nt.starts_with('#') {
                e.push_str(nt);
                e.push('\n');
            }
            lines.next();
        }
        exprs.push(e);
    }
    let alerts = text.matches("- alert: ").count();
    assert_eq!(exprs.len(), alerts, "one expr per alert");
    assert!(alerts >= 9);
    for e in exprs.iter().filter(|e| !e.contains("up{job=")) {
        check_expr(e, &exported);
    }
    for required in [
        "LeakwardenLeakMasked",
        "LeakwardenResponseBlocked",
        "LeakwardenBulkLeakThreshold",
        "LeakwardenScanErrors",
        "LeakwardenFailClosedBlocks",
        "LeakwardenUpstreamErrorRatio",
        "LeakwardenConfigReloadFailing",
        "LeakwardenDown",
        "LeakwardenNotScraped",
    ] {
        assert!(text.contains(&format!("- alert: {required}\n")), "{required} missing");
    }
    // Every alert has a severity and the three annotations.
    for key in ["severity:", "summary:", "description:", "runbook:"] {
        assert_eq!(text.matches(key).count(), alerts, "each alert needs {key}");
    }
}

#[test]
fn the_checker_rejects_drift() {
    let exported = exported();
    let bad = [
        "rate(leakwarden_request_total[5m])",
        "sum by (path) (rate(leakwarden_requests_total[5m]))",
        "leakwarden_findings_total{severity=\"high\"}",
        "leakwarden_responses_blocked_total{reason=\"thresh\"}",
        "leakwarden_findings_total{action=~\"mask|drop\"}",
    ];
    for e in bad {
        let r = std::panic::catch_unwind(|| check_expr(e, &exported));
        assert!(r.is_err(), "{e} should be rejected");
    }
}
