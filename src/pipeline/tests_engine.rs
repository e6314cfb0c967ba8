//! Pipeline unit tests that need the real detection engine: masking,
//! blocking, thresholds, monitor mode and the audit line.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::StatusCode;
use http_body_util::BodyExt;

use super::tests::{chunks, collect, harness, metric, response};
use super::*;

const CARD: &str = "4111111111111111";
const CARD_SPACED: &str = "4111 1111 1111 1111";
const SSN: &str = "536-22-1945";

fn has(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn masked_json_stays_valid_and_is_audited() {
    let h = harness("");
    let doc = format!(
        "{{\"pan\": {CARD}, \"display\": \"{CARD_SPACED}\", \"ssn\": \"{SSN}\", \"email\": \"jane@example.com\"}}"
    );
    let out = process_response(
        h.ctx.clone(),
        response(Some("application/json"), chunks([doc.clone().into_bytes()])),
    )
    .await;
    assert_eq!(out.status(), StatusCode::OK);
    let body = collect(out).await.unwrap().0;
    assert_eq!(body.len(), doc.len(), "mask keeps the length");
    assert!(!has(&body, CARD) && !has(&body, CARD_SPACED) && !has(&body, SSN), "{body:?}");
    let v: serde_json::Value = serde_json::from_slice(&body).expect("still valid JSON");
    assert!(v["pan"].is_number(), "a card written as a number stays a number: {v}");
    assert!(has(&body, "jane@example.com"), "email is detect-only by default");

    let lines = h.log.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(!line.contains(CARD) && !line.contains("1111 1111") && !line.contains(SSN), "{line}");
    let a: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(a["counts"]["card"], 2);
    assert_eq!(a["counts"]["ssn"], 1);
    assert_eq!(a["counts"]["email"], 1);
    assert_eq!(a["actions"]["card"], "mask");
    assert_eq!(a["actions"]["email"], "detect");
    assert_eq!(a["mode"], "enforce");
    assert_eq!(a["status"], 200);
    assert_eq!(a["complete"], true);
    assert_eq!(a["fingerprints"].as_array().unwrap().len(), 3, "one card value twice: {line}");
    assert_eq!(
        metric(&h.metrics, "leakwarden_findings_total{action=\"mask\",kind=\"card\",route=\"r\"}"),
        2
    );
    assert_eq!(metric(&h.metrics, "leakwarden_responses_modified_total{route=\"r\"}"), 1);
}

#[tokio::test]
async fn card_split_at_every_byte_is_masked() {
    let doc = format!("<p>Visa: {CARD_SPACED} exp 12/29</p>");
    let h0 = harness("");
    let (want, _) = h0.ctx.policy.engine.scan_all(doc.as_bytes(), crate::detect::ContentHint::Html);
    assert!(!has(&want, CARD_SPACED));
    for cut in 0..=doc.len() {
        let h = harness("hold_window_bytes = 0");
        let (a, b) = doc.as_bytes().split_at(cut);
        let out = process_response(
            h.ctx.clone(),
            response(Some("text/html"), chunks([a.to_vec(), b.to_vec()])),
        )
        .await;
        assert_eq!(collect(out).await.unwrap().0, want, "cut at {cut}");
    }
}

#[tokio::test]
async fn block_inside_the_window_replaces_the_response() {
    let h = harness("actions = { card = \"block\" }");
    let doc = format!("<p>Card: {CARD_SPACED}</p>");
    let mut resp = response(Some("text/html"), chunks([doc.into_bytes()]));
    resp.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"v1\""));
    resp.headers_mut().insert("x-upstream", HeaderValue::from_static("yes"));
    let out = process_response(h.ctx.clone(), resp).await;
    assert_eq!(out.status(), StatusCode::FORBIDDEN);
    assert!(out.headers().get("x-upstream").is_none(), "no upstream headers on the block page");
    assert_eq!(out.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    let body = collect(out).await.unwrap().0;
    assert!(!has(&body, "4111") && !has(&body, "1111"), "{body:?}");
    assert_eq!(
        metric(
            &h.metrics,
            "leakwarden_responses_blocked_total{reason=\"before_headers\",route=\"r\"}"
        ),
        1
    );
    assert_eq!(
        metric(&h.metrics, "leakwarden_findings_total{action=\"block\",kind=\"card\",route=\"r\"}"),
        1
    );
    let a: serde_json::Value = serde_json::from_str(&h.log.lines()[0]).unwrap();
    assert_eq!(a["blocked"], "before_headers");
    assert_eq!(a["status"], 403);
    assert_eq!(a["actions"]["card"], "block");

    // A configured status.
    let h = harness("actions = { card = \"block\" }\nblock_status = 451");
    let doc = format!("<p>Card: {CARD_SPACED}</p>");
    let out =
        process_response(h.ctx.clone(), response(Some("text/html"), chunks([doc.into_bytes()])))
            .await;
    assert_eq!(out.status().as_u16(), 451);
}

#[tokio::test]
async fn block_after_the_headers_aborts_without_the_value() {
    let h = harness("actions = { card = \"block\" }\nhold_window_bytes = 1000");
    let clean = "clean text, nothing here. ".repeat(400).into_bytes();
    let tail = format!("and then {CARD_SPACED} appears").into_bytes();
    let out = process_response(
        h.ctx.clone(),
        response(Some("text/plain"), chunks([clean.clone(), tail])),
    )
    .await;
    assert_eq!(out.status(), StatusCode::OK);
    let mut body = out.into_body();
    let mut got = Vec::new();
    let mut errored = false;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => got.extend_from_slice(f.data_ref().unwrap_or(&Bytes::new())),
            Err(_) => {
                errored = true;
                break;
            }
        }
    }
    assert!(errored, "the body must end in an error, not a clean end");
    assert!(!has(&got, "4111"), "no digit of the card before the abort");
    assert_eq!(
        metric(&h.metrics, "leakwarden_responses_blocked_total{reason=\"aborted\",route=\"r\"}"),
        1
    );
    let a: serde_json::Value = serde_json::from_str(&h.log.lines()[0]).unwrap();
    assert_eq!(a["blocked"], "aborted");
    assert_eq!(a["status"], 200);
    assert_eq!(a["complete"], false);
}

#[tokio::test]
async fn thresholds_block_bulk_leaks_only() {
    let two = format!("{CARD_SPACED}\n5555 5555 5555 4444\n");
    let three = format!("{two}3782 822463 10005\n");
    let h = harness("thresholds = { card = 3 }");
    let out = process_response(
        h.ctx.clone(),
        response(Some("text/plain"), chunks([two.clone().into_bytes()])),
    )
    .await;
    assert_eq!(out.status(), StatusCode::OK);
    assert!(!has(&collect(out).await.unwrap().0, CARD_SPACED));
    let out =
        process_response(h.ctx.clone(), response(Some("text/plain"), chunks([three.into_bytes()])))
            .await;
    assert_eq!(out.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        metric(&h.metrics, "leakwarden_responses_blocked_total{reason=\"threshold\",route=\"r\"}"),
        1
    );
}

#[tokio::test]
async fn monitor_mode_passes_bytes_and_still_audits() {
    let h = harness("mode = \"monitor\"\nactions = { card = \"block\" }");
    let doc = format!("<p>{CARD_SPACED}</p>").into_bytes();
    let out =
        process_response(h.ctx.clone(), response(Some("text/html"), chunks([doc.clone()]))).await;
    assert_eq!(out.status(), StatusCode::OK);
    assert_eq!(collect(out).await.unwrap().0, doc);
    let a: serde_json::Value = serde_json::from_str(&h.log.lines()[0]).unwrap();
    assert_eq!(a["mode"], "monitor");
    assert_eq!(a["would_block"], "block_action");
    assert!(a.get("blocked").is_none());
    assert_eq!(a["actions"]["card"], "monitor");
    assert_eq!(a["would_actions"]["card"], "block");
    // Counted as what was done (nothing), with the would-be action in its
    // own series; no findings series claims the block.
    assert_eq!(
        metric(
            &h.metrics,
            "leakwarden_findings_total{action=\"monitor\",kind=\"card\",route=\"r\"}"
        ),
        1
    );
    assert_eq!(
        metric(
            &h.metrics,
            "leakwarden_monitored_findings_total{kind=\"card\",route=\"r\",would_action=\"block\"}"
        ),
        1
    );
    let text = String::from_utf8(h.metrics.encode()).unwrap();
    assert!(!text.contains("leakwarden_findings_total{action=\"block\""), "{text}");
    assert_eq!(metric(&h.metrics, "leakwarden_responses_modified_total{route=\"r\"}"), 0);
}

#[tokio::test]
async fn content_length_kept_for_masks_dropped_for_redacts() {
    let doc = format!("<p>{CARD_SPACED}</p>").into_bytes();
    for (policy, kept) in [
        ("hold_window_bytes = 0", true),
        ("hold_window_bytes = 0\nactions = { card = \"redact\" }", false),
        ("hold_window_bytes = 0\nactions = { ssn = \"hash\" }", false),
    ] {
        let h = harness(policy);
        let mut resp = response(Some("text/html"), chunks([doc.clone()]));
        resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(doc.len()));
        let out = process_response(h.ctx.clone(), resp).await;
        assert_eq!(out.headers().contains_key(header::CONTENT_LENGTH), kept, "{policy}");
        let body = collect(out).await.unwrap().0;
        assert!(!has(&body, CARD_SPACED), "{policy}");
        if !kept {
            continue;
        }
        assert_eq!(body.len(), doc.len());
    }
    // Inside the window the new length is known exactly.
    let h = harness("actions = { card = \"redact\" }");
    let mut resp = response(Some("text/html"), chunks([doc.clone()]));
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(doc.len()));
    resp.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"v1\""));
    let out = process_response(h.ctx.clone(), resp).await;
    let cl: usize = out.headers()[header::CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
    assert_eq!(out.headers()[header::ETAG], "W/\"v1\"", "rewritten: weak validator");
    let body = collect(out).await.unwrap().0;
    assert_eq!(cl, body.len());
    assert!(has(&body, "[REDACTED:card]"), "{body:?}");
}

#[tokio::test]
async fn audit_path_has_no_query_and_no_value() {
    let mut h = harness("");
    h.ctx.path = format!("/cards/{CARD}?ssn={SSN}");
    let doc = CARD_SPACED.as_bytes().to_vec();
    let out = process_response(h.ctx.clone(), response(Some("text/plain"), chunks([doc]))).await;
    collect(out).await.unwrap();
    let line = &h.log.lines()[0];
    assert!(!line.contains(CARD) && !line.contains(SSN) && !line.contains('?'), "{line}");
    let a: serde_json::Value = serde_json::from_str(line).unwrap();
    assert!(a["path"].as_str().unwrap().starts_with("/cards/"), "{line}");
}

#[tokio::test]
async fn audit_fingerprints_stop_at_the_cap_and_say_so() {
    use crate::audit::MAX_FINGERPRINTS;
    // (distinct values, times each appears, fingerprints listed, truncated)
    let cases = [
        (MAX_FINGERPRINTS, 2, MAX_FINGERPRINTS, false),
        (MAX_FINGERPRINTS + 1, 1, MAX_FINGERPRINTS, true),
        (MAX_FINGERPRINTS + 8, 3, MAX_FINGERPRINTS, true),
        (3, 5, 3, false),
    ];
    for (distinct, times, listed, truncated) in cases {
        let mut doc = String::new();
        for round in 0..times {
            for i in 0..distinct {
                doc.push_str(&format!("<li>{round}: user{i}@example.com</li>\n"));
            }
        }
        // Once the list is full the scanner stops making fingerprints: in
        // any split, the line and the body are the whole body's.
        let mut first: Option<(serde_json::Value, Bytes)> = None;
        for size in [doc.len(), 7, 61] {
            let h = harness("");
            let parts = doc.as_bytes().chunks(size).map(<[u8]>::to_vec).collect::<Vec<_>>();
            let out =
                process_response(h.ctx.clone(), response(Some("text/html"), chunks(parts))).await;
            let (body, _) = collect(out).await.unwrap();
            let lines = h.log.lines();
            assert_eq!(lines.len(), 1, "{lines:?}");
            let mut a: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
            // Per response, not per value.
            for field in ["request_id", "duration_ms", "ts"] {
                a.as_object_mut().unwrap().remove(field);
            }
            match &first {
                None => first = Some((a, body)),
                Some((line, whole)) => {
                    assert_eq!(&a, line, "{distinct} x {times}, chunks of {size}");
                    assert_eq!(&body, whole, "{distinct} x {times}, chunks of {size}");
                }
            }
        }
        let (a, _) = first.unwrap();
        let what = format!("{distinct} x {times}: {a}");
        assert_eq!(a["counts"]["email"], (distinct * times) as u64, "{what}");
        let fps = a["fingerprints"].as_array().unwrap();
        assert_eq!(fps.len(), listed, "{what}");
        // Written only when true.
        let said = a.get("fingerprints_truncated").and_then(serde_json::Value::as_bool);
        assert_eq!(said.unwrap_or(false), truncated, "{what}");
        let unique: std::collections::HashSet<&str> =
            fps.iter().map(|f| f.as_str().unwrap()).collect();
        assert_eq!(unique.len(), fps.len(), "{what}");
    }
}
