//! Making cards: a fresh sealed card number under the program's BIN that no card or kit holds,
//! and the device record.
//!
//! Numbers are drawn inside the use case's closure, against the number index as that closure
//! sees it (closures run one at a time and exactly once). A short number space fills up: an
//! 8-digit BIN with 16-digit numbers leaves 10^7 numbers, so at a million cards about one draw in
//! ten collides and is simply drawn again.

use super::Ctx;
use crate::config::Program;
use crate::domain::error::DomainError;
use crate::domain::ids::card_id_for;
use crate::domain::model::*;
use crate::store::{Reader, Tx, TxResult};
use crate::vault::{generate_pan, SealedPan};

/// Attempts at a free number before a program's number space counts as exhausted.
const FREE_NUMBER_ATTEMPTS: usize = 64;

/// Inside a transaction: a new card number for `program` that no card or kit holds yet, in
/// clear (for the one answer that shows it) and sealed.
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
        id: card_id_for(&pan.fingerprint),
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
