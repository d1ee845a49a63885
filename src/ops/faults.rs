//! Sandbox faults: switches that make a downstream step fail, to rehearse error paths.
//! On the embedded engine they live in the process's memory (a restart clears them); on a store
//! shared by several processes they live in the store, so a switch set through one process
//! applies to all.

use crate::domain::error::DomainResult;
use crate::store::Store;
use crate::wire::sandbox::FaultSwitches;
use std::sync::atomic::{AtomicBool, Ordering};

/// The switches in force. A snapshot of them ([`Faults::get`]) is the sandbox's wire body,
/// [`FaultSwitches`].
#[derive(Default)]
pub struct Faults {
    /// The store every process shares, when it is one.
    shared: Option<Store>,
    package_lookup: AtomicBool,
    upgrade_provider: AtomicBool,
    wallet_create: AtomicBool,
    wallet_link: AtomicBool,
}

impl Faults {
    /// Switches for `store`: kept in it when it is shared, else in this process.
    pub fn new(store: &Store) -> Faults {
        Faults {
            shared: store.is_shared().then(|| store.clone()),
            ..Faults::default()
        }
    }

    /// The switches in force. On a shared store, a failed read falls back to the switches last
    /// set through this process (faults are a sandbox rehearsal, never worth a 503).
    pub fn get(&self) -> FaultSwitches {
        if let Some(store) = &self.shared {
            match store.fault_switches() {
                Ok(Some(rows)) => {
                    let on = |name: &str| rows.iter().any(|(n, v)| n == name && *v);
                    return FaultSwitches {
                        package_lookup: on("package_lookup"),
                        upgrade_provider: on("upgrade_provider"),
                        wallet_create: on("wallet_create"),
                        wallet_link: on("wallet_link"),
                    };
                }
                Ok(None) => {}
                Err(e) => log::warn!("fault switches unreadable, using this process's: {e}"),
            }
        }
        self.local()
    }

    fn local(&self) -> FaultSwitches {
        FaultSwitches {
            package_lookup: self.package_lookup.load(Ordering::SeqCst),
            upgrade_provider: self.upgrade_provider.load(Ordering::SeqCst),
            wallet_create: self.wallet_create.load(Ordering::SeqCst),
            wallet_link: self.wallet_link.load(Ordering::SeqCst),
        }
    }

    /// Sets the switches, in the shared store too when there is one.
    pub fn set(&self, s: FaultSwitches) -> DomainResult<()> {
        if let Some(store) = &self.shared {
            store.set_fault_switches(&[
                ("package_lookup", s.package_lookup),
                ("upgrade_provider", s.upgrade_provider),
                ("wallet_create", s.wallet_create),
                ("wallet_link", s.wallet_link),
            ])?;
        }
        self.package_lookup
            .store(s.package_lookup, Ordering::SeqCst);
        self.upgrade_provider
            .store(s.upgrade_provider, Ordering::SeqCst);
        self.wallet_create.store(s.wallet_create, Ordering::SeqCst);
        self.wallet_link.store(s.wallet_link, Ordering::SeqCst);
        Ok(())
    }
}
