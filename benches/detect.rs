//! Throughput of the full default detector set, streaming in 16 KiB chunks:
//! each corpus-clean document (HTML and JSON), the densest labeled corpus
//! documents concatenated, and one 12 KB response with a fresh scanner.
//!
//! Run: `cargo bench --bench detect -- --warm-up-time 1 --measurement-time 3`

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use leakwarden::detect::{ContentHint, Engine, EngineConfig, Scanner};

#[path = "../tests/support/shared_dir.rs"]
mod shared_dir;
use shared_dir::shared_dir;

const CHUNK: usize = 16 * 1024;

fn stream(
    engine: &Arc<Engine>,
    data: &[u8],
    hint: ContentHint,
    out: &mut Vec<u8>,
    findings: &mut Vec<leakwarden::detect::Finding>,
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

fn bench(c: &mut Criterion) {
    let shared = shared_dir();
    let engine = Arc::new(Engine::new(EngineConfig::default()).unwrap());
    let mut out = Vec::with_capacity(CHUNK + engine.max_hold());
    let mut findings = Vec::new();

    let mut g = c.benchmark_group("clean");
    let mut files: Vec<_> = std::fs::read_dir(shared.join("corpus-clean"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for p in files {
        let hint = match p.extension().and_then(|e| e.to_str()) {
            Some("json") => ContentHint::Json,
            Some("html") => ContentHint::Html,
            _ => continue,
        };
        let data = std::fs::read(&p).unwrap();
        g.throughput(Throughput::Bytes(data.len() as u64));
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        g.bench_with_input(BenchmarkId::from_parameter(name), &data, |b, d| {
            b.iter(|| stream(&engine, d, hint, &mut out, &mut findings))
        });
    }
    g.finish();

    // The densest labeled documents (most labels per byte), concatenated.
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
    let dense: Vec<u8> = docs.iter().take(10).flat_map(|(_, d)| d.iter().copied()).collect();
    let mut g = c.benchmark_group("dense");
    g.throughput(Throughput::Bytes(dense.len() as u64));
    g.bench_function("top10_concatenated", |b| {
        b.iter(|| stream(&engine, &dense, ContentHint::Text, &mut out, &mut findings))
    });
    g.finish();

    // One small response, as the proxy sees it: the head of a corpus-clean
    // HTML document (the benchmark harness's 12 KB page), a fresh scanner
    // per response. Per-response costs show here and not above.
    let page: Vec<u8> = std::fs::read(shared.join("corpus-clean/doc000.html")).unwrap();
    let page = &page[..12 * 1024];
    let mut g = c.benchmark_group("response");
    g.throughput(Throughput::Bytes(page.len() as u64));
    g.bench_function("html_12k", |b| {
        b.iter(|| stream(&engine, page, ContentHint::Html, &mut out, &mut findings))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
