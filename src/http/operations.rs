//! Operations endpoints, without authentication: `/health`, `/metrics`, `/openapi.json`.

use crate::metrics::Metrics;
use crate::ops::Ctx;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::OpenApi;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` while the server answers.
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: answers as soon as the server listens.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Prometheus text: requests by route and status, latency histograms, entity counts, store size.
///
/// Labels come from closed sets: `method` is GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or
/// `other`; `route` is a path pattern of this document or `unmatched`; `status` the HTTP status.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
pub async fn metrics(ctx: web::Data<Ctx>, m: web::Data<Metrics>) -> HttpResponse {
    let f = crate::ops::store_figures::read(&ctx);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(m.render(&f.counts, f.bytes_on_disk, f.commits))
}

/// The OpenAPI 3.1 document of every endpoint, generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(
        super::openapi::ApiDoc::openapi()
            .to_json()
            .unwrap_or_default(),
    )
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/metrics", web::get().to(metrics))
        .route("/openapi.json", web::get().to(openapi));
}
