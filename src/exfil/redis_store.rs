//! The shared store: counters in Redis, one hash per (scope, client,
//! bucket) with a field per kind, so the request-start read is two `HMGET`
//! and a charge is `HINCRBY` per kind (plus `PEXPIRE` when the key may be
//! new). Reads and charges each go through one task that sends whatever
//! has queued as one pipeline: under load the guard pays a socket write
//! and a wake-up per round trip, not per request.
//!
//! Failure model: the store is either *up* (reads and writes go to Redis)
//! or *down* (nothing waits on Redis: the caller falls back at once). Any
//! error or timeout marks it down, counts
//! `leakwarden_exfiltration_store_errors_total{op}`, sets
//! `leakwarden_exfiltration_store_degraded` and wakes the supervisor, which
//! reconnects with exponential backoff (100 ms doubling to 5 s) and marks
//! it up once a `PING` answers. Writes never delay a response: a charge is
//! summed into the bounded [`Outbox`] and a writer task sends what has
//! gathered in one pipeline.
//!
//! Reads are answered from this replica's [`Mirror`] of the counters it
//! has read whenever it holds them: the connection speaks RESP3 with
//! `CLIENT TRACKING ON BCAST PREFIX <prefix> NOLOOP`, and Redis pushes an
//! invalidation for every key under the prefix that another connection
//! (another replica, an operator) changes, or that expires (see
//! [`super::mirror`] for why this stays exact). Broadcast mode, because in
//! the default mode a write ends the tracking of its key for every
//! connection, the writer's included, so each charge would need a read-back
//! to track its key again. A server without RESP3 or tracking (Redis
//! before 6, some proxies) is read on every request instead.
//!
//! Charges are sent in batches gathered over [`WRITE_LINGER`], summed per
//! key as they are made, so a busy client costs Redis one key's work per
//! batch rather than one per response: an `HINCRBY` per kind, whose
//! answers (the totals) go to the mirror, and a `PEXPIRE` only when the
//! key may not exist yet (the mirror does not hold it with a count; every
//! pipeline that can create a key sets its expiry). Should a key the
//! mirror held vanish meanwhile (an operator's `DEL`), an increment that
//! answers with its own amount shows the field was created, and the expiry
//! follows in a second pipeline. (Plain commands, not a Lua script:
//! measured with `benches/exfil.sh`, a script per key cost redis-server
//! about 11.6 us of CPU per charged response and one script per batch
//! 21-28 us; see BENCHMARKS.md.)
//!
//! Reads of the same bucket that overlap share one round trip: a request
//! that finds a read of its client's bucket in flight waits for that
//! read's answer instead of sending its own (a scraper's parallel requests
//! are one client). The answer is at most one round trip older than a read
//! of its own would be, and charges reach Redis through the write queue
//! later than that anyway.
//!
//! This module never logs a key, a URL or a Redis error text that could
//! quote one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use prometheus::IntCounter;
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use tokio::sync::{mpsc, oneshot, Notify};

use super::key::{BucketKey, Hasher, Scopes};
use super::local::{Counts, LocalStore};
use super::mirror::Mirror;
use super::outbox::{Added, Batch, Outbox, Pending};
use crate::metrics::{exfil_op, ExfilMetrics};

/// Reads queued for the reader; past this, reads fall back to local
/// counters.
const QUEUE: usize = 8192;
/// Reads sent in one pipeline at most.
const BATCH: usize = 256;
/// Bound on a write pipeline or a reconnection attempt (they delay no
/// request, but must not hang a task forever).
const IO_TIMEOUT: Duration = Duration::from_secs(1);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often a connection that is up is checked with a `PING`.
const HEALTH_EVERY: Duration = Duration::from_secs(1);
/// How long the writer gathers charges before sending them: a charge
/// reaches Redis at most this much later (plus a round trip), and under
/// load one pipeline carries every charge of the interval.
pub const WRITE_LINGER: Duration = Duration::from_millis(2);

/// Requests waiting on one read in flight at most; past it they read on
/// their own (a bound on the waiters' list, not on correctness).
const MAX_JOINED: usize = 1024;

/// The counts of the previous and the current bucket, per kind.
pub type BothCounts = [Counts; 2];

/// Reads in flight, by current bucket, with the requests waiting on each.
type InFlight = Mutex<HashMap<BucketKey, Vec<oneshot::Sender<Option<BothCounts>>>, Hasher>>;

/// The connection and its health, shared by the store, the writer and the
/// supervisor.
struct Link {
    /// The server's address and credentials, RESP3 asked for.
    info: redis::ConnectionInfo,
    /// What every key's name starts with, and the scope names a
    /// [`BucketKey`] stands for: names are made when a command is sent and
    /// read back from invalidations.
    prefix: String,
    scopes: Arc<Scopes>,
    conn: ArcSwapOption<MultiplexedConnection>,
    up: AtomicBool,
    /// True while the connection tracks what it reads (RESP3 and `CLIENT
    /// TRACKING` accepted), so that the mirror may answer reads.
    tracking: AtomicBool,
    mirror: Arc<Mirror>,
    /// Charges waiting for the writer.
    outbox: Outbox,
    /// Wakes the writer: a charge into an empty outbox, or the store's end.
    charged: Notify,
    /// Set when the store is dropped: the writer ends.
    closed: AtomicBool,
    wake: Arc<Notify>,
    metrics: ExfilMetrics,
    /// `mirror_reads_total{result="hit"}` and `{result="miss"}`, resolved
    /// once: they count every request.
    hits: IntCounter,
    misses: IntCounter,
}

impl Link {
    fn fail(&self, op: &'static str) {
        self.metrics.store_errors_total.with_label_values(&[op]).inc();
        // Whatever the failure, invalidations may be lost with it.
        self.tracking.store(false, Ordering::SeqCst);
        self.mirror.clear();
        // Down, nothing is sent: what waits stays local (the mirror has
        // just handed over the counts it held).
        self.outbox.clear();
        if self.up.swap(false, Ordering::SeqCst) {
            self.metrics.store_degraded.set(1);
            tracing::warn!(op, "exfiltration store unavailable; counting locally until it is back");
            self.wake.notify_one();
        }
    }

    fn name(&self, key: &BucketKey) -> String {
        key.redis_name(&self.prefix, &self.scopes)
    }

    /// `key`'s name in Redis, written into `name` (emptied first).
    fn name_into(&self, key: &BucketKey, name: &mut String) {
        name.clear();
        key.write_redis_name(&self.prefix, &self.scopes, name);
    }

    fn connection(&self) -> Option<MultiplexedConnection> {
        if !self.up.load(Ordering::SeqCst) {
            return None;
        }
        self.conn.load_full().map(|c| (*c).clone())
    }
}

/// A Redis store with its writer and supervisor tasks (they end when it is
/// dropped).
pub struct RedisStore {
    link: Arc<Link>,
    reads: mpsc::Sender<Read>,
    in_flight: InFlight,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.link.closed.store(true, Ordering::SeqCst);
        self.link.charged.notify_one();
    }
}

/// One read on its way to the reader task.
struct Read {
    /// The previous and the current bucket.
    keys: [BucketKey; 2],
    kinds: Arc<[Arc<str>]>,
    /// The mirror's epoch when the read began, if its answer may be kept.
    epoch: Option<u64>,
    expires_ms: u64,
    reply: oneshot::Sender<Option<BothCounts>>,
}

/// The request whose read others wait on. Dropped (answered or cancelled)
/// it takes its entry out of the map; waiters it did not answer see their
/// channel closed and read on their own.
struct Leader<'a> {
    in_flight: &'a InFlight,
    key: &'a BucketKey,
}

impl Leader<'_> {
    fn answer(self, counts: &Option<BothCounts>) {
        let waiters = self.take();
        for w in waiters {
            let _ = w.send(counts.clone());
        }
    }

    fn take(&self) -> Vec<oneshot::Sender<Option<BothCounts>>> {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(self.key).unwrap_or_default()
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        // Answered: the entry is gone already and this finds nothing.
        drop(self.take());
    }
}

impl RedisStore {
    /// Starts connecting in the background; the store is down until the
    /// first `PING` answers. Keys are named `prefix` + `scope:window_ms:
    /// client:bucket`, with the scope names of `scopes`. Counts the mirror
    /// lets go of are merged into `fallback`. Needs a tokio runtime.
    pub fn start(
        url: &str,
        prefix: &str,
        scopes: Arc<Scopes>,
        metrics: ExfilMetrics,
        fallback: Arc<LocalStore>,
    ) -> Result<RedisStore, redis::RedisError> {
        use redis::IntoConnectionInfo as _;
        let info = url.into_connection_info()?;
        let resp3 = info.redis_settings().clone().set_protocol(redis::ProtocolVersion::RESP3);
        let info = info.set_redis_settings(resp3);
        let wake = Arc::new(Notify::new());
        metrics.store_degraded.set(1);
        let link = Arc::new(Link {
            info,
            prefix: prefix.to_string(),
            scopes,
            conn: ArcSwapOption::empty(),
            up: AtomicBool::new(false),
            tracking: AtomicBool::new(false),
            mirror: Arc::new(Mirror::new(fallback)),
            outbox: Outbox::default(),
            charged: Notify::new(),
            closed: AtomicBool::new(false),
            wake: wake.clone(),
            hits: metrics.mirror_reads_total.with_label_values(&["hit"]),
            misses: metrics.mirror_reads_total.with_label_values(&["miss"]),
            metrics,
        });
        let (reads, read_rx) = mpsc::channel(QUEUE);
        tokio::spawn(supervise(Arc::downgrade(&link), wake));
        tokio::spawn(write_loop(link.clone()));
        tokio::spawn(read_loop(link.clone(), read_rx));
        Ok(RedisStore { link, reads, in_flight: Mutex::new(HashMap::default()) })
    }

    /// The name of `key` in Redis.
    pub fn name(&self, key: &BucketKey) -> String {
        self.link.name(key)
    }

    /// True while Redis answers.
    pub fn is_up(&self) -> bool {
        self.link.up.load(Ordering::SeqCst)
    }

    /// True while reads may be answered from the mirror (the connection
    /// tracks its keys).
    pub fn is_tracking(&self) -> bool {
        self.link.tracking.load(Ordering::SeqCst)
    }

    /// Reads `kinds` of buckets `prev` and `cur`: from the mirror when it
    /// holds both, otherwise from Redis within `timeout`, or by joining a
    /// read of the same buckets already in flight. `expires_ms` is when the
    /// buckets stop counting (how long the mirror may keep them). `None`
    /// when the store is down, fails or is late (then marked down).
    pub async fn read(
        &self,
        prev: &BucketKey,
        cur: &BucketKey,
        kinds: &Arc<[Arc<str>]>,
        timeout: Duration,
        now_ms: u64,
        expires_ms: u64,
    ) -> Option<BothCounts> {
        if !self.is_up() {
            return None;
        }
        if self.is_tracking() {
            if let Some(counts) = self.link.mirror.get([prev, cur], kinds, now_ms) {
                self.link.hits.inc();
                return Some(counts);
            }
            self.link.misses.inc();
        }
        let joined = {
            let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            match map.get_mut(cur) {
                Some(waiters) if waiters.len() < MAX_JOINED => {
                    let (tx, rx) = oneshot::channel();
                    waiters.push(tx);
                    Some(Some(rx))
                }
                Some(_) => Some(None),
                None => {
                    map.insert(*cur, Vec::new());
                    None
                }
            }
        };
        match joined {
            Some(Some(rx)) => match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(counts)) => counts,
                // The leader was cancelled (its client went away): read
                // on our own, as if nobody had been reading.
                Ok(Err(_closed)) => self.read_now(prev, cur, kinds, timeout, expires_ms).await,
                // The leader's own timeout, which started earlier, counts
                // the failure; this one only stops waiting.
                Err(_elapsed) => None,
            },
            Some(None) => self.read_now(prev, cur, kinds, timeout, expires_ms).await,
            None => {
                let leader = Leader { in_flight: &self.in_flight, key: cur };
                let counts = self.read_now(prev, cur, kinds, timeout, expires_ms).await;
                leader.answer(&counts);
                counts
            }
        }
    }

    /// Hands the read to the reader task and waits for its answer within
    /// `timeout` (then the store is marked down).
    async fn read_now(
        &self,
        prev: &BucketKey,
        cur: &BucketKey,
        kinds: &Arc<[Arc<str>]>,
        timeout: Duration,
        expires_ms: u64,
    ) -> Option<BothCounts> {
        let (reply, answer) = oneshot::channel();
        let epoch = self.is_tracking().then(|| self.link.mirror.begin([prev, cur]));
        let read = Read { keys: [*prev, *cur], kinds: kinds.clone(), epoch, expires_ms, reply };
        if self.reads.try_send(read).is_err() {
            // Thousands of reads queued: Redis is not keeping up.
            self.link.fail(exfil_op::READ);
            return None;
        }
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(counts)) => counts,
            // The reader task is gone (the store is being dropped).
            Ok(Err(_closed)) => None,
            Err(_elapsed) => {
                self.link.fail(exfil_op::TIMEOUT);
                None
            }
        }
    }

    /// Queues a charge of `counts` to `key` (expiring `ttl` after it is
    /// made); never waits. True when the mirror holds the charge, so the
    /// local store need not record it (the mirror hands it over if it lets
    /// the key go). A full outbox drops the shared copy of the charge (the
    /// mirror's, handed over, stays local) and counts a write error.
    pub fn charge(&self, key: &BucketKey, counts: &[(Arc<str>, u64)], ttl: Duration) -> bool {
        if !self.is_up() {
            return false;
        }
        let charged = if self.is_tracking() {
            self.link.mirror.charge(key, counts)
        } else {
            super::mirror::Charged::default()
        };
        // A key the mirror holds with a count exists in Redis (or an
        // earlier charge that sets its expiry is ahead of this one).
        match self.link.outbox.add(key, counts, ttl, !charged.existed) {
            Added::First => self.link.charged.notify_one(),
            Added::Queued => {}
            Added::Full => {
                // The copy counted a charge Redis will not get: drop it
                // (to the local store), and the next read asks Redis.
                self.link.mirror.invalidate(key);
                self.link.metrics.store_errors_total.with_label_values(&[exfil_op::WRITE]).inc();
            }
        }
        charged.held
    }
}

/// Sends the reads queued while the previous batch was out, in one
/// pipeline (two `HMGET` each), and answers each. Under load a batch holds
/// every request that arrived during one round trip, so the guard pays one
/// write and one wake-up per round trip rather than per request; idle, a
/// read goes out alone at once.
async fn read_loop(link: Arc<Link>, mut rx: mpsc::Receiver<Read>) {
    let mut batch: Vec<Read> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let Some(mut conn) = link.connection() else {
            // Down: every caller falls back to its local counters.
            for r in batch.drain(..) {
                let _ = r.reply.send(None);
            }
            continue;
        };
        let mut pipe = redis::pipe();
        for r in &batch {
            for key in &r.keys {
                let cmd = pipe.cmd("HMGET").arg(link.name(key));
                for kind in r.kinds.iter() {
                    cmd.arg(&**kind);
                }
            }
        }
        // The callers time out on their own (and count it); this bound
        // only keeps the task from waiting forever.
        let reply =
            tokio::time::timeout(IO_TIMEOUT, pipe.query_async::<Vec<Vec<Option<u64>>>>(&mut conn))
                .await;
        let flat = |v: Vec<Option<u64>>| v.into_iter().map(|n| n.unwrap_or(0)).collect();
        match reply {
            Ok(Ok(values)) if values.len() == 2 * batch.len() => {
                let mut values = values.into_iter();
                let now = super::window::now_ms();
                for r in batch.drain(..) {
                    let (p, c) = (values.next(), values.next());
                    let counts: Option<BothCounts> = p.zip(c).map(|(p, c)| [flat(p), flat(c)]);
                    if let (Some(epoch), Some(counts)) = (r.epoch, &counts) {
                        for (key, n) in r.keys.iter().zip(counts) {
                            link.mirror.fill(epoch, key, &r.kinds, n, r.expires_ms, now);
                        }
                    }
                    let _ = r.reply.send(counts);
                }
            }
            Ok(_) => {
                link.fail(exfil_op::READ);
                batch.drain(..).for_each(|r| drop(r.reply.send(None)));
            }
            Err(_elapsed) => batch.drain(..).for_each(|r| drop(r.reply.send(None))),
        }
    }
}

/// Sends the outbox: once a charge arrives in it, waits [`WRITE_LINGER`]
/// for more, takes every key waiting (summed per kind already) and sends
/// them as one pipeline; the increments' answers (totals) go to the
/// mirror. Ends when the store is dropped.
async fn write_loop(link: Arc<Link>) {
    let mut batch = Batch::default();
    let mut sums: Vec<(BucketKey, Pending)> = Vec::new();
    // Every key's name is written here in turn: a command copies it.
    let mut name = String::new();
    loop {
        link.charged.notified().await;
        if link.closed.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(WRITE_LINGER).await;
        link.outbox.take(&mut batch);
        let Some(mut conn) = link.connection() else {
            // Down: these charges are counted locally only.
            continue;
        };
        sums.clear();
        sums.extend(batch.drain());
        let mut pipe = redis::pipe();
        for (key, p) in &sums {
            link.name_into(key, &mut name);
            for (kind, n) in &p.counts {
                pipe.cmd("HINCRBY").arg(name.as_str()).arg(&**kind).arg(*n);
            }
            if p.expire {
                pipe.cmd("PEXPIRE").arg(name.as_str()).arg(p.ttl.as_millis() as u64).ignore();
            }
        }
        let sent = pipe.query_async::<Vec<i64>>(&mut conn);
        let Some(totals) = answered(&link, sent).await else { continue };
        if totals.len() != sums.iter().map(|(_, p)| p.counts.len()).sum::<usize>() {
            link.fail(exfil_op::WRITE);
            continue;
        }
        let totals: Vec<u64> = totals.into_iter().map(|t| t.max(0) as u64).collect();
        if link.tracking.load(Ordering::SeqCst) {
            let answered = sums
                .iter()
                .flat_map(|(key, p)| p.counts.iter().map(move |(kind, _)| (key, kind)))
                .zip(&totals)
                .map(|((key, kind), total)| (key, kind, *total));
            link.mirror.confirm_all(answered);
        }
        let late = late_expiries(&sums, &totals);
        if late.is_empty() {
            continue;
        }
        let mut pipe = redis::pipe();
        for (key, p) in late {
            link.name_into(key, &mut name);
            pipe.cmd("PEXPIRE").arg(name.as_str()).arg(p.ttl.as_millis() as u64);
        }
        answered(&link, pipe.exec_async(&mut conn)).await;
    }
}

/// The answer to a write pipeline within [`IO_TIMEOUT`]; `None`, with the
/// store marked down, when Redis failed it or was late.
async fn answered<T>(
    link: &Link,
    sent: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Option<T> {
    match tokio::time::timeout(IO_TIMEOUT, sent).await {
        Ok(Ok(answer)) => Some(answer),
        Ok(Err(_)) => {
            link.fail(exfil_op::WRITE);
            None
        }
        Err(_elapsed) => {
            link.fail(exfil_op::TIMEOUT);
            None
        }
    }
}

/// The keys of a sent batch whose expiry was not sent but whose increment
/// created a field (its total is its own amount): the key may have been
/// deleted and created again without an expiry. `totals` are the
/// increments' answers in the batch's order.
fn late_expiries<'a>(
    sums: &'a [(BucketKey, Pending)],
    totals: &[u64],
) -> Vec<&'a (BucketKey, Pending)> {
    let mut totals = totals.iter();
    let mut late = Vec::new();
    for s in sums {
        let mut created = false;
        for ((_, n), total) in s.1.counts.iter().zip(&mut totals) {
            created |= total == n;
        }
        if created && !s.1.expire {
            late.push(s);
        }
    }
    late
}

/// Connects, and reconnects with backoff whenever the store is marked down.
async fn supervise(link: Weak<Link>, wake: Arc<Notify>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let Some(l) = link.upgrade() else { return };
        if l.up.load(Ordering::SeqCst) {
            let conn = l.connection();
            drop(l);
            backoff = BACKOFF_MIN;
            // Wakes on a failure, or checks the connection every
            // HEALTH_EVERY: while the mirror answers reads, a connection
            // that went silent (invalidations no longer arriving) would
            // otherwise be noticed only by the next write.
            if tokio::time::timeout(HEALTH_EVERY, wake.notified()).await.is_err() {
                if let (Some(l), Some(mut conn)) = (link.upgrade(), conn) {
                    let ping = redis::cmd("PING");
                    let answer = ping.query_async::<String>(&mut conn);
                    match tokio::time::timeout(IO_TIMEOUT, answer).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) if !e.is_timeout() => l.fail(exfil_op::READ),
                        Ok(Err(_)) | Err(_) => l.fail(exfil_op::TIMEOUT),
                    }
                }
            }
            continue;
        }
        match tokio::time::timeout(IO_TIMEOUT * 2, connect(&l)).await {
            Ok(Ok((conn, tracking))) => {
                // The new connection first, then a new epoch: an answer to
                // a read begun before this point is not kept.
                l.conn.store(Some(Arc::new(conn)));
                l.mirror.clear();
                l.tracking.store(tracking, Ordering::SeqCst);
                l.up.store(true, Ordering::SeqCst);
                l.metrics.store_degraded.set(0);
                tracing::info!(tracking, "exfiltration store connected");
                continue;
            }
            Ok(Err(_)) | Err(_) => {
                l.metrics.store_errors_total.with_label_values(&[exfil_op::CONNECT]).inc();
            }
        }
        drop(l);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Opens a connection: RESP3 with invalidations handed to the mirror and
/// `CLIENT TRACKING ON BCAST PREFIX <prefix> NOLOOP` (true: the mirror may
/// answer reads), or, when the server refuses either, RESP2 read on every
/// request (false).
async fn connect(link: &Link) -> Result<(MultiplexedConnection, bool), redis::RedisError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(IO_TIMEOUT))
        .set_response_timeout(Some(IO_TIMEOUT));
    let mirror = link.mirror.clone();
    let metrics = link.metrics.clone();
    let (prefix, scopes) = (link.prefix.clone(), link.scopes.clone());
    let tracked = config.clone().set_push_sender(move |push: redis::PushInfo| {
        on_push(&mirror, &metrics, &prefix, &scopes, push);
        Ok::<(), std::convert::Infallible>(())
    });
    let client = redis::Client::open(link.info.clone())?;
    let resp3 = async {
        let mut conn = client.get_multiplexed_async_connection_with_config(&tracked).await?;
        let mut tracking = redis::cmd("CLIENT");
        tracking.arg("TRACKING").arg("ON").arg("BCAST");
        // The prefix is never empty (validated); without one Redis would
        // broadcast every key of the database.
        if !link.prefix.is_empty() {
            tracking.arg("PREFIX").arg(&link.prefix);
        }
        tracking.arg("NOLOOP").exec_async(&mut conn).await?;
        Ok::<_, redis::RedisError>(conn)
    };
    match resp3.await {
        Ok(conn) => Ok((conn, true)),
        Err(e) if is_refusal(&e) => {
            let resp2 =
                link.info.redis_settings().clone().set_protocol(redis::ProtocolVersion::RESP2);
            let client = redis::Client::open(link.info.clone().set_redis_settings(resp2))?;
            let mut conn = client.get_multiplexed_async_connection_with_config(&config).await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await?;
            Ok((conn, false))
        }
        Err(e) => Err(e),
    }
}

/// True when the server answered but refused RESP3 or tracking (as
/// opposed to not answering at all).
fn is_refusal(e: &redis::RedisError) -> bool {
    matches!(e.kind(), redis::ErrorKind::RESP3NotSupported | redis::ErrorKind::Server(_))
}

/// Applies a message Redis pushed: an invalidation drops keys from the
/// mirror (no key at all means every key); a lost connection drops all.
fn on_push(
    mirror: &Mirror,
    metrics: &ExfilMetrics,
    prefix: &str,
    scopes: &Scopes,
    push: redis::PushInfo,
) {
    match push.kind {
        redis::PushKind::Invalidate => match push.data.first() {
            Some(redis::Value::Array(keys)) => {
                for key in keys {
                    let name = match key {
                        redis::Value::BulkString(name) => std::str::from_utf8(name).ok(),
                        _ => None,
                    };
                    match name {
                        // A name that does not parse is none of the
                        // mirror's keys: every key it holds was named by
                        // `redis_name`, which `parse` reads back, with a
                        // scope interned here (scopes are never
                        // forgotten). Broadcast mode sends every key under
                        // the prefix, a newer replica's scopes included.
                        Some(n) => {
                            if let Some(key) = BucketKey::parse(n, prefix, scopes) {
                                mirror.invalidate(&key);
                            }
                        }
                        None => mirror.clear(),
                    }
                    metrics.mirror_invalidations_total.inc();
                }
            }
            _ => mirror.clear(),
        },
        redis::PushKind::Disconnection => mirror.clear(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(bucket: u64, counts: &[(&str, u64)], expire: bool) -> (BucketKey, Pending) {
        let pending = Pending {
            counts: counts.iter().map(|&(k, n)| (Arc::from(k), n)).collect(),
            ttl: Duration::from_secs(60),
            expire,
        };
        (BucketKey::for_tests(1, bucket), pending)
    }

    #[test]
    fn an_expiry_follows_only_where_an_increment_created_a_field_unasked() {
        // (charges, expiry sent with them, Redis's totals) -> late expiry?
        type Case<'a> = (&'a [(&'a str, u64)], bool, &'a [u64], bool);
        let cases: &[Case] = &[
            (&[("card", 2)], false, &[7], false),
            (&[("card", 2)], false, &[2], true),
            (&[("card", 2)], true, &[2], false),
            (&[("card", 2), ("ssn", 1)], false, &[5, 1], true),
            (&[("card", 2), ("ssn", 1)], false, &[5, 4], false),
        ];
        for &(counts, expire, totals, want) in cases {
            let sums = vec![pending(1, counts, expire)];
            let late = late_expiries(&sums, totals);
            assert_eq!(late.len() == 1, want, "{counts:?} expire={expire} totals={totals:?}");
        }
        // Totals are matched to their keys in order.
        let sums = vec![pending(1, &[("card", 1)], false), pending(2, &[("card", 3)], false)];
        let late = late_expiries(&sums, &[4, 3]);
        assert_eq!(late.iter().map(|s| s.0.bucket).collect::<Vec<_>>(), vec![2]);
    }
}
