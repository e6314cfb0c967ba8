//! Hot reload through `POST /reload` on the admin listener: a valid file
//! swaps in for new requests, an invalid one keeps the running
//! configuration (and says where the file is wrong), listener changes are
//! reported as needing a restart, and reloading under traffic fails no
//! request while in-flight responses finish under the configuration they
//! started with.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use leakwarden::app::{self, Overrides};
use leakwarden::metrics::Metrics;
use leakwarden::proxy::{Guard, Proxy};
use leakwarden::reload::{self, Reloader};

// No access log: a line per request on stdout would flood the test output.
const QUIET: &str = "\n[access_log]\nenabled = false\n";

/// A guard started from a file in a temporary directory, with reload.
struct Reloadable {
    guard: Guard,
    reloader: Arc<Reloader>,
    metrics: Arc<Metrics>,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Reloadable {
    async fn start(text: &str) -> Reloadable {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leakwarden.toml");
        std::fs::write(&path, format!("{text}{QUIET}")).unwrap();
        let overrides =
            Overrides { listen: vec![loopback()], admin: Some(loopback()), ..Overrides::default() };
        let (_, runtime) = app::load(&path, &overrides).expect("initial config valid");
        let metrics = Arc::new(Metrics::new());
        metrics.record_initial_load(leakwarden::clock::unix_now());
        let proxy = Proxy::new(runtime, metrics.clone());
        let reloader = Reloader::new(Some(path.clone()), overrides, proxy.clone());
        let guard = Guard::start_with(proxy, Some(reloader.admin_hook())).await.expect("starts");
        Reloadable { guard, reloader, metrics, path, _dir: dir }
    }

    fn addr(&self) -> SocketAddr {
        self.guard.listen[0]
    }

    /// Rewrites the file and POSTs /reload; returns status and answer.
    async fn reload_with(&self, text: &str) -> (StatusCode, String) {
        std::fs::write(&self.path, format!("{text}{QUIET}")).unwrap();
        self.post_reload().await
    }

    async fn post_reload(&self) -> (StatusCode, String) {
        let admin = self.guard.admin.unwrap();
        let req = Request::post(format!("http://{admin}/reload")).body(empty()).unwrap();
        let (parts, body) = send(&h1_client(), req).await;
        (parts.status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn reloads(&self, result: &str) -> u64 {
        self.metrics.config_reloads_total.with_label_values(&[result]).get()
    }
}

/// An upstream that answers every request with `name` (text/plain).
async fn named_upstream(name: &'static str) -> SocketAddr {
    upstream(move |_req| async move {
        Response::builder().header("content-type", "text/plain").body(full(name)).unwrap()
    })
    .await
}

/// A configuration with one route `/` to `upstream`.
fn one_route(route: &str, upstream: SocketAddr) -> String {
    format!(
        r#"
[upstreams.app]
url = "http://{upstream}"

[[routes]]
name = "{route}"
path_prefix = "/"
upstream = "app"
"#
    )
}

#[tokio::test]
async fn reload_switches_new_requests_to_the_new_route() {
    let a = named_upstream("from-a").await;
    let b = named_upstream("from-b").await;
    let g = Reloadable::start(&one_route("first", a)).await;
    assert_eq!(get(g.addr(), "/x").await.1, "from-a");
    let before = g.metrics.config_last_reload_success_timestamp_seconds.get();
    assert!(before > 0.0, "startup sets the last-success time");
    assert_eq!(g.metrics.config_last_reload_successful.get(), 1);

    let (status, answer) = g.reload_with(&one_route("second", b)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.contains("configuration reloaded: 1 route(s)"), "{answer}");

    assert_eq!(get(g.addr(), "/x").await.1, "from-b");
    assert_eq!(*g.reloader.subscribe().borrow(), 1, "one reload attempted");
    assert_eq!(g.reloads("success"), 1);
    assert_eq!(g.reloads("failure"), 0);
    assert!(g.metrics.config_last_reload_success_timestamp_seconds.get() >= before);
    // Requests are now counted under the new route name.
    let text = metrics_text(&g.guard).await;
    assert!(
        text.contains(r#"leakwarden_requests_total{code="200",method="GET",route="second"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"leakwarden_config_reloads_total{result="success"} 1"#));
}

#[tokio::test]
async fn invalid_file_keeps_the_old_configuration_and_names_the_place() {
    let a = named_upstream("from-a").await;
    let b = named_upstream("from-b").await;
    let g = Reloadable::start(&one_route("first", a)).await;

    // A syntax error on line 4.
    let broken = format!("[upstreams.app]\nurl = \"http://{b}\"\n\n[[routes]\nname = \"x\"\n");
    let (status, answer) = g.reload_with(&broken).await;
    assert!(status.is_client_error() || status.is_server_error(), "{status}");
    let file = g.path.display().to_string();
    assert!(answer.contains(&format!("{file}:4:")), "error names file:line:col: {answer}");
    assert_eq!(get(g.addr(), "/").await.1, "from-a", "old configuration kept");
    assert_eq!(g.reloads("failure"), 1);
    assert_eq!(g.reloads("success"), 0);
    assert_eq!(g.metrics.config_last_reload_successful.get(), 0);

    // Valid TOML, invalid meaning: a route to an unknown upstream.
    let dangling = one_route("first", b).replace("upstream = \"app\"", "upstream = \"nope\"");
    let (status, answer) = g.reload_with(&dangling).await;
    assert!(!status.is_success(), "{status} {answer}");
    assert!(answer.contains("nope"), "{answer}");
    assert_eq!(get(g.addr(), "/").await.1, "from-a");
    assert_eq!(g.reloads("failure"), 2);

    // A bad log level is a configuration error too.
    let bad_level = format!("{}\n[log]\nlevel = \"loud\"\n", one_route("first", b));
    let (status, answer) = g.reload_with(&bad_level).await;
    assert!(!status.is_success(), "{answer}");
    assert!(answer.contains("[log]"), "{answer}");
    assert_eq!(g.reloads("failure"), 3);

    // Fixing the file recovers.
    let (status, _) = g.reload_with(&one_route("first", b)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get(g.addr(), "/").await.1, "from-b");
    assert_eq!(g.metrics.config_last_reload_successful.get(), 1);
    assert_eq!(g.reloads("success"), 1);
}

#[tokio::test]
async fn secret_settings_are_named_never_echoed() {
    let up = named_upstream("first").await;
    let g = Reloadable::start(&one_route("first", up)).await;
    // A numeric key is a type error, whose parser message quotes the value.
    for bad in
        ["hash_key = 9876543210987654", "hash_key = 98765.4321", "hash_key = \"98765-short\""]
    {
        let text = format!("[detect]\n{bad}\n{}", one_route("first", up));
        let (status, answer) = g.reload_with(&text).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert!(answer.contains("hash_key") || answer.contains("hash key"), "{answer}");
        assert!(!answer.contains("98765"), "{bad}: {answer}");
    }
}

#[tokio::test]
async fn missing_file_is_a_failed_reload() {
    let a = named_upstream("from-a").await;
    let g = Reloadable::start(&one_route("first", a)).await;
    std::fs::remove_file(&g.path).unwrap();
    let (status, answer) = g.post_reload().await;
    assert!(!status.is_success());
    assert!(answer.contains(&g.path.display().to_string()), "{answer}");
    assert_eq!(get(g.addr(), "/").await.1, "from-a");
    assert_eq!(g.reloads("failure"), 1);
}

#[tokio::test]
async fn reload_endpoint_only_accepts_post() {
    let a = named_upstream("from-a").await;
    let g = Reloadable::start(&one_route("first", a)).await;
    let (parts, _) = get(g.guard.admin.unwrap(), "/reload").await;
    assert_eq!(parts.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(g.reloads("success") + g.reloads("failure"), 0);
}

#[tokio::test]
async fn listener_change_needs_a_restart_and_keeps_the_listeners() {
    let a = named_upstream("from-a").await;
    let b = named_upstream("from-b").await;
    // Without command-line overrides, the file's addresses count.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leakwarden.toml");
    let with_listen = |listen: &str, up: SocketAddr| {
        format!(
            "[server]\nlisten = [\"{listen}\"]\n[admin]\nlisten = \"127.0.0.1:0\"\n{}{QUIET}",
            one_route("r", up)
        )
    };
    std::fs::write(&path, with_listen("127.0.0.1:0", a)).unwrap();
    let overrides = Overrides::default();
    let (_, runtime) = app::load(&path, &overrides).unwrap();
    let metrics = Arc::new(Metrics::new());
    let proxy = Proxy::new(runtime, metrics.clone());
    let reloader = Reloader::new(Some(path.clone()), overrides, proxy.clone());
    let guard = Guard::start_with(proxy.clone(), Some(reloader.admin_hook())).await.unwrap();
    let addr = guard.listen[0];

    // Some other port: the listener cannot move without a restart.
    let (other, _other_socket) = closed_port();
    std::fs::write(&path, with_listen(&other.to_string(), b)).unwrap();
    let done = reloader.reload(reload::Trigger::Api).expect("reload succeeds");
    assert_eq!(done.needs_restart, vec!["server.listen"]);
    assert!(done.to_string().contains("kept until restart: server.listen"), "{done}");
    // The rest of the file applies, on the old listener.
    assert_eq!(get(addr, "/").await.1, "from-b");
    assert_eq!(proxy.runtime().listen, vec![loopback()], "running listeners reported");
    assert_eq!(metrics.config_reloads_total.with_label_values(&["success"]).get(), 1);
    guard.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reload_under_traffic_fails_no_request() {
    let a = named_upstream("from-a").await;
    let b = named_upstream("from-b").await;
    let g = Arc::new(Reloadable::start(&one_route("r", a)).await);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (stop, ok, addr) = (stop.clone(), ok.clone(), g.addr());
        clients.push(tokio::spawn(async move {
            let client = h1_client();
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let req = Request::get(format!("http://{addr}/t")).body(empty()).unwrap();
                let resp = client.request(req).await.expect("no request fails during reloads");
                assert_eq!(resp.status(), StatusCode::OK);
                let body = http_body_util::BodyExt::collect(resp.into_body())
                    .await
                    .expect("complete body")
                    .to_bytes();
                assert!(body == "from-a" || body == "from-b", "{body:?}");
                seen.push(body);
                ok.fetch_add(1, Ordering::SeqCst);
            }
            seen
        }));
    }
    for i in 0..10 {
        let up = if i % 2 == 0 { b } else { a };
        let (status, answer) = g.reload_with(&one_route("r", up)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        // Let some requests through under this configuration.
        let target = ok.load(Ordering::SeqCst) + 8;
        let progressed = async {
            while ok.load(Ordering::SeqCst) < target {
                tokio::task::yield_now().await;
            }
        };
        // A failed request panics its client task and stops the count.
        tokio::time::timeout(Duration::from_secs(20), progressed)
            .await
            .expect("requests keep succeeding between reloads");
    }
    stop.store(true, Ordering::SeqCst);
    let mut both = (false, false);
    for c in clients {
        for body in c.await.expect("client task did not panic") {
            both.0 |= body == "from-a";
            both.1 |= body == "from-b";
        }
    }
    assert!(both.0 && both.1, "traffic saw both configurations");
    assert_eq!(g.reloads("success"), 10);
    assert!(ok.load(Ordering::SeqCst) >= 80);
}

#[tokio::test]
async fn in_flight_response_finishes_under_its_configuration() {
    // Upstream A streams its body only when the test says so.
    let (tx, rx) =
        tokio::sync::mpsc::channel::<tokio::sync::mpsc::Sender<Result<Bytes, BoxError>>>(1);
    let tx = Arc::new(tx);
    let a = upstream(move |_req| {
        let tx = tx.clone();
        async move {
            let (body_tx, body) = channel_body();
            tx.send(body_tx).await.unwrap();
            Response::builder().header("content-type", "text/plain").body(body).unwrap()
        }
    })
    .await;
    let b = named_upstream("from-b").await;
    let g = Reloadable::start(&one_route("old", a)).await;
    let mut rx = rx;

    let client = h1_client();
    let req = Request::get(format!("http://{}/slow", g.addr())).body(empty()).unwrap();
    let resp = client.request(req).await.expect("headers arrive");
    assert_eq!(resp.status(), StatusCode::OK);
    let body_tx = rx.recv().await.unwrap();
    body_tx.send(Ok(Bytes::from_static(b"part one, "))).await.unwrap();

    // Reload while the response is open.
    let (status, _) = g.reload_with(&one_route("new", b)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get(g.addr(), "/other").await.1, "from-b", "new requests use the new config");

    body_tx.send(Ok(Bytes::from_static(b"part two"))).await.unwrap();
    drop(body_tx);
    let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
    assert_eq!(body, "part one, part two", "the old response completes");
    // And it is counted under the route it started on.
    let text = metrics_text(&g.guard).await;
    assert!(
        text.contains(r#"leakwarden_requests_total{code="200",method="GET",route="old"} 1"#),
        "{text}"
    );
}
