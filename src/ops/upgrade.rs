//! The upgrade use of `POST /programs/{programCode}/enrollments`: a GPR account moved to
//! another product of its program (a DDA gets its direct-deposit numbers), after the profile
//! the request claims is checked against the holder's; one transaction with its event and the
//! stored response (see [`super::enroll`] for the request's idempotency and claim).

use super::baas_view::{product_name, StoredOutcome};
use super::enroll::{holds_open, Reply};
use super::outbox::Outbox;
use super::Ctx;
use crate::config::Program;
use crate::domain::enrollment::Upgrade;
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::event::EventType;
use crate::domain::ids::digits;
use crate::domain::model::*;
use crate::domain::rules;
use crate::store::claims::Claim;
use crate::store::Reader;
use crate::wire::baas_view::{account_view_of, Outcome};

/// Upgrades `u.account_id` to `u.target_product`; `claim` is given back by the same commit.
pub(crate) async fn upgrade(
    ctx: &Ctx,
    program: &Program,
    key: &ResponseKey,
    claim: &Claim,
    stored: StoredResponse,
    u: &Upgrade,
) -> DomainResult<Reply> {
    let routing = rules::new_routing_number();
    let account_number = digits(12);
    let claim_ssn = u
        .claim
        .ssn
        .as_ref()
        .map(|s| ctx.vault.fingerprint(b"ssn", s));
    // Read before the transaction, which may run more than once.
    let provider_down = ctx.faults.get().upgrade_provider;
    ctx.store
        .commit(|tx| {
            tx.release_claim(claim)?;
            let mut acc = tx
                .account(&u.account_id)?
                .filter(|a| a.program == program.code)
                .ok_or(E::AccountNotFound)?;
            let user = tx.user(&acc.user_id)?.ok_or(E::AccountNotFound)?;
            let c = &u.claim;
            let same = |given: &Option<String>, held: &str| {
                given
                    .as_ref()
                    .is_none_or(|g| g.trim().eq_ignore_ascii_case(held.trim()))
            };
            if !same(&c.first_name, &user.first_name)
                || !same(&c.last_name, &user.last_name)
                || !same(&c.date_of_birth, &user.date_of_birth)
                || claim_ssn.is_some_and(|fp| fp != user.ssn_fingerprint)
                || c.ssn_suffix.as_ref().is_some_and(|s| *s != user.ssn_last4)
            {
                return Err(E::ProfileChanged.into());
            }
            if acc.status != AccountStatus::Normal {
                return Err(E::AccountNotHealthy.into());
            }
            if acc.product == u.target_product {
                return Err(E::AlreadyUpgraded.into());
            }
            let current = program.product(&acc.product).ok_or(E::UpgradeNotAllowed)?;
            if !current.upgrade_to.contains(&u.target_product) {
                return Err(E::UpgradeNotAllowed.into());
            }
            if holds_open(tx, &user, &u.target_product, Some(&acc.id))? {
                return Err(E::SsnHoldsAccount.into());
            }
            if provider_down {
                return Err(E::UpgradeProvider.into());
            }
            let target = program
                .product(&u.target_product)
                .ok_or(E::ProductUnknown)?;
            acc.product = target.code.clone();
            acc.account_type = target.account_type;
            if target.account_type == crate::config::AccountType::Dda
                && acc.direct_deposit.is_none()
            {
                acc.direct_deposit = Some(DirectDeposit {
                    routing_number: routing.clone(),
                    account_number: account_number.clone(),
                });
            }
            let mut cards = Vec::new();
            for id in &acc.card_ids {
                if let Some(old) = tx.card(id)? {
                    let mut d = old.clone();
                    d.product = target.code.clone();
                    tx.update_card(&old, &d)?;
                    cards.push(d);
                }
            }
            tx.put_account(&acc, false)?;
            let view = account_view_of(product_name(&ctx.config, &acc), &acc, Some(&user), &cards);
            let mut out = Outbox::new(&program.code, Some(&key.request_id));
            out.account(EventType::AccountUpgraded, &view, &user.id);
            out.write(tx)?;
            let outcome = Outcome::new(0, 0, "Success", Some(view));
            let mut s = stored.clone();
            s.body = outcome.stored();
            s.account_id = Some(acc.id.clone());
            tx.put_response(key, &s, true)?;
            Ok(Reply {
                body: outcome.json(),
                replayed: false,
            })
        })
        .await
}
