//! What runs once at start-up (finishing work a crash interrupted) and in the background
//! (sweeping stored responses past their retention and expired bearer tokens, every
//! `storage.sweep_interval_seconds`).

use super::Ctx;
use crate::domain::error::DomainResult;
use crate::domain::model::AccountStatus;
use crate::store::Reader;

/// How long a stored BaaS response is kept for replay (at least 24 h, as the contract says).
pub const RESPONSE_RETENTION_SECS: i64 = 48 * 3600;

/// Finishes work a crash interrupted between two steps: OFAC clearances recorded but not yet
/// carried out.
pub async fn recover(ctx: &Ctx) -> DomainResult<()> {
    super::ofac_review::finish_interrupted(ctx).await?;
    Ok(())
}

/// Stored responses removed per sweeping transaction.
const SWEEP_BATCH: usize = 1000;

/// Removes stored responses last written before `cutoff`, except those of enrollments still
/// waiting for an OFAC decision (their replay must show the final outcome). Answers how many.
pub async fn sweep_responses(ctx: &Ctx, cutoff: i64) -> DomainResult<u64> {
    let mut swept = 0;
    loop {
        let old = ctx.store.responses_before(cutoff, SWEEP_BATCH)?;
        let mut expired = Vec::new();
        for (key, r) in &old {
            let pending = match &r.account_id {
                Some(a) => ctx
                    .store
                    .account(a)?
                    .is_some_and(|a| a.status == AccountStatus::Pending),
                None => false,
            };
            if !pending {
                expired.push(key.clone());
            }
        }
        if expired.is_empty() {
            return Ok(swept);
        }
        ctx.store
            .commit(|tx| {
                for k in &expired {
                    tx.remove_response(k)?;
                }
                Ok(())
            })
            .await?;
        swept += expired.len() as u64;
        if old.len() < SWEEP_BATCH {
            return Ok(swept);
        }
    }
}

/// Deletes the bearer tokens expired at `now` (legacy grants included), with their entries in
/// their clients' token lists, and drops them from the token cache. Answers how many.
pub async fn sweep_tokens(ctx: &Ctx, now: i64) -> DomainResult<u64> {
    let mut swept = 0;
    loop {
        let expired = ctx.store.expired_tokens(now, SWEEP_BATCH)?;
        if expired.is_empty() {
            return Ok(swept);
        }
        let gone = ctx
            .store
            .commit(|tx| {
                let mut gone = Vec::new();
                for h in &expired {
                    // Still expired inside the commit: a hash is never reused by a new token.
                    if tx.remove_token(h)?.is_some() {
                        if let Ok(h) = <[u8; 32]>::try_from(h.as_slice()) {
                            gone.push(h);
                        }
                    }
                }
                Ok(gone)
            })
            .await?;
        ctx.tokens.forget(&gone);
        swept += expired.len() as u64;
        if expired.len() < SWEEP_BATCH {
            return Ok(swept);
        }
    }
}

/// Runs the sweepers once: stored responses past retention, expired tokens.
pub async fn sweep_once(ctx: &Ctx) {
    let now = crate::domain::model::now();
    match sweep_responses(ctx, now - RESPONSE_RETENTION_SECS).await {
        Ok(0) => {}
        Ok(n) => log::info!("swept {n} stored responses past retention"),
        Err(e) => log::warn!("sweeping stored responses failed: {e}"),
    }
    match sweep_tokens(ctx, now).await {
        Ok(0) => {}
        Ok(n) => log::info!("swept {n} expired bearer tokens"),
        Err(e) => log::warn!("sweeping expired tokens failed: {e}"),
    }
}

/// Sweeps every `storage.sweep_interval_seconds` (the first run at start-up).
pub fn spawn_sweeper(ctx: Ctx) -> tokio::task::JoinHandle<()> {
    // On the server's runtime (actix runs tokio with a local task set).
    tokio::task::spawn_local(async move {
        let every = std::time::Duration::from_secs(ctx.config.storage.sweep_interval_seconds);
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            sweep_once(&ctx).await;
        }
    })
}
