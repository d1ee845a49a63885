//! Webhook endpoints and their deliveries: what the store keeps so that every event an endpoint
//! subscribes to is attempted until delivered, failed or cancelled, across restarts.

use super::event::EventType;
use super::tags::stored_tags;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum WebhookStatus {
    Enabled,
    Disabled,
}

stored_tags!(WebhookStatus { Enabled = 0, Disabled = 1 });

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Enabled => "enabled",
            WebhookStatus::Disabled => "disabled",
        }
    }
}

/// A signing secret of an endpoint: its raw bytes, and when it stops signing (a secret rotated
/// out signs beside its successor for a while).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookSecret {
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
    /// Unix seconds after which it no longer signs; `None` for the current secret.
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecret")
            .field("key", &"..")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A client's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    /// The client that owns it; no other client sees it.
    pub client: String,
    pub url: String,
    /// The types it receives; empty = every type (`*`).
    pub event_types: Vec<EventType>,
    pub program_codes: Vec<String>,
    pub status: WebhookStatus,
    pub description: Option<String>,
    /// Newest first: the current secret, then any rotated out that still sign.
    pub secrets: Vec<WebhookSecret>,
    /// It receives the events after this sequence (the last one when it was created).
    pub after_sequence: u64,
    /// Deliveries that ended `failed` since the last one delivered.
    pub consecutive_failures: u32,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Webhook {
    /// Whether an event of `kind` in `program` is for this endpoint (whatever its status).
    pub fn subscribes(&self, kind: EventType, program: &str) -> bool {
        (self.event_types.is_empty() || self.event_types.contains(&kind))
            && self.program_codes.iter().any(|p| p == program)
    }

    /// The secrets that sign at `now` (Unix seconds), newest first.
    pub fn live_secrets(&self, now: i64) -> impl Iterator<Item = &WebhookSecret> {
        self.secrets
            .iter()
            .filter(move |s| s.expires_at.is_none_or(|t| t > now))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
    /// Its endpoint was deleted before it was delivered.
    Cancelled,
}

stored_tags!(DeliveryStatus { Pending = 0, Delivered = 1, Failed = 2, Cancelled = 3 });

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
            DeliveryStatus::Cancelled,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// One try at delivering an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Unix milliseconds it began.
    pub at_ms: i64,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it failed without an answer (timeout, refused connection), in words.
    pub error: Option<String>,
    pub latency_ms: u32,
    /// The first KiB of the receiver's answer.
    pub response_prefix: String,
    /// Asked for by the client (a retry), not by the schedule.
    pub manual: bool,
}

impl Attempt {
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The delivery of one event to one endpoint: one per pair, with every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub webhook_id: String,
    pub event_sequence: u64,
    pub event_id: String,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    /// Unix milliseconds of the next attempt while pending.
    pub next_attempt_ms: i64,
    /// Scheduled attempts failed in this round (a recovery starts a new round).
    pub round_failures: u32,
    pub created_ms: i64,
}

impl Delivery {
    /// Its id: unique within its endpoint, which its path names.
    pub fn id(&self) -> String {
        delivery_id(self.event_sequence)
    }
}

pub fn delivery_id(event_sequence: u64) -> String {
    format!("dlv_{event_sequence}")
}

/// The event sequence a delivery id names.
pub fn delivery_sequence(id: &str) -> Option<u64> {
    let s = id.strip_prefix("dlv_")?;
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
