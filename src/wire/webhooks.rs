//! Webhook endpoints and their deliveries as the API shows them (contract section 8).

use crate::domain::event::rfc3339_ms;
use crate::domain::model::rfc3339;
use crate::domain::webhook::{Attempt, Delivery, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An event type an endpoint subscribes to, or `*` for every type (schema only: the use case
/// reads the names, see `ops::webhooks`).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub enum SubscribedType {
    #[serde(rename = "*")]
    Every,
    #[serde(rename = "enrollment.completed")]
    EnrollmentCompleted,
    #[serde(rename = "enrollment.pending_review")]
    EnrollmentPendingReview,
    #[serde(rename = "enrollment.declined")]
    EnrollmentDeclined,
    #[serde(rename = "user.created")]
    UserCreated,
    #[serde(rename = "account.created")]
    AccountCreated,
    #[serde(rename = "account.upgraded")]
    AccountUpgraded,
    #[serde(rename = "account.status_changed")]
    AccountStatusChanged,
    #[serde(rename = "card.issued")]
    CardIssued,
    #[serde(rename = "card.status_changed")]
    CardStatusChanged,
    #[serde(rename = "card.replaced")]
    CardReplaced,
    #[serde(rename = "kit.loaded")]
    KitLoaded,
    #[serde(rename = "kit.reserved")]
    KitReserved,
    #[serde(rename = "kit.assigned")]
    KitAssigned,
    #[serde(rename = "kit.released")]
    KitReleased,
    #[serde(rename = "wallet.created")]
    WalletCreated,
    #[serde(rename = "wallet.status_changed")]
    WalletStatusChanged,
    #[serde(rename = "ofac.review_opened")]
    OfacReviewOpened,
    #[serde(rename = "ofac.review_decided")]
    OfacReviewDecided,
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

/// `enabled` or `disabled` (schema only).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum WebhookStatusName {
    Enabled,
    Disabled,
}

/// A delivery's status (schema only).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum DeliveryStatusName {
    Pending,
    Delivered,
    Failed,
    Cancelled,
}

/// `POST /webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"url": "http://127.0.0.1:9000/hooks", "eventTypes": ["*"],
    "programCodes": ["SANDBOX"], "description": "ledger"}))]
pub struct NewWebhook {
    /// `http` or `https`, with a host `webhooks.allowed_hosts` allows.
    #[schema(max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\\s]+")]
    pub url: String,
    /// `["*"]` for every type, or event types.
    #[schema(min_items = 1, max_items = 32, value_type = Vec<SubscribedType>)]
    pub event_types: Vec<String>,
    /// Default: every program of the client.
    pub program_codes: Option<Vec<String>>,
    #[schema(max_length = 256)]
    pub description: Option<String>,
}

/// `PATCH /webhooks/{id}`: what is given changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"status": "disabled"}))]
pub struct WebhookPatch {
    #[schema(max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\\s]+")]
    pub url: Option<String>,
    #[schema(min_items = 1, max_items = 32, value_type = Option<Vec<SubscribedType>>)]
    pub event_types: Option<Vec<String>>,
    /// `enabled` or `disabled`.
    #[schema(value_type = Option<WebhookStatusName>)]
    pub status: Option<String>,
    #[schema(max_length = 256)]
    pub description: Option<String>,
}

/// A webhook endpoint. `secret` only in the answers that make one (create, rotate-secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "wh_V1StGXR8Z5jdHi6BmyT1aB", "url": "http://127.0.0.1:9000/hooks",
    "eventTypes": ["*"], "programCodes": ["SANDBOX"], "status": "enabled", "description": null,
    "consecutiveFailures": 0, "createdAt": "2026-11-30T12:00:00Z",
    "updatedAt": "2026-11-30T12:00:00Z",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub program_codes: Vec<String>,
    /// `enabled` or `disabled`.
    pub status: String,
    pub description: Option<String>,
    /// Deliveries that ended `failed` since the last one delivered.
    pub consecutive_failures: u32,
    pub created_at: String,
    pub updated_at: String,
    /// The signing secret (`whsec_…`): shown in this answer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookView {
    pub fn of(w: &Webhook, secret: Option<String>) -> WebhookView {
        WebhookView {
            id: w.id.clone(),
            url: w.url.clone(),
            event_types: if w.event_types.is_empty() {
                vec!["*".to_string()]
            } else {
                w.event_types
                    .iter()
                    .map(|t| t.as_str().to_string())
                    .collect()
            },
            program_codes: w.program_codes.clone(),
            status: w.status.as_str().to_string(),
            description: w.description.clone(),
            consecutive_failures: w.consecutive_failures,
            created_at: rfc3339(w.created_at),
            updated_at: rfc3339(w.updated_at),
            secret,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub data: Vec<WebhookView>,
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    /// When it began (RFC 3339, milliseconds).
    pub at: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it failed without an answer.
    pub error: Option<String>,
    pub latency_ms: u32,
    /// The first KiB of the receiver's answer.
    pub response: String,
    /// Asked for by a retry, not by the schedule.
    pub manual: bool,
}

impl From<&Attempt> for AttemptView {
    fn from(a: &Attempt) -> Self {
        AttemptView {
            at: rfc3339_ms(a.at_ms),
            status: a.status,
            error: a.error.clone(),
            latency_ms: a.latency_ms,
            response: a.response_prefix.clone(),
            manual: a.manual,
        }
    }
}

/// The delivery of one event to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "dlv_1042", "webhookId": "wh_V1StGXR8Z5jdHi6BmyT1aB",
    "eventId": "evt_Q3k9ZpX1_1042", "eventSequence": 1042, "status": "delivered",
    "attempts": [{"at": "2026-11-30T12:00:00.120Z", "status": 200, "error": null,
                  "latencyMs": 3, "response": "ok", "manual": false}],
    "nextAttemptAt": null, "createdAt": "2026-11-30T12:00:00.100Z"}))]
pub struct DeliveryView {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_sequence: u64,
    /// `pending`, `delivered`, `failed` or `cancelled`.
    pub status: String,
    pub attempts: Vec<AttemptView>,
    /// While pending: when the next attempt is due.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        DeliveryView {
            id: d.id(),
            webhook_id: d.webhook_id.clone(),
            event_id: d.event_id.clone(),
            event_sequence: d.event_sequence,
            status: d.status.as_str().to_string(),
            attempts: d.attempts.iter().map(AttemptView::from).collect(),
            next_attempt_at: (d.status == crate::domain::webhook::DeliveryStatus::Pending)
                .then(|| rfc3339_ms(d.next_attempt_ms)),
            created_at: rfc3339_ms(d.created_ms),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryList {
    pub data: Vec<DeliveryView>,
    /// The event sequence to pass as `after` for the next page.
    pub next: String,
    pub has_more: bool,
}

/// `POST /webhooks/{id}/recover`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"since": "2026-11-30T00:00:00Z"}))]
pub struct RecoverRequest {
    /// RFC 3339: failed deliveries created since then are attempted again.
    #[schema(format = DateTime)]
    pub since: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recovered {
    /// How many failed deliveries are pending again.
    pub recovered: usize,
}

/// The answer to `POST /webhooks/{id}/test`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestSent {
    pub webhook_id: String,
    /// `webhook.test`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::EventType;

    /// The schema's names are exactly the event types, plus `*`.
    #[test]
    fn the_subscribed_type_schema_names_every_event_type() {
        let schema =
            serde_json::to_value(<SubscribedType as utoipa::PartialSchema>::schema()).unwrap();
        let mut names: Vec<String> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        names.sort();
        let mut want: Vec<String> = EventType::ALL
            .iter()
            .map(|t| t.as_str().to_string())
            .chain(["*".to_string()])
            .collect();
        want.sort();
        assert_eq!(names, want);
    }
}
