//! The PostgreSQL-protocol engine (`storage.engine = "postgres"`): any number of issuebox
//! processes over one database, which may be PostgreSQL or an engine of its protocol and SQL
//! (CockroachDB, YugabyteDB): the store ([`PgStore`]: pool, transactions run again on
//! conflict, claims), one transaction's typed reads and buffered writes ([`PgTx`]), every
//! statement ([`sql`]), the schema and its migrations ([`migrate`]), and `issuebox copy`'s
//! paged reads of every record (`export.rs`).
//!
//! The schema is `migrations/0001_init.sql` (and the migrations after it: `0003_events.sql` for
//! events, endpoints, deliveries and the fan-out cursor): one table per entity, each row the codec-encoded
//! record (`body`) plus the columns that keys, lookups and constraints need, and the rules that
//! must hold across processes as constraints: primary keys on the derived ids,
//! `UNIQUE(program, ssn_fp)` (the SSN lock), `(program, pack_id)` and the card number each with
//! one owner, `(client, program, request_id)` for idempotency, foreign keys from every child to
//! its parent, and the 15-wallet cap as a counted column under a CHECK.
//!
//! ## Plain SQL that CockroachDB and YugabyteDB also accept
//!
//! What the schema and the engine use, and what was checked in each engine's documentation:
//!
//! | statement kind | CockroachDB | YugabyteDB (YSQL) |
//! | --- | --- | --- |
//! | `CREATE TABLE IF NOT EXISTS` with `PRIMARY KEY`, `UNIQUE`, `NOT NULL`, column and table `CHECK` | yes (`IF NOT EXISTS` checks the name only) | yes (PostgreSQL's grammar) |
//! | `FOREIGN KEY … REFERENCES`, also on two columns with the default `MATCH SIMPLE` (a row with a NULL in the key is not checked) | yes; no `DEFERRABLE` (cockroach#31632), so FKs are checked per statement and parents are written first | yes |
//! | `CREATE INDEX IF NOT EXISTS` | yes | yes |
//! | `text`, `bytea` (CockroachDB's `BYTES`), `bigint`, `boolean`, `timestamptz DEFAULT now()` | yes; `integer` is 64 bits there, so the schema uses `bigint` only | yes |
//! | `octet_length(bytea)` in a CHECK | yes | yes |
//! | `INSERT … ON CONFLICT DO NOTHING` / `DO UPDATE` (claims, idempotency) | yes | yes |
//! | `SELECT … FOR UPDATE` (the card row under the wallet cap, a kit) | yes | yes |
//! | `SERIALIZABLE` isolation (retry on 40001) | yes (its default) | yes |
//! | DDL in a transaction | not atomic across several statements, and refused after a write in the same transaction | each statement commits on its own unless transactional DDL is enabled |
//! | partial indexes (`CREATE INDEX … WHERE col IS NOT NULL`, `WHERE status = 'pending'`) | yes, since v20.2 | yes |
//! | a data-modifying CTE (`WITH c AS (UPDATE … RETURNING …) INSERT … SELECT … FROM c`) | yes (CTEs with `INSERT`/`UPDATE`/`DELETE`/`UPSERT`; materialized when they write) | yes |
//! | `unnest(a, b, …)` of several arrays `WITH ORDINALITY` in `FROM` (one statement inserts a transaction's events) | yes (the variadic `unnest` generator, "Returns the input arrays as a set of rows"; `WITH ORDINALITY` on any table expression) | yes (PostgreSQL's) |
//! | array columns (`text[]`, `bytea[]`), `cardinality` in a CHECK, `array_agg(… ORDER BY …)`, and `FROM t, unnest(t.a, t.b, …) WITH ORDINALITY` over a row's own arrays (the event inbox: one row per transaction) | yes (`ARRAY` of any non-array type; `cardinality` since v21.2, cockroach#68263; correlated set-returning functions in `FROM` as lateral joins) | yes (PostgreSQL's) |
//! | `= ANY($1::text[])`, `GREATEST`, `COALESCE`, `LEFT JOIN (subquery) ON true`, `::text` of a bigint | yes | yes |
//! | `ALTER TABLE claims SET UNLOGGED` (migration 0006: claims of requests in flight write no WAL; a no-op when already unlogged) | accepted as a no-op since v25.2 (cockroach#109951, PR #142572 and its fix #145080; `CREATE UNLOGGED TABLE` since v20.2); older versions refuse the migration | accepted as a no-op since 2024.2 (yugabyte#23895, #24183) |
//! | `SELECT … FOR UPDATE SKIP LOCKED` (claiming due deliveries) | yes since v22.2 (the v21.2 docs still list it as unsupported; cockroach#85720); under READ COMMITTED fixed later (cockroach#115057), issuebox runs at the default SERIALIZABLE | yes (also under REPEATABLE READ) |
//!
//! Not used: advisory locks (none in CockroachDB), sequences and `SERIAL` (CockroachDB's differ
//! and make hot ranges), triggers and functions, `LISTEN/NOTIFY`, deferrable constraints. Unit
//! tests in [`migrate`] hold every migration to idempotent `CREATE … IF NOT EXISTS` statements
//! without those words.
//!
//! No counter rows for counts: `SELECT count(*)` per table answers `/metrics` and `verify` (rare
//! readers), so no one row is rewritten by every write and becomes every transaction's conflict.
//!
//! One counter row, on purpose: `event_counter`, the last event sequence (see [`events`]). Events
//! must be gap-free and in commit order (contract section 8), and a reader must never see
//! sequence N+1 committed while N is not; sequences and `SERIAL` give neither (a rolled-back
//! transaction leaves a gap, and numbers are taken in statement order, not commit order). So
//! events are numbered after they commit: writers put them unnumbered into `event_batches` (one
//! row per transaction), and a
//! sequencer, one at a time under the counter row's lock, moves them into `events` with their
//! sequences (see [`events`]).
//!
//! Until session 8 every writer of events took that row's lock itself, from its last statement
//! through its COMMIT, so event writers committed one after another, at most one per WAL flush
//! (measured then with `measure_event_commits` in `tests/postgres_events.rs`: about 1,000
//! event-writing commits/s on this machine against 3,700-4,700 without events, and under
//! enrollment load 10-19 backends waiting on `Lock/transactionid`).

mod browse;
mod claims;
mod conn;
mod engine;
mod events;
mod export;
pub mod migrate;
// Public for the plan tests (`tests/postgres_plans.rs`); not an API.
#[doc(hidden)]
pub mod sql;
mod tx;
pub mod verify;

pub use claims::PgClaim;
pub use engine::PgStore;
pub use tx::PgTx;

use crate::domain::error::DomainResult;
use crate::domain::model::*;
use crate::store::{IndexedToken, Owner};

/// The store's reads outside a transaction, each on its own.
impl PgStore {
    pub fn user(&self, id: &str) -> DomainResult<Option<User>> {
        self.read(|t| t.user(id))
    }
    pub fn account(&self, id: &str) -> DomainResult<Option<Account>> {
        self.read(|t| t.account(id))
    }
    pub fn card(&self, id: &str) -> DomainResult<Option<Card>> {
        self.read(|t| t.card(id))
    }
    pub fn wallet(&self, id: &str) -> DomainResult<Option<Wallet>> {
        self.read(|t| t.wallet(id))
    }
    pub fn kit(&self, program: &str, mapping_id: &str) -> DomainResult<Option<Kit>> {
        self.read(|t| t.kit(program, mapping_id))
    }
    pub fn review(&self, user_id: &str) -> DomainResult<Option<Review>> {
        self.read(|t| t.review(user_id))
    }
    pub fn response(&self, key: &ResponseKey) -> DomainResult<Option<StoredResponse>> {
        self.read(|t| t.response(key))
    }
    pub fn token(&self, hash: &[u8]) -> DomainResult<Option<TokenGrant>> {
        self.read(|t| t.token(hash))
    }
    pub fn client_tokens(&self, client_id: &str) -> DomainResult<Vec<IndexedToken>> {
        self.read(|t| t.client_tokens(client_id))
    }
    pub fn alias_cards(&self, alias: &str) -> DomainResult<Vec<String>> {
        self.read(|t| t.alias_cards(alias))
    }
    pub fn pack_owner(&self, program: &str, pack_id: &str) -> DomainResult<Option<Owner>> {
        self.read(|t| t.pack_owner(program, pack_id))
    }
    pub fn number_owner(&self, fp: &[u8; 32]) -> DomainResult<Option<Owner>> {
        self.read(|t| t.number_owner(fp))
    }
    pub fn wallet_ids(&self, card_id: &str) -> DomainResult<Vec<String>> {
        self.read(|t| t.wallet_ids(card_id))
    }
    pub fn wallets_of(&self, card_id: &str) -> DomainResult<Vec<Wallet>> {
        self.read(|t| t.wallets_of(card_id))
    }
    pub fn user_by_ssn(&self, program: &str, fp: &[u8; 32]) -> DomainResult<Option<User>> {
        self.read(|t| t.user_by_ssn(program, fp))
    }
}
