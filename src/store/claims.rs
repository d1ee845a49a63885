//! Requests being processed right now, by key (a requestId, an SSN fingerprint), so that an
//! overlapping request is refused ("API is locked") instead of racing the first one. The
//! embedded engine keeps them in this process's memory (one process owns its store); the SQL
//! engine keeps them as rows every process sees ([`PgClaim`]).

use super::postgres::PgClaim;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct InFlight {
    keys: Mutex<HashSet<Vec<u8>>>,
}

/// Keys held by one request until dropped, in whichever place its engine keeps them.
pub enum Claim {
    Memory(Held),
    Postgres(PgClaim),
}

/// Keys held in this process's memory until dropped.
pub struct Held {
    owner: Arc<InFlight>,
    keys: Vec<Vec<u8>>,
}

impl InFlight {
    /// Claims every key, or none when any is already held.
    pub fn claim(self: &Arc<Self>, keys: Vec<Vec<u8>>) -> Option<Held> {
        let mut held = self.keys.lock();
        if keys.iter().any(|k| held.contains(k)) {
            return None;
        }
        for k in &keys {
            held.insert(k.clone());
        }
        Some(Held {
            owner: self.clone(),
            keys,
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.owner.keys.lock();
        for k in &self.keys {
            held.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_key_refuses_an_overlapping_claim_until_released() {
        let f = Arc::new(InFlight::default());
        let a = f.claim(vec![b"r1".to_vec(), b"s1".to_vec()]).unwrap();
        assert!(f.claim(vec![b"s1".to_vec()]).is_none());
        assert!(f.claim(vec![b"r2".to_vec(), b"r1".to_vec()]).is_none());
        let b = f.claim(vec![b"r2".to_vec()]).unwrap();
        drop(a);
        assert!(f.claim(vec![b"s1".to_vec()]).is_some());
        drop(b);
    }
}
