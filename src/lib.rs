//! issuebox: a single-binary card-issuing server.
//!
//! Requests come in through a dialect ([`http`]), whose bodies are data in [`wire`], meet one
//! [`domain`] through one use case each ([`ops`]), and leave through one [`store`]. See
//! `README.md` for the tour.

pub mod config;
pub mod console;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod screening;
pub mod server;
pub mod store;
pub mod tls;
pub mod vault;
pub mod webhooks;
pub mod wire;
