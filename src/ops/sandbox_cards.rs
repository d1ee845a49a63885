//! Sandbox use cases over cards and wallets: a card outside enrollment, card and wallet status
//! changes, and card replacement. Each is one store transaction.
//!
//! Final statuses (card CANCELLED, REPLACED, EXPIRED; wallet CLOSED) cannot be left; setting the
//! status a card or wallet already has is accepted and changes nothing. A card, wallet or
//! account of a program the client may not use is answered as if it did not exist.

use super::cards::{mint_from, NewCard, Premint};
use super::outbox::Outbox;
use super::Ctx;
use crate::config::{ClientConfig, Program};
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::event::EventType;
use crate::domain::ids::card_id_for;
use crate::domain::model::*;
use crate::domain::rules;
use crate::store::{Reader, Tx, TxResult};
use crate::vault::SealedPan;

/// A card just made, with its full number (handed out once, never stored in the clear).
pub struct Issued {
    pub card: Card,
    pub number: String,
}

/// `POST /sandbox/programs/{programCode}/devices`; absent fields are `None`.
#[derive(Debug, Clone, Default)]
pub struct CardRequest {
    pub product: Option<String>,
    pub card_type: Option<String>,
    pub status: Option<String>,
    pub alias: Option<String>,
    pub pack_id: Option<String>,
    pub account_id: Option<String>,
}

fn invalid(why: &str) -> E {
    E::Invalid(why.to_string())
}

/// True for the card statuses a card never leaves.
pub fn is_final(s: CardStatus) -> bool {
    matches!(
        s,
        CardStatus::Cancelled | CardStatus::Replaced | CardStatus::Expired
    )
}

/// The program of a sandbox path (see [`super::kits::sandbox_program`]: 401 outside the
/// client's programs, 404 unknown).
fn program<'a>(ctx: &'a Ctx, client: &ClientConfig, code: &str) -> DomainResult<&'a Program> {
    super::kits::sandbox_program(ctx, client, code)
}

/// Runs `make` in one transaction with a card number no card or kit holds; answers its value
/// and the number in full (for the one answer that shows it).
async fn with_fresh_number<T>(
    ctx: &Ctx,
    p: &Program,
    make: impl Fn(&Tx, &SealedPan) -> TxResult<T>,
) -> DomainResult<(T, String)> {
    let premint = Premint::new(ctx, p, 1);
    ctx.store
        .commit(|tx| {
            let (pan, sealed) = mint_from(ctx, tx, &mut premint.numbers())?;
            Ok((make(tx, &sealed)?, pan))
        })
        .await
}

fn check_card_request(p: &Program, req: &CardRequest) -> DomainResult<NewCard> {
    let product = req
        .product
        .as_deref()
        .ok_or_else(|| invalid("productCode is required"))?;
    p.product(product).ok_or(E::ProductUnknown)?;
    let card_type = req
        .card_type
        .as_deref()
        .ok_or_else(|| invalid("cardType is required"))?;
    let card_type = CardType::parse(card_type)
        .ok_or_else(|| invalid("cardType must be PRIMARY, SUPPLEMENTARY or ADD_ON"))?;
    let status = match req.status.as_deref() {
        None => CardStatus::Normal,
        Some(s) => CardStatus::parse(s).ok_or_else(|| invalid("status is not a card status"))?,
    };
    if let Some(a) = &req.alias {
        if !rules::is_card_alias(a) {
            return Err(invalid(
                "alias must be 1-24 characters, none a control character, and must not be a card number",
            ));
        }
    }
    if let Some(pk) = &req.pack_id {
        if !rules::is_card_pack_id(pk) {
            return Err(invalid(
                "packID must be 10-24 characters, none a control character, and must not hold a card number",
            ));
        }
    }
    Ok(NewCard {
        program: p.code.clone(),
        product: product.to_string(),
        account_id: req.account_id.clone(),
        card_type,
        status,
        form: if req.pack_id.is_some() {
            FormFactor::Emv
        } else {
            FormFactor::Virtual
        },
        alias: req.alias.clone(),
        pack_id: req.pack_id.clone(),
    })
}

/// Adds a card to its account's card list (the account must be of the card's program).
fn join_account(tx: &Tx, d: &Card) -> TxResult<()> {
    if let Some(aid) = &d.account_id {
        let mut acc = tx
            .account(aid)?
            .filter(|a| a.program == d.program)
            .ok_or(E::NotFound("account"))?;
        if acc.product != d.product {
            return Err(E::Invalid(format!(
                "the account is of product {}; a card on it must be of that product, not {}",
                acc.product, d.product
            ))
            .into());
        }
        if !acc.card_ids.contains(&d.id) {
            acc.card_ids.push(d.id.clone());
        }
        tx.put_account(&acc, false)?;
    }
    Ok(())
}

/// Makes a card outside enrollment.
pub async fn create_card(
    ctx: &Ctx,
    client: &ClientConfig,
    program_code: &str,
    req: &CardRequest,
) -> DomainResult<Issued> {
    let p = program(ctx, client, program_code)?;
    let card = check_card_request(p, req)?;
    let at = now();
    let (card, number) = with_fresh_number(ctx, p, |tx, pan| {
        if let Some(pk) = &card.pack_id {
            if tx.pack_owner(&p.code, pk)?.is_some() {
                return Err(E::Conflict("packID is already in use".into()).into());
            }
        }
        let d = Card {
            id: card_id_for(&pan.fingerprint),
            program: card.program.clone(),
            product: card.product.clone(),
            account_id: card.account_id.clone(),
            card_type: card.card_type,
            status: card.status,
            form: card.form,
            pan: pan.clone(),
            alias: card.alias.clone(),
            pack_id: card.pack_id.clone(),
            issued_at: at,
            activated_at: (card.status == CardStatus::Normal).then_some(at),
            status_changed_at: at,
        };
        join_account(tx, &d)?;
        tx.insert_card(&d)?;
        let mut out = Outbox::new(&d.program, None);
        out.card(EventType::CardIssued, &d, holder_of(tx, &d)?.as_deref());
        out.write(tx)?;
        Ok(d)
    })
    .await?;
    Ok(Issued { card, number })
}

/// The user holding a card's account, if it has one.
fn holder_of(tx: &Tx, d: &Card) -> TxResult<Option<String>> {
    Ok(match &d.account_id {
        Some(a) => tx.account(a)?.map(|a| a.user_id),
        None => None,
    })
}

fn visible_device(tx: &Tx, client: &ClientConfig, id: &str) -> TxResult<Card> {
    Ok(tx
        .card(id)?
        .filter(|d| client.may_use_program(&d.program))
        .ok_or(E::NotFound("device"))?)
}

fn leave_final(what: &str, from: &str) -> E {
    E::Conflict(format!(
        "{what} is {from}, a final status that cannot be left"
    ))
}

/// Sets a card's status.
pub async fn set_card_status(
    ctx: &Ctx,
    client: &ClientConfig,
    id: &str,
    status: &str,
) -> DomainResult<Card> {
    let to = CardStatus::parse(status).ok_or_else(|| invalid("status is not a card status"))?;
    let at = now();
    ctx.store
        .commit(|tx| {
            let old = visible_device(tx, client, id)?;
            if old.status == to {
                return Ok(old);
            }
            if is_final(old.status) {
                return Err(leave_final("the card", old.status.as_str()).into());
            }
            let mut new = old.clone();
            new.status = to;
            new.status_changed_at = at;
            if to == CardStatus::Normal && new.activated_at.is_none() {
                new.activated_at = Some(at);
            }
            tx.update_card(&old, &new)?;
            let mut out = Outbox::new(&new.program, None);
            out.card(
                EventType::CardStatusChanged,
                &new,
                holder_of(tx, &new)?.as_deref(),
            );
            out.write(tx)?;
            Ok(new)
        })
        .await
}

/// Replaces a card: the old one becomes REPLACED; a new NORMAL card with a new number takes its
/// alias, account and wallets (the pack ID belonged to the old plastic and stays with it).
pub async fn replace_card(ctx: &Ctx, client: &ClientConfig, id: &str) -> DomainResult<Issued> {
    let program_code = ctx
        .store
        .card(id)?
        .filter(|d| client.may_use_program(&d.program))
        .ok_or(E::NotFound("device"))?
        .program;
    let p = program(ctx, client, &program_code).map_err(|_| E::NotFound("device"))?;
    let at = now();
    let (card, number) = with_fresh_number(ctx, p, |tx, pan| {
        let old = visible_device(tx, client, id)?;
        if is_final(old.status) {
            return Err(leave_final("the card", old.status.as_str()).into());
        }
        let new = Card {
            id: card_id_for(&pan.fingerprint),
            status: CardStatus::Normal,
            pan: pan.clone(),
            pack_id: None,
            issued_at: at,
            activated_at: Some(at),
            status_changed_at: at,
            ..old.clone()
        };
        let mut replaced = old.clone();
        replaced.status = CardStatus::Replaced;
        replaced.status_changed_at = at;
        tx.update_card(&old, &replaced)?;
        tx.insert_card(&new)?;
        join_account(tx, &new)?;
        for w in tx.wallets_of(&old.id)? {
            let moved = Wallet {
                card_id: new.id.clone(),
                ..w.clone()
            };
            tx.update_wallet(&w, &moved)?;
        }
        let holder = holder_of(tx, &new)?;
        let mut out = Outbox::new(&new.program, None);
        out.card(EventType::CardReplaced, &replaced, holder.as_deref());
        out.card(EventType::CardIssued, &new, holder.as_deref());
        out.write(tx)?;
        Ok(new)
    })
    .await?;
    Ok(Issued { card, number })
}

/// Sets a wallet's status (NORMAL, INACTIVE, CLOSED; CLOSED is final).
pub async fn set_wallet_status(
    ctx: &Ctx,
    client: &ClientConfig,
    id: &str,
    status: &str,
) -> DomainResult<Wallet> {
    let to = WalletStatus::parse(status)
        .ok_or_else(|| invalid("status must be NORMAL, INACTIVE or CLOSED"))?;
    ctx.store
        .commit(|tx| {
            let old = tx
                .wallet(id)?
                .filter(|w| client.may_use_program(&w.program))
                .ok_or(E::NotFound("wallet"))?;
            if old.status == to {
                return Ok(old);
            }
            if old.status == WalletStatus::Closed {
                return Err(leave_final("the wallet", old.status.as_str()).into());
            }
            let new = Wallet {
                status: to,
                ..old.clone()
            };
            tx.update_wallet(&old, &new)?;
            let account = tx.card(&new.card_id)?.and_then(|c| c.account_id);
            let mut out = Outbox::new(&new.program, None);
            out.wallet(EventType::WalletStatusChanged, &new, account.as_deref());
            out.write(tx)?;
            Ok(new)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses() {
        let finals: Vec<_> = CardStatus::ALL
            .into_iter()
            .filter(|s| is_final(*s))
            .collect();
        assert_eq!(
            finals,
            [
                CardStatus::Replaced,
                CardStatus::Cancelled,
                CardStatus::Expired
            ]
        );
    }
}
