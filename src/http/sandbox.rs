//! The sandbox API (scope `sandbox`): kits, cards, statuses, OFAC reviews and faults.
//! Errors are RFC 9457 problem details.

use super::auth::{Caller, Sandbox};
use super::errors::SandboxError;
use crate::ops::{kits, ofac_review};
use crate::wire::sandbox::{
    DecisionRequest, FaultSwitches, KitView, LoadKits, LoadedKits, ReviewList, ReviewView,
    ScreenView,
};
use serde::Deserialize;
use utoipa::ToSchema;

/// A name to screen (the body of `ofac_review::ScreenRequest`, with its limits in the schema).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Jane Doe"}))]
pub struct ScreenIn {
    /// A full name in natural order, `First Middle Last`: 1-200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
}
use crate::ops::Ctx;
use actix_web::{web, HttpRequest, HttpResponse};

/// The fault switches now in force.
#[utoipa::path(get, path = "/sandbox/faults", tag = "sandbox",
    responses(
        (status = 200, description = "Fault switches", body = FaultSwitches),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_faults(_c: Caller<Sandbox>, ctx: web::Data<Ctx>) -> HttpResponse {
    HttpResponse::Ok().json(ctx.faults.get())
}

/// Sets the fault switches (absent ones are off). Not stored: a restart clears them.
#[utoipa::path(put, path = "/sandbox/faults", tag = "sandbox",
    request_body = FaultSwitches,
    responses(
        (status = 200, description = "Fault switches now in force", body = FaultSwitches),
        (status = 400, description = "Body not JSON or of the wrong types", content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_faults(
    _c: Caller<Sandbox>,
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    let switches: FaultSwitches =
        super::body::json(&req, payload, ctx.config.server.max_body_bytes).await?;
    ctx.faults.set(switches)?;
    Ok(HttpResponse::Ok().json(ctx.faults.get()))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sandbox/faults", web::get().to(get_faults))
        .route("/sandbox/faults", web::put().to(put_faults))
        .route(
            "/sandbox/programs/{programCode}/packages",
            web::post().to(load_kits),
        )
        .route(
            "/sandbox/programs/{programCode}/packages/{mappingIdentifier}",
            web::get().to(get_kit),
        )
        .route("/sandbox/ofac/reviews", web::get().to(list_reviews))
        .route(
            "/sandbox/ofac/reviews/{userIdentifier}",
            web::post().to(decide_review),
        )
        .route("/sandbox/ofac/screen", web::post().to(screen));
}

/// Loads pre-printed kits for instant issue: explicit `packages`, or a `generate`d batch. All or
/// none: a duplicate mappingIdentifier or packID answers 409 and loads nothing. The answer holds
/// each kit's full card number, once.
#[utoipa::path(post, path = "/sandbox/programs/{programCode}/packages", tag = "sandbox",
    params(("programCode" = String, Path, description = "Program code")),
    request_body = LoadKits,
    responses(
        (status = 201, description = "The kits loaded", body = LoadedKits),
        (status = 400, description = "Invalid request", content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
        (status = 404, description = "No such program", content_type = "application/problem+json"),
        (status = 409, description = "A mappingIdentifier or packID already in use; nothing loaded", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn load_kits(
    c: Caller<Sandbox>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    let body: LoadKits = super::body::json(&req, payload, ctx.config.server.max_body_bytes).await?;
    let loaded = kits::load(&ctx, &c.client, &path.into_inner(), body).await?;
    Ok(HttpResponse::Created().json(loaded))
}

/// A kit: `available`, `reserved` or `assigned` (with `deviceIdentifier`).
#[utoipa::path(get, path = "/sandbox/programs/{programCode}/packages/{mappingIdentifier}", tag = "sandbox",
    params(
        ("programCode" = String, Path, description = "Program code"),
        ("mappingIdentifier" = String, Path, description = "The kit's mapping identifier"),
    ),
    responses(
        (status = 200, description = "The kit", body = KitView),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
        (status = 404, description = "No such program or kit", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_kit(
    c: Caller<Sandbox>,
    path: web::Path<(String, String)>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    let (program, mapping) = path.into_inner();
    Ok(HttpResponse::Ok().json(kits::get(&ctx, &c.client, &program, &mapping)?))
}

/// OFAC reviews waiting for a decision.
#[utoipa::path(get, path = "/sandbox/ofac/reviews", tag = "sandbox",
    responses(
        (status = 200, description = "Pending reviews", body = ReviewList),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_reviews(
    c: Caller<Sandbox>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    Ok(HttpResponse::Ok().json(ofac_review::pending(&ctx, &c.client)?))
}

/// Decides a user's OFAC review, exactly once. `clear` completes every pending enrollment of the
/// user in one atomic step (cards issued, reserved kits assigned, replays answer the final
/// outcome); `decline` closes the accounts (`ofacDeclined`) and frees their kits.
#[utoipa::path(post, path = "/sandbox/ofac/reviews/{userIdentifier}", tag = "sandbox",
    params(("userIdentifier" = String, Path, description = "The user under review")),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "The review after the decision", body = ReviewView),
        (status = 400, description = "Invalid body", content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
        (status = 404, description = "No review for that user", content_type = "application/problem+json"),
        (status = 409, description = "Already decided", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn decide_review(
    c: Caller<Sandbox>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    let body: DecisionRequest =
        super::body::json(&req, payload, ctx.config.server.max_body_bytes).await?;
    let review = ofac_review::decide(&ctx, &c.client, &path.into_inner(), body.decision).await?;
    Ok(HttpResponse::Ok().json(review))
}

/// Explains how a name scores against the SDN list and what an enrollment would do.
#[utoipa::path(post, path = "/sandbox/ofac/screen", tag = "sandbox",
    request_body = ScreenIn,
    responses(
        (status = 200, description = "The score and the best match", body = ScreenView),
        (status = 400, description = "Invalid body", content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated or no sandbox scope", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn screen(
    _c: Caller<Sandbox>,
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    let body: ScreenIn = super::body::json(&req, payload, ctx.config.server.max_body_bytes).await?;
    Ok(HttpResponse::Ok().json(ofac_review::explain(&ctx, &body.name)?))
}
