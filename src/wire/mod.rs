//! The dialects' bodies as data: the serde types of requests and responses with their OpenAPI
//! schemas, the translation of a request into the domain's values, and the building of a view
//! from entities. No HTTP (no actix), no store, no configuration.
//!
//! [`http`](crate::http) reads and writes these bodies. [`ops`](crate::ops) may use them too,
//! for one reason: the stored response of a BaaS request is its wire body
//! ([`baas_view::Outcome`]), and it is written in the same atomic write as the entities it
//! shows, so the use case builds it. [`domain`](crate::domain) knows nothing of them.

pub mod baas_view;
pub mod device_view;
pub mod enrollment;
pub mod enrollment_check;
pub mod events;
pub mod sandbox;
pub mod webhooks;
