//! Making cards: a fresh sealed card number under the program's BIN that no card or kit holds,
//! and the device record.
//!
//! Numbers are checked inside the use case's closure, against the store as that closure sees it
//! (closures run one at a time and exactly once); they may be drawn and sealed before it
//! ([`Premint`]). A short number space fills up: an
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

/// Card numbers generated and sealed before a transaction, so that the serialised closure only
/// checks that they are still free (generating and sealing a number is work every other request
/// would wait for). A number found taken is skipped; when none is left, [`mint_from`] mints
/// inside the closure as [`mint_free`] does.
#[derive(Default)]
pub struct Premint(Vec<(String, SealedPan)>);

impl Premint {
    /// `n` numbers for `program`, not yet checked against the store.
    pub fn new(ctx: &Ctx, program: &Program, n: usize) -> Premint {
        Premint(
            (0..n)
                .map(|_| {
                    let pan = generate_pan(&program.bin, program.pan_length);
                    let sealed = ctx.vault.seal(&pan, program.bin.len());
                    (pan, sealed)
                })
                .collect(),
        )
    }
}

/// Inside a transaction: a free number from `premint`, else a newly minted one.
pub fn mint_from(
    ctx: &Ctx,
    tx: &Tx,
    program: &Program,
    premint: &mut Premint,
) -> TxResult<(String, SealedPan)> {
    while let Some((pan, sealed)) = premint.0.pop() {
        if tx.number_owner(&sealed.fingerprint)?.is_none() {
            return Ok((pan, sealed));
        }
    }
    mint_free(ctx, tx, program)
}

/// What a new card is.
pub struct NewCard {
    pub program: String,
    pub product: String,
    pub account_id: Option<String>,
    pub card_type: CardType,
    pub status: CardStatus,
    pub form: FormFactor,
    pub alias: Option<String>,
    pub pack_id: Option<String>,
}

/// Builds the device record of a new card (not yet stored).
pub fn build_card(card: NewCard, pan: SealedPan, at: i64) -> Card {
    let activated_at = (card.status == CardStatus::Normal).then_some(at);
    Card {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn a_preminted_number_already_taken_is_skipped_and_an_empty_premint_mints() {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string("config.toml").unwrap().replace(
            "data_dir = \"data/db\"",
            &format!(
                "data_dir = {:?}",
                dir.path().join("db").display().to_string()
            ),
        );
        let ctx = Ctx::open(Config::parse(&text).unwrap()).unwrap();
        let program = ctx.config.program("SANDBOX").unwrap().clone();
        let Premint(mut numbers) = Premint::new(&ctx, &program, 2);
        let (free, taken) = (numbers.remove(0), numbers.remove(0));
        let holder = build_card(
            NewCard {
                program: program.code.clone(),
                product: "GPR100".into(),
                account_id: None,
                card_type: CardType::Primary,
                status: CardStatus::Normal,
                form: FormFactor::Virtual,
                alias: None,
                pack_id: None,
            },
            taken.1.clone(),
            0,
        );
        ctx.store.transact(|tx| tx.insert_card(&holder)).unwrap();

        // Popped last first: the taken number is tried first and skipped.
        let mut premint = Premint(vec![free.clone(), taken]);
        let got = ctx
            .store
            .transact(|tx| mint_from(&ctx, tx, &program, &mut premint))
            .unwrap();
        assert_eq!(got.0, free.0);
        assert!(premint.0.is_empty());
        let minted = ctx
            .store
            .transact(|tx| mint_from(&ctx, tx, &program, &mut premint))
            .unwrap();
        assert!(minted.0.starts_with(&program.bin) && minted.0 != free.0);
        assert_eq!(minted.1.fingerprint, ctx.vault.pan_fingerprint(&minted.0));
    }
}
