//! Use cases, one file each. Each takes the [`Ctx`] and plain values, and returns domain values,
//! the bodies of [`wire`](crate::wire) (a stored response is its wire body, written with the
//! entities it shows), or a [`DomainError`](crate::domain::error::DomainError); none knows
//! about HTTP, OpenAPI or sled.

pub mod attach_wallets;
pub mod auth;
pub mod baas_reads;
pub mod baas_view;
pub mod browse;
pub mod cards;
pub mod deliveries;
pub mod device_lookup;
pub mod enroll;
pub mod events;
pub mod faults;
pub mod fetch_wallets;
pub mod idempotency;
pub mod kits;
pub mod ofac_review;
pub mod outbox;
pub mod render_memo;
pub mod sandbox_cards;
pub mod startup;
pub mod store_figures;
mod upgrade;
pub mod webhooks;

use crate::config::Config;
use crate::screening::SdnList;
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
    /// The OFAC SDN list enrollments are screened against.
    pub sdn: Arc<SdnList>,
    /// Bearer-token grants already read from the store.
    pub tokens: Arc<auth::TokenCache>,
    /// Response bodies of reads, rendered once per version of what they show.
    pub renders: Arc<render_memo::Renders>,
    /// The HTTP client of webhook deliveries (pooled; cheap to clone).
    pub sender: crate::webhooks::Sender,
}

impl Ctx {
    /// Opens the store of `config` and builds the context.
    pub fn open(config: Config) -> Result<Ctx, Box<dyn std::error::Error>> {
        let vault = Vault::from_hex_key(&config.pan_key())?;
        let sdn = SdnList::load(&config.screening.sdn_file)?;
        log::info!(
            "screening against {} ({} individuals, {} names)",
            sdn.version(),
            sdn.individuals(),
            sdn.names()
        );
        let store = Store::open_config(&config.storage)?;
        let faults = Arc::new(faults::Faults::new(&store));
        let sender = crate::webhooks::Sender::with_pool(
            config.webhooks.timeout_ms,
            config.webhooks.max_in_flight,
        );
        Ok(Ctx {
            sender,
            config: Arc::new(config),
            store,
            vault: Arc::new(vault),
            faults,
            sdn: Arc::new(sdn),
            tokens: Arc::default(),
            renders: Arc::default(),
        })
    }
}
