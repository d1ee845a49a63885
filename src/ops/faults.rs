//! Sandbox faults: switches that make a downstream step fail, to rehearse error paths.
//! Kept in memory only: a restart clears them.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct Faults {
    package_lookup: AtomicBool,
    upgrade_provider: AtomicBool,
    wallet_create: AtomicBool,
    wallet_link: AtomicBool,
}

/// The switches as the sandbox API shows and takes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSwitches {
    #[serde(default)]
    pub package_lookup: bool,
    #[serde(default)]
    pub upgrade_provider: bool,
    #[serde(default)]
    pub wallet_create: bool,
    #[serde(default)]
    pub wallet_link: bool,
}

impl Faults {
    pub fn get(&self) -> FaultSwitches {
        FaultSwitches {
            package_lookup: self.package_lookup.load(Ordering::SeqCst),
            upgrade_provider: self.upgrade_provider.load(Ordering::SeqCst),
            wallet_create: self.wallet_create.load(Ordering::SeqCst),
            wallet_link: self.wallet_link.load(Ordering::SeqCst),
        }
    }

    pub fn set(&self, s: FaultSwitches) {
        self.package_lookup
            .store(s.package_lookup, Ordering::SeqCst);
        self.upgrade_provider
            .store(s.upgrade_provider, Ordering::SeqCst);
        self.wallet_create.store(s.wallet_create, Ordering::SeqCst);
        self.wallet_link.store(s.wallet_link, Ordering::SeqCst);
    }
}
