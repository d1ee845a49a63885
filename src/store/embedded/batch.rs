//! The batch committer: many requests' writes, one journal record, one flush.
//!
//! A request runs its use-case closure under one mutex against a layered view — its own
//! writes, then the batch being gathered, then sealed batches not yet wholly in the trees, then
//! sled — and on success adds its writes to the gathering batch. The mutex makes closures run
//! one at a time, which is what makes rules such as the 15-wallet cap hold.
//!
//! Two threads take it from there:
//! - the **journal** thread seals the gathering batch, writes it as ONE key (atomic on its own)
//!   to the journal — a small sled database of its own beside the trees — flushes the journal
//!   under `durability = "flush"`, and only then are the batch's requests answered;
//! - the **applier** thread writes each sealed batch into the entity and index trees with plain
//!   sled inserts, flushes the trees every few milliseconds, and then removes the journal records
//!   of the batches they now hold.
//!
//! Why not one sled transaction per batch (the house plan's "one multi-tree transaction"):
//! a sled 0.34 transaction takes a process-wide write lock that stalls every reader for its
//! whole duration (about 0.6 ms per enrollment batch), reads every key it writes, and keeps the
//! apply on the answer's critical path. The journal record gives the same promise — a request's
//! writes are one atomic sled write, on disk before the answer — while the apply runs beside the
//! next batch's flush and readers never wait on a lock. (No `apply_batch` or transaction may be
//! used anywhere: either switches sled's lock on for the whole process.)
//!
//! "Flushed" means `fdatasync`ed ([`DurableDb`]): sled's own flush leaves the data in the
//! device's write cache and the file's size uncommitted, which a power cut (unlike a killed
//! process) can lose.
//!
//! Crash safety: a batch's tree writes are issued only after its journal record is on disk (the
//! journal thread flushed it, or under `os` the applier flushes the journal first, once for all
//! the batches waiting), and a record
//! is removed only after a flush of the trees that holds all of the batch. So after a crash every
//! batch whose tree writes may be partial still has its record, and [`replay`] writes it again
//! at start-up, oldest first (writes are whole values, so replaying is idempotent). Records are
//! removed in generation order, and sled recovers a prefix of its log (its segment recovery cuts
//! at the first tear), so no record survives a crash that removed a later one.
//!
//! Readers: a closure ([`super::SledTx`]) sees every sealed batch; a plain read ([`super::SledStore`])
//! sees only sealed batches that are durable, so it never shows what a crash could take back.
//! A sealed batch stays visible until the applier has written all of it into the trees.
//! If a batch ever fails to journal or apply, the store stops accepting writes (every later
//! commit fails): later batches may have been computed from the failed one's values.

use super::codec;
use crate::config::Durability;
use crate::domain::error::{DomainError, DomainResult};
use parking_lot::{Condvar, Mutex, RwLock};
use sled::IVec;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{
    AtomicBool, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

/// A write set: `(tree index, key)` to the new value, or `None` for a removal. Hashed with
/// rustc's Fx hash, not std's SipHash (a tenth of the hashing time, which callgrind put at
/// 13,000 instructions per enrollment): a set holds one batch's keys, most of them derived ids.
pub(super) type Overlay = rustc_hash::FxHashMap<(u8, Vec<u8>), Option<IVec>>;

/// A batch taken from the gatherer; visible to readers until it is all in the trees.
pub(super) struct Sealed {
    generation: u64,
    pub(super) writes: Overlay,
    /// Set once its journal record is written (and flushed, under `flush`).
    durable: AtomicBool,
}

impl Sealed {
    fn is_durable(&self) -> bool {
        self.durable.load(Acquire)
    }
}

pub(super) struct State {
    /// Writes of committed closures not yet sealed.
    pub(super) gathering: Overlay,
    /// How many closures' writes the gathering batch holds.
    gathered: u64,
    /// Generation number of the gathering batch.
    generation: u64,
    stop: bool,
}

/// The last durable batch, and whether it (and every batch before it) was journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Durable {
    generation: u64,
    ok: bool,
}

/// Running totals of the committer, for `/metrics`.
#[derive(Debug, Default)]
pub struct CommitStats {
    pub batches: AtomicU64,
    pub requests: AtomicU64,
    pub writes: AtomicU64,
    /// Time the applier spent writing batches into the trees.
    pub apply_nanos: AtomicU64,
    /// Time the journal thread spent writing and flushing journal records.
    pub flush_nanos: AtomicU64,
}

pub(super) struct Batcher {
    pub(super) stats: CommitStats,
    pub(super) state: Mutex<State>,
    wake: Condvar,
    /// Sealed batches not yet wholly in the trees, oldest first.
    sealed: RwLock<VecDeque<Arc<Sealed>>>,
    durable: watch::Sender<Durable>,
    /// Set when a batch failed to apply: nothing later may be journaled.
    failed: AtomicBool,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// A sled database whose [`flush`](DurableDb::flush) reaches the disk. sled 0.34 writes a flush
/// with `sync_file_range`, which neither commits the file's metadata nor empties the device's
/// write cache (sled itself calls `fsync` only every `flush_every_ms`), so after `Db::flush`
/// alone a power cut could still lose the data. `fdatasync` on the database's data file
/// (`<dir>/db`) does both.
///
/// sled also writes any log item over a quarter of a segment (128 KiB: a journal record of a
/// large batch, such as a kit load beside enrollments) to a file of its own under
/// `<dir>/blobs/`, never `fsync`ed, and at recovery skips a log entry whose blob file is
/// missing ("dangling blob"), silently. So the flush `fsync`s every blob file it has not synced
/// at its present length, and the `blobs` directory when one was new, before the `fdatasync`
/// of `db`: the power-cut harness lost an acknowledged batch this way. Other methods are the
/// database's own.
#[derive(Clone)]
pub(super) struct DurableDb {
    db: sled::Db,
    file: Arc<std::fs::File>,
    blobs: Arc<Blobs>,
}

/// The blob files of one database synced so far, with the length each had then (a blob being
/// written while the directory is read is synced again once it is longer).
struct Blobs {
    dir: std::path::PathBuf,
    synced: Mutex<HashMap<std::ffi::OsString, u64>>,
}

impl Blobs {
    fn sync(&self) -> std::io::Result<()> {
        let mut synced = self.synced.lock();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            // sled creates the directory at open; none means no blob.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut present = HashMap::with_capacity(synced.len());
        let mut new_file = false;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            // A blob sled removed meanwhile (its log entry is gone too) needs nothing.
            let Ok(len) = entry.metadata().map(|m| m.len()) else {
                continue;
            };
            if synced.get(&name) != Some(&len) {
                match std::fs::File::open(entry.path()) {
                    Ok(f) => f.sync_data()?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                new_file |= !synced.contains_key(&name);
            }
            present.insert(name, len);
        }
        if new_file {
            std::fs::File::open(&self.dir)?.sync_all()?;
        }
        *synced = present;
        Ok(())
    }
}

impl DurableDb {
    /// `db`, opened at `dir`.
    pub(super) fn new(db: sled::Db, dir: &std::path::Path) -> std::io::Result<DurableDb> {
        let file = std::fs::File::open(dir.join("db"))?;
        Ok(DurableDb {
            db,
            file: Arc::new(file),
            blobs: Arc::new(Blobs {
                dir: dir.join("blobs"),
                synced: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// sled's flush, then `fsync` of new blob files, then `fdatasync` of the log.
    pub(super) fn flush(&self) -> sled::Result<()> {
        self.db.flush()?;
        self.blobs.sync().map_err(sled::Error::Io)?;
        self.file.sync_data().map_err(sled::Error::Io)
    }
}

impl std::ops::Deref for DurableDb {
    type Target = sled::Db;
    fn deref(&self) -> &sled::Db {
        &self.db
    }
}

/// Directory of the journal's own sled database, inside the store's: journal records are
/// short-lived, and kept apart their space is reused at once instead of leaving garbage among
/// the entity trees' pages. Records are keyed by big-endian generation.
pub(super) const JOURNAL_DIR: &str = "journal";

impl Batcher {
    pub(super) fn start(
        db: DurableDb,
        trees: Vec<sled::Tree>,
        journal: DurableDb,
        durability: Durability,
    ) -> Arc<Batcher> {
        let (durable, _) = watch::channel(Durable {
            generation: 0,
            ok: true,
        });
        let b = Arc::new(Batcher {
            stats: CommitStats::default(),
            state: Mutex::new(State {
                gathering: Overlay::default(),
                gathered: 0,
                generation: 1,
                stop: false,
            }),
            wake: Condvar::new(),
            sealed: RwLock::new(VecDeque::new()),
            durable,
            failed: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
        });
        let (to_applier, applier_rx) = std::sync::mpsc::channel::<Arc<Sealed>>();
        let journaler = b.clone();
        let journal2 = journal.clone();
        let j = std::thread::Builder::new()
            .name("issuebox-journal".into())
            .spawn(move || journaler.run_journal(journal2, durability, to_applier))
            .expect("spawn journal thread");
        let applier = b.clone();
        let a = std::thread::Builder::new()
            .name("issuebox-apply".into())
            .spawn(move || applier.run_applier(db, trees, journal, durability, applier_rx))
            .expect("spawn applier thread");
        b.threads.lock().extend([j, a]);
        b
    }

    /// Adds a closure's writes to the gathering batch (the caller holds the state lock) and
    /// answers the generation to wait for.
    pub(super) fn add(&self, st: &mut State, writes: Overlay) -> u64 {
        st.gathering.extend(writes);
        st.gathered += 1;
        self.wake.notify_one();
        st.generation
    }

    /// Every sealed batch not yet in the trees, newest first, for a closure (the caller holds
    /// the state lock, so none is sealed meanwhile).
    pub(super) fn sealed_layers(&self) -> Vec<Arc<Sealed>> {
        self.sealed.read().iter().rev().cloned().collect()
    }

    /// The value a durable, not yet applied batch gives `key`: `Some(None)` for a removal,
    /// `None` when no such batch touches it.
    pub(super) fn durable_value(&self, t: u8, key: &[u8]) -> Option<Option<IVec>> {
        let sealed = self.sealed.read();
        if sealed.is_empty() {
            return None;
        }
        let k = (t, key.to_vec());
        sealed
            .iter()
            .rev()
            .filter(|s| s.is_durable())
            .find_map(|s| s.writes.get(&k).cloned())
    }

    /// The writes of durable, not yet applied batches to tree `t`, newest value per key.
    pub(super) fn durable_writes(
        &self,
        t: u8,
    ) -> std::collections::BTreeMap<Vec<u8>, Option<IVec>> {
        let mut out = std::collections::BTreeMap::new();
        for s in self.sealed.read().iter().filter(|s| s.is_durable()) {
            for ((tree, k), v) in &s.writes {
                if *tree == t {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }

    /// The generation a read-only closure must wait for so that nothing it saw can be lost:
    /// `None` when it can only have read durable data.
    pub(super) fn pending_generation(&self, st: &State) -> Option<u64> {
        if !st.gathering.is_empty() {
            return Some(st.generation);
        }
        self.sealed
            .read()
            .back()
            .filter(|s| !s.is_durable())
            .map(|s| s.generation)
    }

    fn result(d: &Durable, generation: u64) -> Option<DomainResult<()>> {
        if !d.ok {
            return Some(Err(DomainError::Storage(
                "the store could not journal a batch of writes".into(),
            )));
        }
        (d.generation >= generation).then_some(Ok(()))
    }

    /// Waits until batch `generation` is journaled (and flushed under `durability = "flush"`).
    pub(super) async fn wait(&self, generation: u64) -> DomainResult<()> {
        let mut rx = self.durable.subscribe();
        let d = *rx
            .wait_for(|d| Self::result(d, generation).is_some())
            .await
            .map_err(|_| DomainError::Storage("committer stopped".into()))?;
        Self::result(&d, generation).unwrap_or(Ok(()))
    }

    /// [`wait`](Self::wait) for callers outside an async runtime.
    pub(super) fn wait_blocking(&self, generation: u64) -> DomainResult<()> {
        let rx = self.durable.subscribe();
        loop {
            if let Some(r) = Self::result(&rx.borrow(), generation) {
                return r;
            }
            // The journal thread publishes within milliseconds; poll rather than need a runtime.
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    /// Journals and applies what is gathered, then stops both threads.
    pub(super) fn stop(&self) {
        self.state.lock().stop = true;
        self.wake.notify_one();
        let threads = std::mem::take(&mut *self.threads.lock());
        for h in threads {
            let _ = h.join();
        }
    }

    fn run_journal(
        &self,
        journal: DurableDb,
        durability: Durability,
        to_applier: std::sync::mpsc::Sender<Arc<Sealed>>,
    ) {
        let mut healthy = true;
        loop {
            let sealed = {
                let mut st = self.state.lock();
                while st.gathering.is_empty() && !st.stop {
                    self.wake.wait(&mut st);
                }
                if st.gathering.is_empty() {
                    return;
                }
                let sealed = Arc::new(Sealed {
                    generation: st.generation,
                    writes: std::mem::take(&mut st.gathering),
                    durable: AtomicBool::new(false),
                });
                self.stats
                    .requests
                    .fetch_add(std::mem::take(&mut st.gathered), Relaxed);
                st.generation += 1;
                self.sealed.write().push_back(sealed.clone());
                sealed
            };
            healthy = healthy && !self.failed.load(Acquire);
            if healthy {
                let started = Instant::now();
                let record = codec::encode_journal(
                    sealed
                        .writes
                        .iter()
                        .map(|((t, k), v)| (*t, k.as_slice(), v.as_deref())),
                );
                healthy = journal
                    .insert(sealed.generation.to_be_bytes(), record)
                    .map_err(|e| log::error!("writing a journal record failed: {e}"))
                    .is_ok();
                if healthy && durability == Durability::Flush {
                    healthy = journal
                        .flush()
                        .map_err(|e| log::error!("flushing the journal failed: {e}"))
                        .is_ok();
                }
                let s = &self.stats;
                s.batches.fetch_add(1, Relaxed);
                s.writes.fetch_add(sealed.writes.len() as u64, Relaxed);
                s.flush_nanos
                    .fetch_add(started.elapsed().as_nanos() as u64, Relaxed);
            }
            if healthy {
                sealed.durable.store(true, Release);
            }
            self.durable.send_replace(Durable {
                generation: sealed.generation,
                ok: healthy,
            });
            if healthy {
                // The applier outlives this thread's sender; a send fails only if it panicked.
                let _ = to_applier.send(sealed);
            }
        }
    }

    /// Applies batches in order; removes their journal records once the trees holding them
    /// are flushed (at most every [`TREE_FLUSH_EVERY`], and when stopping).
    fn run_applier(
        &self,
        db: DurableDb,
        trees: Vec<sled::Tree>,
        journal: DurableDb,
        durability: Durability,
        batches: std::sync::mpsc::Receiver<Arc<Sealed>>,
    ) {
        use std::sync::mpsc::RecvTimeoutError;
        let mut unflushed: Vec<u64> = Vec::new();
        let mut last_flush = Instant::now();
        loop {
            let (next, stopping) = match batches.recv_timeout(TREE_FLUSH_EVERY) {
                Ok(s) => (Some(s), false),
                Err(RecvTimeoutError::Timeout) => (None, false),
                Err(RecvTimeoutError::Disconnected) => (None, true),
            };
            if self.failed.load(Acquire) {
                if stopping {
                    return;
                }
                continue;
            }
            if let Some(first) = next {
                let started = Instant::now();
                // Every batch already waiting, so that one journal sync serves them all.
                let mut ready = vec![first];
                while ready.len() < MAX_BATCHES_PER_APPLY {
                    match batches.try_recv() {
                        Ok(s) => ready.push(s),
                        Err(_) => break,
                    }
                }
                // Under `os` the journal thread did not flush: the records must be on disk
                // before any of the batches' tree writes can be, or a power cut could leave a
                // batch half in the trees with no record to replay it.
                let synced = if durability == Durability::Os {
                    journal.flush()
                } else {
                    Ok(())
                };
                for sealed in &ready {
                    match synced.clone().and_then(|()| apply(&trees, &sealed.writes)) {
                        Ok(()) => {
                            let mut q = self.sealed.write();
                            debug_assert_eq!(
                                q.front().map(|s| s.generation),
                                Some(sealed.generation)
                            );
                            q.pop_front();
                            unflushed.push(sealed.generation);
                        }
                        Err(e) => {
                            // This batch and the later ones stay visible and journaled; a
                            // restart replays them.
                            log::error!(
                                "applying a batch of {} writes failed: {e}",
                                sealed.writes.len()
                            );
                            self.failed.store(true, Release);
                            break;
                        }
                    }
                }
                self.stats
                    .apply_nanos
                    .fetch_add(started.elapsed().as_nanos() as u64, Relaxed);
            }
            if !unflushed.is_empty() && (stopping || last_flush.elapsed() >= TREE_FLUSH_EVERY) {
                let retired = db.flush().and_then(|_| {
                    unflushed
                        .iter()
                        .try_for_each(|g| journal.remove(g.to_be_bytes()).map(|_| ()))
                });
                match retired {
                    Ok(()) => unflushed.clear(),
                    Err(e) => log::warn!("retiring journal records failed (kept for replay): {e}"),
                }
                last_flush = Instant::now();
            }
            if stopping {
                let _ = journal.flush();
                return;
            }
        }
    }
}

/// The most batches the applier takes at once (under `os`, behind one journal sync).
const MAX_BATCHES_PER_APPLY: usize = 64;

/// How often the applier flushes the trees and retires the journal records they now hold.
const TREE_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// Writes one batch into the trees.
fn apply(trees: &[sled::Tree], writes: &Overlay) -> sled::Result<()> {
    for ((t, key), value) in writes {
        let tree = &trees[*t as usize];
        match value {
            Some(v) => tree.insert(key.as_slice(), v.clone())?,
            None => tree.remove(key.as_slice())?,
        };
    }
    Ok(())
}

/// Writes every journal record left by a crash into the trees, oldest first, flushes them, then
/// removes the records. Answers how many records there were.
pub(super) fn replay(
    db: &DurableDb,
    trees: &[sled::Tree],
    journal: &DurableDb,
) -> DomainResult<usize> {
    let err = |e: &dyn std::fmt::Display| DomainError::Storage(format!("journal replay: {e}"));
    let mut keys = Vec::new();
    for r in journal.iter() {
        let (k, v) = r.map_err(|e| err(&e))?;
        for (t, key, value) in codec::decode_journal(&v).map_err(|e| err(&e))? {
            let tree = trees
                .get(t as usize)
                .ok_or_else(|| err(&format!("unknown tree {t}")))?;
            match value {
                Some(v) => tree.insert(key, v),
                None => tree.remove(key),
            }
            .map_err(|e| err(&e))?;
        }
        keys.push(k);
    }
    if !keys.is_empty() {
        db.flush().map_err(|e| err(&e))?;
        for k in &keys {
            journal.remove(k).map_err(|e| err(&e))?;
        }
        journal.flush().map_err(|e| err(&e))?;
    }
    Ok(keys.len())
}
