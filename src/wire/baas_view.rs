//! The BaaS dialect's bodies: the view of an account, its holder and cards (`account` of a
//! success body), the `{responseDetails, account?}` envelope, the reads' bodies, and the outcome
//! of an enrollment. Built from entities in hand; reading them is the use case's
//! (`ops::baas_view`).

use crate::domain::model::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponseDetail {
    pub code: u32,
    pub sub_code: u32,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectDepositView {
    pub routing_number: String,
    pub account_number: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KycStateView {
    pub ofac_status: String,
    pub kyc_status: String,
    pub kyc_pending_gate: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// 22 alphanumeric characters, the same for every enrollment of one SSN in one program
    /// (derived from the program and a keyed hash of the SSN; it reveals nothing of the SSN).
    pub user_identifier: String,
    pub first_name: String,
    pub last_name: String,
    pub status: String,
    pub is_primary_account_holder: bool,
    pub identity_type: String,
    pub last4_identity: String,
    pub kyc_state_data: KycStateView,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentInstrumentView {
    /// The card's device `identifier` in the device dialect: 22 alphanumeric characters,
    /// derived from a keyed hash of the card number (it reveals nothing of the number).
    pub payment_instrument_identifier: String,
    /// `virtual` or `emv`.
    pub payment_instrument_type: String,
    /// activated, notActivated, blocked, deactivated or closed.
    pub status: String,
    pub last4_pan: String,
    pub masked_pan: String,
    pub card_alias: Option<String>,
    pub card_pack_id: Option<String>,
    pub issued_date_time: String,
    pub activated_date_time: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountHolderView {
    pub user: UserView,
    pub payment_instruments: Vec<PaymentInstrumentView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub account_identifier: String,
    pub account_reference_number: String,
    pub program_code: String,
    pub product_code: String,
    pub product_name: String,
    pub account_type: String,
    /// normal, pending or closed.
    pub status: String,
    pub status_reasons: Vec<String>,
    pub account_status_changed_date_time: String,
    pub direct_deposit: Option<DirectDepositView>,
    pub account_holders: Vec<AccountHolderView>,
}

/// `{responseDetails, account?}`: the body of an enrollment outcome and of an account read.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountEnvelope {
    pub response_details: Vec<ResponseDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountView>,
}

/// [`AccountEnvelope`] borrowing its account: the same JSON without copying the view.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountEnvelopeRef<'a> {
    response_details: Vec<ResponseDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a AccountView>,
}

pub fn detail(code: u32, sub_code: u32, description: &str) -> Vec<ResponseDetail> {
    vec![ResponseDetail {
        code,
        sub_code,
        description: description.to_string(),
    }]
}

pub fn user_view(u: &User) -> UserView {
    UserView {
        user_identifier: u.id.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        status: u.status.as_str().into(),
        is_primary_account_holder: true,
        identity_type: "ssn".into(),
        last4_identity: u.ssn_last4.clone(),
        kyc_state_data: kyc_state_view(&u.kyc),
    }
}

/// `kycStateData` of a user. The stored [`KycState`] holds the dialect's strings themselves
/// (`passed`/`passed`/`healthy`, `pending`/`pending`/`manual`, `failed`/`failed`/`declined`):
/// they are the stored bytes, pinned by `store::golden`, so they are shown as they are.
pub fn kyc_state_view(k: &KycState) -> KycStateView {
    KycStateView {
        ofac_status: k.ofac_status.clone(),
        kyc_status: k.kyc_status.clone(),
        kyc_pending_gate: k.kyc_pending_gate.clone(),
    }
}

/// The BaaS `paymentInstruments[].status` of a card in a device status (contract section 4,
/// "Device model").
fn baas_card_status(s: CardStatus) -> &'static str {
    match s {
        CardStatus::Normal => "activated",
        CardStatus::NotActivated => "notActivated",
        CardStatus::Blocked | CardStatus::Lost | CardStatus::Stolen => "blocked",
        CardStatus::Replaced | CardStatus::Upgrade => "deactivated",
        CardStatus::Cancelled | CardStatus::Expired => "closed",
    }
}

pub fn instrument_view(d: &Card) -> PaymentInstrumentView {
    PaymentInstrumentView {
        payment_instrument_identifier: d.id.clone(),
        payment_instrument_type: d.form.as_str().into(),
        status: baas_card_status(d.status).into(),
        last4_pan: d.pan.last4.clone(),
        masked_pan: d.pan.masked_baas(),
        card_alias: d.alias.clone(),
        card_pack_id: d.pack_id.clone(),
        issued_date_time: rfc3339(d.issued_at),
        activated_date_time: d.activated_at.map(rfc3339),
    }
}

/// The account view from values in hand: the account, its holder and cards, and the name of
/// its product (the catalog's, which the caller looks up).
pub fn account_view_of(
    product_name: &str,
    a: &Account,
    user: Option<&User>,
    cards: &[Card],
) -> AccountView {
    AccountView {
        account_identifier: a.id.clone(),
        account_reference_number: a.reference_number.clone(),
        program_code: a.program.clone(),
        product_code: a.product.clone(),
        product_name: product_name.to_string(),
        account_type: a.account_type.as_str().into(),
        status: a.status.as_str().into(),
        status_reasons: a.status_reasons.clone(),
        account_status_changed_date_time: rfc3339(a.status_changed_at),
        direct_deposit: a.direct_deposit.as_ref().map(|d| DirectDepositView {
            routing_number: d.routing_number.clone(),
            account_number: d.account_number.clone(),
        }),
        account_holders: user
            .map(|u| AccountHolderView {
                user: user_view(u),
                payment_instruments: cards.iter().map(instrument_view).collect(),
            })
            .into_iter()
            .collect(),
    }
}

// The body of an account read (no doc comment: it would become the schema's description).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountRead {
    pub response_details: Vec<ResponseDetail>,
    pub account: AccountView,
}

// The body of a user read.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRead {
    pub response_details: Vec<ResponseDetail>,
    pub user: UserView,
    /// Identifiers of the user's accounts.
    pub accounts: Vec<String>,
}

/// The outcome of a BaaS enrollment request: what its response says. Stored in the compact
/// codec form (about half the size of its JSON; `ops::baas_view::StoredOutcome`) and rendered
/// to the same JSON bytes on every replay, since serialising the same values is deterministic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub code: u32,
    pub sub_code: u32,
    pub description: String,
    pub account: Option<AccountView>,
}

impl Outcome {
    pub fn new(
        code: u32,
        sub_code: u32,
        description: &str,
        account: Option<AccountView>,
    ) -> Outcome {
        Outcome {
            code,
            sub_code,
            description: description.to_string(),
            account,
        }
    }

    /// The response body: `{"responseDetails":[…], "account":…}`.
    pub fn json(&self) -> Vec<u8> {
        serde_json::to_vec(&AccountEnvelopeRef {
            response_details: detail(self.code, self.sub_code, &self.description),
            account: self.account.as_ref(),
        })
        .expect("views serialise")
    }

    /// [`json`](Self::json) of an outcome with an account whose view is rendered already
    /// (`account_json`: the JSON of `self.account`, as an event carries it): the same bytes,
    /// without rendering the view a second time.
    pub fn json_with_rendered_account(&self, account_json: &[u8]) -> Vec<u8> {
        let head = serde_json::to_vec(&AccountEnvelopeRef {
            response_details: detail(self.code, self.sub_code, &self.description),
            account: None,
        })
        .expect("views serialise");
        // `{"responseDetails":[…]}` becomes `{"responseDetails":[…],"account":…}`: the
        // envelope's fields in their order, as serde_json writes them (compact).
        let mut out = Vec::with_capacity(head.len() + 12 + account_json.len());
        out.extend_from_slice(&head[..head.len() - 1]);
        out.extend_from_slice(b",\"account\":");
        out.extend_from_slice(account_json);
        out.push(b'}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_around_its_rendered_account_is_the_outcome_rendered_whole() {
        let account: AccountView = serde_json::from_str(
            r#"{"accountIdentifier":"xCzxFBASVstAitJpRWQsEg","accountReferenceNumber":"189229479983","programCode":"SANDBOX","productCode":"GPR100","productName":"Prepaid \"GPR\" card","accountType":"gpr","status":"normal","statusReasons":["healthy"],"accountStatusChangedDateTime":"2026-11-30T11:37:44Z","directDeposit":null,"accountHolders":[{"user":{"userIdentifier":"1Zi5Xwa7x0qMFStYNJuSpB","firstName":"Jordan","lastName":"O'Kafor","status":"active","isPrimaryAccountHolder":true,"identityType":"ssn","last4Identity":"4321","kycStateData":{"ofacStatus":"passed","kycStatus":"passed","kycPendingGate":"healthy"}},"paymentInstruments":[]}]}"#,
        )
        .unwrap();
        let rendered = serde_json::to_vec(&account).unwrap();
        for (code, sub, desc) in [(0, 0, "Success"), (1, 31, "OFAC \"Partial\" Match")] {
            let outcome = Outcome::new(code, sub, desc, Some(account.clone()));
            assert_eq!(
                String::from_utf8(outcome.json_with_rendered_account(&rendered)).unwrap(),
                String::from_utf8(outcome.json()).unwrap()
            );
        }
    }

    /// Contract section 4, "Device model": every device status and its BaaS status.
    #[test]
    fn device_statuses_show_as_the_contract_maps_them() {
        use CardStatus::*;
        for (s, baas) in [
            (Normal, "activated"),
            (NotActivated, "notActivated"),
            (Blocked, "blocked"),
            (Lost, "blocked"),
            (Stolen, "blocked"),
            (Replaced, "deactivated"),
            (Upgrade, "deactivated"),
            (Cancelled, "closed"),
            (Expired, "closed"),
        ] {
            assert_eq!(baas_card_status(s), baas, "{s:?}");
        }
    }
}
