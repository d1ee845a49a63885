//! Webhook endpoints (scope `events`): each endpoint, its deliveries a page at a time with
//! their attempts, and a retry button per delivery (`ops::webhooks`, `ops::deliveries`).

use super::csrf::Posted;
use super::error::{words_of, ConsoleError};
use super::layout::{self, csrf_field, field_error, notice, urlencode};
use super::session::Session;
use crate::config::Scope;
use crate::domain::error::DomainError;
use crate::ops::deliveries::{self, DeliveryQuery};
use crate::ops::{webhooks, Ctx};
use crate::wire::webhooks::{DeliveryView, WebhookView};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;

async fn list(s: Session, ctx: web::Data<Ctx>) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Events)?;
    let hooks: Vec<WebhookView> = webhooks::list(&ctx, &s.client)?
        .iter()
        .map(|w| WebhookView::of(w, None))
        .collect();
    Ok(layout::page(
        &s,
        "/console/webhooks",
        "Webhooks",
        html! {
            h1 { "Webhook endpoints" }
            @if hooks.is_empty() { p { "No endpoint yet. Create one with " code { "POST /webhooks" } "." } }
            table {
                thead { tr { th scope="col" { "Endpoint" } th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "Programs" } th scope="col" { "Status" } th scope="col" { "Failures in a row" } } }
                tbody {
                    @for w in &hooks {
                        tr {
                            td.mono { a href={ "/console/webhooks/" (urlencode(&w.id)) } { (w.id) } }
                            td.mono { (w.url) }
                            td { (w.event_types.join(", ")) }
                            td { (w.program_codes.join(", ")) }
                            td.status { (w.status) }
                            td { (w.consecutive_failures) }
                        }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize, Default)]
struct Query {
    status: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

fn detail_page(
    s: &Session,
    ctx: &Ctx,
    status: StatusCode,
    id: &str,
    q: &Query,
    failed: Option<(&str, &str)>,
) -> Result<HttpResponse, ConsoleError> {
    let w = WebhookView::of(&webhooks::get(ctx, &s.client, id)?, None);
    let dq = DeliveryQuery {
        status: q.status.clone().filter(|v| !v.is_empty()),
        after: q.after.clone().filter(|v| !v.is_empty()),
        limit: Some(crate::ops::browse::PAGE.to_string()),
    };
    let (page, next, more) = deliveries::list(ctx, &s.client, id, &dq)?;
    let views: Vec<DeliveryView> = page.iter().map(DeliveryView::from).collect();
    let enc = urlencode(&w.id);
    Ok(layout::page_with(
        status,
        s,
        "/console/webhooks",
        "Webhook",
        html! {
            h1 { "Endpoint " span.mono { (w.id) } }
            (notice(q.done.as_ref().map(|_| "Retried: see the new attempt below.")))
            section.card-box {
                dl {
                    dt { "URL" } dd.mono { (w.url) }
                    dt { "Status" } dd.status { (w.status) }
                    dt { "Events" } dd { (w.event_types.join(", ")) }
                    dt { "Programs" } dd { (w.program_codes.join(", ")) }
                    dt { "Description" } dd { (w.description.as_deref().unwrap_or("—")) }
                }
            }
            h2 { "Deliveries" }
            form.inline method="get" action={ "/console/webhooks/" (enc) } {
                label for="d-status" { "Status" }
                select #d-status name="status" {
                    option value="" { "every status" }
                    @for st in ["pending", "delivered", "failed", "cancelled"] {
                        option value=(st) selected[q.status.as_deref() == Some(st)] { (st) }
                    }
                }
                button type="submit" { "Show" }
            }
            @if views.is_empty() { p { "No deliveries on this page." } }
            @for d in &views {
                section.card-box aria-labelledby={ "d-" (d.id) } {
                    h3 id={ "d-" (d.id) } { "Event " (d.event_sequence) " · " span.status { (d.status) } }
                    p.muted { "Delivery " span.mono { (d.id) } " of event " span.mono { (d.event_id) } ", created " (d.created_at)
                        @if let Some(n) = &d.next_attempt_at { "; next attempt " (n) } }
                    table {
                        thead { tr { th scope="col" { "Attempt at" } th scope="col" { "HTTP status or error" } th scope="col" { "Latency" } th.hide-narrow scope="col" { "Answer (first 1 KiB)" } } }
                        tbody {
                            @for a in &d.attempts {
                                tr {
                                    td { (a.at) @if a.manual { " (retry)" } }
                                    td { @if let Some(code) = a.status { (code) } @if let Some(e) = &a.error { (e) } }
                                    td { (a.latency_ms) " ms" }
                                    td.mono.hide-narrow { (a.response) }
                                }
                            }
                        }
                    }
                    @if d.status != "cancelled" {
                        form.inline method="post" action={ "/console/webhooks/" (enc) "/deliveries/" (urlencode(&d.id)) "/retry" } {
                            (csrf_field(s))
                            button type="submit" { "Retry now" }
                        }
                    }
                    (field_error(&format!("err-{}", d.id), failed.filter(|(f, _)| *f == d.id).map(|(_, m)| m)))
                }
            }
            nav.pager aria-label="Pages" {
                @if more {
                    a href={ "/console/webhooks/" (enc) "?status=" (urlencode(q.status.as_deref().unwrap_or(""))) "&after=" (next) } { "Next page →" }
                } @else { span { "End of the list." } }
            }
        },
    ))
}

async fn detail(
    s: Session,
    id: web::Path<String>,
    q: web::Query<Query>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Events)?;
    match detail_page(&s, &ctx, StatusCode::OK, &id, &q, None) {
        Err(ConsoleError::Domain(e @ DomainError::Invalid(_))) => {
            // A bad filter in the address: the page without it, saying why.
            let plain = Query::default();
            let msg = words_of(&e);
            detail_page(
                &s,
                &ctx,
                StatusCode::BAD_REQUEST,
                &id,
                &plain,
                Some(("", &msg)),
            )
        }
        r => r,
    }
}

async fn retry(
    Posted { s, .. }: Posted,
    path: web::Path<(String, String)>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Events)?;
    let (id, delivery) = path.into_inner();
    match deliveries::retry(&ctx, &s.client, &id, &delivery).await {
        Ok(_) => Ok(layout::see_other(&format!(
            "/console/webhooks/{}?done=1",
            urlencode(&id)
        ))),
        Err(e @ DomainError::Conflict(_)) => {
            let plain = Query::default();
            let msg = words_of(&e);
            detail_page(
                &s,
                &ctx,
                StatusCode::CONFLICT,
                &id,
                &plain,
                Some((&delivery, &msg)),
            )
        }
        Err(e) => Err(e.into()),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::get().to(list))
        .route("/webhooks/{id}", web::get().to(detail))
        .route(
            "/webhooks/{id}/deliveries/{delivery}/retry",
            web::post().to(retry),
        );
}
