//! Making cards: a fresh sealed card number under the program's BIN, and the device record.
//!
//! Numbers are generated and encrypted *outside* the store transaction (sled runs transactions
//! one at a time, so crypto inside would serialise it); the transaction then checks the number
//! index and aborts with [`NumberTaken`](crate::domain::error::DomainError::Conflict) on the
//! astronomically rare collision, and the caller retries with a new number.

use super::Ctx;
use crate::config::Program;
use crate::domain::error::DomainError;
use crate::domain::ids::new_id;
use crate::domain::model::*;
use crate::store::{Reader, Tx, TxResult};
use crate::vault::{generate_pan, SealedPan};

/// The abort reason of a card-number collision.
pub const NUMBER_TAKEN: &str = "card number already issued";

/// A new random card number for `program`, sealed.
pub fn mint_pan(ctx: &Ctx, program: &Program) -> SealedPan {
    let pan = generate_pan(&program.bin, program.pan_length);
    ctx.vault.seal(&pan, program.bin.len())
}

/// Inside a transaction: refuses a number that is already a card's or a kit's.
pub fn ensure_number_free(tx: &Tx, pan: &SealedPan) -> TxResult<()> {
    if tx.number_owner(&pan.fingerprint)?.is_some() {
        return Err(DomainError::Conflict(NUMBER_TAKEN.into()).into());
    }
    Ok(())
}

/// Attempts at a free number before a program's number space counts as exhausted.
const FREE_NUMBER_ATTEMPTS: usize = 64;

/// Inside a transaction: a new card number for `program` that no card or kit holds yet, in
/// clear (for the one answer that shows it) and sealed. Use-case closures run exactly once, so
/// minting here is safe; it suits bulk loads, where a collision among many new numbers is likely
/// once a short number space fills up.
pub fn mint_free(ctx: &Ctx, tx: &Tx, program: &Program) -> TxResult<(String, SealedPan)> {
    for _ in 0..FREE_NUMBER_ATTEMPTS {
        let pan = generate_pan(&program.bin, program.pan_length);
        let sealed = ctx.vault.seal(&pan, program.bin.len());
        if tx.number_owner(&sealed.fingerprint)?.is_none() {
            return Ok((pan, sealed));
        }
    }
    Err(DomainError::Conflict(format!(
        "program {} has no free card numbers left under its BIN",
        program.code
    ))
    .into())
}

/// True when `e` is the collision abort, so the caller should retry with a new number.
pub fn is_number_collision(e: &DomainError) -> bool {
    matches!(e, DomainError::Conflict(m) if m == NUMBER_TAKEN)
}

/// What a new card is.
pub struct NewCard {
    pub program: String,
    pub product: String,
    pub account_id: Option<String>,
    pub card_type: CardType,
    pub status: DeviceStatus,
    pub form: FormFactor,
    pub alias: Option<String>,
    pub pack_id: Option<String>,
}

/// Builds the device record of a new card (not yet stored).
pub fn build_device(card: NewCard, pan: SealedPan, at: i64) -> Device {
    let activated_at = (card.status == DeviceStatus::Normal).then_some(at);
    Device {
        id: new_id(),
        program: card.program,
        product: card.product,
        account_id: card.account_id,
        card_type: card.card_type,
        status: card.status,
        form: card.form,
        pan,
        alias: card.alias,
        pack_id: card.pack_id,
        issued_at: at,
        activated_at,
        status_changed_at: at,
    }
}
