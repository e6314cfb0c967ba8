//! Exfiltration budgets end to end, with the real binary: two guard
//! processes sharing a real `redis-server` on 127.0.0.1 (a free port), and
//! one guard with the local store. Each response of the test upstream
//! carries one card number; clients are told apart by an `x-client` header.
//!
//! Without `redis-server` installed the Redis tests print why and skip,
//! unless `CI` is set (then they fail: `.ci/run` installs it).

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use leakwarden::exfil::key::{BucketKey, ClientId, ScopeId, Scopes};
use leakwarden::exfil::redis_store::{BothCounts, RedisStore};
use leakwarden::exfil::window::now_ms;

/// The card every upstream response carries (a well-known test number).
const PAGE: &str = r#"{"name":"test","card":"4111 1111 1111 1111"}"#;
const HASH_KEY: &str = "exfil-test-key-0123456789";
/// Budget of the main route: four cards per client per hour.
const BUDGET: usize = 4;
/// Budget and window of `/short`.
const SHORT_BUDGET: usize = 2;
const SHORT_WINDOW: Duration = Duration::from_secs(2);

// ---- redis-server -------------------------------------------------------

/// `redis-server` on PATH, or why the test cannot run.
fn redis_server() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|d| d.join("redis-server")).find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is not installed but CI is set: .ci/run must install it (apt-get install redis-server)"
        );
        eprintln!(
            "SKIPPED: redis-server is not installed (apt-get install redis-server); CI is not set"
        );
    }
    found
}

/// A free port on 127.0.0.1: bound to port 0, then released.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Redis {
    bin: PathBuf,
    port: u16,
    /// Extra `redis-server` arguments.
    args: Vec<String>,
    child: Option<Child>,
}

impl Redis {
    fn start(bin: PathBuf) -> Redis {
        Redis::start_with(bin, &[])
    }

    fn start_with(bin: PathBuf, args: &[&str]) -> Redis {
        let args = args.iter().map(|a| a.to_string()).collect();
        let mut r = Redis { bin, port: free_port(), args, child: None };
        r.restart();
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again, on the same port) and waits for PONG.
    fn restart(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "yes"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.ping().is_err() {
            assert!(Instant::now() < deadline, "redis-server did not answer on {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn ping(&self) -> redis::RedisResult<String> {
        let client = redis::Client::open(self.url())?;
        let mut conn = client.get_connection_with_timeout(Duration::from_millis(200))?;
        redis::cmd("PING").query(&mut conn)
    }

    /// SIGKILL, as a crash would.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Cards charged so far to the client whose hash is `hex`, summed over
    /// its buckets (what every replica reads).
    fn charged(&self, hex: &str) -> u64 {
        let client = redis::Client::open(self.url()).unwrap();
        let mut conn = client.get_connection_with_timeout(Duration::from_secs(1)).unwrap();
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("lwtest:*:{hex}:*")).query(&mut conn).unwrap();
        keys.iter()
            .map(|k| {
                let n: Option<u64> =
                    redis::cmd("HGET").arg(k).arg("card").query(&mut conn).unwrap();
                n.unwrap_or(0)
            })
            .sum()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---- guard processes ----------------------------------------------------

struct GuardProc {
    child: Child,
    proxy: SocketAddr,
    admin: SocketAddr,
}

impl Drop for GuardProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(dir: &Path, up: SocketAddr, store: &str) -> PathBuf {
    let audit = dir.join(format!("audit-{}.jsonl", free_port()));
    let text = format!(
        r#"
[upstreams.app]
url = "http://{up}"
[[routes]]
name = "app"
upstream = "app"
[[routes]]
name = "short"
path_prefix = "/short"
upstream = "app"
policy = "short"
[policies.short]
[audit]
output = "file"
path = "{audit}"
[exfiltration]
key = "header:x-client"
window = "1h"
budget = {{ card = {BUDGET} }}
store = "{store}"
key_prefix = "lwtest:"
hash_key_env = "LW_TEST_EXFIL_KEY"
read_timeout = "50ms"
[exfiltration.policies.short]
window = "{}s"
budget = {{ card = {SHORT_BUDGET} }}
"#,
        SHORT_WINDOW.as_secs(),
        audit = audit.display(),
    );
    let path = dir.join(format!("guard-{}.toml", free_port()));
    std::fs::write(&path, text).unwrap();
    path
}

fn start_guard_proc(config: &Path) -> GuardProc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakwarden"))
        .args(["run", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--workers", "2"])
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .env("LW_TEST_EXFIL_KEY", HASH_KEY)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let rx = stderr_lines(&mut child);
    let proxy = wait_for_addr(&rx, "proxy listening");
    let admin = wait_for_addr(&rx, "admin listening");
    GuardProc { child, proxy, admin }
}

async fn card_upstream() -> SocketAddr {
    upstream(|_req: Request<hyper::body::Incoming>| async move {
        let mut r = Response::new(full(PAGE));
        r.headers_mut().insert(http::header::CONTENT_TYPE, "application/json".parse().unwrap());
        r
    })
    .await
}

/// One GET through a guard as client `who`; the whole body is read.
async fn get(guard: &GuardProc, path: &str, who: &str) -> (StatusCode, String) {
    let req = Request::get(format!("http://{}{path}", guard.proxy))
        .header("x-client", who)
        .body(empty())
        .unwrap();
    let started = Instant::now();
    let resp = h1_client().request(req).await.expect("guard answers");
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(started.elapsed() < Duration::from_secs(3), "a request hung");
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A metric sample's value from the guard's /metrics (0 when absent).
async fn metric(guard: &GuardProc, sample: &str) -> f64 {
    let req = Request::get(format!("http://{}/metrics", guard.admin)).body(empty()).unwrap();
    let resp = h1_client().request(req).await.unwrap();
    let text = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&text)
        .lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The hash a guard files client `who` under (same key, same algorithm).
fn client_hash(who: &str) -> String {
    let key = leakwarden::config::exfiltration::ClientKey::Header(http::HeaderName::from_static(
        "x-client",
    ));
    let mut h = http::HeaderMap::new();
    h.insert("x-client", who.parse().unwrap());
    leakwarden::exfil::key::identify(&key, &h, "127.0.0.1".parse().unwrap(), HASH_KEY.as_bytes())
        .to_string()
}

const INVALIDATIONS: &str = "leakwarden_exfiltration_mirror_invalidations_total";

/// Sends `who`'s requests round-robin over `guards` until one is blocked;
/// returns how many were served. With `redis`, each served response's
/// charge is awaited in Redis before the next request (writes are
/// asynchronous by design), and so is the invalidation it sends to each
/// other guard whose mirror holds the client's counts (also asynchronous:
/// Redis pushes it on that guard's connection).
async fn served_until_blocked(
    guards: &[&GuardProc],
    path: &str,
    who: &str,
    redis: Option<&Redis>,
) -> usize {
    let mut served = 0;
    // Guards that have read `who`'s counts (their mirrors track them).
    let mut read = vec![false; guards.len()];
    loop {
        let at = served % guards.len();
        let mut before = Vec::new();
        for g in guards {
            before.push(metric(g, INVALIDATIONS).await);
        }
        let (status, body) = get(guards[at], path, who).await;
        read[at] = true;
        if status == StatusCode::FORBIDDEN {
            return served;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(!body.contains("4111 1111 1111 1111"), "the card is masked: {body}");
        served += 1;
        assert!(served <= 50, "{who} was never blocked");
        if let Some(r) = redis {
            let hex = client_hash(who);
            wait_for("the charge to reach Redis", || async { r.charged(&hex) == served as u64 })
                .await;
            for (i, g) in guards.iter().enumerate().filter(|&(i, _)| i != at && read[i]) {
                // Bounded: when the window moved on to a new bucket since
                // that guard's last read, it tracks no key this charge
                // touched and no invalidation comes.
                let deadline = Instant::now() + Duration::from_secs(1);
                while metric(g, INVALIDATIONS).await <= before[i] && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

async fn blocked_everywhere(guards: &[&GuardProc], path: &str, who: &str) {
    for g in guards {
        assert_eq!(get(g, path, who).await.0, StatusCode::FORBIDDEN, "{who} on {}", g.proxy);
    }
}

// ---- tests ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_budget_through_redis() {
    let Some(bin) = redis_server() else { return };
    let redis = Redis::start(bin);
    let dir = tempfile::tempdir().unwrap();
    let up = card_upstream().await;
    let cfg = config(dir.path(), up, &redis.url());
    let (a, b) = (start_guard_proc(&cfg), start_guard_proc(&cfg));
    for g in [&a, &b] {
        wait_for("the store", || async {
            metric(g, "leakwarden_exfiltration_store_degraded").await == 0.0
        })
        .await;
    }

    // Alternating between the replicas: blocked after exactly the budget
    // summed over both, then on both.
    assert_eq!(served_until_blocked(&[&a, &b], "/", "alice", Some(&redis)).await, BUDGET);
    blocked_everywhere(&[&a, &b], "/", "alice").await;
    // Another client is not affected.
    for g in [&a, &b] {
        assert_eq!(get(g, "/", "bob").await.0, StatusCode::OK);
    }

    // The short window: blocked at its budget, served again once it passed.
    let short = served_until_blocked(&[&b, &a], "/short", "carol", Some(&redis)).await;
    assert_eq!(short, SHORT_BUDGET);
    let blocked_at = Instant::now();
    wait_for("the window to pass", || async {
        get(&a, "/short", "carol").await.0 == StatusCode::OK
    })
    .await;
    assert!(blocked_at.elapsed() <= SHORT_WINDOW * 2 + Duration::from_secs(1));
    // `/short` counts in its own scope: alice's hour budget is not spent there.
    assert_eq!(get(&b, "/short", "alice").await.0, StatusCode::OK);

    let mut over = 0.0;
    let mut blocked = 0.0;
    for g in [&a, &b] {
        over += metric(
            g,
            "leakwarden_exfiltration_over_budget_total{action=\"block\",policy=\"default\"}",
        )
        .await;
        blocked +=
            metric(g, "leakwarden_responses_blocked_total{reason=\"exfil_budget\",route=\"app\"}")
                .await;
    }
    assert!(over >= 3.0 && blocked >= 3.0, "over {over}, blocked {blocked}");

    // The audit line records the decision with the key's hash, never the key.
    let hex = client_hash("alice");
    let audit: String = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let blocked_line = audit
        .lines()
        .find(|l| l.contains("\"exfil_budget\"") && l.contains(&hex))
        .unwrap_or_else(|| panic!("no budget block audited for {hex}:\n{audit}"));
    let v: serde_json::Value = serde_json::from_str(blocked_line).unwrap();
    assert_eq!(v["exfil"]["decision"], "over_budget");
    assert_eq!(v["exfil"]["kind"], "card");
    assert_eq!(v["exfil"]["source"], "redis");
    assert!(!audit.contains("alice") && !audit.contains("carol"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_falls_back_to_local_counters_and_recovers() {
    let Some(bin) = redis_server() else { return };
    let mut redis = Redis::start(bin);
    let dir = tempfile::tempdir().unwrap();
    let up = card_upstream().await;
    let cfg = config(dir.path(), up, &redis.url());
    let (a, b) = (start_guard_proc(&cfg), start_guard_proc(&cfg));
    for g in [&a, &b] {
        wait_for("the store", || async {
            metric(g, "leakwarden_exfiltration_store_degraded").await == 0.0
        })
        .await;
    }
    // Shared charges before the outage: one on a, one on b (a's mirror
    // hears of it), and one more on a, which reads the fleet's count first.
    let dave = client_hash("dave");
    for (n, g) in [(1, &a), (2, &b), (3, &a)] {
        let heard = metric(&a, INVALIDATIONS).await;
        assert_eq!(get(g, "/", "dave").await.0, StatusCode::OK);
        wait_for("the charge to reach Redis", || async { redis.charged(&dave) == n }).await;
        if n == 2 {
            wait_for("a to hear of b's charge", || async {
                metric(&a, INVALIDATIONS).await > heard
            })
            .await;
            // b's first charge also set the key's expiry; should Redis
            // announce that in a message of its own, it must reach a
            // before a's next read, or that read's answer is not kept.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    redis.kill();
    let errors = "leakwarden_exfiltration_store_errors_total{op=\"read\"}";
    // Requests keep being served (within the 3 s `get` allows), now with
    // replica a's local counters: they continue from the fleet's count a
    // last read (its own two charges and b's one), not from a's two alone.
    let served = served_until_blocked(&[&a], "/", "dave", None).await;
    assert_eq!(served, BUDGET - 3, "local counters continue from the fleet's count");
    assert_eq!(get(&b, "/", "erin").await.0, StatusCode::OK);
    for g in [&a, &b] {
        assert_eq!(metric(g, "leakwarden_exfiltration_store_degraded").await, 1.0);
        let e = metric(g, errors).await
            + metric(g, "leakwarden_exfiltration_store_errors_total{op=\"write\"}").await
            + metric(g, "leakwarden_exfiltration_store_errors_total{op=\"timeout\"}").await;
        assert!(e >= 1.0, "store errors counted on {}", g.proxy);
    }

    // Redis returns (empty: no persistence); both replicas reconnect and
    // share their counting again.
    redis.restart();
    for g in [&a, &b] {
        wait_for("the reconnection", || async {
            metric(g, "leakwarden_exfiltration_store_degraded").await == 0.0
        })
        .await;
    }
    assert_eq!(served_until_blocked(&[&b, &a], "/", "frank", Some(&redis)).await, BUDGET);
    blocked_everywhere(&[&a, &b], "/", "frank").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_gives_the_same_results_on_one_replica() {
    let dir = tempfile::tempdir().unwrap();
    let up = card_upstream().await;
    let cfg = config(dir.path(), up, "local");
    let g = start_guard_proc(&cfg);
    assert_eq!(served_until_blocked(&[&g], "/", "alice", None).await, BUDGET);
    blocked_everywhere(&[&g], "/", "alice").await;
    assert_eq!(get(&g, "/", "bob").await.0, StatusCode::OK);
    assert_eq!(served_until_blocked(&[&g], "/short", "carol", None).await, SHORT_BUDGET);
    let blocked_at = Instant::now();
    wait_for("the window to pass", || async {
        get(&g, "/short", "carol").await.0 == StatusCode::OK
    })
    .await;
    assert!(blocked_at.elapsed() <= SHORT_WINDOW * 2 + Duration::from_secs(1));
    assert_eq!(metric(&g, "leakwarden_exfiltration_store_degraded").await, 0.0);
    assert_eq!(
        metric(&g, "leakwarden_exfiltration_charged_total{kind=\"card\",policy=\"default\"}").await,
        (BUDGET + 1) as f64
    );
}

/// A real Redis and a store connected to it, with a plain connection to
/// seed and inspect it; `None` (the test skips) without `redis-server`.
async fn connected_store() -> Option<Connected> {
    connected_store_with(&[]).await
}

/// What [`connected_store`] gives a test.
type Connected = (Redis, Arc<RedisStore>, redis::Connection, leakwarden::metrics::Metrics, Keys);

/// Bucket keys of the store's one scope.
#[derive(Clone, Copy)]
struct Keys(ScopeId);

impl Keys {
    /// Bucket `bucket` of client number `who`.
    fn of(self, who: u8, bucket: u64) -> BucketKey {
        BucketKey { scope: self.0, window_ms: 60_000, client: ClientId([who; 16]), bucket }
    }
}

/// Kind names as a budget's read asks for them.
fn kinds(names: &[&str]) -> Arc<[Arc<str>]> {
    names.iter().map(|&n| Arc::from(n)).collect()
}

async fn connected_store_with(args: &[&str]) -> Option<Connected> {
    let redis = Redis::start_with(redis_server()?, args);
    let metrics = leakwarden::metrics::Metrics::new();
    let scopes = Arc::new(Scopes::default());
    let keys = Keys(scopes.intern("t"));
    let local = Arc::default();
    let store =
        RedisStore::start(&redis.url(), "lwtest:", scopes, metrics.exfiltration.clone(), local);
    let store = Arc::new(store.unwrap());
    wait_for("the store to connect", || {
        let up = store.is_up();
        async move { up }
    })
    .await;
    let client = redis::Client::open(redis.url()).unwrap();
    let conn = client.get_connection_with_timeout(Duration::from_secs(1)).unwrap();
    Some((redis, store, conn, metrics, keys))
}

/// Far enough ahead that nothing the tests keep in a mirror expires.
const LATER_MS: u64 = u64::MAX / 2;

/// A read's answer as plain vectors, to compare with literals.
fn plain(counts: Option<BothCounts>) -> Option<(Vec<u64>, Vec<u64>)> {
    counts.map(|[p, c]| (p.to_vec(), c.to_vec()))
}

/// Overlapping reads of one client's buckets share one round trip: while
/// Redis holds every command (`CLIENT PAUSE`), fifty reads of one client's
/// buckets start; the first is sent, the others join it, and all get its
/// answer. A read of another client's buckets is sent on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_reads_of_one_client_share_one_round_trip() {
    let Some((_redis, store, mut conn, _, keys)) = connected_store().await else { return };
    let (a, b) = (1, 2);
    let a_cur = store.name(&keys.of(a, 2));
    let _: () = redis::cmd("HSET").arg(&a_cur).arg("card").arg(7).query(&mut conn).unwrap();
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut conn).unwrap();
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(400).arg("ALL").query(&mut conn).unwrap();

    let kinds = kinds(&["card"]);
    let read = |who: u8| {
        let (store, kinds) = (store.clone(), kinds.clone());
        let (prev, cur) = (keys.of(who, 1), keys.of(who, 2));
        tokio::spawn(async move {
            store.read(&prev, &cur, &kinds, Duration::from_secs(3), now_ms(), LATER_MS).await
        })
    };
    let same: Vec<_> = (0..50).map(|_| read(a)).collect();
    let other = read(b);
    for r in same {
        assert_eq!(
            plain(r.await.unwrap()),
            Some((vec![0], vec![7])),
            "every joined read gets the answer"
        );
    }
    assert_eq!(plain(other.await.unwrap()), Some((vec![0], vec![0])));

    let hmget = calls(&mut conn, "hmget");
    // Two HMGET (previous and current bucket) per round trip: one round
    // trip for the fifty overlapping reads, one for the other client.
    assert_eq!(hmget, 4, "HMGET calls: {hmget}");
    assert!(store.is_up(), "no read failed or timed out");
}

/// Reads of different clients queued while one round trip is out go
/// together in the next pipeline, and each gets its own client's counts
/// (the answers are handed out in order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_batched_in_one_pipeline_each_get_their_own_counts() {
    let Some((_redis, store, mut conn, _, keys)) = connected_store().await else { return };
    for i in 0..40u8 {
        let _: () = redis::cmd("HSET")
            .arg(store.name(&keys.of(i, 1)))
            .arg("ssn")
            .arg(1000 + u64::from(i))
            .arg("card")
            .arg(i)
            .query(&mut conn)
            .unwrap();
    }
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(300).arg("ALL").query(&mut conn).unwrap();
    let kinds = kinds(&["card", "ssn"]);
    let reads: Vec<_> = (0..40u8)
        .map(|i| {
            let (store, kinds) = (store.clone(), kinds.clone());
            let (prev, cur) = (keys.of(i, 1), keys.of(i, 2));
            tokio::spawn(async move {
                store.read(&prev, &cur, &kinds, Duration::from_secs(3), now_ms(), LATER_MS).await
            })
        })
        .collect();
    for (i, r) in reads.into_iter().enumerate() {
        let i = i as u64;
        assert_eq!(plain(r.await.unwrap()), Some((vec![i, 1000 + i], vec![0, 0])), "client {i}");
    }
    assert!(store.is_up(), "no read failed or timed out");
}

/// Waits until Redis holds `want` cards in `key` (a charge is written
/// asynchronously).
async fn await_cards(conn: &mut redis::Connection, key: &str, want: u64) {
    wait_for("the charge to reach Redis", || {
        let n: Option<u64> = redis::cmd("HGET").arg(key).arg("card").query(conn).unwrap();
        async move { n == Some(want) }
    })
    .await;
}

/// Calls of `command` (lower case) Redis has run since the last `CONFIG
/// RESETSTAT` (0 when it ran none).
fn calls(conn: &mut redis::Connection, command: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(conn).unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
}

/// The mirror: once read, a client's counts are answered without a round
/// trip; another connection's change reaches it through Redis's
/// invalidation, this store's own charges apply in place, and a key this
/// store wrote is still followed afterwards (broadcast tracking needs no
/// read-back). A key known to exist gets no expiry again; one that may be
/// new does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_answers_reads_and_follows_every_change() {
    let Some((_redis, store, mut conn, metrics, keys)) = connected_store().await else { return };
    assert!(store.is_tracking(), "redis-server 6+ accepts RESP3 and CLIENT TRACKING");
    let (prev, cur) = (keys.of(9, 1), keys.of(9, 2));
    let name = store.name(&cur);
    // Another replica's charge, with the expiry every first charge sets.
    let _: () = redis::cmd("HSET").arg(&name).arg("card").arg(3).query(&mut conn).unwrap();
    let _: () = redis::cmd("PEXPIRE").arg(&name).arg(600_000).query(&mut conn).unwrap();
    let kinds = kinds(&["card"]);
    let read = || store.read(&prev, &cur, &kinds, Duration::from_secs(3), now_ms(), LATER_MS);
    let card = |counts: Option<BothCounts>| counts.expect("redis answers")[1][0];
    let hits = || metrics.exfiltration.mirror_reads_total.with_label_values(&["hit"]).get();
    // An answer is not kept when an invalidation reaches the store while
    // the read is out (here: the seeding's own, which Redis broadcast just
    // before): reads go to Redis until one is kept.
    let kept = || async {
        let before = hits();
        read().await;
        hits() > before
    };

    assert_eq!(card(read().await), 3);
    wait_for("the mirror to keep the key", kept).await;
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut conn).unwrap();
    let before = hits();
    for _ in 0..10 {
        assert_eq!(card(read().await), 3);
    }
    assert_eq!(calls(&mut conn, "hmget"), 0, "answered by the mirror");
    assert_eq!(hits() - before, 10);

    // Another replica charges: the invalidation drops the copy and the next
    // read asks Redis.
    let _: () = redis::cmd("HINCRBY").arg(&name).arg("card").arg(2).query(&mut conn).unwrap();
    wait_for("the invalidation", || async { card(read().await) == 5 }).await;
    assert!(metrics.exfiltration.mirror_invalidations_total.get() >= 1);

    // This store charges: counted at once, before Redis has it. The key
    // is known to exist, so the charge is one HINCRBY and no expiry.
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut conn).unwrap();
    let held = store.charge(&cur, &[("card".into(), 1)], Duration::from_secs(60));
    assert!(held, "the mirror holds the key: the local store need not record the charge");
    assert_eq!(card(read().await), 6);
    await_cards(&mut conn, &name, 6).await;
    assert_eq!(calls(&mut conn, "hincrby"), 1);
    assert_eq!(calls(&mut conn, "pexpire"), 0, "the key had its expiry");
    assert_eq!(calls(&mut conn, "hmget"), 0, "no read-back");
    let ttl: i64 = redis::cmd("PTTL").arg(&name).query(&mut conn).unwrap();
    assert!(ttl > 60_000, "the expiry is the first charge's: {ttl}");
    // Another change still reaches the mirror after this store's write.
    let _: () = redis::cmd("HINCRBY").arg(&name).arg("card").arg(4).query(&mut conn).unwrap();
    wait_for("the invalidation after a write", || async { card(read().await) == 10 }).await;
    wait_for("the mirror to keep the key again", kept).await;
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut conn).unwrap();
    assert_eq!(card(read().await), 10);
    assert_eq!(calls(&mut conn, "hmget"), 0, "kept again after the read that followed it");

    // A key the mirror holds with no count may not exist: its first charge
    // sets the expiry, the next one does not.
    let (prev2, fresh) = (keys.of(8, 1), keys.of(8, 2));
    let fresh_name = store.name(&fresh);
    let counts =
        store.read(&prev2, &fresh, &kinds, Duration::from_secs(3), now_ms(), LATER_MS).await;
    assert_eq!(plain(counts), Some((vec![0], vec![0])));
    let charge = |n| store.charge(&fresh, &[("card".into(), n)], Duration::from_secs(60));
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut conn).unwrap();
    charge(1);
    await_cards(&mut conn, &fresh_name, 1).await;
    let ttl: i64 = redis::cmd("PTTL").arg(&fresh_name).query(&mut conn).unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "the charge that creates the key sets its expiry: {ttl}");
    charge(2);
    await_cards(&mut conn, &fresh_name, 3).await;
    assert_eq!(calls(&mut conn, "pexpire"), 1, "one expiry for two charges");

    // Keys under the prefix that are not the guard's (another scope, a
    // stray name) are broadcast too, and drop nothing.
    for stray in ["lwtest:someone-else", "lwtest:other:60000:00:1"] {
        let _: () = redis::cmd("SET").arg(stray).arg(1).query(&mut conn).unwrap();
    }
    let _: () = redis::cmd("HINCRBY").arg(&name).arg("card").arg(1).query(&mut conn).unwrap();
    wait_for("the invalidation after the strays", || async { card(read().await) == 11 }).await;
    wait_for("the mirror to keep the key again", kept).await;
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut conn).unwrap();
    assert_eq!(card(read().await), 11);
    assert_eq!(calls(&mut conn, "hmget"), 0, "the strays emptied nothing");

    let errors = metrics.exfiltration.store_errors_total.with_label_values(&["write"]).get();
    assert_eq!(errors, 0, "the increments' answers were read");
    assert!(store.is_up());
}

/// A server that refuses client tracking (as some managed or proxied
/// Redis do) is still a shared store: the guard connects without the
/// mirror, reads Redis on every request and sets the expiry with every
/// charge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_tracking_is_read_on_every_request() {
    let Some((_redis, store, mut conn, metrics, keys)) =
        connected_store_with(&["--rename-command", "CLIENT", ""]).await
    else {
        return;
    };
    assert!(!store.is_tracking());
    let (prev, cur) = (keys.of(3, 1), keys.of(3, 2));
    let name = store.name(&cur);
    let kinds = kinds(&["card"]);
    let held = store.charge(&cur, &[("card".into(), 2)], Duration::from_secs(60));
    assert!(!held, "no mirror: the local store records every charge");
    await_cards(&mut conn, &name, 2).await;
    let ttl: i64 = redis::cmd("PTTL").arg(&name).query(&mut conn).unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "the key expires: {ttl}");
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut conn).unwrap();
    for _ in 0..3 {
        let counts =
            store.read(&prev, &cur, &kinds, Duration::from_secs(3), now_ms(), LATER_MS).await;
        assert_eq!(plain(counts), Some((vec![0], vec![2])));
    }
    assert_eq!(calls(&mut conn, "hmget"), 6, "two HMGET per read, no mirror");
    let hits = metrics.exfiltration.mirror_reads_total.with_label_values(&["hit"]).get();
    assert_eq!(hits, 0);
    assert!(store.is_up());
}

/// A connection that goes silent is noticed without any request: the
/// store pings it every second, marks it down when the answer is late
/// (the mirror is emptied and budgets fall back to local counters), and
/// reconnects once Redis answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_noticed_by_the_health_check() {
    let Some((_redis, store, mut conn, metrics, _)) = connected_store().await else { return };
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(4000).arg("ALL").query(&mut conn).unwrap();
    let paused = Instant::now();
    wait_for("the store to be marked down", || {
        let up = store.is_up();
        async move { !up }
    })
    .await;
    assert!(paused.elapsed() < Duration::from_millis(3500), "noticed while paused");
    assert_eq!(metrics.exfiltration.store_degraded.get(), 1);
    let timeouts = metrics.exfiltration.store_errors_total.with_label_values(&["timeout"]).get();
    assert!(timeouts >= 1, "the late PING is counted");
    wait_for("the reconnection", || {
        let up = store.is_up();
        async move { up }
    })
    .await;
    assert!(store.is_tracking());
}
