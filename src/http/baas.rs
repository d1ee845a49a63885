//! The BaaS dialect: enrollment (new, instant issue, upgrade) and reads. Every request needs
//! `X-GD-RequestId` (a UUID), echoed on the response; every body carries `responseDetails`.

use super::auth::{Baas, Caller};
use super::errors::BaasError;
use crate::domain::error::DomainError as E;
use crate::ops::baas_reads;
use crate::ops::enroll::{enroll, Reply};
use crate::ops::Ctx;
use crate::wire::baas_view::{AccountEnvelope, AccountRead, UserRead};
use crate::wire::enrollment::EnrollmentRequest;
use actix_web::{web, HttpRequest, HttpResponse};

/// The `X-GD-RequestId` of a request: required, a UUID in any of its spellings (case, braces,
/// `urn:uuid:`, without hyphens), answered in its canonical form (lower-case, hyphenated), so
/// that every spelling of one UUID is one request id.
fn request_id(req: &HttpRequest) -> Result<String, BaasError> {
    req.headers()
        .get("x-gd-requestid")
        .and_then(|v| v.to_str().ok())
        .and_then(canonical_uuid)
        .ok_or_else(|| E::RequestIdInvalid.into())
}

/// The canonical (lower-case, hyphenated) form of a UUID written in any spelling.
fn canonical_uuid(v: &str) -> Option<String> {
    uuid::Uuid::try_parse(v.trim())
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// An enrollment's answer: a business outcome, whatever its code, is HTTP 200.
fn reply(r: Reply) -> HttpResponse {
    let mut b = HttpResponse::Ok();
    b.content_type("application/json");
    if r.replayed {
        b.insert_header(("Idempotent-Replayed", "true"));
    }
    b.body(r.body)
}

/// Enrolls a user into a product (user, account and card in one call), issues a pre-printed kit
/// instantly (`instantIssue`), or upgrades an account (`upgradeFlag`). Business outcomes such as
/// an OFAC partial match (1/31), an OFAC hard decline (2/32) or an under-age applicant (2/40)
/// answer HTTP 200 with a non-zero code. The same requestId with the same body replays the
/// stored answer byte for byte with `Idempotent-Replayed: true`.
#[utoipa::path(
    post,
    path = "/programs/{programCode}/enrollments",
    tag = "baas",
    params(
        ("programCode" = String, Path, description = "Program code"),
        ("X-GD-RequestId" = String, Header, pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[{][0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}[}]|urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$", description = "A UUID; the idempotency key, echoed back. Spellings of one UUID (case, braces, `urn:uuid:`, without hyphens) are one request id"),
    ),
    request_body = EnrollmentRequest,
    responses(
        (status = 200, description = "Success (0/0), OFAC partial match (1/31), OFAC hard decline (2/32) or under-age (2/40)", body = AccountEnvelope,
            headers(("Idempotent-Replayed" = String, description = "`true` on a replay"))),
        (status = 400, description = "A validation or upgrade row of the contract", body = AccountEnvelope),
        (status = 401, description = "Unauthorized, or out of credential scopes", body = AccountEnvelope),
        (status = 409, description = "4091 API is locked (same requestId or SSN in flight); 4092 requestId reused with another body", body = AccountEnvelope),
        (status = 413, description = "Body over max_body_bytes", body = AccountEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn post_enrollment(
    caller: Caller<Baas>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, BaasError> {
    let rid = request_id(&req)?;
    let program = path.into_inner();
    // The use case checks the program and the client's scope.
    let body = super::body::read_limited(&req, payload, ctx.config.server.max_body_bytes).await?;
    Ok(reply(
        enroll(&ctx, &caller.client, &program, &rid, &body).await?,
    ))
}

/// An account with its holder and cards. Unknown in this program: 404 / 10.
#[utoipa::path(
    get,
    path = "/programs/{programCode}/accounts/{accountIdentifier}",
    tag = "baas",
    params(
        ("programCode" = String, Path, description = "Program code"),
        ("accountIdentifier" = String, Path, description = "Account identifier"),
        ("X-GD-RequestId" = String, Header, pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[{][0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}[}]|urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$", description = "A UUID, echoed back"),
    ),
    responses(
        (status = 200, description = "The account", body = AccountRead),
        (status = 400, description = "Bad X-GD-RequestId (110) or unknown program (1000)", body = AccountEnvelope),
        (status = 401, description = "Unauthorized", body = AccountEnvelope),
        (status = 404, description = "10 Account not found", body = AccountEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn get_account(
    caller: Caller<Baas>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, BaasError> {
    request_id(&req)?;
    let (program, id) = path.into_inner();
    let body = baas_reads::account(&ctx, &caller.client, &program, &id).map_err(not_found)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(web::Bytes::copy_from_slice(&body)))
}

/// A user and the identifiers of their accounts. Unknown in this program: 404 / 20.
#[utoipa::path(
    get,
    path = "/programs/{programCode}/users/{userIdentifier}",
    tag = "baas",
    params(
        ("programCode" = String, Path, description = "Program code"),
        ("userIdentifier" = String, Path, description = "User identifier"),
        ("X-GD-RequestId" = String, Header, pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[{][0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}[}]|urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$", description = "A UUID, echoed back"),
    ),
    responses(
        (status = 200, description = "The user", body = UserRead),
        (status = 400, description = "Bad X-GD-RequestId (110) or unknown program (1000)", body = AccountEnvelope),
        (status = 401, description = "Unauthorized", body = AccountEnvelope),
        (status = 404, description = "20 User not found", body = AccountEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn get_user(
    caller: Caller<Baas>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, BaasError> {
    request_id(&req)?;
    let (program, id) = path.into_inner();
    let read = baas_reads::user(&ctx, &caller.client, &program, &id).map_err(not_found)?;
    Ok(HttpResponse::Ok().json(read))
}

/// What a replay of that request would answer now (a pending enrollment shows its final
/// outcome once reviewed). Unknown: 404 / 30.
#[utoipa::path(
    get,
    path = "/programs/{programCode}/enrollments/{requestId}",
    tag = "baas",
    params(
        ("programCode" = String, Path, description = "Program code"),
        ("requestId" = String, Path, description = "The X-GD-RequestId of the enrollment"),
        ("X-GD-RequestId" = String, Header, pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[{][0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}[}]|urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$", description = "A UUID of this request, echoed back"),
    ),
    responses(
        (status = 200, description = "The stored outcome", body = AccountEnvelope),
        (status = 400, description = "Bad X-GD-RequestId (110) or unknown program (1000)", body = AccountEnvelope),
        (status = 401, description = "Unauthorized", body = AccountEnvelope),
        (status = 404, description = "30 Enrollment not found", body = AccountEnvelope),
    ),
    security(("bearer" = []))
)]
pub async fn get_enrollment(
    caller: Caller<Baas>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, BaasError> {
    request_id(&req)?;
    let (program, rid) = path.into_inner();
    // Any spelling of the UUID finds the enrollment; a path that is no UUID names none.
    let rid = canonical_uuid(&rid).unwrap_or(rid);
    let mut r = baas_reads::enrollment(&ctx, &caller.client, &program, &rid).map_err(not_found)?;
    r.replayed = false;
    Ok(reply(r))
}

/// Reads answer a missing entity with 404.
fn not_found(e: E) -> BaasError {
    let status = matches!(
        e,
        E::AccountNotFound | E::UserNotFound | E::EnrollmentNotFound
    )
    .then_some(404);
    BaasError {
        error: e.into(),
        status,
    }
}

/// The busiest routes first (see [`super::configure`]); no two of these match one path.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/programs/{programCode}/enrollments",
        web::post().to(post_enrollment),
    )
    .route(
        "/programs/{programCode}/accounts/{accountIdentifier}",
        web::get().to(get_account),
    )
    .route(
        "/programs/{programCode}/enrollments/{requestId}",
        web::get().to(get_enrollment),
    )
    .route(
        "/programs/{programCode}/users/{userIdentifier}",
        web::get().to(get_user),
    );
}
