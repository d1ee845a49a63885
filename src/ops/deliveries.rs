//! Deliveries of events to webhook endpoints, at least once, across crashes.
//!
//! - **Fan-out** ([`fan_out`]): reads the events after the store's fan-out cursor and, in one
//!   write with moving the cursor, makes a pending delivery of each for every enabled endpoint
//!   that subscribes to it (a `webhook.test` event only for the endpoint it names). An event is
//!   durable before any delivery of it exists, and the cursor moves only with the deliveries it
//!   made, so a crash at any instant loses none and makes none twice. It answers the new
//!   deliveries ready to send, for the loop to attempt from memory; each is written due a while
//!   later, when the store hands it out only if that attempt was never recorded.
//! - **Attempts** ([`prepare`], [`record`]): the delivery loop (`crate::webhooks::worker`) takes
//!   due deliveries, sends each and records the attempt: delivered on a 2xx; otherwise due again
//!   after the next delay of `webhooks.retry_schedule`, and `failed` past its end, which counts
//!   against the endpoint until `webhooks.disable_after_failures` disables it.
//! - **By the client**: list an endpoint's deliveries, retry one now ([`retry`]), recover the
//!   failed ones since a time ([`recover`]).

use super::Ctx;
use crate::config::ClientConfig;
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::event::{now_ms, EventType};
use crate::domain::webhook::{
    delivery_sequence, Attempt, Delivery, DeliveryStatus, Webhook, WebhookStatus,
};
use crate::store::{Reader, Tx, TxResult};
use crate::webhooks::{signature_header, AttemptOutcome, Secret};
use crate::wire::events::event_json;

/// Events one fan-out write handles.
const FAN_OUT_BATCH: usize = 500;
/// Deliveries changed per write when an endpoint is enabled, deleted or recovered.
const PAGE: usize = 500;
/// Attempts kept per delivery: the first and the latest.
const MAX_ATTEMPTS_KEPT: usize = 32;
/// How long a delivery of a disabled endpoint waits before it is looked at again.
const PARKED_MS: i64 = 10 * 60 * 1000;

/// A delivery made by [`fan_out`], ready to attempt: the loop attempts it at once from memory,
/// without reading it back.
pub struct Ready {
    pub webhook_id: String,
    pub sequence: u64,
    pub prepared: Prepared,
}

/// What one [`fan_out`] batch did.
#[derive(Default)]
pub struct FanOut {
    /// Events handled (0: none waiting).
    pub events: usize,
    /// The deliveries it made, in event order.
    pub ready: Vec<Ready>,
}

/// Makes the deliveries of the events after the fan-out cursor, one batch, and answers them
/// ready to attempt. Each is written due `hold_ms` from now rather than at once: the loop
/// attempts it from memory, and only when that attempt is not recorded by then (the process
/// died, or another process shares the database) does the store hand it out again.
pub async fn fan_out(ctx: &Ctx, hold_ms: i64) -> DomainResult<FanOut> {
    // Asked before a write is opened: the loop asks every `dispatch_interval_ms`, mostly of an
    // idle store.
    if ctx.store.last_event_sequence()? <= ctx.store.fanout_cursor()? {
        return Ok(FanOut::default());
    }
    let at = now_ms();
    let now = crate::domain::model::now();
    ctx.store
        .commit_in_background(|tx| {
            let cursor = tx.fanout_cursor()?;
            let newest = tx.last_event_sequence()?;
            if newest <= cursor {
                return Ok(FanOut::default());
            }
            let hooks: Vec<Webhook> = tx
                .webhook_ids()?
                .iter()
                .map(|id| tx.webhook(id))
                .collect::<TxResult<Vec<_>>>()?
                .into_iter()
                .flatten()
                .filter(|w| w.status == WebhookStatus::Enabled)
                .collect();
            if hooks.is_empty() {
                // No endpoint would get any of them (a `webhook.test` names an enabled one):
                // the cursor passes them unread, as it would after reading them.
                tx.set_fanout_cursor(newest)?;
                return Ok(FanOut {
                    events: (newest - cursor) as usize,
                    ready: Vec::new(),
                });
            }
            let events = tx.events_after(cursor, FAN_OUT_BATCH)?;
            let Some(last) = events.last().map(|e| e.sequence) else {
                return Ok(FanOut::default());
            };
            let secrets: Vec<Vec<Secret>> = hooks
                .iter()
                .map(|h| {
                    h.live_secrets(now)
                        .map(|s| Secret::from_bytes(s.key.clone()))
                        .collect()
                })
                .collect();
            let mut ready = Vec::new();
            for e in &events {
                let target = (e.kind == EventType::WebhookTest)
                    .then(|| super::webhooks::test_target(&e.data))
                    .flatten();
                let mut body = None;
                for (h, secrets) in hooks.iter().zip(&secrets) {
                    let wanted = match &target {
                        Some(t) => *t == h.id,
                        None => {
                            e.kind != EventType::WebhookTest
                                && e.sequence > h.after_sequence
                                && h.subscribes(e.kind, &e.program)
                        }
                    };
                    if !wanted || tx.delivery(&h.id, e.sequence)?.is_some() {
                        continue;
                    }
                    let d = Delivery {
                        webhook_id: h.id.clone(),
                        event_sequence: e.sequence,
                        event_id: e.id.clone(),
                        status: DeliveryStatus::Pending,
                        attempts: Vec::new(),
                        next_attempt_ms: at + hold_ms,
                        round_failures: 0,
                        created_ms: at,
                    };
                    tx.put_delivery(&d, None)?;
                    ready.push(Ready {
                        webhook_id: h.id.clone(),
                        sequence: e.sequence,
                        prepared: Prepared {
                            url: h.url.clone(),
                            msg_id: e.id.clone(),
                            body: body.get_or_insert_with(|| event_json(e)).clone(),
                            secrets: secrets.clone(),
                        },
                    });
                }
            }
            tx.set_fanout_cursor(last)?;
            Ok(FanOut {
                events: events.len(),
                ready,
            })
        })
        .await
}

/// What one attempt sends.
pub struct Prepared {
    pub url: String,
    pub msg_id: String,
    pub body: Vec<u8>,
    pub secrets: Vec<Secret>,
}

impl Prepared {
    /// The `webhook-signature` header for an attempt at `timestamp` (Unix seconds).
    pub fn signature(&self, timestamp: i64) -> String {
        let secrets: Vec<&Secret> = self.secrets.iter().collect();
        signature_header(&secrets, &self.msg_id, timestamp, &self.body)
    }
}

/// Why a delivery is not attempted.
pub enum Skip {
    /// Delivered, failed or cancelled meanwhile, or its event or endpoint is gone.
    Settled,
    /// Its endpoint is disabled: looked at again later.
    Disabled,
}

/// Reads what an attempt at a delivery sends.
pub fn prepare(ctx: &Ctx, webhook_id: &str, sequence: u64) -> DomainResult<Result<Prepared, Skip>> {
    let Some(d) = ctx.store.delivery(webhook_id, sequence)? else {
        return Ok(Err(Skip::Settled));
    };
    prepare_delivery(ctx, &d, false)
}

fn prepare_delivery(ctx: &Ctx, d: &Delivery, manual: bool) -> DomainResult<Result<Prepared, Skip>> {
    if d.status != DeliveryStatus::Pending && !manual {
        return Ok(Err(Skip::Settled));
    }
    let Some(w) = ctx.store.webhook(&d.webhook_id)? else {
        return Ok(Err(Skip::Settled));
    };
    if w.status == WebhookStatus::Disabled {
        return Ok(Err(Skip::Disabled));
    }
    let Some(event) = ctx.store.event(d.event_sequence)? else {
        return Ok(Err(Skip::Settled));
    };
    let now = crate::domain::model::now();
    Ok(Ok(Prepared {
        url: w.url.clone(),
        msg_id: event.id.clone(),
        body: event_json(&event),
        secrets: w
            .live_secrets(now)
            .map(|s| Secret::from_bytes(s.key.clone()))
            .collect(),
    }))
}

/// Puts a delivery of a disabled endpoint aside for a while.
pub async fn park(ctx: &Ctx, webhook_id: &str, sequence: u64) -> DomainResult<()> {
    let until = now_ms() + PARKED_MS;
    ctx.store
        .commit_in_background(|tx| {
            if let Some(old) = tx.delivery(webhook_id, sequence)? {
                if old.status == DeliveryStatus::Pending {
                    let d = Delivery {
                        next_attempt_ms: until,
                        ..old.clone()
                    };
                    tx.put_delivery(&d, Some(&old))?;
                }
            }
            Ok(())
        })
        .await
}

fn attempt_of(o: &AttemptOutcome, at_ms: i64, manual: bool) -> Attempt {
    Attempt {
        at_ms,
        status: o.status,
        error: o.error.clone(),
        latency_ms: o.latency_ms,
        response_prefix: o.response_prefix.clone(),
        manual,
    }
}

/// An attempt made, to be recorded.
pub struct Made {
    pub webhook_id: String,
    pub sequence: u64,
    pub outcome: AttemptOutcome,
    /// When it was sent (Unix milliseconds).
    pub at_ms: i64,
    /// A client's retry rather than one of the loop's attempts.
    pub manual: bool,
    /// In 0..1: spreads the next delay by up to 20%.
    pub jitter: f64,
}

/// Records an attempt. A scheduled one moves a pending delivery on: delivered, due again after
/// the schedule's next delay (`jitter` in 0..1 spreads it by up to 20%), or failed past the
/// schedule's end. A manual one (a retry) delivers it on a 2xx and otherwise leaves its status
/// as it was. Answers the delivery as it is now (`None`: it is gone).
pub async fn record(ctx: &Ctx, made: &Made) -> DomainResult<Option<Delivery>> {
    let step = RecordStep::new(ctx);
    let write = |tx: &Tx| step.apply(tx, made);
    // A manual retry is a request; the loop's attempts are not.
    if made.manual {
        ctx.store.commit(write).await
    } else {
        ctx.store.commit_in_background(write).await
    }
}

/// Records the loop's attempts, all in one write (see [`record`]).
pub async fn record_all(ctx: &Ctx, made: &[Made]) -> DomainResult<()> {
    let step = RecordStep::new(ctx);
    ctx.store
        .commit_in_background(|tx| {
            for m in made {
                step.apply(tx, m)?;
            }
            Ok(())
        })
        .await
}

/// What recording an attempt needs of the config, read once.
struct RecordStep {
    schedule: crate::webhooks::RetrySchedule,
    disable_after: u32,
    now: i64,
}

impl RecordStep {
    fn new(ctx: &Ctx) -> RecordStep {
        RecordStep {
            schedule: ctx.config.webhooks.schedule().unwrap_or_default(),
            disable_after: ctx.config.webhooks.disable_after_failures,
            now: now_ms(),
        }
    }

    fn apply(&self, tx: &Tx, m: &Made) -> TxResult<Option<Delivery>> {
        let Some(old) = tx.delivery(&m.webhook_id, m.sequence)? else {
            return Ok(None);
        };
        if old.status != DeliveryStatus::Pending && !m.manual {
            return Ok(Some(old));
        }
        let attempt = attempt_of(&m.outcome, m.at_ms, m.manual);
        let mut d = old.clone();
        let delivered = attempt.delivered();
        d.attempts.push(attempt);
        if d.attempts.len() > MAX_ATTEMPTS_KEPT {
            d.attempts.remove(1);
        }
        let mut hook = tx.webhook(&m.webhook_id)?;
        if delivered {
            d.status = DeliveryStatus::Delivered;
            if let Some(h) = hook.as_mut().filter(|h| h.consecutive_failures > 0) {
                h.consecutive_failures = 0;
                tx.put_webhook(h, false)?;
            }
        } else if !m.manual {
            d.round_failures += 1;
            match self
                .schedule
                .delay_after(d.round_failures as usize, m.jitter)
            {
                Some(delay) => d.next_attempt_ms = self.now + delay.as_millis() as i64,
                None => {
                    d.status = DeliveryStatus::Failed;
                    if let Some(h) = hook.as_mut() {
                        h.consecutive_failures += 1;
                        if h.consecutive_failures >= self.disable_after {
                            h.status = WebhookStatus::Disabled;
                            h.updated_at = self.now / 1000;
                        }
                        tx.put_webhook(h, false)?;
                    }
                }
            }
        }
        tx.put_delivery(&d, Some(&old))?;
        Ok(Some(d))
    }
}

/// Makes the endpoint's deliveries of `status` (created since `since_ms`, if given) pending and
/// due now, as a new round of the schedule. Answers how many.
pub async fn due_now(
    ctx: &Ctx,
    webhook_id: &str,
    status: DeliveryStatus,
    since_ms: Option<i64>,
) -> DomainResult<usize> {
    let mut after = 0;
    let mut changed = 0;
    loop {
        let page = ctx
            .store
            .deliveries_of(webhook_id, after, PAGE, Some(status))?;
        let Some(last) = page.last().map(|d| d.event_sequence) else {
            return Ok(changed);
        };
        let keys: Vec<u64> = page
            .iter()
            .filter(|d| since_ms.is_none_or(|s| d.created_ms >= s))
            .map(|d| d.event_sequence)
            .collect();
        let at = now_ms();
        changed += ctx
            .store
            .commit(|tx| {
                let mut n = 0;
                for seq in &keys {
                    let Some(old) = tx.delivery(webhook_id, *seq)? else {
                        continue;
                    };
                    if old.status != status {
                        continue;
                    }
                    let d = Delivery {
                        status: DeliveryStatus::Pending,
                        next_attempt_ms: at,
                        round_failures: 0,
                        ..old.clone()
                    };
                    tx.put_delivery(&d, Some(&old))?;
                    n += 1;
                }
                Ok(n)
            })
            .await?;
        if page.len() < PAGE {
            return Ok(changed);
        }
        after = last;
    }
}

/// Cancels an endpoint's pending deliveries (it was deleted), page after page from the last
/// one seen.
pub async fn cancel_pending(ctx: &Ctx, webhook_id: &str) -> DomainResult<()> {
    let mut after = 0;
    loop {
        let page =
            ctx.store
                .deliveries_of(webhook_id, after, PAGE, Some(DeliveryStatus::Pending))?;
        let Some(last) = page.last().map(|d| d.event_sequence) else {
            return Ok(());
        };
        after = last;
        ctx.store
            .commit(|tx| {
                for d in &page {
                    if let Some(old) = tx.delivery(webhook_id, d.event_sequence)? {
                        if old.status == DeliveryStatus::Pending {
                            let c = Delivery {
                                status: DeliveryStatus::Cancelled,
                                ..old.clone()
                            };
                            tx.put_delivery(&c, Some(&old))?;
                        }
                    }
                }
                Ok(())
            })
            .await?;
        if page.len() < PAGE {
            return Ok(());
        }
    }
}

/// A page of an endpoint's deliveries: its query's parameters as given.
#[derive(Debug, Default)]
pub struct DeliveryQuery {
    pub status: Option<String>,
    pub after: Option<String>,
    pub limit: Option<String>,
}

/// The client's endpoint's deliveries after event `after`, oldest first.
pub fn list(
    ctx: &Ctx,
    client: &ClientConfig,
    webhook_id: &str,
    q: &DeliveryQuery,
) -> DomainResult<(Vec<Delivery>, u64, bool)> {
    super::webhooks::get(ctx, client, webhook_id)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s).ok_or_else(|| {
                E::Invalid("status: must be pending, delivered, failed or cancelled".into())
            })
        })
        .transpose()?;
    let after = match &q.after {
        None => 0,
        Some(a) => a
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= i64::MAX as u64)
            .ok_or_else(|| E::Invalid("after: must be an event sequence (0 or more)".into()))?,
    };
    let limit = match &q.limit {
        None => super::events::DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=super::events::MAX_LIMIT).contains(n))
            .ok_or_else(|| E::Invalid("limit: must be a whole number from 1 to 500".into()))?,
    };
    let page = ctx.store.deliveries_of(webhook_id, after, limit, status)?;
    let next = page.last().map(|d| d.event_sequence).unwrap_or(after);
    let more = page.len() == limit;
    Ok((page, next, more))
}

/// One attempt at a delivery now, whatever its status (not a cancelled one); answers the
/// delivery with it. A 2xx delivers it; otherwise its status stays as it was.
pub async fn retry(
    ctx: &Ctx,
    client: &ClientConfig,
    webhook_id: &str,
    delivery_id: &str,
) -> DomainResult<Delivery> {
    super::webhooks::get(ctx, client, webhook_id)?;
    let seq = delivery_sequence(delivery_id).ok_or(E::NotFound("delivery"))?;
    let d = ctx
        .store
        .delivery(webhook_id, seq)?
        .ok_or(E::NotFound("delivery"))?;
    if d.status == DeliveryStatus::Cancelled {
        return Err(E::Conflict("the delivery was cancelled".into()));
    }
    let p = match prepare_delivery(ctx, &d, true)? {
        Ok(p) => p,
        Err(Skip::Disabled) => {
            return Err(E::Conflict(
                "the endpoint is disabled; enable it first".into(),
            ))
        }
        Err(Skip::Settled) => return Err(E::NotFound("delivery")),
    };
    send_and_record(ctx, webhook_id, seq, p, true, 0.0)
        .await?
        .ok_or(E::NotFound("delivery"))
}

/// Sends one attempt now, signed at its own time; answers it, to be recorded.
pub async fn send(
    ctx: &Ctx,
    webhook_id: &str,
    sequence: u64,
    p: Prepared,
    manual: bool,
    jitter: f64,
) -> Made {
    let at = now_ms();
    let timestamp = at / 1000;
    let signature = p.signature(timestamp);
    let outcome = ctx
        .sender
        .send(&p.url, &p.msg_id, timestamp, &signature, p.body)
        .await;
    Made {
        webhook_id: webhook_id.to_string(),
        sequence,
        outcome,
        at_ms: at,
        manual,
        jitter,
    }
}

/// [`send`]s one attempt now and [`record`]s it.
pub async fn send_and_record(
    ctx: &Ctx,
    webhook_id: &str,
    sequence: u64,
    p: Prepared,
    manual: bool,
    jitter: f64,
) -> DomainResult<Option<Delivery>> {
    let made = send(ctx, webhook_id, sequence, p, manual, jitter).await;
    record(ctx, &made).await
}

/// Makes every failed delivery of the endpoint created since `since` (RFC 3339) pending again.
pub async fn recover(
    ctx: &Ctx,
    client: &ClientConfig,
    webhook_id: &str,
    since: &str,
) -> DomainResult<usize> {
    super::webhooks::get(ctx, client, webhook_id)?;
    let since = time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
        .map_err(|_| E::Invalid("since: must be an RFC 3339 time".into()))?;
    let since_ms = (since.unix_timestamp_nanos() / 1_000_000) as i64;
    due_now(ctx, webhook_id, DeliveryStatus::Failed, Some(since_ms)).await
}
