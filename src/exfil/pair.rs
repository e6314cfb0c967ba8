//! A series' two most recent buckets, held side by side in one map entry
//! (the local store's and the mirror's), so that the request-start read of
//! the previous and the current bucket is one look-up: with many clients a
//! client's entry is no longer in cache when its next request comes, and
//! each look-up was a wait on memory.
//!
//! Two slots are enough: a read wants the current bucket and the one
//! before it, and buckets only move forward. Which slot a new bucket takes
//! is decided here once for both users: a free one, else one the caller
//! calls stale (expired), else the one farthest from the new bucket (the
//! oldest when time moves forward; the one "in the future" after the clock
//! was stepped back, so the buckets read next are the ones kept).

use std::collections::HashMap;

use super::key::{BucketKey, Hasher, Series};

/// A store's map: one entry per client series.
pub(crate) type PairMap<T> = HashMap<Series, BucketPair<T>, Hasher>;

/// The values of a request's two buckets (its previous and its current,
/// one series: one look-up), each if held.
pub(crate) fn both<'m, T>(map: &'m PairMap<T>, keys: [&BucketKey; 2]) -> [Option<&'m T>; 2] {
    let series = keys[0].series();
    let pair = map.get(&series);
    keys.map(|key| {
        let pair = if key.series() == series { pair } else { map.get(&key.series()) };
        pair?.get(key.bucket)
    })
}

/// Drops the buckets `keep` says no to, and the series left with none.
pub(crate) fn sweep<T>(map: &mut PairMap<T>, keep: impl Fn(&T) -> bool) {
    map.retain(|_, pair| {
        pair.retain(&keep);
        !pair.is_empty()
    });
}

/// Up to two buckets' values of type `T`, by bucket number.
pub(crate) struct BucketPair<T> {
    slots: [Option<(u64, T)>; 2],
}

impl<T> Default for BucketPair<T> {
    fn default() -> Self {
        BucketPair { slots: [None, None] }
    }
}

impl<T> BucketPair<T> {
    pub fn get(&self, bucket: u64) -> Option<&T> {
        self.slots.iter().flatten().find(|(b, _)| *b == bucket).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, bucket: u64) -> Option<&mut T> {
        self.slots.iter_mut().flatten().find(|(b, _)| *b == bucket).map(|(_, v)| v)
    }

    /// The value of `bucket`, made with `make` in the slot chosen as the
    /// module documentation says when the pair does not hold it.
    pub fn get_or_insert_with(
        &mut self,
        bucket: u64,
        stale: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
    ) -> &mut T {
        let i = match self.slots.iter().position(|s| matches!(s, Some((b, _)) if *b == bucket)) {
            Some(i) => i,
            None => {
                let i = self.victim(bucket, stale);
                self.slots[i] = Some((bucket, make()));
                i
            }
        };
        match &mut self.slots[i] {
            Some((_, v)) => v,
            None => unreachable!("slot {i} was just found or filled"),
        }
    }

    /// The slot a new `bucket` takes.
    fn victim(&self, bucket: u64, stale: impl Fn(&T) -> bool) -> usize {
        let rank = |slot: &Option<(u64, T)>| match slot {
            None => (2, 0),
            Some((_, v)) if stale(v) => (1, 0),
            Some((b, _)) => (0, b.abs_diff(bucket)),
        };
        // The higher rank; on a tie the first slot.
        if rank(&self.slots[1]) > rank(&self.slots[0]) {
            1
        } else {
            0
        }
    }

    /// Takes `bucket` out of the pair.
    pub fn remove(&mut self, bucket: u64) -> Option<T> {
        let slot = self.slots.iter_mut().find(|s| matches!(s, Some((b, _)) if *b == bucket))?;
        slot.take().map(|(_, v)| v)
    }

    /// Drops the buckets `keep` says no to.
    pub fn retain(&mut self, keep: impl Fn(&T) -> bool) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|(_, v)| !keep(v)) {
                *slot = None;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// The buckets held, with their values.
    pub fn into_buckets(self) -> impl Iterator<Item = (u64, T)> {
        self.slots.into_iter().flatten()
    }

    /// The buckets held (for tests).
    #[cfg(test)]
    pub fn buckets(&self) -> Vec<u64> {
        let mut held: Vec<u64> = self.slots.iter().flatten().map(|(b, _)| *b).collect();
        held.sort_unstable();
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values are "stale" when negative.
    fn pair(held: &[(u64, i32)]) -> BucketPair<i32> {
        let mut p = BucketPair::default();
        for &(b, v) in held {
            *p.get_or_insert_with(b, |_| false, || 0) = v;
        }
        p
    }

    #[test]
    fn a_new_bucket_takes_a_free_then_a_stale_then_the_farthest_slot() {
        /// Held (bucket, value), the new bucket, the buckets held after.
        type Case = (&'static [(u64, i32)], u64, &'static [u64]);
        let cases: &[Case] = &[
            (&[], 5, &[5]),
            (&[(5, 1)], 6, &[5, 6]),
            (&[(5, 1), (6, 1)], 7, &[6, 7]),
            (&[(5, 1), (6, 1)], 6, &[5, 6]),
            // Stale goes before the farther live one.
            (&[(5, 1), (6, -1)], 7, &[5, 7]),
            // The clock stepped back: the bucket "in the future" goes.
            (&[(9, 1), (10, 1)], 3, &[3, 9]),
            (&[(3, 1), (10, 1)], 4, &[3, 4]),
        ];
        for &(held, new, want) in cases {
            let mut p = pair(held);
            *p.get_or_insert_with(new, |v| *v < 0, || 7) += 1;
            assert_eq!(p.buckets(), want, "{held:?} + {new}");
            let had = held.iter().find(|(b, _)| *b == new).map_or(7, |(_, v)| *v);
            assert_eq!(p.get(new), Some(&(had + 1)), "{held:?} + {new}");
        }
    }

    #[test]
    fn remove_and_retain_free_slots() {
        let mut p = pair(&[(1, 1), (2, -1)]);
        p.retain(|v| *v >= 0);
        assert_eq!(p.buckets(), [1]);
        assert_eq!(p.get(2), None);
        assert_eq!(p.remove(1), Some(1));
        assert_eq!(p.remove(1), None);
        assert!(p.is_empty());
        assert!(p.get_mut(3).is_none());
        assert!(p.is_empty(), "get_mut makes nothing");
    }
}
