//! The overview: the client's programs with what they hold, and the latest events, kept up to
//! date by the live stream (`live.rs`) and a small script.

use super::error::ConsoleError;
use super::layout;
use super::session::Session;
use crate::config::Scope;
use crate::ops::browse::{self, Count};
use crate::ops::Ctx;
use crate::wire::events::EventView;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};

fn count(c: Count) -> String {
    if c.complete {
        c.n.to_string()
    } else {
        format!("{}+", c.n)
    }
}

/// The first subject an event names (the one its row links to).
pub fn subject_of(e: &EventView) -> Option<&str> {
    let s = &e.subjects;
    [
        &s.account_identifier,
        &s.device_identifier,
        &s.user_identifier,
        &s.wallet_identifier,
        &s.mapping_identifier,
    ]
    .into_iter()
    .find_map(|v| v.as_deref())
}

/// A table of events, newest first; `id` names it for the live script.
pub fn events_table(id: Option<&str>, events: &[EventView]) -> Markup {
    html! {
        table id=[id] {
            caption.muted { "Events, newest first" }
            thead { tr { th scope="col" { "Sequence" } th scope="col" { "Type" } th scope="col" { "Program" } th scope="col" { "Subject" } th scope="col" { "Occurred" } } }
            tbody {
                @for e in events {
                    tr {
                        td { (e.sequence) }
                        td.status { (e.kind) }
                        td { (e.program_code) }
                        td.mono { @if let Some(s) = subject_of(e) { (s) } }
                        td { (e.occurred_at) }
                    }
                }
            }
        }
    }
}

async fn show(s: Session, ctx: web::Data<Ctx>) -> Result<HttpResponse, ConsoleError> {
    let programs = browse::programs(&ctx, &s.client);
    let mut rows = Vec::new();
    for p in &programs {
        rows.push((p, browse::counts(&ctx, &s.client, &p.code)?));
    }
    let latest = if s.may(Scope::Events) {
        Some(browse::latest_events(&ctx, &s.client, 20)?)
    } else {
        None
    };
    Ok(layout::page(
        &s,
        "/console/",
        "Overview",
        html! {
            h1 { "Overview" }
            h2 { "Programs" }
            table {
                thead { tr {
                    th scope="col" { "Program" } th scope="col" { "Name" }
                    th scope="col" { "Accounts" } th scope="col" { "Cards" } th scope="col" { "Kits" }
                    th scope="col" { "Pending OFAC reviews" }
                } }
                tbody {
                    @for (p, c) in &rows {
                        tr {
                            td { a href={ "/console/accounts?program=" (layout::urlencode(&p.code)) } { (p.code) } }
                            td { (p.name) }
                            td { (count(c.accounts)) }
                            td { (count(c.cards)) }
                            td { (count(c.kits)) }
                            td { (c.pending_reviews) }
                        }
                    }
                }
            }
            @if rows.is_empty() { p { "This client may use no program of this server." } }
            p.muted { "A count followed by + stopped at " (browse::COUNT_SCAN) " records." }
            h2 { "Latest events" }
            @if let Some(latest) = &latest {
                p #live-state.muted role="status" { "Reload to see new events." }
                (events_table(Some("live-events"), latest))
            } @else {
                p { "Events need the `events` or `sandbox` scope, which this client does not hold." }
            }
        },
    ))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "",
        web::get().to(|| async { layout::see_other("/console/") }),
    )
    .route("/", web::get().to(show));
}
