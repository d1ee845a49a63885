//! The SQL engine's events, webhook endpoints and deliveries. PLACEHOLDER: being built.

use super::{PgStore, PgTx};
use crate::domain::error::DomainResult;
use crate::domain::event::{Event, EventFilter, EventPage, NewEvent};
use crate::domain::webhook::{Delivery, DeliveryStatus, Webhook};
use crate::store::{storage_err, TxResult};

fn missing<T>() -> Result<T, crate::domain::error::DomainError> {
    Err(storage_err(
        "events are not kept by the postgres engine yet",
    ))
}

impl PgTx<'_> {
    pub fn last_event_sequence(&self) -> TxResult<u64> {
        Ok(missing()?)
    }
    pub fn fanout_cursor(&self) -> TxResult<u64> {
        Ok(missing()?)
    }
    pub fn webhook(&self, _id: &str) -> TxResult<Option<Webhook>> {
        Ok(missing()?)
    }
    pub fn webhook_ids(&self) -> TxResult<Vec<String>> {
        Ok(missing()?)
    }
    pub fn delivery(&self, _webhook_id: &str, _sequence: u64) -> TxResult<Option<Delivery>> {
        Ok(missing()?)
    }
    pub fn put_events(&self, _events: &[NewEvent]) -> TxResult<()> {
        Ok(missing()?)
    }
    pub fn restore_events(&self, _events: &[Event]) -> TxResult<()> {
        Ok(missing()?)
    }
    pub fn events_after(&self, _after: u64, _limit: usize) -> TxResult<Vec<Event>> {
        Ok(missing()?)
    }
    pub fn set_fanout_cursor(&self, _sequence: u64) -> TxResult<()> {
        Ok(missing()?)
    }
    pub fn put_webhook(&self, _w: &Webhook, _new: bool) -> TxResult<()> {
        Ok(missing()?)
    }
    pub fn remove_webhook(&self, _id: &str) -> TxResult<()> {
        Ok(missing()?)
    }
    pub fn put_delivery(&self, _d: &Delivery, _old: Option<&Delivery>) -> TxResult<()> {
        Ok(missing()?)
    }
}

impl PgStore {
    pub fn last_event_sequence(&self) -> DomainResult<u64> {
        missing()
    }
    pub fn fanout_cursor(&self) -> DomainResult<u64> {
        missing()
    }
    pub fn webhook(&self, _id: &str) -> DomainResult<Option<Webhook>> {
        missing()
    }
    pub fn webhook_ids(&self) -> DomainResult<Vec<String>> {
        missing()
    }
    pub fn delivery(&self, _webhook_id: &str, _sequence: u64) -> DomainResult<Option<Delivery>> {
        missing()
    }
    pub fn event(&self, _sequence: u64) -> DomainResult<Option<Event>> {
        missing()
    }
    pub fn events_page(
        &self,
        _after: u64,
        _limit: usize,
        _scan: usize,
        _filter: &EventFilter,
    ) -> DomainResult<EventPage> {
        missing()
    }
    pub fn webhooks(&self) -> DomainResult<Vec<Webhook>> {
        missing()
    }
    pub fn deliveries_of(
        &self,
        _webhook_id: &str,
        _after: u64,
        _limit: usize,
        _status: Option<DeliveryStatus>,
    ) -> DomainResult<Vec<Delivery>> {
        missing()
    }
    pub fn due_deliveries(
        &self,
        _now_ms: i64,
        _limit: usize,
        _lease_ms: i64,
    ) -> DomainResult<Vec<(String, u64)>> {
        missing()
    }
    pub fn next_due_ms(&self) -> DomainResult<Option<i64>> {
        missing()
    }
}
