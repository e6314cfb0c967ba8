//! Scores the engine on labeled corpora: the project's generated corpus
//! (`support/corpus`, always) and the shared corpus (`../shared/corpus`,
//! when present; skipped with a printed note otherwise).
//!
//! Strict kinds (card, ssn, iban, secrets): recall at or above the floor
//! each, no finding overlapping a decoy, no finding anywhere unlabeled, card
//! brands match, and no planted strict value survives in the output. Email
//! and phone recall and precision are printed and held to their own
//! floors. Every document is scanned whole and in pseudo-random small
//! chunks; both must agree.

use std::collections::BTreeMap;
use std::sync::Arc;

use leakwarden::detect::{ContentHint, Engine, EngineConfig, Finding, Kind, Scanner};

#[path = "support/corpus/mod.rs"]
mod corpus;
#[path = "support/shared_dir.rs"]
mod shared_dir;

use corpus::{Doc, Label};

/// Strict kinds only the generated corpus plants: the shared corpus has
/// none of them, so its scores leave them out.
const GENERATED_ONLY: &[&str] = &["jwt"];

/// The strict kinds the shared corpus plants.
fn strict_shared() -> Vec<&'static str> {
    corpus::STRICT.iter().filter(|k| !GENERATED_ONLY.contains(k)).copied().collect()
}

fn strict_generated() -> Vec<&'static str> {
    corpus::STRICT.to_vec()
}

/// Documents in the generated corpus: six of each document type.
const GENERATED_DOCS: usize = 48;

fn hint(ct: &str) -> ContentHint {
    if ct.contains("json") {
        ContentHint::Json
    } else if ct.contains("html") {
        ContentHint::Html
    } else {
        ContentHint::Text
    }
}

/// Deterministic xorshift so chunk splits are reproducible.
fn chunked(
    engine: &Arc<Engine>,
    data: &[u8],
    h: ContentHint,
    seed: u64,
) -> (Vec<u8>, Vec<Finding>) {
    let mut x = seed | 1;
    let mut s = Scanner::new(engine.clone(), h);
    let (mut out, mut f) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < data.len() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 1 + (x % 37) as usize;
        let j = (i + n).min(data.len());
        s.feed(&data[i..j], &mut out, &mut f);
        assert!(s.held() <= engine.max_hold());
        i = j;
    }
    s.finish(&mut out, &mut f);
    (out, f)
}

fn overlaps(f: &Finding, l: &Label) -> bool {
    f.start < l.end && l.start < f.end
}

/// Hits and totals per key.
type Counts = BTreeMap<String, (usize, usize)>;

struct Score {
    /// Per pii kind: labels found, labels planted.
    recall: Counts,
    /// Per reported kind: findings on a label of that kind, findings.
    precision: Counts,
    /// Per (kind, form): labels found, labels planted.
    by_form: Counts,
    decoys: usize,
    errors: Vec<String>,
}

impl Score {
    fn ratio((hit, n): (usize, usize)) -> f64 {
        if n == 0 {
            1.0
        } else {
            hit as f64 / n as f64
        }
    }

    fn print(&self, name: &str) {
        println!("== {name}: {} decoys", self.decoys);
        for (k, &r) in &self.recall {
            let p = self.precision.get(k).copied().unwrap_or_default();
            println!(
                "{k:16} recall {}/{} = {:.3}   precision {}/{} = {:.3}",
                r.0,
                r.1,
                Self::ratio(r),
                p.0,
                p.1,
                Self::ratio(p)
            );
        }
        for (k, &r) in &self.by_form {
            println!("  {k:28} recall {}/{} = {:.3}", r.0, r.1, Self::ratio(r));
        }
    }

    /// Asserts every strict kind was planted and found at `floor` or better,
    /// and that there were no errors.
    fn assert_strict(&self, strict: &[&str], floor: impl Fn(&str) -> f64) {
        for k in strict {
            let floor = floor(k);
            let r = self.recall.get(*k).copied().unwrap_or_default();
            assert!(r.1 > 0, "corpus has no {k} labels");
            assert!(Self::ratio(r) >= floor, "{k} recall {}/{} below {floor}", r.0, r.1);
        }
        assert!(
            self.errors.is_empty(),
            "{} errors:\n{}",
            self.errors.len(),
            self.errors.join("\n")
        );
    }

    fn assert_soft(&self, kind: &str, recall: f64, precision: f64) {
        let r = self.recall.get(kind).copied().unwrap_or_default();
        let p = self.precision.get(kind).copied().unwrap_or_default();
        assert!(r.1 > 0, "corpus has no {kind} labels");
        assert!(Self::ratio(r) >= recall, "{kind} recall {}/{} below {recall}", r.0, r.1);
        assert!(Self::ratio(p) >= precision, "{kind} precision {}/{} below {precision}", p.0, p.1);
    }
}

fn score(docs: &[Doc], strict: &[&str]) -> Score {
    let engine = Arc::new(Engine::new(EngineConfig::default()).unwrap());
    let mut s = Score {
        recall: Counts::new(),
        precision: Counts::new(),
        by_form: Counts::new(),
        decoys: 0,
        errors: Vec::new(),
    };
    for doc in docs {
        if std::env::var("CORPUS_DUMP").is_ok_and(|d| doc.file == d) {
            std::fs::write(&doc.file, &doc.data).unwrap();
        }
        let data = &doc.data;
        let h = hint(&doc.content_type);
        let (out, findings) = engine.scan_all(data, h);
        for seed in [1u64, 0x9e37_79b9_7f4a_7c15] {
            let (o2, f2) = chunked(&engine, data, h, seed);
            assert!(o2 == out, "{}: chunked output differs", doc.file);
            assert_eq!(f2, findings, "{}: chunked findings differ", doc.file);
        }
        if h == ContentHint::Json {
            // Masks keep the document (or each NDJSON line) parseable.
            let parses = |d: &[u8]| serde_json::from_slice::<serde_json::Value>(d).is_ok();
            let whole = parses(data);
            let lines = |d: &[u8]| d.split(|&b| b == b'\n').filter(|l| !l.is_empty()).all(parses);
            assert!(!whole || parses(&out), "{}: masked JSON no longer parses", doc.file);
            assert!(whole || !lines(data) || lines(&out), "{}: masked NDJSON breaks", doc.file);
        }
        s.decoys += doc.labels.iter().filter(|l| !l.is_pii()).count();
        for l in doc.labels.iter().filter(|l| l.is_pii()) {
            let e = s.recall.entry(l.kind.clone()).or_default();
            e.1 += 1;
            let form = s.by_form.entry(format!("{}/{}", l.kind, l.form)).or_default();
            form.1 += 1;
            let hit = findings.iter().find(|f| f.kind.as_str() == l.kind && overlaps(f, l));
            let Some(f) = hit else {
                if strict.contains(&l.kind.as_str()) {
                    // Misses count against recall (asserted by the caller).
                    println!(
                        "missed {} ({}) at {}@{}..{}",
                        l.kind, l.shape, doc.file, l.start, l.end
                    );
                }
                continue;
            };
            e.0 += 1;
            form.0 += 1;
            if l.kind == "card" {
                let b = f.brand.map(|b| b.as_str());
                if b != l.brand.as_deref() {
                    s.errors
                        .push(format!("{}@{}: brand {:?} != {:?}", doc.file, l.start, b, l.brand));
                }
            }
            // The finding's bytes (a PEM header stays, its body goes).
            let (a, b) = (f.start as usize, f.end as usize);
            // A PEM header with no body has nothing to mask.
            let header_only = data[a..b].starts_with(b"-----BEGIN ")
                && !data[a..b].contains(&b'\n')
                && !data[a..b].windows(2).any(|w| w == b"\\n");
            if strict.contains(&l.kind.as_str()) && !header_only && out[a..b] == data[a..b] {
                s.errors.push(format!("{}@{a}..{b}: {} passes unmasked", doc.file, l.kind));
            }
        }
        for f in &findings {
            let kind = f.kind.as_str();
            let e = s.precision.entry(kind.to_string()).or_default();
            e.1 += 1;
            let labeled = doc.labels.iter().any(|l| l.is_pii() && l.kind == kind && overlaps(f, l));
            if labeled {
                e.0 += 1;
            }
            if !strict.contains(&kind) {
                continue;
            }
            if let Some(d) = doc.labels.iter().find(|l| !l.is_pii() && overlaps(f, l)) {
                s.errors.push(format!(
                    "{}@{}..{}: {kind} on decoy {}",
                    doc.file, f.start, f.end, d.kind
                ));
            } else if !labeled {
                s.errors.push(format!("{}@{}..{}: unlabeled {kind}", doc.file, f.start, f.end));
            }
        }
    }
    s
}

#[test]
fn generator_is_deterministic_and_labels_match_the_bytes() {
    let a = corpus::generate(corpus::SEED, GENERATED_DOCS);
    let b = corpus::generate(corpus::SEED, GENERATED_DOCS);
    assert_eq!(a.len(), GENERATED_DOCS);
    let mut types = std::collections::BTreeSet::new();
    let mut kinds = std::collections::BTreeSet::new();
    for (x, y) in a.iter().zip(&b) {
        assert!(x.data == y.data, "{}: same seed, different bytes", x.file);
        types.insert(x.content_type.clone());
        let mut prev_end = 0;
        for l in &x.labels {
            let span = &x.data[l.start as usize..l.end as usize];
            assert_eq!(span, l.value.as_bytes(), "{}@{}: span is not the value", x.file, l.start);
            assert!(l.start >= prev_end, "{}@{}: labels overlap", x.file, l.start);
            prev_end = l.end;
            kinds.insert((l.class.clone(), l.kind.clone()));
        }
        if x.content_type == "application/json" {
            serde_json::from_slice::<serde_json::Value>(&x.data)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", x.file));
        }
        if x.content_type == "application/x-ndjson" {
            for line in x.data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                serde_json::from_slice::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{}: a line is not JSON: {e}", x.file));
            }
        }
    }
    assert_eq!(types.len(), corpus::DocType::ALL.len(), "every document type: {types:?}");
    for k in strict_generated().iter().chain(&["email", "phone"]) {
        assert!(kinds.contains(&("pii".into(), k.to_string())), "no {k} planted");
    }
    let decoys = kinds.iter().filter(|(c, _)| c == "decoy").count();
    assert_eq!(decoys, corpus::values::NEGATIVES.len(), "every decoy row planted");
    // Another seed, other documents.
    let c = corpus::generate(corpus::SEED + 1, 2);
    assert!(c[0].data != a[0].data);
}

#[test]
fn generated_corpus_scores() {
    let docs = corpus::generate(corpus::SEED, GENERATED_DOCS);
    let strict = strict_generated();
    let s = score(&docs, &strict);
    s.print("generated corpus");
    // Every planted strict value is found (a JWT right before a sentence's
    // full stop too: 47 of 47).
    s.assert_strict(&strict, |_| 1.0);
    s.assert_soft("email", 1.0, 1.0);
    s.assert_soft("phone", 1.0, 1.0);
}

#[test]
fn shared_corpus_scores() {
    let Some(dir) = shared_dir::shared_or_note("shared_corpus_scores") else { return };
    let mut docs = corpus::shared(&dir).expect("shared corpus: labels.jsonl must exist");
    assert!(docs.len() >= 10, "corpus has only {} documents", docs.len());
    // The shared corpus predates issue 16: it plants contiguous 19-digit
    // cards with no card context, the width of a 64-bit ID, which the
    // engine reports only in card context (README: "What is found bare, and
    // what needs context"; tests/detect_context.rs checks both sides). They
    // are left out of recall, and counted.
    let mut ambiguous = 0;
    for d in &mut docs {
        let before = d.labels.len();
        d.labels.retain(|l| {
            !(l.is_pii()
                && l.kind == "card"
                && l.value.len() == 19
                && l.value.bytes().all(|b| b.is_ascii_digit()))
        });
        ambiguous += before - d.labels.len();
    }
    println!("shared corpus: {ambiguous} contiguous 19-digit cards left out of recall");
    let strict = strict_shared();
    let s = score(&docs, &strict);
    s.print("shared corpus");
    s.assert_strict(&strict, |_| 0.99);
}

/// The strict findings in documents that hold decoys only.
fn assert_clean(name: &str, h: ContentHint, data: &[u8]) {
    let engine = Arc::new(Engine::new(EngineConfig::default()).unwrap());
    let (out, findings) = engine.scan_all(data, h);
    let kinds = strict_shared();
    let strict: Vec<_> = findings.iter().filter(|f| kinds.contains(&f.kind.as_str())).collect();
    assert!(
        strict.is_empty(),
        "{name}: {} strict findings, first {:?}",
        strict.len(),
        strict.first()
    );
    let soft = findings.iter().filter(|f| matches!(f.kind, Kind::Email | Kind::Phone)).count();
    println!("{name}: {} bytes, {} email/phone findings", data.len(), soft);
    assert_eq!(out.len(), data.len());
}

#[test]
fn generated_clean_has_no_strict_findings() {
    let docs = corpus::clean(corpus::SEED, &corpus::DocType::ALL, 64 * 1024);
    let mut decoys = 0;
    for d in &docs {
        assert!(d.labels.iter().all(|l| !l.is_pii()));
        decoys += d.labels.len();
        assert_clean(&d.file, hint(&d.content_type), &d.data);
    }
    println!("{} documents, {decoys} decoys", docs.len());
    assert!(decoys > 1000);
}

#[test]
fn shared_clean_has_no_strict_findings() {
    let Some(dir) = shared_dir::shared_or_note("shared_clean_has_no_strict_findings") else {
        return;
    };
    let dir = dir.join("corpus-clean");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus-clean must exist")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let mut n = 0;
    for p in entries {
        let h = match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
            "json" => ContentHint::Json,
            "html" => ContentHint::Html,
            _ => continue,
        };
        n += 1;
        assert_clean(&p.display().to_string(), h, &std::fs::read(&p).unwrap());
    }
    assert!(n >= 2, "corpus-clean has only {n} documents");
}
