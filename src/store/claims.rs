//! Requests being processed right now, by key (a requestId, an SSN fingerprint), so that an
//! overlapping request is refused ("API is locked") instead of racing the first one. The
//! embedded engine keeps them in this process's memory (one process owns its store); the SQL
//! engine keeps them as rows every process sees ([`PgClaim`]).

use super::postgres::PgClaim;
use super::{Tx, TxEngine, TxResult};
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

impl Claim {
    /// Says that the transaction that released it ([`Tx::release_claim`]) committed.
    pub fn released_by_commit(&self) {
        if let Claim::Postgres(c) = self {
            c.released_by_commit();
        }
    }
}

impl Tx<'_> {
    /// Gives `claim` back when this transaction commits. The SQL engine deletes its rows in the
    /// transaction (one commit for the request's writes and its claim); the embedded engine
    /// holds claims in memory and lets go of them when the claim is dropped, after the commit.
    /// After the commit, the caller says so with [`Claim::released_by_commit`]; when the
    /// transaction does not commit, dropping the claim gives it back as before.
    pub fn release_claim(&self, claim: &Claim) -> TxResult<()> {
        match (&self.engine, claim) {
            (TxEngine::Postgres(t), Claim::Postgres(c)) => t.release_claim(c.holder()),
            _ => Ok(()),
        }
    }
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
