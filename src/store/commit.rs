//! The write side of the boundary: the limits that refuse writes, and [`Store::commit`], the
//! one all-or-nothing write a use case's closure runs in (see the module doc of [`super`]).

use super::{Engine, Store, Tx, TxEngine, TxResult};
use crate::config::Durability;
use crate::domain::error::DomainResult;

impl Store {
    /// Refuse writes (503) while the store cannot take them: too little free space, or too many
    /// requests waiting at once.
    pub fn set_limits(&self, min_free_bytes: u64, max_pending: usize) {
        match &self.engine {
            Engine::Sled(e) => e.set_limits(min_free_bytes, max_pending),
            Engine::Postgres(_) => self
                .queue
                .max
                .store(max_pending, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// 503 at once when the store's queue is full, before a use case does its own work.
    pub fn refuse_if_busy(&self) -> DomainResult<()> {
        match &self.engine {
            Engine::Sled(e) => e.refuse_if_busy(),
            Engine::Postgres(_) => self.queue.refuse_if_full(),
        }
    }

    pub fn durability(&self) -> Durability {
        on_engine!(self, e => e.durability())
    }

    /// One request's writes, all or nothing: `f` sees the store as it is and its own writes;
    /// the answer comes once its writes are in the store and, under `durability = "flush"`, on
    /// disk. `f` may run more than once (see the module doc), so it must not change anything
    /// outside the store.
    pub async fn commit<T>(&self, f: impl Fn(&Tx) -> TxResult<T>) -> DomainResult<T> {
        match &self.engine {
            Engine::Sled(e) => {
                e.commit(|t| {
                    f(&Tx {
                        engine: TxEngine::Sled(t),
                    })
                })
                .await
            }
            Engine::Postgres(_) => {
                let _queued = self.queue.enter()?;
                self.commit_in_background(f).await
            }
        }
    }

    /// [`commit`](Self::commit) for the webhook delivery loop's own writes (fan-out, attempts):
    /// they are not requests, so they neither count against `storage.max_pending_writes` nor
    /// are refused by it (a loop that held the only slot refused every request arriving
    /// meanwhile). The free-space floor still holds.
    pub async fn commit_in_background<T>(&self, f: impl Fn(&Tx) -> TxResult<T>) -> DomainResult<T> {
        match &self.engine {
            Engine::Sled(e) => {
                e.commit_unqueued(|t| {
                    f(&Tx {
                        engine: TxEngine::Sled(t),
                    })
                })
                .await
            }
            Engine::Postgres(e) => {
                e.commit(|t| {
                    f(&Tx {
                        engine: TxEngine::Postgres(t),
                    })
                })
                .await
            }
        }
    }

    /// [`commit`](Self::commit) for callers outside an async runtime (CLI, sweeper, tests).
    pub fn transact<T>(&self, f: impl Fn(&Tx) -> TxResult<T>) -> DomainResult<T> {
        match &self.engine {
            Engine::Sled(e) => e.transact(|t| {
                f(&Tx {
                    engine: TxEngine::Sled(t),
                })
            }),
            Engine::Postgres(e) => e.transact(|t| {
                f(&Tx {
                    engine: TxEngine::Postgres(t),
                })
            }),
        }
    }

    /// Makes everything written so far durable now, blocking (the SQL engine's commits are).
    pub fn flush(&self) -> DomainResult<()> {
        match &self.engine {
            Engine::Sled(e) => e.flush(),
            Engine::Postgres(_) => Ok(()),
        }
    }
}
