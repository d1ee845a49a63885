//! The entities of the one model both dialects speak: user, account, device (card), wallet, kit,
//! the stored outcome of an enrollment request, bearer tokens and OFAC reviews.
//!
//! Times are Unix seconds (UTC); dialects format them as RFC 3339.
//!
//! These records are what the store writes. Each enum among them is stored by the explicit tag
//! its `stored_tags!` table gives every variant (see `domain::tags`), never by its position:
//! variants may be reordered freely, but a tag once stored never changes. The tests of
//! `store::golden` pin the stored bytes of every record.

use super::card_number::{Fingerprint, SealedPan};
use super::catalog::{AccountType, WalletKind, WalletUsage};
use super::tags::stored_tags;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub kind: String,
    pub is_default: bool,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phone {
    pub number: String,
    pub kind: Option<String>,
    pub is_default: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum UserStatus {
    Active,
    Pending,
    Closed,
}

stored_tags!(UserStatus { Active = 0, Pending = 1, Closed = 2 });

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Pending => "pending",
            UserStatus::Closed => "closed",
        }
    }
}

/// KYC state as the BaaS dialect shows it (`kycStateData`). Stored as the dialect's strings
/// themselves (the stored bytes, pinned by `store::golden`); these three constructors are the
/// only states a user is put in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycState {
    pub ofac_status: String,
    pub kyc_status: String,
    pub kyc_pending_gate: String,
}

impl KycState {
    pub fn passed() -> KycState {
        KycState {
            ofac_status: "passed".into(),
            kyc_status: "passed".into(),
            kyc_pending_gate: "healthy".into(),
        }
    }
    pub fn ofac_pending() -> KycState {
        KycState {
            ofac_status: "pending".into(),
            kyc_status: "pending".into(),
            kyc_pending_gate: "manual".into(),
        }
    }
    pub fn ofac_declined() -> KycState {
        KycState {
            ofac_status: "failed".into(),
            kyc_status: "failed".into(),
            kyc_pending_gate: "declined".into(),
        }
    }
}

/// A cardholder. The SSN rests only as a keyed fingerprint and its last four digits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub program: String,
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    pub date_of_birth: String,
    pub ssn_fingerprint: Fingerprint,
    pub ssn_last4: String,
    pub email: String,
    pub phones: Vec<Phone>,
    pub addresses: Vec<Address>,
    pub status: UserStatus,
    pub kyc: KycState,
    pub account_ids: Vec<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum AccountStatus {
    Normal,
    Pending,
    Closed,
}

stored_tags!(AccountStatus { Normal = 0, Pending = 1, Closed = 2 });

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Normal => "normal",
            AccountStatus::Pending => "pending",
            AccountStatus::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectDeposit {
    pub routing_number: String,
    pub account_number: String,
}

/// What an OFAC-pending enrollment will issue once the customer clears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingIssue {
    /// The stored enrollment outcome to rewrite on completion.
    pub response_key: ResponseKey,
    /// Kit (`mapping identifier`) reserved for this enrollment.
    pub kit_mapping_id: Option<String>,
    pub physical_card: bool,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub reference_number: String,
    pub program: String,
    pub product: String,
    #[serde(with = "crate::domain::tags::tag")]
    pub account_type: AccountType,
    pub status: AccountStatus,
    pub status_reasons: Vec<String>,
    pub status_changed_at: i64,
    pub direct_deposit: Option<DirectDeposit>,
    pub user_id: String,
    pub card_ids: Vec<String>,
    pub pending: Option<PendingIssue>,
    pub created_at: i64,
}

/// Card (card) status of the device dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum CardStatus {
    Normal,
    NotActivated,
    Blocked,
    Lost,
    Stolen,
    Replaced,
    Upgrade,
    Cancelled,
    Expired,
}

stored_tags!(CardStatus {
    Normal = 0,
    NotActivated = 1,
    Blocked = 2,
    Lost = 3,
    Stolen = 4,
    Replaced = 5,
    Upgrade = 6,
    Cancelled = 7,
    Expired = 8,
});

impl CardStatus {
    pub const ALL: [CardStatus; 9] = [
        CardStatus::Normal,
        CardStatus::NotActivated,
        CardStatus::Blocked,
        CardStatus::Lost,
        CardStatus::Stolen,
        CardStatus::Replaced,
        CardStatus::Upgrade,
        CardStatus::Cancelled,
        CardStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Normal => "NORMAL",
            CardStatus::NotActivated => "NOT_ACTIVATED",
            CardStatus::Blocked => "BLOCKED",
            CardStatus::Lost => "LOST",
            CardStatus::Stolen => "STOLEN",
            CardStatus::Replaced => "REPLACED",
            CardStatus::Upgrade => "UPGRADE",
            CardStatus::Cancelled => "CANCELLED",
            CardStatus::Expired => "EXPIRED",
        }
    }

    pub fn parse(s: &str) -> Option<CardStatus> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum CardType {
    Primary,
    Supplementary,
    AddOn,
}

stored_tags!(CardType { Primary = 0, Supplementary = 1, AddOn = 2 });

impl CardType {
    pub fn as_str(self) -> &'static str {
        match self {
            CardType::Primary => "PRIMARY",
            CardType::Supplementary => "SUPPLEMENTARY",
            CardType::AddOn => "ADD_ON",
        }
    }
    pub fn parse(s: &str) -> Option<CardType> {
        [CardType::Primary, CardType::Supplementary, CardType::AddOn]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// BaaS `paymentInstrumentType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum FormFactor {
    Virtual,
    Emv,
}

stored_tags!(FormFactor { Virtual = 0, Emv = 1 });

impl FormFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            FormFactor::Virtual => "virtual",
            FormFactor::Emv => "emv",
        }
    }
}

/// A card: a BaaS payment instrument and a device of the device dialect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub id: String,
    pub program: String,
    pub product: String,
    pub account_id: Option<String>,
    pub card_type: CardType,
    pub status: CardStatus,
    pub form: FormFactor,
    pub pan: SealedPan,
    pub alias: Option<String>,
    pub pack_id: Option<String>,
    pub issued_at: i64,
    pub activated_at: Option<i64>,
    pub status_changed_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum WalletStatus {
    Normal,
    Inactive,
    Closed,
}

stored_tags!(WalletStatus { Normal = 0, Inactive = 1, Closed = 2 });

impl WalletStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WalletStatus::Normal => "NORMAL",
            WalletStatus::Inactive => "INACTIVE",
            WalletStatus::Closed => "CLOSED",
        }
    }
    pub fn parse(s: &str) -> Option<WalletStatus> {
        [
            WalletStatus::Normal,
            WalletStatus::Inactive,
            WalletStatus::Closed,
        ]
        .into_iter()
        .find(|w| w.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wallet {
    pub id: String,
    pub number: String,
    pub card_id: String,
    pub program: String,
    pub plan: String,
    pub promotion: Option<String>,
    pub currency: String,
    #[serde(with = "crate::domain::tags::tag")]
    pub usage: WalletUsage,
    #[serde(with = "crate::domain::tags::tag")]
    pub kind: WalletKind,
    pub status: WalletStatus,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum KitStatus {
    Available,
    Reserved,
    Assigned,
}

stored_tags!(KitStatus { Available = 0, Reserved = 1, Assigned = 2 });

impl KitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KitStatus::Available => "available",
            KitStatus::Reserved => "reserved",
            KitStatus::Assigned => "assigned",
        }
    }
}

/// A pre-printed card kit for instant issue at a branch or kiosk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kit {
    pub mapping_id: String,
    pub program: String,
    pub product: String,
    pub pack_id: String,
    pub pan: SealedPan,
    pub status: KitStatus,
    pub card_id: Option<String>,
    pub reserved_for: Option<String>,
    pub created_at: i64,
}

/// What a stored BaaS outcome is found by: the client, the program and the request's
/// `X-GD-RequestId`.
///
/// Stored (in [`PendingIssue`]) as the three parts joined by `\0`, which none of them holds:
/// client ids and program codes are checked when the configuration loads, and request ids are
/// UUIDs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResponseKey {
    pub client: String,
    pub program: String,
    pub request_id: String,
}

impl ResponseKey {
    pub fn new(client: &str, program: &str, request_id: &str) -> ResponseKey {
        ResponseKey {
            client: client.to_string(),
            program: program.to_string(),
            request_id: request_id.to_string(),
        }
    }

    /// The stored form: `client \0 program \0 requestId`.
    pub fn to_bytes(&self) -> Vec<u8> {
        [
            self.client.as_bytes(),
            self.program.as_bytes(),
            self.request_id.as_bytes(),
        ]
        .join(&0u8)
    }

    /// The key of a stored form, if it has three UTF-8 parts.
    pub fn from_bytes(b: &[u8]) -> Option<ResponseKey> {
        let mut parts = b.split(|c| *c == 0).map(|p| std::str::from_utf8(p).ok());
        let key = ResponseKey::new(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(key)
    }
}

/// Stored as its bytes ([`ResponseKey::to_bytes`]), exactly as the raw key it replaced.
impl Serialize for ResponseKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_bytes().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ResponseKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ResponseKey, D::Error> {
        let b = Vec::<u8>::deserialize(d)?;
        ResponseKey::from_bytes(&b)
            .ok_or_else(|| serde::de::Error::custom("a response key has three UTF-8 parts"))
    }
}

/// The stored outcome of a BaaS request, keyed by its [`ResponseKey`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// SHA-256 of the canonical JSON of the request body (sorted keys), to tell a replay from
    /// a reuse without storing the body (it holds an SSN).
    pub request_digest: [u8; 32],
    /// For upgrades: the account the requestId was first used with.
    pub upgrade_account: Option<String>,
    /// Always 200: every stored outcome is answered with HTTP 200, which the dialect says
    /// itself. Nothing reads it; it stays because it is part of the stored format.
    pub status: u16,
    /// The outcome in its compact stored form (`wire::baas_view::Outcome`, stored by
    /// `ops::baas_view::StoredOutcome`), rendered to the same JSON bytes on every replay.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    /// Account created or changed, so the stored body can be rebuilt when a pending one settles.
    pub account_id: Option<String>,
    pub created_at: i64,
}

/// A bearer token; the store keys it by the SHA-256 of the token, never the token itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenGrant {
    pub client_id: String,
    pub expires_at: i64,
    /// A keyed fingerprint of the client's secret when the token was minted
    /// ([`crate::ops::auth::secret_fingerprint`]): a token whose fingerprint is not that of the
    /// client's secret in the config is refused. `None` only for a grant stored by a version
    /// before fingerprints (a legacy record, see `store::decode_grant`).
    pub secret_fingerprint: Option<[u8; 32]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum ReviewState {
    Pending,
    /// Decided `clear`; the completion of its enrollments may still be under way.
    Clearing,
    Cleared,
    Declined,
}

stored_tags!(ReviewState { Pending = 0, Clearing = 1, Cleared = 2, Declined = 3 });

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Clearing => "clearing",
            ReviewState::Cleared => "cleared",
            ReviewState::Declined => "declined",
        }
    }
}

/// An OFAC partial match waiting for, or settled by, a manual decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub user_id: String,
    pub program: String,
    pub state: ReviewState,
    pub score: f64,
    pub matched_name: Option<String>,
    pub matched_ent_num: Option<u32>,
    pub list_version: String,
    pub account_ids: Vec<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 of a Unix-seconds time.
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
