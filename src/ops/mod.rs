//! Use cases, one file each. Each takes the [`Ctx`] and plain values, and returns domain values
//! or a [`DomainError`](crate::domain::error::DomainError); none knows about HTTP or sled.

pub mod attach_wallets;
pub mod auth;
pub mod cards;
pub mod device_lookup;
pub mod faults;
pub mod fetch_wallets;
pub mod inflight;
pub mod sandbox_cards;
pub mod startup;

use crate::config::Config;
use crate::store::Store;
use crate::vault::Vault;
use std::sync::Arc;

/// Everything a use case may touch.
#[derive(Clone)]
pub struct Ctx {
    pub config: Arc<Config>,
    pub store: Store,
    pub vault: Arc<Vault>,
    pub faults: Arc<faults::Faults>,
    pub inflight: Arc<inflight::InFlight>,
}

impl Ctx {
    /// Opens the store of `config` and builds the context.
    pub fn open(config: Config) -> Result<Ctx, Box<dyn std::error::Error>> {
        let vault = Vault::from_hex_key(&config.pan_key())?;
        let store = Store::open(&config.storage.data_dir, config.storage.durability)?;
        Ok(Ctx {
            config: Arc::new(config),
            store,
            vault: Arc::new(vault),
            faults: Arc::default(),
            inflight: Arc::default(),
        })
    }
}
