//! `POST /deviceapi/apis/v1/services/cardholder/accounts`: create and attach wallets to a card.
//!
//! Rows 1-12 of the device table look at the request alone and run before the store is touched.
//! Rows 13-25 (card resolution, plan rules, the cap, the writes) run inside one store
//! transaction ([`crate::store::Store::commit`]), and the store runs such closures one at a
//! time, so the 15-wallet cap and the plan rules hold under concurrent requests for one card.
//! A sandbox fault aborts that transaction, so nothing of the request is left behind.

use super::device_lookup::{check_len, given, DeviceKeys, Lookup};
use super::outbox::Outbox;
use super::Ctx;
use crate::config::{AccountType, ClientConfig, Program};
use crate::domain::error::{DeviceField, DomainError as E, DomainResult};
use crate::domain::event::EventType;
use crate::domain::ids::{new_id, new_wallet_number};
use crate::domain::model::{now, Card, Wallet, WalletStatus};
use crate::store::Reader;
use std::collections::HashSet;
use time::Date;

/// Most wallets other than CLOSED a card may hold.
pub const MAX_WALLETS: usize = 15;

/// One wallet asked for; `plan` / `promotion` are `None` when absent, null or `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalletRequest {
    pub plan: Option<String>,
    pub promotion: Option<String>,
}

impl WalletRequest {
    pub fn new(plan: Option<String>, promotion: Option<String>) -> WalletRequest {
        WalletRequest {
            plan: given(plan),
            promotion: given(promotion),
        }
    }
}

/// The request, parsed; empty strings already count as not given.
#[derive(Debug, Clone, Default)]
pub struct AttachRequest {
    pub device: DeviceKeys,
    pub program_code: Option<String>,
    pub device_plan_code: Option<String>,
    pub wallets: Vec<WalletRequest>,
}

/// The card and the wallets just created.
#[derive(Debug, Clone)]
pub struct Attached {
    pub card: Card,
    pub wallets: Vec<Wallet>,
}

/// Rows 1-12: the checks on the request alone, in table order.
pub fn validate(req: &AttachRequest) -> Result<(), E> {
    req.device.check()?;
    check_len(req.program_code.as_deref(), 1, 10, DeviceField::ProgramCode)?;
    check_len(
        req.device_plan_code.as_deref(),
        1,
        10,
        DeviceField::DevicePlanCode,
    )?;
    for w in &req.wallets {
        check_len(w.plan.as_deref(), 1, 10, DeviceField::PlanCode)?;
    }
    for w in &req.wallets {
        check_len(w.promotion.as_deref(), 1, 10, DeviceField::PromotionCode)?;
    }
    if req.wallets.is_empty() || req.wallets.iter().any(|w| w.plan.is_none()) {
        return Err(E::WalletPlanMandatory);
    }
    let mut seen = HashSet::new();
    if !req.wallets.iter().all(|w| seen.insert(w.plan.as_deref())) {
        return Err(E::DuplicateWalletPlans);
    }
    if req.wallets.len() > MAX_WALLETS {
        return Err(E::TooManyWallets);
    }
    Ok(())
}

/// What is fixed before the transaction: ids, numbers and the time of the new wallets.
#[derive(Debug, Clone)]
pub struct Fresh {
    pub ids: Vec<(String, String)>,
    pub at: i64,
    pub today: Date,
}

impl Fresh {
    pub fn new(n: usize) -> Fresh {
        let now_dt = time::OffsetDateTime::now_utc();
        Fresh {
            ids: (0..n).map(|_| (new_id(), new_wallet_number())).collect(),
            at: now(),
            today: now_dt.date(),
        }
    }
}

/// Rows 18-23 over a resolved card, the type of its account (if it has one) and its stored
/// wallets: the wallets to create, in request order. `wanted` has passed [`validate`], so every
/// plan is given and distinct. Row 18 looks at the card's product and, for a card with an
/// account, at the account too: an account upgraded to `dda` keeps its cards but takes no
/// prepaid wallets.
pub fn plan_wallets(
    program: &Program,
    card: &Card,
    account: Option<AccountType>,
    existing: &[Wallet],
    wanted: &[WalletRequest],
    fresh: &Fresh,
) -> Result<Vec<Wallet>, E> {
    let gpr = program
        .product(&card.product)
        .is_some_and(|p| p.account_type == AccountType::Gpr);
    if !gpr || account.is_some_and(|t| t != AccountType::Gpr) {
        return Err(E::NotGpr);
    }
    let mut plans = Vec::with_capacity(wanted.len());
    for w in wanted {
        let code = w.plan.as_deref().unwrap_or_default();
        plans.push(program.wallet_plan(code).ok_or(E::PlanNotAttached)?);
    }
    for (w, plan) in wanted.iter().zip(&plans) {
        if let Some(code) = &w.promotion {
            let ok = program
                .promotion_plan(code)
                .is_some_and(|p| p.allows_plan(&plan.code) && p.valid_on(fresh.today));
            if !ok {
                return Err(E::InvalidPromotion);
            }
        }
    }
    let open: Vec<&Wallet> = existing
        .iter()
        .filter(|w| w.status != WalletStatus::Closed)
        .collect();
    if plans.iter().any(|p| open.iter().any(|w| w.plan == p.code)) {
        return Err(E::ExistingPlan);
    }
    let mut held: Vec<(&str, (&str, _, _))> = open
        .iter()
        .map(|w| (w.plan.as_str(), (w.currency.as_str(), w.usage, w.kind)))
        .collect();
    for p in &plans {
        let trait_ = (p.currency.as_str(), p.usage, p.kind);
        if held.iter().any(|(code, t)| *code != p.code && *t == trait_) {
            return Err(E::SameCharacteristic);
        }
        held.push((p.code.as_str(), trait_));
    }
    if open.len() + wanted.len() > MAX_WALLETS {
        return Err(E::TooManyWallets);
    }
    Ok(wanted
        .iter()
        .zip(&plans)
        .zip(&fresh.ids)
        .map(|((w, p), (id, number))| Wallet {
            id: id.clone(),
            number: number.clone(),
            card_id: card.id.clone(),
            program: card.program.clone(),
            plan: p.code.clone(),
            promotion: w.promotion.clone(),
            currency: p.currency.clone(),
            usage: p.usage,
            kind: p.kind,
            status: WalletStatus::Normal,
            created_at: fresh.at,
        })
        .collect())
}

/// Runs the whole table and creates the wallets, all or nothing.
pub async fn attach_wallets(
    ctx: &Ctx,
    client: &ClientConfig,
    req: &AttachRequest,
) -> DomainResult<Attached> {
    validate(req)?;
    ctx.store.refuse_if_busy()?;
    let lookup = Lookup::new(
        &ctx.vault,
        &ctx.config,
        &req.device,
        client,
        req.program_code.as_deref(),
        req.device_plan_code.as_deref(),
    );
    let fresh = Fresh::new(req.wallets.len());
    let faults = ctx.faults.get();
    ctx.store
        .commit(|tx| {
            let found = lookup.resolve(tx)?;
            lookup.check_device_plan(&ctx.config, &found.card)?;
            found.ensure_usable()?;
            let card = found.card;
            let program = ctx.config.program(&card.program).ok_or(E::InvalidDevice)?;
            let account = match &card.account_id {
                Some(a) => tx.account(a)?.map(|a| a.account_type),
                None => None,
            };
            let existing = tx.wallets_of(&card.id)?;
            let wallets = plan_wallets(program, &card, account, &existing, &req.wallets, &fresh)?;
            let mut out = Outbox::new(&card.program, None);
            for w in &wallets {
                if faults.wallet_create {
                    return Err(E::WalletCreate.into());
                }
                tx.insert_wallet(w)?;
                if faults.wallet_link {
                    return Err(E::WalletLink.into());
                }
                out.wallet(EventType::WalletCreated, w, card.account_id.as_deref());
            }
            out.write(tx)?;
            Ok(Attached { card, wallets })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(wallets: &[(&str, &str)]) -> AttachRequest {
        AttachRequest {
            device: DeviceKeys::new(None, None, None, Some("CUST-1".into())),
            program_code: None,
            device_plan_code: None,
            wallets: wallets
                .iter()
                .map(|(p, x)| WalletRequest::new(Some(p.to_string()), Some(x.to_string())))
                .collect(),
        }
    }

    #[test]
    fn request_rows_follow_the_table() {
        assert_eq!(validate(&req(&[("WUSD", "")])), Ok(()));
        assert_eq!(validate(&req(&[])), Err(E::WalletPlanMandatory));
        assert_eq!(
            validate(&req(&[("", ""), ("WUSD", "")])),
            Err(E::WalletPlanMandatory)
        );
        // Row 8 (a long plan) comes before row 10 (a missing one).
        assert_eq!(
            validate(&req(&[("", ""), ("ELEVENCHARS", "")])),
            Err(E::InvalidLength(DeviceField::PlanCode))
        );
        // Row 8 over every wallet before row 9.
        assert_eq!(
            validate(&req(&[("W", "ELEVENCHARS"), ("ELEVENCHARS", "")])),
            Err(E::InvalidLength(DeviceField::PlanCode))
        );
        assert_eq!(
            validate(&req(&[("W", "ELEVENCHARS")])),
            Err(E::InvalidLength(DeviceField::PromotionCode))
        );
        assert_eq!(
            validate(&req(&[("A", ""), ("A", "")])),
            Err(E::DuplicateWalletPlans)
        );
        let many: Vec<(String, &str)> = (0..16).map(|i| (format!("P{i}"), "")).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(p, x)| (p.as_str(), *x)).collect();
        assert_eq!(validate(&req(&many)), Err(E::TooManyWallets));
        assert_eq!(validate(&req(&many[..15])), Ok(()));
    }

    fn shipped() -> crate::config::Config {
        crate::config::Config::parse(include_str!("../../config.toml")).unwrap()
    }

    fn card(product: &str) -> Card {
        let vault = crate::vault::Vault::from_hex_key(&"ab".repeat(32)).unwrap();
        crate::ops::cards::build_card(
            crate::ops::cards::NewCard {
                program: "SANDBOX".into(),
                product: product.into(),
                account_id: None,
                card_type: crate::domain::model::CardType::Primary,
                status: crate::domain::model::CardStatus::Normal,
                form: crate::domain::model::FormFactor::Virtual,
                alias: None,
                pack_id: None,
            },
            vault.seal("4000009912345678", 8),
            0,
        )
    }

    #[test]
    fn plan_rules_follow_the_table() {
        let config = shipped();
        let program = config.program("SANDBOX").unwrap();
        let fresh = Fresh::new(3);
        let w = |plans: &[&str]| -> Vec<WalletRequest> {
            plans
                .iter()
                .map(|p| WalletRequest::new(Some(p.to_string()), None))
                .collect()
        };
        let gpr = card("GPR100");
        let run = |d: &Card, acc, existing: &[Wallet], plans: &[&str]| {
            plan_wallets(program, d, acc, existing, &w(plans), &fresh)
        };
        assert_eq!(
            run(&card("DDA100"), None, &[], &["X"]).unwrap_err(),
            E::NotGpr
        );
        // A GPR card of an account upgraded to DDA takes no wallets.
        assert_eq!(
            run(&gpr, Some(AccountType::Dda), &[], &["WUSD"]).unwrap_err(),
            E::NotGpr
        );
        assert_eq!(
            run(&gpr, None, &[], &["WUSD", "NOPE"]).unwrap_err(),
            E::PlanNotAttached
        );
        assert_eq!(
            run(&gpr, None, &[], &["WUSD", "WUSD2"]).unwrap_err(),
            E::SameCharacteristic
        );
        let made = run(&gpr, Some(AccountType::Gpr), &[], &["WUSD", "WEUR"]).unwrap();
        assert_eq!(made.len(), 2);
        assert_eq!(made[1].currency, "EUR");
        assert_eq!(made[0].card_id, gpr.id);
        assert_eq!(
            run(&gpr, None, &made, &["WUSD"]).unwrap_err(),
            E::ExistingPlan
        );
        assert_eq!(
            run(&gpr, None, &made, &["WUSD2"]).unwrap_err(),
            E::SameCharacteristic
        );
        let closed: Vec<Wallet> = made
            .iter()
            .map(|x| Wallet {
                status: WalletStatus::Closed,
                ..x.clone()
            })
            .collect();
        assert!(run(&gpr, None, &closed, &["WUSD2", "WEUR"]).is_ok());
    }
}
