//! What both engine benchmarks share: their inputs and one streamed pass.
//! Included by path: `#[path = "support/common.rs"] mod common;`.
//!
//! Inputs come from the shared corpus (`../shared`, see
//! `tests/support/shared_dir.rs`) when it is present, so figures stay
//! comparable with BENCHMARKS.md; otherwise from the project's generated
//! corpus (`tests/support/corpus`), with a printed note: the benches run on
//! a fresh clone, but their figures are then for other inputs.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use leakwarden::detect::{ContentHint, Engine, Finding, Scanner};

#[path = "../../tests/support/corpus/mod.rs"]
mod corpus;
#[path = "../../tests/support/shared_dir.rs"]
mod shared_dir;

/// The proxy's default read size.
pub const CHUNK: usize = 16 * 1024;

/// The scanner's two output modes: written into one `Vec`
/// (`Scanner::feed`) or handed out as shared pieces (`Scanner::feed_shared`,
/// as the proxy scans: long unmodified runs are not copied).
pub trait Output: Default {
    fn feed(&mut self, s: &mut Scanner, chunk: &[u8], findings: &mut Vec<Finding>);
    fn finish(&mut self, s: &mut Scanner, findings: &mut Vec<Finding>);
    /// Bytes written since the last `clear`.
    fn written(&self) -> usize;
    fn clear(&mut self);
}

impl Output for Vec<u8> {
    fn feed(&mut self, s: &mut Scanner, chunk: &[u8], findings: &mut Vec<Finding>) {
        s.feed(chunk, self, findings);
    }
    fn finish(&mut self, s: &mut Scanner, findings: &mut Vec<Finding>) {
        s.finish(self, findings);
    }
    fn written(&self) -> usize {
        self.len()
    }
    fn clear(&mut self) {
        Vec::clear(self);
    }
}

impl Output for Vec<Bytes> {
    fn feed(&mut self, s: &mut Scanner, chunk: &[u8], findings: &mut Vec<Finding>) {
        s.feed_shared(chunk, self, findings);
    }
    fn finish(&mut self, s: &mut Scanner, findings: &mut Vec<Finding>) {
        s.finish_shared(self, findings);
    }
    fn written(&self) -> usize {
        self.iter().map(Bytes::len).sum()
    }
    fn clear(&mut self) {
        Vec::clear(self);
    }
}

/// Scans `data` with a fresh scanner, fed in [`CHUNK`]s, into `out`;
/// returns a count the optimiser cannot drop.
pub fn stream<O: Output>(
    engine: &Arc<Engine>,
    data: &[u8],
    hint: ContentHint,
    out: &mut O,
    findings: &mut Vec<Finding>,
) -> usize {
    let mut s = Scanner::new(engine.clone(), hint);
    let mut n = 0;
    for c in data.chunks(CHUNK) {
        out.feed(&mut s, c, findings);
        n += out.written();
        out.clear();
    }
    out.finish(&mut s, findings);
    n += out.written() + findings.len();
    out.clear();
    findings.clear();
    n
}

/// The shared directory, or `None` with a note that generated inputs are
/// used instead.
fn shared() -> Option<PathBuf> {
    let d = shared_dir::shared_dir();
    if d.is_none() {
        eprintln!(
            "note: no shared corpus (../shared or $LEAKWARDEN_CORPUS_DIR): benchmarking the \
             generated corpus; figures are not comparable with BENCHMARKS.md"
        );
    }
    d
}

/// Each corpus-clean HTML and JSON document: name, hint and bytes, by name.
/// Without the shared corpus: two generated HTML and two generated JSON
/// documents of about 600 KB with decoys only, like corpus-clean's.
pub fn clean() -> Vec<(String, ContentHint, Vec<u8>)> {
    let Some(shared) = shared() else {
        use corpus::DocType::{Html, Json};
        return corpus::clean(corpus::SEED, &[Html, Json, Html, Json], 600 * 1024)
            .into_iter()
            .map(|d| {
                let hint =
                    if d.file.ends_with(".json") { ContentHint::Json } else { ContentHint::Html };
                (d.file, hint, d.data)
            })
            .collect();
    };
    let mut files: Vec<_> = std::fs::read_dir(shared.join("corpus-clean"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let hint = match p.extension().and_then(|e| e.to_str()) {
                Some("json") => ContentHint::Json,
                Some("html") => ContentHint::Html,
                _ => return None,
            };
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            Some((name, hint, std::fs::read(&p).unwrap()))
        })
        .collect()
}

/// The ten labeled corpus documents with the most labels per byte,
/// concatenated (42,004 bytes of the shared corpus; without it, of 40
/// generated documents).
pub fn dense() -> Vec<u8> {
    let docs = match shared() {
        Some(shared) => corpus::shared(&shared).expect("shared corpus has labels.jsonl"),
        None => corpus::generate(corpus::SEED, 40),
    };
    let mut docs: Vec<(f64, Vec<u8>)> = docs
        .into_iter()
        .map(|d| (d.labels.len() as f64 / d.data.len().max(1) as f64, d.data))
        .collect();
    docs.sort_by(|a, b| b.0.total_cmp(&a.0));
    docs.iter().take(10).flat_map(|(_, d)| d.iter().copied()).collect()
}

/// One small response, as the proxy sees it: the first 12 KB of the first
/// clean HTML document.
#[allow(dead_code)] // detect_quiet has no per-response input.
pub fn page() -> Vec<u8> {
    let (_, _, html) =
        clean().into_iter().find(|d| d.1 == ContentHint::Html).expect("a clean HTML document");
    html[..12 * 1024].to_vec()
}
