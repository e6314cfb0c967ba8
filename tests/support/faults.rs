//! Helpers shared by the fault tests (tests/fault_upstream.rs and
//! tests/fault_client.rs): a guard with a faulty route next to a healthy
//! one, upstreams that count their connections and in-flight requests, and
//! the check that the guard keeps serving another client.
//! Every server binds 127.0.0.1 port 0.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use leakwarden::metrics::Metrics;
use leakwarden::proxy::Guard;
use tokio::net::TcpListener;

use crate::common::{full, h1_client, h2_client, send, start_guard_config, upstream, TestBody};

/// Upper bound for any single step of a fault test: generous because the
/// test machine is shared and loaded, bounded so a hang fails the test.
pub const STEP: Duration = Duration::from_secs(20);

/// Runs `fut`, failing the test if it takes longer than [`STEP`].
pub async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no outcome within {STEP:?}"),
    }
}

/// Configuration with two routes: `/ok...` to `healthy`, everything else
/// (route "app") to `faulty`; `limits` and `policy` are the bodies of the
/// `[limits]` and `[policies.default]` tables.
pub fn two_routes(faulty: SocketAddr, healthy: SocketAddr, limits: &str, policy: &str) -> String {
    format!(
        "[limits]\n{limits}\n\
         [upstreams.app]\nurl = \"http://{faulty}\"\n\
         [upstreams.ok]\nurl = \"http://{healthy}\"\n\
         [[routes]]\nname = \"ok\"\npath_prefix = \"/ok\"\nupstream = \"ok\"\n\
         [[routes]]\nname = \"app\"\nupstream = \"app\"\n\
         [policies.default]\nmode = \"enforce\"\n{policy}\n"
    )
}

/// The page the healthy upstream serves (a card the guard must mask).
pub const HEALTHY_PAGE: &str = "<p>paid with 4111 1111 1111 1111</p>";

/// An upstream that serves [`HEALTHY_PAGE`] as text/html.
pub async fn healthy_upstream() -> SocketAddr {
    upstream(|_req: Request<Incoming>| async move {
        Response::builder().header("content-type", "text/html").body(full(HEALTHY_PAGE)).unwrap()
    })
    .await
}

/// A guard with the faulty route "app" and a healthy route "ok".
pub async fn guard_with_fault(
    faulty: SocketAddr,
    limits: &str,
    policy: &str,
) -> (Guard, Arc<Metrics>) {
    let healthy = healthy_upstream().await;
    start_guard_config(&two_routes(faulty, healthy, limits, policy)).await
}

/// Another client, on a fresh connection over HTTP/1.1 and h2c, gets the
/// healthy page through the guard, masked, in bounded time.
pub async fn assert_serves_others(guard: &Guard) {
    for (name, client) in [("h1", h1_client()), ("h2", h2_client())] {
        let req = Request::get(format!("http://{}/ok/page", guard.listen[0]))
            .body(crate::common::empty())
            .unwrap();
        let (parts, body) = bounded("healthy request", send(&client, req)).await;
        assert_eq!(parts.status, 200, "{name}: another client is not served");
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("1111</p>"), "{name}: unexpected healthy body {body}");
        assert!(!body.contains("4111 1111 1111 1111"), "{name}: healthy page not scanned");
    }
}

/// Counters kept by a [`counted_upstream`].
#[derive(Default)]
pub struct UpstreamCounts {
    /// TCP connections accepted.
    pub accepted: AtomicUsize,
    /// Requests whose handler future or response body is still alive.
    pub in_flight: AtomicUsize,
    /// Highest `in_flight` seen.
    pub peak: AtomicUsize,
    /// Requests received.
    pub requests: AtomicUsize,
}

impl UpstreamCounts {
    pub fn get(&self, c: &AtomicUsize) -> usize {
        c.load(Ordering::SeqCst)
    }
}

/// Marks one request in flight for as long as it lives.
pub struct InFlight(Arc<UpstreamCounts>);

impl InFlight {
    pub fn new(counts: &Arc<UpstreamCounts>) -> Self {
        counts.requests.fetch_add(1, Ordering::SeqCst);
        let now = counts.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counts.peak.fetch_max(now, Ordering::SeqCst);
        InFlight(counts.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An HTTP/1.1 + h2c upstream like `common::upstream` that counts accepted
/// connections; `handler` gets the counters to mark requests in flight.
pub async fn counted_upstream<F, Fut>(handler: F) -> (SocketAddr, Arc<UpstreamCounts>)
where
    F: Fn(Request<Incoming>, Arc<UpstreamCounts>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<TestBody>> + Send + 'static,
{
    let listener = TcpListener::bind(crate::common::loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(UpstreamCounts::default());
    let handler = Arc::new(handler);
    let c = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            c.accepted.fetch_add(1, Ordering::SeqCst);
            let handler = handler.clone();
            let c = c.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let fut = handler(req, c.clone());
                    async move { Ok::<_, Infallible>(fut.await) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, counts)
}

/// Waits (bounded) until `cond` holds, polling every 20 ms.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    bounded(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// A counter's value from the metrics registry.
pub fn counter(m: &prometheus::IntCounterVec, labels: &[&str]) -> u64 {
    m.with_label_values(labels).get()
}
