//! A bounded per-key rate limit for log lines about peers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one log line per key (a peer address, a peer identity) per interval, in a bounded
/// table: what keeps a misbehaving peer from flooding the log.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    last: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    const MAX_KEYS: usize = 4096;

    /// A limiter allowing one line per key per `interval`.
    pub fn new(interval: Duration) -> Self {
        RateLimiter {
            interval,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a line about `key` may be logged now.
    pub fn allow(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut last = match self.last.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(at) = last.get(key)
            && now.duration_since(*at) < self.interval
        {
            return false;
        }
        if last.len() >= Self::MAX_KEYS {
            last.retain(|_, at| now.duration_since(*at) < self.interval);
            if last.len() >= Self::MAX_KEYS {
                last.clear();
            }
        }
        last.insert(key.to_owned(), now);
        true
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
    fn rate_limiter_stays_bounded() {
        let limiter = RateLimiter::new(Duration::from_secs(3600));
        for i in 0..(RateLimiter::MAX_KEYS * 2) {
            limiter.allow(&i.to_string());
        }
        assert!(lock_len(&limiter) <= RateLimiter::MAX_KEYS);
    }

    fn lock_len(limiter: &RateLimiter) -> usize {
        limiter.last.lock().map(|m| m.len()).unwrap_or(usize::MAX)
    }
}
