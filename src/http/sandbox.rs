//! The sandbox API (scope `sandbox`): kits, cards, statuses, OFAC reviews and faults.
//! Errors are RFC 9457 problem details.

use super::auth::{Caller, Sandbox};
use super::errors::SandboxError;
use crate::ops::faults::FaultSwitches;
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
    ctx.faults.set(switches);
    Ok(HttpResponse::Ok().json(ctx.faults.get()))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sandbox/faults", web::get().to(get_faults))
        .route("/sandbox/faults", web::put().to(put_faults));
}
