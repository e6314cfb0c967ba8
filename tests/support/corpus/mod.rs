//! The project's own labeled corpus: a deterministic generator of documents
//! with planted sensitive values (positives) and planted hard negatives
//! (decoys), each with its exact byte span, so that `cargo test` scores the
//! engine on a fresh clone with nothing beside it. `../shared/corpus`, when
//! present, is read into the same structure ([`shared`]) as extra input.
//!
//! Included by path: `#[path = "support/corpus/mod.rs"] mod corpus;` (from
//! benches: `"../tests/support/corpus/mod.rs"`).
//!
//! Layout, and where to add things:
//! - [`values`]: what is planted. One generator per shape of value (a
//!   Mastercard in 4-4-4-4 groups, an SSN with its keyword, a UUID...), in
//!   the `POSITIVES` and `NEGATIVES` tables. A new kind or decoy is one new
//!   row.
//! - [`forms`]: how a planted value is written in a given document type.
//!   Today only `plain` (the value as a program would print it, escaped as
//!   the document requires). A new textual form (HTML character references
//!   as separators, JSON `\u00a0` escapes, percent-encoding...) is one new
//!   row of `FORMS`; every label records the form it was written in, so
//!   scores can be read per form.
//! - [`docs`]: the document types the pipeline scans (HTML, JSON, NDJSON,
//!   server-sent events, CSV, logs, XML, plain text) and how a written value
//!   is embedded in each.
//!
//! Everything derives from the seed: no clock, no environment, no
//! `HashMap` iteration order. The same seed gives the same bytes on every
//! machine.
#![allow(dead_code)]

pub mod docs;
pub mod forms;
pub mod values;

use std::path::Path;

use serde::Deserialize;

pub use docs::DocType;

/// The seed of the corpus the tests score (any change to the generator
/// changes the documents, never their correctness: labels are computed).
pub const SEED: u64 = 0x1ea4_3a7d_2026;

/// Kinds the default policy masks (never detect-only): every planted
/// value of these must be found, and no decoy may be.
pub const STRICT: &[&str] = &[
    "card",
    "ssn",
    "iban",
    "aws_access_key",
    "github_token",
    "stripe_key",
    "slack_token",
    "google_api_key",
    "private_key",
    "jwt",
];

/// SplitMix64: small, fast and fully determined by its seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// An item drawn with probability proportional to its `weight`.
    pub fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> usize) -> &'a T {
        let total: usize = items.iter().map(&weight).sum();
        let mut n = self.below(total);
        for it in items {
            if n < weight(it) {
                return it;
            }
            n -= weight(it);
        }
        unreachable!("weights sum to total")
    }

    /// `n` characters drawn from `alphabet`.
    pub fn string(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| char::from(*self.pick(alphabet))).collect()
    }

    /// `n` ASCII digits, the first in `first` (e.g. `b"123456789"`).
    pub fn digits(&mut self, first: &[u8], n: usize) -> String {
        let mut s = self.string(first, 1);
        s.push_str(&self.string(b"0123456789", n - 1));
        s
    }
}

/// One labeled span, in the format of `../shared/corpus/labels.jsonl`.
#[derive(Clone, Debug, Deserialize)]
pub struct Label {
    /// `pii` (must be found) or `decoy` (must not be reported).
    pub class: String,
    /// For `pii` the engine's canonical kind name; for decoys what the
    /// decoy is (`epoch_ms`, `uuid`, `luhn_bad`...).
    pub kind: String,
    /// Byte offsets into the document, end exclusive.
    pub start: u64,
    pub end: u64,
    /// The exact planted text.
    #[serde(default)]
    pub value: String,
    /// Card brand (engine's names) for cards.
    #[serde(default)]
    pub brand: Option<String>,
    /// The form the value is written in (see [`forms`]); `plain` for the
    /// shared corpus.
    #[serde(default = "plain")]
    pub form: String,
    /// The generator row that made the value (empty for the shared corpus).
    #[serde(default)]
    pub shape: String,
}

fn plain() -> String {
    "plain".into()
}

impl Label {
    pub fn is_pii(&self) -> bool {
        self.class == "pii"
    }
}

/// One document and its labels.
#[derive(Clone, Debug)]
pub struct Doc {
    pub file: String,
    pub content_type: String,
    pub data: Vec<u8>,
    pub labels: Vec<Label>,
}

/// `docs` documents, cycling through every [`DocType`], with positives and
/// decoys mixed about half and half.
pub fn generate(seed: u64, docs: usize) -> Vec<Doc> {
    let mut rng = Rng::new(seed);
    (0..docs)
        .map(|i| {
            let t = DocType::ALL[i % DocType::ALL.len()];
            let items = rng.range(40, 70);
            docs::document(&mut rng, t, i, items, 50)
        })
        .collect()
}

/// One document of each of `types` with decoys only (no value that may be
/// reported as card, SSN, IBAN or a secret), each about `bytes` long:
/// false-positive tests and the benches' clean inputs.
pub fn clean(seed: u64, types: &[DocType], bytes: usize) -> Vec<Doc> {
    let mut rng = Rng::new(seed);
    types.iter().enumerate().map(|(i, &t)| docs::document_of_size(&mut rng, t, i, bytes)).collect()
}

/// The shared corpus (`<shared>/corpus`: `labels.jsonl` and its documents)
/// in the same structure, when the directory holds one.
pub fn shared(shared: &Path) -> Option<Vec<Doc>> {
    #[derive(Deserialize)]
    struct Line {
        file: String,
        content_type: String,
        labels: Vec<Label>,
    }
    let dir = shared.join("corpus");
    let text = std::fs::read_to_string(dir.join("labels.jsonl")).ok()?;
    let docs = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let line: Line = serde_json::from_str(l).expect("labels.jsonl line parses");
            let data = std::fs::read(dir.join(&line.file))
                .unwrap_or_else(|e| panic!("{}: {e}", line.file));
            Doc { file: line.file, content_type: line.content_type, data, labels: line.labels }
        })
        .collect();
    Some(docs)
}
