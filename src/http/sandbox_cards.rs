//! Sandbox endpoints over cards and wallets: make a card, change a card's or a wallet's status,
//! replace a card. Errors are RFC 9457 problem details.

use super::auth::{Caller, Sandbox};
use super::errors::SandboxError;
use crate::domain::model::{rfc3339, Card, Wallet};
use crate::ops::sandbox_cards::{self as ops, CardRequest, Issued};
use crate::ops::Ctx;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A card outside enrollment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": "CUST-000123"}))]
pub struct CardIn {
    /// A product of the program; required.
    #[schema(required = true, value_type = String)]
    pub product_code: Option<String>,
    /// PRIMARY, SUPPLEMENTARY or ADD_ON; required.
    #[schema(required = true, value_type = String, pattern = "^(PRIMARY|SUPPLEMENTARY|ADD_ON)$")]
    pub card_type: Option<String>,
    /// A device status; NORMAL when absent.
    #[schema(
        pattern = "^(NORMAL|NOT_ACTIVATED|BLOCKED|LOST|STOLEN|REPLACED|UPGRADE|CANCELLED|EXPIRED)$"
    )]
    pub status: Option<String>,
    /// Card-number alias: 1-24 characters, not a card number. Several cards may share one.
    pub alias: Option<String>,
    /// Card pack ID: 10-24 characters, unique among cards and kits (409 when taken).
    #[serde(rename = "packID")]
    pub pack_id: Option<String>,
    /// An account of this program; the card joins its cards (404 when there is none).
    pub account_identifier: Option<String>,
}

/// A card status to set.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"status": "CANCELLED"}))]
pub struct StatusIn {
    /// NORMAL, NOT_ACTIVATED, BLOCKED, LOST, STOLEN, REPLACED, UPGRADE, CANCELLED or EXPIRED.
    #[schema(
        pattern = "^(NORMAL|NOT_ACTIVATED|BLOCKED|LOST|STOLEN|REPLACED|UPGRADE|CANCELLED|EXPIRED)$"
    )]
    pub status: String,
}

/// A wallet status to set.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"status": "CLOSED"}))]
pub struct WalletStatusIn {
    /// NORMAL, INACTIVE or CLOSED.
    #[schema(pattern = "^(NORMAL|INACTIVE|CLOSED)$")]
    pub status: String,
}

/// A card as the sandbox shows it; `number` (in full) only in the answer that made the card.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "identifier": "V1StGXR8Z5jdHi6BmyT1aB", "number": "4000009912345678",
    "maskedNumber": "400000******5678", "packID": null, "alias": "CUST-000123",
    "status": "NORMAL", "cardType": "PRIMARY", "programCode": "SANDBOX",
    "productCode": "GPR100", "accountIdentifier": null
}))]
pub struct CardOut {
    pub identifier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    pub masked_number: String,
    #[serde(rename = "packID")]
    pub pack_id: Option<String>,
    pub alias: Option<String>,
    pub status: String,
    pub card_type: String,
    pub program_code: String,
    pub product_code: String,
    pub account_identifier: Option<String>,
}

impl CardOut {
    fn new(d: &Card, number: Option<String>) -> CardOut {
        CardOut {
            identifier: d.id.clone(),
            number,
            masked_number: d.pan.masked_device(),
            pack_id: d.pack_id.clone(),
            alias: d.alias.clone(),
            status: d.status.as_str().into(),
            card_type: d.card_type.as_str().into(),
            program_code: d.program.clone(),
            product_code: d.product.clone(),
            account_identifier: d.account_id.clone(),
        }
    }
}

impl From<Issued> for CardOut {
    fn from(i: Issued) -> Self {
        CardOut::new(&i.card, Some(i.number))
    }
}

/// A wallet as the sandbox shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SandboxWalletOut {
    pub wallet_identifier: String,
    pub wallet_number: String,
    pub device_identifier: String,
    pub plan_code: String,
    pub promotion_code: Option<String>,
    pub currency: String,
    pub status: String,
    pub created_date_time: String,
}

impl From<&Wallet> for SandboxWalletOut {
    fn from(w: &Wallet) -> Self {
        SandboxWalletOut {
            wallet_identifier: w.id.clone(),
            wallet_number: w.number.clone(),
            device_identifier: w.card_id.clone(),
            plan_code: w.plan.clone(),
            promotion_code: w.promotion.clone(),
            currency: w.currency.clone(),
            status: w.status.as_str().into(),
            created_date_time: rfc3339(w.created_at),
        }
    }
}

async fn body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    ctx: &Ctx,
) -> Result<T, SandboxError> {
    Ok(super::body::json(req, payload, ctx.config.server.max_body_bytes).await?)
}

/// Makes a card outside enrollment; its full number is in this answer only.
#[utoipa::path(post, path = "/sandbox/programs/{programCode}/devices", tag = "sandbox",
    params(("programCode" = String, Path, description = "A program the client may use")),
    request_body = CardIn,
    responses(
        (status = 201, description = "The card, with its full number", body = CardOut),
        (status = 400, description = "Invalid body", content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
        (status = 404, description = "No such program or account", content_type = "application/problem+json"),
        (status = 409, description = "packID already in use", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_card(
    c: Caller<Sandbox>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    let b: CardIn = body(&req, payload, &ctx).await?;
    let r = CardRequest {
        product: b.product_code,
        card_type: b.card_type,
        status: b.status,
        alias: b.alias,
        pack_id: b.pack_id,
        account_id: b.account_identifier,
    };
    let issued = ops::create_card(&ctx, &c.client, &path, &r).await?;
    Ok(HttpResponse::Created().json(CardOut::from(issued)))
}

/// Sets a card's status. CANCELLED, REPLACED and EXPIRED are final: leaving one answers 409.
#[utoipa::path(put, path = "/sandbox/devices/{identifier}/status", tag = "sandbox",
    params(("identifier" = String, Path, description = "The card's identifier")),
    request_body = StatusIn,
    responses(
        (status = 200, description = "The card (no full number)", body = CardOut),
        (status = 400, description = "Not a device status", content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
        (status = 404, description = "No such card", content_type = "application/problem+json"),
        (status = 409, description = "The card is in a final status", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn set_card_status(
    c: Caller<Sandbox>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    let b: StatusIn = body(&req, payload, &ctx).await?;
    let d = ops::set_card_status(&ctx, &c.client, &path, &b.status).await?;
    Ok(HttpResponse::Ok().json(CardOut::new(&d, None)))
}

/// Replaces a card: the old one becomes REPLACED; a new NORMAL card with a new number takes its
/// alias, account and wallets (not its pack ID). The full new number is in this answer only.
#[utoipa::path(post, path = "/sandbox/devices/{identifier}/replace", tag = "sandbox",
    params(("identifier" = String, Path, description = "The card to replace")),
    responses(
        (status = 201, description = "The new card, with its full number", body = CardOut),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
        (status = 404, description = "No such card", content_type = "application/problem+json"),
        (status = 409, description = "The card is in a final status", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn replace_card(
    c: Caller<Sandbox>,
    path: web::Path<String>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    let issued = ops::replace_card(&ctx, &c.client, &path).await?;
    Ok(HttpResponse::Created().json(CardOut::from(issued)))
}

/// Sets a wallet's status: NORMAL, INACTIVE or CLOSED. CLOSED is final: leaving it answers 409.
#[utoipa::path(put, path = "/sandbox/wallets/{walletIdentifier}/status", tag = "sandbox",
    params(("walletIdentifier" = String, Path, description = "The wallet's identifier")),
    request_body = WalletStatusIn,
    responses(
        (status = 200, description = "The wallet", body = SandboxWalletOut),
        (status = 400, description = "Not a wallet status", content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
        (status = 404, description = "No such wallet", content_type = "application/problem+json"),
        (status = 409, description = "The wallet is CLOSED", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn set_wallet_status(
    c: Caller<Sandbox>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    let b: WalletStatusIn = body(&req, payload, &ctx).await?;
    let w = ops::set_wallet_status(&ctx, &c.client, &path, &b.status).await?;
    Ok(HttpResponse::Ok().json(SandboxWalletOut::from(&w)))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/sandbox/programs/{programCode}/devices",
        web::post().to(create_card),
    )
    .route(
        "/sandbox/devices/{identifier}/status",
        web::put().to(set_card_status),
    )
    .route(
        "/sandbox/devices/{identifier}/replace",
        web::post().to(replace_card),
    )
    .route(
        "/sandbox/wallets/{walletIdentifier}/status",
        web::put().to(set_wallet_status),
    );
}
