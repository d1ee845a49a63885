//! Webhook endpoints and their deliveries (scope `events` or `sandbox`); problem+json errors.

use super::auth::{Caller, Events};
use super::errors::SandboxError;
use crate::ops::deliveries::{self, DeliveryQuery};
use crate::ops::webhooks;
use crate::ops::Ctx;
use crate::wire::webhooks::{
    DeliveryList, DeliveryView, NewWebhook, RecoverRequest, Recovered, TestSent, WebhookList,
    WebhookPatch, WebhookView,
};
use actix_web::{web, HttpRequest, HttpResponse};

/// Creates an endpoint. Its signing secret (`whsec_…`) is in this answer only.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks",
    request_body = NewWebhook,
    responses(
        (status = 201, description = "The endpoint, with its secret", body = WebhookView),
        (status = 400, description = "A bad field, named in `detail` (a URL whose host webhooks.allowed_hosts does not allow, an unknown event type or program)"),
        (status = 401, description = "Not authenticated, no events or sandbox scope, or a program not the client's"),
        (status = 409, description = "The client has as many endpoints as it may"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create(
    c: Caller<Events>,
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, SandboxError> {
    let body: NewWebhook =
        super::body::json(&req, payload, ctx.config.server.max_body_bytes).await?;
    let (w, secret) = webhooks::create(&ctx, &c.client, &body).await?;
    Ok(HttpResponse::Created().json(WebhookView::of(&w, Some(secret))))
}

/// The client's endpoints, oldest first.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "The endpoints", body = WebhookList),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(c: Caller<Events>, ctx: web::Data<Ctx>) -> Result<HttpResponse, SandboxError> {
    let data = webhooks::list(&ctx, &c.client)?
        .iter()
        .map(|w| WebhookView::of(w, None))
        .collect();
    Ok(HttpResponse::Ok().json(WebhookList { data }))
}

/// One endpoint (without its secret).
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`wh_…`)")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 404, description = "No such endpoint of the client"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    c: Caller<Events>,
    ctx: web::Data<Ctx>,
    id: web::Path<String>,
) -> Result<HttpResponse, SandboxError> {
    let w = webhooks::get(&ctx, &c.client, &id)?;
    Ok(HttpResponse::Ok().json(WebhookView::of(&w, None)))
}

/// Changes an endpoint's URL, event types, status or description. Enabling a disabled endpoint
/// makes its pending deliveries due at once.
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`wh_…`)")),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 400, description = "A bad field, named in `detail`"),
        (status = 404, description = "No such endpoint of the client"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn patch(
    c: Caller<Events>,
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
    id: web::Path<String>,
) -> Result<HttpResponse, SandboxError> {
    let body: WebhookPatch =
        super::body::json(&req, payload, ctx.config.server.max_body_bytes).await?;
    let w = webhooks::patch(&ctx, &c.client, &id, &body).await?;
    Ok(HttpResponse::Ok().json(WebhookView::of(&w, None)))
}

/// Deletes an endpoint; its pending deliveries are cancelled.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`wh_…`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such endpoint of the client"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete(
    c: Caller<Events>,
    ctx: web::Data<Ctx>,
    id: web::Path<String>,
) -> Result<HttpResponse, SandboxError> {
    webhooks::delete(&ctx, &c.client, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new signing secret, in this answer only; the old one keeps signing beside it for 24 hours.
#[utoipa::path(post, path = "/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`wh_…`)")),
    responses(
        (status = 200, description = "The endpoint, with its new secret", body = WebhookView),
        (status = 404, description = "No such endpoint of the client"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    c: Caller<Events>,
    ctx: web::Data<Ctx>,
    id: web::Path<String>,
) -> Result<HttpResponse, SandboxError> {
    let (w, secret) = webhooks::rotate_secret(&ctx, &c.client, &id).await?;
    Ok(HttpResponse::Ok().json(WebhookView::of(&w, Some(secret))))
}

/// Sends a `webhook.test` event to this endpoint (only).
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`wh_…`)")),
    responses(
        (status = 202, description = "The event is written; its delivery follows", body = TestSent),
        (status = 404, description = "No such endpoint of the client"),
        (status = 409, description = "The endpoint is disabled"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn test(
    c: Caller<Events>,
    ctx: web::Data<Ctx>,
    id: web::Path<String>,
) -> Result<HttpResponse, SandboxError> {
    let w = webhooks::send_test(&ctx, &c.client, &id).await?;
    Ok(HttpResponse::Accepted().json(TestSent {
        webhook_id: w.id,
        kind: "webhook.test".into(),
    }))
}

/// The endpoint's deliveries by event sequence, each with its attempts.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id (`wh_…`)"),
        ("status" = inline(Option<crate::wire::webhooks::DeliveryStatusName>), Query, description = "Only deliveries of this status"),
        ("after" = Option<u64>, Query, description = "Only deliveries of events after this sequence (the `next` of the previous page)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "At most this many; default 100"),
    ),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryList),
        (status = 400, description = "A bad parameter, named in `detail`"),
        (status = 404, description = "No such endpoint of the client"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_deliveries(
    c: Caller<Events>,
    ctx: web::Data<Ctx>,
    id: web::Path<String>,
    q: Result<web::Query<Vec<(String, String)>>, actix_web::Error>,
) -> Result<HttpResponse, SandboxError> {
    let mut p = super::query::params(q, &["status", "after", "limit"])?;
    let query = DeliveryQuery {
        status: p.remove("status"),
        after: p.remove("after"),
        limit: p.remove("limit"),
    };
    let (page, next, more) = deliveries::list(&ctx, &c.client, &id, &query)?;
    Ok(HttpResponse::Ok().json(DeliveryList {
        data: page.iter().map(DeliveryView::from).collect(),
        next: next.to_string(),
        has_more: more,
    }))
}

/// One attempt at a delivery now; answers the delivery with it. A 2xx delivers it; otherwise
/// its status stays as it was.
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{deliveryId}/retry", tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id (`wh_…`)"),
        ("deliveryId" = String, Path, description = "The delivery's id (`dlv_…`)"),
    ),
    responses(
        (status = 200, description = "The delivery after the attempt", body = DeliveryView),
        (status = 404, description = "No such endpoint of the client, or no such delivery"),
        (status = 409, description = "The delivery was cancelled, or the endpoint is disabled"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn retry(
    c: Caller<Events>,
    ctx: web::Data<Ctx>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, SandboxError> {
    let (id, delivery) = path.into_inner();
    let d = deliveries::retry(&ctx, &c.client, &id, &delivery).await?;
    Ok(HttpResponse::Ok().json(DeliveryView::from(&d)))
}

/// Every failed delivery of the endpoint created since a time is attempted again (a new round
/// of the retry schedule).
#[utoipa::path(post, path = "/webhooks/{id}/recover", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id (`wh_…`)")),
    request_body = RecoverRequest,
    responses(
        (status = 200, description = "How many deliveries are pending again", body = Recovered),
        (status = 400, description = "`since` is not an RFC 3339 time"),
        (status = 404, description = "No such endpoint of the client"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn recover(
    c: Caller<Events>,
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<Ctx>,
    id: web::Path<String>,
) -> Result<HttpResponse, SandboxError> {
    let body: RecoverRequest =
        super::body::json(&req, payload, ctx.config.server.max_body_bytes).await?;
    let recovered = deliveries::recover(&ctx, &c.client, &id, &body.since).await?;
    Ok(HttpResponse::Ok().json(Recovered { recovered }))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::post().to(create))
        .route("/webhooks", web::get().to(list))
        .route("/webhooks/{id}", web::get().to(get))
        .route("/webhooks/{id}", web::patch().to(patch))
        .route("/webhooks/{id}", web::delete().to(delete))
        .route(
            "/webhooks/{id}/rotate-secret",
            web::post().to(rotate_secret),
        )
        .route("/webhooks/{id}/test", web::post().to(test))
        .route("/webhooks/{id}/deliveries", web::get().to(list_deliveries))
        .route(
            "/webhooks/{id}/deliveries/{deliveryId}/retry",
            web::post().to(retry),
        )
        .route("/webhooks/{id}/recover", web::post().to(recover));
}
