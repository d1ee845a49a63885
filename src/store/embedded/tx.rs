//! Typed access to the trees, inside a transaction ([`SledTx`]) or outside one ([`SledStore`]
//! reads): the embedded engine's side of the boundary's `Reader` and `Tx`.
//!
//! Writes exist only on [`SledTx`], and every write keeps its index entries and counters in step,
//! so a caller cannot store an entity without its indexes.

use super::batch::{Overlay, Sealed};
use super::{kit_key, read_counts, response_key, write_counts, SledStore, TreeId, COUNTS_KEY};
use crate::domain::error::DomainError;
use crate::domain::model::*;
use crate::store::{codec, storage_err, Counted, IndexedToken, Owner, TxFail, TxResult};
use serde::{de::DeserializeOwned, Serialize};
use sled::IVec;
use std::cell::RefCell;
use std::sync::Arc;

/// Typed reads shared by transactions and plain store reads.
pub trait Reads {
    type Err: From<DomainError>;
    fn raw(&self, t: TreeId, key: &[u8]) -> Result<Option<IVec>, Self::Err>;
    /// Whether the store has SSN index entries (written before user ids were derived).
    fn legacy_ssn_index(&self) -> bool;

    fn get<T: DeserializeOwned>(&self, t: TreeId, key: &[u8]) -> Result<Option<T>, Self::Err> {
        match self.raw(t, key)? {
            None => Ok(None),
            Some(v) => codec::decode(&v)
                .map(Some)
                .map_err(|e| DomainError::Storage(format!("{}: {e}", t.name())).into()),
        }
    }
    fn user(&self, id: &str) -> Result<Option<User>, Self::Err> {
        self.get(TreeId::Users, id.as_bytes())
    }
    fn account(&self, id: &str) -> Result<Option<Account>, Self::Err> {
        self.get(TreeId::Accounts, id.as_bytes())
    }
    fn card(&self, id: &str) -> Result<Option<Card>, Self::Err> {
        self.get(TreeId::Cards, id.as_bytes())
    }
    fn wallet(&self, id: &str) -> Result<Option<Wallet>, Self::Err> {
        self.get(TreeId::Wallets, id.as_bytes())
    }
    fn kit(&self, program: &str, mapping_id: &str) -> Result<Option<Kit>, Self::Err> {
        self.get(TreeId::Kits, &kit_key(program, mapping_id))
    }
    fn review(&self, user_id: &str) -> Result<Option<Review>, Self::Err> {
        self.get(TreeId::Reviews, user_id.as_bytes())
    }
    fn response(&self, key: &ResponseKey) -> Result<Option<StoredResponse>, Self::Err> {
        self.get(TreeId::StoredResponses, &response_key(key))
    }
    /// A token grant, of either stored layout ([`super::decode_grant`]).
    fn token(&self, hash: &[u8]) -> Result<Option<TokenGrant>, Self::Err> {
        match self.raw(TreeId::Tokens, hash)? {
            None => Ok(None),
            Some(v) => crate::store::decode_grant(&v).map(Some).map_err(|e| {
                DomainError::Storage(format!("{}: {e}", TreeId::Tokens.name())).into()
            }),
        }
    }
    /// The tokens listed for a client, oldest first (grants of the legacy layout are not).
    fn client_tokens(&self, client_id: &str) -> Result<Vec<IndexedToken>, Self::Err> {
        Ok(self
            .get::<Vec<IndexedToken>>(TreeId::IdxTokensByClient, client_id.as_bytes())?
            .unwrap_or_default())
    }
    /// Ids of the cards carrying `alias`.
    fn alias_cards(&self, alias: &str) -> Result<Vec<String>, Self::Err> {
        Ok(self
            .get::<Vec<String>>(TreeId::IdxAlias, alias.as_bytes())?
            .unwrap_or_default())
    }
    fn pack_owner(&self, program: &str, pack_id: &str) -> Result<Option<Owner>, Self::Err> {
        self.get(TreeId::IdxPack, &super::pack_key(program, pack_id))
    }
    /// Who holds a card number: the card whose id derives from it
    /// ([`card_id_for`](crate::domain::ids::card_id_for)), else the number index entry — a kit
    /// not yet assigned, or a card of a store written before card ids were derived.
    fn number_owner(&self, fingerprint: &[u8; 32]) -> Result<Option<Owner>, Self::Err> {
        let id = crate::domain::ids::card_id_for(fingerprint);
        if self.raw(TreeId::Cards, id.as_bytes())?.is_some() {
            return Ok(Some(Owner::Card(id)));
        }
        self.get(TreeId::IdxNumber, fingerprint)
    }
    /// Wallet ids of a card, in creation order.
    fn wallet_ids(&self, card_id: &str) -> Result<Vec<String>, Self::Err> {
        Ok(self
            .get::<Vec<String>>(TreeId::IdxWalletsByCard, card_id.as_bytes())?
            .unwrap_or_default())
    }
    /// The user holding an SSN in a program: the user under the id derived from them
    /// ([`user_id_for`](crate::domain::ids::user_id_for)), or, in a store written before ids
    /// were derived, the one its SSN index entry names.
    fn user_by_ssn(&self, program: &str, fp: &[u8; 32]) -> Result<Option<User>, Self::Err> {
        if let Some(u) = self.user(&crate::domain::ids::user_id_for(program, fp))? {
            return Ok(Some(u));
        }
        if !self.legacy_ssn_index() {
            return Ok(None);
        }
        match self.get::<String>(TreeId::IdxSsn, &super::ssn_key(program, fp))? {
            Some(id) => self.user(&id),
            None => Ok(None),
        }
    }
}

impl Reads for SledStore {
    type Err = DomainError;
    fn legacy_ssn_index(&self) -> bool {
        self.inner.legacy_ssn_index
    }
    /// Durable batches not yet in the trees first, then sled: never what a crash could take back.
    fn raw(&self, t: TreeId, key: &[u8]) -> Result<Option<IVec>, DomainError> {
        if let Some(v) = self.inner.batcher.durable_value(t as u8, key) {
            return Ok(v);
        }
        self.tree(t).get(key).map_err(storage_err)
    }
}

/// One request's view of the store: its own writes over the writes of requests not yet in
/// sled, over sled. Writes stay in the request's own set until the closure returns `Ok`.
pub struct SledTx<'a> {
    store: &'a SledStore,
    gathering: &'a Overlay,
    /// Sealed batches not yet in the trees, newest first.
    sealed: Vec<Arc<Sealed>>,
    own: RefCell<Overlay>,
}

impl Reads for SledTx<'_> {
    type Err = TxFail;
    fn legacy_ssn_index(&self) -> bool {
        self.store.legacy_ssn_index()
    }
    fn raw(&self, t: TreeId, key: &[u8]) -> Result<Option<IVec>, TxFail> {
        let k = (t as u8, key.to_vec());
        if let Some(v) = self.own.borrow().get(&k) {
            return Ok(v.clone());
        }
        if let Some(v) = self.gathering.get(&k) {
            return Ok(v.clone());
        }
        if let Some(v) = self.sealed.iter().find_map(|s| s.writes.get(&k)) {
            return Ok(v.clone());
        }
        Ok(self.store.tree(t).get(key).map_err(storage_err)?)
    }
}

impl<'a> SledTx<'a> {
    pub(super) fn new(
        store: &'a SledStore,
        gathering: &'a Overlay,
        sealed: Vec<Arc<Sealed>>,
    ) -> SledTx<'a> {
        SledTx {
            store,
            gathering,
            sealed,
            own: RefCell::new(Overlay::default()),
        }
    }

    pub(super) fn store(&self) -> &SledStore {
        self.store
    }

    pub(super) fn into_writes(self) -> Overlay {
        self.own.into_inner()
    }

    pub(super) fn put_raw(&self, t: TreeId, key: &[u8], v: Vec<u8>) -> TxResult<()> {
        self.own
            .borrow_mut()
            .insert((t as u8, key.to_vec()), Some(IVec::from(v)));
        Ok(())
    }

    pub(super) fn put<T: Serialize>(&self, t: TreeId, key: &[u8], v: &T) -> TxResult<()> {
        self.own
            .borrow_mut()
            .insert((t as u8, key.to_vec()), Some(IVec::from(codec::encode(v))));
        Ok(())
    }

    pub(super) fn del(&self, t: TreeId, key: &[u8]) -> TxResult<()> {
        self.own.borrow_mut().insert((t as u8, key.to_vec()), None);
        Ok(())
    }

    fn bump(&self, c: Counted, delta: i64) -> TxResult<()> {
        let mut counts = read_counts(self.raw(TreeId::Meta, COUNTS_KEY)?.as_deref());
        let cur = &mut counts[c.index()];
        *cur = (*cur as i64 + delta).max(0) as u64;
        self.own.borrow_mut().insert(
            (TreeId::Meta as u8, COUNTS_KEY.to_vec()),
            Some(IVec::from(write_counts(&counts))),
        );
        Ok(())
    }

    /// Stores a user; `new` counts it. A new user's id is derived from its program and SSN, so
    /// it needs no SSN index entry.
    pub fn put_user(&self, u: &User, new: bool) -> TxResult<()> {
        if new {
            debug_assert_eq!(
                u.id,
                crate::domain::ids::user_id_for(&u.program, &u.ssn_fingerprint)
            );
            self.bump(Counted::Users, 1)?;
        }
        self.put(TreeId::Users, u.id.as_bytes(), u)
    }

    pub fn put_account(&self, a: &Account, new: bool) -> TxResult<()> {
        if new {
            self.bump(Counted::Accounts, 1)?;
        }
        self.put(TreeId::Accounts, a.id.as_bytes(), a)
    }

    /// Stores a new card with its pack ID and alias index entries. Its id is derived from its
    /// number, so the number needs no index entry; a kit's entry for it (instant issue) goes.
    pub fn insert_card(&self, d: &Card) -> TxResult<()> {
        debug_assert_eq!(d.id, crate::domain::ids::card_id_for(&d.pan.fingerprint));
        self.bump(Counted::Cards, 1)?;
        let owner = Owner::Card(d.id.clone());
        // Only a card with a pack ID can be a kit's; other cards skip the read.
        if d.pack_id.is_some() && self.raw(TreeId::IdxNumber, &d.pan.fingerprint)?.is_some() {
            self.del(TreeId::IdxNumber, &d.pan.fingerprint)?;
        }
        if let Some(p) = &d.pack_id {
            self.put(TreeId::IdxPack, &super::pack_key(&d.program, p), &owner)?;
        }
        if let Some(a) = &d.alias {
            self.add_alias(a, &d.id)?;
        }
        self.put(TreeId::Cards, d.id.as_bytes(), d)
    }

    /// Rewrites a card; number and pack ID are fixed for a card's life, the alias may change.
    pub fn update_card(&self, old: &Card, new: &Card) -> TxResult<()> {
        if old.alias != new.alias {
            if let Some(a) = &old.alias {
                self.remove_alias(a, &old.id)?;
            }
            if let Some(a) = &new.alias {
                self.add_alias(a, &new.id)?;
            }
        }
        self.put(TreeId::Cards, new.id.as_bytes(), new)
    }

    fn add_alias(&self, alias: &str, card_id: &str) -> TxResult<()> {
        let mut ids = self.alias_cards(alias)?;
        if !ids.iter().any(|i| i == card_id) {
            ids.push(card_id.to_string());
        }
        self.put(TreeId::IdxAlias, alias.as_bytes(), &ids)
    }

    fn remove_alias(&self, alias: &str, card_id: &str) -> TxResult<()> {
        let mut ids = self.alias_cards(alias)?;
        ids.retain(|i| i != card_id);
        if ids.is_empty() {
            self.del(TreeId::IdxAlias, alias.as_bytes())
        } else {
            self.put(TreeId::IdxAlias, alias.as_bytes(), &ids)
        }
    }

    /// Stores a new kit with its pack ID and number index entries.
    pub fn insert_kit(&self, k: &Kit) -> TxResult<()> {
        self.bump(Counted::Kits, 1)?;
        let owner = Owner::Kit {
            program: k.program.clone(),
            mapping_id: k.mapping_id.clone(),
        };
        self.put(
            TreeId::IdxPack,
            &super::pack_key(&k.program, &k.pack_id),
            &owner,
        )?;
        self.put(TreeId::IdxNumber, &k.pan.fingerprint, &owner)?;
        self.put(TreeId::Kits, &kit_key(&k.program, &k.mapping_id), k)
    }

    /// Rewrites a kit (its status). Assigning it is `insert_card` of its card, which moves
    /// the pack ID entry to the card and removes the number's entry (the card's id is found
    /// from the number).
    pub fn update_kit(&self, k: &Kit) -> TxResult<()> {
        self.put(TreeId::Kits, &kit_key(&k.program, &k.mapping_id), k)
    }

    /// Stores a new wallet and appends it to its card's wallet list.
    pub fn insert_wallet(&self, w: &Wallet) -> TxResult<()> {
        self.bump(Counted::Wallets, 1)?;
        let mut ids = self.wallet_ids(&w.card_id)?;
        ids.push(w.id.clone());
        self.put(TreeId::IdxWalletsByCard, w.card_id.as_bytes(), &ids)?;
        self.put(TreeId::Wallets, w.id.as_bytes(), w)
    }

    /// Rewrites a wallet (its status, or its card on replacement).
    pub fn update_wallet(&self, old: &Wallet, new: &Wallet) -> TxResult<()> {
        if old.card_id != new.card_id {
            let mut from = self.wallet_ids(&old.card_id)?;
            from.retain(|i| i != &old.id);
            self.put(TreeId::IdxWalletsByCard, old.card_id.as_bytes(), &from)?;
            let mut to = self.wallet_ids(&new.card_id)?;
            to.push(new.id.clone());
            self.put(TreeId::IdxWalletsByCard, new.card_id.as_bytes(), &to)?;
        }
        self.put(TreeId::Wallets, new.id.as_bytes(), new)
    }

    pub fn put_response(&self, key: &ResponseKey, r: &StoredResponse, new: bool) -> TxResult<()> {
        if new {
            self.bump(Counted::StoredResponses, 1)?;
        }
        self.put(TreeId::StoredResponses, &response_key(key), r)
    }

    /// Removes a stored response (past its retention).
    pub fn remove_response(&self, key: &ResponseKey) -> TxResult<()> {
        let key = response_key(key);
        if self.raw(TreeId::StoredResponses, &key)?.is_some() {
            self.del(TreeId::StoredResponses, &key)?;
            self.bump(Counted::StoredResponses, -1)?;
        }
        Ok(())
    }

    pub fn put_review(&self, r: &Review, new: bool) -> TxResult<()> {
        if new {
            self.bump(Counted::Reviews, 1)?;
        }
        self.put(TreeId::Reviews, r.user_id.as_bytes(), r)
    }

    /// Stores a new token grant and appends it to its client's token list.
    pub fn put_token(&self, hash: &[u8; 32], g: &TokenGrant) -> TxResult<()> {
        let mut list = self.client_tokens(&g.client_id)?;
        list.retain(|t| t.hash != *hash);
        list.push(IndexedToken {
            hash: *hash,
            expires_at: g.expires_at,
        });
        self.put(TreeId::IdxTokensByClient, g.client_id.as_bytes(), &list)?;
        self.put(TreeId::Tokens, hash, g)
    }

    /// Removes a token grant and its entry in its client's token list; answers the grant, if
    /// there was one.
    pub fn remove_token(&self, hash: &[u8]) -> TxResult<Option<TokenGrant>> {
        let Some(g) = self.token(hash)? else {
            return Ok(None);
        };
        let mut list = self.client_tokens(&g.client_id)?;
        let before = list.len();
        list.retain(|t| t.hash[..] != *hash);
        if list.len() != before {
            if list.is_empty() {
                self.del(TreeId::IdxTokensByClient, g.client_id.as_bytes())?;
            } else {
                self.put(TreeId::IdxTokensByClient, g.client_id.as_bytes(), &list)?;
            }
        }
        self.del(TreeId::Tokens, hash)?;
        Ok(Some(g))
    }
}
