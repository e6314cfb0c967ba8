//! What both engine benchmarks share: their inputs and one streamed pass.
//! Included by path: `#[path = "support/common.rs"] mod common;`.

use std::path::Path;
use std::sync::Arc;

use leakwarden::detect::{ContentHint, Engine, Finding, Scanner};

/// The proxy's default read size.
pub const CHUNK: usize = 16 * 1024;

/// Scans `data` with a fresh scanner, fed in [`CHUNK`]s; returns a count the
/// optimiser cannot drop.
pub fn stream(
    engine: &Arc<Engine>,
    data: &[u8],
    hint: ContentHint,
    out: &mut Vec<u8>,
    findings: &mut Vec<Finding>,
) -> usize {
    let mut s = Scanner::new(engine.clone(), hint);
    let mut n = 0;
    for c in data.chunks(CHUNK) {
        s.feed(c, out, findings);
        n += out.len();
        out.clear();
    }
    s.finish(out, findings);
    n += out.len() + findings.len();
    out.clear();
    findings.clear();
    n
}

/// Each corpus-clean HTML and JSON document: name, hint and bytes, by name.
pub fn clean(shared: &Path) -> Vec<(String, ContentHint, Vec<u8>)> {
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
/// concatenated (42,004 bytes of the shared corpus).
pub fn dense(shared: &Path) -> Vec<u8> {
    let corpus = shared.join("corpus");
    let labels = std::fs::read_to_string(corpus.join("labels.jsonl")).unwrap();
    let mut docs: Vec<(f64, Vec<u8>)> = labels
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let data = std::fs::read(corpus.join(v["file"].as_str().unwrap())).unwrap();
            let n = v["labels"].as_array().map_or(0, Vec::len);
            (n as f64 / data.len().max(1) as f64, data)
        })
        .collect();
    docs.sort_by(|a, b| b.0.total_cmp(&a.0));
    docs.iter().take(10).flat_map(|(_, d)| d.iter().copied()).collect()
}
