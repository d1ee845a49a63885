//! The bound on requests waiting for the SQL engine at once (the embedded engine has its own,
//! beside its free-space floor): past it a request answers 503 with `Retry-After` at once
//! rather than queueing without end for a connection.

use crate::domain::error::{DomainError, DomainResult};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Requests waiting for the store at once, and how many may.
pub(super) struct WriteQueue {
    pending: AtomicUsize,
    pub(super) max: AtomicUsize,
}

impl Default for WriteQueue {
    fn default() -> Self {
        WriteQueue {
            pending: Default::default(),
            max: usize::MAX.into(),
        }
    }
}

/// A request counted in the [`WriteQueue`] until dropped.
pub(super) struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl WriteQueue {
    /// Counts a request in, or answers 503 (`StoreBusy`) past the bound.
    pub(super) fn enter(&self) -> DomainResult<Queued<'_>> {
        let before = self.pending.fetch_add(1, Relaxed);
        let q = Queued(&self.pending);
        if before >= self.max.load(Relaxed) {
            return Err(DomainError::StoreBusy);
        }
        Ok(q)
    }

    pub(super) fn refuse_if_full(&self) -> DomainResult<()> {
        if self.pending.load(Relaxed) >= self.max.load(Relaxed) {
            return Err(DomainError::StoreBusy);
        }
        Ok(())
    }
}
