//! Which responses the inventory's structural observer reads.
//!
//! Field paths, forms and third-party origins are properties of an
//! endpoint: they do not change from one response to the next, and reading
//! them (the JSON span log, lol_html on pages) costs several times the
//! scan itself. So per endpoint and body kind the observer reads the first
//! response and then at most one per `observe_interval`; every response is
//! still counted exactly (counts come from the engine's findings).
//!
//! The decision is taken once per response, before its first byte, and
//! must stay cheap: a 64-bit key hashed from the request without
//! allocating, looked up in one of [`SHARDS`] small maps, each behind its
//! own lock held for that lookup only (no lock shared by every request).
//! Memory is bounded: a shard that holds [`PER_SHARD`] endpoints is
//! cleared, so its endpoints are observed once more. It never stores a
//! path: only hashes, with a per-process random seed. The hash is
//! foldhash, not SipHash: two endpoints whose keys collide only share
//! their samples (their counts stay exact), so the key needs speed, not
//! SipHash's resistance (which cost ~500 instructions per response).

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::PrehashedMap;
use crate::detect::ContentHint;

/// Independent maps (and locks) the endpoints are spread over.
pub const SHARDS: usize = 16;
/// Endpoints remembered per shard (4096 in all, a few hundred KB at most).
pub const PER_SHARD: usize = 256;

/// The sampling state of one inventory.
pub struct Sampler {
    interval: Duration,
    shards: Box<[Mutex<PrehashedMap<u64, Instant>>]>,
    keys: foldhash::fast::RandomState,
}

impl Sampler {
    /// Observes one response per endpoint and `interval`; zero observes
    /// every response.
    pub fn new(interval: Duration) -> Sampler {
        Sampler {
            interval,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            keys: foldhash::fast::RandomState::default(),
        }
    }

    /// The sampling key of a response: route, method, body kind and the
    /// path with its variable-looking segments folded. The fold is cheaper
    /// and coarser than the stored template (which runs the engine over
    /// each segment): it only has to put responses of one endpoint under
    /// one key, and endpoints that share a key share their samples.
    pub fn key(&self, route: &str, method: &str, path: &str, hint: ContentHint) -> u64 {
        let mut h = self.keys.build_hasher();
        route.hash(&mut h);
        method.hash(&mut h);
        (hint as u8).hash(&mut h);
        for seg in super::template::segments(path) {
            if folds(seg) {
                h.write_u8(0);
            } else {
                seg.hash(&mut h);
            }
        }
        h.finish()
    }

    /// Whether the response with this key, starting at `now`, is observed.
    pub fn sample(&self, key: u64, now: Instant) -> bool {
        if self.interval.is_zero() {
            return true;
        }
        let shard = &self.shards[(key % SHARDS as u64) as usize];
        let mut map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get_mut(&key) {
            Some(last) if now.saturating_duration_since(*last) < self.interval => false,
            Some(last) => {
                *last = now;
                true
            }
            None => {
                if map.len() >= PER_SHARD {
                    map.clear();
                }
                map.insert(key, now);
                true
            }
        }
    }
}

/// Whether a path segment looks like a variable (an id, a number, a hash,
/// a token, an address) rather than a name (`v2`, `customers`).
fn folds(seg: &str) -> bool {
    let b = seg.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    (digits > 0 && (digits == b.len() || b.len() >= 8))
        || b.len() > 32
        || b.iter().any(|&c| c == b'@' || c == b'%')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_response_per_endpoint_and_interval() {
        let s = Sampler::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let k = s.key("api", "GET", "/c/42", ContentHint::Json);
        assert!(s.sample(k, t0));
        assert!(!s.sample(k, t0 + Duration::from_secs(59)));
        assert!(s.sample(k, t0 + Duration::from_secs(60)));
        assert!(!s.sample(k, t0 + Duration::from_secs(61)));
        // Another endpoint has its own sample.
        let other = s.key("api", "GET", "/d/42", ContentHint::Json);
        assert!(s.sample(other, t0 + Duration::from_secs(61)));
        // Zero: every response.
        let all = Sampler::new(Duration::ZERO);
        assert!((0..3).all(|_| all.sample(k, t0)));
    }

    #[test]
    fn keys_fold_variable_segments_only() {
        let s = Sampler::new(Duration::from_secs(60));
        let k = |route: &str, method: &str, path: &str, hint| s.key(route, method, path, hint);
        let j = ContentHint::Json;
        let base = k("api", "GET", "/c/42", j);
        let same = [
            "/c/7",
            "/c/123e4567-e89b-12d3-a456-426614174000",
            "/c/deadbeef01",
            "/c/someone@example.com",
            "/c/a%2Fb",
        ];
        for p in same {
            assert_eq!(k("api", "GET", p, j), base, "{p}");
        }
        for (route, method, path, hint) in [
            ("web", "GET", "/c/42", j),
            ("api", "POST", "/c/42", j),
            ("api", "GET", "/c/42", ContentHint::Html),
            ("api", "GET", "/d/42", j),
            ("api", "GET", "/c/v2", j),
            ("api", "GET", "/c/42/orders", j),
        ] {
            assert_ne!(k(route, method, path, hint), base, "{route} {method} {path}");
        }
    }

    #[test]
    fn memory_stays_bounded() {
        let s = Sampler::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..(SHARDS * PER_SHARD * 3) as u64 {
            assert!(s.sample(i, t0));
        }
        for shard in s.shards.iter() {
            assert!(shard.lock().unwrap().len() <= PER_SHARD);
        }
    }
}
