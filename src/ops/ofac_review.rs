//! OFAC reviews: a partial match leaves enrollments pending until a manual decision.
//!
//! `clear` runs in two transactions. The first records the decision (`pending` -> `clearing`),
//! so a second decision is refused at once; the second completes every pending enrollment of
//! the user in one atomic step (cards issued, reserved kits assigned, stored responses rewritten
//! to the final outcome, review `cleared`). It runs only while the review is `clearing`, which
//! makes it exactly-once; a crash between the two leaves the review `clearing`, and start-up
//! ([`finish_interrupted`]) completes it. `decline` is one transaction.

use super::baas_view::{product_name, StoredOutcome};
use super::cards::Premint;
use super::enroll::{cards_issued, issue_cards};
use super::outbox::Outbox;
use super::Ctx;
use crate::config::ClientConfig;
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::event::EventType;
use crate::domain::model::*;
use crate::store::{Reader, Tx, TxResult};
use crate::wire::baas_view::{account_view_of, Outcome};
use crate::wire::sandbox::{review_view, Decision, MatchView, ReviewList, ReviewView, ScreenView};

/// Set to any value, a debug build of the server aborts right after recording a `clear` decision
/// and before completing it: the crash the start-up recovery exists for (`tests/ofac.rs`). For
/// tests only: the check is compiled only with `debug_assertions` (see [`crash_if_asked`]), so a
/// release binary neither reads the variable nor contains its name.
#[cfg(debug_assertions)]
pub const CRASH_AFTER_DECISION_ENV: &str = "ISSUEBOX_TEST_CRASH_AFTER_OFAC_DECISION";

/// The test hook of [`CRASH_AFTER_DECISION_ENV`]; in a release build, nothing.
#[cfg(debug_assertions)]
fn crash_if_asked() {
    if std::env::var_os(CRASH_AFTER_DECISION_ENV).is_some() {
        log::warn!("{CRASH_AFTER_DECISION_ENV} is set: aborting between decision and completion");
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
fn crash_if_asked() {}

/// Reviews still waiting for a decision, of the programs the client may use.
pub fn pending(ctx: &Ctx, client: &ClientConfig) -> DomainResult<ReviewList> {
    let mut reviews = Vec::new();
    for r in ctx.store.reviews()? {
        if matches!(r.state, ReviewState::Pending | ReviewState::Clearing)
            && client.may_use_program(&r.program)
        {
            reviews.push(review_view(&r));
        }
    }
    Ok(ReviewList { reviews })
}

/// Records a decision and carries it out. A second decision answers 409.
pub async fn decide(
    ctx: &Ctx,
    client: &ClientConfig,
    user_id: &str,
    decision: Decision,
) -> DomainResult<ReviewView> {
    let at = now();
    let review = ctx
        .store
        .commit(|tx| {
            let mut r = tx
                .review(user_id)?
                .filter(|r| client.may_use_program(&r.program))
                .ok_or(E::NotFound("review"))?;
            if r.state != ReviewState::Pending {
                return Err(E::Conflict(format!(
                    "the review was already decided: {}",
                    r.state.as_str()
                ))
                .into());
            }
            r.decided_at = Some(at);
            let mut out = Outbox::new(&r.program, None);
            match decision {
                Decision::Clear => r.state = ReviewState::Clearing,
                Decision::Decline => decline_in_tx(ctx, tx, &mut r, at, &mut out)?,
            }
            tx.put_review(&r, false)?;
            out.review(EventType::OfacReviewDecided, &r);
            out.write(tx)?;
            Ok(r)
        })
        .await?;
    if decision == Decision::Decline {
        return Ok(review_view(&review));
    }
    crash_if_asked();
    complete(ctx, user_id).await.map(|r| review_view(&r))
}

fn decline_in_tx(ctx: &Ctx, tx: &Tx, r: &mut Review, at: i64, out: &mut Outbox) -> TxResult<()> {
    let mut user = tx.user(&r.user_id)?.ok_or(E::NotFound("user"))?;
    for id in &r.account_ids {
        let Some(mut acc) = tx.account(id)? else {
            continue;
        };
        if acc.status != AccountStatus::Pending {
            continue;
        }
        let pending = acc.pending.take();
        acc.status = AccountStatus::Closed;
        acc.status_reasons = vec!["ofacDeclined".into()];
        acc.status_changed_at = at;
        if let Some(p) = &pending {
            if let Some(m) = &p.kit_mapping_id {
                if let Some(mut kit) = tx.kit(&acc.program, m)? {
                    if kit.reserved_for.as_deref() == Some(acc.id.as_str()) {
                        kit.status = KitStatus::Available;
                        kit.reserved_for = None;
                        tx.update_kit(&kit)?;
                        out.kit(EventType::KitReleased, &kit, Some(&acc.id));
                    }
                }
            }
        }
        tx.put_account(&acc, false)?;
        user.kyc = KycState::ofac_declined();
        let view = account_view_of(product_name(&ctx.config, &acc), &acc, Some(&user), &[]);
        out.account(EventType::AccountStatusChanged, &view, &user.id);
        if let Some(p) = pending {
            let outcome = Outcome::new(2, 32, "OFAC Hard Decline", Some(view));
            out.settled_enrollment(
                EventType::EnrollmentDeclined,
                &outcome,
                &p.response_key.request_id,
                &user.id,
                &acc.id,
            );
            rewrite_response(tx, &p.response_key, outcome)?;
        }
    }
    let mut any_open = false;
    for id in &user.account_ids {
        if let Some(a) = tx.account(id)? {
            any_open |= a.status != AccountStatus::Closed;
        }
    }
    if !any_open {
        user.status = UserStatus::Closed;
    }
    user.kyc = KycState::ofac_declined();
    r.state = ReviewState::Declined;
    tx.put_user(&user, false)
}

fn rewrite_response(tx: &Tx, key: &ResponseKey, outcome: Outcome) -> TxResult<()> {
    if let Some(mut s) = tx.response(key)? {
        s.body = outcome.stored();
        s.status = 200;
        s.created_at = now();
        tx.put_response(key, &s, false)?;
    }
    Ok(())
}

/// Completes every pending enrollment of a `clearing` review, exactly once.
pub async fn complete(ctx: &Ctx, user_id: &str) -> DomainResult<Review> {
    let review = ctx.store.review(user_id)?.ok_or(E::NotFound("review"))?;
    let program = ctx
        .config
        .program(&review.program)
        .ok_or_else(|| E::Storage(format!("review of unknown program {}", review.program)))?;
    let premint = Premint::new(ctx, program, 0);
    ctx.store
        .commit(|tx| {
            let mut numbers = premint.numbers();
            let mut r = tx.review(user_id)?.ok_or(E::NotFound("review"))?;
            if r.state != ReviewState::Clearing {
                return Err(E::Conflict(format!(
                    "the review is {}, not clearing",
                    r.state.as_str()
                ))
                .into());
            }
            let at = now();
            let mut user = tx.user(user_id)?.ok_or(E::NotFound("user"))?;
            user.status = UserStatus::Active;
            user.kyc = KycState::passed();
            let mut out = Outbox::new(&r.program, None);
            for id in &r.account_ids {
                let Some(mut acc) = tx.account(id)? else {
                    continue;
                };
                let Some(p) = acc
                    .pending
                    .take()
                    .filter(|_| acc.status == AccountStatus::Pending)
                else {
                    continue;
                };
                let kit = match &p.kit_mapping_id {
                    Some(m) => tx.kit(&acc.program, m)?,
                    None => None,
                };
                acc.status = AccountStatus::Normal;
                acc.status_reasons = vec!["healthy".into()];
                acc.status_changed_at = at;
                let issued = issue_cards(
                    ctx,
                    tx,
                    &mut acc,
                    kit,
                    p.alias.clone(),
                    p.physical_card,
                    at,
                    &mut numbers,
                )?;
                tx.put_account(&acc, false)?;
                let view = account_view_of(
                    product_name(&ctx.config, &acc),
                    &acc,
                    Some(&user),
                    &issued.cards,
                );
                out.account(EventType::AccountStatusChanged, &view, &user.id);
                cards_issued(&mut out, &issued, &user.id);
                let outcome = Outcome::new(0, 0, "Success", Some(view));
                out.settled_enrollment(
                    EventType::EnrollmentCompleted,
                    &outcome,
                    &p.response_key.request_id,
                    &user.id,
                    &acc.id,
                );
                rewrite_response(tx, &p.response_key, outcome)?;
            }
            tx.put_user(&user, false)?;
            r.state = ReviewState::Cleared;
            tx.put_review(&r, false)?;
            out.write(tx)?;
            Ok(r)
        })
        .await
}

/// Completes reviews whose `clear` was recorded but not carried out (a crash in between).
pub async fn finish_interrupted(ctx: &Ctx) -> DomainResult<usize> {
    let mut clearing = Vec::new();
    for r in ctx.store.reviews()? {
        if r.state == ReviewState::Clearing {
            clearing.push(r.user_id);
        }
    }
    for user in &clearing {
        complete(ctx, user).await?;
        log::info!("completed an OFAC clearance interrupted by a restart");
    }
    Ok(clearing.len())
}

/// Explains the score of a name against the list.
pub fn explain(ctx: &Ctx, name: &str) -> DomainResult<ScreenView> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(E::Invalid("name must be 1-200 characters".into()));
    }
    let s = ctx.sdn.screen_name(name);
    let cfg = &ctx.config.screening;
    let outcome = if s.score >= cfg.decline_threshold {
        "decline"
    } else if s.score >= cfg.review_threshold {
        "review"
    } else {
        "clear"
    };
    Ok(ScreenView {
        score: s.score,
        matched: s.matched.map(|m| MatchView {
            ent_num: m.ent_num,
            sdn_name: m.sdn_name,
            matched_name: m.matched_name,
            alt_type: m.alt_type,
            program: m.program,
        }),
        list_version: s.list_version,
        outcome: outcome.into(),
    })
}
