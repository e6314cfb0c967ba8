//! The budget window: two fixed buckets of the window's length, aligned on
//! the Unix epoch so that every replica agrees on them, with the previous
//! bucket weighted by the share of it still inside the sliding window (the
//! "sliding window counter" approximation).
//!
//! Why this and not an exact sliding log: a log keeps one entry per charge
//! (unbounded per client), while two counters per client and kind cost two
//! small Redis hash fields and one round trip to read. Why not one fixed
//! window: a client could take its whole budget at the end of one window
//! and again at the start of the next; the weighted previous bucket
//! smooths that edge. The estimate assumes charges were spread evenly over
//! the previous bucket; it is rounded up, so a client at exactly its budget
//! stays blocked until the estimate really drops below it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where `now` falls: the current bucket's number and the weight of the
/// previous one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub bucket: u64,
    /// Share of the previous bucket still inside the window, in (0, 1].
    pub prev_weight: f64,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

/// The position of `now_ms` in windows of `window`.
pub fn position(now_ms: u64, window: Duration) -> Position {
    let w = window.as_millis().max(1) as u64;
    let into = now_ms % w;
    Position { bucket: now_ms / w, prev_weight: 1.0 - into as f64 / w as f64 }
}

/// The estimated count over the sliding window, rounded up.
pub fn estimate(prev: u64, current: u64, prev_weight: f64) -> u64 {
    (prev as f64 * prev_weight).ceil() as u64 + current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_align_on_the_epoch() {
        let w = Duration::from_secs(10);
        let cases =
            [(0, 0, 1.0), (2_500, 0, 0.75), (9_999, 0, 0.0001), (10_000, 1, 1.0), (25_000, 2, 0.5)];
        for (now, bucket, weight) in cases {
            let p = position(now, w);
            assert_eq!(p.bucket, bucket, "{now}");
            assert!((p.prev_weight - weight).abs() < 1e-9, "{now}: {p:?}");
        }
    }

    #[test]
    fn estimate_weights_the_previous_bucket_and_rounds_up() {
        let cases = [
            // (prev, current, weight, estimate)
            (0, 3, 0.5, 3),
            (10, 0, 1.0, 10),
            (10, 0, 0.999, 10),
            (10, 2, 0.5, 7),
            (10, 0, 0.05, 1),
            (0, 0, 0.3, 0),
        ];
        for (prev, cur, w, want) in cases {
            assert_eq!(estimate(prev, cur, w), want, "{prev} {cur} {w}");
        }
    }
}
