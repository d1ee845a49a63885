//! A per-client rate limit: one token bucket per authenticated client id.
//!
//! Clients are the `[[clients]]` of the config, a short fixed list, so a map of buckets under one
//! `parking_lot` mutex stays small and the lock is held for a few arithmetic operations only; a
//! crate such as `governor` would bring a keyed store, clocks and jitter that this does not need.
//! The bucket holds at most `burst` tokens, refills at `per_second` tokens a second, and a request
//! takes one. The dialect's bearer-token extractor ([`super::auth::Caller`]) asks the limiter after
//! authentication, so an unauthenticated request never spends a client's tokens.

use crate::config::ServerConfig;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The shared limiter of one server; absent (or built from a rate of 0) it limits nothing.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// The limiter of `[server] rate_limit_per_second` / `rate_limit_burst`; `None` when off.
    pub fn from_config(server: &ServerConfig) -> Option<RateLimiter> {
        Self::new(server.rate_limit_per_second, server.rate_limit_burst)
    }

    /// `per_second` tokens a second, at most `burst` at once (0: `per_second`); `None` when
    /// `per_second` is 0.
    pub fn new(per_second: u32, burst: u32) -> Option<RateLimiter> {
        (per_second > 0).then(|| RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(if burst == 0 { per_second } else { burst }),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a token of `client` now, or answers how long until one is there.
    pub fn check(&self, client: &str) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock();
        let bucket = match buckets.get_mut(client) {
            Some(b) => b,
            None => buckets.entry(client.to_string()).or_insert(Bucket {
                tokens: self.burst,
                at: now,
            }),
        };
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }
}

/// Whole seconds for a `Retry-After` header: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_when_the_rate_is_zero() {
        assert!(RateLimiter::new(0, 10).is_none());
    }

    #[test]
    fn a_burst_then_the_steady_rate() {
        let l = RateLimiter::new(2, 3).unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at("a", t0).is_ok());
        }
        let wait = l.check_at("a", t0).unwrap_err();
        assert!(wait <= Duration::from_millis(500), "{wait:?}");
        // Another client has its own bucket.
        assert!(l.check_at("b", t0).is_ok());
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(l.check_at("a", t1).is_ok());
        assert!(l.check_at("a", t1).is_err());
        // A long pause refills no more than the burst.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(l.check_at("a", t2).is_ok());
        }
        assert!(l.check_at("a", t2).is_err());
    }

    #[test]
    fn burst_defaults_to_the_rate() {
        let l = RateLimiter::new(2, 0).unwrap();
        let t0 = Instant::now();
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_ok());
        assert!(l.check_at("a", t0).is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
