//! Events as clients read them (`GET /events`) and as webhooks deliver them: the JSON of
//! contract section 8.

use crate::domain::event::{rfc3339_ms, Event, Subjects};
use serde::Serialize;
use utoipa::ToSchema;

/// The identifiers an event is about.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectsView {
    pub user_identifier: Option<String>,
    pub account_identifier: Option<String>,
    pub device_identifier: Option<String>,
    pub wallet_identifier: Option<String>,
    pub mapping_identifier: Option<String>,
}

impl From<&Subjects> for SubjectsView {
    fn from(s: &Subjects) -> Self {
        SubjectsView {
            user_identifier: s.user.clone(),
            account_identifier: s.account.clone(),
            device_identifier: s.card.clone(),
            wallet_identifier: s.wallet.clone(),
            mapping_identifier: s.kit.clone(),
        }
    }
}

/// An event: a change of state, written in the same atomic write as the change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "id": "evt_Q3k9ZpX1_1042", "sequence": 1042, "type": "card.issued",
    "occurredAt": "2026-11-30T12:00:00.123Z", "programCode": "SANDBOX",
    "requestId": "7d0f3a52-3f7e-4c59-9d8e-2a7c1e0b9f11",
    "subjects": {"userIdentifier": "u1", "accountIdentifier": "a1",
                 "deviceIdentifier": "d1", "walletIdentifier": null, "mappingIdentifier": null},
    "data": {"identifier": "d1", "maskedNumber": "400000******5678", "status": "NORMAL"}
}))]
pub struct EventView {
    /// `evt_`, the store's prefix, `_`, the sequence: unique and stable.
    pub id: String,
    /// One more than the event before it in the store: gap-free, in commit order.
    pub sequence: u64,
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339 with milliseconds.
    pub occurred_at: String,
    pub program_code: String,
    /// The `X-GD-RequestId` of the request that caused it, if it had one.
    pub request_id: Option<String>,
    pub subjects: SubjectsView,
    /// The entity as its dialect shows it after the change (masked).
    #[schema(value_type = Object)]
    pub data: Box<serde_json::value::RawValue>,
}

impl EventView {
    pub fn of(e: &Event) -> EventView {
        let data = String::from_utf8(e.data.clone())
            .ok()
            .and_then(|s| serde_json::value::RawValue::from_string(s).ok())
            .unwrap_or_else(|| {
                serde_json::value::RawValue::from_string("null".into()).expect("valid JSON")
            });
        EventView {
            id: e.id.clone(),
            sequence: e.sequence,
            kind: e.kind.as_str().to_string(),
            occurred_at: rfc3339_ms(e.occurred_at_ms),
            program_code: e.program.clone(),
            request_id: e.request_id.clone(),
            subjects: (&e.subjects).into(),
            data,
        }
    }
}

/// The JSON of an event, as `GET /events/{id}` answers it and a webhook delivers it.
pub fn event_json(e: &Event) -> Vec<u8> {
    serde_json::to_vec(&EventView::of(e)).expect("views serialise")
}

/// A page of events, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    pub data: Vec<EventView>,
    /// The sequence to pass as `after` for the next page.
    pub next: String,
    /// Whether events after `next` may exist.
    pub has_more: bool,
}
