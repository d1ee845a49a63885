//! `issuebox copy`'s side of the SQL engine: the store's records in export order (see
//! [`crate::store::Store::export`]; after the tokens: events in sequence order, webhook endpoints
//! oldest first, deliveries, the fan-out cursor), table by table in key order, [`PAGE`] rows at a time
//! (keyset pagination on each table's primary key: no `OFFSET`, no cursor), all in one
//! `REPEATABLE READ, READ ONLY` transaction so that the pages are one snapshot of the store.
//!
//! Row-value comparisons (`(card_id, seq) > ($1, $2)`) and `EXISTS` are in CockroachDB's and
//! YugabyteDB's SQL too; CockroachDB runs the snapshot as `SERIALIZABLE` and may end a read-only
//! transaction that outlives its garbage-collection window (`gc.ttlseconds`, 4 hours by default).

use super::{sql, PgStore, PgTx};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::event::Event;
use crate::domain::model::*;
use crate::store::{codec, decode_grant, storage_err, Record, TxResult};
use serde::de::DeserializeOwned;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// Rows read at a time.
const PAGE: i64 = 1000;

/// Events per [`Record::Events`]: the target writes each as one key (sled) or one statement.
const EVENTS_PER_RECORD: usize = 100;

/// The key of a page's last row, as the next page's first parameters.
type Key = Vec<Box<dyn ToSql + Sync + Send>>;

impl PgStore {
    pub fn export(&self, f: &mut dyn FnMut(Record) -> DomainResult<()>) -> DomainResult<()> {
        // Events still in the inbox get their sequences first: a copy holds numbered events.
        self.number_events()?;
        self.read(|t| {
            t.batch_execute(sql::EXPORT_BEGIN)?;
            let out = export_all(t, f);
            let end = t.batch_execute(if out.is_ok() { "COMMIT" } else { "ROLLBACK" });
            out.and(end)
        })
    }

    /// The number of token grants.
    pub fn token_count(&self) -> DomainResult<u64> {
        let rows = self.read(|t| t.rows(sql::TOKEN_COUNT, &[]))?;
        Ok(rows.first().map(|r| r.get::<_, i64>(0)).unwrap_or(0) as u64)
    }

    /// Whether no table of records (or of their lookups) holds a row.
    pub fn is_empty(&self) -> DomainResult<bool> {
        let rows = self.read(|t| t.rows(sql::ANY_RECORD, &[]))?;
        Ok(!rows.first().is_some_and(|r| r.get::<_, bool>(0)))
    }
}

fn export_all(t: &PgTx, f: &mut dyn FnMut(Record) -> DomainResult<()>) -> TxResult<()> {
    let mut send = |r: Record| f(r).map_err(Into::into);
    let text =
        |row: &Row, i: usize| -> Box<dyn ToSql + Sync + Send> { Box::new(row.get::<_, String>(i)) };
    paged(
        t,
        &sql::EXPORT_USERS,
        |r| vec![text(r, 0)],
        |row| send(Record::User(decode(row, 1)?)),
    )?;
    paged(
        t,
        &sql::EXPORT_ACCOUNTS,
        |r| vec![text(r, 0)],
        |row| send(Record::Account(decode(row, 1)?)),
    )?;
    paged(
        t,
        &sql::EXPORT_CARDS,
        |r| vec![text(r, 0)],
        |row| {
            let kit = match row.get::<_, Option<&[u8]>>(2) {
                None => None,
                Some(_) => Some(Box::new(decode::<Kit>(row, 2)?)),
            };
            send(Record::Card(Box::new(decode(row, 1)?), kit))
        },
    )?;
    paged(
        t,
        &sql::EXPORT_KITS,
        |r| vec![text(r, 0), text(r, 1)],
        |row| send(Record::Kit(Box::new(decode(row, 2)?))),
    )?;
    paged(
        t,
        &sql::EXPORT_WALLETS,
        |r| vec![text(r, 0), Box::new(r.get::<_, i64>(1))],
        |row| send(Record::Wallet(decode(row, 2)?)),
    )?;
    paged(
        t,
        &sql::EXPORT_REVIEWS,
        |r| vec![text(r, 0)],
        |row| send(Record::Review(decode(row, 1)?)),
    )?;
    paged(
        t,
        &sql::EXPORT_RESPONSES,
        |r| vec![text(r, 0), text(r, 1), text(r, 2)],
        |row| {
            let key = ResponseKey::new(row.get(0), row.get(1), row.get(2));
            send(Record::Response(key, decode(row, 3)?))
        },
    )?;
    paged(
        t,
        &sql::EXPORT_TOKENS,
        |r| vec![Box::new(r.get::<_, Vec<u8>>(0))],
        |row| {
            let hash: [u8; 32] = row
                .get::<_, &[u8]>(0)
                .try_into()
                .map_err(|_| storage_err("tokens: a hash is not 32 bytes"))?;
            let grant = decode_grant(row.get::<_, &[u8]>(1))
                .map_err(|e| storage_err(format!("tokens: {e}")))?;
            send(Record::Token(hash, grant))
        },
    )?;
    // The cursor is read first (one snapshot anyway) so that a record of events ends at it: the
    // embedded engine reads events after the cursor group by group, and each record is a group.
    let cursor = t
        .rows(sql::FANOUT_CURSOR, &[])?
        .first()
        .map_or(0, |r| r.get::<_, i64>(0)) as u64;
    let mut group: Vec<Event> = Vec::with_capacity(EVENTS_PER_RECORD);
    paged(
        t,
        &sql::EXPORT_EVENTS,
        |r| vec![Box::new(r.get::<_, i64>(0))],
        |row| {
            let e = super::events::event_row(row)?;
            let ends = e.sequence == cursor;
            group.push(e);
            if ends || group.len() >= EVENTS_PER_RECORD {
                send(Record::Events(std::mem::take(&mut group)))?;
            }
            Ok(())
        },
    )?;
    if !group.is_empty() {
        send(Record::Events(group))?;
    }
    paged(
        t,
        &sql::EXPORT_WEBHOOKS,
        |r| vec![Box::new(r.get::<_, i64>(0)), text(r, 1)],
        |row| send(Record::Webhook(Box::new(decode(row, 2)?))),
    )?;
    paged(
        t,
        &sql::EXPORT_DELIVERIES,
        |r| vec![text(r, 0), Box::new(r.get::<_, i64>(1))],
        |row| send(Record::Delivery(Box::new(decode(row, 2)?))),
    )?;
    send(Record::FanoutCursor(cursor))
}

/// Reads every row of `q` a page at a time, handing each to `each`; `key` answers a row's key.
fn paged(
    t: &PgTx,
    q: &sql::Paged,
    key: impl Fn(&Row) -> Key,
    mut each: impl FnMut(&Row) -> TxResult<()>,
) -> TxResult<()> {
    let mut last: Option<Key> = None;
    loop {
        let rows = match &last {
            None => t.rows(q.first, &[&PAGE])?,
            Some(k) => {
                let mut params: Vec<&(dyn ToSql + Sync)> = k
                    .iter()
                    .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                params.push(&PAGE);
                t.rows(q.next, &params)?
            }
        };
        for row in &rows {
            each(row)?;
        }
        match rows.last() {
            Some(row) if rows.len() as i64 == PAGE => last = Some(key(row)),
            _ => return Ok(()),
        }
    }
}

fn decode<T: DeserializeOwned>(row: &Row, i: usize) -> TxResult<T> {
    codec::decode(row.get::<_, &[u8]>(i))
        .map_err(|e| DomainError::Storage(format!("postgres record: {e}")).into())
}
