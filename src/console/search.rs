//! Search: one box for an account, user, card or wallet id, a kit's mapping identifier, a card
//! pack ID, a card alias, or the last four digits of a card (`ops::browse::search`).

use super::error::{words_of, ConsoleError};
use super::layout::{self, field_error, masked, urlencode};
use super::session::Session;
use crate::domain::error::DomainError;
use crate::ops::browse::{self, Hit};
use crate::ops::Ctx;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Deserialize)]
struct Query {
    q: Option<String>,
}

/// Where a hit's row links to.
fn link(h: &Hit) -> String {
    match h {
        Hit::Account(a) => format!("/console/accounts/{}", urlencode(&a.id)),
        Hit::User(u) => match u.account_ids.first() {
            Some(a) => format!("/console/accounts/{}", urlencode(a)),
            None => "/console/search".into(),
        },
        Hit::Card(c) => match &c.account_id {
            Some(a) => format!("/console/accounts/{}", urlencode(a)),
            None => format!("/console/cards/{}", urlencode(&c.id)),
        },
        Hit::Wallet(w) => format!("/console/cards/{}", urlencode(&w.card_id)),
        Hit::Kit(k) => format!(
            "/console/kits?program={}&status={}",
            urlencode(&k.program),
            k.status.as_str()
        ),
    }
}

fn row(h: &Hit) -> Markup {
    let (kind, id, program, status, detail) = match h {
        Hit::Account(a) => (
            "Account",
            &a.id,
            &a.program,
            a.status.as_str(),
            a.product.clone(),
        ),
        Hit::User(u) => (
            "User",
            &u.id,
            &u.program,
            u.status.as_str(),
            format!("{} {}", u.first_name, u.last_name),
        ),
        Hit::Card(c) => ("Card", &c.id, &c.program, c.status.as_str(), {
            let alias = c.alias.as_deref().unwrap_or("");
            format!("{} {alias}", masked(c))
        }),
        Hit::Wallet(w) => (
            "Wallet",
            &w.id,
            &w.program,
            w.status.as_str(),
            w.plan.clone(),
        ),
        Hit::Kit(k) => (
            "Kit",
            &k.mapping_id,
            &k.program,
            k.status.as_str(),
            format!("pack {}", k.pack_id),
        ),
    };
    html! {
        tr {
            td { (kind) }
            td.mono { a href=(link(h)) { (id) } }
            td { (program) }
            td.status { (status) }
            td { (detail) }
        }
    }
}

async fn show(
    s: Session,
    q: web::Query<Query>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    let term = q.q.clone().unwrap_or_default();
    let (hits, error) = if term.is_empty() {
        (None, None)
    } else {
        match browse::search(&ctx, &s.client, &term) {
            Ok(h) => (Some(h), None),
            Err(e @ DomainError::Invalid(_)) => (None, Some(words_of(&e))),
            Err(e) => return Err(e.into()),
        }
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(layout::page_with(
        status,
        &s,
        "/console/search",
        "Search",
        html! {
            h1 { "Search" }
            form.inline method="get" action="/console/search" role="search" {
                label for="q" { "Identifier, alias, pack ID or last four digits" }
                input #q name="q" type="search" value=(term) size="36" maxlength="64"
                    aria-describedby=[error.as_ref().map(|_| "q-error")];
                button type="submit" { "Search" }
            }
            (field_error("q-error", error.as_deref()))
            @if let Some(hits) = &hits {
                @if hits.is_empty() {
                    p #no-hits { "Nothing of this client's programs matches." }
                } @else {
                    table {
                        caption.muted { (hits.len()) " found" }
                        thead { tr { th scope="col" { "Kind" } th scope="col" { "Identifier" } th scope="col" { "Program" } th scope="col" { "Status" } th scope="col" { "Detail" } } }
                        tbody { @for h in hits { (row(h)) } }
                    }
                }
                p.muted { "The last four digits are looked for among at most " (browse::SCAN) " cards per program." }
            }
        },
    ))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/search", web::get().to(show));
}
