//! The request body wrapper: observe mode forwards every byte as it came;
//! a blocking kind never lets a byte of the value out, whatever the
//! chunking (the engine's hold-back is what guarantees it).

use bytes::Bytes;
use http::Request;
use http_body_util::BodyExt;
use proptest::prelude::*;

use super::*;
use crate::pipeline::tests::{chunks, harness, ChanBody};

const CARD: &str = "4111 1111 1111 1111";

fn parts(ct: &str, query: &str) -> http::request::Parts {
    let uri = format!("http://shop.example/pay{query}");
    Request::post(uri).header("content-type", ct).body(()).unwrap().into_parts().0
}

/// Forwards the body as hyper would, returns what was forwarded and
/// whether it ended in an error.
async fn forward(mut body: RequestScan<ChanBody>) -> (Vec<u8>, Vec<usize>, bool) {
    let (mut got, mut sizes) = (Vec::new(), Vec::new());
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Ok(d) = f.into_data() {
                    sizes.push(d.len());
                    got.extend_from_slice(&d);
                }
            }
            Err(_) => return (got, sizes, true),
        }
    }
    (got, sizes, false)
}

fn digits(b: &[u8]) -> String {
    b.iter().filter(|c| c.is_ascii_digit()).map(|&c| c as char).collect()
}

fn split(body: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts {
        let to = (at + c).min(body.len());
        out.push(body[at..to].to_vec());
        at = to;
    }
    out.push(body[at..].to_vec());
    out
}

#[tokio::test]
async fn observe_mode_forwards_every_chunk_as_it_came() {
    let h = harness("");
    let body = format!("email=jane%40example.com&card={}&ssn=536-22-1945", CARD.replace(' ', "+"));
    let pieces = split(body.as_bytes(), &[5, 1, 17, 3]);
    let (scan, verdict) =
        start(&h.ctx, &parts("application/x-www-form-urlencoded", ""), chunks(pieces.clone()))
            .unwrap_or_else(|_| panic!("not refused"));
    let (got, sizes, failed) = forward(scan).await;
    assert!(!failed && !verdict.blocked());
    assert_eq!(got, body.as_bytes());
    let want: Vec<usize> = pieces.iter().map(Vec::len).filter(|&n| n > 0).collect();
    assert_eq!(sizes, want);
    let text = String::from_utf8(h.metrics.encode()).unwrap();
    for (kind, n) in [("card", 1), ("email", 1), ("ssn", 1)] {
        let line = format!(
            "leakwarden_request_findings_total{{action=\"detect\",kind=\"{kind}\",route=\"r\"}} {n}"
        );
        assert!(text.contains(&line), "{line} in {text}");
    }
    let audit = h.log.lines().join("\n");
    assert!(audit.contains("\"side\":\"request\""), "{audit}");
    assert!(!audit.contains("4111") && !audit.contains("jane"), "{audit}");
}

#[tokio::test]
async fn a_blocked_query_or_a_card_inside_the_window_never_opens_the_upstream() {
    let h = harness("request_actions = { card = \"block\" }");
    let q = format!("?card={}", CARD.replace(' ', "%20"));
    assert!(start(&h.ctx, &parts("text/plain", &q), chunks([])).is_err());
    let body = format!("{{\"order\": 7, \"card\": {{\"number\": \"{CARD}\"}}}}");
    let (mut scan, verdict) =
        start(&h.ctx, &parts("application/json", ""), chunks(split(body.as_bytes(), &[9, 9])))
            .unwrap_or_else(|_| panic!("not refused yet"));
    let refused = scan.hold().await.expect("refused inside the window");
    assert_eq!(refused.status(), 403);
    assert!(verdict.blocked());
    let text = String::from_utf8(h.metrics.encode()).unwrap();
    assert!(
        text.contains(
            "leakwarden_requests_blocked_total{reason=\"before_upstream\",route=\"r\"} 2"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_coded_body_is_refused_when_kinds_block_and_counted_otherwise() {
    let mut p = parts("application/json", "");
    p.headers.insert("content-encoding", "gzip".parse().unwrap());
    let h = harness("request_actions = { card = \"block\" }");
    assert!(start(&h.ctx, &p, chunks([b"x".to_vec()])).is_err());
    let h = harness("");
    let (scan, _) = start(&h.ctx, &p, chunks([b"\x1f\x8b".to_vec()])).unwrap_or_else(|_| panic!());
    assert_eq!(forward(scan).await.0, b"\x1f\x8b");
    assert!(String::from_utf8(h.metrics.encode()).unwrap().contains(
        "leakwarden_request_scan_skipped_total{reason=\"content_coding\",route=\"r\"} 1"
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Past the window (no hold): whatever the chunking and wherever the
    /// card sits, the forwarded bytes are a prefix of the body that stops
    /// before the card's first digit, and the body ends in an error (hyper
    /// aborts the upstream request).
    #[test]
    fn a_card_past_the_window_is_never_forwarded(
        pad in 0usize..3000,
        cuts in proptest::collection::vec(1usize..400, 0..20),
        format in 0usize..3,
    ) {
        let filler = "lorem ipsum ".repeat(pad / 12 + 1);
        let (ct, body) = match format {
            0 => ("application/x-www-form-urlencoded", format!("note={}&card={}&x=1", filler.replace(' ', "+"), CARD.replace(' ', "%20"))),
            1 => ("application/json", format!("{{\"note\": \"{filler}\", \"card\": \"{CARD}\"}}")),
            _ => ("multipart/form-data; boundary=b0", format!("--b0\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n{filler}\r\n--b0\r\nContent-Disposition: form-data; name=\"card\"\r\n\r\n{CARD}\r\n--b0--\r\n")),
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (got, failed, blocked) = rt.block_on(async {
            let h = harness("request_actions = { card = \"block\" }\nrequest_hold_window_bytes = 0");
            let (mut scan, verdict) = start(&h.ctx, &parts(ct, ""), chunks(split(body.as_bytes(), &cuts)))
                .unwrap_or_else(|_| panic!("not refused"));
            assert!(scan.hold().await.is_none());
            let (got, _, failed) = forward(scan).await;
            (got, failed, verdict.blocked())
        });
        prop_assert!(failed && blocked);
        prop_assert!(body.as_bytes().starts_with(&got));
        let card_at = body.find(match format { 0 => "4111%20", _ => "4111 " }).unwrap();
        prop_assert!(got.len() <= card_at, "{} bytes forwarded, the card starts at {}", got.len(), card_at);
        prop_assert!(!digits(&got).contains("4111111111111111"));
    }
}

#[test]
fn chunks_are_split_only_at_the_release_point() {
    // A body with nothing to find is forwarded whole in enforce mode too.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let h = harness("request_actions = { card = \"block\" }\nrequest_hold_window_bytes = 0");
        let body = Bytes::from_static(b"a=1&b=2&note=nothing+to+see");
        let (scan, _) =
            start(&h.ctx, &parts("application/x-www-form-urlencoded", ""), chunks([body.to_vec()]))
                .unwrap_or_else(|_| panic!());
        let (got, _, failed) = forward(scan).await;
        assert!(!failed);
        assert_eq!(got, body);
    });
}

#[tokio::test]
async fn monitor_mode_only_records_what_a_block_would_have_done() {
    let h = harness("mode = \"monitor\"\nrequest_actions = { card = \"block\" }");
    let body = format!("{{\"card\": \"{CARD}\"}}");
    let (mut scan, verdict) =
        start(&h.ctx, &parts("application/json", "?x=1"), chunks([body.clone().into_bytes()]))
            .unwrap_or_else(|_| panic!("monitor never refuses"));
    assert!(scan.hold().await.is_none());
    let (got, _, failed) = forward(scan).await;
    assert!(!failed && !verdict.blocked());
    assert_eq!(got, body.as_bytes());
    let text = String::from_utf8(h.metrics.encode()).unwrap();
    assert!(
        text.contains(
            "leakwarden_request_findings_total{action=\"monitor\",kind=\"card\",route=\"r\"} 1"
        ),
        "{text}"
    );
    let audit = h.log.lines().join("\n");
    assert!(audit.contains("\"would_block\":\"block_action\""), "{audit}");
    assert!(audit.contains("\"would_actions\":{\"card\":\"block\"}"), "{audit}");
}
