//! BaaS reads: an account, a user, and an enrollment by its requestId.

use super::baas_view::{account_view, StoredOutcome};
use super::enroll::Reply;
use super::Ctx;
use crate::config::ClientConfig;
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::model::ResponseKey;
use crate::store::Reader;
use crate::wire::baas_view::{detail, user_view, AccountRead, Outcome, UserRead};

fn program_for(ctx: &Ctx, client: &ClientConfig, program: &str) -> DomainResult<()> {
    ctx.config.program(program).ok_or(E::ProgramUnknown)?;
    super::auth::check_program(client, program)
}

pub fn account(
    ctx: &Ctx,
    client: &ClientConfig,
    program: &str,
    id: &str,
) -> DomainResult<AccountRead> {
    program_for(ctx, client, program)?;
    let acc = ctx
        .store
        .account(id)?
        .filter(|a| a.program == program)
        .ok_or(E::AccountNotFound)?;
    Ok(AccountRead {
        response_details: detail(0, 0, "Success"),
        account: account_view(&ctx.store, &ctx.config, &acc)?,
    })
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
    let stored = ctx
        .store
        .response(&ResponseKey::new(&client.id, program, request_id))?
        .ok_or(E::EnrollmentNotFound)?;
    Ok(Reply {
        body: Outcome::render_stored(&stored.body)?,
        replayed: true,
    })
}
