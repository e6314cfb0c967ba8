//! Cost per request of exfiltration budgets: one 12 KB HTML page (one card
//! number in it, so every response is charged) through an in-process guard
//! with budgets off, with the local store, and with a Redis store (a
//! `redis-server` started on 127.0.0.1 with a free port; skipped with a
//! message when it is not installed). Requests are sequential on one
//! keep-alive connection (`sequential`: the latency each request gains from
//! the request-start read and the charge) and 16 at a time (`concurrent`:
//! requests per second, where the store's round trips overlap).
//!
//! `budget_path` measures the budget's own work without sockets: the
//! request-start check and the end-of-response charge of one card, in
//! process, for one client and for a thousand taken round robin, with no
//! budget (`off`: the harness's own cost), the local store and the Redis
//! store (reads answered by its mirror, the writer task sending charges).
//! It counts the CPU time of the one thread that runs all of it (Linux's
//! `/proc/thread-self/schedstat`), the writer's share included: a target's
//! time per element less `off`'s is what a request costs its guard's core
//! for its budget, the figure that `exfil.sh`'s ratios blur with the rest
//! of the request path. The caches are warmer here than in a guard, whose
//! bodies evict a client's counters between two of its requests.
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
use leakwarden::exfil::Exfil;
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
            // One request of its own, so that this check holds when a
            // filter skipped the measurements above.
            rt.block_on(get());
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

/// Check-and-charge cycles per burst of `budget_path`: the writer's
/// largest batch. A guard at 30,000 requests/s gathers about 60 charges per
/// 2 ms linger, so with a thousand clients its writer pays more per charge
/// than here; bursts this long keep the pauses' own cost (a timer and a
/// wake-up, shown by `off`) small next to the budget's.
const BURST: usize = 256;
/// The pause after each burst, in which the writer sends the burst's
/// charges (linger, then a round trip to Redis).
const DRAIN: Duration = Duration::from_millis(4);

/// CPU time of the calling thread, in nanoseconds (the scheduler's own
/// count, `/proc/thread-self/schedstat`): the budget path, the store's
/// writer and its connection all run on this thread (a current-thread
/// runtime), and the pauses between bursts cost none.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat (Linux)");
    let ns = stat.split_whitespace().next().and_then(|n| n.parse().ok()).expect("schedstat");
    Duration::from_nanos(ns)
}

/// The budget's work per request, without the proxy: [`Exfil::check`]
/// then one card charged, clients taken round robin, in bursts with a
/// pause after each. Timed in CPU time of the one thread that runs it all,
/// so the figure is what a request costs its guard's core, the writer's
/// share included; `off` is the same loop with no budget (the harness's
/// own cost: the pauses' timer and wake-up).
fn budget_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    std::env::set_var("LW_BENCH_KEY", "bench-key-0123456789abcdef");
    let mut redis_server = redis();
    let budget = "[exfiltration]\nkey = \"header:x-client\"\nbudget = { card = 1000000000 }\n\
                  hash_key_env = \"LW_BENCH_KEY\"\nread_timeout = \"50ms\"\n";
    let mut stores = vec![("off", String::new()), ("local", budget.to_string())];
    if let Some((_, port)) = &redis_server {
        stores.push(("redis", format!("{budget}store = \"redis://127.0.0.1:{port}\"\n")));
    }
    let mut g = c.benchmark_group("exfil/budget_path");
    g.throughput(Throughput::Elements(1));
    for (store, exfil) in stores {
        let text = format!(
            "[upstreams.app]\nurl = \"http://127.0.0.1:1\"\n[[routes]]\nname = \"app\"\n\
             upstream = \"app\"\n[audit]\nenabled = false\n{exfil}"
        );
        let file = config::parse_str(&text, "bench.toml").unwrap();
        let runtime = app::Runtime::build(file, &Overrides::default(), "bench.toml").unwrap();
        let policy = runtime.policies["default"].clone();
        let metrics = Metrics::new();
        let exfil = rt.block_on(async { Exfil::start(&runtime.exfil, &metrics) });
        let deadline = Instant::now() + Duration::from_secs(10);
        while metrics.exfiltration.store_degraded.get() != 0 {
            assert!(Instant::now() < deadline, "{store}: store did not connect");
            rt.block_on(async { tokio::time::sleep(Duration::from_millis(20)).await });
        }
        let peer = std::net::IpAddr::from([127, 0, 0, 1]);
        let budgeted = store != "off";
        for clients in [1usize, 1000] {
            let names: Vec<http::HeaderValue> =
                (0..clients).map(|i| format!("client-{i}").parse().unwrap()).collect();
            // One map, refilled per request: a request's headers are in
            // cache when its budget is checked (the proxy just parsed them).
            let mut headers = http::HeaderMap::new();
            let mut next = 0;
            g.bench_function(format!("{store}/{clients}_clients"), |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let t0 = thread_cpu();
                        for i in 0..iters {
                            if i % BURST as u64 == 0 {
                                // The writer sends the last burst here.
                                tokio::time::sleep(DRAIN).await;
                            }
                            headers.insert("x-client", names[next].clone());
                            next = (next + 1) % clients;
                            let charge = exfil.check(&policy, &headers, peer).await;
                            // A budget that measured nothing would be a
                            // figure of the harness alone.
                            assert_eq!(charge.is_some(), budgeted, "{store}: checked");
                            if let Some(charge) = charge {
                                assert!(!charge.blocks());
                                charge.charge([("card", 1)]);
                            }
                        }
                        tokio::time::sleep(DRAIN).await;
                        thread_cpu() - t0
                    })
                })
            });
            let errors = &metrics.exfiltration.store_errors_total;
            let failed: u64 = ["read", "timeout", "write"]
                .iter()
                .map(|op| errors.with_label_values(&[op]).get())
                .sum();
            if failed > 0 {
                eprintln!(
                    "exfil bench: {store}/{clients}: {failed} store errors so far; the figure is not Redis's"
                );
            }
        }
    }
    g.finish();
    if let Some((child, _)) = &mut redis_server {
        let _ = child.kill();
        let _ = child.wait();
    }
}

criterion_group!(benches, bench, budget_path);
criterion_main!(benches);
