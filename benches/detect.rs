//! Throughput of the full default detector set, streaming in 16 KiB chunks
//! with the output as shared pieces, as the proxy scans
//! (`Scanner::feed_shared`): each corpus-clean document (HTML and JSON),
//! the densest labeled corpus documents concatenated, and one 12 KB
//! response with a fresh scanner.
//!
//! Run: `cargo bench --bench detect -- --warm-up-time 1 --measurement-time 3`.
//! On a shared VM criterion's means move with the neighbours' load;
//! `cargo bench --bench detect_quiet` gives the fastest passes instead.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use leakwarden::detect::{ContentHint, Engine, EngineConfig};

#[path = "support/common.rs"]
mod common;
use common::stream;

fn bench(c: &mut Criterion) {
    let engine = Arc::new(Engine::new(EngineConfig::default()).unwrap());
    let mut out: Vec<bytes::Bytes> = Vec::new();
    let mut findings = Vec::new();

    let mut g = c.benchmark_group("clean");
    for (name, hint, data) in common::clean() {
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &data, |b, d| {
            b.iter(|| stream(&engine, d, hint, &mut out, &mut findings))
        });
    }
    g.finish();

    // The densest labeled documents (most labels per byte), concatenated.
    let dense = common::dense();
    let mut g = c.benchmark_group("dense");
    g.throughput(Throughput::Bytes(dense.len() as u64));
    g.bench_function("top10_concatenated", |b| {
        b.iter(|| stream(&engine, &dense, ContentHint::Text, &mut out, &mut findings))
    });
    g.finish();

    // One small response, as the proxy sees it: the head of a corpus-clean
    // HTML document (the benchmark harness's 12 KB page), a fresh scanner
    // per response. Per-response costs show here and not above.
    let page = &common::page()[..];
    let mut g = c.benchmark_group("response");
    g.throughput(Throughput::Bytes(page.len() as u64));
    g.bench_function("html_12k", |b| {
        b.iter(|| stream(&engine, page, ContentHint::Html, &mut out, &mut findings))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
