//! One table per dialect: failure -> (HTTP status, the dialect's code, its message).
//!
//! Handlers return `Result<_, BaasError | DeviceError | SandboxError>`; these types render the
//! dialect's envelope. Nothing else builds an error body. A failure is a domain error (from the
//! use cases) or a [`Transport`] refusal of the HTTP layer itself. Every table matches every
//! variant by name (no catch-all arm), so a new variant does not compile until each dialect has
//! its answer; variants that cannot reach a dialect are listed in that table's last arm.
//!
//! Here: the shared [`Failure`] and [`Transport`] types, the `Retry-After` rule and the response
//! plumbing; each dialect's table and error type is in its own file (`baas.rs`, `device.rs`,
//! `sandbox.rs`).

use crate::domain::error::DomainError as E;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

/// Refusals of the HTTP layer, before or around a use case: they are no domain errors.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    /// A body over `max_body_bytes`.
    PayloadTooLarge,
    /// A known path asked with a method it does not have.
    MethodNotAllowed,
    /// A path no route matches (a trailing slash, `//`, an unknown segment): 404.
    NoSuchRoute,
    /// A body not sent in full within `body_timeout_ms`.
    BodyTimeout,
    /// The client spent its rate limit; it may try again after this many seconds.
    TooManyRequests { retry_after_secs: u64 },
    /// More than one `Authorization` header: refused rather than picking one.
    DuplicateAuthorization,
}

/// What a dialect answers for: a domain error or a transport refusal.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    Domain(E),
    Transport(Transport),
}

impl From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Domain(e)
    }
}

impl From<Transport> for Failure {
    fn from(t: Transport) -> Self {
        Failure::Transport(t)
    }
}

impl Failure {
    /// Seconds for a `Retry-After` header, for the failures that have one.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Failure::Transport(Transport::TooManyRequests { retry_after_secs }) => {
                Some(*retry_after_secs)
            }
            // The store may write again a moment later (contract section 7).
            Failure::Domain(E::Storage(_) | E::StoreBusy) => Some(1),
            Failure::Domain(_) | Failure::Transport(_) => None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Domain(e) => write!(f, "{e}"),
            Failure::Transport(t) => write!(f, "{t:?}"),
        }
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn log_internal(f: &Failure) {
    if let Failure::Domain(E::Storage(why)) = f {
        log::error!("storage failure: {why}");
    }
}

/// A response builder for `st`, with `Retry-After` when the failure has one.
fn builder(st: u16, f: &Failure) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::build(status(st));
    if let Some(secs) = f.retry_after() {
        b.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
    }
    b
}

/// `From` a domain error, a transport refusal and a failure, for a dialect's error type.
macro_rules! dialect_error_from {
    ($t:ident, $wrap:expr) => {
        impl From<Failure> for $t {
            fn from(f: Failure) -> Self {
                $wrap(f)
            }
        }
        impl From<E> for $t {
            fn from(e: E) -> Self {
                $wrap(Failure::Domain(e))
            }
        }
        impl From<Transport> for $t {
            fn from(t: Transport) -> Self {
                $wrap(Failure::Transport(t))
            }
        }
    };
}

mod baas;
mod device;
mod sandbox;

pub use baas::{baas_row, BaasError};
pub use device::{device_row, DeviceError};
pub use sandbox::{sandbox_row, SandboxError};

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;

    /// Contract section 7: a store that cannot write answers 503 with `Retry-After` in every
    /// dialect, never 500.
    #[test]
    fn a_storage_failure_is_503_with_retry_after_in_every_dialect() {
        let e = || E::Storage("disk full".into());
        let answers = [
            BaasError::from(e()).error_response(),
            DeviceError::from(e()).error_response(),
            SandboxError::from(e()).error_response(),
        ];
        for r in &answers {
            assert_eq!(r.status().as_u16(), 503);
            assert_eq!(r.headers().get("retry-after").unwrap(), "1");
        }
        assert_eq!(
            baas_row(&e().into()),
            (503, 503, 0, "Storage unavailable".to_string())
        );
        assert_eq!(device_row(&e().into()).1, "SERVICE_UNAVAILABLE");
        assert_eq!(sandbox_row(&e().into()).1, "SERVICE_UNAVAILABLE");
        // The reason stays in the log, never in the answer.
        assert!(!baas_row(&e().into()).3.contains("disk"));
        // A store that takes no writes for now answers the same.
        let busy = Failure::from(E::StoreBusy);
        assert_eq!(baas_row(&busy), baas_row(&e().into()));
        assert_eq!(busy.retry_after(), Some(1));
    }

    #[test]
    fn transport_refusals_keep_their_statuses() {
        let t = Transport::TooManyRequests {
            retry_after_secs: 7,
        };
        let r = DeviceError::from(t).error_response();
        assert_eq!(r.status().as_u16(), 429);
        assert_eq!(r.headers().get("retry-after").unwrap(), "7");
        for (t, st) in [
            (Transport::PayloadTooLarge, 413),
            (Transport::MethodNotAllowed, 405),
            (Transport::NoSuchRoute, 404),
            (Transport::BodyTimeout, 408),
            (Transport::DuplicateAuthorization, 400),
        ] {
            let f = Failure::from(t);
            assert_eq!(baas_row(&f).0, st);
            assert_eq!(device_row(&f).0, st);
            assert_eq!(sandbox_row(&f).0, st);
        }
    }
}
