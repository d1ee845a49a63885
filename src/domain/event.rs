//! Events: every change of state, written in the same atomic write as the change (the outbox),
//! read by clients in `sequence` order and pushed to their webhook endpoints.
//!
//! A use case describes its events as [`NewEvent`]s; the store gives each its `sequence` (one
//! more than the last event of the store, gap-free, in commit order) and its `id` when the write
//! commits, so a transaction that is run again, refused or faulted leaves no event and no gap.

use super::tags::stored_tags;
use serde::{Deserialize, Serialize};

/// What happened. Stored by its tag; shown by its dotted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum EventType {
    EnrollmentCompleted,
    EnrollmentPendingReview,
    EnrollmentDeclined,
    UserCreated,
    AccountCreated,
    AccountUpgraded,
    AccountStatusChanged,
    CardIssued,
    CardStatusChanged,
    CardReplaced,
    KitLoaded,
    KitReserved,
    KitAssigned,
    KitReleased,
    WalletCreated,
    WalletStatusChanged,
    OfacReviewOpened,
    OfacReviewDecided,
    WebhookTest,
}

stored_tags!(EventType {
    EnrollmentCompleted = 0,
    EnrollmentPendingReview = 1,
    EnrollmentDeclined = 2,
    UserCreated = 3,
    AccountCreated = 4,
    AccountUpgraded = 5,
    AccountStatusChanged = 6,
    CardIssued = 7,
    CardStatusChanged = 8,
    CardReplaced = 9,
    KitLoaded = 10,
    KitReserved = 11,
    KitAssigned = 12,
    KitReleased = 13,
    WalletCreated = 14,
    WalletStatusChanged = 15,
    OfacReviewOpened = 16,
    OfacReviewDecided = 17,
    WebhookTest = 18,
});

impl EventType {
    pub const ALL: [EventType; 19] = [
        EventType::EnrollmentCompleted,
        EventType::EnrollmentPendingReview,
        EventType::EnrollmentDeclined,
        EventType::UserCreated,
        EventType::AccountCreated,
        EventType::AccountUpgraded,
        EventType::AccountStatusChanged,
        EventType::CardIssued,
        EventType::CardStatusChanged,
        EventType::CardReplaced,
        EventType::KitLoaded,
        EventType::KitReserved,
        EventType::KitAssigned,
        EventType::KitReleased,
        EventType::WalletCreated,
        EventType::WalletStatusChanged,
        EventType::OfacReviewOpened,
        EventType::OfacReviewDecided,
        EventType::WebhookTest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::EnrollmentCompleted => "enrollment.completed",
            EventType::EnrollmentPendingReview => "enrollment.pending_review",
            EventType::EnrollmentDeclined => "enrollment.declined",
            EventType::UserCreated => "user.created",
            EventType::AccountCreated => "account.created",
            EventType::AccountUpgraded => "account.upgraded",
            EventType::AccountStatusChanged => "account.status_changed",
            EventType::CardIssued => "card.issued",
            EventType::CardStatusChanged => "card.status_changed",
            EventType::CardReplaced => "card.replaced",
            EventType::KitLoaded => "kit.loaded",
            EventType::KitReserved => "kit.reserved",
            EventType::KitAssigned => "kit.assigned",
            EventType::KitReleased => "kit.released",
            EventType::WalletCreated => "wallet.created",
            EventType::WalletStatusChanged => "wallet.status_changed",
            EventType::OfacReviewOpened => "ofac.review_opened",
            EventType::OfacReviewDecided => "ofac.review_decided",
            EventType::WebhookTest => "webhook.test",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The identifiers an event is about: the history of one of them is every event naming it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subjects {
    pub user: Option<String>,
    pub account: Option<String>,
    pub card: Option<String>,
    pub wallet: Option<String>,
    /// A kit's mappingIdentifier.
    pub kit: Option<String>,
}

impl Subjects {
    /// Whether `id` is one of the subjects.
    pub fn names(&self, id: &str) -> bool {
        [
            &self.user,
            &self.account,
            &self.card,
            &self.wallet,
            &self.kit,
        ]
        .into_iter()
        .any(|s| s.as_deref() == Some(id))
    }
}

/// An event as a use case writes it; the store gives it its sequence and id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventType,
    pub program: String,
    /// The `X-GD-RequestId` of the request that caused it, when it had one.
    pub request_id: Option<String>,
    pub subjects: Subjects,
    /// The entity as its dialect shows it after the change: JSON, masked (never a full card
    /// number, an SSN, a secret or a token).
    pub data: Vec<u8>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub sequence: u64,
    pub id: String,
    pub kind: EventType,
    /// Unix milliseconds of the write.
    pub occurred_at_ms: i64,
    pub program: String,
    pub request_id: Option<String>,
    pub subjects: Subjects,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

impl Event {
    /// The stored event of `e`, `sequence`-th of a store whose events' ids start with `prefix`.
    pub fn from_new(e: &NewEvent, prefix: &str, sequence: u64, occurred_at_ms: i64) -> Event {
        Event {
            sequence,
            id: event_id(prefix, sequence),
            kind: e.kind,
            occurred_at_ms,
            program: e.program.clone(),
            request_id: e.request_id.clone(),
            subjects: e.subjects.clone(),
            data: e.data.clone(),
        }
    }
}

/// An event's id: `evt_`, the store's prefix (random, drawn when the store was created, so two
/// stores — a sandbox wiped and started again — never hand a receiver the same id for two
/// events), `_`, and its sequence. Unique and stable; the sequence in it finds the event.
pub fn event_id(prefix: &str, sequence: u64) -> String {
    format!("evt_{prefix}_{sequence}")
}

/// The sequence an event id names, if it has the shape of one.
pub fn sequence_of_id(id: &str) -> Option<u64> {
    let rest = id.strip_prefix("evt_")?;
    let (prefix, seq) = rest.rsplit_once('_')?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    if seq.is_empty() || seq.len() > 20 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    seq.parse().ok()
}

/// Which events a reader asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// The programs whose events it may see; `None` = every program.
    pub programs: Option<Vec<String>>,
    /// Only these types; empty = every type.
    pub types: Vec<EventType>,
    /// Only events naming this identifier among their subjects.
    pub subject: Option<String>,
}

impl EventFilter {
    pub fn matches(&self, e: &Event) -> bool {
        self.programs
            .as_ref()
            .is_none_or(|ps| ps.contains(&e.program))
            && (self.types.is_empty() || self.types.contains(&e.kind))
            && self.subject.as_deref().is_none_or(|s| e.subjects.names(s))
    }
}

/// A page of events read in sequence order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// The last sequence the read looked at: where the next page starts (`after`).
    pub last_seen: u64,
    /// Whether events after `last_seen` exist.
    pub more: bool,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 with milliseconds of a Unix-milliseconds time.
pub fn rfc3339_ms(ms: i64) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|d| d.format(&fmt).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_parses_from_its_name_and_has_its_own_tag() {
        let mut tags = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert!(tags.insert(u8::from(t)));
            assert_eq!(EventType::try_from(u8::from(t)), Ok(t));
        }
        assert_eq!(EventType::parse("card.eaten"), None);
    }

    #[test]
    fn an_id_names_its_sequence() {
        let id = event_id("Ab3", 1042);
        assert_eq!(id, "evt_Ab3_1042");
        assert_eq!(sequence_of_id(&id), Some(1042));
        for bad in [
            "evt__1",
            "evt_Ab3_",
            "evt_Ab3_x1",
            "wh_Ab3_1",
            "evt_A-b_1",
            "evt_Ab3",
        ] {
            assert_eq!(sequence_of_id(bad), None, "{bad}");
        }
        assert_eq!(sequence_of_id("evt_a_99999999999999999999999"), None);
    }

    #[test]
    fn times_render_with_milliseconds() {
        assert_eq!(rfc3339_ms(1_614_265_330_123), "2021-02-25T15:02:10.123Z");
    }
}
