//! Accounts: a program's accounts a page at a time, and one account with its holder, cards
//! (masked), wallets and history (the event list filtered by the account).

use super::error::ConsoleError;
use super::layout::{self, masked, pager, urlencode, when};
use super::session::Session;
use crate::config::Scope;
use crate::ops::browse::{self, CardDetail};
use crate::ops::Ctx;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Deserialize)]
struct ListQuery {
    program: Option<String>,
    after: Option<String>,
}

/// The program a listing shows: the one asked for, else the client's first.
pub fn chosen_program(ctx: &Ctx, s: &Session, asked: Option<&str>) -> Result<String, ConsoleError> {
    match asked {
        Some(p) => Ok(browse::program(ctx, &s.client, p)?.code.clone()),
        None => browse::programs(ctx, &s.client)
            .first()
            .map(|p| p.code.clone())
            .ok_or(ConsoleError::Domain(
                crate::domain::error::DomainError::NotFound("program of this client"),
            )),
    }
}

async fn list(
    s: Session,
    q: web::Query<ListQuery>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    let program = chosen_program(&ctx, &s, q.program.as_deref())?;
    let page = browse::accounts(&ctx, &s.client, &program, q.after.clone())?;
    let programs = browse::programs(&ctx, &s.client);
    Ok(layout::page(
        &s,
        "/console/accounts",
        "Accounts",
        html! {
            h1 { "Accounts of " (program) }
            (layout::program_picker("/console/accounts", &programs, &program))
            table {
                thead { tr { th scope="col" { "Account" } th scope="col" { "Product" } th scope="col" { "Status" } th scope="col" { "Cards" } th.hide-narrow scope="col" { "Opened" } } }
                tbody {
                    @for a in &page.items {
                        tr {
                            td.mono { a href={ "/console/accounts/" (urlencode(&a.id)) } { (a.id) } }
                            td { (a.product) }
                            td.status { (a.status.as_str()) }
                            td { (a.card_ids.len()) }
                            td.hide-narrow { (when(a.created_at)) }
                        }
                    }
                }
            }
            @if page.items.is_empty() { p { "No accounts on this page." } }
            (pager(&format!("/console/accounts?program={}", urlencode(&program)), page.next.as_deref()))
        },
    ))
}

#[derive(Deserialize)]
struct DetailQuery {
    history_after: Option<String>,
}

/// A card's row and its wallets (shared with the cards page).
pub fn card_block(d: &CardDetail) -> Markup {
    let c = &d.card;
    html! {
        tr {
            td.mono { a href={ "/console/cards/" (urlencode(&c.id)) } { (c.id) } }
            td.mono { (masked(c)) }
            td { (c.card_type.as_str()) " · " (c.form.as_str()) }
            td.status { (c.status.as_str()) }
            td { (c.alias.as_deref().unwrap_or("")) }
            td { (c.pack_id.as_deref().unwrap_or("")) }
            td {
                @if d.wallets.is_empty() { span.muted { "none" } }
                @for w in &d.wallets {
                    div { span.mono { (w.plan) } " " span.status { (w.status.as_str()) } }
                }
            }
        }
    }
}

/// The table of cards.
pub fn cards_table(cards: &[CardDetail]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { "Card" } th scope="col" { "Number" } th scope="col" { "Type" }
                th scope="col" { "Status" } th scope="col" { "Alias" } th scope="col" { "Pack ID" } th scope="col" { "Wallets" }
            } }
            tbody { @for d in cards { (card_block(d)) } }
        }
    }
}

async fn detail(
    s: Session,
    id: web::Path<String>,
    q: web::Query<DetailQuery>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    let d = browse::account(&ctx, &s.client, &id)?;
    let history = if s.may(Scope::Events) {
        Some(browse::history_of(
            &ctx,
            &s.client,
            &d.account.id,
            q.history_after.clone(),
        )?)
    } else {
        None
    };
    let a = &d.account;
    let u = &d.holder;
    let history_base = format!("/console/accounts/{}?", urlencode(&a.id));
    Ok(layout::page(
        &s,
        "/console/accounts",
        "Account",
        html! {
            h1 { "Account " span.mono { (a.id) } }
            div.grid {
                section.card-box aria-labelledby="acc-h" {
                    h2 #acc-h { "Account" }
                    dl {
                        dt { "Program" } dd { (a.program) }
                        dt { "Product" } dd { (a.product) " (" (a.account_type.as_str()) ")" }
                        dt { "Status" } dd.status #account-status { (a.status.as_str()) }
                        dt { "Reasons" } dd { (a.status_reasons.join(", ")) }
                        dt { "Reference" } dd.mono { (a.reference_number) }
                        dt { "Opened" } dd { (when(a.created_at)) }
                    }
                }
                section.card-box aria-labelledby="holder-h" {
                    h2 #holder-h { "Holder" }
                    dl {
                        dt { "Name" } dd { (u.first_name) " " @if let Some(m) = &u.middle_name { (m) " " } (u.last_name) }
                        dt { "User" } dd.mono { (u.id) }
                        dt { "Status" } dd.status { (u.status.as_str()) }
                        dt { "OFAC" } dd { (u.kyc.ofac_status) " · KYC " (u.kyc.kyc_status) }
                        dt { "Email" } dd { (u.email) }
                    }
                }
            }
            h2 { "Cards" }
            @if d.cards.is_empty() { p { "No card yet." } } @else { (cards_table(&d.cards)) }
            h2 { "History" }
            @if let Some(h) = &history {
                table #history {
                    thead { tr { th scope="col" { "Sequence" } th scope="col" { "Type" } th scope="col" { "Occurred" } th scope="col" { "Request" } } }
                    tbody {
                        @for e in &h.data {
                            tr { td { (e.sequence) } td.status { (e.kind) } td { (e.occurred_at) } td.mono { (e.request_id.as_deref().unwrap_or("")) } }
                        }
                    }
                }
                (pager_history(&history_base, h))
            } @else {
                p.muted { "History needs the `events` or `sandbox` scope, which this client does not hold." }
            }
        },
    ))
}

fn pager_history(base: &str, h: &crate::wire::events::EventList) -> Markup {
    html! {
        nav.pager aria-label="History pages" {
            @if h.has_more {
                a href={ (base) "history_after=" (urlencode(&h.next)) } { "Later events →" }
            } @else { span { "End of the history." } }
        }
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/accounts", web::get().to(list))
        .route("/accounts/{id}", web::get().to(detail));
}
