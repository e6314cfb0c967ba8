//! What the audit and access log checks share: the runtime, policy and
//! metrics every input reuses, reading the input's length-prefixed
//! fields, and the check itself: a log line, read as
//! JSON, holds no value the engine rewrites in any key or string, read as
//! written and after percent-decoding (a value in a URL path arrives
//! percent-encoded).
use std::sync::{Arc, OnceLock};

use leakwarden::detect::{Action, ContentHint, Engine};
use leakwarden::metrics::Metrics;
use leakwarden::policy::Policy;

/// Built once per process: a runtime, the default policy and metrics.
pub struct Fixed {
    pub rt: tokio::runtime::Runtime,
    pub policy: Arc<Policy>,
    pub metrics: Arc<Metrics>,
}

pub fn fixed() -> &'static Fixed {
    static F: OnceLock<Fixed> = OnceLock::new();
    F.get_or_init(|| Fixed {
        rt: tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"),
        policy: Arc::new(Policy::default_policy()),
        metrics: Arc::new(Metrics::new()),
    })
}

/// One field: a length byte, then that many bytes; and the rest.
pub fn take(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&n, rest) = data.split_first()?;
    (rest.len() >= usize::from(n)).then(|| rest.split_at(usize::from(n)))
}

/// `%XX` escapes decoded; every other byte as it is.
fn percent_decode(b: &[u8]) -> Vec<u8> {
    let hex = |c: Option<&u8>| c.and_then(|&c| char::from(c).to_digit(16)).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (hex(b.get(i + 1)), hex(b.get(i + 2))) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Panics if `s`, as written or percent-decoded, holds a value the engine
/// rewrites.
pub fn assert_clean(engine: &Arc<Engine>, field: &str, s: &str) {
    let decoded = percent_decode(s.as_bytes());
    for form in [s.as_bytes(), &decoded] {
        let (_, findings) = engine.scan_all(form, ContentHint::Text);
        for f in findings {
            assert!(
                engine.action(f.kind) == Some(Action::Detect),
                "log field {field} holds a {} at {}..{}",
                f.kind.as_str(),
                f.start,
                f.end
            );
        }
    }
}

pub fn walk(engine: &Arc<Engine>, field: &str, v: &serde_json::Value) {
    match v {
        serde_json::Value::String(s) => assert_clean(engine, field, s),
        serde_json::Value::Array(a) => a.iter().for_each(|v| walk(engine, field, v)),
        serde_json::Value::Object(o) => {
            for (k, v) in o {
                assert_clean(engine, "key", k);
                walk(engine, k, v);
            }
        }
        _ => {}
    }
}
