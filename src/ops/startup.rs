//! What runs once at start-up (finishing work a crash interrupted) and in the background
//! (sweeping stored responses past their retention).

use super::Ctx;
use crate::domain::error::DomainResult;

/// How long a stored BaaS response is kept for replay (at least 24 h, as the contract says).
pub const RESPONSE_RETENTION_SECS: i64 = 48 * 3600;

/// Finishes work a crash interrupted between two steps: OFAC clearances recorded but not yet
/// carried out.
pub async fn recover(ctx: &Ctx) -> DomainResult<()> {
    super::ofac_review::finish_interrupted(ctx).await?;
    Ok(())
}

/// Sweeps expired stored responses once an hour.
pub fn spawn_sweeper(ctx: Ctx) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let cutoff = crate::domain::model::now() - RESPONSE_RETENTION_SECS;
            match ctx.store.sweep_responses(cutoff) {
                Ok(0) => {}
                Ok(n) => log::info!("swept {n} stored responses past retention"),
                Err(e) => log::warn!("sweeping stored responses failed: {e}"),
            }
        }
    })
}
