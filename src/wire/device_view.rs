//! The device dialect's views of a card and a wallet (masked: never a full card number).

use crate::domain::model::{rfc3339, Card, Wallet};
use serde::Serialize;
use utoipa::ToSchema;

/// A card as the device dialect shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "identifier": "V1StGXR8Z5jdHi6BmyT1aB", "maskedNumber": "400000******5678",
    "packID": null, "alias": "CUST-000123", "status": "NORMAL", "cardType": "PRIMARY",
    "programCode": "SANDBOX", "productCode": "GPR100"
}))]
pub struct DeviceOut {
    pub identifier: String,
    /// First six digits, one `*` per hidden digit, last four.
    pub masked_number: String,
    #[serde(rename = "packID")]
    pub pack_id: Option<String>,
    pub alias: Option<String>,
    /// NORMAL, NOT_ACTIVATED, BLOCKED, LOST, STOLEN, REPLACED, UPGRADE, CANCELLED or EXPIRED.
    pub status: String,
    /// PRIMARY, SUPPLEMENTARY or ADD_ON.
    pub card_type: String,
    pub program_code: String,
    pub product_code: String,
}

impl From<&Card> for DeviceOut {
    fn from(d: &Card) -> Self {
        DeviceOut {
            identifier: d.id.clone(),
            masked_number: d.pan.masked_device(),
            pack_id: d.pack_id.clone(),
            alias: d.alias.clone(),
            status: d.status.as_str().into(),
            card_type: d.card_type.as_str().into(),
            program_code: d.program.clone(),
            product_code: d.product.clone(),
        }
    }
}

/// A wallet as the device dialect shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "walletIdentifier": "Jx8Pq2LmN4vR7sT9wY1zAb", "walletNumber": "8273645501928374",
    "planCode": "WUSD", "promotionCode": "PROMO1", "currency": "USD", "status": "NORMAL",
    "createdDateTime": "2026-03-01T12:00:00Z"
}))]
pub struct WalletOut {
    pub wallet_identifier: String,
    /// 16 digits.
    pub wallet_number: String,
    pub plan_code: String,
    pub promotion_code: Option<String>,
    /// ISO 4217 alpha code of the plan.
    pub currency: String,
    /// NORMAL, INACTIVE or CLOSED.
    pub status: String,
    /// RFC 3339.
    pub created_date_time: String,
}

impl From<&Wallet> for WalletOut {
    fn from(w: &Wallet) -> Self {
        WalletOut {
            wallet_identifier: w.id.clone(),
            wallet_number: w.number.clone(),
            plan_code: w.plan.clone(),
            promotion_code: w.promotion.clone(),
            currency: w.currency.clone(),
            status: w.status.as_str().into(),
            created_date_time: rfc3339(w.created_at),
        }
    }
}
