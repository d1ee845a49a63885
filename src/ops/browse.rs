//! Reads for people (the console): a program's counts and listings, search across every kind of
//! identifier, and one account with its cards, wallets and history. Only the client's
//! programs; another program's entity is answered as if it did not exist.
//!
//! Every read is bounded: a listing page looks at no more than [`SCAN`] records, a count at no
//! more than [`COUNT_SCAN`] (past that it says "at least"), and a search by the last four
//! digits of a card looks at no more than [`SCAN`] cards per program (see `store::browse`).

use super::Ctx;
use crate::config::{ClientConfig, Program};
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::model::*;
use crate::store::browse::{Bounds, Page};
use crate::store::{Owner, Reader};
use crate::wire::events::{EventList, EventView};
use crate::wire::sandbox::{ReviewView, ScreenView};

/// Rows on a page of a listing.
pub const PAGE: usize = 25;
/// Records one page, or one program's last-four search, looks at at most.
pub const SCAN: usize = 5_000;
/// Records one count looks at at most.
pub const COUNT_SCAN: usize = 20_000;
/// Hits a search answers at most.
pub const MAX_HITS: usize = 50;

/// The programs of the config the client may use, in config order.
pub fn programs<'a>(ctx: &'a Ctx, client: &ClientConfig) -> Vec<&'a Program> {
    ctx.config
        .programs
        .iter()
        .filter(|p| client.may_use_program(&p.code))
        .collect()
}

/// A program of the client's by code; another or unknown one is not found.
pub fn program<'a>(ctx: &'a Ctx, client: &ClientConfig, code: &str) -> DomainResult<&'a Program> {
    programs(ctx, client)
        .into_iter()
        .find(|p| p.code == code)
        .ok_or(E::NotFound("program"))
}

fn bounds(after: Option<String>, limit: usize, scan: usize) -> Bounds {
    Bounds {
        after: after.filter(|a| !a.is_empty() && a.len() <= 128),
        limit,
        scan,
    }
}

/// A count that may have stopped at its bound.
#[derive(Debug, Clone, Copy)]
pub struct Count {
    pub n: usize,
    /// False when the count stopped at [`COUNT_SCAN`] records: there are at least `n`.
    pub complete: bool,
}

/// What a program holds.
#[derive(Debug)]
pub struct ProgramCounts {
    pub accounts: Count,
    pub cards: Count,
    pub kits: Count,
    pub pending_reviews: usize,
}

fn count<T>(f: impl Fn(&Bounds) -> DomainResult<Page<T>>) -> DomainResult<Count> {
    let page = f(&bounds(None, usize::MAX, COUNT_SCAN))?;
    Ok(Count {
        n: page.items.len(),
        complete: page.next.is_none(),
    })
}

/// The counts of one of the client's programs.
pub fn counts(ctx: &Ctx, client: &ClientConfig, code: &str) -> DomainResult<ProgramCounts> {
    let p = program(ctx, client, code)?;
    let pending_reviews = super::ofac_review::pending(ctx, client)?
        .reviews
        .iter()
        .filter(|r| r.program_code == p.code)
        .count();
    Ok(ProgramCounts {
        accounts: count(|b| ctx.store.accounts_page(&p.code, b))?,
        cards: count(|b| ctx.store.cards_page(&p.code, None, b))?,
        kits: count(|b| ctx.store.kits_page(&p.code, None, b))?,
        pending_reviews,
    })
}

/// A page of a program's accounts.
pub fn accounts(
    ctx: &Ctx,
    client: &ClientConfig,
    code: &str,
    after: Option<String>,
) -> DomainResult<Page<Account>> {
    let p = program(ctx, client, code)?;
    ctx.store.accounts_page(&p.code, &bounds(after, PAGE, SCAN))
}

/// A page of a program's cards.
pub fn cards(
    ctx: &Ctx,
    client: &ClientConfig,
    code: &str,
    after: Option<String>,
) -> DomainResult<Page<Card>> {
    let p = program(ctx, client, code)?;
    ctx.store
        .cards_page(&p.code, None, &bounds(after, PAGE, SCAN))
}

/// A page of a program's kits, of one status or all.
pub fn kits(
    ctx: &Ctx,
    client: &ClientConfig,
    code: &str,
    status: Option<KitStatus>,
    after: Option<String>,
) -> DomainResult<Page<Kit>> {
    let p = program(ctx, client, code)?;
    ctx.store
        .kits_page(&p.code, status, &bounds(after, PAGE, SCAN))
}

/// A kit status by name.
pub fn kit_status(s: &str) -> Option<KitStatus> {
    [
        KitStatus::Available,
        KitStatus::Reserved,
        KitStatus::Assigned,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub enum Hit {
    Account(Account),
    User(User),
    Card(Card),
    Wallet(Wallet),
    Kit(Kit),
}

/// Why a search term was refused (shown next to the field).
pub const BAD_TERM: &str =
    "Enter an identifier, mapping identifier, pack ID, alias or last four digits (1-64 characters, no control characters).";

/// Everything of the client's programs that `term` names: an account, user, card or wallet id,
/// a kit's mapping identifier, a card pack ID, a card alias, or (four digits) the last four
/// digits of a card number. At most [`MAX_HITS`].
pub fn search(ctx: &Ctx, client: &ClientConfig, term: &str) -> DomainResult<Vec<Hit>> {
    let term = term.trim();
    if term.is_empty() || term.len() > 64 || term.chars().any(char::is_control) {
        return Err(E::Invalid(BAD_TERM.into()));
    }
    let mine = |program: &str| client.may_use_program(program);
    let s = &ctx.store;
    let mut hits = Vec::new();
    if let Some(a) = s.account(term)?.filter(|a| mine(&a.program)) {
        hits.push(Hit::Account(a));
    }
    if let Some(u) = s.user(term)?.filter(|u| mine(&u.program)) {
        hits.push(Hit::User(u));
    }
    if let Some(c) = s.card(term)?.filter(|c| mine(&c.program)) {
        hits.push(Hit::Card(c));
    }
    if let Some(w) = s.wallet(term)?.filter(|w| mine(&w.program)) {
        hits.push(Hit::Wallet(w));
    }
    for id in s.alias_cards(term)? {
        if let Some(c) = s.card(&id)?.filter(|c| mine(&c.program)) {
            hits.push(Hit::Card(c));
        }
    }
    for p in programs(ctx, client) {
        if let Some(k) = s.kit(&p.code, term)? {
            hits.push(Hit::Kit(k));
        }
        match s.pack_owner(&p.code, term)? {
            Some(Owner::Card(id)) => hits.extend(s.card(&id)?.map(Hit::Card)),
            Some(Owner::Kit { mapping_id, .. }) => {
                hits.extend(s.kit(&p.code, &mapping_id)?.map(Hit::Kit))
            }
            None => {}
        }
        if term.len() == 4 && term.bytes().all(|b| b.is_ascii_digit()) {
            let page = s.cards_page(&p.code, Some(term), &bounds(None, MAX_HITS, SCAN))?;
            hits.extend(page.items.into_iter().map(Hit::Card));
        }
    }
    let mut unique: Vec<Hit> = Vec::new();
    for h in hits {
        if !unique.contains(&h) {
            unique.push(h);
        }
    }
    unique.truncate(MAX_HITS);
    Ok(unique)
}

/// A card with its wallets.
#[derive(Debug)]
pub struct CardDetail {
    pub card: Card,
    pub wallets: Vec<Wallet>,
}

/// One of the client's cards with its wallets.
pub fn card(ctx: &Ctx, client: &ClientConfig, id: &str) -> DomainResult<CardDetail> {
    let card = ctx
        .store
        .card(id)?
        .filter(|c| client.may_use_program(&c.program))
        .ok_or(E::NotFound("card"))?;
    let wallets = ctx.store.wallets_of(&card.id)?;
    Ok(CardDetail { card, wallets })
}

/// An account with its holder, cards and wallets.
#[derive(Debug)]
pub struct AccountDetail {
    pub account: Account,
    pub holder: User,
    pub cards: Vec<CardDetail>,
}

/// One of the client's accounts (its history: [`history_of`]).
pub fn account(ctx: &Ctx, client: &ClientConfig, id: &str) -> DomainResult<AccountDetail> {
    let account = ctx
        .store
        .account(id)?
        .filter(|a| client.may_use_program(&a.program))
        .ok_or(E::NotFound("account"))?;
    let holder = ctx
        .store
        .user(&account.user_id)?
        .ok_or(E::NotFound("user"))?;
    let mut cards = Vec::new();
    for cid in &account.card_ids {
        cards.push(card(ctx, client, cid)?);
    }
    Ok(AccountDetail {
        account,
        holder,
        cards,
    })
}

/// A page of the events whose subjects name `subject` (an entity's history), oldest first.
pub fn history_of(
    ctx: &Ctx,
    client: &ClientConfig,
    subject: &str,
    after: Option<String>,
) -> DomainResult<EventList> {
    let q = super::events::EventQuery {
        after,
        limit: Some(PAGE.to_string()),
        subject: Some(subject.to_string()),
        ..Default::default()
    };
    super::events::list(ctx, client, &q)
}

/// The client's latest events, newest first, at most `n` (looking back over the store's last
/// [`super::events::MAX_LIMIT`] events).
pub fn latest_events(ctx: &Ctx, client: &ClientConfig, n: usize) -> DomainResult<Vec<EventView>> {
    let last = ctx.store.last_event_sequence()?;
    let q = super::events::EventQuery {
        after: Some(
            last.saturating_sub(super::events::MAX_LIMIT as u64)
                .to_string(),
        ),
        limit: Some(super::events::MAX_LIMIT.to_string()),
        ..Default::default()
    };
    let mut list = super::events::list(ctx, client, &q)?.data;
    list.reverse();
    list.truncate(n);
    Ok(list)
}

/// The sequence of the store's last event: where a live view starts.
pub fn last_sequence(ctx: &Ctx) -> DomainResult<u64> {
    ctx.store.last_event_sequence()
}

/// The client's events after `after` (for a live view), oldest first.
pub fn events_after(ctx: &Ctx, client: &ClientConfig, after: u64) -> DomainResult<EventList> {
    let q = super::events::EventQuery {
        after: Some(after.to_string()),
        limit: Some(super::events::MAX_LIMIT.to_string()),
        ..Default::default()
    };
    super::events::list(ctx, client, &q)
}

/// A pending OFAC review with the screening that opened it, explained.
#[derive(Debug)]
pub struct ExplainedReview {
    pub review: ReviewView,
    /// The holder's name as screened (first, middle, last).
    pub name: String,
    /// The list entry the name matches now, and its score.
    pub screening: ScreenView,
}

/// The client's pending OFAC reviews, each with its holder's name screened again to show the
/// matched list entry.
pub fn pending_reviews(ctx: &Ctx, client: &ClientConfig) -> DomainResult<Vec<ExplainedReview>> {
    let mut out = Vec::new();
    for review in super::ofac_review::pending(ctx, client)?.reviews {
        let Some(u) = ctx.store.user(&review.user_identifier)? else {
            continue;
        };
        let name = [
            Some(u.first_name.as_str()),
            u.middle_name.as_deref(),
            Some(u.last_name.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let screening = super::ofac_review::explain(ctx, &name)?;
        out.push(ExplainedReview {
            review,
            name,
            screening,
        });
    }
    Ok(out)
}
