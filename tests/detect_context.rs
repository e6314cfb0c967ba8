//! Ambiguous shapes decided from their context, and custom rules without a
//! literal prefix: engine-level tables, configuration (`[detect.context]`,
//! `not_context`, positioned errors through the binary), chunk invariance
//! under proptest (context just before a chunk edge, bounded rules cut
//! anywhere) and one pass through the proxy.

mod common;

use std::sync::{Arc, OnceLock};

use leakwarden::config::{self, ConfigError};
use leakwarden::detect::{
    Action, Brand, ContentHint, ContextWords, CustomRule, Engine, EngineConfig, Finding, Scanner,
};
use leakwarden::policy::engine_config;
use proptest::prelude::*;

fn engine(f: impl FnOnce(&mut EngineConfig)) -> Arc<Engine> {
    let mut c = EngineConfig { hash_key: b"context-test".to_vec(), ..Default::default() };
    for a in c.detectors.values_mut() {
        *a = Action::Mask;
    }
    f(&mut c);
    Arc::new(Engine::new(c).expect("engine builds"))
}

fn default_engine() -> &'static Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| engine(|_| {}))
}

/// The engine with bounded custom rules (no literal prefix) and a custom
/// rule with context and not_context.
fn custom_engine() -> &'static Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| {
        engine(|c| {
            c.custom = vec![
                CustomRule {
                    name: "employee".into(),
                    regex: Some(r"\b[A-Z]{2}\d{6}\b".into()),
                    ..Default::default()
                },
                CustomRule {
                    name: "badge".into(),
                    regex: Some(r"(?i)(?:bdg|vis)-\d{3,5}".into()),
                    context: vec!["badge".into()],
                    not_context: vec!["sample".into()],
                    action: Some(Action::Redact),
                    ..Default::default()
                },
                CustomRule {
                    name: "acct".into(),
                    literals: vec!["ACCT".into()],
                    regex: Some(r"ACCT\d{6}".into()),
                    not_context: vec!["test".into()],
                    ..Default::default()
                },
            ];
            c.max_custom_match = 32;
        })
    })
}

/// Kind names and brands found, in order.
type Found = Vec<(String, Option<Brand>)>;

/// Kinds and brands found in `text`, in order.
fn found(e: &Arc<Engine>, text: &str) -> Found {
    let (_, f) = e.scan_all(text.as_bytes(), ContentHint::Text);
    f.iter().map(|f| (e.kind_name(f.kind).to_string(), f.brand)).collect()
}

#[test]
fn ambiguous_shapes_table() {
    let card = |b| vec![("card".to_string(), Some(b))];
    let phone = vec![("phone".to_string(), None)];
    let ssn = vec![("ssn".to_string(), None)];
    let none: Found = vec![];
    let cases: Vec<(&str, Found)> = vec![
        // 19 contiguous digits (UnionPay 81, published): context decides.
        ("card number 8171999900000000021", card(Brand::UnionPay)),
        ("{\"pan\":\"8171999900000000021\"}", card(Brand::UnionPay)),
        ("<input name=\"cc_num\" value=\"8171999900000000021\">", card(Brand::UnionPay)),
        ("PAYMENT: 8171999900000000021", card(Brand::UnionPay)),
        ("8171999900000000021", none.clone()),
        ("order_id=8171999900000000021", none.clone()),
        ("{\"id\": 8171999900000000021}", none.clone()),
        ("trace 8171999900000000021", none.clone()),
        ("#8171999900000000021", none.clone()),
        ("card on file, order #8171999900000000021", none.clone()),
        // The same 19 digits written encoded (a digit reference, JSON
        // escapes, fullwidth digits): decided alike, from the words
        // before them.
        ("card number &#56;171999900000000021", card(Brand::UnionPay)),
        ("&#56;171999900000000021", none.clone()),
        ("order_id=&#56;171999900000000021", none.clone()),
        ("{\"pan\":\"\\u0038171999900000000021\"}", card(Brand::UnionPay)),
        ("{\"id\":\"\\u0038171999900000000021\"}", none.clone()),
        ("card: \u{ff18}\u{ff11}\u{ff17}\u{ff11}999900000000021", card(Brand::UnionPay)),
        ("\u{ff18}\u{ff11}\u{ff17}\u{ff11}999900000000021", none.clone()),
        // Grouped 19 digits: the grouping is the context.
        ("8171 9999 0000 0000 021", card(Brand::UnionPay)),
        ("id 8171 9999 0000 0000 021", card(Brand::UnionPay)),
        // 16 digits stay accepted bare.
        ("4111111111111111", card(Brand::Visa)),
        ("id 4111111111111111", card(Brand::Visa)),
        // UATP written bare: a card in card context only.
        ("135410014004955", none.clone()),
        ("card: 135410014004955", card(Brand::Uatp)),
        ("1354 100140 04955", card(Brand::Uatp)),
        // No known range, grouped, Luhn-valid: brand unknown in context.
        ("card 9111 1111 1111 1110", card(Brand::Unknown)),
        ("9111 1111 1111 1110", none.clone()),
        ("card 9111111111111110", none.clone()),
        // Ten bare digits: a phone in phone context.
        ("<a href=\"tel:4155550132\">call</a>", phone.clone()),
        ("phone_number=4155550132&x=1", phone.clone()),
        ("Fax: 4155550132", phone.clone()),
        ("4155550132", none.clone()),
        ("ref 4155550132", none.clone()),
        ("hotel 4155550132", none.clone()),
        // Formatted phones need none.
        ("415-555-0132", phone.clone()),
        ("(415) 555-0132", phone.clone()),
        // Nine bare digits: SSN keywords, as whole words.
        ("SSN: 822438021", ssn.clone()),
        ("ssn_no=822438021", ssn.clone()),
        ("822438021", none.clone()),
        ("assn 822438021", none.clone()),
    ];
    for (text, want) in cases {
        assert_eq!(found(default_engine(), text), want, "{text}");
    }
}

#[test]
fn custom_rules_context_and_bounded_table() {
    let e = custom_engine();
    let k = |n: &str| vec![(n.to_string(), None)];
    let none: Found = vec![];
    let cases: Vec<(&str, Found)> = vec![
        ("staff AB123456 left", k("employee")),
        ("xAB123456", none.clone()),
        ("AB1234567", none.clone()),
        ("badge: BDG-0042", k("badge")),
        ("badge vis-12345", k("badge")),
        ("BDG-0042", none.clone()),
        ("badge sample BDG-0042", none.clone()),
        ("sample, badge BDG-0042", k("badge")),
        ("ACCT123456", k("acct")),
        ("test ACCT123456", none.clone()),
    ];
    for (text, want) in cases {
        assert_eq!(found(e, text), want, "{text}");
    }
    let (out, _) = e.scan_all(b"badge: BDG-0042.", ContentHint::Text);
    assert_eq!(out, b"badge: [REDACTED:badge].");
}

/// `[detect.context]` replaces the built-in words; custom rules read
/// `context`, `not_context` and `context_window` from the file.
#[test]
fn context_words_from_configuration() {
    let text = r#"
[detect.context.phone]
words = ["contact"]
not_words = ["office"]
window = 16

[detect.context.card]
words = []
not_words = ["id"]

[[detect.custom]]
name = "ticket"
regex = 'T\d{7}'
context = ["ticket"]
not_context = ["example"]
context_window = 12
"#;
    let file = config::parse_str(text, "ctx.toml").expect("parses");
    let cfg = engine_config(&file.detect).expect("valid");
    assert_eq!(cfg.context.phone.words, vec!["contact".to_string()]);
    assert_eq!(cfg.context.ssn, ContextWords::ssn_default());
    let e = Arc::new(Engine::new(cfg).unwrap());
    let kinds = |t: &str| found(&e, t).into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(kinds("contact 4155550132"), ["phone"]);
    assert_eq!(kinds("phone 4155550132"), Vec::<String>::new());
    assert_eq!(kinds("contact office 4155550132"), Vec::<String>::new());
    // Card words empty: a 19-digit run stands unless an ID word is near.
    assert_eq!(kinds("8171999900000000021"), ["card"]);
    assert_eq!(kinds("id 8171999900000000021"), Vec::<String>::new());
    assert_eq!(kinds("ticket T1234567"), ["ticket"]);
    // Twelve bytes: "ticket" 16 bytes before is out of the window.
    assert_eq!(kinds("ticket: see the T1234567"), Vec::<String>::new());
    assert_eq!(kinds("example ticket T1234567"), ["ticket"]);
    assert_eq!(kinds("ticket example T1234567"), Vec::<String>::new());
}

/// The engine's defaults are what `config/leakwarden.toml` shows.
#[test]
fn example_config_shows_the_default_context_words() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/leakwarden.toml");
    let file = config::read_file(std::path::Path::new(path)).unwrap();
    let cfg = engine_config(&file.detect).unwrap();
    assert_eq!(cfg.context, leakwarden::detect::ContextConfig::default());
}

/// An unbounded regex without a literal prefix is refused with the rule's
/// name, the place it was written and why; so are bad context settings.
#[test]
fn config_errors_name_file_line_column() {
    let unbounded =
        "[detect]\nmax_custom_match = 64\n\n[[detect.custom]]\nname = \"digits\"\nregex = '\\d+'\n";
    let file = config::parse_str(unbounded, "rules.toml").unwrap();
    match engine_config(&file.detect) {
        Err(ConfigError::At { file, line, column, message }) => {
            assert_eq!((file.as_str(), line, column), ("rules.toml", 6, 9), "{message}");
            assert!(message.contains("custom rule \"digits\""), "{message}");
            assert!(message.contains("no bounded length"), "{message}");
            assert!(message.contains("held back") || message.contains("holds back"), "{message}");
        }
        other => panic!("expected a located error, got {other:?}"),
    }
    let long = "[detect]\nmax_custom_match = 16\n[[detect.custom]]\nname = \"w\"\nregex = '\\w{2}\\d{20}'\n";
    let file = config::parse_str(long, "rules.toml").unwrap();
    let err = engine_config(&file.detect).unwrap_err().to_string();
    assert!(err.starts_with("rules.toml:5:9:") && err.contains("max_custom_match"), "{err}");

    for (text, at) in [
        ("[detect.context.card]\nwindow = 80\n", "ctx.toml:2:10:"),
        // A bad word: the list it is in.
        ("[detect.context.phone]\nwords = [\"tel\", \"\"]\n", "ctx.toml:2:9:"),
        (
            "[[detect.custom]]\nname = \"x\"\nliterals = [\"x\"]\nnot_context = [\"\"]\n",
            "ctx.toml:4:15:",
        ),
    ] {
        let err = config::parse_str(text, "ctx.toml").unwrap_err().to_string();
        assert!(err.starts_with(at), "{text}: {err}");
    }
}

/// The same through the binary: exit 2 and file:line:column on stderr.
#[test]
fn check_config_refuses_an_unbounded_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, "[[detect.custom]]\nname = \"ids\"\nregex = '[0-9]{4,}'\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leakwarden"))
        .arg("check-config")
        .arg(&path)
        .env_remove("LEAKWARDEN_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("rules.toml:3:9:") && stderr.contains("\"ids\""), "{stderr}");
}

fn run(mut s: Scanner, input: &[u8], cuts: &[usize]) -> (Vec<u8>, Vec<Finding>) {
    let (mut out, mut f) = (Vec::new(), Vec::new());
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut prev = 0;
    for c in cuts.into_iter().chain([input.len()]) {
        s.feed(&input[prev..c], &mut out, &mut f);
        prev = c;
    }
    s.finish(&mut out, &mut f);
    (out, f)
}

/// Context words, ID words and values of every ambiguous shape, and text
/// for the bounded rules.
const PIECES: &[&str] = &[
    "card number ",
    "Card: ",
    "\"pan\":\"",
    "cc_num=",
    "order_id=",
    "id ",
    "#",
    "trace ",
    "tel:",
    "phone ",
    "ref ",
    "SSN ",
    "8171999900000000021",
    "4924291378301304924",
    "135410014004955",
    "9111 1111 1111 1110",
    "9111111111111110",
    "4155550132",
    "822438021",
    "4111 1111 1111 1111",
    "AB123456",
    "xAB123456 ",
    "badge ",
    "sample ",
    "BDG-0042",
    "vis-12345",
    "ACCT123456",
    "test ",
    " ",
    "\n",
    "\"",
    "é",
];

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(PIECES).prop_map(str::to_string),
        2 => "[a-z ]{1,40}",
        1 => "[0-9A-Z\\-]{1,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// For any split (context words just before a chunk edge, a value
    /// after it; a bounded rule's match cut anywhere) the streamed output
    /// and findings equal the one-shot ones and the exhaustive reference's,
    /// and the hold-back stays within `max_hold`.
    #[test]
    fn context_and_bounded_rules_are_chunk_invariant(
        pieces in prop::collection::vec(piece(), 1..24),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        custom in any::<bool>(),
    ) {
        let e = if custom { custom_engine() } else { default_engine() };
        let input = pieces.concat().into_bytes();
        let whole = e.scan_all(&input, ContentHint::Text);
        let reference = run(Scanner::exhaustive(e.clone(), ContentHint::Text), &input, &[]);
        prop_assert!(reference.0 == whole.0, "reference output differs");
        prop_assert_eq!(&reference.1, &whole.1);
        let split = run(Scanner::new(e.clone(), ContentHint::Text), &input, &cuts);
        prop_assert!(split.0 == whole.0, "split output differs");
        prop_assert_eq!(&split.1, &whole.1);
        let mut s = Scanner::new(e.clone(), ContentHint::Text);
        let (mut out, mut f) = (Vec::new(), Vec::new());
        for b in input.chunks(1) {
            s.feed(b, &mut out, &mut f);
            prop_assert!(s.held() <= e.max_hold());
        }
        s.finish(&mut out, &mut f);
        prop_assert!(out == whole.0, "byte-by-byte output differs");
    }
}

/// Every cut of documents whose context word ends right at a chunk edge.
#[test]
fn context_before_every_cut() {
    let docs = [
        "x card number 8171999900000000021 y",
        "x order_id 8171999900000000021 y",
        "<a href=\"tel:4155550132\">",
        "SSN: 822438021.",
        "badge sample, badge BDG-0042 staff AB123456.",
    ];
    for e in [default_engine(), custom_engine()] {
        for doc in docs {
            let input = doc.as_bytes();
            let want = e.scan_all(input, ContentHint::Text);
            for cut in 0..=input.len() {
                let got = run(Scanner::new(e.clone(), ContentHint::Text), input, &[cut]);
                assert!(got.0 == want.0, "{doc:?} cut at {cut}");
                assert_eq!(got.1, want.1, "{doc:?} cut at {cut}");
            }
        }
    }
}

/// Through the proxy, written one byte at a time: a 19-digit card in card
/// context is masked, the same digits as an order ID pass untouched.
#[tokio::test]
async fn through_the_proxy() {
    use http::{header, HeaderValue, Response};
    let doc = "{\"card_number\":\"8171999900000000021\",\"order_id\":\"8171999900000000021\"}";
    let up = common::upstream(move |_| async move {
        let mut r = Response::new(common::streamed(doc.as_bytes().to_vec(), doc.len()));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    })
    .await;
    let (guard, _) = common::start_guard_with(up, "[audit]\nenabled = false").await;
    let (parts, body) = common::get(guard.listen[0], "/").await;
    assert_eq!(parts.status, 200);
    assert_eq!(
        &body[..],
        b"{\"card_number\":\"***************0021\",\"order_id\":\"8171999900000000021\"}"
            .as_slice()
    );
}
