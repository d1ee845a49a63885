//! Sandbox cards (scope `sandbox`): a program's cards, a card outside enrollment, a card's
//! status, its replacement, and its wallets' statuses, each through `ops::sandbox_cards` as the
//! sandbox API does. Numbers are shown masked only, also right after a card is made.

use super::accounts::chosen_program;
use super::csrf::Posted;
use super::error::{words_of, ConsoleError};
use super::layout::{self, csrf_field, field_error, masked, notice, pager, urlencode, when};
use super::session::Session;
use crate::config::Scope;
use crate::domain::error::DomainError;
use crate::ops::browse;
use crate::ops::sandbox_cards::{self, CardRequest};
use crate::ops::Ctx;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

const CARD_STATUSES: [&str; 9] = [
    "NORMAL",
    "NOT_ACTIVATED",
    "BLOCKED",
    "LOST",
    "STOLEN",
    "REPLACED",
    "UPGRADE",
    "CANCELLED",
    "EXPIRED",
];
const WALLET_STATUSES: [&str; 3] = ["NORMAL", "INACTIVE", "CLOSED"];
const CARD_TYPES: [&str; 3] = ["PRIMARY", "SUPPLEMENTARY", "ADD_ON"];

#[derive(Deserialize, Default)]
struct Query {
    program: Option<String>,
    after: Option<String>,
}

/// A refusal of a form: which form, and the words.
type Problem<'a> = Option<(&'a str, &'a str)>;

fn problem<'a>(p: Problem<'a>, form: &str) -> Option<&'a str> {
    p.filter(|(f, _)| *f == form).map(|(_, m)| m)
}

fn done_words(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("Card created."),
        "status" => Some("Card status changed."),
        "replaced" => Some("Card replaced: this is the new card."),
        "wallet" => Some("Wallet status changed."),
        _ => None,
    }
}

fn list_page(
    s: &Session,
    ctx: &Ctx,
    status: StatusCode,
    q: &Query,
    prob: Problem,
) -> Result<HttpResponse, ConsoleError> {
    let program = chosen_program(ctx, s, q.program.as_deref())?;
    let p = browse::program(ctx, &s.client, &program)?;
    let page = browse::cards(ctx, &s.client, &program, q.after.clone())?;
    let programs = browse::programs(ctx, &s.client);
    let err = problem(prob, "create");
    let described = err.map(|_| "create-error");
    Ok(layout::page_with(
        status,
        s,
        "/console/cards",
        "Cards",
        html! {
            h1 { "Cards of " (program) }
            (layout::program_picker("/console/cards", &programs, &program))
            table #cards {
                thead { tr { th scope="col" { "Card" } th scope="col" { "Number" } th scope="col" { "Type" } th scope="col" { "Status" } th scope="col" { "Alias" } th.hide-narrow scope="col" { "Issued" } } }
                tbody {
                    @for c in &page.items {
                        tr {
                            td.mono { a href={ "/console/cards/" (urlencode(&c.id)) } { (c.id) } }
                            td.mono { (masked(c)) }
                            td { (c.card_type.as_str()) }
                            td.status { (c.status.as_str()) }
                            td { (c.alias.as_deref().unwrap_or("")) }
                            td.hide-narrow { (when(c.issued_at)) }
                        }
                    }
                }
            }
            @if page.items.is_empty() { p { "No cards on this page." } }
            (pager(&format!("/console/cards?program={}", urlencode(&program)), page.next.as_deref()))
            section.card-box aria-labelledby="new-h" {
                h2 #new-h { "New card" }
                form.stack method="post" action="/console/cards" {
                    (csrf_field(s))
                    input type="hidden" name="program" value=(program);
                    label for="c-product" { "Product" }
                    select #c-product name="productCode" {
                        @for pr in &p.products { option value=(pr.code) { (pr.code) " — " (pr.name) } }
                    }
                    label for="c-type" { "Card type" }
                    select #c-type name="cardType" { @for t in CARD_TYPES { option value=(t) { (t) } } }
                    label for="c-status" { "Status" }
                    select #c-status name="status" { @for t in ["NORMAL", "NOT_ACTIVATED"] { option value=(t) { (t) } } }
                    label for="c-alias" { "Alias (optional)" }
                    input #c-alias name="alias" type="text" maxlength="24" aria-describedby=[described];
                    label for="c-pack" { "Pack ID (optional)" }
                    input #c-pack name="packID" type="text" maxlength="24" aria-describedby=[described];
                    label for="c-account" { "Account (optional)" }
                    input #c-account name="accountIdentifier" type="text" maxlength="64" aria-describedby=[described];
                    (field_error("create-error", err))
                    button type="submit" { "Create card" }
                }
            }
        },
    ))
}

fn status_form(
    s: &Session,
    action: &str,
    id: &str,
    current: &str,
    options: &[&str],
    err: Option<&str>,
) -> Markup {
    let field = format!("status-{id}");
    let err_id = format!("err-{id}");
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(s))
            label for=(field) { "Status" }
            select id=(field) name="status" aria-describedby=[err.map(|_| err_id.as_str())] {
                @for o in options { option value=(o) selected[*o == current] { (o) } }
            }
            button type="submit" { "Set status" }
        }
        (field_error(&err_id, err))
    }
}

fn card_page(
    s: &Session,
    ctx: &Ctx,
    status: StatusCode,
    id: &str,
    done: Option<&str>,
    prob: Problem,
) -> Result<HttpResponse, ConsoleError> {
    let d = browse::card(ctx, &s.client, id)?;
    let c = &d.card;
    let enc = urlencode(&c.id);
    Ok(layout::page_with(
        status,
        s,
        "/console/cards",
        "Card",
        html! {
            h1 { "Card " span.mono { (c.id) } }
            (notice(done_words(done)))
            section.card-box {
                dl {
                    dt { "Number" } dd.mono { (masked(c)) }
                    dt { "Program" } dd { (c.program) " · " (c.product) }
                    dt { "Type" } dd { (c.card_type.as_str()) " · " (c.form.as_str()) }
                    dt { "Status" } dd.status #card-status { (c.status.as_str()) }
                    dt { "Alias" } dd { (c.alias.as_deref().unwrap_or("—")) }
                    dt { "Pack ID" } dd.mono { (c.pack_id.as_deref().unwrap_or("—")) }
                    dt { "Account" } dd.mono {
                        @if let Some(a) = &c.account_id { a href={ "/console/accounts/" (urlencode(a)) } { (a) } } @else { "—" }
                    }
                    dt { "Issued" } dd { (when(c.issued_at)) }
                }
                @if s.may(Scope::Sandbox) {
                    (status_form(s, &format!("/console/cards/{enc}/status"), "card", c.status.as_str(), &CARD_STATUSES, problem(prob, "status")))
                    form.inline method="post" action={ "/console/cards/" (enc) "/replace" } {
                        (csrf_field(s))
                        button.secondary type="submit" aria-describedby=[problem(prob, "replace").map(|_| "err-replace")] { "Replace this card" }
                    }
                    (field_error("err-replace", problem(prob, "replace")))
                }
            }
            h2 { "Wallets" }
            @if d.wallets.is_empty() { p { "No wallets." } }
            @for w in &d.wallets {
                section.card-box {
                    dl {
                        dt { "Wallet" } dd.mono { (w.id) }
                        dt { "Plan" } dd { (w.plan) " · " (w.currency) @if let Some(p) = &w.promotion { " · " (p) } }
                        dt { "Status" } dd.status { (w.status.as_str()) }
                    }
                    @if s.may(Scope::Sandbox) {
                        (status_form(s, &format!("/console/wallets/{}/status", urlencode(&w.id)), &w.id, w.status.as_str(), &WALLET_STATUSES, problem(prob, &w.id)))
                    }
                }
            }
        },
    ))
}

/// A sandbox use case's refusal that belongs next to a form (others are pages of their own).
fn shown_by_form(e: &DomainError) -> Option<StatusCode> {
    match e {
        DomainError::Invalid(_) | DomainError::ProductUnknown => Some(StatusCode::BAD_REQUEST),
        DomainError::Conflict(_) => Some(StatusCode::CONFLICT),
        _ => None,
    }
}

async fn list(
    s: Session,
    q: web::Query<Query>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    list_page(&s, &ctx, StatusCode::OK, &q, None)
}

async fn create(
    Posted { s, f }: Posted,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    let program = f.get("program").to_string();
    let r = CardRequest {
        product: f.opt("productCode"),
        card_type: f.opt("cardType"),
        status: f.opt("status"),
        alias: f.opt("alias"),
        pack_id: f.opt("packID"),
        account_id: f.opt("accountIdentifier"),
    };
    match sandbox_cards::create_card(&ctx, &s.client, &program, &r).await {
        // The full number is in `issued.number`; the console never shows it.
        Ok(issued) => Ok(layout::see_other(&format!(
            "/console/cards/{}?done=created",
            urlencode(&issued.card.id)
        ))),
        Err(e) => match shown_by_form(&e) {
            Some(st) => {
                let q = Query {
                    program: Some(program),
                    ..Default::default()
                };
                list_page(&s, &ctx, st, &q, Some(("create", &words_of(&e))))
            }
            None => Err(e.into()),
        },
    }
}

#[derive(Deserialize)]
struct CardQuery {
    done: Option<String>,
}

async fn show(
    s: Session,
    id: web::Path<String>,
    q: web::Query<CardQuery>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    card_page(&s, &ctx, StatusCode::OK, &id, q.done.as_deref(), None)
}

/// Where a card action leads: to the card `to(&value)` with notice `done`, or back to card
/// `back` with the refusal next to its form `form` (a refusal no form shows: its own page).
fn answer<T>(
    s: &Session,
    ctx: &Ctx,
    outcome: Result<T, DomainError>,
    to: impl Fn(&T) -> &str,
    done: &str,
    back: &str,
    form: &str,
) -> Result<HttpResponse, ConsoleError> {
    match outcome {
        Ok(v) => Ok(layout::see_other(&format!(
            "/console/cards/{}?done={done}",
            urlencode(to(&v))
        ))),
        Err(e) => match shown_by_form(&e) {
            Some(st) => card_page(s, ctx, st, back, None, Some((form, &words_of(&e)))),
            None => Err(e.into()),
        },
    }
}

async fn set_status(
    Posted { s, f }: Posted,
    id: web::Path<String>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    let r = sandbox_cards::set_card_status(&ctx, &s.client, &id, f.get("status")).await;
    answer(&s, &ctx, r, |c| &c.id, "status", &id, "status")
}

async fn replace(
    Posted { s, .. }: Posted,
    id: web::Path<String>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    let r = sandbox_cards::replace_card(&ctx, &s.client, &id).await;
    answer(&s, &ctx, r, |i| &i.card.id, "replaced", &id, "replace")
}

async fn set_wallet_status(
    Posted { s, f }: Posted,
    id: web::Path<String>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    // The card the wallet is on, to show a refusal next to the wallet's form.
    let card = browse::search(&ctx, &s.client, &id)?
        .into_iter()
        .find_map(|h| match h {
            browse::Hit::Wallet(w) => Some(w.card_id),
            _ => None,
        })
        .ok_or(DomainError::NotFound("wallet"))?;
    let r = sandbox_cards::set_wallet_status(&ctx, &s.client, &id, f.get("status")).await;
    answer(&s, &ctx, r, |w| &w.card_id, "wallet", &card, &id)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cards", web::get().to(list))
        .route("/cards", web::post().to(create))
        .route("/cards/{id}", web::get().to(show))
        .route("/cards/{id}/status", web::post().to(set_status))
        .route("/cards/{id}/replace", web::post().to(replace))
        .route("/wallets/{id}/status", web::post().to(set_wallet_status));
}
