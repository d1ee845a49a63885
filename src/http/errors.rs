//! One table per dialect: failure -> (HTTP status, the dialect's code, its message).
//!
//! Handlers return `Result<_, BaasError | DeviceError | SandboxError>`; these types render the
//! dialect's envelope. Nothing else builds an error body. A failure is a domain error (from the
//! use cases) or a [`Transport`] refusal of the HTTP layer itself. Every table matches every
//! variant by name (no catch-all arm), so a new variant does not compile until each dialect has
//! its answer; variants that cannot reach a dialect are listed in that table's last arm.

use crate::domain::error::{DeviceField, DomainError as E};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

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

/// `(HTTP status, code, subCode, description)` of the BaaS dialect.
pub fn baas_row(f: &Failure) -> (u16, u32, u32, String) {
    let s = |x: &str| x.to_string();
    match f {
        Failure::Domain(e) => baas_domain_row(e),
        Failure::Transport(t) => match t {
            Transport::DuplicateAuthorization => (
                400,
                100,
                0,
                s("Exactly one Authorization header is allowed"),
            ),
            Transport::PayloadTooLarge => {
                (413, 413, 0, s("Request body is larger than max_body_bytes"))
            }
            Transport::BodyTimeout => (408, 408, 0, s("Request body was not received in time")),
            Transport::MethodNotAllowed => (405, 405, 0, s("Method not allowed")),
            Transport::NoSuchRoute => (404, 404, 0, s("No such endpoint")),
            Transport::TooManyRequests { .. } => (429, 429, 0, s("Too many requests")),
        },
    }
}

fn baas_domain_row(e: &E) -> (u16, u32, u32, String) {
    let s = |x: &str| x.to_string();
    match e {
        E::RequestIdInvalid => (
            400,
            110,
            0,
            s("X-GD-RequestId header is required and must be a UUID"),
        ),
        E::ProgramUnknown => (
            400,
            1000,
            0,
            s("The program code in the API path is unknown."),
        ),
        E::MalformedBody(why) => (400, 100, 0, why.clone()),
        E::AccountIdentifierInvalid => (400, 350, 0, s("accountIdentifier is invalid")),
        E::Required(path) => (400, 200, 0, format!("{path} is required.")),
        E::TooLong(f) => {
            let (max, sub) = f.rule();
            (
                400,
                400,
                sub,
                format!("{} must be at most {max} characters", f.path()),
            )
        }
        E::BadCharacters(f) => (
            400,
            640,
            f.rule().1,
            format!(
                "{} may contain only letters, digits, space and '-.,#/",
                f.path()
            ),
        ),
        E::CardNumberInProfile(f) => (
            400,
            640,
            f.rule().1,
            format!("{} must not hold a card number", f.path()),
        ),
        E::NameScript(f) => (
            400,
            640,
            f.rule().1,
            format!(
                "{} must hold letters, all of one script (Latin with accents is one script)",
                f.path()
            ),
        ),
        E::BadEmail => (
            400,
            640,
            511,
            s("userData.email.emailAddress must be an email address of 3-254 characters"),
        ),
        E::BadPhone => (
            400,
            640,
            512,
            s("userData.phoneNumbers.number must be an optional + and 7-15 digits"),
        ),
        E::BadAddressType => (
            400,
            640,
            513,
            s("userData.profileData.addresses.type must be 1-20 characters of A-Z, a-z, 0-9, _ and -"),
        ),
        E::BadPhoneType => (
            400,
            640,
            514,
            s("userData.phoneNumbers.type must be 1-20 characters of A-Z, a-z, 0-9, _ and -"),
        ),
        E::BadTermsIdentifier => (
            400,
            640,
            515,
            s("termsAcceptances.termsIdentifier must be 1-64 characters and not a card number"),
        ),
        E::TooManyEntries => (
            400,
            1020,
            1,
            s("At most 5 addresses, 5 phone numbers and 5 terms acceptances are allowed"),
        ),
        E::BadState => (
            400,
            640,
            507,
            s("userData.profileData.addresses.state must be two letters"),
        ),
        E::BadZip => (
            400,
            640,
            508,
            s("userData.profileData.addresses.zipCode must be 5 digits"),
        ),
        E::BadSsn => (
            400,
            640,
            509,
            s("userData.identifyingData.ssn must be 9 digits"),
        ),
        E::CardAliasInvalid => (
            400,
            640,
            510,
            s("cardAlias must be 1-24 characters and must not be a card number"),
        ),
        E::BadDateOfBirth => (
            400,
            700,
            0,
            s("identifyingData.dateOfBirth must be in the form YYYY-MM-DD"),
        ),
        E::SsnAndSuffix => (400, 630, 0, s("Cannot pass both last4SSN & SSN")),
        E::DuplicateAddressType => (400, 1020, 0, s("Duplicated type is not allowed")),
        E::MultipleDefaultAddresses => (400, 1040, 0, s("Only one address may be the default")),
        E::NoHomeAddress => (400, 1042, 0, s("Home address is missing")),
        E::InstantIssueTypeMissing => (
            400,
            600,
            6181,
            s("If instantIssue object is provided then type must be provided."),
        ),
        E::InstantIssueTypeInvalid => (400, 600, 6182, s("instantIssue.type must be CBS")),
        E::MappingIdMissing => (
            400,
            600,
            6183,
            s("If instantIssue object is provided then mappingIdentifier must be provided"),
        ),
        E::MappingIdInvalid => (
            400,
            600,
            6184,
            s("instantIssue.mappingIdentifier must be 1-64 characters of A-Z, a-z, 0-9, _ and -"),
        ),
        E::MappingIdHoldsCardNumber => (
            400,
            600,
            6184,
            s("instantIssue.mappingIdentifier must not hold a card number"),
        ),
        E::TermsNotAccepted => (400, 800, 0, s("Terms must be accepted")),
        E::ProductUnknown => (
            400,
            1001,
            0,
            s("productCode is not a product of this program"),
        ),
        E::InstantIssueNotSupported => (
            400,
            5030,
            5031,
            s("Product not support Instant Issue enrollment"),
        ),
        E::InstantIssuePhysicalNotSupported => (
            400,
            5030,
            5032,
            s("Product does not support requesting physical card during instant issue enrollment"),
        ),
        E::PackageLookup => (
            400,
            5020,
            5021,
            s("Connection Issue looking up package info"),
        ),
        E::PackageNotFound => (
            400,
            5020,
            5022,
            s("No package is associated with the provided identifier"),
        ),
        E::PackageInUse => (
            400,
            5020,
            5023,
            s("The package associated with the identifier is being already used"),
        ),
        E::SsnHoldsAccount => (
            400,
            4010,
            0,
            s("The user already holds an open account of this product"),
        ),
        E::AccountNotFound => (400, 10, 0, s("Account not found")),
        E::ProfileChanged => (400, 4502, 0, s("User profile can't changed")),
        E::AccountNotHealthy => (400, 4503, 0, s("Account status is not healthy")),
        E::AlreadyUpgraded => (400, 4504, 0, s("Account already upgrade success")),
        E::AccountNotMatched => (400, 4505, 0, s("Account not matched")),
        E::UpgradeNotAllowed => (
            400,
            4506,
            0,
            s("Target product code not allowed for upgrade"),
        ),
        E::UpgradeProvider => (
            400,
            5030,
            0,
            s("A downstream provider did not return success for Upgrade Account"),
        ),
        E::Locked => (409, 4091, 0, s("API is locked")),
        E::RequestIdReused => (
            409,
            4092,
            0,
            s("requestId was already used with a different request"),
        ),
        E::UserNotFound => (404, 20, 0, s("User not found")),
        E::EnrollmentNotFound => (404, 30, 0, s("Enrollment not found")),
        E::Unauthorized => (401, 401, 0, s("Unauthorized")),
        E::OutOfScope => (401, 401, 0, s("out of credential scopes")),
        E::Storage(_) | E::StoreBusy => (503, 503, 0, s("Storage unavailable")),
        // Card and sandbox failures: no BaaS use case returns them.
        E::MissingDeviceKey
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
        | E::WalletLink
        | E::NotFound(_)
        | E::Conflict(_)
        | E::Invalid(_) => (500, 500, 0, s("Internal error")),
    }
}

/// `(HTTP status, code, message)` of the device dialect; messages exactly as the contract.
pub fn device_row(f: &Failure) -> (u16, &'static str, String) {
    let s = |x: &str| x.to_string();
    let e = match f {
        Failure::Domain(e) => e,
        Failure::Transport(t) => {
            return match t {
                Transport::DuplicateAuthorization => (
                    400,
                    "INVALID_REQUEST",
                    s("Exactly one Authorization header is allowed."),
                ),
                Transport::PayloadTooLarge => (
                    413,
                    "PAYLOAD_TOO_LARGE",
                    s("Request body is larger than max_body_bytes."),
                ),
                Transport::BodyTimeout => (
                    408,
                    "REQUEST_TIMEOUT",
                    s("Request body was not received in time."),
                ),
                Transport::MethodNotAllowed => {
                    (405, "METHOD_NOT_ALLOWED", s("Method not allowed."))
                }
                Transport::NoSuchRoute => (404, "NOT_FOUND", s("No such endpoint.")),
                Transport::TooManyRequests { .. } => (
                    429,
                    "TOO_MANY_REQUESTS",
                    s("Too many requests; try again after the Retry-After seconds."),
                ),
            }
        }
    };
    match e {
        E::MissingDeviceKey => (
            400,
            "MISSING_REQUIRED_FIELD",
            s("Missing Required Field identifier or packID or alias or number."),
        ),
        E::InvalidLength(f) => (
            400,
            "INVALID_FIELD_LENGTH",
            s(match f {
                DeviceField::Number => "Device Number size must be between 15 and 19.",
                DeviceField::Identifier => "Id size must be between 14 and 36.",
                DeviceField::PackId => "Card Pack ID size must be between 10 and 24.",
                DeviceField::Alias => "Alias size must be between 1 and 24.",
                DeviceField::ProgramCode => "Program Code size must be between 1 and 10.",
                DeviceField::DevicePlanCode => "Device Plan Code size must be between 1 and 10.",
                DeviceField::PlanCode => "Plan Code Code size must be between 1 and 10.",
                DeviceField::PromotionCode => "Promotion Code size must be between 1 and 10.",
            }),
        ),
        E::WalletPlanMandatory => (400, "GPRW005", s("Wallet plan 1 Field is mandatory.")),
        E::DuplicateWalletPlans => (400, "GPRW006", s("Duplicate wallet plans present in request.")),
        E::TooManyWallets => (
            400,
            "GPRW010",
            s("Maximum 15 wallets other than Closed status are allowed."),
        ),
        E::InvalidAlias => (400, "GPR100", s("Invalid Card number alias")),
        E::DuplicateAlias => (400, "GPR101", s("Duplicate CNA found")),
        E::DeviceNotFound => (400, "GPRW001", s("Device not found")),
        E::InvalidDevice => (400, "GPR102", s("Invalid id/card pack id/device/CAN")),
        E::DeviceFinalStatus => (400, "GPR104", s("Device is in Cancelled/Replaced/Upgrade Status")),
        E::NotGpr => (400, "GPRW003", s("Service request allowed only for GPR program.")),
        E::PlanNotAttached => (400, "GPRW007", s("Wallet plan not attached to program.")),
        E::InvalidPromotion => (400, "GPRW008", s("Invalid/Expired promotion plan.")),
        E::ExistingPlan => (
            400,
            "GPRW009",
            s("Existing wallet plan cannot be used for generating new wallet."),
        ),
        E::SameCharacteristic => (
            400,
            "GPRW011",
            s("New wallet under wallet plan can not be created as same characteristic wallet is already attached."),
        ),
        E::WalletCreate => (400, "GPRW013", s("Error Creating GPR Wallet")),
        E::WalletLink => (400, "GPRW014", s("Error while creating device wallet link.")),
        E::MalformedBody(why) => (400, "INVALID_REQUEST", why.clone()),
        E::Unauthorized | E::OutOfScope => (401, "UNAUTHORIZED", s("We couldn't recognize you.")),
        E::Storage(_) | E::StoreBusy => (
            503,
            "SERVICE_UNAVAILABLE",
            s("Storage unavailable; try again after the Retry-After seconds."),
        ),
        // BaaS and sandbox failures: no device use case returns them.
        E::RequestIdInvalid
        | E::ProgramUnknown
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
        | E::ProductUnknown
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
        | E::NotFound(_)
        | E::Conflict(_)
        | E::Invalid(_) => (500, "INTERNAL_ERROR", s("Internal error.")),
    }
}

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

/// A BaaS failure; `status` overrides the table's HTTP status (reads answer 404 for a missing
/// account where enrollment answers 400).
#[derive(Debug)]
pub struct BaasError {
    pub error: Failure,
    pub status: Option<u16>,
}

dialect_error_from!(BaasError, |error| BaasError {
    error,
    status: None
});

impl std::fmt::Display for BaasError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl BaasError {
    /// The envelope of a BaaS error: `{"responseDetails":[{code, subCode, description}]}`.
    pub fn body(&self) -> (u16, serde_json::Value) {
        let (st, code, sub, desc) = baas_row(&self.error);
        (
            self.status.unwrap_or(st),
            json!({"responseDetails": [{"code": code, "subCode": sub, "description": desc}]}),
        )
    }
}

impl ResponseError for BaasError {
    fn status_code(&self) -> StatusCode {
        status(self.body().0)
    }
    fn error_response(&self) -> HttpResponse {
        log_internal(&self.error);
        let (st, body) = self.body();
        builder(st, &self.error).json(body)
    }
}

/// A device-dialect failure: `{"code","message"}`.
#[derive(Debug)]
pub struct DeviceError(pub Failure);

dialect_error_from!(DeviceError, DeviceError);

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl ResponseError for DeviceError {
    fn status_code(&self) -> StatusCode {
        status(device_row(&self.0).0)
    }
    fn error_response(&self) -> HttpResponse {
        log_internal(&self.0);
        let (st, code, message) = device_row(&self.0);
        builder(st, &self.0).json(json!({"code": code, "message": message}))
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

#[cfg(test)]
mod tests {
    use super::*;

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
