//! The batch committer: many requests' writes, one sled transaction, one flush.
//!
//! sled 0.34 rolls its log buffer twice per transaction (two writes and two `sync_file_range`
//! calls), and every transaction holds a global lock, so one transaction per request caps
//! throughput well below what the CPU allows. Instead, a request runs its use-case closure under
//! one mutex against a layered view — its own writes, then the batch being gathered, then the
//! batch being applied, then sled — and on success adds its writes to the gathering batch.
//! One committer thread applies each gathered batch in a single sled transaction over every
//! tree (so a crash keeps all of a batch or none of it), flushes it under `durability = "flush"`,
//! and only then are that batch's requests answered. A request that fails adds nothing, so each
//! request stays all-or-nothing.
//!
//! The mutex makes closures run one at a time, which is what makes rules such as the 15-wallet
//! cap hold: the same serialisation sled's own transactions gave, without their per-transaction
//! cost. If a batch ever fails to apply, the store stops accepting writes (every later commit
//! fails): later batches may have been computed from the failed one's values.

use crate::config::Durability;
use crate::domain::error::{DomainError, DomainResult};
use parking_lot::{Condvar, Mutex};
use sled::IVec;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

/// A write set: `(tree index, key)` to the new value, or `None` for a removal.
pub(super) type Overlay = HashMap<(u8, Vec<u8>), Option<IVec>>;

pub(super) struct State {
    /// Writes of committed closures not yet handed to the committer.
    pub(super) gathering: Overlay,
    /// How many closures' writes the gathering batch holds.
    pub(super) gathered: u64,
    /// Generation number of the gathering batch.
    pub(super) generation: u64,
    /// The batch the committer is applying now; visible to readers until it is in sled.
    pub(super) applying: Option<Arc<Overlay>>,
    stop: bool,
}

/// The last applied batch: its generation, and whether it (and every batch before it) reached
/// the store (and the disk, under `flush`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Applied {
    generation: u64,
    ok: bool,
}

/// Running totals of the committer, for `/metrics`.
#[derive(Debug, Default)]
pub struct CommitStats {
    pub batches: AtomicU64,
    pub requests: AtomicU64,
    pub writes: AtomicU64,
    pub apply_nanos: AtomicU64,
    pub flush_nanos: AtomicU64,
}

pub(super) struct Batcher {
    pub(super) stats: CommitStats,
    pub(super) state: Mutex<State>,
    wake: Condvar,
    applied: watch::Sender<Applied>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Batcher {
    pub(super) fn start(
        db: sled::Db,
        trees: Vec<sled::Tree>,
        durability: Durability,
    ) -> Arc<Batcher> {
        let (applied, _) = watch::channel(Applied {
            generation: 0,
            ok: true,
        });
        let b = Arc::new(Batcher {
            stats: CommitStats::default(),
            state: Mutex::new(State {
                gathering: Overlay::new(),
                gathered: 0,
                generation: 1,
                applying: None,
                stop: false,
            }),
            wake: Condvar::new(),
            applied,
            thread: Mutex::new(None),
        });
        let worker = b.clone();
        let handle = std::thread::Builder::new()
            .name("issuebox-committer".into())
            .spawn(move || worker.run(db, trees, durability))
            .expect("spawn committer thread");
        *b.thread.lock() = Some(handle);
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

    /// The generation a read-only closure must wait for so that nothing it saw can be lost:
    /// `None` when it can only have read applied data.
    pub(super) fn pending_generation(st: &State) -> Option<u64> {
        if !st.gathering.is_empty() {
            Some(st.generation)
        } else if st.applying.is_some() {
            Some(st.generation - 1)
        } else {
            None
        }
    }

    fn result(a: &Applied, generation: u64) -> Option<DomainResult<()>> {
        if !a.ok {
            return Some(Err(DomainError::Storage(
                "the store could not apply a batch of writes".into(),
            )));
        }
        (a.generation >= generation).then_some(Ok(()))
    }

    /// Waits until batch `generation` is applied (and flushed under `durability = "flush"`).
    pub(super) async fn wait(&self, generation: u64) -> DomainResult<()> {
        let mut rx = self.applied.subscribe();
        let a = *rx
            .wait_for(|a| Self::result(a, generation).is_some())
            .await
            .map_err(|_| DomainError::Storage("committer stopped".into()))?;
        Self::result(&a, generation).unwrap_or(Ok(()))
    }

    /// [`wait`](Self::wait) for callers outside an async runtime.
    pub(super) fn wait_blocking(&self, generation: u64) -> DomainResult<()> {
        let mut rx = self.applied.subscribe();
        loop {
            if let Some(r) = Self::result(&rx.borrow_and_update(), generation) {
                return r;
            }
            // The committer publishes within milliseconds; poll rather than need a runtime.
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    /// Applies what is gathered, then stops the committer thread.
    pub(super) fn stop(&self) {
        self.state.lock().stop = true;
        self.wake.notify_one();
        if let Some(h) = self.thread.lock().take() {
            let _ = h.join();
        }
    }

    fn run(&self, db: sled::Db, trees: Vec<sled::Tree>, durability: Durability) {
        let mut healthy = true;
        loop {
            let (batch, generation) = {
                let mut st = self.state.lock();
                while st.gathering.is_empty() && !st.stop {
                    self.wake.wait(&mut st);
                }
                if st.gathering.is_empty() {
                    return;
                }
                let batch = Arc::new(std::mem::take(&mut st.gathering));
                self.stats
                    .requests
                    .fetch_add(std::mem::take(&mut st.gathered), Relaxed);
                st.applying = Some(batch.clone());
                let generation = st.generation;
                st.generation += 1;
                (batch, generation)
            };
            if healthy {
                let started = Instant::now();
                healthy = match apply(&trees, &batch) {
                    Ok(()) => true,
                    Err(e) => {
                        log::error!("applying a batch of {} writes failed: {e:?}", batch.len());
                        false
                    }
                };
                let applied = Instant::now();
                if healthy && durability == Durability::Flush {
                    healthy = db
                        .flush()
                        .map_err(|e| log::error!("flush failed: {e}"))
                        .is_ok();
                }
                let s = &self.stats;
                s.batches.fetch_add(1, Relaxed);
                s.writes.fetch_add(batch.len() as u64, Relaxed);
                s.apply_nanos
                    .fetch_add((applied - started).as_nanos() as u64, Relaxed);
                s.flush_nanos
                    .fetch_add(applied.elapsed().as_nanos() as u64, Relaxed);
            }
            self.state.lock().applying = None;
            self.applied.send_replace(Applied {
                generation,
                ok: healthy,
            });
        }
    }
}

/// One sled transaction over every tree holding the whole batch.
fn apply(
    trees: &[sled::Tree],
    batch: &Overlay,
) -> Result<(), sled::transaction::TransactionError<()>> {
    use sled::Transactional;
    trees.transaction(|views| {
        for ((t, key), value) in batch.iter() {
            let view = &views[*t as usize];
            match value {
                Some(v) => {
                    view.insert(key.as_slice(), v.clone())?;
                }
                None => {
                    view.remove(key.as_slice())?;
                }
            }
        }
        Ok(())
    })
}
