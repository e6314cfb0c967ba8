//! What the privacy inventory adds to a response's scan: the engine alone
//! against the engine plus the inventory's observer (JSON field paths,
//! lol_html for pages) and its record, on a 64 KB JSON API response and a
//! 12 KB HTML page, streamed in 16 KiB chunks with a fresh scanner each.
//!
//! `scan+inventory` is the default configuration in its steady state: the
//! same endpoint again within `observe_interval`, so findings are counted
//! but the structure is not read. `scan+inventory/every` is
//! `observe_interval = "0s"`: the structure of every response is read
//! (what the first response of an endpoint in each interval costs).
//!
//! Run on a quiet machine: `cargo bench --bench inventory -- --warm-up-time 1
//! --measurement-time 3`. The budget is at most 5% of proxy
//! throughput.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakwarden::config::inventory::InventorySection;
use leakwarden::detect::{ContentHint, Scanner};
use leakwarden::inventory::Inventory;
use leakwarden::policy::Policy;

const CHUNK: usize = 16 * 1024;

fn json_api() -> Vec<u8> {
    let mut s = String::from("{\"customers\": [");
    let mut i = 0;
    while s.len() < 64 * 1024 {
        if i > 0 {
            s.push(',');
        }
        let pii = if i % 10 == 0 { "\"ssn\": \"SSN 536-22-1945\", " } else { "" };
        s.push_str(&format!(
            "{{\"id\": {i}, \"name\": \"Customer {i}\", {pii}\"orders\": [{{\"sku\": \"A-{i}\", \"qty\": 2}}], \"active\": true}}"
        ));
        i += 1;
    }
    s.push_str("]}");
    s.into_bytes()
}

fn html_page() -> Vec<u8> {
    let mut s = String::from(
        "<!doctype html><html><head><script src=\"https://cdn.tracker.example/t.js\"></script></head><body>\
<form action=\"https://leads.example/x\" method=\"post\"><input name=\"email\" type=\"email\"><input name=\"phone\"></form>",
    );
    let mut i = 0;
    while s.len() < 12 * 1024 {
        s.push_str(&format!("<div class=\"item\"><a href=\"/p/{i}\">Product {i}</a><p>Fine goods, order now.</p></div>"));
        i += 1;
    }
    s.push_str("</body></html>");
    s.into_bytes()
}

fn run(policy: &Arc<Policy>, inv: Option<&Arc<Inventory>>, body: &[u8], hint: ContentHint) {
    let route: Arc<str> = Arc::from("default");
    let parts = http::Request::get("http://shop.example/api/customers/42").body(()).unwrap();
    let (parts, ()) = parts.into_parts();
    let mut observer =
        inv.map(|i| i.exchange(&route, &parts, true).observer(hint, policy.engine.max_hold()));
    let mut scanner = Scanner::new(policy.engine.clone(), hint);
    let mut out = Vec::with_capacity(CHUNK + 1024);
    let mut findings = Vec::new();
    for chunk in body.chunks(CHUNK) {
        if let Some(o) = observer.as_mut() {
            o.feed(chunk);
        }
        out.clear();
        scanner.feed(chunk, &mut out, &mut findings);
        for f in findings.drain(..) {
            if let Some(o) = observer.as_mut() {
                o.finding(&f, policy);
            }
        }
    }
    out.clear();
    scanner.finish(&mut out, &mut findings);
    for f in findings.drain(..) {
        if let Some(o) = observer.as_mut() {
            o.finding(&f, policy);
        }
    }
    if let Some(o) = observer {
        o.finish(policy, false);
    }
}

fn bench(c: &mut Criterion) {
    let policy = Arc::new(Policy::default_policy());
    let inv = Arc::new(Inventory::new(&InventorySection::default(), None, None));
    let every = InventorySection {
        observe_interval: leakwarden::config::file::ConfigDuration(std::time::Duration::ZERO),
        ..InventorySection::default()
    };
    let every = Arc::new(Inventory::new(&every, None, None));
    for (name, body, hint) in
        [("json_64k", json_api(), ContentHint::Json), ("html_12k", html_page(), ContentHint::Html)]
    {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function("scan", |b| b.iter(|| run(&policy, None, &body, hint)));
        g.bench_function("scan+inventory", |b| b.iter(|| run(&policy, Some(&inv), &body, hint)));
        g.bench_function("scan+inventory/every", |b| {
            b.iter(|| run(&policy, Some(&every), &body, hint))
        });
        g.finish();
    }
}

/// An endpoint's template, per response: every segment through the engine
/// (`template`) against the per-route cache of segment decisions the
/// inventory records with (`cached`, steady state: the segments were seen).
fn templates(c: &mut Criterion) {
    use leakwarden::inventory::template;
    let policy = Arc::new(Policy::default_policy());
    let engine = &policy.engine;
    let cache = template::SegmentCache::default();
    let path = "/api/v2/customers/4242/orders/123e4567-e89b-12d3-a456-426614174000/items";
    let mut g = c.benchmark_group("template");
    g.bench_function("template", |b| b.iter(|| template::template(engine, path)));
    g.bench_function("cached", |b| b.iter(|| cache.template("default", engine, path)));
    g.finish();
}

criterion_group!(benches, bench, templates);
criterion_main!(benches);
