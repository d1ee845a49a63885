//! The embedded engine's side of the console's listings (`crate::store::browse`): a bounded
//! range read of one tree from a cursor, durable batches not yet in the tree included.

use super::{join, merge, storage_err, SledStore, TreeId};
use crate::domain::error::DomainResult;
use crate::store::browse::{Listed, RawRecords};
use std::ops::Bound;

impl SledStore {
    /// At most `scan` records after `after`: accounts and cards of every program by id (the
    /// caller keeps its program's), kits of `program` by mapping identifier.
    pub fn listing(
        &self,
        what: Listed,
        program: &str,
        after: Option<&str>,
        scan: usize,
    ) -> DomainResult<RawRecords> {
        let (tree, prefix) = match what {
            Listed::Accounts => (TreeId::Accounts, Vec::new()),
            Listed::Cards => (TreeId::Cards, Vec::new()),
            Listed::Kits => (TreeId::Kits, join(&[program.as_bytes(), b""])),
        };
        let start = match after {
            Some(a) => Bound::Excluded([prefix.as_slice(), a.as_bytes()].concat()),
            None => Bound::Included(prefix.clone()),
        };
        let past_start = |k: &[u8]| match &start {
            Bound::Excluded(s) => k > s.as_slice(),
            Bound::Included(s) => k >= s.as_slice(),
            Bound::Unbounded => true,
        };
        let pending = self
            .inner
            .batcher
            .durable_writes(tree as u8)
            .into_iter()
            .filter(|(k, _)| past_start(k))
            .collect();
        let range = self
            .tree(tree)
            .range::<Vec<u8>, _>((start.clone(), Bound::Unbounded))
            .map(|r| r.map(|(k, v)| (k.to_vec(), v)).map_err(storage_err));
        let mut out = Vec::new();
        for r in merge::Merged::new(range, pending) {
            let (k, v) = r?;
            if !k.starts_with(&prefix) || out.len() >= scan {
                break;
            }
            let key = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            out.push((key, v.to_vec()));
        }
        Ok(out)
    }
}
