//! The mechanics of webhook delivery (contract section 8), free of the store and of HTTP routes:
//! Standard Webhooks signatures and secrets ([`signature`]), one delivery attempt over HTTP
//! ([`sender`]), when a failed delivery is tried again ([`schedule`]) and which endpoint URLs a
//! client may register ([`hosts`]). The outbox, the endpoint API and the delivery loop build on
//! these.

pub mod hosts;
pub mod schedule;
pub mod sender;
pub mod signature;

pub use hosts::check_url;
pub use schedule::RetrySchedule;
pub use sender::{AttemptOutcome, Sender};
pub use signature::{sign, signature_header, Secret};
