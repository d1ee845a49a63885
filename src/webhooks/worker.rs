//! The delivery loop: fans new events out to deliveries, takes the due ones and attempts each,
//! at most `webhooks.max_in_flight` at once, on a thread and runtime of its own, so a slow or
//! dead receiver costs the API's workers nothing.
//!
//! In turns, it runs one batch of [`deliveries::fan_out`] and asks the store for due deliveries,
//! as many as there are free slots; it goes on at once while events wait to be fanned out, and
//! otherwise waits for an attempt to end or `webhooks.dispatch_interval_ms`. Under the SQL engine the store claims them for a lease (the attempt's
//! timeout and five seconds), so the processes sharing a database never attempt one delivery at
//! once; a process that dies mid-attempt leaves its claim to expire and the delivery to another
//! process. Nothing about a delivery lives only in this loop's memory: a restart finds every
//! pending delivery in the store, so delivery is at least once across crashes.

use crate::domain::event::now_ms;
use crate::ops::deliveries::{self, Skip};
use crate::ops::Ctx;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify, Semaphore};

/// Extra time past an attempt's timeout that a claim on the SQL engine lasts: enough to record
/// the attempt; the claims of a process that died are free again this long after its timeout.
const LEASE_MARGIN_MS: i64 = 5_000;
/// The least time between two log lines of the same failing step.
const QUIET: Duration = Duration::from_secs(30);

/// The running loop; [`Worker::stop`] ends it.
pub struct Worker {
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts the loop over `ctx`'s store.
    pub fn spawn(ctx: Ctx) -> std::io::Result<Worker> {
        let (stop, stopped) = watch::channel(false);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("webhooks")
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("webhooks".into())
            .spawn(move || rt.block_on(run(ctx, stopped)))?;
        Ok(Worker {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the loop: attempts under way are dropped (their deliveries stay pending in the
    /// store and are attempted again after the next start).
    pub fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Logs a failing step at most once per [`QUIET`].
struct Quiet(Mutex<Option<std::time::Instant>>);

impl Quiet {
    fn warn(&self, what: &str, e: &dyn std::fmt::Display) {
        let mut last = self.0.lock();
        if last.is_none_or(|t| t.elapsed() >= QUIET) {
            *last = Some(std::time::Instant::now());
            log::warn!("webhook deliveries: {what} failed: {e}");
        }
    }
}

async fn run(ctx: Ctx, mut stopped: watch::Receiver<bool>) {
    let cfg = &ctx.config.webhooks;
    let interval = Duration::from_millis(cfg.dispatch_interval_ms.max(1));
    let lease = cfg.timeout_ms as i64 + LEASE_MARGIN_MS;
    let slots = Arc::new(Semaphore::new(cfg.max_in_flight.max(1)));
    let inflight: Arc<Mutex<HashSet<(String, u64)>>> = Arc::default();
    let quiet = Arc::new(Quiet(Mutex::new(None)));
    // Rung by each attempt that ends: its slot is free for the next due delivery at once.
    let freed = Arc::new(Notify::new());
    while !*stopped.borrow() {
        // One batch of fan-out, then the free slots filled, in turns: under a steady stream of
        // events neither waits for the other.
        let fanned = match deliveries::fan_out(&ctx).await {
            Ok(n) => n,
            Err(e) => {
                quiet.warn("fan-out", &e);
                0
            }
        };
        let free = slots.available_permits();
        if free > 0 {
            match ctx.store.due_deliveries(now_ms(), free, lease) {
                Ok(due) => {
                    for key in due {
                        if !inflight.lock().insert(key.clone()) {
                            continue;
                        }
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            return;
                        };
                        let (ctx, inflight, quiet, freed) =
                            (ctx.clone(), inflight.clone(), quiet.clone(), freed.clone());
                        tokio::spawn(async move {
                            attempt(&ctx, &key.0, key.1, &quiet).await;
                            inflight.lock().remove(&key);
                            drop(permit);
                            freed.notify_one();
                        });
                    }
                }
                Err(e) => quiet.warn("reading due deliveries", &e),
            }
        }
        if fanned > 0 {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = freed.notified() => {}
            _ = stopped.changed() => {}
        }
    }
}

/// One attempt at a due delivery, recorded in the store.
async fn attempt(ctx: &Ctx, webhook_id: &str, sequence: u64, quiet: &Quiet) {
    let prepared = match deliveries::prepare(ctx, webhook_id, sequence) {
        Ok(p) => p,
        Err(e) => return quiet.warn("reading a delivery", &e),
    };
    let p = match prepared {
        Ok(p) => p,
        Err(Skip::Settled) => return,
        Err(Skip::Disabled) => {
            if let Err(e) = deliveries::park(ctx, webhook_id, sequence).await {
                quiet.warn("setting a delivery aside", &e);
            }
            return;
        }
    };
    let jitter: f64 = rand::random();
    if let Err(e) = deliveries::send_and_record(ctx, webhook_id, sequence, p, false, jitter).await {
        quiet.warn("recording an attempt", &e);
    }
}
