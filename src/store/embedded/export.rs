//! `issuebox copy`'s side of the embedded engine (see [`crate::store::copy`]).

use super::*;

/// `issuebox copy`'s side of the embedded engine: the store's records in export order (see
/// [`crate::store::Store::export`]), read from the trees with durable batches not yet in them.
impl SledStore {
    pub fn export(
        &self,
        f: &mut dyn FnMut(crate::store::Record) -> DomainResult<()>,
    ) -> DomainResult<()> {
        use crate::domain::model::*;
        use crate::store::Record;
        use std::collections::{HashMap, HashSet};
        for r in self.scan::<User>(TreeId::Users) {
            f(Record::User(r?.1))?;
        }
        for r in self.scan::<Account>(TreeId::Accounts) {
            f(Record::Account(r?.1))?;
        }
        // No index leads from a card to its kit: the kits that name a card are found first
        // (their keys only, so that memory grows with the number of instant-issued cards, not
        // with the kits' records).
        let mut kit_of_card: HashMap<String, Vec<u8>> = HashMap::new();
        for r in self.scan::<Kit>(TreeId::Kits) {
            let (key, kit) = r?;
            if let Some(card) = kit.card_id {
                kit_of_card.insert(card, key);
            }
        }
        let mut sent_with_card: HashSet<Vec<u8>> = HashSet::new();
        for r in self.scan::<Card>(TreeId::Cards) {
            let card = r?.1;
            let kit = match kit_of_card.remove(&card.id) {
                None => None,
                Some(key) => {
                    let kit: Option<Kit> = self.get(TreeId::Kits, &key)?;
                    sent_with_card.insert(key);
                    kit.map(Box::new)
                }
            };
            f(Record::Card(Box::new(card), kit))?;
        }
        // The other kits, a kit naming a missing card among them (damage the target reports).
        for r in self.scan::<Kit>(TreeId::Kits) {
            let (key, kit) = r?;
            if !sent_with_card.contains(&key) {
                f(Record::Kit(Box::new(kit)))?;
            }
        }
        drop(sent_with_card);
        // Each card's wallets in creation order, as its list keeps them.
        for r in self.scan::<Vec<String>>(TreeId::IdxWalletsByCard) {
            let (card, ids) = r?;
            for id in ids {
                let Some(w) = self.wallet(&id)? else {
                    return Err(storage_err(format!(
                        "the wallets of card {} list missing wallet {id}: the source is \
                         damaged (see issuebox verify)",
                        String::from_utf8_lossy(&card)
                    )));
                };
                f(Record::Wallet(w))?;
            }
        }
        for r in self.scan::<Review>(TreeId::Reviews) {
            f(Record::Review(r?.1))?;
        }
        for r in self.scan::<crate::domain::model::StoredResponse>(TreeId::StoredResponses) {
            let (k, v) = r?;
            let key = ResponseKey::from_bytes(&k)
                .ok_or_else(|| storage_err("enrollments: a key is not a response key"))?;
            f(Record::Response(key, v))?;
        }
        for r in self.token_grants() {
            let (k, g) = r?;
            let hash: [u8; 32] = k
                .as_slice()
                .try_into()
                .map_err(|_| storage_err("tokens: a key is not a SHA-256"))?;
            f(Record::Token(hash, g))?;
        }
        // Events as stored: one record per transaction's group, in sequence order, so the
        // target keeps the groups (and the fan-out cursor, which ends one).
        for r in self.scan_raw(TreeId::Events) {
            f(Record::Events(super::events::group(&r?.1)?))?;
        }
        for w in self.webhooks()? {
            f(Record::Webhook(Box::new(w)))?;
        }
        for r in self.scan::<crate::domain::webhook::Delivery>(TreeId::Deliveries) {
            f(Record::Delivery(Box::new(r?.1)))?;
        }
        f(Record::FanoutCursor(self.fanout_cursor()?))
    }

    /// The number of token grants (a scan: tokens have no counter).
    pub fn token_count(&self) -> DomainResult<u64> {
        let mut n = 0;
        for r in self.scan_raw(TreeId::Tokens) {
            r?;
            n += 1;
        }
        Ok(n)
    }

    /// Whether no tree of records holds a key (index trees and counters follow the records).
    pub fn is_empty(&self) -> DomainResult<bool> {
        for c in Counted::ALL {
            if self.scan_raw(tree_of(c)).next().transpose()?.is_some() {
                return Ok(false);
            }
        }
        Ok(self.scan_raw(TreeId::Tokens).next().transpose()?.is_none())
    }
}
