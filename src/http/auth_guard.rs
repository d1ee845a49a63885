//! The guard of the endpoints that take client credentials (`POST /authentication` and
//! `/authentication/revoke`): a rate limit per client id and per source address, and a lockout
//! after consecutive wrong secrets, per client id and per source address. A refused request
//! answers 429 `{"error":"slow_down"}` with `Retry-After`.
//!
//! - **Rate**: one token bucket ([`Bucket`] of [`super::rate_limit`]) per client id and one per
//!   address, `[security] auth_rate_per_second` / `auth_burst`; a request takes a token of its
//!   address, then of the id it names.
//! - **Lockout**: `auth_failures_before_lockout` consecutive failures of an id (or from an
//!   address) lock it for `auth_lockout_seconds`; each further failure after the lock has passed
//!   locks it again for twice as long, up to `auth_lockout_max_seconds`. While locked, every
//!   request naming that id (or from that address) is refused before its secret is looked at, so
//!   even the right secret waits. A success resets the streak of its id and of its address; a
//!   streak with no failure for [`forget_after`] is forgotten.
//!
//! The id is the one the request names, checked or not, so that an id that exists and one that
//! does not are treated alike (nothing tells which ids exist). Locking an id is also what lets
//! anyone who knows it delay its owner for a while: the windows are short, capped, and a success
//! after a window ends resets it. The address is the TCP peer (`X-Forwarded-For` is not trusted);
//! IPv6 addresses count by their /64, which one host usually holds whole.
//!
//! Memory is bounded: each map holds at most [`MAX_TRACKED`] keys (ids are kept as 16 bytes of
//! their SHA-256, whatever their length). A full map first drops the keys that carry no state (a
//! full bucket, no failures, no lock), then the least recently seen ([`BoundedMap`]). The state is
//! this process's own: several processes each limit on their own.

use super::rate_limit::{BoundedMap, Bucket, Rate};
use crate::config::SecurityConfig;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Keys tracked at most in each map (client ids, addresses).
pub const MAX_TRACKED: usize = 10_000;

/// The lockout policy: `failures` consecutive failures lock for `first`, each further one for
/// twice the previous window, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lockout {
    pub failures: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Lockout {
    /// The window a streak of `failures` failures locks for; `None` below the threshold.
    pub fn window(&self, failures: u32) -> Option<Duration> {
        if failures < self.failures {
            return None;
        }
        let doublings = (failures - self.failures).min(31);
        Some(self.first.saturating_mul(1u32 << doublings).min(self.max))
    }
}

/// How long a streak of failures is remembered without a new failure: twice the longest window,
/// at least a quarter of an hour.
pub fn forget_after(l: &Lockout) -> Duration {
    (l.max * 2).max(Duration::from_secs(900))
}

/// What the guard knows of one id or address.
#[derive(Debug, Clone, Default)]
struct Watch {
    bucket: Option<Bucket>,
    failures: u32,
    last_failure: Option<Instant>,
    locked_until: Option<Instant>,
}

impl Watch {
    fn locked_for(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .filter(|u| *u > now)
            .map(|u| u.saturating_duration_since(now))
    }

    /// Carries nothing a new entry would not: a full bucket, no lock, no remembered streak.
    fn idle(&self, rate: Option<Rate>, lockout: Option<Lockout>, now: Instant) -> bool {
        let bucket_full = match (&self.bucket, rate) {
            (Some(b), Some(r)) => b.is_full(r, now),
            _ => true,
        };
        let streak_gone = match (self.last_failure, lockout) {
            (Some(at), Some(l)) => now.saturating_duration_since(at) > forget_after(&l),
            _ => true,
        };
        bucket_full && self.locked_for(now).is_none() && streak_gone
    }

    fn fail(&mut self, l: &Lockout, now: Instant) {
        if self
            .last_failure
            .is_some_and(|at| now.saturating_duration_since(at) > forget_after(l))
        {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.last_failure = Some(now);
        if let Some(w) = l.window(self.failures) {
            self.locked_until = Some(now + w);
        }
    }

    fn reset(&mut self) {
        self.failures = 0;
        self.last_failure = None;
        self.locked_until = None;
    }
}

/// A source address as counted: IPv4 whole, IPv6 by its /64 (an IPv4-mapped one as IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AddrKey {
    V4(u32),
    V6(u64),
}

fn addr_key(ip: IpAddr) -> AddrKey {
    match ip {
        IpAddr::V4(a) => AddrKey::V4(u32::from(a)),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => AddrKey::V4(u32::from(v4)),
            None => AddrKey::V6((u128::from(a) >> 64) as u64),
        },
    }
}

/// A client id as counted: 16 bytes of its SHA-256, so a long id costs no more than a short one.
fn id_key(id: &str) -> [u8; 16] {
    let h = Sha256::digest(id.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&h[..16]);
    k
}

/// The shared guard of one server (every worker uses the same one).
pub struct AuthGuard {
    rate: Option<Rate>,
    lockout: Option<Lockout>,
    ids: Mutex<BoundedMap<[u8; 16], Watch>>,
    addrs: Mutex<BoundedMap<AddrKey, Watch>>,
}

impl AuthGuard {
    /// The guard of `[security]`; `None` when both its rate and its lockout are off.
    pub fn from_config(s: &SecurityConfig) -> Option<AuthGuard> {
        let lockout = (s.auth_failures_before_lockout > 0).then(|| Lockout {
            failures: s.auth_failures_before_lockout,
            first: Duration::from_secs(s.auth_lockout_seconds),
            max: Duration::from_secs(s.auth_lockout_max_seconds),
        });
        Self::new(Rate::new(s.auth_rate_per_second, s.auth_burst), lockout)
    }

    pub fn new(rate: Option<Rate>, lockout: Option<Lockout>) -> Option<AuthGuard> {
        (rate.is_some() || lockout.is_some()).then(|| AuthGuard {
            rate,
            lockout,
            ids: Mutex::new(BoundedMap::new(MAX_TRACKED)),
            addrs: Mutex::new(BoundedMap::new(MAX_TRACKED)),
        })
    }

    /// Whether a request from `addr` naming client `id` may be looked at now; else how long to
    /// wait. Takes a token of the address and of the id.
    pub fn admit(&self, addr: Option<IpAddr>, id: Option<&str>) -> Result<(), Duration> {
        self.admit_at(addr, id.map(id_key), Instant::now())
    }

    /// Records a failed secret (or unusable credentials) of `id` from `addr`.
    pub fn failed(&self, addr: Option<IpAddr>, id: Option<&str>) {
        self.failed_at(addr, id.map(id_key), Instant::now())
    }

    /// Records a success: the streaks of `id` and of `addr` start over.
    pub fn succeeded(&self, addr: Option<IpAddr>, id: Option<&str>) {
        self.succeeded_keys(addr, id.map(id_key))
    }

    fn succeeded_keys(&self, addr: Option<IpAddr>, id: Option<[u8; 16]>) {
        if let Some(a) = addr.map(addr_key) {
            if let Some(w) = self.addrs.lock().get_mut(&a) {
                w.reset();
            }
        }
        if let Some(k) = id {
            if let Some(w) = self.ids.lock().get_mut(&k) {
                w.reset();
            }
        }
    }

    fn admit_at(
        &self,
        addr: Option<IpAddr>,
        id: Option<[u8; 16]>,
        now: Instant,
    ) -> Result<(), Duration> {
        let addr = addr.map(addr_key);
        // A lock refuses first and spends nothing.
        let mut locked = Duration::ZERO;
        if let Some(a) = &addr {
            if let Some(d) = self.addrs.lock().get_mut(a).and_then(|w| w.locked_for(now)) {
                locked = locked.max(d);
            }
        }
        if let Some(k) = &id {
            if let Some(d) = self.ids.lock().get_mut(k).and_then(|w| w.locked_for(now)) {
                locked = locked.max(d);
            }
        }
        if !locked.is_zero() {
            return Err(locked);
        }
        let Some(rate) = self.rate else {
            return Ok(());
        };
        if let Some(a) = &addr {
            self.take(&self.addrs, a, rate, now)?;
        }
        if let Some(k) = &id {
            self.take(&self.ids, k, rate, now)?;
        }
        Ok(())
    }

    fn take<K: std::hash::Hash + Eq + Clone>(
        &self,
        map: &Mutex<BoundedMap<K, Watch>>,
        key: &K,
        rate: Rate,
        now: Instant,
    ) -> Result<(), Duration> {
        let (r, l) = (self.rate, self.lockout);
        let mut m = map.lock();
        let w = m.entry(key, now, Watch::default, |w| w.idle(r, l, now));
        w.bucket
            .get_or_insert_with(|| Bucket::full(rate, now))
            .take(rate, now)
    }

    fn failed_at(&self, addr: Option<IpAddr>, id: Option<[u8; 16]>, now: Instant) {
        let Some(l) = self.lockout else { return };
        let r = self.rate;
        if let Some(a) = addr.map(addr_key) {
            let mut m = self.addrs.lock();
            m.entry(&a, now, Watch::default, |w| w.idle(r, Some(l), now))
                .fail(&l, now);
        }
        if let Some(k) = id {
            let mut m = self.ids.lock();
            m.entry(&k, now, Watch::default, |w| w.idle(r, Some(l), now))
                .fail(&l, now);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        (self.ids.lock().len(), self.addrs.lock().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn lockout() -> Lockout {
        Lockout {
            failures: 3,
            first: 2 * SEC,
            max: 10 * SEC,
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_window_doubles_past_the_threshold_up_to_the_cap() {
        let l = lockout();
        assert_eq!(l.window(0), None);
        assert_eq!(l.window(2), None);
        assert_eq!(l.window(3), Some(2 * SEC));
        assert_eq!(l.window(4), Some(4 * SEC));
        assert_eq!(l.window(5), Some(8 * SEC));
        assert_eq!(l.window(6), Some(10 * SEC));
        assert_eq!(l.window(u32::MAX), Some(10 * SEC));
        assert_eq!(forget_after(&l), Duration::from_secs(900));
    }

    #[test]
    fn failures_lock_the_id_and_the_address_even_for_the_right_secret() {
        let g = AuthGuard::new(None, Some(lockout())).unwrap();
        let t0 = Instant::now();
        let (a, id) = (ip("10.0.0.1"), Some(id_key("sandbox")));
        for _ in 0..2 {
            assert!(g.admit_at(a, id, t0).is_ok());
            g.failed_at(a, id, t0);
        }
        assert!(g.admit_at(a, id, t0).is_ok(), "two failures do not lock");
        g.failed_at(a, id, t0);
        // Locked for 2 s: by id from any address, and by address for any id.
        assert_eq!(g.admit_at(a, id, t0), Err(2 * SEC));
        assert_eq!(g.admit_at(ip("10.0.0.2"), id, t0 + SEC), Err(SEC));
        assert_eq!(g.admit_at(a, Some(id_key("other")), t0), Err(2 * SEC));
        assert!(g
            .admit_at(ip("10.0.0.2"), Some(id_key("other")), t0)
            .is_ok());
        // Past the window one more try; failing it locks for twice as long.
        let t1 = t0 + 2 * SEC;
        assert!(g.admit_at(a, id, t1).is_ok());
        g.failed_at(a, id, t1);
        assert_eq!(g.admit_at(a, id, t1), Err(4 * SEC));
        let t2 = t1 + 4 * SEC;
        g.failed_at(a, id, t2);
        g.failed_at(a, id, t2 + 8 * SEC);
        assert_eq!(g.admit_at(a, id, t2 + 8 * SEC), Err(10 * SEC), "capped");
        // A success resets both.
        let t3 = t2 + 18 * SEC;
        assert!(g.admit_at(a, id, t3).is_ok());
        g.succeeded_keys(a, id);
        g.failed_at(a, id, t3);
        assert!(g.admit_at(a, id, t3).is_ok(), "a new streak starts at one");
    }

    #[test]
    fn an_old_streak_is_forgotten() {
        let g = AuthGuard::new(None, Some(lockout())).unwrap();
        let t0 = Instant::now();
        let id = Some(id_key("sandbox"));
        g.failed_at(None, id, t0);
        g.failed_at(None, id, t0);
        let later = t0 + forget_after(&lockout()) + SEC;
        g.failed_at(None, id, later);
        assert!(g.admit_at(None, id, later).is_ok());
    }

    #[test]
    fn rates_per_address_and_per_id() {
        let rate = Rate::new(1, 2);
        let g = AuthGuard::new(rate, None).unwrap();
        let t0 = Instant::now();
        // One address, a new id each time: the address's burst of 2 is the limit.
        assert!(g.admit_at(ip("10.0.0.1"), Some(id_key("a")), t0).is_ok());
        assert!(g.admit_at(ip("10.0.0.1"), Some(id_key("b")), t0).is_ok());
        assert_eq!(g.admit_at(ip("10.0.0.1"), Some(id_key("c")), t0), Err(SEC));
        // One id from new addresses: the id's burst of 2 is the limit.
        assert!(g.admit_at(ip("10.0.0.2"), Some(id_key("x")), t0).is_ok());
        assert!(g.admit_at(ip("10.0.0.3"), Some(id_key("x")), t0).is_ok());
        assert!(g.admit_at(ip("10.0.0.4"), Some(id_key("x")), t0).is_err());
        // A second later one more each.
        assert!(g
            .admit_at(ip("10.0.0.1"), Some(id_key("c")), t0 + SEC)
            .is_ok());
        // IPv6 counts by /64; IPv4-mapped as IPv4.
        assert!(g.admit_at(ip("2001:db8::1"), None, t0).is_ok());
        assert!(g.admit_at(ip("2001:db8::2:3"), None, t0).is_ok());
        assert!(g.admit_at(ip("2001:db8::ffff"), None, t0).is_err());
        assert!(g.admit_at(ip("2001:db8:0:1::1"), None, t0).is_ok());
        assert!(g.admit_at(ip("::ffff:10.0.0.1"), None, t0).is_err());
    }

    #[test]
    fn off_when_both_are_off() {
        assert!(AuthGuard::new(None, None).is_none());
        let s = SecurityConfig {
            auth_rate_per_second: 0,
            auth_failures_before_lockout: 0,
            ..SecurityConfig::default()
        };
        assert!(AuthGuard::from_config(&s).is_none());
        assert!(AuthGuard::from_config(&SecurityConfig::default()).is_some());
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_ids_and_addresses() {
        let g = AuthGuard::new(Rate::new(20, 40), Some(lockout())).unwrap();
        let t0 = Instant::now();
        for i in 0..(3 * MAX_TRACKED as u32) {
            let a = Some(IpAddr::from(i.to_be_bytes()));
            let id = Some(id_key(&format!("id-{i}")));
            let _ = g.admit_at(a, id, t0);
            g.failed_at(a, id, t0);
        }
        let (ids, addrs) = g.tracked();
        assert!(ids <= MAX_TRACKED && addrs <= MAX_TRACKED, "{ids} {addrs}");
    }
}
