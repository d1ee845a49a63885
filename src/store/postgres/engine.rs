//! The SQL engine's store: a pool of connections (see [`super::conn`]), a use case run as one
//! transaction that locks what it reads (see [`super::tx`]) and runs again (bounded, with
//! jitter) when it loses a conflict, and
//! the store-wide reads of `/metrics`, the sweeper and start-up.
//!
//! Why the request's thread blocks on its transaction: a use case's closure is synchronous (the
//! embedded engine runs it under a mutex in microseconds), so on this engine each read inside it
//! waits for its answer. The thread drives its connection's I/O itself while it waits (no other
//! thread wakes it per round trip); the server runs more workers under this engine
//! (`server.workers`, see the README's "Scaling out") so that blocked ones do not starve the
//! listener. The engine's own small runtime keeps the timers (the pool's wait, a retry's
//! pause) and the claims' renewal.

use super::claims::Held;
use super::conn::{Connector, Object, Pool};
use super::sql;
use super::tx::{retryable, PgTx};
use crate::config::Durability;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::model::*;
use crate::store::{codec, storage_err, CommitStats, Counted, TxFail, TxResult};
use futures_executor::block_on;
use rand::Rng;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Runs of one transaction before the request answers 503 (`StoreBusy`).
/// The longest wait for a free connection of the pool.
const POOL_WAIT: Duration = Duration::from_secs(10);
const MAX_ATTEMPTS: u32 = 12;
#[derive(Clone)]
pub struct PgStore {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) pool: Pool,
    /// Holders of the claims this process's requests hold now (renewed by a task of `rt`).
    pub(super) held: Held,
    /// The engine's runtime (timers, the claims' renewal); taken out on drop to shut it down
    /// without blocking.
    pub(super) rt: Option<tokio::runtime::Runtime>,
    durability: Durability,
    stats: CommitStats,
    /// The store's event id prefix, drawn by the first process that opened the database.
    event_prefix: String,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// How one run of a transaction ended.
enum Attempt<T> {
    Done(T),
    /// Lost a conflict: run it again.
    Retry,
    Failed(DomainError),
}

impl PgStore {
    /// Connects to `url` (a pool of at most `pool_size`) and brings the schema up to date.
    pub fn open(url: &str, pool_size: usize, durability: Durability) -> DomainResult<PgStore> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| storage_err(format!("storage.postgres_url: {e}")))?;
        // Timers (the pool's wait, a retry's pause) and the claims' renewal run here; each
        // connection's I/O runs on the thread that waits on it (see `super::conn`).
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("issuebox-pg")
            .enable_all()
            .build()
            .map_err(storage_err)?;
        // A request that finds every connection busy for POOL_WAIT answers 503 with
        // Retry-After rather than waiting without end (the delivery loop tries again later).
        let pool = Pool::builder(Connector::new(config, rt.handle().clone()))
            .max_size(pool_size)
            .wait_timeout(Some(POOL_WAIT))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(storage_err)?;
        // The schema first, then the rows of its one-row tables (the event counter, the fan-out
        // cursor and the event id prefix: see `events::seed`), before any request runs.
        let mut client = {
            let _context = rt.enter();
            block_on(pool.get()).map_err(|e| storage_err(format!("postgres: {e}")))?
        };
        let applied = client
            .drive_mut(super::migrate::migrate)
            .map_err(|e| storage_err(format!("postgres migration: {e}")))?;
        if applied > 0 {
            log::info!("applied {applied} schema migration(s) to the database");
        }
        let event_prefix = client
            .drive(super::events::seed(&client))
            .map_err(|e| storage_err(format!("postgres: seeding the event tables: {e}")))?;
        drop(client);
        let held = Held::default();
        rt.spawn(super::claims::renew_claims(pool.clone(), held.clone()));
        let store = PgStore {
            inner: Arc::new(Inner {
                pool,
                held,
                rt: Some(rt),
                durability,
                stats: CommitStats::default(),
                event_prefix,
            }),
        };
        Ok(store)
    }

    /// Runs `fut` (taking a connection from the pool, a claim's release) here, from any thread,
    /// in the engine runtime's context: what it spawns or waits for (a timer of the pool's wait)
    /// belongs to that runtime and is driven by its threads, while the future itself is polled
    /// on this thread. Statements on a connection taken are driven by [`super::conn::Conn::drive`].
    /// (It was spawned onto the runtime and joined: two thread hand-offs for every connection
    /// taken from the pool, about a tenth of the process's CPU under enrollment load.)
    ///
    /// The wait is outside tokio's cooperative budget: the caller may be a task of another
    /// runtime (an actix worker, the delivery loop) whose budget tokio's resources polled here
    /// would otherwise spend; once spent, they answer "not yet" until that task yields, which a
    /// task blocked here never does: the thread spun for good (the delivery loop, which runs
    /// store calls back to back while events wait, did so under load and at every stop).
    pub(super) fn run<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let rt = self
            .inner
            .rt
            .as_ref()
            .expect("the runtime lives as long as the store");
        let _context = rt.enter();
        block_on(tokio::task::unconstrained(fut))
    }

    /// A connection from the pool (connecting, on this thread, if none is idle).
    pub(super) fn client(&self) -> DomainResult<Object> {
        let pool = self.inner.pool.clone();
        self.run(async move { pool.get().await }).map_err(|e| {
            // How many connections exist, how many are checked out and how many wait.
            let st = self.inner.pool.status();
            storage_err(format!(
                "postgres: {e} (pool: {} of {} connections checked out, {} waiting)",
                st.size.saturating_sub(st.available),
                st.max_size,
                st.waiting
            ))
        })
    }

    /// The store's event id prefix (see [`crate::domain::event::event_id`]).
    pub(super) fn event_prefix(&self) -> &str {
        &self.inner.event_prefix
    }

    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    pub fn commit_stats(&self) -> &CommitStats {
        &self.inner.stats
    }

    /// Reads outside a transaction (each statement on its own).
    pub fn read<T>(&self, f: impl FnOnce(&PgTx) -> TxResult<T>) -> DomainResult<T> {
        let client = self.client()?;
        let tx = PgTx::new(&client, false);
        f(&tx).map_err(TxFail::into_domain)
    }

    /// Runs `f` as one transaction, again while it loses conflicts; async callers wait between
    /// runs without holding their thread.
    ///
    /// The connection goes back to the pool before the wait between runs: a task that slept
    /// holding one could not give it back while the other tasks of its thread block waiting
    /// for a connection (an actix worker or the delivery loop's runtime runs many tasks on few
    /// threads, and `client` blocks the thread), and with every connection held that way the
    /// process stalled until the pool's wait ran out.
    pub async fn commit<T>(&self, f: impl Fn(&PgTx) -> TxResult<T>) -> DomainResult<T> {
        for attempt in 1..=MAX_ATTEMPTS {
            // Bound first: a temporary in the `match` would live, and hold the connection,
            // through the wait in its arm.
            let run = self.attempt(&self.client()?, &f);
            match run {
                Attempt::Done(v) => return Ok(v),
                Attempt::Failed(e) => return Err(e),
                Attempt::Retry => tokio::time::sleep(backoff(attempt)).await,
            }
        }
        Err(DomainError::StoreBusy)
    }

    /// [`commit`](Self::commit) for callers outside an async runtime.
    pub fn transact<T>(&self, f: impl Fn(&PgTx) -> TxResult<T>) -> DomainResult<T> {
        for attempt in 1..=MAX_ATTEMPTS {
            // Bound first: a temporary in the `match` would live, and hold the connection,
            // through the wait in its arm.
            let run = self.attempt(&self.client()?, &f);
            match run {
                Attempt::Done(v) => return Ok(v),
                Attempt::Failed(e) => return Err(e),
                Attempt::Retry => std::thread::sleep(backoff(attempt)),
            }
        }
        Err(DomainError::StoreBusy)
    }

    fn attempt<T>(&self, client: &Object, f: &impl Fn(&PgTx) -> TxResult<T>) -> Attempt<T> {
        let tx = PgTx::begin(client);
        let out = f(&tx).and_then(|v| tx.flush().map(|committed| (v, committed)));
        let stats = &self.inner.stats;
        match out {
            // The flush committed already (a run that wrote events: see `PgTx::flush`).
            Ok((v, true)) => {
                use std::sync::atomic::Ordering::Relaxed;
                stats.batches.fetch_add(1, Relaxed);
                stats.requests.fetch_add(1, Relaxed);
                Attempt::Done(v)
            }
            // A run that sent no statement began no transaction: nothing to commit.
            Ok((v, false)) if !tx.begun() => {
                self.inner
                    .stats
                    .requests
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Attempt::Done(v)
            }
            Ok((v, false)) => match client.drive(client.batch_execute("COMMIT")) {
                Ok(()) => {
                    use std::sync::atomic::Ordering::Relaxed;
                    stats.batches.fetch_add(1, Relaxed);
                    stats.requests.fetch_add(1, Relaxed);
                    Attempt::Done(v)
                }
                Err(e) if retryable(&e) => Attempt::Retry,
                Err(e) => Attempt::Failed(storage_err(format!("postgres commit: {e}"))),
            },
            Err(e) => {
                if tx.begun() {
                    let _ = client.drive(client.batch_execute("ROLLBACK"));
                }
                if tx.conflicted() {
                    Attempt::Retry
                } else {
                    Attempt::Failed(e.into_domain())
                }
            }
        }
    }

    pub(super) fn rows(
        &self,
        sql: &'static str,
        params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>>,
    ) -> DomainResult<Vec<tokio_postgres::Row>> {
        self.rows_dynamic(sql, params)
    }

    /// [`rows`](Self::rows) of a statement built at run time (prepared once per connection and
    /// text, like the others).
    pub(super) fn rows_dynamic(
        &self,
        sql: impl AsRef<str> + Send + 'static,
        params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>>,
    ) -> DomainResult<Vec<tokio_postgres::Row>> {
        let client = self.client()?;
        client
            .drive(async {
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                let stmt = client.prepare_cached(sql.as_ref()).await?;
                client.query(&stmt, &refs).await
            })
            .map_err(|e| storage_err(format!("postgres: {e}")))
    }

    /// Every row of a query without parameters (for `verify`).
    pub(super) fn rows_of(&self, sql: &'static str) -> DomainResult<Vec<tokio_postgres::Row>> {
        self.rows(sql, Vec::new())
    }

    pub fn count(&self, c: Counted) -> DomainResult<u64> {
        let rows = self.rows(count_sql(c), Vec::new())?;
        Ok(rows.first().map(|r| r.get::<_, i64>(0)).unwrap_or(0) as u64)
    }

    pub fn counts(&self) -> DomainResult<Vec<(Counted, u64)>> {
        Counted::ALL
            .iter()
            .map(|c| Ok((*c, self.count(*c)?)))
            .collect()
    }

    /// Per table: its name, rows, and bytes of records.
    pub fn logical_sizes(&self) -> Vec<(&'static str, u64, u64)> {
        TABLES
            .iter()
            .filter_map(|t| {
                let sql = SIZE_SQL.iter().find(|(n, _)| n == t)?.1;
                let rows = self.rows(sql, Vec::new()).ok()?;
                let r = rows.first()?;
                Some((*t, r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64))
            })
            .collect()
    }

    /// The database's size where the engine tells it (PostgreSQL), else 0.
    pub fn size_on_disk(&self) -> u64 {
        self.rows("SELECT pg_database_size(current_database())", Vec::new())
            .ok()
            .and_then(|rows| rows.first().map(|r| r.get::<_, i64>(0) as u64))
            .unwrap_or(0)
    }

    pub fn reviews(&self) -> DomainResult<Vec<Review>> {
        self.rows(sql::REVIEWS, Vec::new())?
            .iter()
            .map(|r| codec::decode(r.get::<_, &[u8]>(0)).map_err(storage_err))
            .collect()
    }

    pub fn expired_tokens(&self, now: i64, limit: usize) -> DomainResult<Vec<Vec<u8>>> {
        let rows = self.rows(
            sql::EXPIRED_TOKENS,
            vec![Box::new(now), Box::new(limit as i64)],
        )?;
        Ok(rows.iter().map(|r| r.get::<_, Vec<u8>>(0)).collect())
    }

    pub fn responses_before(
        &self,
        cutoff: i64,
        limit: usize,
    ) -> DomainResult<Vec<(ResponseKey, StoredResponse)>> {
        let rows = self.rows(
            sql::RESPONSES_BEFORE,
            vec![Box::new(cutoff), Box::new(limit as i64)],
        )?;
        rows.iter()
            .map(|r| {
                let key = ResponseKey::new(r.get(0), r.get(1), r.get(2));
                let body = codec::decode(r.get::<_, &[u8]>(3)).map_err(storage_err)?;
                Ok((key, body))
            })
            .collect()
    }

    /// The sandbox fault switches set through any process, by name.
    pub fn fault_switches(&self) -> DomainResult<Vec<(String, bool)>> {
        let rows = self.rows(sql::FAULTS, Vec::new())?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub fn set_fault_switches(&self, switches: &[(&'static str, bool)]) -> DomainResult<()> {
        for (name, on) in switches {
            self.rows(sql::SET_FAULT, vec![Box::new(*name), Box::new(*on)])?;
        }
        Ok(())
    }
}

/// Growing waits with jitter, so that transactions that conflicted do not meet again.
fn backoff(attempt: u32) -> Duration {
    let ceiling = 2u64.saturating_pow(attempt.min(7)).max(2);
    Duration::from_millis(rand::thread_rng().gen_range(1..=ceiling))
}

const TABLES: [&str; 10] = [
    "users",
    "accounts",
    "cards",
    "wallets",
    "kits",
    "stored_responses",
    "reviews",
    "tokens",
    "pack_ids",
    "number_owners",
];

const SIZE_SQL: [(&str, &str); 10] = [
    (
        "users",
        "SELECT count(*), COALESCE(sum(octet_length(body)), 0)::bigint FROM users",
    ),
    (
        "accounts",
        "SELECT count(*), COALESCE(sum(octet_length(body)), 0)::bigint FROM accounts",
    ),
    (
        "cards",
        "SELECT count(*), COALESCE(sum(octet_length(body)), 0)::bigint FROM cards",
    ),
    (
        "wallets",
        "SELECT count(*), COALESCE(sum(octet_length(body)), 0)::bigint FROM wallets",
    ),
    (
        "kits",
        "SELECT count(*), COALESCE(sum(octet_length(body)), 0)::bigint FROM kits",
    ),
    (
        "stored_responses",
        "SELECT count(*), COALESCE(sum(octet_length(body)), 0)::bigint FROM stored_responses",
    ),
    (
        "reviews",
        "SELECT count(*), COALESCE(sum(octet_length(body)), 0)::bigint FROM reviews",
    ),
    (
        "tokens",
        "SELECT count(*), COALESCE(sum(octet_length(body)), 0)::bigint FROM tokens",
    ),
    ("pack_ids", "SELECT count(*), 0::bigint FROM pack_ids"),
    (
        "number_owners",
        "SELECT count(*), 0::bigint FROM number_owners",
    ),
];

fn count_sql(c: Counted) -> &'static str {
    match c {
        Counted::Users => "SELECT count(*) FROM users",
        Counted::Accounts => "SELECT count(*) FROM accounts",
        Counted::Cards => "SELECT count(*) FROM cards",
        Counted::Wallets => "SELECT count(*) FROM wallets",
        Counted::Kits => "SELECT count(*) FROM kits",
        Counted::StoredResponses => "SELECT count(*) FROM stored_responses",
        Counted::Reviews => "SELECT count(*) FROM reviews",
    }
}
