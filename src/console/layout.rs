//! The page shell (head, navigation, main), and small pieces every page uses: the CSRF field,
//! messages next to fields, pagination links, masked card numbers.

use super::session::Session;
use crate::config::Scope;
use crate::domain::model::Card;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use maud::{html, Markup, DOCTYPE};

/// The sections of the console, in navigation order: path, label, scope needed (if any).
const NAV: [(&str, &str, Option<Scope>); 8] = [
    ("/console/", "Overview", None),
    ("/console/search", "Search", None),
    ("/console/accounts", "Accounts", None),
    ("/console/ofac", "OFAC reviews", Some(Scope::Sandbox)),
    ("/console/kits", "Kits", Some(Scope::Sandbox)),
    ("/console/cards", "Cards", Some(Scope::Sandbox)),
    ("/console/faults", "Faults", Some(Scope::Sandbox)),
    ("/console/webhooks", "Webhooks", Some(Scope::Events)),
];

fn head(title: &str) -> Markup {
    html! {
        (DOCTYPE)
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · issuebox console" }
            link rel="stylesheet" href="/console/static/console.css";
            script src="/console/static/console.js" defer {}
        }
    }
}

/// A page of a logged-in session; `here` is its section's path.
pub fn page(s: &Session, here: &str, title: &str, body: Markup) -> HttpResponse {
    page_with(StatusCode::OK, s, here, title, body)
}

/// [`page`] with another status (a form re-shown with its errors: 400, 409).
pub fn page_with(
    status: StatusCode,
    s: &Session,
    here: &str,
    title: &str,
    body: Markup,
) -> HttpResponse {
    let markup = html! {
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "issuebox console" }
                    nav aria-label="Sections" {
                        ul {
                            @for (path, label, scope) in NAV {
                                @if scope.is_none_or(|sc| s.may(sc)) {
                                    li {
                                        a href=(path) aria-current=[(path == here).then_some("page")] { (label) }
                                    }
                                }
                            }
                        }
                    }
                    form.logout method="post" action="/console/logout" {
                        (csrf_field(s))
                        span.who { "Client " strong { (s.client.id) } }
                        button type="submit" { "Log out" }
                    }
                }
                main #main { (body) }
            }
        }
    };
    html_response(status, markup)
}

/// A page outside a session (login, errors).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    let markup = html! {
        html lang="en" {
            (head(title))
            body { main #main.narrow { (body) } }
        }
    };
    html_response(status, markup)
}

fn html_response(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// A 303 to `to` (after a POST that worked).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to))
        .finish()
}

/// The hidden CSRF field of a session's form.
pub fn csrf_field(s: &Session) -> Markup {
    html! { input type="hidden" name=(super::csrf::FIELD) value=(s.csrf); }
}

/// A message under a field, tied to it by `id` (`aria-describedby` on the field).
pub fn field_error(id: &str, msg: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = msg {
            p.error id=(id) role="alert" { (m) }
        }
    }
}

/// A notice after an action that worked.
pub fn notice(msg: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = msg {
            p.notice role="status" { (m) }
        }
    }
}

/// The link to a listing's next page, when there is one (`base` already holds its query).
pub fn pager(base: &str, next: Option<&str>) -> Markup {
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        nav.pager aria-label="Pages" {
            @if let Some(n) = next {
                a href={ (base) (sep) "after=" (urlencode(n)) } { "Next page →" }
            } @else {
                span { "End of the list." }
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A card's number as a page shows it: BIN, stars, last four.
pub fn masked(c: &Card) -> String {
    c.pan.masked_baas()
}

/// A Unix time as RFC 3339 (UTC).
pub fn when(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// A program picker (a GET form) for a listing page.
pub fn program_picker(action: &str, programs: &[&crate::config::Program], chosen: &str) -> Markup {
    html! {
        form.inline method="get" action=(action) {
            label for="program" { "Program" }
            select #program name="program" {
                @for p in programs {
                    option value=(p.code) selected[p.code == chosen] { (p.code) " — " (p.name) }
                }
            }
            button type="submit" { "Show" }
        }
    }
}
