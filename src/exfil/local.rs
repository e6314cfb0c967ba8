//! Counters kept in this process: the whole store with `store = "local"`,
//! and with a shared store the fallback used while it cannot answer. With
//! a shared store, a charge is recorded here unless the mirror holds its
//! bucket, and whatever the mirror lets go of (an invalidation, a failure)
//! is merged in with `max` ([`LocalStore::merge_max`]): so the fallback
//! knows what this replica served and the fleet's counts as last read.
//!
//! One map entry per client series (scope, window, client) holds its two
//! most recent buckets ([`BucketPair`](pair::BucketPair)): a request's read of the previous
//! and the current bucket is one look-up, and its charge a second one.
//!
//! Memory is bounded: buckets expire and are swept when the map grows;
//! past [`MAX_ENTRIES`] live entries, new clients are not tracked (logged
//! and counted as a store error) rather than growing without bound.

use std::sync::{Arc, Mutex};

use smallvec::SmallVec;

use super::key::BucketKey;
use super::pair::{self, PairMap};

/// Most client series held, two buckets each.
pub const MAX_ENTRIES: usize = 100_000;

/// Count per kind name (the configuration's own names, shared), held in
/// the map's entry for up to two kinds. With many clients, a request's
/// entries are no longer in cache when it comes (the bodies served since
/// evicted them), and a count behind a pointer was one more wait on memory
/// per look-up.
pub(crate) type KindCounts = SmallVec<[(Arc<str>, u64); 2]>;

/// One bucket's counts per budgeted kind, in the order asked for: inline
/// for up to four kinds, so a read allocates nothing.
pub type Counts = SmallVec<[u64; 4]>;

/// The counts of `kinds` in `counts` (0 for a kind it lacks), in order.
fn counts_of(counts: Option<&KindCounts>, kinds: &[Arc<str>]) -> Counts {
    kinds
        .iter()
        .map(|kind| {
            counts.and_then(|c| c.iter().find(|(k, _)| same_kind(k, kind))).map_or(0, |(_, n)| *n)
        })
        .collect()
}

struct Bucket {
    /// Unix milliseconds after which the bucket no longer counts.
    expires_ms: u64,
    counts: KindCounts,
}

/// Per-client counters.
#[derive(Default)]
pub struct LocalStore {
    map: Mutex<PairMap<Bucket>>,
}

/// True when two kind names are the same: nearly always the same
/// allocation (the configuration's), so the pointer answers first.
pub(crate) fn same_kind(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

impl LocalStore {
    /// The counts of `kinds` in buckets `keys` (0 when absent), each in
    /// the order of `kinds`. The two keys are a request's previous and
    /// current bucket, one series: one look-up.
    pub fn read(&self, keys: [&BucketKey; 2], kinds: &[Arc<str>], now_ms: u64) -> [Counts; 2] {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        pair::both(&map, keys).map(|bucket| {
            let live = bucket.filter(|b| b.expires_ms > now_ms);
            counts_of(live.map(|b| &b.counts), kinds)
        })
    }

    /// Adds `counts` to bucket `key`. False when the store is full and the
    /// charge was not recorded.
    pub fn add(
        &self,
        key: &BucketKey,
        counts: &[(Arc<str>, u64)],
        expires_ms: u64,
        now_ms: u64,
    ) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        update(&mut map, key, counts, expires_ms, now_ms, |have, n| *have += n)
    }

    /// Raises each bucket's counts to at least the reading given for it
    /// (`(key, counts, expires_ms)`, true readings of the same buckets:
    /// counts in a bucket only grow, so the larger of two is the newer),
    /// under one lock. A full store keeps no new client's reading.
    pub fn merge_max<'a>(
        &self,
        readings: impl IntoIterator<Item = (&'a BucketKey, &'a [(Arc<str>, u64)], u64)>,
        now_ms: u64,
    ) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        for (key, counts, expires_ms) in readings {
            update(&mut map, key, counts, expires_ms, now_ms, raise);
        }
    }

    /// Client series held (for tests and the sweep).
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Applies `counts` to bucket `key` of `map` with `apply(held, n)` (a kind
/// not held starts at 0), making the bucket when needed. False when the
/// map is full and nothing was applied.
fn update(
    map: &mut PairMap<Bucket>,
    key: &BucketKey,
    counts: &[(Arc<str>, u64)],
    expires_ms: u64,
    now_ms: u64,
    apply: impl Fn(&mut u64, u64),
) -> bool {
    let series = key.series();
    // A known client (nearly every charge) is one look-up.
    let pair = match map.get_mut(&series) {
        Some(pair) => pair,
        None => {
            if map.len() >= MAX_ENTRIES {
                pair::sweep(map, |b: &Bucket| b.expires_ms > now_ms);
                if map.len() >= MAX_ENTRIES {
                    return false;
                }
            }
            map.entry(series).or_default()
        }
    };
    let stale = |b: &Bucket| b.expires_ms <= now_ms;
    let fresh = || Bucket { expires_ms, counts: KindCounts::new() };
    let bucket = pair.get_or_insert_with(key.bucket, stale, fresh);
    bucket.expires_ms = bucket.expires_ms.max(expires_ms);
    apply_counts(&mut bucket.counts, counts.iter().map(|(k, n)| (k, *n)), apply);
    true
}

/// Keeps the larger of two true readings of a count (counts in a bucket
/// only grow, so the larger is the newer).
pub(crate) fn raise(count: &mut u64, n: u64) {
    *count = (*count).max(n);
}

/// Applies each `(kind, n)` to that kind's count in `have` with
/// `apply(count, n)`; a kind not held is added, starting from 0. The one
/// rule by which the local store, the mirror and the outbox fold counts in.
pub(crate) fn apply_counts<'a>(
    have: &mut KindCounts,
    counts: impl IntoIterator<Item = (&'a Arc<str>, u64)>,
    apply: impl Fn(&mut u64, u64),
) {
    for (kind, n) in counts {
        match have.iter_mut().find(|(k, _)| same_kind(k, kind)) {
            Some((_, count)) => apply(count, n),
            None => {
                let mut count = 0;
                apply(&mut count, n);
                have.push((kind.clone(), count));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bucket `n` of one client.
    fn key(n: u64) -> BucketKey {
        BucketKey::for_tests(7, n)
    }

    fn charge(pairs: &[(&str, u64)]) -> Vec<(Arc<str>, u64)> {
        pairs.iter().map(|&(k, n)| (Arc::from(k), n)).collect()
    }

    #[test]
    fn counts_add_up_per_kind_and_expire() {
        let s = LocalStore::default();
        let kinds: [Arc<str>; 2] = ["card".into(), "ssn".into()];
        let read =
            |n: u64, now: u64| s.read([&key(n - 1), &key(n)], &kinds, now).map(|c| c.to_vec());
        assert_eq!(read(1, 0), [vec![0, 0], vec![0, 0]]);
        assert!(s.add(&key(1), &charge(&[("card", 2)]), 1000, 0));
        // Names equal but not the same allocation still match.
        assert!(s.add(&key(1), &charge(&[("card", 1), ("ssn", 4)]), 1000, 10));
        assert!(s.add(&key(2), &charge(&[("card", 7)]), 1000, 10));
        assert_eq!(read(1, 20), [vec![0, 0], vec![3, 4]]);
        assert_eq!(read(2, 20), [vec![3, 4], vec![7, 0]], "both buckets in one entry");
        assert_eq!(s.len(), 1);
        // A third bucket takes the oldest one's slot.
        assert!(s.add(&key(3), &charge(&[("ssn", 1)]), 2000, 20));
        assert_eq!(read(3, 20), [vec![7, 0], vec![0, 1]]);
        let first_and_third = s.read([&key(1), &key(3)], &kinds, 20).map(|c| c.to_vec());
        assert_eq!(first_and_third, [vec![0, 0], vec![0, 1]], "the first is gone");
        assert_eq!(read(3, 1000), [vec![0, 0], vec![0, 1]], "the second expired");
    }

    #[test]
    fn full_store_sweeps_then_refuses() {
        let s = LocalStore::default();
        let one = charge(&[("card", 1)]);
        // Client `i`'s bucket 1.
        let client = |i: u64| BucketKey::for_tests(i, 1);
        for i in 0..MAX_ENTRIES as u64 {
            assert!(s.add(&client(i), &one, 100, 0));
        }
        let new = client(u64::MAX);
        assert!(!s.add(&new, &one, 100, 50), "full of live entries");
        assert!(s.add(&client(0), &one, 100, 50), "an existing client still counts");
        let next = BucketKey { bucket: 2, ..client(1) };
        assert!(s.add(&next, &one, 100, 50), "and so does its next bucket");
        assert!(s.add(&new, &one, 300, 100), "expired entries swept");
        assert_eq!(s.len(), 1);
    }

    /// A merged reading raises a count and never lowers one.
    #[test]
    fn a_merged_reading_only_raises_counts() {
        let s = LocalStore::default();
        let kinds: [Arc<str>; 2] = ["card".into(), "ssn".into()];
        let read = || s.read([&key(0), &key(1)], &kinds, 0)[1].to_vec();
        assert!(s.add(&key(1), &charge(&[("card", 5)]), 1000, 0));
        let (low, high) = (charge(&[("card", 3), ("ssn", 2)]), charge(&[("card", 9)]));
        s.merge_max([(&key(1), &low[..], 1000)], 0);
        assert_eq!(read(), vec![5, 2]);
        s.merge_max([(&key(1), &high[..], 1000)], 0);
        assert_eq!(read(), vec![9, 2]);
        assert!(s.add(&key(1), &charge(&[("card", 1)]), 1000, 0));
        assert_eq!(read(), vec![10, 2], "charges add on top of a merged reading");
    }
}
