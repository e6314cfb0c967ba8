//! Cost per request of exfiltration budgets: one 12 KB HTML page (one card
//! number in it, so every response is charged) through an in-process guard
//! with budgets off, with the local store, and with a Redis store (a
//! `redis-server` started on 127.0.0.1 with a free port; skipped with a
//! message when it is not installed). Requests are sequential on one
//! keep-alive connection (`sequential`: the latency each request gains from
//! the request-start read and the charge) and 16 at a time (`concurrent`:
//! requests per second, where the store's round trips overlap).
//!
//! Run: `cargo bench --bench exfil -- --warm-up-time 1 --measurement-time 5`.
//! On a shared machine the means move with the neighbours' load: compare
//! targets within one run, and record figures from a quiet machine.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http::{Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use leakwarden::app::{self, Overrides};
use leakwarden::config;
use leakwarden::metrics::Metrics;
use leakwarden::proxy::Guard;

/// Requests in flight at once in the `concurrent` measurement.
const CONCURRENT: usize = 16;

/// A 12 KB HTML page with one card number.
fn page() -> Bytes {
    let mut html = String::from("<html><body><h1>Order history</h1>\n");
    let mut i = 0;
    while html.len() < 12 * 1024 - 200 {
        html.push_str(&format!(
            "<p>Order {i}: 3 items shipped to the customer, total {}.{:02} EUR.</p>\n",
            i * 7 % 300,
            i % 100
        ));
        i += 1;
    }
    html.push_str("<p>Paid with 4111 1111 1111 1111</p></body></html>\n");
    Bytes::from(html)
}

async fn upstream(page: Bytes) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let page = page.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |_req| {
                    let mut r = Response::new(Full::new(page.clone()));
                    r.headers_mut().insert("content-type", "text/html".parse().unwrap());
                    async move { Ok::<_, Infallible>(r) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

async fn guard(up: SocketAddr, exfil: &str) -> Guard {
    let text = format!(
        "[upstreams.app]\nurl = \"http://{up}\"\n[[routes]]\nname = \"app\"\nupstream = \"app\"\n\
         [audit]\nenabled = false\n{exfil}"
    );
    let file = config::parse_str(&text, "bench.toml").unwrap();
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let overrides = Overrides { listen: vec![loopback], admin: None, ..Overrides::default() };
    let runtime = app::Runtime::build(file, &overrides, "bench.toml").unwrap();
    Guard::start(runtime, Arc::new(Metrics::new())).await.unwrap()
}

/// `redis-server` on a free loopback port, if installed.
fn redis() -> Option<(Child, u16)> {
    let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        eprintln!("exfil bench: redis-server is not installed; the redis target is skipped");
        return None;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((child, port))
}

fn bench(c: &mut Criterion) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let page = page();
    let up = rt.block_on(upstream(page.clone()));
    // A budget no client reaches: every request pays the read and the charge.
    let budget = "[exfiltration]\nbudget = { card = 1000000000 }\n";
    let mut redis_server = redis();
    let mut targets = vec![("off", String::new()), ("local", budget.to_string())];
    if let Some((_, port)) = &redis_server {
        targets.push((
            "redis",
            format!(
                "{budget}store = \"redis://127.0.0.1:{port}\"\nhash_key_env = \"LW_BENCH_KEY\"\nread_timeout = \"50ms\"\n"
            ),
        ));
    }
    std::env::set_var("LW_BENCH_KEY", "bench-key-0123456789abcdef");
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());

    let mut g = c.benchmark_group("exfil/page_12k");
    for (name, exfil) in targets {
        let guard = rt.block_on(guard(up, &exfil));
        let addr = guard.listen[0];
        // The Redis store connects in the background: wait for it.
        let degraded = || guard.proxy.metrics().exfiltration.store_degraded.get();
        let deadline = Instant::now() + Duration::from_secs(10);
        while degraded() != 0 {
            assert!(Instant::now() < deadline, "{name}: store did not connect");
            std::thread::sleep(Duration::from_millis(20));
        }
        let get = || {
            let client = client.clone();
            let len = page.len();
            async move {
                let req = Request::get(format!("http://{addr}/")).body(Empty::new()).unwrap();
                let resp = client.request(req).await.unwrap();
                assert_eq!(resp.status(), 200);
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body.len(), len);
            }
        };
        // One request at a time: the latency each request gains.
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("{name}/sequential"), |b| b.iter(|| rt.block_on(get())));
        // CONCURRENT requests at once (a pooled connection each): requests
        // per second under load, where the store's round trip overlaps.
        g.throughput(Throughput::Elements(CONCURRENT as u64));
        g.bench_function(format!("{name}/concurrent"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..CONCURRENT {
                        set.spawn(get());
                    }
                    while let Some(r) = set.join_next().await {
                        r.unwrap();
                    }
                })
            })
        });
        if name != "off" {
            let charged = guard
                .proxy
                .metrics()
                .exfiltration
                .charged_total
                .with_label_values(&["default", "card"])
                .get();
            assert!(charged > 0, "{name}: responses were charged");
            // A figure for Redis only means something if Redis answered.
            let errors = &guard.proxy.metrics().exfiltration.store_errors_total;
            let fell_back: u64 = ["read", "timeout", "write"]
                .iter()
                .map(|op| errors.with_label_values(&[op]).get())
                .sum();
            if fell_back > 0 {
                eprintln!("exfil bench: {name}: {fell_back} store errors (local fallback); the figure is not Redis's");
            }
        }
        rt.block_on(guard.shutdown());
    }
    g.finish();
    if let Some((child, _)) = &mut redis_server {
        let _ = child.kill();
        let _ = child.wait();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
