//! A tree's entries in key order with pending writes laid over them.

use crate::domain::error::DomainResult;
use sled::IVec;
use std::collections::btree_map;
use std::collections::BTreeMap;
use std::iter::Peekable;

/// Merges a tree's entries (sorted by key) with pending writes: a pending value replaces the
/// tree's, a pending removal hides it, a pending key the tree lacks is added in its place.
pub(super) struct Merged<I: Iterator> {
    tree: Peekable<I>,
    pending: Peekable<btree_map::IntoIter<Vec<u8>, Option<IVec>>>,
}

impl<I: Iterator<Item = DomainResult<(Vec<u8>, IVec)>>> Merged<I> {
    pub(super) fn new(tree: I, pending: BTreeMap<Vec<u8>, Option<IVec>>) -> Self {
        Merged {
            tree: tree.peekable(),
            pending: pending.into_iter().peekable(),
        }
    }
}

impl<I: Iterator<Item = DomainResult<(Vec<u8>, IVec)>>> Iterator for Merged<I> {
    type Item = DomainResult<(Vec<u8>, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (take_pending, same_key) = match (self.tree.peek(), self.pending.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) | (Some(_), None) => (false, false),
                (None, Some(_)) => (true, false),
                (Some(Ok((tk, _))), Some((pk, _))) => (pk <= tk, pk == tk),
            };
            if same_key {
                // The pending write supersedes the tree's entry.
                self.tree.next();
            }
            if !take_pending {
                return self.tree.next();
            }
            let (k, v) = self.pending.next()?;
            if let Some(v) = v {
                return Some(Ok((k, v)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_writes_replace_hide_and_add_in_key_order() {
        let tree = ["a", "c", "d", "f"]
            .iter()
            .map(|k| Ok((k.as_bytes().to_vec(), IVec::from(&b"tree"[..]))));
        let mut pending = BTreeMap::new();
        pending.insert(b"b".to_vec(), Some(IVec::from(&b"new"[..])));
        pending.insert(b"c".to_vec(), Some(IVec::from(&b"new"[..])));
        pending.insert(b"d".to_vec(), None);
        pending.insert(b"e".to_vec(), None);
        pending.insert(b"g".to_vec(), Some(IVec::from(&b"new"[..])));
        let got: Vec<(String, String)> = Merged::new(tree, pending)
            .map(|r| {
                let (k, v) = r.unwrap();
                (
                    String::from_utf8(k).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect();
        let want = [
            ("a", "tree"),
            ("b", "new"),
            ("c", "new"),
            ("f", "tree"),
            ("g", "new"),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        );
    }
}
