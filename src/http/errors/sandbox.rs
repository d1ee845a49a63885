//! The sandbox API's table: RFC 9457 problem details (`application/problem+json`).

use super::{builder, log_internal, status, Failure, Transport};
use crate::domain::error::DomainError as E;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// `(HTTP status, code, title, detail)` of the sandbox API (RFC 9457 problem details).
pub fn sandbox_row(f: &Failure) -> (u16, &'static str, &'static str, String) {
    let e = match f {
        Failure::Domain(e) => e,
        Failure::Transport(t) => return sandbox_transport_row(t),
    };
    match e {
        E::NotFound(what) => (404, "NOT_FOUND", "Not Found", format!("no such {what}")),
        E::Conflict(why) => (409, "CONFLICT", "Conflict", why.clone()),
        E::Invalid(why) | E::MalformedBody(why) => {
            (400, "INVALID_REQUEST", "Bad Request", why.clone())
        }
        E::ProgramUnknown => (404, "NOT_FOUND", "Not Found", "no such program".to_string()),
        E::ProductUnknown => (
            400,
            "INVALID_REQUEST",
            "Bad Request",
            "productCode is not a product of this program".to_string(),
        ),
        E::Unauthorized | E::OutOfScope => (
            401,
            "UNAUTHORIZED",
            "Unauthorized",
            "missing, unknown or expired credentials, or a client without the sandbox scope"
                .to_string(),
        ),
        E::Storage(_) | E::StoreBusy => (
            503,
            "SERVICE_UNAVAILABLE",
            "Service Unavailable",
            "storage unavailable; try again after the Retry-After seconds".to_string(),
        ),
        // BaaS and device failures: no sandbox use case returns them.
        E::RequestIdInvalid
        | E::AccountIdentifierInvalid
        | E::Required(_)
        | E::TooLong(_)
        | E::BadCharacters(_)
        | E::CardNumberInProfile(_)
        | E::BadState
        | E::BadZip
        | E::BadSsn
        | E::NameScript(_)
        | E::BadEmail
        | E::BadPhone
        | E::TooManyEntries
        | E::BadAddressType
        | E::BadPhoneType
        | E::BadTermsIdentifier
        | E::BadDateOfBirth
        | E::SsnAndSuffix
        | E::DuplicateAddressType
        | E::MultipleDefaultAddresses
        | E::NoHomeAddress
        | E::InstantIssueTypeMissing
        | E::InstantIssueTypeInvalid
        | E::MappingIdMissing
        | E::MappingIdInvalid
        | E::MappingIdHoldsCardNumber
        | E::CardAliasInvalid
        | E::InstantIssueNotSupported
        | E::InstantIssuePhysicalNotSupported
        | E::PackageLookup
        | E::PackageNotFound
        | E::PackageInUse
        | E::TermsNotAccepted
        | E::SsnHoldsAccount
        | E::AccountNotFound
        | E::ProfileChanged
        | E::AccountNotHealthy
        | E::AlreadyUpgraded
        | E::AccountNotMatched
        | E::UpgradeNotAllowed
        | E::UpgradeProvider
        | E::Locked
        | E::RequestIdReused
        | E::UserNotFound
        | E::EnrollmentNotFound
        | E::MissingDeviceKey
        | E::InvalidLength(_)
        | E::WalletPlanMandatory
        | E::DuplicateWalletPlans
        | E::TooManyWallets
        | E::InvalidAlias
        | E::DuplicateAlias
        | E::DeviceNotFound
        | E::InvalidDevice
        | E::DeviceFinalStatus
        | E::NotGpr
        | E::PlanNotAttached
        | E::InvalidPromotion
        | E::ExistingPlan
        | E::SameCharacteristic
        | E::WalletCreate
        | E::WalletLink => (
            500,
            "INTERNAL_ERROR",
            "Internal Server Error",
            "internal error".to_string(),
        ),
    }
}

fn sandbox_transport_row(t: &Transport) -> (u16, &'static str, &'static str, String) {
    match t {
        Transport::DuplicateAuthorization => (
            400,
            "INVALID_REQUEST",
            "Bad Request",
            "exactly one Authorization header is allowed".to_string(),
        ),
        Transport::PayloadTooLarge => (
            413,
            "PAYLOAD_TOO_LARGE",
            "Payload Too Large",
            "request body is larger than max_body_bytes".to_string(),
        ),
        Transport::MethodNotAllowed => (
            405,
            "METHOD_NOT_ALLOWED",
            "Method Not Allowed",
            "the path does not take this method; see Allow".to_string(),
        ),
        Transport::NoSuchRoute => (
            404,
            "NOT_FOUND",
            "Not Found",
            "no such endpoint".to_string(),
        ),
        Transport::BodyTimeout => (
            408,
            "REQUEST_TIMEOUT",
            "Request Timeout",
            "request body was not received in time".to_string(),
        ),
        Transport::TooManyRequests { .. } => (
            429,
            "TOO_MANY_REQUESTS",
            "Too Many Requests",
            "too many requests; try again after the Retry-After seconds".to_string(),
        ),
    }
}

/// A sandbox failure as `application/problem+json`.
#[derive(Debug)]
pub struct SandboxError(pub Failure);

dialect_error_from!(SandboxError, SandboxError);

impl std::fmt::Display for SandboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl ResponseError for SandboxError {
    fn status_code(&self) -> StatusCode {
        status(sandbox_row(&self.0).0)
    }
    fn error_response(&self) -> HttpResponse {
        log_internal(&self.0);
        let (st, code, title, detail) = sandbox_row(&self.0);
        builder(st, &self.0)
            .content_type("application/problem+json")
            .body(
                json!({"type": "about:blank", "title": title, "status": st, "detail": detail, "code": code})
                    .to_string(),
            )
    }
}
