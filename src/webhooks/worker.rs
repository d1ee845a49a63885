//! The delivery loop: fans new events out to deliveries, attempts each, at most
//! `webhooks.max_in_flight` at once, on a thread and runtime of its own, so a slow or dead
//! receiver costs the API's workers nothing.
//!
//! In turns, it runs one batch of [`deliveries::fan_out`], whose new deliveries it queues and
//! attempts from memory (the fan-out answers them ready to send, so a first attempt reads
//! nothing back), and, when that queue is empty, asks the store for due deliveries (retries, and
//! what a dead process left) for the free slots. It goes on at once while events wait to be
//! fanned out and the queue has room, and otherwise waits for an attempt to end or
//! `webhooks.dispatch_interval_ms`.
//!
//! Nothing about a delivery lives only in this loop's memory: the fan-out writes each one
//! pending, due [`HOLD_LEASES`] leases later, so after a crash the restart (or, under the SQL
//! engine, any process sharing the database) finds it due and attempts it: delivery is at least
//! once across crashes. Under the SQL engine the store claims due deliveries for a lease (the
//! attempt's timeout and five seconds), so the processes never attempt one delivery at once;
//! a process that dies mid-attempt leaves its claim to expire and the delivery to another.

use crate::domain::event::now_ms;
use crate::ops::deliveries::{self, Made, Prepared, Ready, Skip};
use crate::ops::Ctx;
use parking_lot::Mutex;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify, OwnedSemaphorePermit, Semaphore};

/// Extra time past an attempt's timeout that a claim on the SQL engine lasts: enough to record
/// the attempt; the claims of a process that died are free again this long after its timeout.
const LEASE_MARGIN_MS: i64 = 5_000;
/// How many leases a delivery the fan-out hands to this loop stays out of the store's due
/// deliveries: time enough to wait in the queue and be attempted; past it (the process died)
/// the store hands it out again.
const HOLD_LEASES: i64 = 2;
/// Deliveries waiting for a slot, at most this many per slot of `max_in_flight`: beyond it the
/// fan-out pauses and the events wait in the store.
const QUEUE_PER_SLOT: usize = 4;
/// The longest a stop waits for the loop's thread.
const STOP_WAIT: Duration = Duration::from_secs(15);
/// Attempts recorded in one write at most.
const RECORD_BATCH: usize = 256;
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
    /// store and are attempted again after the next start). Waits at most [`STOP_WAIT`] for a
    /// step under way (a store write the loop is blocked in): a shutdown never hangs on it.
    pub fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let until = std::time::Instant::now() + STOP_WAIT;
            while !t.is_finished() && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                log::warn!(
                    "the webhook delivery loop did not stop within {} s; what it had under way \
                     is attempted again after the next start",
                    STOP_WAIT.as_secs()
                );
            }
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
    let max_in_flight = cfg.max_in_flight.max(1);
    let max_queued = max_in_flight * QUEUE_PER_SLOT;
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let quiet = Arc::new(Quiet(Mutex::new(None)));
    // Deliveries the fan-out made, waiting for a slot (their keys are in `inflight`).
    let mut queued: VecDeque<Ready> = VecDeque::new();
    let (recording, made) = mpsc::unbounded_channel();
    tokio::spawn(recorder(ctx.clone(), made, quiet.clone()));
    let attempts = Attempts {
        ctx: ctx.clone(),
        inflight: Arc::default(),
        freed: Arc::new(Notify::new()),
        recording,
        quiet: quiet.clone(),
    };
    let (inflight, freed) = (attempts.inflight.clone(), attempts.freed.clone());
    while !*stopped.borrow() {
        // One batch of fan-out while the queue has room, then the free slots filled: first
        // from the queue, then with the store's due deliveries (retries, and what a dead
        // process left). Under a steady stream of events neither waits for the other.
        let mut fanned = 0;
        if queued.len() < max_queued {
            match deliveries::fan_out(&ctx, HOLD_LEASES * lease).await {
                Ok(f) => {
                    fanned = f.events;
                    let mut held = inflight.lock();
                    for r in f.ready {
                        if held.insert((r.webhook_id.clone(), r.sequence)) {
                            queued.push_back(r);
                        }
                    }
                }
                Err(e) => quiet.warn("fan-out", &e),
            }
        }
        while !queued.is_empty() {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                break;
            };
            let Some(r) = queued.pop_front() else {
                break;
            };
            attempts.spawn(permit, (r.webhook_id, r.sequence), Job::Ready(r.prepared));
        }
        let free = slots.available_permits();
        if free > 0 && queued.is_empty() {
            match ctx.store.due_deliveries(now_ms(), free, lease) {
                Ok(due) => {
                    for key in due {
                        if !inflight.lock().insert(key.clone()) {
                            continue;
                        }
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            inflight.lock().remove(&key);
                            break;
                        };
                        attempts.spawn(permit, key, Job::Due);
                    }
                }
                Err(e) => quiet.warn("reading due deliveries", &e),
            }
        }
        if fanned > 0 && queued.len() < max_queued {
            // Goes on at once, but lets the runtime run the attempts first.
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = freed.notified() => {}
            _ = stopped.changed() => {}
        }
    }
}

/// What every attempt's task shares with the loop.
struct Attempts {
    ctx: Ctx,
    /// Keys of the deliveries queued or under way in this process.
    inflight: Arc<Mutex<HashSet<(String, u64)>>>,
    /// Rung by each attempt that ends: its slot is free for the next delivery at once.
    freed: Arc<Notify>,
    recording: mpsc::UnboundedSender<Recording>,
    quiet: Arc<Quiet>,
}

/// A delivery to attempt: made by the fan-out (what to send is known) or due in the store
/// (read before it is sent).
enum Job {
    Ready(Prepared),
    Due,
}

impl Attempts {
    /// Attempts the delivery `key` on a task of its own, holding `permit` (one slot of
    /// `max_in_flight`) and its key in `inflight` until the attempt is recorded.
    fn spawn(&self, permit: OwnedSemaphorePermit, key: (String, u64), job: Job) {
        let (ctx, inflight, freed) = (self.ctx.clone(), self.inflight.clone(), self.freed.clone());
        let (recording, quiet) = (self.recording.clone(), self.quiet.clone());
        tokio::spawn(async move {
            match job {
                Job::Ready(p) => send_recorded(&ctx, &recording, &key.0, key.1, p).await,
                Job::Due => attempt(&ctx, &recording, &key.0, key.1, &quiet).await,
            }
            inflight.lock().remove(&key);
            drop(permit);
            freed.notify_one();
        });
    }
}

/// An attempt made, and the task that waits for it to be recorded.
type Recording = (Made, oneshot::Sender<()>);

/// Records the attempts as they end, as many as have ended (up to [`RECORD_BATCH`]) in one
/// write: one commit, and under `durability = "flush"` one flush, for many attempts.
async fn recorder(ctx: Ctx, mut made: mpsc::UnboundedReceiver<Recording>, quiet: Arc<Quiet>) {
    while let Some(first) = made.recv().await {
        let mut batch = vec![first];
        while batch.len() < RECORD_BATCH {
            match made.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let (attempts, waiting): (Vec<Made>, Vec<_>) = batch.into_iter().unzip();
        if let Err(e) = deliveries::record_all(&ctx, &attempts).await {
            // Not recorded: each delivery stays pending and is attempted again when due.
            quiet.warn("recording attempts", &e);
        }
        for w in waiting {
            let _ = w.send(());
        }
    }
}

/// Sends one attempt and waits until the recorder has recorded it.
async fn send_recorded(
    ctx: &Ctx,
    recording: &mpsc::UnboundedSender<Recording>,
    webhook_id: &str,
    sequence: u64,
    p: Prepared,
) {
    let jitter: f64 = rand::random();
    let made = deliveries::send(ctx, webhook_id, sequence, p, false, jitter).await;
    let (done, recorded) = oneshot::channel();
    if recording.send((made, done)).is_ok() {
        let _ = recorded.await;
    }
}

/// One attempt at a due delivery, recorded in the store.
async fn attempt(
    ctx: &Ctx,
    recording: &mpsc::UnboundedSender<Recording>,
    webhook_id: &str,
    sequence: u64,
    quiet: &Quiet,
) {
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
    send_recorded(ctx, recording, webhook_id, sequence, p).await;
}
