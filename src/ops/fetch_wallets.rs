//! `POST /deviceapi/apis/v1/services/wallet/fetchwallet`: a card and every wallet it holds.
//!
//! Card resolution answers as rows 1-5 and 13-16 of the device table (an optional
//! `programCode` narrows it, as in attach); the card's own status does not matter here, so a
//! REPLACED card can still be read by its identifier.

use super::device_lookup::{check_len, DeviceKeys, Lookup};
use super::Ctx;
use crate::config::ClientConfig;
use crate::domain::error::{DeviceField, DomainResult};
use crate::domain::model::{Card, Wallet};
use crate::store::Reader;

/// A card and its wallets in creation order, every status.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub card: Card,
    pub wallets: Vec<Wallet>,
}

pub fn fetch_wallets(
    ctx: &Ctx,
    client: &ClientConfig,
    keys: &DeviceKeys,
    program_code: Option<&str>,
) -> DomainResult<Fetched> {
    keys.check()?;
    check_len(program_code, 1, 10, DeviceField::ProgramCode)?;
    let lookup = Lookup::new(&ctx.vault, &ctx.config, keys, client, program_code, None);
    let card = lookup.resolve(&ctx.store)?.card;
    let wallets = ctx.store.wallets_of(&card.id)?;
    Ok(Fetched { card, wallets })
}
