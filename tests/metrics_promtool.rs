//! `promtool check metrics` (Prometheus' own exposition linter) on what the
//! guard serves at /metrics, after traffic-like updates of every family.
//!
//! promtool comes from Debian's `prometheus` package, which `.ci/run`
//! installs. Outside CI the test is skipped, loudly, when promtool is
//! missing; with `CI` set it fails instead.

use std::io::Write;
use std::process::{Command, Stdio};

use leakwarden::metrics::{block_reason, skip_reason, upstream_reason, Metrics};

fn promtool() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("promtool")).find(|p| p.is_file())
}

fn busy_metrics() -> Metrics {
    let m = Metrics::new();
    m.record_initial_load(1_700_000_000.0);
    m.record_reload(false, 1_700_000_100.0);
    m.record_reload(true, 1_700_000_200.0);
    for route in ["api", "static"] {
        m.init_route(route, [("card", "mask"), ("ssn", "redact"), ("aws_access_key", "hash")]);
        for (code, n) in [("200", 90u64), ("404", 3), ("502", 2)] {
            m.requests_total.with_label_values(&[route, "GET", code]).inc_by(n);
        }
        m.requests_total.with_label_values(&[route, "POST", "201"]).inc_by(4);
        for v in [0.0004, 0.003, 0.02, 0.2, 1.5, 45.0] {
            m.request_duration_seconds.with_label_values(&[route]).observe(v);
            m.upstream_duration_seconds.with_label_values(&[route]).observe(v / 2.0);
        }
        m.upstream_errors_total.with_label_values(&[route, upstream_reason::REFUSED]).inc();
        m.upstream_errors_total.with_label_values(&[route, upstream_reason::TIMEOUT]).inc();
        m.findings_total.with_label_values(&[route, "card", "mask"]).inc_by(2);
        m.findings_total.with_label_values(&[route, "ssn", "redact"]).inc();
        m.responses_scanned_total.with_label_values(&[route]).inc_by(80);
        m.responses_modified_total.with_label_values(&[route]).inc_by(3);
        m.responses_blocked_total.with_label_values(&[route, block_reason::THRESHOLD]).inc();
        m.scan_bytes_total.with_label_values(&[route]).inc_by(1 << 20);
        m.scan_skipped_total.with_label_values(&[route, skip_reason::CONTENT_TYPE]).inc_by(7);
        m.scan_errors_total.with_label_values(&[route, "decode"]).inc();
    }
    m.connections_active.set(3);
    m
}

#[test]
fn promtool_check_metrics_passes() {
    let Some(promtool) = promtool() else {
        if std::env::var_os("CI").is_some() {
            panic!("promtool is missing in CI: .ci/run must install Debian's prometheus package");
        }
        eprintln!(
            "\n*** SKIPPED promtool_check_metrics_passes: promtool not found on PATH \
             (apt-get install prometheus); set CI=1 to make this a failure ***\n"
        );
        return;
    };
    let text = busy_metrics().encode();
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let out = child.wait_with_output().unwrap();
    let report =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool check metrics failed ({}):\n{report}\n--- exposition ---\n{}",
        out.status,
        String::from_utf8_lossy(&text)
    );
}
