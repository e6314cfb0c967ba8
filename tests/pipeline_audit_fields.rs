//! Property: whatever engine-detectable value a client puts in the parts of
//! a request that reach an audit line (path, method, request id), in
//! whatever percent-encoding, the line never carries it raw.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::Method;
use leakwarden::audit::{self, AuditRecord, AuditSink};
use leakwarden::detect::{ContentHint, Engine};
use leakwarden::policy::Policy;
use proptest::prelude::*;

fn engine() -> Arc<Engine> {
    Policy::default_policy().engine.clone()
}

/// A Luhn-valid card number from 15 leading digits.
fn luhn_complete(mut digits: Vec<u8>) -> String {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    digits.push(((10 - sum % 10) % 10) as u8);
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// Engine-detectable values: cards with any grouping separator, SSNs,
/// IBANs, emails, an API key.
fn value() -> impl Strategy<Value = String> {
    let card = (prop::sample::select(vec![4u8, 5]), prop::collection::vec(0u8..10, 14))
        .prop_map(|(first, rest)| luhn_complete([vec![first], rest].concat()));
    let grouped =
        (card.clone(), prop::sample::select(vec!["", " ", "-", "."])).prop_map(|(c, sep)| {
            c.as_bytes().chunks(4).map(|g| String::from_utf8_lossy(g)).collect::<Vec<_>>().join(sep)
        });
    let ssn = (100u32..665, 10u32..99, 1000u32..9999).prop_map(|(a, g, s)| format!("{a}-{g}-{s}"));
    let fixed = prop::sample::select(vec![
        "DE89370400440532013000".to_string(),
        "GB82 WEST 1234 5698 7654 32".to_string(),
        "jane.doe@example.com".to_string(),
        "AKIAIOSFODNN7EXAMPLE".to_string(),
    ]);
    prop_oneof![card, grouped, ssn, fixed]
}

/// `text` with each byte percent-encoded or not, as `mask` says.
fn encode(text: &str, mask: &[bool]) -> String {
    text.bytes()
        .enumerate()
        .map(|(i, b)| {
            if mask.get(i).copied().unwrap_or(false) {
                format!("%{b:02X}")
            } else {
                char::from(b).to_string()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_raw_value_in_any_audit_field(
        v in value(),
        enc in prop::collection::vec(any::<bool>(), 32),
        twice in any::<bool>(),
        prefix in "[a-z/]{0,8}",
    ) {
        let engine = engine();
        let (_, found) = engine.scan_all(v.as_bytes(), ContentHint::Text);
        prop_assume!(!found.is_empty(), "not detectable on its own: {}", v);

        let mut path_part = encode(&v, &enc);
        if twice {
            path_part = path_part.replace('%', "%25");
        }
        let path = format!("/{prefix}/{path_part}?q={v}");
        // An extension method may be any token; the value is one.
        let method_text = v.replace([' ', '@', '.'], "-");
        let method = Method::from_bytes(method_text.as_bytes()).unwrap();
        let request_id = encode(&v, &enc);

        let masked_path = audit::masked(&engine, audit::path_without_query(&path));
        let masked_id = audit::masked(&engine, &request_id);
        let (sink, log) = AuditSink::memory();
        sink.write(&AuditRecord {
            ts: audit::now_rfc3339(),
            request_id: &masked_id,
            route: "web",
            method: audit::method_label(&method),
            path: &masked_path,
            status: 200,
            mode: "enforce",
            policy: "default",
            client: "127.0.0.1:5000".parse().unwrap(),
            counts: BTreeMap::new(),
            actions: BTreeMap::new(),
            would_actions: BTreeMap::new(),
            fingerprints: &[],
            fingerprints_truncated: false,
            blocked: None,
            would_block: None,
            complete: true,
            exfil: None,
            side: None,
        });
        let line = log.lines().join("\n");
        let digits: String = v.chars().filter(char::is_ascii_alphanumeric).collect();
        let squeezed: String = line.chars().filter(|c| !" -.".contains(*c)).collect();
        prop_assert!(!line.contains(&v), "{} in {}", v, line);
        prop_assert!(!squeezed.contains(&digits), "{} in {}", digits, line);
        prop_assert!(!line.contains(&path_part), "{}", line);
        prop_assert!(!line.contains(&request_id), "{}", line);
    }
}
