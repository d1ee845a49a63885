//! Group commit: under `durability = "flush"` a writer is answered once a flush that *began
//! after its commit* has finished, and every writer waiting at that moment shares that one flush.
//!
//! One flusher thread runs flushes back to back while anyone waits. A writer takes ticket
//! `started + 1` (the next flush to begin), wakes the flusher, and waits on a watch channel for
//! `done >= ticket`. A flush that fails is reported to every writer whose ticket it carried.

use crate::domain::error::{DomainError, DomainResult};
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Default)]
struct State {
    /// Highest ticket any writer waits for.
    wanted: u64,
    /// Flushes begun so far.
    started: u64,
    stop: bool,
}

/// The flusher and its rendezvous.
pub(super) struct GroupCommit {
    shared: Arc<(Mutex<State>, Condvar)>,
    /// (flushes finished, last flush succeeded)
    done: watch::Receiver<(u64, bool)>,
}

impl GroupCommit {
    pub(super) fn start(db: sled::Db) -> GroupCommit {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let (tx, rx) = watch::channel((0u64, true));
        let s = shared.clone();
        std::thread::Builder::new()
            .name("issuebox-flusher".into())
            .spawn(move || flusher(db, s, tx))
            .expect("spawn flusher thread");
        GroupCommit { shared, done: rx }
    }

    pub(super) async fn wait(&self) -> DomainResult<()> {
        let ticket = {
            let (lock, cv) = &*self.shared;
            let mut st = lock.lock();
            let ticket = st.started + 1;
            if st.wanted < ticket {
                st.wanted = ticket;
                cv.notify_one();
            }
            ticket
        };
        let mut rx = self.done.clone();
        let (_, ok) = *rx
            .wait_for(|(done, _)| *done >= ticket)
            .await
            .map_err(|_| DomainError::Storage("flusher stopped".into()))?;
        if ok {
            Ok(())
        } else {
            Err(DomainError::Storage("flush to disk failed".into()))
        }
    }

    pub(super) fn stop(&self) {
        let (lock, cv) = &*self.shared;
        lock.lock().stop = true;
        cv.notify_one();
    }
}

fn flusher(db: sled::Db, shared: Arc<(Mutex<State>, Condvar)>, done: watch::Sender<(u64, bool)>) {
    let (lock, cv) = &*shared;
    loop {
        let ticket = {
            let mut st = lock.lock();
            while st.wanted <= st.started && !st.stop {
                cv.wait(&mut st);
            }
            if st.stop && st.wanted <= st.started {
                return;
            }
            st.started += 1;
            st.started
        };
        let ok = match db.flush() {
            Ok(_) => true,
            Err(e) => {
                log::error!("flush failed: {e}");
                false
            }
        };
        done.send_replace((ticket, ok));
    }
}
