//! Charges on their way to the shared store, summed per bucket until the
//! writer takes them: a charge is one look-up in a small map that stays in
//! cache (the keys charged since the last pipeline), and the writer sends
//! one key's increments per pipeline however many responses charged it.
//!
//! Before this, each charge was a message on a queue (a block of the
//! queue allocated every 32 charges) and the writer summed a batch in a
//! map of its own; the outbox does the summing where the charge is made.
//!
//! Bounded: past [`MAX_KEYS`] keys waiting, a charge to a new key is
//! refused (the caller counts a write error and lets the mirror forget the
//! key). Synchronous; knows nothing of Redis.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::mem;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::key::{BucketKey, Hasher};
use super::local::{apply_counts, KindCounts};

/// Keys waiting at most (a pipeline's worth is nearly always far fewer:
/// the clients charged in one linger).
pub const MAX_KEYS: usize = 8192;

/// One key's charges since the writer last took them.
#[derive(Debug, Default)]
pub struct Pending {
    /// Per kind (the configuration's names, shared).
    pub counts: KindCounts,
    /// The longest expiry asked for.
    pub ttl: Duration,
    /// True when some charge found that the key may not exist in Redis
    /// yet, so its expiry must be sent with the increments.
    pub expire: bool,
}

/// The keys waiting, by bucket.
pub type Batch = HashMap<BucketKey, Pending, Hasher>;

/// What [`Outbox::add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Queued; the outbox was empty before, so the writer must be woken.
    First,
    /// Queued behind others the writer will take.
    Queued,
    /// The outbox is full: not queued.
    Full,
}

#[derive(Default)]
pub struct Outbox {
    waiting: Mutex<Batch>,
}

impl Outbox {
    /// Adds a charge of `counts` to `key`.
    pub fn add(
        &self,
        key: &BucketKey,
        counts: &[(Arc<str>, u64)],
        ttl: Duration,
        expire: bool,
    ) -> Added {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let (first, full) = (waiting.is_empty(), waiting.len() >= MAX_KEYS);
        let pending = match waiting.entry(*key) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(_) if full => return Added::Full,
            Entry::Vacant(v) => v.insert(Pending::default()),
        };
        pending.ttl = pending.ttl.max(ttl);
        pending.expire |= expire;
        apply_counts(&mut pending.counts, counts.iter().map(|(k, n)| (k, *n)), |c, n| *c += n);
        if first {
            Added::First
        } else {
            Added::Queued
        }
    }

    /// Takes every key waiting into `into` (emptied first), leaving `into`'s
    /// old map, with its capacity, in its place.
    pub fn take(&self, into: &mut Batch) {
        into.clear();
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        mem::swap(&mut *waiting, into);
    }

    /// Drops every key waiting (the store went down: these charges stay
    /// local).
    pub fn clear(&self) {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(o: &Outbox, bucket: u64, counts: &[(&str, u64)], ttl: u64, expire: bool) -> Added {
        let counts: Vec<(Arc<str>, u64)> = counts.iter().map(|&(k, n)| (k.into(), n)).collect();
        o.add(&BucketKey::for_tests(1, bucket), &counts, Duration::from_secs(ttl), expire)
    }

    #[test]
    fn charges_are_summed_per_key_and_kind() {
        let o = Outbox::default();
        assert_eq!(add(&o, 1, &[("card", 1)], 10, false), Added::First);
        assert_eq!(add(&o, 2, &[("ssn", 2)], 10, false), Added::Queued);
        assert_eq!(add(&o, 1, &[("card", 2), ("ssn", 1)], 20, true), Added::Queued);
        assert_eq!(add(&o, 1, &[("card", 1)], 5, false), Added::Queued);
        let mut batch = Batch::default();
        o.take(&mut batch);
        let mut shown: Vec<_> = batch
            .iter()
            .map(|(key, p)| {
                let counts: Vec<_> = p.counts.iter().map(|(k, n)| (k.to_string(), *n)).collect();
                (key.bucket, counts, p.ttl.as_secs(), p.expire)
            })
            .collect();
        shown.sort();
        let s = |k: &str| k.to_string();
        let want = vec![
            (1, vec![(s("card"), 4), (s("ssn"), 1)], 20, true),
            (2, vec![(s("ssn"), 2)], 10, false),
        ];
        assert_eq!(shown, want);
        // Taken: the next charge wakes the writer again.
        assert_eq!(add(&o, 1, &[("card", 1)], 5, false), Added::First);
        o.clear();
        o.take(&mut batch);
        assert!(batch.is_empty());
    }

    #[test]
    fn a_full_outbox_refuses_new_keys_only() {
        let o = Outbox::default();
        for b in 0..MAX_KEYS as u64 {
            assert_ne!(add(&o, b, &[("card", 1)], 10, false), Added::Full);
        }
        assert_eq!(add(&o, MAX_KEYS as u64, &[("card", 1)], 10, false), Added::Full);
        assert_eq!(add(&o, 0, &[("card", 1)], 10, false), Added::Queued, "a waiting key");
    }
}
