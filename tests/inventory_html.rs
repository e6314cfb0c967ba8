//! `GET /inventory.html` in a real browser: Debian's headless Chromium
//! loads the page from a guard's admin listener on 127.0.0.1, runs its
//! inline script, and the test asserts on the rendered DOM. A screenshot
//! is kept as an artifact in `target/inventory-html/`.
//!
//! CI installs `chromium` (.ci/run); elsewhere, without it, the test says
//! so and passes, unless `CI` is set, where a missing browser fails it.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use http::header::{self, HeaderValue};
use http::{Request, Response};

const PAGE: &str = r#"<!doctype html><html><head>
<script src="https://tags.tracker.example/t.js"></script></head><body>
<form action="https://leads.crm.example/submit" method="post">
<input name="email" type="email"><input name="full_name" autocomplete="name"></form>
</body></html>"#;

const API: &str =
    r#"{"customers": [{"ssn": "SSN 536-22-1945", "card": {"number": "4111 1111 1111 1111"}}]}"#;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `url` with `extra` arguments; its stdout.
async fn run_chromium(bin: &Path, profile: &Path, url: &str, extra: &[&str]) -> String {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url)
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("chromium finishes within 2 minutes")
        .expect("chromium runs");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of a DOM dump, tags removed and entities left as they are.
fn text_of(dom: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn the_inventory_page_renders_in_chromium() {
    let Some(bin) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium (see .ci/run)");
        eprintln!("chromium not installed: skipping the browser test");
        return;
    };
    let site = upstream(|req: Request<hyper::body::Incoming>| async move {
        let (ct, body) = if req.uri().path().starts_with("/api/") {
            ("application/json", API)
        } else {
            ("text/html", PAGE)
        };
        let mut r = Response::new(full(body));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        r
    })
    .await;
    let (guard, _) = start_guard(site).await;
    for path in ["/signup", "/api/customers/1", "/api/customers/2"] {
        get(guard.listen[0], path).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let url = format!("http://{}/inventory.html", guard.admin.unwrap());

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/inventory-html");
    std::fs::create_dir_all(&artifacts).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let dom = run_chromium(&bin, profile.path(), &url, &["--dump-dom"]).await;
    let text = text_of(&dom);
    for want in [
        "Privacy inventory",
        "Endpoints exposing card 1, ssn 1",
        "Third-party forms with personal data 1",
        "default GET /api/customers/{id} 2 0",
        "customers[].card.number",
        "https://leads.crm.example POST email, name",
        "pii_to_third_party",
        "https://tags.tracker.example 1 0 0 0",
    ] {
        assert!(text.contains(want), "rendered page lacks {want:?}: {text}");
    }
    assert!(dom.contains("<polyline"), "the chart is drawn");
    for value in ["4111", "536-22-1945"] {
        assert!(!dom.contains(value), "{value} in the page");
    }

    let shot = artifacts.join("inventory.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &bin,
        profile.path(),
        &url,
        &["--window-size=1280,900", &format!("--screenshot={}", shot.display())],
    )
    .await;
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());
    guard.shutdown().await;
}
