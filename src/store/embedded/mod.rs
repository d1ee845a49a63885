//! The embedded engine: sled trees for every entity, secondary-index trees, counters, typed
//! access, all-or-nothing requests (one journal record per batch of requests, see [`batch`]),
//! group-committed durability and `verify`. One process owns the store. Only the boundary
//! (`crate::store`), tools and tests reach in here; `ops` never does.
//!
//! Key layout (all keys are raw bytes; `\0` separates parts that may vary in length):
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | users, accounts, devices, wallets, reviews | entity id (a user's is derived from its program and SSN, a card's from its number) | record |
//! | kits | program `\0` mappingIdentifier | [`Kit`] |
//! | enrollments | client `\0` program `\0` requestId | [`StoredResponse`] |
//! | tokens | SHA-256 of the bearer token | [`TokenGrant`] (or a legacy grant, see [`decode_grant`]) |
//! | idx_alias | alias | device ids carrying it (one alias may name several cards) |
//! | idx_pack | program `\0` card pack ID | [`Owner`] (a kit until assigned, then its card) |
//! | idx_number | HMAC of the card number | [`Owner`]: a kit not yet assigned (or a card of a store written before card ids were derived) |
//! | idx_wallets_by_card | device id | wallet ids of the card, in creation order |
//! | idx_ssn | program `\0` HMAC of the SSN | user id; read only: written by stores before user ids were derived |
//! | meta | `counts` | one u64 per [`Counted`] entity, big-endian, in `Counted::ALL` order |
//! | idx_tokens_by_client | client id | [`IndexedToken`]s of the client, oldest first (legacy grants are not listed) |
//! | events | first sequence (big-endian u64) | the [`Event`](crate::domain::event::Event)s one transaction wrote, in sequence order |
//! | webhooks | webhook id | [`Webhook`](crate::domain::webhook::Webhook) |
//! | deliveries | webhook id `\0` event sequence (big-endian) | [`Delivery`](crate::domain::webhook::Delivery) |
//! | idx_due_deliveries | due time (Unix ms, big-endian) ++ delivery key | empty: the pending deliveries by when they are due |
//! | meta | `event_seq`, `event_prefix`, `fanout`, `webhook_ids` | the last event sequence; the store's event id prefix; the last event fanned out to deliveries; every webhook id |
//!
//! Index values are lists or owners rather than one key per pair: a rule such as the 15-wallet
//! cap reads a card's wallets with one get inside the same closure that adds one, and the
//! store's layered view answers single keys (range scans merge pending writes only in
//! [`SledStore::scan`]).

mod admission;
mod batch;
mod browse;
mod events;
mod export;
mod merge;
mod repair;
mod tx;
pub mod verify;

pub use events::EventReads;
pub use tx::{Reads, SledTx};

use super::{codec, decode_grant, storage_err, Counted, TxFail, TxResult};
use crate::config::Durability;
use crate::domain::error::DomainResult;
use crate::domain::model::ResponseKey;
use batch::Batcher;
pub use batch::CommitStats;
use std::path::Path;
use std::sync::Arc;

/// Every tree of the store; the discriminant is its position in [`SledStore::trees`] (and in
/// [`TreeId::ALL`]) and the tag that names the tree in journal records: fixed, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TreeId {
    Users = 0,
    Accounts = 1,
    Cards = 2,
    Wallets = 3,
    Kits = 4,
    /// Stored BaaS responses (idempotency), in the tree named `enrollments` on disk.
    StoredResponses = 5,
    Tokens = 6,
    Reviews = 7,
    IdxAlias = 8,
    IdxPack = 9,
    IdxNumber = 10,
    IdxWalletsByCard = 11,
    IdxSsn = 12,
    Meta = 13,
    /// Appended last: a tree's discriminant is its id in journal records.
    IdxTokensByClient = 14,
    /// Events, one key per transaction's events: the first sequence (big-endian) to the list.
    Events = 15,
    Webhooks = 16,
    /// Deliveries: webhook id `\0` event sequence (big-endian).
    Deliveries = 17,
    /// Pending deliveries by when they are due: Unix ms (big-endian) ++ delivery key; no value.
    IdxDueDeliveries = 18,
}

impl TreeId {
    pub const ALL: [TreeId; 19] = [
        TreeId::Users,
        TreeId::Accounts,
        TreeId::Cards,
        TreeId::Wallets,
        TreeId::Kits,
        TreeId::StoredResponses,
        TreeId::Tokens,
        TreeId::Reviews,
        TreeId::IdxAlias,
        TreeId::IdxPack,
        TreeId::IdxNumber,
        TreeId::IdxWalletsByCard,
        TreeId::IdxSsn,
        TreeId::Meta,
        TreeId::IdxTokensByClient,
        TreeId::Events,
        TreeId::Webhooks,
        TreeId::Deliveries,
        TreeId::IdxDueDeliveries,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TreeId::Users => "users",
            TreeId::Accounts => "accounts",
            TreeId::Cards => "devices",
            TreeId::Wallets => "wallets",
            TreeId::Kits => "kits",
            TreeId::StoredResponses => "enrollments",
            TreeId::Tokens => "tokens",
            TreeId::Reviews => "reviews",
            TreeId::IdxAlias => "idx_alias",
            TreeId::IdxPack => "idx_pack",
            TreeId::IdxNumber => "idx_number",
            TreeId::IdxWalletsByCard => "idx_wallets_by_card",
            TreeId::IdxSsn => "idx_ssn",
            TreeId::Meta => "meta",
            TreeId::IdxTokensByClient => "idx_tokens_by_client",
            TreeId::Events => "events",
            TreeId::Webhooks => "webhooks",
            TreeId::Deliveries => "deliveries",
            TreeId::IdxDueDeliveries => "idx_due_deliveries",
        }
    }
}

/// Key of a kit.
pub fn kit_key(program: &str, mapping_id: &str) -> Vec<u8> {
    join(&[program.as_bytes(), mapping_id.as_bytes()])
}

/// Key of the card pack ID index: pack IDs are unique within a program, so one program's pack
/// IDs say nothing about another's.
pub fn pack_key(program: &str, pack_id: &str) -> Vec<u8> {
    join(&[program.as_bytes(), pack_id.as_bytes()])
}

/// Key of a stored BaaS response: its [`ResponseKey`]'s stored form.
pub fn response_key(k: &ResponseKey) -> Vec<u8> {
    k.to_bytes()
}

/// Key of the SSN index.
pub fn ssn_key(program: &str, fingerprint: &[u8; 32]) -> Vec<u8> {
    join(&[program.as_bytes(), fingerprint])
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

/// The tree holding a counted entity.
pub fn tree_of(c: Counted) -> TreeId {
    match c {
        Counted::Users => TreeId::Users,
        Counted::Accounts => TreeId::Accounts,
        Counted::Cards => TreeId::Cards,
        Counted::Wallets => TreeId::Wallets,
        Counted::Kits => TreeId::Kits,
        Counted::StoredResponses => TreeId::StoredResponses,
        Counted::Reviews => TreeId::Reviews,
    }
}

/// The open store. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: batch::DurableDb,
    /// The batch journal's own database (see [`batch`]).
    journal: batch::DurableDb,
    trees: Vec<sled::Tree>,
    durability: Durability,
    batcher: Arc<Batcher>,
    /// The free-space floor and the bound on waiting requests (see [`admission`]).
    admission: admission::Admission,
    /// Whether idx_ssn held entries at open: only a store written before user ids were derived
    /// has any, and only then is it worth a read when a user is looked up by SSN.
    legacy_ssn_index: bool,
    /// The prefix of this store's event ids (see [`crate::domain::event::event_id`]).
    event_prefix: String,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path, durability: Durability) -> DomainResult<SledStore> {
        Self::open_with_cache(dir, durability, DEFAULT_CACHE_BYTES)
    }

    /// [`open`](Self::open) with sled's page cache bounded to `cache_bytes` (sled counts
    /// compressed page sizes, so the process holds up to about twice that once the cache is
    /// full; a store smaller than the cache stays wholly in memory).
    pub fn open_with_cache(
        dir: &Path,
        durability: Durability,
        cache_bytes: u64,
    ) -> DomainResult<SledStore> {
        std::fs::create_dir_all(dir).map_err(storage_err)?;
        let db =
            open_sled(&sled_config(dir).cache_capacity(cache_bytes), dir).map_err(storage_err)?;
        let trees = TreeId::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage_err)?;
        let journal =
            open_sled(&journal_config(dir), &dir.join(batch::JOURNAL_DIR)).map_err(storage_err)?;
        let durable_db = batch::DurableDb::new(db, dir).map_err(storage_err)?;
        let durable_journal =
            batch::DurableDb::new(journal, &dir.join(batch::JOURNAL_DIR)).map_err(storage_err)?;
        let replayed = batch::replay(&durable_db, &trees, &durable_journal)?;
        if replayed > 0 {
            log::warn!("wrote {replayed} journaled batches left by a crash into the store");
        }
        let legacy_ssn_index = !trees[TreeId::IdxSsn as usize].is_empty();
        let event_prefix = events::event_prefix(&durable_db, &trees[TreeId::Meta as usize])?;
        let batcher = Batcher::start(
            durable_db.clone(),
            trees.clone(),
            durable_journal.clone(),
            durability,
        );
        Ok(SledStore {
            inner: Arc::new(Inner {
                db: durable_db,
                journal: durable_journal,
                trees,
                durability,
                batcher,
                admission: admission::Admission::new(dir.to_path_buf()),
                legacy_ssn_index,
                event_prefix,
            }),
        })
    }

    /// Refuse writes (503) while the store's filesystem has less than `min_free_bytes` free,
    /// and requests past `max_pending` waiting for the store at once (see [`admission`]).
    pub fn set_limits(&self, min_free_bytes: u64, max_pending: usize) {
        self.inner.admission.set(min_free_bytes, max_pending);
    }

    /// 503 at once when the store's queue is full, before a use case does its own work.
    pub fn refuse_if_busy(&self) -> DomainResult<()> {
        self.inner.admission.refuse_if_full()
    }

    /// Opens and closes the store at `dir` once more, after it was closed cleanly, so that the
    /// next start is quick: sled 0.34 writes its snapshot (where every page is) only while
    /// opening, so a start otherwise re-reads all the log written since the previous start.
    /// Fails if the store is still open in this process.
    pub fn checkpoint(dir: &Path) -> DomainResult<()> {
        drop(open_sled(&sled_config(dir), dir).map_err(storage_err)?);
        drop(open_sled(&journal_config(dir), &dir.join(batch::JOURNAL_DIR)).map_err(storage_err)?);
        Ok(())
    }

    pub fn durability(&self) -> Durability {
        self.inner.durability
    }

    pub(crate) fn tree(&self, t: TreeId) -> &sled::Tree {
        &self.inner.trees[t as usize]
    }

    /// Runs `f` against the store, serialised with every other closure; on success its writes
    /// join the gathering batch. Answers `f`'s value and the batch generation to wait for.
    fn run<T>(&self, f: impl FnOnce(&SledTx) -> TxResult<T>) -> DomainResult<(T, Option<u64>)> {
        let b = &self.inner.batcher;
        let mut st = b.state.lock();
        let tx = SledTx::new(self, &st.gathering, b.sealed_layers());
        let out = f(&tx).map_err(TxFail::into_domain)?;
        let writes = tx.into_writes();
        if !writes.is_empty() {
            // Refused here, nothing of `f` reaches the store.
            self.inner.admission.space_for_writes()?;
        }
        let wait = if writes.is_empty() {
            b.pending_generation(&st)
        } else {
            Some(b.add(&mut st, writes))
        };
        Ok((out, wait))
    }

    /// One request's writes, all or nothing: `f` runs serialised with every other writer and
    /// sees their writes; the answer comes once the batch holding its writes is in the store
    /// and, under `durability = "flush"`, on disk. Concurrent requests share one journal
    /// record and one flush (see [`batch`]).
    pub async fn commit<T>(&self, f: impl FnOnce(&SledTx) -> TxResult<T>) -> DomainResult<T> {
        let _waiting = self.inner.admission.enter()?;
        self.commit_unqueued(f).await
    }

    /// [`commit`](Self::commit) outside the bound on waiting requests (the delivery loop's
    /// writes; see `Store::commit_in_background`).
    pub async fn commit_unqueued<T>(
        &self,
        f: impl FnOnce(&SledTx) -> TxResult<T>,
    ) -> DomainResult<T> {
        let (out, wait) = self.run(f)?;
        if let Some(g) = wait {
            self.inner.batcher.wait(g).await?;
        }
        Ok(out)
    }

    /// [`commit`](Self::commit) for callers outside an async runtime (CLI, sweeper, tests).
    pub fn transact<T>(&self, f: impl FnOnce(&SledTx) -> TxResult<T>) -> DomainResult<T> {
        let (out, wait) = self.run(f)?;
        if let Some(g) = wait {
            self.inner.batcher.wait_blocking(g)?;
        }
        Ok(out)
    }

    /// Flushes everything to disk now (`fdatasync` included), blocking.
    pub fn flush(&self) -> DomainResult<()> {
        self.inner.journal.flush().map_err(storage_err)?;
        self.inner.db.flush().map_err(storage_err)
    }

    /// Entity counts from the `meta` tree.
    pub fn counts(&self) -> DomainResult<Vec<(Counted, u64)>> {
        Counted::ALL
            .iter()
            .map(|c| Ok((*c, self.count(*c)?)))
            .collect()
    }

    pub fn count(&self, c: Counted) -> DomainResult<u64> {
        let v = self.raw(TreeId::Meta, COUNTS_KEY)?;
        Ok(read_counts(v.as_deref())[c.index()])
    }

    /// Per tree: its name, number of keys and bytes of keys plus values (a full scan).
    pub fn logical_sizes(&self) -> Vec<(&'static str, u64, u64)> {
        TreeId::ALL
            .iter()
            .map(|t| {
                let (mut n, mut bytes) = (0u64, 0u64);
                for (k, v) in self.tree(*t).iter().flatten() {
                    n += 1;
                    bytes += (k.len() + v.len()) as u64;
                }
                (t.name(), n, bytes)
            })
            .collect()
    }

    /// Running totals of the batch committer.
    pub fn commit_stats(&self) -> &CommitStats {
        &self.inner.batcher.stats
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.inner.db.size_on_disk().unwrap_or(0) + self.inner.journal.size_on_disk().unwrap_or(0)
    }

    /// Every OFAC review, durable batches not yet in the tree included.
    pub fn reviews(&self) -> impl Iterator<Item = DomainResult<crate::domain::model::Review>> + '_ {
        self.scan(TreeId::Reviews)
            .map(|r| r.map(|(_, review)| review))
    }

    /// All values of a tree in key order, decoded (for listings and verify), durable batches
    /// not yet in the tree included.
    pub fn scan<T: serde::de::DeserializeOwned>(
        &self,
        t: TreeId,
    ) -> impl Iterator<Item = DomainResult<(Vec<u8>, T)>> + '_ {
        self.scan_raw(t).map(|r| {
            let (k, v) = r?;
            let val = codec::decode(&v).map_err(storage_err)?;
            Ok((k, val))
        })
    }

    /// A tree's raw values in key order, durable batches not yet in the tree included.
    fn scan_raw(
        &self,
        t: TreeId,
    ) -> impl Iterator<Item = DomainResult<(Vec<u8>, sled::IVec)>> + '_ {
        let pending = self.inner.batcher.durable_writes(t as u8);
        let tree = self
            .tree(t)
            .iter()
            .map(|r| r.map(|(k, v)| (k.to_vec(), v)).map_err(storage_err));
        merge::Merged::new(tree, pending)
    }

    /// Every stored token grant by token hash, legacy ones included ([`decode_grant`]).
    pub fn token_grants(
        &self,
    ) -> impl Iterator<Item = DomainResult<(Vec<u8>, crate::domain::model::TokenGrant)>> + '_ {
        self.scan_raw(TreeId::Tokens).map(|r| {
            let (k, v) = r?;
            Ok((k, decode_grant(&v).map_err(storage_err)?))
        })
    }

    /// Hashes of tokens expired at `now`, at most `limit`.
    pub fn expired_tokens(&self, now: i64, limit: usize) -> DomainResult<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for r in self.token_grants() {
            let (k, g) = r?;
            if g.expires_at <= now {
                out.push(k);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Stored responses last written before `cutoff` (Unix seconds), at most `limit`.
    pub fn responses_before(
        &self,
        cutoff: i64,
        limit: usize,
    ) -> DomainResult<Vec<(ResponseKey, crate::domain::model::StoredResponse)>> {
        let mut out = Vec::new();
        for r in self.scan::<crate::domain::model::StoredResponse>(TreeId::StoredResponses) {
            let (k, v) = r?;
            if v.created_at < cutoff {
                let key = ResponseKey::from_bytes(&k)
                    .ok_or_else(|| storage_err("enrollments: a key is not a response key"))?;
                out.push((key, v));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.batcher.stop();
        let _ = self.db.flush();
    }
}

/// Opens a sled database, waiting up to two seconds for its file lock: sled 0.34 releases the
/// lock only when its background flusher thread has let go of a closed database, a moment
/// after the last handle is dropped, so opening again right after closing can find it held.
/// Opens the sled database at `dir`, waiting briefly for a lock a just-closed one still holds,
/// then makes its `conf` file durable: sled 0.34 writes `conf` without any fsync, and a torn
/// `conf` after a power cut makes it refuse to open. A `conf` torn before (a store created by
/// an older issuebox, or cut during its first open) is rebuilt first; damage that cannot be
/// repaired fails with a message naming the file and the command that recovers ([`repair`]).
fn open_sled(config: &sled::Config, dir: &Path) -> sled::Result<sled::Db> {
    repair::repair_conf(config, dir)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let db = loop {
        match config.open() {
            // sled reports it as `Other` with the lock error in its text.
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.map_err(|e| repair::explain(dir, e))?,
        }
    };
    sync_conf(dir)?;
    Ok(db)
}

/// `fsync`s sled's `conf` file, the directory that names it (and `conf`, `db`, `blobs`, `snap.*`),
/// and that directory's parent, which names it (the store's data_dir for the journal's database,
/// which sled creates inside it).
fn sync_conf(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir.join("conf"))?.sync_all()?;
    std::fs::File::open(dir)?.sync_all()?;
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::File::open(parent)?.sync_all(),
        None => Ok(()),
    }
}

fn journal_config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir.join(batch::JOURNAL_DIR))
        .cache_capacity(16 * 1024 * 1024)
        .flush_every_ms(Some(500))
}

/// sled's page cache unless `storage.cache_bytes` says otherwise.
pub const DEFAULT_CACHE_BYTES: u64 = 512 * 1024 * 1024;

fn sled_config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .cache_capacity(DEFAULT_CACHE_BYTES)
        .flush_every_ms(Some(500))
}

/// The one `meta` key holding every counter: one key, so a request that creates a user, an
/// account, a card and a stored response writes it once.
const COUNTS_KEY: &[u8] = b"counts";

pub(crate) fn read_counts(b: Option<&[u8]>) -> [u64; Counted::ALL.len()] {
    let mut out = [0u64; Counted::ALL.len()];
    if let Some(b) = b {
        for (i, chunk) in b.chunks_exact(8).take(out.len()).enumerate() {
            out[i] = u64::from_be_bytes(chunk.try_into().expect("8 bytes"));
        }
    }
    out
}

pub(crate) fn write_counts(c: &[u64; Counted::ALL.len()]) -> Vec<u8> {
    c.iter().flat_map(|n| n.to_be_bytes()).collect()
}

#[cfg(test)]
mod tests;
