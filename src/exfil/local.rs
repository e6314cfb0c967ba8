//! Counters kept in this process: the whole store with `store = "local"`,
//! and with a shared store the fallback used while it cannot answer (every
//! charge is also recorded here, so the fallback knows at least what this
//! replica served).
//!
//! Memory is bounded: entries expire with their bucket and are swept when
//! the map grows; past [`MAX_ENTRIES`] live entries, new clients are not
//! tracked (logged and counted as a store error) rather than growing
//! without bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use smallvec::SmallVec;

use super::key::{BucketKey, Hasher};

/// Most (client, bucket) entries held.
pub const MAX_ENTRIES: usize = 200_000;

/// Count per kind name (the configuration's own names, shared), held in
/// the map's entry for up to two kinds. With many clients, a request's
/// entries are no longer in cache when it comes (the bodies served since
/// evicted them), and a count behind a pointer was one more wait on memory
/// per look-up.
pub(crate) type KindCounts = SmallVec<[(Arc<str>, u64); 2]>;

struct Entry {
    /// Unix milliseconds after which the bucket no longer counts.
    expires_ms: u64,
    counts: KindCounts,
}

/// Per-bucket counters.
#[derive(Default)]
pub struct LocalStore {
    map: Mutex<HashMap<BucketKey, Entry, Hasher>>,
}

/// True when two kind names are the same: nearly always the same
/// allocation (the configuration's), so the pointer answers first.
pub(crate) fn same_kind(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

impl LocalStore {
    /// The counts of `kinds` in bucket `key` (0 when absent), in order.
    pub fn read(&self, key: &BucketKey, kinds: &[Arc<str>], now_ms: u64) -> Vec<u64> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.get(key).filter(|e| e.expires_ms > now_ms);
        kinds
            .iter()
            .map(|kind| {
                entry
                    .and_then(|e| e.counts.iter().find(|(k, _)| same_kind(k, kind)))
                    .map_or(0, |(_, n)| *n)
            })
            .collect()
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
        let add = |entry: &mut Entry| {
            entry.expires_ms = entry.expires_ms.max(expires_ms);
            for (kind, n) in counts {
                match entry.counts.iter_mut().find(|(k, _)| same_kind(k, kind)) {
                    Some((_, have)) => *have += n,
                    None => entry.counts.push((kind.clone(), *n)),
                }
            }
        };
        // A client's charges after its first in a bucket: one lookup.
        if let Some(entry) = map.get_mut(key) {
            add(entry);
            return true;
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| e.expires_ms > now_ms);
            if map.len() >= MAX_ENTRIES {
                return false;
            }
        }
        let mut entry = Entry { expires_ms, counts: KindCounts::new() };
        add(&mut entry);
        map.insert(*key, entry);
        true
    }

    /// Live entries (for tests and the sweep).
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        assert_eq!(s.read(&key(1), &kinds, 0), vec![0, 0]);
        assert!(s.add(&key(1), &charge(&[("card", 2)]), 1000, 0));
        // Names equal but not the same allocation still match.
        assert!(s.add(&key(1), &charge(&[("card", 1), ("ssn", 4)]), 1000, 10));
        assert!(s.add(&key(2), &charge(&[("card", 7)]), 1000, 10));
        assert_eq!(s.read(&key(1), &kinds, 20), vec![3, 4]);
        assert_eq!(s.read(&key(1), &kinds, 1000), vec![0, 0], "expired");
    }

    #[test]
    fn full_store_sweeps_then_refuses() {
        let s = LocalStore::default();
        let one = charge(&[("card", 1)]);
        for i in 0..MAX_ENTRIES as u64 {
            assert!(s.add(&key(i), &one, 100, 0));
        }
        let new = key(u64::MAX);
        assert!(!s.add(&new, &one, 100, 50), "full of live entries");
        assert!(s.add(&key(0), &one, 100, 50), "an existing entry still counts");
        assert!(s.add(&new, &one, 300, 100), "expired entries swept");
        assert_eq!(s.len(), 1);
    }
}
