//! Requests being processed right now, by key (a requestId, an SSN fingerprint), so that an
//! overlapping request is refused ("API is locked") instead of racing the first one.

use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct InFlight {
    keys: Mutex<HashSet<Vec<u8>>>,
}

/// Holds keys until dropped.
pub struct Claim {
    owner: Arc<InFlight>,
    keys: Vec<Vec<u8>>,
}

impl InFlight {
    /// Claims every key, or none when any is already held.
    pub fn claim(self: &Arc<Self>, keys: Vec<Vec<u8>>) -> Option<Claim> {
        let mut held = self.keys.lock();
        if keys.iter().any(|k| held.contains(k)) {
            return None;
        }
        for k in &keys {
            held.insert(k.clone());
        }
        Some(Claim {
            owner: self.clone(),
            keys,
        })
    }
}

impl Drop for Claim {
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
