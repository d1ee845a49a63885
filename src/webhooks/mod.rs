//! The mechanics of webhook delivery (contract section 8), free of the store and of HTTP routes:
//! Standard Webhooks signatures and secrets ([`signature`]), one delivery attempt over HTTP
//! ([`sender`]), when a failed delivery is tried again ([`schedule`]) and which endpoint URLs a
//! client may register ([`hosts`]); and the delivery loop that uses them ([`worker`]), with the
//! use cases of `crate::ops::deliveries` for everything it reads and writes.

pub mod hosts;
pub mod schedule;
pub mod sender;
pub mod signature;
pub mod worker;

pub use hosts::check_url;
pub use schedule::RetrySchedule;
pub use sender::{AttemptOutcome, Sender};
pub use signature::{sign, signature_header, Secret};
