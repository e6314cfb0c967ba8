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

/// Keys hold a keyed hash of the client, which no client can choose, so a
/// fast hasher is safe from collision floods.
type Hasher = foldhash::fast::RandomState;
use std::sync::Mutex;

/// Most (client, bucket) entries held.
pub const MAX_ENTRIES: usize = 200_000;

struct Entry {
    /// Unix milliseconds after which the bucket no longer counts.
    expires_ms: u64,
    /// Count per kind name.
    counts: Vec<(Box<str>, u64)>,
}

/// Per-bucket counters, keyed like the shared store's keys.
#[derive(Default)]
pub struct LocalStore {
    map: Mutex<HashMap<String, Entry, Hasher>>,
}

impl LocalStore {
    /// The counts of `kinds` in bucket `key` (0 when absent), in order.
    pub fn read(&self, key: &str, kinds: &[(String, u64)], now_ms: u64) -> Vec<u64> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.get(key).filter(|e| e.expires_ms > now_ms);
        kinds
            .iter()
            .map(|(kind, _)| {
                entry
                    .and_then(|e| e.counts.iter().find(|(k, _)| **k == **kind))
                    .map_or(0, |(_, n)| *n)
            })
            .collect()
    }

    /// Adds `counts` to bucket `key`. False when the store is full and the
    /// charge was not recorded.
    pub fn add(&self, key: &str, counts: &[(&str, u64)], expires_ms: u64, now_ms: u64) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let add = |entry: &mut Entry| {
            entry.expires_ms = entry.expires_ms.max(expires_ms);
            for &(kind, n) in counts {
                match entry.counts.iter_mut().find(|(k, _)| **k == *kind) {
                    Some((_, have)) => *have += n,
                    None => entry.counts.push((kind.into(), n)),
                }
            }
        };
        // A client's charges after its first in a bucket: one lookup, and
        // no key copied (the key is owned only when it is inserted).
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
        let mut entry = Entry { expires_ms, counts: Vec::new() };
        add(&mut entry);
        map.insert(key.to_string(), entry);
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

    #[test]
    fn counts_add_up_per_kind_and_expire() {
        let s = LocalStore::default();
        let kinds = [("card".to_string(), 5), ("ssn".to_string(), 5)];
        assert_eq!(s.read("k", &kinds, 0), vec![0, 0]);
        assert!(s.add("k", &[("card", 2)], 1000, 0));
        assert!(s.add("k", &[("card", 1), ("ssn", 4)], 1000, 10));
        assert!(s.add("other", &[("card", 7)], 1000, 10));
        assert_eq!(s.read("k", &kinds, 20), vec![3, 4]);
        assert_eq!(s.read("k", &kinds, 1000), vec![0, 0], "expired");
    }

    #[test]
    fn full_store_sweeps_then_refuses() {
        let s = LocalStore::default();
        for i in 0..MAX_ENTRIES {
            assert!(s.add(&i.to_string(), &[("card", 1)], 100, 0));
        }
        assert!(!s.add("new", &[("card", 1)], 100, 50), "full of live entries");
        assert!(s.add("0", &[("card", 1)], 100, 50), "an existing entry still counts");
        assert!(s.add("new", &[("card", 1)], 300, 100), "expired entries swept");
        assert_eq!(s.len(), 1);
    }
}
