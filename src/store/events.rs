//! The boundary's events, webhook endpoints and deliveries: the writes a use case makes in its
//! transaction and the reads outside one (see `crate::domain::event` and
//! `crate::domain::webhook`; each engine keeps them its own way).

use super::{Engine, Store, Tx, TxEngine, TxResult};
use crate::domain::error::DomainResult;
use crate::domain::event::{Event, EventFilter, EventPage, NewEvent};
use crate::domain::webhook::{Delivery, DeliveryStatus, Webhook};

impl Tx<'_> {
    /// Writes `events` in this transaction: the store gives each the next sequence (gap-free,
    /// in commit order) and its id when the transaction commits (the SQL engine: once it has
    /// committed, before anyone reads a sequence; see [`Store::number_events`]).
    pub fn put_events(&self, events: &[NewEvent]) -> TxResult<()> {
        on_tx!(self, e => e.put_events(events))
    }

    /// The events after `after` (which ends a transaction's events: a fan-out cursor), oldest
    /// first, about `limit` of them.
    pub fn events_after(&self, after: u64, limit: usize) -> TxResult<Vec<Event>> {
        on_tx!(self, e => e.events_after(after, limit))
    }

    pub fn set_fanout_cursor(&self, sequence: u64) -> TxResult<()> {
        on_tx!(self, e => e.set_fanout_cursor(sequence))
    }

    /// Stores a webhook endpoint; `new` lists it among every endpoint.
    pub fn put_webhook(&self, w: &Webhook, new: bool) -> TxResult<()> {
        on_tx!(self, e => e.put_webhook(w, new))
    }

    pub fn remove_webhook(&self, id: &str) -> TxResult<()> {
        on_tx!(self, e => e.remove_webhook(id))
    }

    /// Stores a delivery; `old` is the delivery as it was (for one that exists), so that the
    /// engine can move it in its list of pending deliveries by due time.
    pub fn put_delivery(&self, d: &Delivery, old: Option<&Delivery>) -> TxResult<()> {
        on_tx!(self, e => e.put_delivery(d, old))
    }
}

impl Store {
    /// Gives sequences to the events committed but not numbered yet. The SQL engine numbers
    /// events after their transactions commit (see `store::postgres::events`), so a use case
    /// that reads the last sequence inside its transaction (an endpoint receives the events
    /// after it) calls this first; the embedded engine numbers at commit: nothing to do.
    pub fn number_events(&self) -> DomainResult<()> {
        match &self.engine {
            Engine::Sled(_) => Ok(()),
            Engine::Postgres(e) => e.number_events(),
        }
    }

    /// The event with `sequence`.
    pub fn event(&self, sequence: u64) -> DomainResult<Option<Event>> {
        on_engine!(self, e => e.event(sequence))
    }

    /// Events after `after` that `filter` lets through, oldest first: at most `limit`, looking
    /// at no more than `scan` events (a page may hold fewer; `more` says whether to go on).
    /// Only committed events, and never one without every event before it.
    pub fn events_page(
        &self,
        after: u64,
        limit: usize,
        scan: usize,
        filter: &EventFilter,
    ) -> DomainResult<EventPage> {
        on_engine!(self, e => e.events_page(after, limit, scan, filter))
    }

    /// Every webhook endpoint, oldest first.
    pub fn webhooks(&self) -> DomainResult<Vec<Webhook>> {
        on_engine!(self, e => e.webhooks())
    }

    /// An endpoint's deliveries after event `after`, oldest first, at most `limit`, of one
    /// status if given.
    pub fn deliveries_of(
        &self,
        webhook_id: &str,
        after: u64,
        limit: usize,
        status: Option<DeliveryStatus>,
    ) -> DomainResult<Vec<Delivery>> {
        on_engine!(self, e => e.deliveries_of(webhook_id, after, limit, status))
    }

    /// Pending deliveries due at `now_ms`, soonest first, at most `limit`, as (webhook id,
    /// event sequence). The SQL engine also claims them for `lease_ms`, so that another process
    /// does not take them meanwhile; one process owns the embedded store and claims nothing.
    pub fn due_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
        lease_ms: i64,
    ) -> DomainResult<Vec<(String, u64)>> {
        match &self.engine {
            Engine::Sled(e) => e.due_deliveries(now_ms, limit),
            Engine::Postgres(e) => e.due_deliveries(now_ms, limit, lease_ms),
        }
    }

    /// When the soonest pending delivery is due (Unix ms), if any.
    pub fn next_due_ms(&self) -> DomainResult<Option<i64>> {
        on_engine!(self, e => e.next_due_ms())
    }
}
