//! A replica's copy of the shared counters it has read, kept exact by
//! Redis's invalidation messages (server-assisted client-side caching,
//! RESP3 `CLIENT TRACKING ON BCAST PREFIX <prefix> NOLOOP`), so that the
//! request-start read is a map lookup instead of a round trip.
//!
//! How it stays exact: Redis pushes an `invalidate` message for every key
//! under the guard's prefix that another connection (another replica)
//! changes, or that expires or is deleted; the copy is then dropped and
//! the next request reads Redis again. This replica's own charges do not
//! invalidate (`NOLOOP`): they are added to the copy in place when queued,
//! and the totals Redis answers to the increments are merged in with
//! `max` (counters in a bucket only grow, so the larger of two true
//! readings is the newer one). That also repairs a copy read while one of
//! this replica's charges was still queued: the read missed it, the
//! increment's answer includes it.
//!
//! The copy is also the fallback's source. A charge the copy holds is not
//! recorded in the local store too (one look-up per charge instead of
//! two); instead, every count the copy lets go of while it still counts
//! (an invalidation, a re-read, a failure or reconnection emptying it) is
//! merged into the [`LocalStore`] with `max`. So when Redis fails, the
//! local counters hold this replica's charges and the fleet's counts as
//! last read: a lower bound of the true count, as a replica's own charges
//! alone were, but a closer one.
//!
//! Why not the `redis` crate's own client-side cache: it tracks without
//! `NOLOOP`, so every charge this replica makes (one per response that
//! carries a budgeted kind) would invalidate its own copy, and it cannot
//! apply a charge in place.
//!
//! Races, and why each is safe: a read's answer is kept only if nothing
//! touched its key between sending the read and keeping the answer (an
//! invalidation, an own charge or a write's answer marks the pending read
//! *spoiled*: its answer serves the requests that wait for it but is not
//! kept), and only if no reconnection happened in between (an *epoch*
//! that every reconnection or failure bumps: invalidations for the old
//! connection's keys are lost with it).
//!
//! This module is synchronous and knows nothing of Redis's protocol; it
//! never holds a key it was not told and never grows past [`MAX_ENTRIES`].

use std::sync::{Arc, Mutex};

use smallvec::SmallVec;

use super::key::BucketKey;
use super::local::{apply_counts, raise, same_kind, Counts, KindCounts, LocalStore};
use super::pair::{self, PairMap};

/// Most client series held, two buckets each; past it (after a sweep of
/// expired buckets) new clients are read from Redis every time rather
/// than kept.
pub const MAX_ENTRIES: usize = 100_000;

enum Slot {
    /// A read of this key is on its way; `spoiled` when something changed
    /// the key since it was sent.
    Pending { spoiled: bool },
    /// Redis's counts as of the last read, plus this replica's charges
    /// since; dropped at `expires_ms` (the bucket no longer counts).
    Known { counts: KindCounts, expires_ms: u64 },
}

struct Inner {
    /// A client series' two most recent buckets in one entry, so that a
    /// request's read is one look-up ([`BucketPair`](pair::BucketPair)).
    map: PairMap<Slot>,
    /// Bumped by every [`Mirror::clear`]: answers to reads begun before it
    /// are not kept.
    epoch: u64,
}

impl Inner {
    fn slot(&mut self, key: &BucketKey) -> Option<&mut Slot> {
        self.map.get_mut(&key.series())?.get_mut(key.bucket)
    }

    /// Takes `key`'s bucket out, and its series' entry when that was the
    /// last.
    fn take(&mut self, key: &BucketKey) -> Option<Slot> {
        let series = key.series();
        let pair = self.map.get_mut(&series)?;
        let slot = pair.remove(key.bucket);
        if pair.is_empty() {
            self.map.remove(&series);
        }
        slot
    }
}

/// The copy, shared by the request path, the reader, the writer and the
/// connection's invalidation handler.
pub struct Mirror {
    inner: Mutex<Inner>,
    /// Where counts the copy lets go of are merged (see the module
    /// documentation).
    fallback: Arc<LocalStore>,
}

/// What [`Mirror::charge`] did with a charge (the default: not held, not
/// known to exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Charged {
    /// The copy holds the key and counted every kind of the charge: the
    /// local store need not record it (the copy hands it over if it lets
    /// the key go).
    pub held: bool,
    /// The copy held a count for the key: it exists in Redis, or a charge
    /// queued before this one creates it.
    pub existed: bool,
}

/// A bucket's counts let go of, on their way to the fallback.
type Released = (BucketKey, KindCounts, u64);

impl Mirror {
    /// An empty copy whose released counts go to `fallback`.
    pub fn new(fallback: Arc<LocalStore>) -> Mirror {
        Mirror { inner: Mutex::new(Inner { map: PairMap::default(), epoch: 0 }), fallback }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Merges released counts into the fallback, under its lock once (after
    /// the copy's lock is let go). Expired buckets no longer count and are
    /// left out; a full local store keeps no new client (the charge path
    /// counts that case).
    fn release(&self, released: impl IntoIterator<Item = Released>) {
        let now = super::window::now_ms();
        let live: SmallVec<[Released; 2]> = released.into_iter().filter(|r| r.2 > now).collect();
        if !live.is_empty() {
            self.fallback.merge_max(live.iter().map(|(k, c, e)| (k, &c[..], *e)), now);
        }
    }

    /// The counts of `kinds` in both `keys`, if both are held, live and
    /// hold every kind; `None` means "read Redis". The two keys are a
    /// request's previous and current bucket, one series: one look-up.
    pub fn get(
        &self,
        keys: [&BucketKey; 2],
        kinds: &[Arc<str>],
        now_ms: u64,
    ) -> Option<[Counts; 2]> {
        let inner = self.lock();
        let one = |slot: Option<&Slot>| match slot? {
            Slot::Known { counts, expires_ms } if *expires_ms > now_ms => kinds
                .iter()
                .map(|kind| counts.iter().find(|(k, _)| same_kind(k, kind)).map(|(_, n)| *n))
                .collect::<Option<Counts>>(),
            _ => None,
        };
        let [p, c] = pair::both(&inner.map, keys);
        Some([one(p)?, one(c)?])
    }

    /// Notes that a read of `keys` is being sent; returns the epoch to hand
    /// back to [`Mirror::fill`].
    pub fn begin(&self, keys: [&BucketKey; 2]) -> u64 {
        let mut released: SmallVec<[Released; 2]> = SmallVec::new();
        let mut inner = self.lock();
        let full = inner.map.len() >= MAX_ENTRIES;
        for key in keys {
            let series = key.series();
            let pair = match inner.map.get_mut(&series) {
                Some(pair) => pair,
                None if full => continue,
                None => inner.map.entry(series).or_default(),
            };
            // A bucket not held takes the slot of the one farthest from it.
            let slot =
                pair.get_or_insert_with(key.bucket, |_| false, || Slot::Pending { spoiled: false });
            if let Slot::Known { counts, expires_ms } =
                std::mem::replace(slot, Slot::Pending { spoiled: false })
            {
                released.push((*key, counts, expires_ms));
            }
        }
        let epoch = inner.epoch;
        drop(inner);
        self.release(released);
        epoch
    }

    /// Keeps a read's answer for `key` (`counts` in the order of `kinds`)
    /// if it is still good (see the module documentation).
    pub fn fill(
        &self,
        epoch: u64,
        key: &BucketKey,
        kinds: &[Arc<str>],
        counts: &[u64],
        expires_ms: u64,
        now_ms: u64,
    ) {
        let mut inner = self.lock();
        if inner.epoch != epoch {
            return;
        }
        match inner.slot(key) {
            Some(slot @ Slot::Pending { spoiled: false }) => {
                let counts = kinds.iter().cloned().zip(counts.iter().copied()).collect();
                *slot = Slot::Known { counts, expires_ms };
            }
            Some(Slot::Pending { spoiled: true }) => drop(inner.take(key)),
            Some(Slot::Known { counts: have, .. }) => {
                apply_counts(have, kinds.iter().zip(counts.iter().copied()), raise);
            }
            // Cleared since, or never begun (the map was full).
            None => {}
        }
        if inner.map.len() >= MAX_ENTRIES {
            let live =
                |s: &Slot| !matches!(s, Slot::Known { expires_ms, .. } if *expires_ms <= now_ms);
            pair::sweep(&mut inner.map, live);
        }
    }

    /// This replica charged `counts` to `key` (queued for Redis): added in
    /// place when the copy holds the key.
    pub fn charge(&self, key: &BucketKey, counts: &[(Arc<str>, u64)]) -> Charged {
        let mut inner = self.lock();
        match inner.slot(key) {
            Some(Slot::Known { counts: have, .. }) => {
                let existed = have.iter().any(|(_, n)| *n > 0);
                // A kind no read asked for is left out (the next read that
                // needs it misses and asks), and the charge is then not
                // held: the local store records it.
                let mut held = true;
                for (kind, n) in counts {
                    match have.iter_mut().find(|(k, _)| same_kind(k, kind)) {
                        Some((_, c)) => *c += n,
                        None => held = false,
                    }
                }
                Charged { held, existed }
            }
            Some(Slot::Pending { spoiled }) => {
                *spoiled = true;
                Charged::default()
            }
            None => Charged::default(),
        }
    }

    /// Redis answered a write pipeline: for each answer, `kind` of `key` is
    /// now `total`. One lock for the whole pipeline.
    pub fn confirm_all<'a>(
        &self,
        answers: impl IntoIterator<Item = (&'a BucketKey, &'a Arc<str>, u64)>,
    ) {
        let mut inner = self.lock();
        for (key, kind, total) in answers {
            match inner.slot(key) {
                Some(Slot::Known { counts, .. }) => apply_counts(counts, [(kind, total)], raise),
                Some(Slot::Pending { spoiled }) => *spoiled = true,
                None => {}
            }
        }
    }

    /// Redis says `key` changed (another replica charged it, or it expired),
    /// or a charge the copy counted will not reach Redis.
    pub fn invalidate(&self, key: &BucketKey) {
        let mut inner = self.lock();
        let released = match inner.slot(key) {
            Some(Slot::Known { .. }) => match inner.take(key) {
                Some(Slot::Known { counts, expires_ms }) => Some((*key, counts, expires_ms)),
                _ => None,
            },
            Some(Slot::Pending { spoiled }) => {
                *spoiled = true;
                None
            }
            None => None,
        };
        drop(inner);
        self.release(released);
    }

    /// Forgets everything: the connection changed or failed, so Redis no
    /// longer tracks what was read (or Redis said to flush everything).
    /// What was known goes to the fallback.
    pub fn clear(&self) {
        let mut inner = self.lock();
        let map = std::mem::take(&mut inner.map);
        inner.epoch += 1;
        drop(inner);
        let released = map.into_iter().flat_map(|(series, pair)| {
            pair.into_buckets().filter_map(move |(bucket, slot)| match slot {
                Slot::Known { counts, expires_ms } => {
                    Some((series.bucket(bucket), counts, expires_ms))
                }
                Slot::Pending { .. } => None,
            })
        });
        self.release(released);
    }

    /// Client series held or pending (for tests).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Mirror {
    /// A store replaced on reload (another URL or prefix, or the local
    /// store) hands over what it knew, as a failure does.
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirror() -> Mirror {
        Mirror::new(Arc::default())
    }

    fn kinds() -> Vec<Arc<str>> {
        vec!["card".into(), "ssn".into()]
    }

    /// Bucket `n` of one client.
    fn key(n: u64) -> BucketKey {
        BucketKey::for_tests(9, n)
    }

    const P: u64 = 1;
    const C: u64 = 2;

    fn both() -> [BucketKey; 2] {
        [key(P), key(C)]
    }

    fn get(m: &Mirror, kinds: &[Arc<str>], now_ms: u64) -> Option<[Vec<u64>; 2]> {
        let [p, c] = both();
        m.get([&p, &c], kinds, now_ms).map(|counts| counts.map(|c| c.to_vec()))
    }

    /// Begins and fills a read of both keys with `prev` and `cur`.
    fn read(m: &Mirror, prev: [u64; 2], cur: [u64; 2]) {
        let [p, c] = both();
        let e = m.begin([&p, &c]);
        m.fill(e, &p, &kinds(), &prev, 1000, 0);
        m.fill(e, &c, &kinds(), &cur, 1000, 0);
    }

    #[test]
    fn a_read_answer_is_kept_and_own_charges_apply_in_place() {
        let m = mirror();
        assert_eq!(get(&m, &kinds(), 0), None, "nothing read yet");
        read(&m, [1, 0], [2, 3]);
        assert_eq!(get(&m, &kinds(), 0), Some([vec![1, 0], vec![2, 3]]));
        m.charge(&key(C), &[("card".into(), 2)]);
        assert_eq!(get(&m, &kinds(), 0), Some([vec![1, 0], vec![4, 3]]));
        // Redis's answer to that write (and to another replica's earlier
        // charge) only ever raises a count.
        m.confirm_all([(&key(C), &"card".into(), 3)]);
        assert_eq!(get(&m, &kinds(), 0), Some([vec![1, 0], vec![4, 3]]));
        m.confirm_all([(&key(C), &"card".into(), 6)]);
        assert_eq!(get(&m, &kinds(), 0), Some([vec![1, 0], vec![6, 3]]));
        // A kind the read did not ask for is a miss.
        let more: Vec<Arc<str>> = vec!["card".into(), "iban".into()];
        assert_eq!(get(&m, &more, 0), None);
        assert_eq!(get(&m, &kinds(), 1000), None, "expired");
    }

    /// A charge tells whether its key exists in Redis: only a held count
    /// says so (the writer then sends no expiry).
    #[test]
    fn a_charge_says_whether_the_key_is_known_to_exist() {
        let charge = |m: &Mirror| m.charge(&key(C), &[("card".into(), 1)]).existed;
        let m = mirror();
        assert!(!charge(&m), "not held");
        let [p, c] = both();
        m.begin([&p, &c]);
        assert!(!charge(&m), "read in flight");
        let m = mirror();
        read(&m, [0, 0], [0, 0]);
        assert!(!charge(&m), "held with no count: the key may not exist");
        assert!(charge(&m), "the first charge, queued ahead, creates it");
        let m = mirror();
        read(&m, [0, 0], [0, 4]);
        assert!(charge(&m), "a count of another kind");
    }

    /// A charge the copy holds is not recorded locally; what the copy lets
    /// go of while it counts reaches the local store, merged with `max`.
    #[test]
    fn counts_let_go_of_reach_the_fallback() {
        let far = super::super::window::now_ms() + 600_000;
        let local_cur =
            |local: &LocalStore| local.read([&key(P), &key(C)], &kinds(), 0)[1].to_vec();
        type Let = fn(&Mirror);
        let cases: &[(&str, Let)] = &[
            ("invalidated", |m| m.invalidate(&key(C))),
            ("cleared", |m| m.clear()),
            ("read again", |m| {
                let _epoch = m.begin([&key(P), &key(C)]);
            }),
        ];
        // A mirror handing over to `local`, holding `cur` in the current
        // bucket until `far`.
        let holding = |local: &Arc<LocalStore>, cur: [u64; 2]| {
            let m = Mirror::new(local.clone());
            let [p, c] = both();
            let e = m.begin([&p, &c]);
            m.fill(e, &p, &kinds(), &[0, 0], far, 0);
            m.fill(e, &c, &kinds(), &cur, far, 0);
            m
        };
        let c = key(C);
        for (what, let_go) in cases {
            let local = Arc::new(LocalStore::default());
            let m = holding(&local, [5, 1]);
            let charged = m.charge(&c, &[("card".into(), 2)]);
            assert_eq!(charged, Charged { held: true, existed: true }, "{what}");
            // A kind the copy does not follow is not held.
            let other = m.charge(&c, &[("card".into(), 1), ("iban".into(), 1)]);
            assert!(!other.held, "{what}");
            assert_eq!(local_cur(&local), vec![0, 0], "{what}: nothing recorded locally yet");
            // This replica's own record of an earlier charge, below the
            // fleet's count.
            assert!(local.add(&c, &[("card".into(), 3)], far, 0));
            let_go(&m);
            assert_eq!(local_cur(&local), vec![8, 1], "{what}: the copy's counts, merged");
        }
        // A mirror dropped (its store replaced on reload) hands over too.
        let local = Arc::new(LocalStore::default());
        drop(holding(&local, [4, 0]));
        assert_eq!(local_cur(&local), vec![4, 0], "dropped");
        // An expired bucket no longer counts and is not handed over.
        let local = Arc::new(LocalStore::default());
        let m = Mirror::new(local.clone());
        read(&m, [0, 0], [5, 0]);
        m.clear();
        assert!(local.is_empty());
    }

    #[test]
    fn invalidation_drops_a_key_and_spoils_a_read_in_flight() {
        type Touch = fn(&Mirror);
        let cases: &[(&str, Touch)] = &[
            ("invalidated", |m| m.invalidate(&key(C))),
            ("own charge", |m| {
                let _ = m.charge(&key(C), &[("card".into(), 1)]);
            }),
            ("write answered", |m| m.confirm_all([(&key(C), &"card".into(), 9)])),
            ("cleared", |m| m.clear()),
        ];
        for (what, touch) in cases {
            // While the read is out: its answer still serves (the caller
            // has it) but is not kept.
            let m = mirror();
            let [p, c] = both();
            let e = m.begin([&p, &c]);
            touch(&m);
            m.fill(e, &p, &kinds(), &[0, 0], 1000, 0);
            m.fill(e, &c, &kinds(), &[5, 0], 1000, 0);
            assert_eq!(get(&m, &kinds(), 0), None, "{what}: spoiled read not kept");
        }
        // Held: an invalidation drops the key, and the next read keeps it.
        let m = mirror();
        read(&m, [0, 0], [5, 0]);
        m.invalidate(&key(C));
        assert_eq!(get(&m, &kinds(), 0), None);
        read(&m, [0, 0], [7, 0]);
        assert_eq!(get(&m, &kinds(), 0), Some([vec![0, 0], vec![7, 0]]));
        m.clear();
        assert!(m.is_empty());
    }

    #[test]
    fn an_answer_from_before_a_reconnection_is_not_kept() {
        let m = mirror();
        let [p, c] = both();
        let old = m.begin([&p, &c]);
        m.clear();
        let new = m.begin([&p, &c]);
        m.fill(old, &p, &kinds(), &[0, 0], 1000, 0);
        m.fill(old, &c, &kinds(), &[1, 0], 1000, 0);
        assert_eq!(get(&m, &kinds(), 0), None);
        m.fill(new, &p, &kinds(), &[0, 0], 1000, 0);
        m.fill(new, &c, &kinds(), &[2, 0], 1000, 0);
        assert_eq!(get(&m, &kinds(), 0), Some([vec![0, 0], vec![2, 0]]));
    }

    #[test]
    fn a_full_mirror_keeps_no_new_key() {
        let m = mirror();
        let ks: Vec<Arc<str>> = vec!["card".into()];
        // Client `i`'s buckets 1 and 2.
        let pair = |i: u64| (BucketKey::for_tests(i, 1), BucketKey::for_tests(i, 2));
        for i in 0..MAX_ENTRIES as u64 {
            let (a, b) = pair(i);
            let e = m.begin([&a, &b]);
            m.fill(e, &a, &ks, &[1], 100, 0);
            m.fill(e, &b, &ks, &[1], 100, 0);
        }
        assert_eq!(m.len(), MAX_ENTRIES);
        let (x, y) = pair(u64::MAX);
        let e = m.begin([&x, &y]);
        m.fill(e, &x, &ks, &[1], 100, 0);
        assert_eq!(m.get([&x, &y], &ks, 0), None, "not kept");
        // A held client's next bucket is still kept.
        let (_, b) = pair(0);
        let next = BucketKey { bucket: 3, ..b };
        let e = m.begin([&b, &next]);
        m.fill(e, &b, &ks, &[1], 100, 0);
        m.fill(e, &next, &ks, &[2], 100, 0);
        let held = m.get([&b, &next], &ks, 0).map(|c| c.map(|c| c.to_vec()));
        assert_eq!(held, Some([vec![1], vec![2]]));
        // Once the held keys expired, a fill sweeps them.
        let (a, b) = pair(1);
        let e = m.begin([&a, &b]);
        m.fill(e, &a, &ks, &[1], 300, 200);
        assert!(m.len() < 10, "expired keys swept: {}", m.len());
    }

    /// Both of a request's buckets are one entry; a third bucket of the
    /// client takes the older one's place.
    #[test]
    fn a_client_holds_its_two_latest_buckets_in_one_entry() {
        let m = mirror();
        read(&m, [1, 0], [2, 0]);
        assert_eq!(m.len(), 1);
        let (c, next) = (key(C), key(C + 1));
        let e = m.begin([&c, &next]);
        m.fill(e, &c, &kinds(), &[2, 0], 1000, 0);
        m.fill(e, &next, &kinds(), &[5, 0], 1000, 0);
        assert_eq!(m.len(), 1);
        assert_eq!(get(&m, &kinds(), 0), None, "the first bucket made room");
        let held = m.get([&c, &next], &kinds(), 0).map(|c| c.map(|c| c.to_vec()));
        assert_eq!(held, Some([vec![2, 0], vec![5, 0]]));
        m.invalidate(&c);
        m.invalidate(&next);
        assert!(m.is_empty(), "an entry goes with its last bucket");
    }
}
