//! Making cards: a fresh sealed card number under the program's BIN that no card or kit holds,
//! and the card record.
//!
//! Numbers are checked inside the use case's closure, against the store as that closure sees it.
//! A closure may run more than once (a SQL engine retries one that lost a conflict), so the
//! candidates are drawn before it from a seed of their own ([`Premint`]) and every run meets the
//! same candidates in the same order. A short number space fills up: an 8-digit BIN with 16-digit
//! numbers leaves 10^7 numbers, so at a million cards about one draw in ten collides and the next
//! candidate is taken.

use super::Ctx;
use crate::config::Program;
use crate::domain::error::DomainError;
use crate::domain::ids::card_id_for;
use crate::domain::model::*;
use crate::store::{Reader, Tx, TxResult};
use crate::vault::{generate_pan_with, SealedPan};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Candidates tried for one number before a program's number space counts as exhausted.
const FREE_NUMBER_ATTEMPTS: usize = 64;

/// The card numbers a use case may issue, fixed before its transaction: a seed, and the first
/// candidates drawn from it already sealed (sealing is work every other request would wait for
/// if it ran inside the serialised closure).
pub struct Premint<'p> {
    program: &'p Program,
    sealed: Vec<(String, SealedPan)>,
    /// The generator as it stands after drawing the sealed candidates: the rest come from it.
    rest: StdRng,
}

impl<'p> Premint<'p> {
    /// A seed for `program`, with its first `n` candidates sealed ahead.
    pub fn new(ctx: &Ctx, program: &'p Program, n: usize) -> Premint<'p> {
        let mut rest = StdRng::seed_from_u64(rand::thread_rng().gen());
        let sealed = (0..n)
            .map(|_| {
                let pan = generate_pan_with(&mut rest, &program.bin, program.pan_length);
                let sealed = ctx.vault.seal(&pan, program.bin.len());
                (pan, sealed)
            })
            .collect();
        Premint {
            program,
            sealed,
            rest,
        }
    }

    /// The fingerprints of the candidates sealed ahead: the numbers a run asks about first.
    pub fn fingerprints(&self) -> Vec<[u8; 32]> {
        self.sealed.iter().map(|(_, s)| s.fingerprint).collect()
    }

    /// One run's walk through the candidates, from the first.
    pub fn numbers(&self) -> Numbers<'_, 'p> {
        Numbers {
            premint: self,
            rng: self.rest.clone(),
            taken: 0,
        }
    }
}

/// One run of a closure taking candidates from a [`Premint`], in order.
pub struct Numbers<'a, 'p> {
    premint: &'a Premint<'p>,
    rng: StdRng,
    taken: usize,
}

impl Numbers<'_, '_> {
    /// The next candidate, in clear and sealed.
    fn next(&mut self, ctx: &Ctx) -> (String, SealedPan) {
        let i = self.taken;
        self.taken += 1;
        if let Some(ahead) = self.premint.sealed.get(i) {
            return ahead.clone();
        }
        let program = self.premint.program;
        let pan = generate_pan_with(&mut self.rng, &program.bin, program.pan_length);
        let sealed = ctx.vault.seal(&pan, program.bin.len());
        (pan, sealed)
    }
}

/// Inside a transaction: the next candidate number that no card or kit holds, in clear (for the
/// one answer that shows it) and sealed.
pub fn mint_from(ctx: &Ctx, tx: &Tx, numbers: &mut Numbers) -> TxResult<(String, SealedPan)> {
    for _ in 0..FREE_NUMBER_ATTEMPTS {
        let (pan, sealed) = numbers.next(ctx);
        if tx.number_owner(&sealed.fingerprint)?.is_none() {
            return Ok((pan, sealed));
        }
    }
    Err(DomainError::Conflict(format!(
        "program {} has no free card numbers left under its BIN",
        numbers.premint.program.code
    ))
    .into())
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
    fn a_taken_candidate_is_skipped_every_run_meets_the_same_ones_and_more_are_drawn() {
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
        let premint = Premint::new(&ctx, &program, 1);
        let first = premint.sealed[0].clone();
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
            first.1.clone(),
            0,
        );
        ctx.store.transact(|tx| tx.insert_card(&holder)).unwrap();

        // The first candidate is taken: the run goes on to the second, drawn and sealed inside.
        let run = || {
            ctx.store.transact(|tx| {
                let mut numbers = premint.numbers();
                Ok((
                    mint_from(&ctx, tx, &mut numbers)?,
                    mint_from(&ctx, tx, &mut numbers)?,
                ))
            })
        };
        let (a, b) = run().unwrap();
        assert_ne!(a.0, first.0);
        assert_ne!(a.0, b.0);
        assert!(a.0.starts_with(&program.bin) && b.0.starts_with(&program.bin));
        assert_eq!(a.1.fingerprint, ctx.vault.pan_fingerprint(&a.0));
        // A second run of the same closure meets the same candidates.
        let (a2, b2) = run().unwrap();
        assert_eq!((a2.0, b2.0), (a.0, b.0));
    }
}
