//! The device dialect: attach wallets to a card and fetch a card's wallets.
//!
//! Errors are `{"code","message"}` (HTTP 400 unless said otherwise); a `Correlation-ID` request
//! header is echoed back. A full card number never appears in a response of this dialect.

use super::auth::{Caller, Card as DeviceApi};
use super::errors::DeviceError;
use crate::domain::model::{Card, Wallet};
use crate::ops::attach_wallets::{attach_wallets, AttachRequest, WalletRequest};
use crate::ops::device_lookup::DeviceKeys;
use crate::ops::fetch_wallets::fetch_wallets;
use crate::ops::Ctx;
pub use crate::wire::device_view::{DeviceOut, WalletOut};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The card a request names. At least one key; a key that is absent, null or `""` is not given.
/// Given together, the keys must name one card.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"alias": "CUST-000123"}))]
pub struct DeviceKeysIn {
    /// The card's identifier (14-36 characters).
    pub identifier: Option<String>,
    /// The full card number (15-19 digits).
    pub number: Option<String>,
    /// The card pack ID of a pre-printed kit (10-24 characters).
    #[serde(rename = "packID")]
    pub pack_id: Option<String>,
    /// The card-number alias (1-24 characters); finds only a card in status NORMAL.
    pub alias: Option<String>,
}

impl From<Option<DeviceKeysIn>> for DeviceKeys {
    fn from(k: Option<DeviceKeysIn>) -> Self {
        let k = k.unwrap_or_default();
        DeviceKeys::new(k.identifier, k.number, k.pack_id, k.alias)
    }
}

/// One wallet to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletIn {
    /// A wallet plan of the card's program (1-10 characters); required.
    pub plan_code: Option<String>,
    /// A promotion plan valid today for that wallet plan (1-10 characters); optional.
    pub promotion_code: Option<String>,
}

/// Create and attach wallets to an existing card.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "device": {"alias": "CUST-000123"},
    "programCode": "SANDBOX",
    "devicePlanCode": "DP01",
    "wallets": [{"planCode": "WUSD", "promotionCode": "PROMO1"}]
}))]
pub struct AttachWalletsIn {
    pub device: Option<DeviceKeysIn>,
    /// Optional; given, it must be the card's program (and narrows an alias lookup to it).
    pub program_code: Option<String>,
    /// Optional; given, it must be a device plan of the card's program.
    pub device_plan_code: Option<String>,
    /// 1-15 wallets, each of a different plan (absent or empty: GPRW005). A `null` entry is a
    /// wallet without a plan.
    #[schema(value_type = Option<Vec<WalletIn>>)]
    pub wallets: Option<Vec<Option<WalletIn>>>,
}

impl From<AttachWalletsIn> for AttachRequest {
    fn from(r: AttachWalletsIn) -> Self {
        AttachRequest {
            device: r.device.into(),
            program_code: crate::ops::device_lookup::given(r.program_code),
            device_plan_code: crate::ops::device_lookup::given(r.device_plan_code),
            wallets: r
                .wallets
                .unwrap_or_default()
                .into_iter()
                .map(|w| match w {
                    Some(w) => WalletRequest::new(w.plan_code, w.promotion_code),
                    None => WalletRequest::default(),
                })
                .collect(),
        }
    }
}

/// Read a card's wallets.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"device": {"identifier": "V1StGXR8Z5jdHi6BmyT1aB"}}))]
pub struct FetchWalletsIn {
    pub device: Option<DeviceKeysIn>,
    /// Optional (issuebox); given, it must be the card's program and narrows an alias lookup.
    pub program_code: Option<String>,
}

/// A card and wallets: `code` is `OK`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletsOut {
    /// `OK`.
    pub code: String,
    pub message: String,
    pub device: DeviceOut,
    pub wallets: Vec<WalletOut>,
}

impl WalletsOut {
    fn new(message: &str, d: &Card, ws: &[Wallet]) -> WalletsOut {
        WalletsOut {
            code: "OK".into(),
            message: message.into(),
            device: d.into(),
            wallets: ws.iter().map(WalletOut::from).collect(),
        }
    }
}

/// A device-dialect error.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "GPRW010", "message": "Maximum 15 wallets other than Closed status are allowed."}))]
pub struct DeviceErrorOut {
    pub code: String,
    pub message: String,
}

/// Creates wallets and attaches them to an existing card, all together or none.
///
/// Checks run in the contract's order (rows 1-25) and the first failure answers, HTTP 400 with
/// `{"code","message"}`: MISSING_REQUIRED_FIELD, INVALID_FIELD_LENGTH (device keys, programCode,
/// devicePlanCode, planCode, promotionCode), GPRW005, GPRW006, GPRW010 (more than 15 in the
/// request), GPR100, GPR101, GPRW001, GPR102, GPR104, GPRW003, GPRW007, GPRW008, GPRW009,
/// GPRW011, GPRW010 (card cap), GPRW013, GPRW014; a body of the wrong JSON types answers
/// INVALID_REQUEST naming the field. An empty string counts as not given for every field.
/// The 15-wallet cap and the plan rules hold under concurrent requests for one card.
#[utoipa::path(
    post,
    path = "/deviceapi/apis/v1/services/cardholder/accounts",
    tag = "device",
    request_body = AttachWalletsIn,
    params(("Correlation-ID" = Option<String>, Header, description = "Echoed back on the response")),
    responses(
        (status = 201, description = "Wallets created successfully.", body = WalletsOut),
        (status = 400, description = "A row of the device table, or INVALID_REQUEST", body = DeviceErrorOut),
        (status = 401, description = "UNAUTHORIZED: We couldn't recognize you.", body = DeviceErrorOut),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = DeviceErrorOut),
    ),
    security(("bearer" = []))
)]
pub async fn attach(
    caller: Caller<DeviceApi>,
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, DeviceError> {
    let body: AttachWalletsIn =
        super::body::json(&req, payload, ctx.config.server.max_body_bytes).await?;
    let out = attach_wallets(&ctx, &caller.client, &body.into()).await?;
    Ok(HttpResponse::Created().json(WalletsOut::new(
        "Wallets created successfully.",
        &out.card,
        &out.wallets,
    )))
}

/// A card and every wallet it holds, whatever their status, in creation order.
///
/// Card resolution answers as rows 1-5 and 13-16 of the attach table (MISSING_REQUIRED_FIELD,
/// INVALID_FIELD_LENGTH, GPR100, GPR101, GPRW001, GPR102); the card's status does not matter.
#[utoipa::path(
    post,
    path = "/deviceapi/apis/v1/services/wallet/fetchwallet",
    tag = "device",
    request_body = FetchWalletsIn,
    params(("Correlation-ID" = Option<String>, Header, description = "Echoed back on the response")),
    responses(
        (status = 200, description = "Wallets fetched successfully.", body = WalletsOut),
        (status = 400, description = "A device resolution error, or INVALID_REQUEST", body = DeviceErrorOut),
        (status = 401, description = "UNAUTHORIZED: We couldn't recognize you.", body = DeviceErrorOut),
    ),
    security(("bearer" = []))
)]
pub async fn fetch(
    caller: Caller<DeviceApi>,
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, DeviceError> {
    let body: FetchWalletsIn =
        super::body::json(&req, payload, ctx.config.server.max_body_bytes).await?;
    let keys: DeviceKeys = body.device.into();
    let program = crate::ops::device_lookup::given(body.program_code);
    let out = fetch_wallets(&ctx, &caller.client, &keys, program.as_deref())?;
    Ok(HttpResponse::Ok().json(WalletsOut::new(
        "Wallets fetched successfully.",
        &out.card,
        &out.wallets,
    )))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/deviceapi/apis/v1/services/cardholder/accounts",
        web::post().to(attach),
    )
    .route(
        "/deviceapi/apis/v1/services/wallet/fetchwallet",
        web::post().to(fetch),
    );
}
