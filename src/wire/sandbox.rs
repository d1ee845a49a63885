//! The sandbox API's bodies: kits, OFAC reviews and screening, fault switches. (Its card and
//! wallet bodies, and the name to screen, are `http`'s, beside their handlers.)

use crate::domain::model::*;
use serde::{Deserialize, Serialize};

// --- Kits ---

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KitIn {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub mapping_identifier: String,
    pub product_code: String,
    /// 10-24 characters of `[A-Za-z0-9_-]`; generated when absent.
    #[serde(rename = "packID")]
    #[schema(pattern = "^[A-Za-z0-9_-]{10,24}$")]
    pub pack_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateKits {
    #[schema(minimum = 1, maximum = 1000)]
    pub count: usize,
    pub product_code: String,
    /// Mapping identifiers are the prefix followed by a seven-digit sequence number.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,40}$")]
    pub prefix: String,
}

/// Either explicit kits or a generated batch.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"packages": [{"mappingIdentifier": "KIT0000001", "productCode": "GPR100", "packID": "PACK000001"}]}))]
pub struct LoadKits {
    /// 1-1000 kits, within `max_body_bytes`.
    #[schema(min_items = 1)]
    pub packages: Option<Vec<KitIn>>,
    pub generate: Option<GenerateKits>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KitView {
    pub mapping_identifier: String,
    #[serde(rename = "packID")]
    pub pack_id: String,
    pub product_code: String,
    /// available, reserved or assigned.
    pub status: String,
    /// The card issued from the kit, once assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_identifier: Option<String>,
    /// The full card number: only in the answer to loading the kit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoadedKits {
    pub packages: Vec<KitView>,
}

/// A kit as the sandbox shows it (without its card number).
pub fn kit_view(k: &Kit) -> KitView {
    KitView {
        mapping_identifier: k.mapping_id.clone(),
        pack_id: k.pack_id.clone(),
        product_code: k.product.clone(),
        status: k.status.as_str().into(),
        device_identifier: k.card_id.clone(),
        number: None,
    }
}

// --- OFAC reviews and screening ---

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Clear,
    Decline,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: Decision,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    pub user_identifier: String,
    pub program_code: String,
    /// pending, clearing, cleared or declined.
    pub state: String,
    pub score: f64,
    pub matched_name: Option<String>,
    pub matched_ent_num: Option<u32>,
    pub list_version: String,
    pub account_identifiers: Vec<String>,
    pub created_date_time: String,
    pub decided_date_time: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewList {
    pub reviews: Vec<ReviewView>,
}

/// A review as the sandbox shows it.
pub fn review_view(r: &Review) -> ReviewView {
    ReviewView {
        user_identifier: r.user_id.clone(),
        program_code: r.program.clone(),
        state: r.state.as_str().into(),
        score: r.score,
        matched_name: r.matched_name.clone(),
        matched_ent_num: r.matched_ent_num,
        list_version: r.list_version.clone(),
        account_identifiers: r.account_ids.clone(),
        created_date_time: rfc3339(r.created_at),
        decided_date_time: r.decided_at.map(rfc3339),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchView {
    pub ent_num: u32,
    /// The entry's primary name as listed (`LAST, First Middle`).
    pub sdn_name: String,
    /// The primary or alternate name that scored best.
    pub matched_name: String,
    pub alt_type: Option<String>,
    pub program: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScreenView {
    pub score: f64,
    pub matched: Option<MatchView>,
    pub list_version: String,
    /// What an enrollment with this score would do: `clear`, `review` or `decline`.
    pub outcome: String,
}

// --- Faults ---

/// The switches as the sandbox API shows and takes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSwitches {
    #[serde(default)]
    pub package_lookup: bool,
    #[serde(default)]
    pub upgrade_provider: bool,
    #[serde(default)]
    pub wallet_create: bool,
    #[serde(default)]
    pub wallet_link: bool,
}
