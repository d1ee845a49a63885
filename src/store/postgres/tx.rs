//! One use case's transaction on the SQL engine: typed reads that go to the database and see the
//! transaction's own writes, and typed writes kept in memory ([`Pending`]) until the closure has
//! succeeded, then sent together, parents before children (foreign keys are checked per
//! statement: CockroachDB has no deferrable constraints), in one pipelined round trip.
//!
//! The closure runs on the request's thread and blocks on each query, driving the connection's
//! I/O itself while it waits ([`super::conn`]).
//!
//! Isolation: the transaction runs at the engine's default level (READ COMMITTED on
//! PostgreSQL and YugabyteDB, SERIALIZABLE on CockroachDB) and locks every row it reads
//! (`SELECT … FOR UPDATE`), so what it read cannot change before it commits; a row that does not
//! exist yet is guarded by its key (a concurrent insert of it fails with 23505 and the
//! transaction runs again). Two requests on one card, kit or review therefore queue on its row
//! instead of failing each other as SERIALIZABLE would make them: 24 wallet attaches to one card
//! at once take turns, where SERIALIZABLE made most of them lose and run again many times.

use super::conn::Object;
use super::sql;
use crate::domain::error::DomainError;
use crate::domain::event::{Event, NewEvent};
use crate::domain::model::*;
use crate::domain::webhook::{Delivery, Webhook};
use crate::store::{codec, storage_err, IndexedToken, Owner, TxFail, TxResult};
use serde::de::DeserializeOwned;
use std::cell::{Cell, RefCell};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

mod flush;

/// SQLSTATEs after which the whole transaction is run again: a serialization failure, a
/// deadlock, and the constraint violations a concurrent transaction's commit can cause between
/// this one's read and its write (the retry reads the committed row and decides again).
pub(super) fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::CHECK_VIOLATION
            || *c == SqlState::FOREIGN_KEY_VIOLATION
    )
}

/// Writes of one transaction not yet sent, in the order they were made.
#[derive(Default)]
pub(super) struct Pending {
    users: Vec<(User, bool)>,
    accounts: Vec<(Account, bool)>,
    /// Cards and whether each is new.
    cards: Vec<(Card, bool)>,
    kits: Vec<(Kit, bool)>,
    /// Wallets, whether each is new, and the card a moved one left.
    wallets: Vec<(Wallet, bool, Option<String>)>,
    reviews: Vec<(Review, bool)>,
    /// Stored responses (`None`: removed) and whether each is new.
    responses: Vec<(ResponseKey, Option<StoredResponse>, bool)>,
    /// Token grants (`None`: removed).
    tokens: Vec<([u8; 32], Option<TokenGrant>)>,
    /// Events of this run, in order: the flush writes them into the inbox, unnumbered (see
    /// [`super::events`]), so a run that fails or is run again leaves none.
    pub(super) events: Vec<NewEvent>,
    /// Claims this run gives back when it commits, by holder.
    pub(super) claim_releases: Vec<String>,
    /// Events of another store (`issuebox copy`), with their sequences and ids.
    pub(super) restored_events: Vec<Event>,
    /// Webhook endpoints by id (`None`: removed), and whether each is new.
    pub(super) webhooks: Vec<(String, Option<Webhook>, bool)>,
    pub(super) deliveries: Vec<Delivery>,
    pub(super) fanout: Option<u64>,
}

/// Replaces the entry of `items` that `same` finds, or appends `item`, keeping the first
/// write's "new" flag (a record created and then changed in one transaction is still new).
fn upsert<T>(items: &mut Vec<(T, bool)>, item: T, new: bool, same: impl Fn(&T) -> bool) {
    match items.iter_mut().find(|(t, _)| same(t)) {
        Some(slot) => slot.0 = item,
        None => items.push((item, new)),
    }
}

pub struct PgTx<'a> {
    client: &'a Object,
    /// Inside a transaction: every row read is locked (`FOR UPDATE`) until it ends.
    locking: bool,
    pub(super) pending: RefCell<Pending>,
    /// Set when a statement failed in a way that running the transaction again may fix.
    conflict: Cell<bool>,
    /// A transaction whose BEGIN is not sent yet: it goes with the run's first statement, in
    /// the same round trip (one round trip less per transaction).
    unbegun: Cell<bool>,
    /// Card numbers (fingerprints) whose holders the run will ask for, not yet read: read with
    /// the run's next statement ([`Self::will_read_number_owners`]).
    owners_ahead: RefCell<Vec<[u8; 32]>>,
    /// Holders of card numbers read so far in this run.
    owners_read: RefCell<Vec<([u8; 32], Option<Owner>)>>,
}

impl<'a> PgTx<'a> {
    /// A transaction's reads and writes (`locking`), or plain reads outside one.
    pub(super) fn new(client: &'a Object, locking: bool) -> PgTx<'a> {
        PgTx {
            client,
            locking,
            pending: RefCell::default(),
            conflict: Cell::new(false),
            unbegun: Cell::new(false),
            owners_ahead: RefCell::default(),
            owners_read: RefCell::default(),
        }
    }

    /// A transaction's reads and writes, its BEGIN sent with its first statement.
    pub(super) fn begin(client: &'a Object) -> PgTx<'a> {
        let tx = PgTx::new(client, true);
        tx.unbegun.set(true);
        tx
    }

    /// Whether BEGIN went out (a run that sent no statement has nothing to commit or roll back).
    pub(super) fn begun(&self) -> bool {
        !self.unbegun.get()
    }

    /// Waits for `fut`, the run's next statements, from this thread; when the transaction has not
    /// begun, BEGIN is sent first, and the reads announced ahead
    /// ([`will_read_number_owners`](Self::will_read_number_owners)) next, all pipelined with
    /// them (a future sends its messages when first polled, and `try_join` polls in order).
    pub(super) fn wait<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, tokio_postgres::Error> {
        let begin = self.unbegun.replace(false);
        let ahead = std::mem::take(&mut *self.owners_ahead.borrow_mut());
        let (owners, v) = self.client.drive(async {
            let begin = async {
                if begin {
                    self.client.batch_execute("BEGIN").await?;
                }
                Ok(())
            };
            let owners = async {
                if ahead.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = self.locked(sql::NUMBER_OWNER);
                let stmt = self.client.prepare_cached(&sql).await?;
                let reads = ahead.iter().map(|fp| {
                    let stmt = &stmt;
                    async move {
                        let fp: &[u8] = fp;
                        self.client.query(stmt, &[&fp]).await
                    }
                });
                futures_util::future::try_join_all(reads).await
            };
            futures_util::future::try_join3(begin, owners, fut)
                .await
                .map(|((), owners, v)| (owners, v))
        })?;
        let mut read = self.owners_read.borrow_mut();
        for (fp, rows) in ahead.into_iter().zip(owners) {
            read.push((fp, rows.first().map(owner_of_number)));
        }
        Ok(v)
    }

    /// `sql` as this transaction sends its reads: locking the rows it reads, inside one.
    fn locked<'s>(&self, sql: &'s str) -> std::borrow::Cow<'s, str> {
        if self.locking {
            format!("{sql} FOR UPDATE").into()
        } else {
            sql.into()
        }
    }

    /// See [`crate::store::Tx::will_read_number_owners`].
    pub fn will_read_number_owners(&self, fingerprints: &[[u8; 32]]) {
        self.owners_ahead
            .borrow_mut()
            .extend_from_slice(fingerprints);
    }

    /// Whether a statement lost a conflict: the engine runs the closure again.
    pub(super) fn conflicted(&self) -> bool {
        self.conflict.get()
    }

    pub(super) fn fail(&self, e: tokio_postgres::Error) -> TxFail {
        if retryable(&e) {
            self.conflict.set(true);
        }
        storage_err(format!("postgres: {e}")).into()
    }

    pub(super) fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> TxResult<Vec<Row>> {
        let sql = self.locked(sql);
        self.wait(async {
            let stmt = self.client.prepare_cached(&sql).await?;
            self.client.query(&stmt, params).await
        })
        .map_err(|e| self.fail(e))
    }

    /// A statement's rows without locking them, also inside a transaction: reads of rows no
    /// transaction changes (events), or that must not queue behind their writers (the event
    /// counter, see [`super::events`]).
    pub(super) fn query_unlocked(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> TxResult<Vec<Row>> {
        self.wait(async {
            let stmt = self.client.prepare_cached(sql).await?;
            self.client.query(&stmt, params).await
        })
        .map_err(|e| self.fail(e))
    }

    pub(super) fn body<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> TxResult<Option<T>> {
        match self.query(sql, params)?.first() {
            None => Ok(None),
            Some(row) => decode(row.get::<_, &[u8]>(0)).map(Some),
        }
    }

    pub(super) fn bodies<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> TxResult<Vec<T>> {
        self.query(sql, params)?
            .iter()
            .map(|row| decode(row.get::<_, &[u8]>(0)))
            .collect()
    }

    /// The rows of a statement, as they come (`issuebox copy`'s reads; see [`super::export`]).
    pub(super) fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> TxResult<Vec<Row>> {
        self.query(sql, params)
    }

    /// Runs statements without parameters or rows (`BEGIN …`, `COMMIT`).
    pub(super) fn batch_execute(&self, sql: &str) -> TxResult<()> {
        self.wait(self.client.batch_execute(sql))
            .map_err(|e| self.fail(e))
    }

    pub fn user(&self, id: &str) -> TxResult<Option<User>> {
        if unstorable(&[id]) {
            return Ok(None);
        }
        if let Some((u, _)) = self.pending.borrow().users.iter().find(|(u, _)| u.id == id) {
            return Ok(Some(u.clone()));
        }
        self.body(sql::USER, &[&id])
    }

    pub fn user_by_ssn(&self, program: &str, fp: &[u8; 32]) -> TxResult<Option<User>> {
        let pending = self.pending.borrow();
        let mine = pending
            .users
            .iter()
            .find(|(u, _)| u.program == program && u.ssn_fingerprint == *fp);
        if let Some((u, _)) = mine {
            return Ok(Some(u.clone()));
        }
        drop(pending);
        self.body(sql::USER_BY_SSN, &[&program, &fp.as_slice()])
    }

    pub fn account(&self, id: &str) -> TxResult<Option<Account>> {
        if unstorable(&[id]) {
            return Ok(None);
        }
        if let Some((a, _)) = self
            .pending
            .borrow()
            .accounts
            .iter()
            .find(|(a, _)| a.id == id)
        {
            return Ok(Some(a.clone()));
        }
        self.body(sql::ACCOUNT, &[&id])
    }

    pub fn card(&self, id: &str) -> TxResult<Option<Card>> {
        if unstorable(&[id]) {
            return Ok(None);
        }
        if let Some((c, _)) = self.pending.borrow().cards.iter().find(|(c, _)| c.id == id) {
            return Ok(Some(c.clone()));
        }
        self.body(sql::CARD, &[&id])
    }

    pub fn wallet(&self, id: &str) -> TxResult<Option<Wallet>> {
        if unstorable(&[id]) {
            return Ok(None);
        }
        if let Some((w, ..)) = self
            .pending
            .borrow()
            .wallets
            .iter()
            .find(|(w, ..)| w.id == id)
        {
            return Ok(Some(w.clone()));
        }
        self.body(sql::WALLET, &[&id])
    }

    pub fn kit(&self, program: &str, mapping_id: &str) -> TxResult<Option<Kit>> {
        if unstorable(&[program, mapping_id]) {
            return Ok(None);
        }
        let pending = self.pending.borrow();
        let mine = pending
            .kits
            .iter()
            .find(|(k, _)| k.program == program && k.mapping_id == mapping_id);
        if let Some((k, _)) = mine {
            return Ok(Some(k.clone()));
        }
        drop(pending);
        self.body(sql::KIT, &[&program, &mapping_id])
    }

    pub fn review(&self, user_id: &str) -> TxResult<Option<Review>> {
        if unstorable(&[user_id]) {
            return Ok(None);
        }
        let pending = self.pending.borrow();
        if let Some((r, _)) = pending.reviews.iter().find(|(r, _)| r.user_id == user_id) {
            return Ok(Some(r.clone()));
        }
        drop(pending);
        self.body(sql::REVIEW, &[&user_id])
    }

    pub fn response(&self, key: &ResponseKey) -> TxResult<Option<StoredResponse>> {
        if unstorable(&[&key.client, &key.program, &key.request_id]) {
            return Ok(None);
        }
        if let Some((_, r, _)) = self
            .pending
            .borrow()
            .responses
            .iter()
            .find(|(k, ..)| k == key)
        {
            return Ok(r.clone());
        }
        self.body(sql::RESPONSE, &[&key.client, &key.program, &key.request_id])
    }

    pub fn token(&self, hash: &[u8]) -> TxResult<Option<TokenGrant>> {
        if let Some((_, g)) = self
            .pending
            .borrow()
            .tokens
            .iter()
            .find(|(h, _)| h[..] == *hash)
        {
            return Ok(g.clone());
        }
        match self.query(sql::TOKEN, &[&hash])?.first() {
            None => Ok(None),
            Some(row) => crate::store::decode_grant(row.get::<_, &[u8]>(0))
                .map(Some)
                .map_err(|e| storage_err(format!("tokens: {e}")).into()),
        }
    }

    pub fn client_tokens(&self, client_id: &str) -> TxResult<Vec<IndexedToken>> {
        if unstorable(&[client_id]) {
            return Ok(Vec::new());
        }
        let mut list: Vec<IndexedToken> = self
            .query(sql::CLIENT_TOKENS, &[&client_id])?
            .iter()
            .map(|row| IndexedToken {
                hash: row.get::<_, &[u8]>(0).try_into().unwrap_or([0; 32]),
                expires_at: row.get(1),
            })
            .collect();
        for (hash, g) in &self.pending.borrow().tokens {
            list.retain(|t| t.hash != *hash);
            if let Some(g) = g.as_ref().filter(|g| g.client_id == client_id) {
                list.push(IndexedToken {
                    hash: *hash,
                    expires_at: g.expires_at,
                });
            }
        }
        Ok(list)
    }

    pub fn alias_cards(&self, alias: &str) -> TxResult<Vec<String>> {
        if unstorable(&[alias]) {
            return Ok(Vec::new());
        }
        let mut ids: Vec<String> = self
            .query(sql::ALIAS_CARDS, &[&alias])?
            .iter()
            .map(|row| row.get(0))
            .collect();
        for (c, _) in &self.pending.borrow().cards {
            let carries = c.alias.as_deref() == Some(alias);
            let listed = ids.contains(&c.id);
            if carries && !listed {
                ids.push(c.id.clone());
            } else if !carries && listed {
                ids.retain(|i| *i != c.id);
            }
        }
        Ok(ids)
    }

    pub fn pack_owner(&self, program: &str, pack_id: &str) -> TxResult<Option<Owner>> {
        if unstorable(&[program, pack_id]) {
            return Ok(None);
        }
        let pending = self.pending.borrow();
        let card = pending
            .cards
            .iter()
            .find(|(c, _)| c.program == program && c.pack_id.as_deref() == Some(pack_id));
        if let Some((c, _)) = card {
            return Ok(Some(Owner::Card(c.id.clone())));
        }
        let kit = pending
            .kits
            .iter()
            .find(|(k, _)| k.program == program && k.pack_id == pack_id);
        if let Some((k, _)) = kit {
            return Ok(Some(kit_or_its_card(k)));
        }
        drop(pending);
        let rows = self.query(sql::PACK_OWNER, &[&program, &pack_id])?;
        Ok(rows.first().map(|row| owner_of(row, program)))
    }

    pub fn number_owner(&self, fp: &[u8; 32]) -> TxResult<Option<Owner>> {
        let pending = self.pending.borrow();
        if let Some((c, _)) = pending.cards.iter().find(|(c, _)| c.pan.fingerprint == *fp) {
            return Ok(Some(Owner::Card(c.id.clone())));
        }
        if let Some((k, _)) = pending.kits.iter().find(|(k, _)| k.pan.fingerprint == *fp) {
            return Ok(Some(kit_or_its_card(k)));
        }
        drop(pending);
        if let Some((_, owner)) = self.owners_read.borrow().iter().find(|(f, _)| f == fp) {
            return Ok(owner.clone());
        }
        self.owners_ahead.borrow_mut().retain(|f| f != fp);
        let rows = self.query(sql::NUMBER_OWNER, &[&fp.as_slice()])?;
        let owner = rows.first().map(owner_of_number);
        self.owners_read.borrow_mut().push((*fp, owner.clone()));
        Ok(owner)
    }

    pub fn wallet_ids(&self, card_id: &str) -> TxResult<Vec<String>> {
        Ok(self
            .wallets_of(card_id)?
            .into_iter()
            .map(|w| w.id)
            .collect())
    }

    /// One query for the bodies, rather than one per wallet id.
    pub fn wallets_of(&self, card_id: &str) -> TxResult<Vec<Wallet>> {
        if unstorable(&[card_id]) {
            return Ok(Vec::new());
        }
        let mut list: Vec<Wallet> = self.bodies(sql::WALLETS_OF, &[&card_id])?;
        for (w, ..) in &self.pending.borrow().wallets {
            let here = w.card_id == card_id;
            match list.iter().position(|x| x.id == w.id) {
                Some(i) if here => list[i] = w.clone(),
                Some(i) => {
                    list.remove(i);
                }
                None if here => list.push(w.clone()),
                None => {}
            }
        }
        Ok(list)
    }

    // --- writes ---

    pub fn put_user(&self, u: &User, new: bool) -> TxResult<()> {
        upsert(&mut self.pending.borrow_mut().users, u.clone(), new, |x| {
            x.id == u.id
        });
        Ok(())
    }

    pub fn put_account(&self, a: &Account, new: bool) -> TxResult<()> {
        upsert(
            &mut self.pending.borrow_mut().accounts,
            a.clone(),
            new,
            |x| x.id == a.id,
        );
        Ok(())
    }

    pub fn insert_card(&self, d: &Card) -> TxResult<()> {
        upsert(&mut self.pending.borrow_mut().cards, d.clone(), true, |x| {
            x.id == d.id
        });
        Ok(())
    }

    pub fn update_card(&self, _old: &Card, new: &Card) -> TxResult<()> {
        upsert(
            &mut self.pending.borrow_mut().cards,
            new.clone(),
            false,
            |x| x.id == new.id,
        );
        Ok(())
    }

    pub fn insert_kit(&self, k: &Kit) -> TxResult<()> {
        let same = |x: &Kit| x.program == k.program && x.mapping_id == k.mapping_id;
        upsert(&mut self.pending.borrow_mut().kits, k.clone(), true, same);
        Ok(())
    }

    pub fn update_kit(&self, k: &Kit) -> TxResult<()> {
        let same = |x: &Kit| x.program == k.program && x.mapping_id == k.mapping_id;
        upsert(&mut self.pending.borrow_mut().kits, k.clone(), false, same);
        Ok(())
    }

    pub fn insert_wallet(&self, w: &Wallet) -> TxResult<()> {
        self.pending
            .borrow_mut()
            .wallets
            .push((w.clone(), true, None));
        Ok(())
    }

    pub fn update_wallet(&self, old: &Wallet, new: &Wallet) -> TxResult<()> {
        let mut pending = self.pending.borrow_mut();
        match pending.wallets.iter_mut().find(|(w, ..)| w.id == new.id) {
            Some(slot) => slot.0 = new.clone(),
            None => {
                let left = (old.card_id != new.card_id).then(|| old.card_id.clone());
                pending.wallets.push((new.clone(), false, left));
            }
        }
        Ok(())
    }

    pub fn put_response(&self, key: &ResponseKey, r: &StoredResponse, new: bool) -> TxResult<()> {
        let mut pending = self.pending.borrow_mut();
        match pending.responses.iter_mut().find(|(k, ..)| k == key) {
            Some(slot) => slot.1 = Some(r.clone()),
            None => pending.responses.push((key.clone(), Some(r.clone()), new)),
        }
        Ok(())
    }

    pub fn remove_response(&self, key: &ResponseKey) -> TxResult<()> {
        let mut pending = self.pending.borrow_mut();
        match pending.responses.iter_mut().find(|(k, ..)| k == key) {
            Some(slot) => slot.1 = None,
            None => pending.responses.push((key.clone(), None, false)),
        }
        Ok(())
    }

    pub fn put_review(&self, r: &Review, new: bool) -> TxResult<()> {
        let same = |x: &Review| x.user_id == r.user_id;
        upsert(&mut self.pending.borrow_mut().reviews, r.clone(), new, same);
        Ok(())
    }

    pub fn put_token(&self, hash: &[u8; 32], g: &TokenGrant) -> TxResult<()> {
        let mut pending = self.pending.borrow_mut();
        pending.tokens.retain(|(h, _)| h != hash);
        pending.tokens.push((*hash, Some(g.clone())));
        Ok(())
    }

    pub fn remove_token(&self, hash: &[u8]) -> TxResult<Option<TokenGrant>> {
        let Ok(hash) = <[u8; 32]>::try_from(hash) else {
            return Ok(None);
        };
        let Some(g) = self.token(&hash)? else {
            return Ok(None);
        };
        let mut pending = self.pending.borrow_mut();
        pending.tokens.retain(|(h, _)| *h != hash);
        pending.tokens.push((hash, None));
        Ok(Some(g))
    }
}

/// PostgreSQL's `text` cannot hold U+0000: a parameter carrying one fails its statement, and
/// with it the transaction (the hostile-body test found a device alias `"\u0000"` answered 503).
/// Nothing stored holds one (the rules refuse control characters in every key a client sets),
/// so a lookup by such a key finds nothing without asking the database.
pub(super) fn unstorable(keys: &[&str]) -> bool {
    keys.iter().any(|k| k.contains('\0'))
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> TxResult<T> {
    codec::decode(bytes)
        .map_err(|e| TxFail::from(DomainError::Storage(format!("postgres record: {e}"))))
}

/// A kit's hold on its pack ID or number: the kit's, or once assigned, its card's.
fn kit_or_its_card(k: &Kit) -> Owner {
    match &k.card_id {
        Some(id) if k.status == KitStatus::Assigned => Owner::Card(id.clone()),
        _ => Owner::Kit {
            program: k.program.clone(),
            mapping_id: k.mapping_id.clone(),
        },
    }
}

/// The owner in a row of [`sql::NUMBER_OWNER`]: `(card_id, kit_mapping_id, kit_program)`.
fn owner_of_number(row: &Row) -> Owner {
    let program: Option<String> = row.get(2);
    owner_of(row, program.as_deref().unwrap_or_default())
}

/// The owner in a row of `(card_id, kit_mapping_id, …)`.
fn owner_of(row: &Row, program: &str) -> Owner {
    match row.get::<_, Option<String>>(0) {
        Some(card) => Owner::Card(card),
        None => Owner::Kit {
            program: program.to_string(),
            mapping_id: row.get::<_, Option<String>>(1).unwrap_or_default(),
        },
    }
}
