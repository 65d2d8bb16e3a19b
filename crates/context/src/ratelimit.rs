//! A bounded per-key rate limit for log lines about peers.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one log line per key (a peer address, a peer identity) per interval, in a bounded
/// table: what keeps a misbehaving peer from flooding the log.
///
/// [`check`](Self::check) also counts the lines it suppressed for a key, so the next line that
/// is logged can say how many were left out. Share one limiter per process for one kind of
/// line (an `Arc`), not one per connection: a peer that reconnects is still the same peer.
pub struct RateLimiter {
    interval: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

/// One key's last logged line and what was suppressed since.
#[derive(Debug, Clone, Copy)]
struct Entry {
    logged_at: Instant,
    suppressed: u64,
}

impl RateLimiter {
    const MAX_KEYS: usize = 4096;

    /// A limiter allowing one line per key per `interval`.
    pub fn new(interval: Duration) -> Self {
        RateLimiter {
            interval,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a line about `key` may be logged now: [`check`](Self::check) without the count.
    pub fn allow(&self, key: &str) -> bool {
        self.check(key).is_some()
    }

    /// Whether a line about `key` may be logged now: `Some(n)` with the number of lines about
    /// `key` suppressed since the last one allowed (say so in the line when `n > 0`), or `None`
    /// (suppressed, and counted).
    ///
    /// When the table is full, keys whose interval has passed are dropped, and with them any
    /// count of suppressed lines not yet reported.
    pub fn check(&self, key: &str) -> Option<u64> {
        self.check_at(key, Instant::now())
    }

    /// [`check`](Self::check) at a time passed in, for callers (and tests) that hold their own
    /// clock. A time earlier than the key's last logged line counts as within the interval.
    pub fn check_at(&self, key: &str, now: Instant) -> Option<u64> {
        let mut entries = match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(entry) = entries.get_mut(key) {
            if now.saturating_duration_since(entry.logged_at) < self.interval {
                entry.suppressed = entry.suppressed.saturating_add(1);
                return None;
            }
            let suppressed = entry.suppressed;
            *entry = Entry {
                logged_at: now,
                suppressed: 0,
            };
            return Some(suppressed);
        }
        if entries.len() >= Self::MAX_KEYS {
            entries.retain(|_, e| now.saturating_duration_since(e.logged_at) < self.interval);
            if entries.len() >= Self::MAX_KEYS {
                entries.clear();
            }
        }
        entries.insert(
            key.to_owned(),
            Entry {
                logged_at: now,
                suppressed: 0,
            },
        );
        Some(0)
    }
}

// The keys are peer addresses and identities: a `Debug` of whatever holds a limiter should not
// print thousands of them.
impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.entries.lock().map(|e| e.len()).unwrap_or_default();
        f.debug_struct("RateLimiter")
            .field("interval", &self.interval)
            .field("keys", &keys)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_allows_one_line_per_key_per_interval() {
        let limiter = RateLimiter::new(Duration::from_secs(3600));
        assert!(limiter.allow("a"));
        assert!(!limiter.allow("a"));
        assert!(limiter.allow("b"));
        let quick = RateLimiter::new(Duration::ZERO);
        assert!(quick.allow("a"));
        assert!(quick.allow("a"));
    }

    #[test]
    fn check_counts_the_lines_it_suppressed_per_key() {
        let hour = Duration::from_secs(3600);
        let limiter = RateLimiter::new(hour);
        let t0 = Instant::now();
        assert_eq!(limiter.check_at("a", t0), Some(0));
        for _ in 0..37 {
            assert_eq!(limiter.check_at("a", t0 + hour / 2), None);
        }
        assert_eq!(limiter.check_at("b", t0 + hour / 2), Some(0));
        assert_eq!(limiter.check_at("b", t0 + hour / 2), None);
        // A time before the last line is within the interval, not a panic.
        assert_eq!(limiter.check_at("a", t0), None);
        // After the interval: allowed, with what was left out; the count starts over.
        assert_eq!(limiter.check_at("a", t0 + hour), Some(38));
        assert_eq!(limiter.check_at("a", t0 + hour), None);
        assert_eq!(limiter.check_at("a", t0 + hour * 2), Some(1));
        assert_eq!(limiter.check_at("b", t0 + hour * 2), Some(1));
        // allow() is check() without the count, on the same table (the clock is before t0 + 2h).
        assert!(!limiter.allow("a"));
        let quick = RateLimiter::new(Duration::ZERO);
        assert_eq!(quick.check("a"), Some(0));
        assert_eq!(quick.check("a"), Some(0));
    }

    #[test]
    fn rate_limiter_stays_bounded() {
        let limiter = RateLimiter::new(Duration::from_secs(3600));
        for i in 0..(RateLimiter::MAX_KEYS * 2) {
            limiter.allow(&i.to_string());
        }
        assert!(lock_len(&limiter) <= RateLimiter::MAX_KEYS);
    }

    #[test]
    fn debug_shows_the_size_not_the_keys() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        limiter.allow("CN=peer.example");
        let shown = format!("{limiter:?}");
        assert!(!shown.contains("peer.example"), "{shown}");
        assert!(shown.contains("keys: 1"), "{shown}");
    }

    fn lock_len(limiter: &RateLimiter) -> usize {
        limiter
            .entries
            .lock()
            .map(|m| m.len())
            .unwrap_or(usize::MAX)
    }
}
