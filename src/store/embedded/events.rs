//! The embedded engine's events, webhook endpoints and deliveries.
//!
//! A transaction's events are one key of the `events` tree (its first sequence, big-endian),
//! so an enrollment's four or five events cost one inserted key; `meta/event_seq` holds the last
//! sequence. Closures run one at a time (see [`super::batch`]), so the sequence a closure reads
//! and writes is gap-free and in commit order. Readers outside a transaction see durable batches
//! only, and batches become durable in order, so a reader never sees an event without every
//! event before it.

use super::tx::Reads;
use super::{merge, SledStore, SledTx, TreeId};
use crate::domain::error::DomainResult;
use crate::domain::event::{now_ms, Event, EventFilter, EventPage, NewEvent};
use crate::domain::webhook::{Delivery, DeliveryStatus, Webhook};
use crate::store::event_data::{decode_group, encode_group};
use crate::store::{codec, storage_err, TxResult};
use sled::IVec;

const EVENT_SEQ_KEY: &[u8] = b"event_seq";
const EVENT_PREFIX_KEY: &[u8] = b"event_prefix";
const FANOUT_KEY: &[u8] = b"fanout";
const WEBHOOK_IDS_KEY: &[u8] = b"webhook_ids";

/// The events of one value of the `events` tree.
pub(super) fn group(stored: &[u8]) -> Result<Vec<Event>, crate::domain::error::DomainError> {
    decode_group(stored).map_err(|e| storage_err(format!("events: {e}")))
}

/// The store's event id prefix, drawn and made durable the first time the store opens.
pub(super) fn event_prefix(
    db: &super::batch::DurableDb,
    meta: &sled::Tree,
) -> DomainResult<String> {
    if let Some(v) = meta.get(EVENT_PREFIX_KEY).map_err(storage_err)? {
        return String::from_utf8(v.to_vec()).map_err(storage_err);
    }
    let prefix = crate::domain::ids::new_id()[..8].to_string();
    meta.insert(EVENT_PREFIX_KEY, prefix.as_bytes())
        .map_err(storage_err)?;
    db.flush().map_err(storage_err)?;
    Ok(prefix)
}

fn read_u64(v: Option<IVec>) -> u64 {
    v.and_then(|b| b.as_ref().try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Key of a delivery.
pub(super) fn delivery_key(webhook_id: &str, sequence: u64) -> Vec<u8> {
    let mut k = webhook_id.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&sequence.to_be_bytes());
    k
}

/// Key of a pending delivery in the due index.
fn due_key(d: &Delivery) -> Vec<u8> {
    let mut k = (d.next_attempt_ms.max(0) as u64).to_be_bytes().to_vec();
    k.extend_from_slice(&delivery_key(&d.webhook_id, d.event_sequence));
    k
}

/// The webhook id and event sequence a delivery key (or a due key's tail) names.
pub(super) fn parse_delivery_key(k: &[u8]) -> Option<(String, u64)> {
    let split = k.len().checked_sub(9)?;
    if k[split] != 0 {
        return None;
    }
    let id = String::from_utf8(k[..split].to_vec()).ok()?;
    Some((id, u64::from_be_bytes(k[split + 1..].try_into().ok()?)))
}

/// Reads of events, endpoints and deliveries, the same in a transaction and outside one.
pub trait EventReads: Reads {
    fn last_event_sequence(&self) -> Result<u64, Self::Err> {
        Ok(read_u64(self.raw(TreeId::Meta, EVENT_SEQ_KEY)?))
    }
    fn fanout_cursor(&self) -> Result<u64, Self::Err> {
        Ok(read_u64(self.raw(TreeId::Meta, FANOUT_KEY)?))
    }
    fn webhook(&self, id: &str) -> Result<Option<Webhook>, Self::Err> {
        self.get(TreeId::Webhooks, id.as_bytes())
    }
    /// Every endpoint's id, oldest first.
    fn webhook_ids(&self) -> Result<Vec<String>, Self::Err> {
        Ok(self.get(TreeId::Meta, WEBHOOK_IDS_KEY)?.unwrap_or_default())
    }
    fn delivery(&self, webhook_id: &str, sequence: u64) -> Result<Option<Delivery>, Self::Err> {
        self.get(TreeId::Deliveries, &delivery_key(webhook_id, sequence))
    }
}

impl<T: Reads + ?Sized> EventReads for T {}

impl SledTx<'_> {
    /// Gives `events` the next sequences and writes them as one key.
    pub fn put_events(&self, events: &[NewEvent]) -> TxResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let last = self.last_event_sequence()?;
        let at = now_ms();
        let group: Vec<Event> = events
            .iter()
            .zip(last + 1..)
            .map(|(e, seq)| Event::from_new(e, self.store().event_prefix(), seq, at))
            .collect();
        self.put_raw(
            TreeId::Events,
            &(last + 1).to_be_bytes(),
            encode_group(&group),
        )?;
        let end = last + events.len() as u64;
        self.put_raw(TreeId::Meta, EVENT_SEQ_KEY, end.to_be_bytes().to_vec())
    }

    /// Writes events of another store as they are (`issuebox copy`): their sequences and ids
    /// stay, and the store's sequence moves past them.
    pub fn restore_events(&self, events: &[Event]) -> TxResult<()> {
        let (Some(first), Some(end)) = (events.first(), events.last()) else {
            return Ok(());
        };
        self.put_raw(
            TreeId::Events,
            &first.sequence.to_be_bytes(),
            encode_group(events),
        )?;
        if end.sequence > self.last_event_sequence()? {
            self.put_raw(
                TreeId::Meta,
                EVENT_SEQ_KEY,
                end.sequence.to_be_bytes().to_vec(),
            )?;
        }
        Ok(())
    }

    /// The events after `after`, at most about `limit` (whole transactions' groups), read
    /// group by group: `after` must end a group (the fan-out cursor always does).
    pub fn events_after(&self, after: u64, limit: usize) -> TxResult<Vec<Event>> {
        let mut out = Vec::new();
        let last = self.last_event_sequence()?;
        let mut next = after + 1;
        while next <= last && out.len() < limit {
            let stored = self
                .raw(TreeId::Events, &next.to_be_bytes())?
                .ok_or_else(|| storage_err(format!("events: no event group starts at {next}")))?;
            let group = group(&stored)?;
            next += group.len().max(1) as u64;
            out.extend(group);
        }
        Ok(out)
    }

    pub fn set_fanout_cursor(&self, sequence: u64) -> TxResult<()> {
        self.put_raw(TreeId::Meta, FANOUT_KEY, sequence.to_be_bytes().to_vec())
    }

    /// Stores an endpoint; a new one joins the list of every endpoint.
    pub fn put_webhook(&self, w: &Webhook, new: bool) -> TxResult<()> {
        if new {
            let mut ids = self.webhook_ids()?;
            ids.push(w.id.clone());
            self.put(TreeId::Meta, WEBHOOK_IDS_KEY, &ids)?;
        }
        self.put(TreeId::Webhooks, w.id.as_bytes(), w)
    }

    pub fn remove_webhook(&self, id: &str) -> TxResult<()> {
        let mut ids = self.webhook_ids()?;
        ids.retain(|i| i != id);
        self.put(TreeId::Meta, WEBHOOK_IDS_KEY, &ids)?;
        self.del(TreeId::Webhooks, id.as_bytes())
    }

    /// Stores a delivery (`old`: as it was, for an existing one) and keeps the due index: a
    /// pending delivery is listed under when it is due, no other is.
    pub fn put_delivery(&self, d: &Delivery, old: Option<&Delivery>) -> TxResult<()> {
        if let Some(o) = old.filter(|o| o.status == DeliveryStatus::Pending) {
            self.del(TreeId::IdxDueDeliveries, &due_key(o))?;
        }
        if d.status == DeliveryStatus::Pending {
            self.put_raw(TreeId::IdxDueDeliveries, &due_key(d), Vec::new())?;
        }
        self.put(
            TreeId::Deliveries,
            &delivery_key(&d.webhook_id, d.event_sequence),
            d,
        )
    }
}

impl SledStore {
    pub fn event_prefix(&self) -> &str {
        &self.inner.event_prefix
    }

    /// A tree's raw values from `from` on, in key order, durable batches included.
    fn scan_raw_from<'a>(
        &'a self,
        t: TreeId,
        from: &[u8],
    ) -> impl Iterator<Item = DomainResult<(Vec<u8>, IVec)>> + 'a {
        let mut pending = self.inner.batcher.durable_writes(t as u8);
        let pending = pending.split_off(from);
        let tree = self
            .tree(t)
            .range(from.to_vec()..)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v)).map_err(storage_err));
        merge::Merged::new(tree, pending)
    }

    /// The key of the event group holding `sequence`: the greatest first sequence not past it.
    fn group_key_of(&self, sequence: u64) -> DomainResult<Option<Vec<u8>>> {
        let key = sequence.to_be_bytes();
        let in_tree = self
            .tree(TreeId::Events)
            .range(..=&key[..])
            .next_back()
            .transpose()
            .map_err(storage_err)?
            .map(|(k, _)| k.to_vec());
        let pending = self.inner.batcher.durable_writes(TreeId::Events as u8);
        let in_pending = pending
            .range(..=key.to_vec())
            .rev()
            .find(|(_, v)| v.is_some())
            .map(|(k, _)| k.clone());
        Ok(in_tree.max(in_pending))
    }

    /// The event with `sequence`, if the store holds it.
    pub fn event(&self, sequence: u64) -> DomainResult<Option<Event>> {
        let Some(key) = self.group_key_of(sequence)? else {
            return Ok(None);
        };
        let group = match self.raw(TreeId::Events, &key)? {
            Some(stored) => group(&stored)?,
            None => Vec::new(),
        };
        Ok(group.into_iter().find(|e| e.sequence == sequence))
    }

    /// Events after `after` that `filter` lets through, oldest first: at most `limit`, looking
    /// at no more than `scan` events (a page may then hold fewer, and `more` says to go on).
    pub fn events_page(
        &self,
        after: u64,
        limit: usize,
        scan: usize,
        filter: &EventFilter,
    ) -> DomainResult<EventPage> {
        let start = self
            .group_key_of(after + 1)?
            .unwrap_or_else(|| (after + 1).to_be_bytes().to_vec());
        let mut page = EventPage {
            last_seen: after,
            ..EventPage::default()
        };
        let mut seen = 0usize;
        'groups: for r in self.scan_raw_from(TreeId::Events, &start) {
            let (_, v) = r?;
            let group = group(&v)?;
            for e in group.into_iter().filter(|e| e.sequence > after) {
                if page.events.len() >= limit || seen >= scan {
                    page.more = true;
                    break 'groups;
                }
                seen += 1;
                page.last_seen = e.sequence;
                if filter.matches(&e) {
                    page.events.push(e);
                }
            }
        }
        Ok(page)
    }

    /// Every endpoint, oldest first.
    pub fn webhooks(&self) -> DomainResult<Vec<Webhook>> {
        let mut out = Vec::new();
        for id in self.webhook_ids()? {
            if let Some(w) = self.webhook(&id)? {
                out.push(w);
            }
        }
        Ok(out)
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
        let from = delivery_key(webhook_id, after.saturating_add(1));
        let mut out = Vec::new();
        for r in self.scan_raw_from(TreeId::Deliveries, &from) {
            let (k, v) = r?;
            match parse_delivery_key(&k) {
                Some((id, _)) if id == webhook_id => {}
                _ => break,
            }
            let d: Delivery = codec::decode(&v).map_err(storage_err)?;
            if status.is_none_or(|s| s == d.status) {
                out.push(d);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Pending deliveries due at `now_ms`, soonest first, at most `limit`: (webhook id, event
    /// sequence).
    pub fn due_deliveries(&self, now_ms: i64, limit: usize) -> DomainResult<Vec<(String, u64)>> {
        let mut out = Vec::new();
        for r in self.scan_raw_from(TreeId::IdxDueDeliveries, &[]) {
            let (k, _) = r?;
            let due = u64::from_be_bytes(
                k.get(..8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| storage_err("idx_due_deliveries: a key is too short"))?,
            );
            if due > now_ms.max(0) as u64 || out.len() >= limit {
                break;
            }
            let key = parse_delivery_key(&k[8..])
                .ok_or_else(|| storage_err("idx_due_deliveries: a key names no delivery"))?;
            out.push(key);
        }
        Ok(out)
    }

    /// Every entry of the due index: (due Unix ms, webhook id, event sequence), soonest first;
    /// a key that names no delivery is answered as an error (`verify` reports it).
    pub(super) fn due_index(&self) -> Vec<Result<(u64, String, u64), String>> {
        self.scan_raw_from(TreeId::IdxDueDeliveries, &[])
            .map(|r| {
                let (k, _) = r.map_err(|e| format!("idx_due_deliveries: {e}"))?;
                let due = k
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .ok_or("idx_due_deliveries: a key is too short")?;
                let (id, seq) = parse_delivery_key(&k[8..])
                    .ok_or("idx_due_deliveries: a key names no delivery")?;
                Ok((due, id, seq))
            })
            .collect()
    }

    /// The number of events, webhook endpoints and deliveries (a scan of each tree).
    pub fn event_counts(&self) -> DomainResult<[u64; 3]> {
        let mut events = 0;
        for r in self.scan_raw_from(TreeId::Events, &[]) {
            let group = group(&r?.1)?;
            events += group.len() as u64;
        }
        let keys = |t| -> DomainResult<u64> {
            let mut n = 0;
            for r in self.scan_raw_from(t, &[]) {
                r?;
                n += 1;
            }
            Ok(n)
        };
        Ok([events, keys(TreeId::Webhooks)?, keys(TreeId::Deliveries)?])
    }

    /// The earliest time a pending delivery is due, if any.
    pub fn next_due_ms(&self) -> DomainResult<Option<i64>> {
        Ok(self
            .scan_raw_from(TreeId::IdxDueDeliveries, &[])
            .next()
            .transpose()?
            .and_then(|(k, _)| k.get(..8).and_then(|b| b.try_into().ok()))
            .map(|b| u64::from_be_bytes(b) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_keys_name_their_webhook_and_sequence() {
        let k = delivery_key("wh_abc", 42);
        assert_eq!(parse_delivery_key(&k), Some(("wh_abc".to_string(), 42)));
        assert_eq!(parse_delivery_key(b"short"), None);
    }
}
