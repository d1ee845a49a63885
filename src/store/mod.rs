//! The storage boundary: typed reads ([`Reader`]) and writes ([`Tx`]) of the domain's entities,
//! and one all-or-nothing [`Store::commit`] that runs a use case's closure against them.
//!
//! No engine type crosses it: no sled tree, raw key or `IVec`. The keys are the domain's own
//! values (an entity id, a [`ResponseKey`], a card number's fingerprint); each engine lays them
//! out as it needs (see [`embedded`] for sled's trees).
//!
//! A use case's closure may run more than once (a SQL engine retries a transaction that lost a
//! conflict), so it is `Fn`: a pure function of what it reads, with random draws (ids, card
//! numbers: see `ops::cards::Premint`) and fault switches taken before it. It may read the clock:
//! a run that is repeated takes the time it runs at. The embedded engine runs it exactly once.
//!
//! Why an enum of engines rather than a trait: `commit` is generic over the closure and its
//! answer, which a trait object cannot carry, and a generic `Store<E>` would spread a type
//! parameter through every use case, handler and the server's state. The enum keeps `ops`
//! monomorphic and the engine a choice of the configuration; its match is one predictable branch
//! beside a sled lookup.

pub mod browse;
pub mod claims;
pub mod codec;
pub mod copy;
pub mod embedded;
pub mod event_data;
#[cfg(test)]
mod golden;
pub mod postgres;
mod queue;
mod records;
pub mod verify;

pub use embedded::{CommitStats, DEFAULT_CACHE_BYTES};
pub use records::{decode_grant, Counted, IndexedToken, Owner};

use crate::config::{Durability, Engine as EngineChoice, StorageConfig};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::event::Event;
use crate::domain::model::*;
use crate::domain::webhook::{Delivery, Webhook};
use embedded::EventReads as _;
use embedded::Reads as _;
use std::path::Path;

pub fn storage_err(e: impl std::fmt::Display) -> DomainError {
    DomainError::Storage(e.to_string())
}

/// A failed step inside a transaction: a domain error (or storage failure) that aborts it, so
/// none of its writes are kept.
pub struct TxFail(DomainError);

impl TxFail {
    pub(crate) fn into_domain(self) -> DomainError {
        self.0
    }
}

impl From<DomainError> for TxFail {
    fn from(e: DomainError) -> Self {
        TxFail(e)
    }
}

pub type TxResult<T> = Result<T, TxFail>;

/// The open store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    engine: Engine,
    /// Requests in flight, for the embedded engine (the SQL engine keeps them in the database).
    inflight: std::sync::Arc<claims::InFlight>,
    /// The bound on requests waiting for the SQL engine at once (the embedded engine has its
    /// own, beside its free-space floor).
    queue: std::sync::Arc<queue::WriteQueue>,
}

#[derive(Clone)]
enum Engine {
    Sled(embedded::SledStore),
    Postgres(postgres::PgStore),
}

/// One use case's view of the store inside [`Store::commit`]: typed reads that see its own
/// writes, and typed writes that keep index entries and counters in step with the entities.
pub struct Tx<'a> {
    engine: TxEngine<'a>,
}

enum TxEngine<'a> {
    Sled(&'a embedded::SledTx<'a>),
    Postgres(&'a postgres::PgTx<'a>),
}

/// Runs `$body` with `$e` bound to the engine of `$self` (a [`Store`] or a [`Tx`]).
macro_rules! on_engine {
    ($self:expr, $e:ident => $body:expr) => {
        match &$self.engine {
            Engine::Sled($e) => $body,
            Engine::Postgres($e) => $body,
        }
    };
}

macro_rules! on_tx {
    ($self:expr, $e:ident => $body:expr) => {
        match &$self.engine {
            TxEngine::Sled($e) => $body,
            TxEngine::Postgres($e) => $body,
        }
    };
}

mod events;

/// Typed reads, the same inside a transaction ([`Tx`]) and outside one ([`Store`]).
pub trait Reader {
    type Err: From<DomainError>;
    fn user(&self, id: &str) -> Result<Option<User>, Self::Err>;
    fn account(&self, id: &str) -> Result<Option<Account>, Self::Err>;
    fn card(&self, id: &str) -> Result<Option<Card>, Self::Err>;
    fn wallet(&self, id: &str) -> Result<Option<Wallet>, Self::Err>;
    fn kit(&self, program: &str, mapping_id: &str) -> Result<Option<Kit>, Self::Err>;
    fn review(&self, user_id: &str) -> Result<Option<Review>, Self::Err>;
    fn response(&self, key: &ResponseKey) -> Result<Option<StoredResponse>, Self::Err>;
    /// A token grant by the SHA-256 of its token.
    fn token(&self, hash: &[u8]) -> Result<Option<TokenGrant>, Self::Err>;
    /// The tokens listed for a client, oldest first (grants of the legacy layout are not).
    fn client_tokens(&self, client_id: &str) -> Result<Vec<IndexedToken>, Self::Err>;
    /// Ids of the cards carrying `alias`.
    fn alias_cards(&self, alias: &str) -> Result<Vec<String>, Self::Err>;
    /// Who holds a card pack ID in a program: a kit until assigned, then its card.
    fn pack_owner(&self, program: &str, pack_id: &str) -> Result<Option<Owner>, Self::Err>;
    /// Who holds a card number (by its fingerprint): a card, or a kit not yet assigned.
    fn number_owner(&self, fingerprint: &[u8; 32]) -> Result<Option<Owner>, Self::Err>;
    /// Wallet ids of a card, in creation order.
    fn wallet_ids(&self, card_id: &str) -> Result<Vec<String>, Self::Err>;
    /// The user holding an SSN (by its fingerprint) in a program.
    fn user_by_ssn(&self, program: &str, fp: &[u8; 32]) -> Result<Option<User>, Self::Err>;
    /// The sequence of the store's last event (0 before the first).
    fn last_event_sequence(&self) -> Result<u64, Self::Err>;
    /// The last event whose deliveries exist (the fan-out has handled every event up to it).
    fn fanout_cursor(&self) -> Result<u64, Self::Err>;
    fn webhook(&self, id: &str) -> Result<Option<Webhook>, Self::Err>;
    /// Every webhook endpoint's id, oldest first.
    fn webhook_ids(&self) -> Result<Vec<String>, Self::Err>;
    /// The delivery of event `sequence` to endpoint `webhook_id`.
    fn delivery(&self, webhook_id: &str, sequence: u64) -> Result<Option<Delivery>, Self::Err>;

    /// The wallets of a card, in creation order.
    fn wallets_of(&self, card_id: &str) -> Result<Vec<Wallet>, Self::Err> {
        wallets_one_by_one(self, card_id)
    }
}

/// A card's wallets read by their ids (the embedded engine's way: each is one key).
fn wallets_one_by_one<R: Reader + ?Sized>(r: &R, card_id: &str) -> Result<Vec<Wallet>, R::Err> {
    let mut out = Vec::new();
    for id in r.wallet_ids(card_id)? {
        if let Some(w) = r.wallet(&id)? {
            out.push(w);
        }
    }
    Ok(out)
}

/// [`Reader`] for a type whose engine is reached with `$on`, answering `$err`; `$pg` is the
/// SQL engine's variant (it reads a card's wallets in one query).
macro_rules! reader_by_engine {
    ($ty:ty, $err:ty, $on:ident, $pg:path) => {
        impl Reader for $ty {
            type Err = $err;
            fn user(&self, id: &str) -> Result<Option<User>, $err> {
                $on!(self, e => e.user(id))
            }
            fn account(&self, id: &str) -> Result<Option<Account>, $err> {
                $on!(self, e => e.account(id))
            }
            fn card(&self, id: &str) -> Result<Option<Card>, $err> {
                $on!(self, e => e.card(id))
            }
            fn wallet(&self, id: &str) -> Result<Option<Wallet>, $err> {
                $on!(self, e => e.wallet(id))
            }
            fn kit(&self, program: &str, mapping_id: &str) -> Result<Option<Kit>, $err> {
                $on!(self, e => e.kit(program, mapping_id))
            }
            fn review(&self, user_id: &str) -> Result<Option<Review>, $err> {
                $on!(self, e => e.review(user_id))
            }
            fn response(&self, key: &ResponseKey) -> Result<Option<StoredResponse>, $err> {
                $on!(self, e => e.response(key))
            }
            fn token(&self, hash: &[u8]) -> Result<Option<TokenGrant>, $err> {
                $on!(self, e => e.token(hash))
            }
            fn client_tokens(&self, client_id: &str) -> Result<Vec<IndexedToken>, $err> {
                $on!(self, e => e.client_tokens(client_id))
            }
            fn alias_cards(&self, alias: &str) -> Result<Vec<String>, $err> {
                $on!(self, e => e.alias_cards(alias))
            }
            fn pack_owner(&self, program: &str, pack_id: &str) -> Result<Option<Owner>, $err> {
                $on!(self, e => e.pack_owner(program, pack_id))
            }
            fn number_owner(&self, fingerprint: &[u8; 32]) -> Result<Option<Owner>, $err> {
                $on!(self, e => e.number_owner(fingerprint))
            }
            fn wallet_ids(&self, card_id: &str) -> Result<Vec<String>, $err> {
                $on!(self, e => e.wallet_ids(card_id))
            }
            fn user_by_ssn(&self, program: &str, fp: &[u8; 32]) -> Result<Option<User>, $err> {
                $on!(self, e => e.user_by_ssn(program, fp))
            }
            fn last_event_sequence(&self) -> Result<u64, $err> {
                $on!(self, e => e.last_event_sequence())
            }
            fn fanout_cursor(&self) -> Result<u64, $err> {
                $on!(self, e => e.fanout_cursor())
            }
            fn webhook(&self, id: &str) -> Result<Option<Webhook>, $err> {
                $on!(self, e => e.webhook(id))
            }
            fn webhook_ids(&self) -> Result<Vec<String>, $err> {
                $on!(self, e => e.webhook_ids())
            }
            fn delivery(&self, webhook_id: &str, sequence: u64) -> Result<Option<Delivery>, $err> {
                $on!(self, e => e.delivery(webhook_id, sequence))
            }
            fn wallets_of(&self, card_id: &str) -> Result<Vec<Wallet>, $err> {
                match &self.engine {
                    $pg(e) => e.wallets_of(card_id),
                    _ => wallets_one_by_one(self, card_id),
                }
            }
        }
    };
}

reader_by_engine!(Store, DomainError, on_engine, Engine::Postgres);
reader_by_engine!(Tx<'_>, TxFail, on_tx, TxEngine::Postgres);

/// One record of a store as [`Store::export`] walks it and [`Tx::restore`] writes it into
/// another store: an entity, a stored response with its key, or a token grant by its hash.
/// Index entries and counters are not records: the typed writes that restore the records keep
/// them, each engine its own way.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    User(User),
    Account(Account),
    /// A card, and the kit it was issued from (instant issue), if any. They travel together
    /// because neither engine can write them apart: the SQL engine's kit row names its card
    /// (a foreign key, so the card's row goes first), while on sled the card takes over the
    /// kit's pack ID and number entries, which must be there before it. Written in one
    /// transaction, the kit first, they end as an instant issue leaves them.
    Card(Box<Card>, Option<Box<Kit>>),
    /// A kit not assigned to a card (available or reserved).
    Kit(Box<Kit>),
    Wallet(Wallet),
    Review(Review),
    Response(ResponseKey, StoredResponse),
    /// A token grant by the SHA-256 of its token.
    Token([u8; 32], TokenGrant),
    /// Events with their sequences and ids, in sequence order (one transaction's, or a page).
    Events(Vec<Event>),
    Webhook(Box<Webhook>),
    Delivery(Box<Delivery>),
    /// The source's fan-out cursor (events up to it have their deliveries), last.
    FanoutCursor(u64),
}

impl Tx<'_> {
    /// Says that the run will ask who holds these card numbers (by fingerprint): the SQL engine
    /// sends those reads with the run's next statement, in one round trip, instead of one
    /// round trip each when asked. Changes no answer; the embedded engine ignores it.
    pub fn will_read_number_owners(&self, fingerprints: &[[u8; 32]]) {
        if let TxEngine::Postgres(t) = &self.engine {
            t.will_read_number_owners(fingerprints);
        }
    }
}

/// Typed writes. Every write keeps its index entries and counters in step, so a caller cannot
/// store an entity without its indexes.
impl Tx<'_> {
    /// Stores a user; `new` counts it. A new user's id is derived from its program and SSN.
    pub fn put_user(&self, u: &User, new: bool) -> TxResult<()> {
        on_tx!(self, e => e.put_user(u, new))
    }
    pub fn put_account(&self, a: &Account, new: bool) -> TxResult<()> {
        on_tx!(self, e => e.put_account(a, new))
    }
    /// Stores a new card with its pack ID and alias lookups; a kit's hold on its number goes.
    pub fn insert_card(&self, d: &Card) -> TxResult<()> {
        on_tx!(self, e => e.insert_card(d))
    }
    /// Rewrites a card; number and pack ID are fixed for a card's life, the alias may change.
    pub fn update_card(&self, old: &Card, new: &Card) -> TxResult<()> {
        on_tx!(self, e => e.update_card(old, new))
    }
    /// Stores a new kit with its pack ID and number lookups.
    pub fn insert_kit(&self, k: &Kit) -> TxResult<()> {
        on_tx!(self, e => e.insert_kit(k))
    }
    /// Rewrites a kit (its status).
    pub fn update_kit(&self, k: &Kit) -> TxResult<()> {
        on_tx!(self, e => e.update_kit(k))
    }
    /// Stores a new wallet and appends it to its card's wallets.
    pub fn insert_wallet(&self, w: &Wallet) -> TxResult<()> {
        on_tx!(self, e => e.insert_wallet(w))
    }
    /// Rewrites a wallet (its status, or its card on replacement).
    pub fn update_wallet(&self, old: &Wallet, new: &Wallet) -> TxResult<()> {
        on_tx!(self, e => e.update_wallet(old, new))
    }
    pub fn put_response(&self, key: &ResponseKey, r: &StoredResponse, new: bool) -> TxResult<()> {
        on_tx!(self, e => e.put_response(key, r, new))
    }
    /// Removes a stored response (past its retention).
    pub fn remove_response(&self, key: &ResponseKey) -> TxResult<()> {
        on_tx!(self, e => e.remove_response(key))
    }
    pub fn put_review(&self, r: &Review, new: bool) -> TxResult<()> {
        on_tx!(self, e => e.put_review(r, new))
    }
    /// Stores a new token grant and lists it under its client.
    pub fn put_token(&self, hash: &[u8; 32], g: &TokenGrant) -> TxResult<()> {
        on_tx!(self, e => e.put_token(hash, g))
    }
    /// Removes a token grant and its entry in its client's list; answers the grant, if any.
    pub fn remove_token(&self, hash: &[u8]) -> TxResult<Option<TokenGrant>> {
        on_tx!(self, e => e.remove_token(hash))
    }

    /// Writes one record of another store's [`export`](Store::export) as new, through the
    /// typed writes above, so that its index entries and counters are kept exactly as the
    /// writes of requests keep them. Records must come in the export's order (parents first).
    ///
    /// The embedded engine finds users and cards by ids derived from their SSN and number; a
    /// record under an id of the layout before ids were derived (a store of an earlier version)
    /// is refused there: the SQL engine, which keeps those lookups in columns, holds it.
    pub fn restore(&self, r: &Record) -> TxResult<()> {
        let sled = matches!(self.engine, TxEngine::Sled(_));
        let legacy = |what: &str, id: &str| -> TxFail {
            DomainError::Storage(format!(
                "{what} {id} has an id of the layout before ids were derived, which a sled \
                 store cannot hold as a new record: copy this store to postgres instead"
            ))
            .into()
        };
        match r {
            Record::User(u) => {
                if sled && u.id != crate::domain::ids::user_id_for(&u.program, &u.ssn_fingerprint) {
                    return Err(legacy("user", &u.id));
                }
                self.put_user(u, true)
            }
            Record::Account(a) => self.put_account(a, true),
            Record::Card(c, kit) => {
                if sled && c.id != crate::domain::ids::card_id_for(&c.pan.fingerprint) {
                    return Err(legacy("card", &c.id));
                }
                if let Some(k) = kit {
                    self.insert_kit(k)?;
                }
                self.insert_card(c)
            }
            Record::Kit(k) => self.insert_kit(k),
            Record::Wallet(w) => self.insert_wallet(w),
            Record::Review(r) => self.put_review(r, true),
            Record::Response(key, r) => self.put_response(key, r, true),
            Record::Token(hash, g) => self.put_token(hash, g),
            Record::Events(events) => on_tx!(self, e => e.restore_events(events)),
            Record::Webhook(w) => self.put_webhook(w, true),
            Record::Delivery(d) => self.put_delivery(d, None),
            Record::FanoutCursor(c) => self.set_fanout_cursor(*c),
        }
    }
}

impl Store {
    /// Opens (or creates) the embedded store in `dir`.
    pub fn open(dir: &Path, durability: Durability) -> DomainResult<Store> {
        Self::open_with_cache(dir, durability, embedded::DEFAULT_CACHE_BYTES)
    }

    /// [`open`](Self::open) with the embedded engine's page cache bounded to `cache_bytes`.
    pub fn open_with_cache(
        dir: &Path,
        durability: Durability,
        cache_bytes: u64,
    ) -> DomainResult<Store> {
        let s = embedded::SledStore::open_with_cache(dir, durability, cache_bytes)?;
        Ok(Store {
            engine: Engine::Sled(s),
            inflight: Default::default(),
            queue: Default::default(),
        })
    }

    /// Opens (creating or migrating its schema) the SQL engine's database at `url` as given,
    /// without the `ISSUEBOX_POSTGRES_URL` override of a config (`issuebox copy`).
    pub fn open_postgres(url: &str, pool_size: usize) -> DomainResult<Store> {
        Ok(Store {
            engine: Engine::Postgres(postgres::PgStore::open(url, pool_size, Durability::Flush)?),
            inflight: Default::default(),
            queue: Default::default(),
        })
    }

    /// Opens the store `config` names: the embedded one, or the SQL engine's database (whose
    /// schema it brings up to date).
    pub fn open_config(config: &StorageConfig) -> DomainResult<Store> {
        let engine = match config.engine {
            EngineChoice::Sled => {
                let s =
                    Self::open_with_cache(&config.data_dir, config.durability, config.cache_bytes)?;
                s.set_limits(config.min_free_bytes, config.max_pending_writes);
                return Ok(s);
            }
            EngineChoice::Postgres => Engine::Postgres(postgres::PgStore::open(
                &config.postgres_url(),
                config.postgres_pool_size,
                config.durability,
            )?),
        };
        let store = Store {
            engine,
            inflight: Default::default(),
            queue: Default::default(),
        };
        store.set_limits(config.min_free_bytes, config.max_pending_writes);
        Ok(store)
    }

    /// Whether other processes may change the store behind this one's back (the SQL engine):
    /// then nothing read from it may be kept in this process's memory as still true.
    pub fn is_shared(&self) -> bool {
        matches!(self.engine, Engine::Postgres(_))
    }

    /// Sandbox fault switches as every process sees them: the SQL engine's, by name; none for
    /// the embedded engine, whose one process keeps its own.
    pub fn fault_switches(&self) -> DomainResult<Option<Vec<(String, bool)>>> {
        match &self.engine {
            Engine::Sled(_) => Ok(None),
            Engine::Postgres(p) => p.fault_switches().map(Some),
        }
    }

    /// Sets fault switches for every process (the SQL engine); nothing for the embedded one.
    pub fn set_fault_switches(&self, switches: &[(&'static str, bool)]) -> DomainResult<()> {
        match &self.engine {
            Engine::Sled(_) => Ok(()),
            Engine::Postgres(p) => p.set_fault_switches(switches),
        }
    }

    /// The embedded engine, for tools and tests that reach below the boundary (never `ops`).
    pub fn embedded(&self) -> Option<&embedded::SledStore> {
        match &self.engine {
            Engine::Sled(s) => Some(s),
            Engine::Postgres(_) => None,
        }
    }

    /// Claims every key (a requestId, an SSN) for one request, or none when another request
    /// holds any of them: in this process for the embedded engine, across every process for
    /// the SQL engine. Once claimed, reads the stored response under `key` (what the request's
    /// idempotency rules decide on): the SQL engine sends both in one round trip.
    pub fn claim(
        &self,
        keys: Vec<Vec<u8>>,
        key: &ResponseKey,
    ) -> DomainResult<Option<(claims::Claim, Option<StoredResponse>)>> {
        match &self.engine {
            Engine::Sled(_) => match self.inflight.claim(keys) {
                None => Ok(None),
                Some(held) => {
                    let claim = claims::Claim::Memory(held);
                    Ok(Some((claim, self.response(key)?)))
                }
            },
            Engine::Postgres(p) => Ok(p
                .claim(keys, Some(key))?
                .map(|(c, stored)| (claims::Claim::Postgres(c), stored))),
        }
    }

    /// Opens and closes the embedded store at `dir` once more after a clean close, so that the
    /// next start is quick (see [`embedded::SledStore::checkpoint`]).
    pub fn checkpoint(dir: &Path) -> DomainResult<()> {
        embedded::SledStore::checkpoint(dir)
    }

    /// The number of each counted entity.
    pub fn counts(&self) -> DomainResult<Vec<(Counted, u64)>> {
        on_engine!(self, e => e.counts())
    }

    pub fn count(&self, c: Counted) -> DomainResult<u64> {
        on_engine!(self, e => e.count(c))
    }

    /// Per table or tree: its name, number of keys and bytes of keys plus values (a full scan).
    pub fn logical_sizes(&self) -> Vec<(&'static str, u64, u64)> {
        on_engine!(self, e => e.logical_sizes())
    }

    /// Running totals of the engine's commits.
    pub fn commit_stats(&self) -> &CommitStats {
        on_engine!(self, e => e.commit_stats())
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        on_engine!(self, e => e.size_on_disk())
    }

    /// Every OFAC review.
    pub fn reviews(&self) -> DomainResult<Vec<Review>> {
        match &self.engine {
            Engine::Sled(e) => e.reviews().collect(),
            Engine::Postgres(e) => e.reviews(),
        }
    }

    /// Hashes of tokens expired at `now`, at most `limit`.
    pub fn expired_tokens(&self, now: i64, limit: usize) -> DomainResult<Vec<Vec<u8>>> {
        on_engine!(self, e => e.expired_tokens(now, limit))
    }

    /// Stored responses last written before `cutoff` (Unix seconds), at most `limit`.
    pub fn responses_before(
        &self,
        cutoff: i64,
        limit: usize,
    ) -> DomainResult<Vec<(ResponseKey, StoredResponse)>> {
        on_engine!(self, e => e.responses_before(cutoff, limit))
    }

    /// Hands every record of the store to `f`, parents before children: users, accounts, cards
    /// (each with the kit it was issued from), kits not assigned, wallets (each card's in
    /// creation order), reviews, stored responses, tokens. Reads page by page, never the whole
    /// store at once; the SQL engine reads one snapshot. Stops at the first error, `f`'s too.
    pub fn export(&self, f: &mut dyn FnMut(Record) -> DomainResult<()>) -> DomainResult<()> {
        on_engine!(self, e => e.export(f))
    }

    /// The number of token grants (not a [`Counted`] entity).
    pub fn token_count(&self) -> DomainResult<u64> {
        on_engine!(self, e => e.token_count())
    }

    /// Whether the store holds no entity, stored response or token.
    pub fn is_empty(&self) -> DomainResult<bool> {
        on_engine!(self, e => e.is_empty())
    }

    /// Walks the whole store and reports every inconsistency (`issuebox verify`).
    pub fn verify(&self) -> DomainResult<verify::Report> {
        match &self.engine {
            Engine::Sled(e) => embedded::verify::verify(e),
            Engine::Postgres(e) => postgres::verify::verify(e),
        }
    }
}

// After `on_engine!`, which it uses.
mod commit;
