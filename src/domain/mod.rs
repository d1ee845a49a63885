//! The model both dialects share and the rules over it: no HTTP, no sled.

pub mod card_number;
pub mod catalog;
pub mod enrollment;
pub mod error;
pub mod event;
pub mod ids;
pub mod json;
pub mod model;
pub mod rules;
pub mod tags;
pub mod webhook;
