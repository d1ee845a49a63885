//! Sandbox faults: switches that make a downstream step fail, to rehearse error paths.
//! Kept in memory only: a restart clears them.

use crate::wire::sandbox::FaultSwitches;
use std::sync::atomic::{AtomicBool, Ordering};

/// The switches in force. A snapshot of them ([`Faults::get`]) is the sandbox's wire body,
/// [`FaultSwitches`].
#[derive(Debug, Default)]
pub struct Faults {
    package_lookup: AtomicBool,
    upgrade_provider: AtomicBool,
    wallet_create: AtomicBool,
    wallet_link: AtomicBool,
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
