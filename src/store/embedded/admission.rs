//! Admission of writes: a floor of free space on the store's filesystem, and a bound on the
//! requests waiting for the store at once. Both answer `Storage` (503 with `Retry-After` in every
//! dialect) and change nothing, so the server stays up, reads go on, and writes resume by
//! themselves once space returns or the queue drains.
//!
//! Why a floor rather than handling a full disk: sled 0.34 meets `ENOSPC` in its log writer and
//! flusher threads, where an error fails the whole database until it is reopened (and some of its
//! paths panic). Refusing to add writes while the filesystem still has `min_free_bytes` free keeps
//! sled away from a full disk altogether: the writes already admitted fit in the headroom.

use crate::domain::error::{DomainError, DomainResult};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

/// How long a free-space reading is trusted before `statvfs` is asked again.
const RECHECK_MS: u64 = 50;

pub(super) struct Admission {
    dir: PathBuf,
    started: Instant,
    min_free: AtomicU64,
    max_pending: AtomicUsize,
    pending: AtomicUsize,
    /// The last reading: below the floor?
    low: AtomicBool,
    /// When it was taken, in ms since `started`, plus one (0: never).
    checked: AtomicU64,
}

/// A request counted as waiting for the store until it is dropped.
pub(super) struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl Admission {
    /// No floor and no bound until [`set`](Self::set) says otherwise.
    pub(super) fn new(dir: PathBuf) -> Admission {
        Admission {
            dir,
            started: Instant::now(),
            min_free: AtomicU64::new(0),
            max_pending: AtomicUsize::new(usize::MAX),
            pending: AtomicUsize::new(0),
            low: AtomicBool::new(false),
            checked: AtomicU64::new(0),
        }
    }

    pub(super) fn set(&self, min_free_bytes: u64, max_pending: usize) {
        self.min_free.store(min_free_bytes, Relaxed);
        self.max_pending.store(max_pending.max(1), Relaxed);
        self.checked.store(0, Relaxed);
    }

    /// Counts one more request waiting for the store, or refuses it past the bound.
    pub(super) fn enter(&self) -> DomainResult<Waiting<'_>> {
        let before = self.pending.fetch_add(1, Relaxed);
        let w = Waiting(&self.pending);
        if before >= self.max_pending.load(Relaxed) {
            return Err(DomainError::StoreBusy);
        }
        Ok(w)
    }

    /// Refuses at once when as many requests already wait as the bound allows: a use case asks
    /// before its own work (parsing, screening, drawing card numbers), so that a refusal costs
    /// little. [`enter`](Self::enter) still holds the bound exactly.
    pub(super) fn refuse_if_full(&self) -> DomainResult<()> {
        if self.pending.load(Relaxed) >= self.max_pending.load(Relaxed) {
            return Err(DomainError::StoreBusy);
        }
        Ok(())
    }

    /// Refuses new writes while the filesystem has less than `min_free_bytes` free.
    pub(super) fn space_for_writes(&self) -> DomainResult<()> {
        let floor = self.min_free.load(Relaxed);
        if floor == 0 {
            return Ok(());
        }
        let now = self.started.elapsed().as_millis() as u64 + 1;
        let checked = self.checked.load(Relaxed);
        if checked == 0 || now.saturating_sub(checked) >= RECHECK_MS {
            self.checked.store(now, Relaxed);
            let free = free_bytes(&self.dir);
            let low = free.is_some_and(|f| f < floor);
            if low != self.low.swap(low, Relaxed) {
                if low {
                    log::warn!(
                        "free space under the store fell below storage.min_free_bytes ({floor}): \
                         writes answer 503 until space returns"
                    );
                } else {
                    log::info!("free space under the store is back above the floor: writes resume");
                }
            }
        }
        if self.low.load(Relaxed) {
            return Err(DomainError::StoreBusy);
        }
        Ok(())
    }
}

/// Bytes an unprivileged writer may still use on the filesystem holding `dir`.
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_above_the_free_space_refuses_and_lowering_it_admits() {
        let dir = tempfile::tempdir().unwrap();
        let a = Admission::new(dir.path().to_path_buf());
        assert!(a.space_for_writes().is_ok());
        a.set(u64::MAX, 10);
        assert_eq!(a.space_for_writes(), Err(DomainError::StoreBusy));
        a.set(1, 10);
        assert!(a.space_for_writes().is_ok());
    }

    #[test]
    fn waiting_requests_are_bounded_and_counted_down_when_done() {
        let a = Admission::new(std::env::temp_dir());
        a.set(0, 2);
        let one = a.enter().unwrap();
        let two = a.enter().unwrap();
        assert!(a.enter().is_err());
        assert_eq!(a.refuse_if_full(), Err(DomainError::StoreBusy));
        drop(one);
        assert_eq!(a.refuse_if_full(), Ok(()));
        let three = a.enter().unwrap();
        drop((two, three));
        assert_eq!(a.pending.load(Relaxed), 0);
    }
}
