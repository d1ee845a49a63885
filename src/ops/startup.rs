//! What runs once at start-up (finishing work a crash interrupted) and in the background
//! (sweeping stored responses past their retention).

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

/// Sweeps expired stored responses once an hour.
pub fn spawn_sweeper(ctx: Ctx) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let cutoff = crate::domain::model::now() - RESPONSE_RETENTION_SECS;
            match sweep_responses(&ctx, cutoff).await {
                Ok(0) => {}
                Ok(n) => log::info!("swept {n} stored responses past retention"),
                Err(e) => log::warn!("sweeping stored responses failed: {e}"),
            }
        }
    })
}
