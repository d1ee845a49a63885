//! Token buckets: the per-client rate limit of the bearer-token endpoints ([`RateLimiter`]), and
//! the pieces [`super::auth_guard`] reuses for `/authentication` ([`Bucket`], [`Rate`],
//! [`BoundedMap`]).
//!
//! Clients are the `[[clients]]` of the config, a short fixed list, so a map of buckets under one
//! `parking_lot` mutex stays small and the lock is held for a few arithmetic operations only; a
//! crate such as `governor` would bring a keyed store, clocks and jitter that this does not need.
//! The bucket holds at most `burst` tokens, refills at `per_second` tokens a second, and a request
//! takes one. The dialect's bearer-token extractor ([`super::auth::Caller`]) asks the limiter after
//! authentication, so an unauthenticated request never spends a client's tokens.
//!
//! Keys a caller chooses (a client id before it is checked, a source address) could grow a map
//! without end, so [`BoundedMap`] holds at most a fixed number of entries: when full it first drops
//! the entries that carry no state (a full bucket, no failures), then the least recently touched.

use crate::config::ServerConfig;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// A steady rate and a burst: `per_second` tokens a second, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    /// `per_second` tokens a second, at most `burst` at once (0: `per_second`); `None` when
    /// `per_second` is 0.
    pub fn new(per_second: u32, burst: u32) -> Option<Rate> {
        (per_second > 0).then(|| Rate {
            per_second: f64::from(per_second),
            burst: f64::from(if burst == 0 { per_second } else { burst }),
        })
    }
}

/// One token bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: rate.burst,
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.at = now;
    }

    /// Takes a token now, or answers how long until one is there.
    pub fn take(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / rate.per_second,
            ))
        }
    }

    /// Whether the bucket would be full by `now` (it then says nothing a new bucket would not).
    pub fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens + elapsed * rate.per_second >= rate.burst
    }
}

/// A map of at most `cap` entries, each stamped with when it was last touched.
pub struct BoundedMap<K, V> {
    cap: usize,
    entries: HashMap<K, (V, Instant)>,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    pub fn new(cap: usize) -> Self {
        BoundedMap {
            cap: cap.max(2),
            entries: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.entries.get_mut(key).map(|(v, _)| v)
    }

    /// The entry of `key`, made by `new` if absent, stamped `now`. When the map is full it first
    /// drops every entry `idle` says carries no state; if that frees less than a quarter, it
    /// drops the least recently touched until half is free (so the sort is paid once per
    /// `cap / 2` new keys).
    pub fn entry(
        &mut self,
        key: &K,
        now: Instant,
        new: impl FnOnce() -> V,
        idle: impl Fn(&V) -> bool,
    ) -> &mut V {
        if !self.entries.contains_key(key) && self.entries.len() >= self.cap {
            self.entries.retain(|_, (v, _)| !idle(v));
            if self.entries.len() > self.cap - self.cap / 4 {
                let mut by_age: Vec<(Instant, K)> = self
                    .entries
                    .iter()
                    .map(|(k, (_, at))| (*at, k.clone()))
                    .collect();
                by_age.sort_unstable_by_key(|(at, _)| *at);
                let excess = self.entries.len() - self.cap / 2;
                for (_, k) in by_age.into_iter().take(excess) {
                    self.entries.remove(&k);
                }
            }
        }
        let slot = self
            .entries
            .entry(key.clone())
            .or_insert_with(|| (new(), now));
        slot.1 = now;
        &mut slot.0
    }
}

/// The shared limiter of one server; absent (or built from a rate of 0) it limits nothing.
pub struct RateLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// The limiter of `[server] rate_limit_per_second` / `rate_limit_burst`; `None` when off.
    pub fn from_config(server: &ServerConfig) -> Option<RateLimiter> {
        Self::new(server.rate_limit_per_second, server.rate_limit_burst)
    }

    /// `per_second` tokens a second, at most `burst` at once (0: `per_second`); `None` when
    /// `per_second` is 0.
    pub fn new(per_second: u32, burst: u32) -> Option<RateLimiter> {
        Rate::new(per_second, burst).map(|rate| RateLimiter {
            rate,
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
            None => buckets
                .entry(client.to_string())
                .or_insert(Bucket::full(self.rate, now)),
        };
        bucket.take(self.rate, now)
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
    fn a_bounded_map_drops_idle_entries_first_then_the_oldest() {
        let mut m: BoundedMap<u32, bool> = BoundedMap::new(8);
        let t0 = Instant::now();
        // Entries 0..8, the even ones idle (`false`).
        for k in 0..8u32 {
            *m.entry(
                &k,
                t0 + Duration::from_secs(u64::from(k)),
                || k % 2 == 1,
                |v| !v,
            ) = k % 2 == 1;
        }
        assert_eq!(m.len(), 8);
        // A new key in a full map: the four idle entries go, the busy ones stay.
        m.entry(&100, t0 + Duration::from_secs(20), || true, |v| !v);
        assert_eq!(m.len(), 5);
        for k in [1u32, 3, 5, 7, 100] {
            assert!(m.get_mut(&k).is_some(), "{k}");
        }
        // Fill with busy entries: once full, the least recently touched go until half is free.
        for k in 200..203u32 {
            m.entry(
                &k,
                t0 + Duration::from_secs(30 + u64::from(k)),
                || true,
                |v| !v,
            );
        }
        assert_eq!(m.len(), 8);
        m.entry(&1, t0 + Duration::from_secs(300), || true, |v| !v); // touched: now the newest
        m.entry(&999, t0 + Duration::from_secs(400), || true, |v| !v);
        assert!(m.len() <= 8 / 2 + 1, "{}", m.len());
        assert!(m.get_mut(&1).is_some() && m.get_mut(&999).is_some());
        assert!(m.get_mut(&3).is_none(), "the oldest went");
        // Never more than the cap, whatever arrives.
        for k in 1000..5000u32 {
            m.entry(&k, t0 + Duration::from_secs(u64::from(k)), || true, |v| !v);
            assert!(m.len() <= 8);
        }
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
