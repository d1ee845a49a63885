//! BaaS reads: an account, a user, and an enrollment by its requestId.

use super::baas_view::{AccountParts, StoredOutcome};
use super::enroll::Reply;
use super::Ctx;
use crate::config::ClientConfig;
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::model::{ResponseKey, StoredResponse};
use crate::store::Reader;
use crate::wire::baas_view::{detail, user_view, AccountRead, Outcome, UserRead};
use std::convert::Infallible;
use std::sync::Arc;

fn program_for(ctx: &Ctx, client: &ClientConfig, program: &str) -> DomainResult<()> {
    ctx.config.program(program).ok_or(E::ProgramUnknown)?;
    super::auth::check_program(client, program)
}

/// The JSON body of an account read ([`AccountRead`]). Its records are read on every call; the
/// body is rendered again only when they changed ([`super::render_memo`]).
pub fn account(
    ctx: &Ctx,
    client: &ClientConfig,
    program: &str,
    id: &str,
) -> DomainResult<Arc<[u8]>> {
    program_for(ctx, client, program)?;
    let acc = ctx
        .store
        .account(id)?
        .filter(|a| a.program == program)
        .ok_or(E::AccountNotFound)?;
    let parts = AccountParts::read(&ctx.store, acc)?;
    let Ok(body) = ctx.renders.accounts.body(id.as_bytes(), &parts, |p| {
        let read = AccountRead {
            response_details: detail(0, 0, "Success"),
            account: p.view(&ctx.config),
        };
        Ok::<_, Infallible>(serde_json::to_vec(&read).expect("views serialise"))
    });
    Ok(body)
}

pub fn user(ctx: &Ctx, client: &ClientConfig, program: &str, id: &str) -> DomainResult<UserRead> {
    program_for(ctx, client, program)?;
    let u = ctx
        .store
        .user(id)?
        .filter(|u| u.program == program)
        .ok_or(E::UserNotFound)?;
    Ok(UserRead {
        response_details: detail(0, 0, "Success"),
        user: user_view(&u),
        accounts: u.account_ids.clone(),
    })
}

/// What a replay of `request_id` would answer now.
pub fn enrollment(
    ctx: &Ctx,
    client: &ClientConfig,
    program: &str,
    request_id: &str,
) -> DomainResult<Reply> {
    program_for(ctx, client, program)?;
    let key = ResponseKey::new(&client.id, program, request_id);
    let stored = ctx.store.response(&key)?.ok_or(E::EnrollmentNotFound)?;
    replay(ctx, &key, &stored)
}

/// The answer replaying `stored` (the response stored under `key`): its outcome rendered from
/// the stored compact form, again only when that changed ([`super::render_memo`]).
pub fn replay(ctx: &Ctx, key: &ResponseKey, stored: &StoredResponse) -> DomainResult<Reply> {
    let body = ctx
        .renders
        .replays
        .body(&key.to_bytes(), &stored.body, |b| Outcome::render_stored(b))?;
    Ok(Reply {
        body: body.to_vec(),
        replayed: true,
    })
}
