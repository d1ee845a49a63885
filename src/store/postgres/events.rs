//! The SQL engine's events, webhook endpoints and deliveries (schema: `migrations/0003_events.sql`,
//! `0004_event_inbox.sql` and `0005_event_batches.sql`).
//!
//! ## Sequences: gap-free, in commit order, numbered after commit
//!
//! A transaction's events wait in its overlay ([`PgTx`]'s pending writes) without sequences.
//! The flush writes them, still unnumbered, into the inbox `event_batches` as one row (their
//! fields as arrays, in order; [`sql::INBOX_EVENTS`]) under a random key of the run, stamped
//! with the database's clock, in the same commit as the change.
//! A writer touches no shared row, so writers commit side by side and share WAL flushes.
//!
//! A **sequencer** ([`PgStore::number_events`]) numbers them: in one transaction it locks the
//! one row of `event_counter` (a second sequencer, of this process or another, waits there),
//! then one statement ([`sql::NUMBER_EVENTS`]) moves the oldest waiting events into `events`
//! with the sequences after the counter, in the order they were written (ties by run key and
//! place, so one transaction's events stay contiguous and in order), and sets the counter past
//! them. Every reader of sequences runs it first: the delivery loop's fan-out (every
//! `dispatch_interval_ms`), `GET /events`, the creation of an endpoint, export and verify; so a
//! client that got its answer reads its events at once, and a poller meets no delay beyond its
//! own request. Hence:
//!
//! - sequences are gap-free: a numbering that fails rolls back whole (counter, inbox, events),
//!   and a writer that fails or runs again left nothing in the inbox;
//! - the committed events are always exactly `1..=counter`: the counter and the events move in
//!   one transaction, so any snapshot a reader takes (one statement on PostgreSQL, one timestamp
//!   on CockroachDB) holds a prefix of the sequence, and a reader needs no "visible up to" bound;
//! - in commit order: a sequencer numbers only what has committed, so an event committed after
//!   another was numbered gets a later sequence; among what it finds, the order written is the
//!   order committed wherever it matters (a transaction that waited on another's row lock
//!   writes its events after that one committed); two transactions that touched nothing in
//!   common are ordered by when they wrote their events, one of the orders they could have
//!   committed in.
//!
//! Transactions that write no events touch neither table. The counter's lock is held by one
//! sequencer for one statement, per batch of up to [`NUMBER_BATCH`] transactions, instead of by every
//! writer from its last statement through its commit (which made event writers commit one per
//! WAL flush: see the module doc of [`super`]).
//!
//! ## Deliveries across processes
//!
//! [`PgStore::due_deliveries`] claims what it answers: one `UPDATE … WHERE … IN (SELECT … FOR
//! UPDATE SKIP LOCKED)` sets a lease (`claimed_until_ms`) on pending deliveries that are due and
//! not leased, so two processes never attempt one delivery at once; writing a delivery clears its
//! lease. The fan-out cursor is one row, locked by [`PgTx::fanout_cursor`] inside a transaction,
//! so fan-outs of several processes take turns and each sees where the last one stopped.

use super::conn::Object;
use super::sql::{self, event_columns};
use super::tx::{decode, unstorable};
use super::{PgStore, PgTx};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::event::{Event, EventFilter, EventPage, EventType, NewEvent, Subjects};
use crate::domain::webhook::{Delivery, DeliveryStatus, Webhook};
use crate::store::{storage_err, TxResult};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// Inserts the rows of the one-row tables if they are missing, and answers the store's event id
/// prefix: the first process to open the database draws it, every other one reads it.
pub(super) async fn seed(client: &tokio_postgres::Client) -> Result<String, tokio_postgres::Error> {
    let mut tries = 0;
    loop {
        let drawn = crate::domain::ids::new_id()[..8].to_string();
        let run = async {
            client.execute(sql::SEED_COUNTER, &[]).await?;
            client.execute(sql::SEED_FANOUT, &[]).await?;
            client.execute(sql::SEED_PREFIX, &[&drawn]).await?;
            client.query_one(sql::EVENT_PREFIX, &[]).await
        };
        match run.await {
            Ok(row) => return Ok(row.get(0)),
            // Processes seeding at once: the losers (a serialization failure on CockroachDB)
            // read again what the winner wrote.
            Err(e) if super::tx::retryable(&e) && tries < 10 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10 * tries)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The event of a row of [`event_columns`] starting at column `at`.
fn event_at(row: &Row, at: usize) -> Result<Event, DomainError> {
    let sequence: i64 = row.get(at);
    let kind: String = row.get(at + 2);
    Ok(Event {
        sequence: sequence as u64,
        id: row.get(at + 1),
        kind: EventType::parse(&kind)
            .ok_or_else(|| storage_err(format!("events {sequence}: unknown type {kind:?}")))?,
        occurred_at_ms: row.get(at + 3),
        program: row.get(at + 4),
        request_id: row.get(at + 5),
        subjects: Subjects {
            user: row.get(at + 6),
            account: row.get(at + 7),
            card: row.get(at + 8),
            wallet: row.get(at + 9),
            kit: row.get(at + 10),
        },
        data: crate::store::event_data::unpack(row.get::<_, &[u8]>(at + 11))
            .map_err(|e| storage_err(format!("events {sequence}: {e}")))?,
    })
}

/// The event of a row of [`event_columns`] (`issuebox copy`'s pages).
pub(super) fn event_row(row: &Row) -> TxResult<Event> {
    Ok(event_at(row, 0)?)
}

fn events_of(rows: &[Row]) -> Result<Vec<Event>, DomainError> {
    rows.iter().map(|r| event_at(r, 0)).collect()
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PgTx<'_> {
    /// The last committed event's sequence. Not locked, not even inside a transaction: the
    /// counter's row is what every event writer locks at its end, and a transaction that only
    /// reads it (creating a webhook endpoint, which receives the events after it) must not
    /// queue behind them nor make them wait. This run's own events are not counted: they get
    /// their sequences when it commits.
    pub fn last_event_sequence(&self) -> TxResult<u64> {
        let rows = self.query_unlocked(sql::LAST_EVENT_SEQUENCE, &[])?;
        let committed = rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64;
        let restored = self
            .pending
            .borrow()
            .restored_events
            .last()
            .map(|e| e.sequence);
        Ok(committed.max(restored.unwrap_or(0)))
    }

    /// The fan-out cursor; inside a transaction its row stays locked until the end, so that two
    /// processes fanning out at once take turns and the second sees where the first stopped.
    pub fn fanout_cursor(&self) -> TxResult<u64> {
        if let Some(c) = self.pending.borrow().fanout {
            return Ok(c);
        }
        let rows = self.query(sql::FANOUT_CURSOR, &[])?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64)
    }

    pub fn webhook(&self, id: &str) -> TxResult<Option<Webhook>> {
        if unstorable(&[id]) {
            return Ok(None);
        }
        let pending = self.pending.borrow();
        if let Some((_, w, _)) = pending.webhooks.iter().find(|(i, ..)| i == id) {
            return Ok(w.clone());
        }
        drop(pending);
        self.body(sql::WEBHOOK, &[&id])
    }

    /// Every endpoint's id, oldest first (the new ones of this run last).
    pub fn webhook_ids(&self) -> TxResult<Vec<String>> {
        let mut ids: Vec<String> = self
            .query(sql::WEBHOOK_IDS, &[])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for (id, w, _) in &self.pending.borrow().webhooks {
            match w {
                None => ids.retain(|i| i != id),
                Some(_) if !ids.contains(id) => ids.push(id.clone()),
                Some(_) => {}
            }
        }
        Ok(ids)
    }

    pub fn delivery(&self, webhook_id: &str, sequence: u64) -> TxResult<Option<Delivery>> {
        if unstorable(&[webhook_id]) {
            return Ok(None);
        }
        let pending = self.pending.borrow();
        let mine = pending
            .deliveries
            .iter()
            .find(|d| d.webhook_id == webhook_id && d.event_sequence == sequence);
        if let Some(d) = mine {
            return Ok(Some(d.clone()));
        }
        drop(pending);
        self.body(sql::DELIVERY, &[&webhook_id, &seq(sequence)])
    }

    /// Gives back the request's claim (every key held by `holder`) in this transaction: one
    /// commit, instead of a second transaction after it, ends both the request's writes and its
    /// claim.
    pub fn release_claim(&self, holder: &str) -> TxResult<()> {
        self.pending
            .borrow_mut()
            .claim_releases
            .push(holder.to_string());
        Ok(())
    }

    /// Keeps `events` for the flush, which writes them into the inbox (see the module doc).
    pub fn put_events(&self, events: &[NewEvent]) -> TxResult<()> {
        self.pending
            .borrow_mut()
            .events
            .extend(events.iter().cloned());
        Ok(())
    }

    /// Events of another store as they are (`issuebox copy`): their sequences and ids stay, and
    /// the counter moves past them.
    pub fn restore_events(&self, events: &[Event]) -> TxResult<()> {
        self.pending
            .borrow_mut()
            .restored_events
            .extend(events.iter().cloned());
        Ok(())
    }

    /// Committed events after `after`, oldest first, at most `limit`. Not locked (events never
    /// change); a statement's snapshot holds a prefix of the sequence (see the module doc), so
    /// none is skipped for one committed later. This run's own events are not among them.
    pub fn events_after(&self, after: u64, limit: usize) -> TxResult<Vec<Event>> {
        let rows = self.query_unlocked(sql::EVENTS_AFTER, &[&seq(after), &count(limit)])?;
        Ok(events_of(&rows)?)
    }

    pub fn set_fanout_cursor(&self, sequence: u64) -> TxResult<()> {
        self.pending.borrow_mut().fanout = Some(sequence);
        Ok(())
    }

    /// Stores an endpoint: a new one goes last in the order of every endpoint, a changed one
    /// keeps its place (and one deleted meanwhile by another process stays deleted).
    pub fn put_webhook(&self, w: &Webhook, new: bool) -> TxResult<()> {
        let mut pending = self.pending.borrow_mut();
        match pending.webhooks.iter_mut().find(|(i, ..)| *i == w.id) {
            Some(slot) => {
                // Deleted earlier in this run and stored again: a new row.
                slot.2 |= slot.1.is_none() || new;
                slot.1 = Some(w.clone());
            }
            None => pending.webhooks.push((w.id.clone(), Some(w.clone()), new)),
        }
        Ok(())
    }

    pub fn remove_webhook(&self, id: &str) -> TxResult<()> {
        let mut pending = self.pending.borrow_mut();
        match pending.webhooks.iter_mut().find(|(i, ..)| i == id) {
            Some(slot) => slot.1 = None,
            None => pending.webhooks.push((id.to_string(), None, false)),
        }
        Ok(())
    }

    /// Stores a delivery, new or changed (`old` is not needed: the due index is the table's
    /// partial index); its lease, if any, ends.
    pub fn put_delivery(&self, d: &Delivery, _old: Option<&Delivery>) -> TxResult<()> {
        let mut pending = self.pending.borrow_mut();
        let same =
            |x: &Delivery| x.webhook_id == d.webhook_id && x.event_sequence == d.event_sequence;
        match pending.deliveries.iter_mut().find(|x| same(x)) {
            Some(slot) => *slot = d.clone(),
            None => pending.deliveries.push(d.clone()),
        }
        Ok(())
    }
}

/// Writing transactions whose events one numbering transaction moves out of the inbox at most.
/// Each wrote at least one event, so a numbering that moved fewer events than this emptied the
/// inbox of all it could see.
const NUMBER_BATCH: i64 = 500;
/// Numbering transactions run again at most this many times when they lose a conflict (on
/// CockroachDB, two sequencers at once; PostgreSQL makes the second wait on the counter's lock).
const NUMBER_RETRIES: u32 = 8;

impl PgStore {
    /// Numbers every event waiting in the inbox (see the module doc): the committed events of
    /// other transactions, in the order they were written, a batch per transaction under the
    /// counter's lock. Readers of sequences call it first, so a client reads its own events
    /// as soon as the request that wrote them has answered.
    pub fn number_events(&self) -> DomainResult<()> {
        let client = self.client()?;
        let prefix = self.event_prefix().to_string();
        client
            .drive(number(&client, &prefix))
            .map_err(|e| storage_err(format!("postgres: numbering events: {e}")))
    }

    /// The last numbered event's sequence, once every waiting event is numbered.
    pub fn last_event_sequence(&self) -> DomainResult<u64> {
        self.number_events()?;
        self.read(|t| t.last_event_sequence())
    }
    pub fn fanout_cursor(&self) -> DomainResult<u64> {
        self.read(|t| t.fanout_cursor())
    }
    pub fn webhook(&self, id: &str) -> DomainResult<Option<Webhook>> {
        self.read(|t| t.webhook(id))
    }
    pub fn webhook_ids(&self) -> DomainResult<Vec<String>> {
        self.read(|t| t.webhook_ids())
    }
    pub fn delivery(&self, webhook_id: &str, sequence: u64) -> DomainResult<Option<Delivery>> {
        self.read(|t| t.delivery(webhook_id, sequence))
    }

    /// The event numbered `sequence`; when there is none yet, the waiting events are numbered
    /// and it is looked for once more.
    pub fn event(&self, sequence: u64) -> DomainResult<Option<Event>> {
        let read = || -> DomainResult<Option<Event>> {
            let rows = self.rows(sql::EVENT, vec![Box::new(seq(sequence))])?;
            rows.first().map(|r| event_at(r, 0)).transpose()
        };
        match read()? {
            Some(e) => Ok(Some(e)),
            None => {
                self.number_events()?;
                read()
            }
        }
    }

    /// Events after `after` that `filter` lets through, oldest first: at most `limit`, among the
    /// `scan` events after `after` (sequences are gap-free, so that is the range `after + 1 ..=
    /// after + scan` of the primary key: the work is bounded whatever the filter). The filter is
    /// SQL's (`program = ANY`, `kind = ANY`, the subject in any of the five indexed columns).
    ///
    /// One statement reads the counter and the events, so both come from one snapshot, which
    /// holds exactly the events `1..=counter` (see the module doc): when fewer than `limit` match,
    /// `last_seen` is where the range ends, or the counter if sooner, and nothing before it is
    /// left for a later page.
    pub fn events_page(
        &self,
        after: u64,
        limit: usize,
        scan: usize,
        filter: &EventFilter,
    ) -> DomainResult<EventPage> {
        self.number_events()?;
        let after_ = seq(after);
        let upto = seq(after.saturating_add(scan as u64));
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> =
            vec![Box::new(after_), Box::new(upto), Box::new(count(limit))];
        let mut sql = String::from(concat!(
            "SELECT c.last, e.* FROM event_counter c LEFT JOIN (SELECT ",
            event_columns!(),
            " FROM events WHERE seq > $1 AND seq <= $2"
        ));
        if let Some(programs) = &filter.programs {
            params.push(Box::new(programs.clone()));
            sql += &format!(" AND program = ANY(${}::text[])", params.len());
        }
        if !filter.types.is_empty() {
            let kinds: Vec<String> = filter.types.iter().map(|t| t.as_str().into()).collect();
            params.push(Box::new(kinds));
            sql += &format!(" AND kind = ANY(${}::text[])", params.len());
        }
        if let Some(subject) = &filter.subject {
            params.push(Box::new(subject.clone()));
            let n = params.len();
            sql += &format!(
                " AND (subject_user = ${n}::text OR subject_account = ${n}::text \
                 OR subject_card = ${n}::text OR subject_wallet = ${n}::text \
                 OR subject_kit = ${n}::text)"
            );
        }
        sql += " ORDER BY seq LIMIT $3) e ON true WHERE c.id = 1 ORDER BY e.seq";
        let rows = self.rows_dynamic(sql, params)?;
        let last = rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            if r.get::<_, Option<i64>>(1).is_some() {
                events.push(event_at(r, 1)?);
            }
        }
        let last_seen = match events.last() {
            Some(e) if limit > 0 && events.len() >= limit => e.sequence,
            _ if limit == 0 => after,
            // Every event of the range was looked at.
            _ => after.max(last.min(after.saturating_add(scan as u64))),
        };
        Ok(EventPage {
            events,
            last_seen,
            more: last_seen < last,
        })
    }

    /// Every endpoint, oldest first.
    pub fn webhooks(&self) -> DomainResult<Vec<Webhook>> {
        self.rows(sql::WEBHOOKS, Vec::new())?
            .iter()
            .map(|r| decode(r.get::<_, &[u8]>(0)).map_err(|e| e.into_domain()))
            .collect()
    }

    pub fn deliveries_of(
        &self,
        webhook_id: &str,
        after: u64,
        limit: usize,
        status: Option<DeliveryStatus>,
    ) -> DomainResult<Vec<Delivery>> {
        if unstorable(&[webhook_id]) {
            return Ok(Vec::new());
        }
        let rows = self.rows(
            sql::DELIVERIES_OF,
            vec![
                Box::new(webhook_id.to_string()),
                Box::new(seq(after)),
                Box::new(status.map(|s| s.as_str().to_string())),
                Box::new(count(limit)),
            ],
        )?;
        rows.iter()
            .map(|r| decode(r.get::<_, &[u8]>(0)).map_err(|e| e.into_domain()))
            .collect()
    }

    /// Claims pending deliveries due at `now_ms` for `lease_ms` (see the module doc) and answers
    /// them soonest first: (webhook id, event sequence). A process that dies holding some
    /// leaves them to be taken again once the lease ends.
    pub fn due_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
        lease_ms: i64,
    ) -> DomainResult<Vec<(String, u64)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut rows = self.rows(
            sql::CLAIM_DUE_DELIVERIES,
            vec![
                Box::new(now_ms),
                Box::new(count(limit)),
                Box::new(lease_ms.max(0)),
            ],
        )?;
        rows.sort_by_key(|r| {
            (
                r.get::<_, i64>(2),
                r.get::<_, String>(0),
                r.get::<_, i64>(1),
            )
        });
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    /// When the soonest pending delivery can be taken (Unix ms): when it is due, or, leased by
    /// a process attempting it, when the lease ends.
    pub fn next_due_ms(&self) -> DomainResult<Option<i64>> {
        let rows = self.rows(sql::NEXT_DUE, Vec::new())?;
        Ok(rows.first().and_then(|r| r.get::<_, Option<i64>>(0)))
    }

    /// The number of events, webhook endpoints and deliveries (`issuebox copy`, `verify`).
    pub fn event_counts(&self) -> DomainResult<[u64; 3]> {
        let rows = self.rows(sql::EVENT_COUNTS, Vec::new())?;
        let r = rows
            .first()
            .ok_or_else(|| storage_err("postgres: counting events answered no row"))?;
        Ok([0, 1, 2].map(|i| r.get::<_, i64>(i) as u64))
    }
}

/// [`PgStore::number_events`] on one connection: batches until the inbox is empty.
async fn number(client: &Object, prefix: &str) -> Result<(), tokio_postgres::Error> {
    let mut conflicts = 0;
    loop {
        let any = client.prepare_cached(sql::INBOX_ANY).await?;
        if client.query_opt(&any, &[]).await?.is_none() {
            return Ok(());
        }
        match number_batch(client, prefix).await {
            Ok(n) if n < NUMBER_BATCH => return Ok(()),
            Ok(_) => {}
            Err(e) if lost_race(&e) && conflicts < NUMBER_RETRIES => {
                conflicts += 1;
                let ms = rand::random::<u64>() % (4 << conflicts);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// One numbering transaction: the counter locked (a second sequencer waits here, then finds
/// the inbox as the first left it), the oldest waiting events moved into `events` after it.
/// Answers how many it numbered.
async fn number_batch(client: &Object, prefix: &str) -> Result<i64, tokio_postgres::Error> {
    client.batch_execute("BEGIN").await?;
    let run = async {
        let lock = client.prepare_cached(sql::LOCK_COUNTER).await?;
        let last: i64 = client.query_one(&lock, &[]).await?.get(0);
        let legacy = client.prepare_cached(sql::LEGACY_INBOX_ANY).await?;
        if client.query_opt(&legacy, &[]).await?.is_some() {
            let adopt = client.prepare_cached(sql::ADOPT_LEGACY_INBOX).await?;
            client.execute(&adopt, &[]).await?;
        }
        let number = client.prepare_cached(sql::NUMBER_EVENTS).await?;
        let row = client
            .query_opt(&number, &[&last, &prefix, &NUMBER_BATCH])
            .await?;
        Ok(row.map_or(0, |r| r.get::<_, i64>(0) - last))
    }
    .await;
    match run {
        Ok(n) => client.batch_execute("COMMIT").await.map(|()| n),
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// A numbering transaction that lost to another (CockroachDB's serialization failures): run it
/// again. Anything else (the counter's row missing, a row in the way) is the store's problem,
/// answered as it is.
fn lost_race(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
        || *c == SqlState::T_R_DEADLOCK_DETECTED)
}
