//! Reading events (`GET /events`, `GET /events/{id}`): only those of the client's programs.

use super::Ctx;
use crate::config::ClientConfig;
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::event::{sequence_of_id, Event, EventFilter, EventType};
use crate::wire::events::{EventList, EventView};

/// The most events one page holds, and the default.
pub const MAX_LIMIT: usize = 500;
pub const DEFAULT_LIMIT: usize = 100;
/// The most events one read looks at on the embedded engine (a page of a selective filter may
/// then be short, with `hasMore` set and `next` past what was looked at).
const SCAN: usize = 20_000;

/// A `GET /events` query, its parameters as given.
#[derive(Debug, Default)]
pub struct EventQuery {
    pub after: Option<String>,
    pub limit: Option<String>,
    pub types: Option<String>,
    pub program: Option<String>,
    pub subject: Option<String>,
}

fn bad(param: &str, why: &str) -> E {
    E::Invalid(format!("{param}: {why}"))
}

/// Checks a query's parameters; the first bad one answers 400 naming it.
fn parse(
    ctx: &Ctx,
    client: &ClientConfig,
    q: &EventQuery,
) -> DomainResult<(u64, usize, EventFilter)> {
    let after = match &q.after {
        None => 0,
        Some(a) => a
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= i64::MAX as u64)
            .ok_or_else(|| bad("after", "must be an event sequence (0 or more)"))?,
    };
    let limit = match &q.limit {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| bad("limit", "must be a whole number from 1 to 500"))?,
    };
    let mut types = Vec::new();
    if let Some(t) = &q.types {
        for name in t.split(',') {
            let kind = EventType::parse(name.trim())
                .ok_or_else(|| bad("type", &format!("{name:?} is not an event type")))?;
            types.push(kind);
        }
    }
    let programs = match &q.program {
        Some(p) => {
            if ctx.config.program(p).is_none() {
                return Err(bad("programCode", "names no program"));
            }
            super::auth::check_program(client, p)?;
            Some(vec![p.clone()])
        }
        None if client.programs.iter().any(|p| p == "*") => None,
        None => Some(client.programs.clone()),
    };
    let subject = match &q.subject {
        Some(s) if s.is_empty() || s.len() > 64 || s.chars().any(char::is_control) => {
            return Err(bad(
                "subject",
                "must be an identifier of 1 to 64 characters, none a control character",
            ))
        }
        s => s.clone(),
    };
    let filter = EventFilter {
        programs,
        types,
        subject,
    };
    Ok((after, limit, filter))
}

/// A page of the client's events after `after`, oldest first.
pub fn list(ctx: &Ctx, client: &ClientConfig, q: &EventQuery) -> DomainResult<EventList> {
    let (after, limit, filter) = parse(ctx, client, q)?;
    let page = ctx.store.events_page(after, limit, SCAN, &filter)?;
    Ok(EventList {
        data: page.events.iter().map(EventView::of).collect(),
        next: page.last_seen.to_string(),
        has_more: page.more,
    })
}

/// One of the client's events by id.
pub fn get(ctx: &Ctx, client: &ClientConfig, id: &str) -> DomainResult<Event> {
    sequence_of_id(id)
        .map(|seq| ctx.store.event(seq))
        .transpose()?
        .flatten()
        .filter(|e| e.id == id && client.may_use_program(&e.program))
        .ok_or(E::NotFound("event"))
}
