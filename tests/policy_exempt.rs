//! Per-policy exemptions and allow-lists through the running proxy:
//! responses to `exempt_paths` leave unscanned and are counted as
//! `scan_skipped_total{reason="exempt_path"}`; a path that only reaches an
//! exempt prefix through a dot segment is scanned; a policy's
//! `allow_values` keeps its value unmasked while other cards are masked.

mod common;

use common::*;
use http::Response;

const PAGE: &str = "<p>card 4111 1111 1111 1111 and 5555 5555 5555 4444</p>";

#[tokio::test]
async fn exempt_paths_pass_unscanned_and_are_counted() {
    let up = upstream(|_req| async {
        Response::builder().header("content-type", "text/html").body(full(PAGE)).unwrap()
    })
    .await;
    let policy = "[policies.default]\nexempt_paths = [\"/static\", \"/media/**\"]\n\
                  allow_values = [\"5555555555554444\"]\n";
    let (guard, metrics) = start_guard_with(up, policy).await;
    let addr = guard.listen[0];
    let exempt = || metrics.scan_skipped_total.with_label_values(&["default", "exempt_path"]).get();

    let cases = [
        ("/static/app.html", true),
        ("/media/a/b.html", true),
        ("/account", false),
        ("/statics", false),
        ("/static/../account", false),
        ("/static/%2e%2e/account", false),
    ];
    let mut want_exempt = 0;
    for (path, is_exempt) in cases {
        let (parts, body) = get(addr, path).await;
        assert_eq!(parts.status, 200, "{path}");
        let body = String::from_utf8(body.to_vec()).unwrap();
        if is_exempt {
            want_exempt += 1;
            assert_eq!(body, PAGE, "{path} is exempt: forwarded unchanged");
        } else {
            assert!(!body.contains("4111 1111 1111 1111"), "{path} scanned: {body}");
            assert!(body.contains("**** **** **** 1111"), "{path}: {body}");
            // The policy's allow-list keeps its value.
            assert!(body.contains("5555 5555 5555 4444"), "{path}: {body}");
        }
        assert_eq!(exempt(), want_exempt, "{path}");
    }
    let text = metrics_text(&guard).await;
    assert!(
        text.contains(r#"leakwarden_scan_skipped_total{reason="exempt_path",route="default"} 2"#),
        "{text}"
    );
}
