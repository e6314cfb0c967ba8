//! The shared store: counters in Redis, one hash per (scope, client,
//! bucket) with a field per kind, so the request-start read is two `HMGET`
//! and a charge is `HINCRBY` per kind plus `PEXPIRE`. Reads and charges
//! each go through one task that sends whatever has queued as one
//! pipeline: under load the guard pays a socket write and a wake-up per
//! round trip, not per request.
//!
//! Failure model: the store is either *up* (reads and writes go to Redis)
//! or *down* (nothing waits on Redis: the caller falls back at once). Any
//! error or timeout marks it down, counts
//! `leakwarden_exfiltration_store_errors_total{op}`, sets
//! `leakwarden_exfiltration_store_degraded` and wakes the supervisor, which
//! reconnects with exponential backoff (100 ms doubling to 5 s) and marks
//! it up once a `PING` answers. Writes never delay a response: a charge is
//! queued on a bounded channel (`try_send`) and a writer task sends what
//! has queued in one pipeline.
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
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::metrics::{exfil_op, ExfilMetrics};

/// Charges queued for the writer (reads for the reader); past this,
/// charges stay local only (reads fall back to local counters).
const QUEUE: usize = 8192;
/// Charges (or reads) sent in one pipeline at most.
const BATCH: usize = 256;
/// Bound on a write pipeline or a reconnection attempt (they delay no
/// request, but must not hang a task forever).
const IO_TIMEOUT: Duration = Duration::from_secs(1);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Requests waiting on one read in flight at most; past it they read on
/// their own (a bound on the waiters' list, not on correctness).
const MAX_JOINED: usize = 1024;

/// The counts of the previous and the current bucket, per kind.
pub type Counts = (Vec<u64>, Vec<u64>);

/// Reads in flight, by current-bucket key, with the requests waiting on each.
type InFlight = Mutex<HashMap<String, Vec<oneshot::Sender<Option<Counts>>>>>;

/// One charge on its way to Redis.
pub struct Write {
    pub key: String,
    pub counts: Vec<(Box<str>, u64)>,
    pub ttl: Duration,
}

/// The connection and its health, shared by the store, the writer and the
/// supervisor.
struct Link {
    client: redis::Client,
    conn: ArcSwapOption<MultiplexedConnection>,
    up: AtomicBool,
    wake: Arc<Notify>,
    metrics: ExfilMetrics,
}

impl Link {
    fn fail(&self, op: &'static str) {
        self.metrics.store_errors_total.with_label_values(&[op]).inc();
        if self.up.swap(false, Ordering::SeqCst) {
            self.metrics.store_degraded.set(1);
            tracing::warn!(op, "exfiltration store unavailable; counting locally until it is back");
            self.wake.notify_one();
        }
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
    tx: mpsc::Sender<Write>,
    reads: mpsc::Sender<Read>,
    in_flight: InFlight,
}

/// One read on its way to the reader task.
struct Read {
    /// The previous and the current bucket.
    keys: [String; 2],
    kinds: Vec<Box<str>>,
    reply: oneshot::Sender<Option<Counts>>,
}

/// The request whose read others wait on. Dropped (answered or cancelled)
/// it takes its entry out of the map; waiters it did not answer see their
/// channel closed and read on their own.
struct Leader<'a> {
    in_flight: &'a InFlight,
    key: &'a str,
}

impl Leader<'_> {
    fn answer(self, counts: &Option<Counts>) {
        let waiters = self.take();
        for w in waiters {
            let _ = w.send(counts.clone());
        }
    }

    fn take(&self) -> Vec<oneshot::Sender<Option<Counts>>> {
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
    /// first `PING` answers. Needs a tokio runtime.
    pub fn start(url: &str, metrics: ExfilMetrics) -> Result<RedisStore, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let wake = Arc::new(Notify::new());
        metrics.store_degraded.set(1);
        let link = Arc::new(Link {
            client,
            conn: ArcSwapOption::empty(),
            up: AtomicBool::new(false),
            wake: wake.clone(),
            metrics,
        });
        let (tx, rx) = mpsc::channel(QUEUE);
        let (reads, read_rx) = mpsc::channel(QUEUE);
        tokio::spawn(supervise(Arc::downgrade(&link), wake));
        tokio::spawn(write_loop(link.clone(), rx));
        tokio::spawn(read_loop(link.clone(), read_rx));
        Ok(RedisStore { link, tx, reads, in_flight: Mutex::new(HashMap::new()) })
    }

    /// True while Redis answers.
    pub fn is_up(&self) -> bool {
        self.link.up.load(Ordering::SeqCst)
    }

    /// Reads `kinds` of buckets `prev` and `cur`, within `timeout`, or
    /// joins a read of the same buckets already in flight. `None` when the
    /// store is down, fails or is late (then marked down).
    pub async fn read(
        &self,
        prev: &str,
        cur: &str,
        kinds: &[(String, u64)],
        timeout: Duration,
    ) -> Option<Counts> {
        if !self.is_up() {
            return None;
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
                    map.insert(cur.to_string(), Vec::new());
                    None
                }
            }
        };
        match joined {
            Some(Some(rx)) => match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(counts)) => counts,
                // The leader was cancelled (its client went away): read
                // on our own, as if nobody had been reading.
                Ok(Err(_closed)) => self.read_now(prev, cur, kinds, timeout).await,
                // The leader's own timeout, which started earlier, counts
                // the failure; this one only stops waiting.
                Err(_elapsed) => None,
            },
            Some(None) => self.read_now(prev, cur, kinds, timeout).await,
            None => {
                let leader = Leader { in_flight: &self.in_flight, key: cur };
                let counts = self.read_now(prev, cur, kinds, timeout).await;
                leader.answer(&counts);
                counts
            }
        }
    }

    /// Hands the read to the reader task and waits for its answer within
    /// `timeout` (then the store is marked down).
    async fn read_now(
        &self,
        prev: &str,
        cur: &str,
        kinds: &[(String, u64)],
        timeout: Duration,
    ) -> Option<Counts> {
        let (reply, answer) = oneshot::channel();
        let keys = [prev.to_string(), cur.to_string()];
        let kinds = kinds.iter().map(|(k, _)| Box::from(k.as_str())).collect();
        if self.reads.try_send(Read { keys, kinds, reply }).is_err() {
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

    /// Queues a charge; never waits. A full queue drops the shared copy of
    /// the charge (the local one stays) and counts a write error.
    pub fn write(&self, w: Write) {
        if !self.is_up() {
            return;
        }
        if self.tx.try_send(w).is_err() {
            self.link.metrics.store_errors_total.with_label_values(&[exfil_op::WRITE]).inc();
        }
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
                let cmd = pipe.cmd("HMGET").arg(key);
                for kind in &r.kinds {
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
                for r in batch.drain(..) {
                    let (p, c) = (values.next(), values.next());
                    let _ = r.reply.send(p.zip(c).map(|(p, c)| (flat(p), flat(c))));
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

/// Sends queued charges, a pipeline per batch.
async fn write_loop(link: Arc<Link>, mut rx: mpsc::Receiver<Write>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let Some(mut conn) = link.connection() else {
            // Down: these charges are counted locally only.
            batch.clear();
            continue;
        };
        let mut pipe = redis::pipe();
        for w in batch.drain(..) {
            for (kind, n) in &w.counts {
                pipe.cmd("HINCRBY").arg(&w.key).arg(&**kind).arg(*n).ignore();
            }
            pipe.cmd("PEXPIRE").arg(&w.key).arg(w.ttl.as_millis() as u64).ignore();
        }
        match tokio::time::timeout(IO_TIMEOUT, pipe.exec_async(&mut conn)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => link.fail(exfil_op::WRITE),
            Err(_elapsed) => link.fail(exfil_op::TIMEOUT),
        }
    }
}

/// Connects, and reconnects with backoff whenever the store is marked down.
async fn supervise(link: Weak<Link>, wake: Arc<Notify>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let Some(l) = link.upgrade() else { return };
        if l.up.load(Ordering::SeqCst) {
            drop(l);
            backoff = BACKOFF_MIN;
            // Wakes on a failure; the timeout only notices a dropped store.
            let _ = tokio::time::timeout(BACKOFF_MAX, wake.notified()).await;
            continue;
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(IO_TIMEOUT))
            .set_response_timeout(Some(IO_TIMEOUT));
        let attempt = async {
            let mut conn = l.client.get_multiplexed_async_connection_with_config(&config).await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await?;
            Ok::<_, redis::RedisError>(conn)
        };
        match tokio::time::timeout(IO_TIMEOUT * 2, attempt).await {
            Ok(Ok(conn)) => {
                l.conn.store(Some(Arc::new(conn)));
                l.up.store(true, Ordering::SeqCst);
                l.metrics.store_degraded.set(0);
                tracing::info!("exfiltration store connected");
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
