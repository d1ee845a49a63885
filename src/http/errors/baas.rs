//! The BaaS dialect's table: `{"responseDetails":[{code, subCode, description}]}`.
//!
//! A domain error is answered by the table of its family (the request's shape, the profile's
//! fields, the product and its instant issue, the rules of the stored state), or by
//! [`baas_domain_row`] itself (credentials, storage, and the variants no BaaS use case returns).
//! The families are patterns (the macros below): the dispatch matches them, and each family's
//! table lists the other families in its last arm, so every match names every variant and a new
//! one does not compile until it has a family and a row.

use super::{builder, log_internal, status, Failure, Transport};
use crate::domain::error::DomainError as E;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// `(HTTP status, code, subCode, description)`.
type Row = (u16, u32, u32, String);

fn s(x: &str) -> String {
    x.to_string()
}

/// The answer to a variant sent to another family's table (which [`baas_domain_row`] never
/// does), and to the failures no BaaS use case returns.
fn internal_row() -> Row {
    (500, 500, 0, s("Internal error"))
}

/// The request's shape: its headers, path and body as a whole.
macro_rules! request_shape {
    () => {
        E::RequestIdInvalid
            | E::ProgramUnknown
            | E::MalformedBody(_)
            | E::AccountIdentifierInvalid
            | E::Required(_)
    };
}

/// The profile's fields (names, address, contact, identity, terms, card alias) and their lists.
macro_rules! profile_fields {
    () => {
        E::TooLong(_)
            | E::BadCharacters(_)
            | E::CardNumberInProfile(_)
            | E::NameScript(_)
            | E::BadEmail
            | E::BadPhone
            | E::BadAddressType
            | E::BadPhoneType
            | E::BadTermsIdentifier
            | E::TooManyEntries
            | E::BadState
            | E::BadZip
            | E::BadSsn
            | E::CardAliasInvalid
            | E::BadDateOfBirth
            | E::SsnAndSuffix
            | E::DuplicateAddressType
            | E::MultipleDefaultAddresses
            | E::NoHomeAddress
            | E::TermsNotAccepted
    };
}

/// The product asked for and its instant issue (the `instantIssue` object, the kit's package).
macro_rules! product_rules {
    () => {
        E::InstantIssueTypeMissing
            | E::InstantIssueTypeInvalid
            | E::MappingIdMissing
            | E::MappingIdInvalid
            | E::MappingIdHoldsCardNumber
            | E::ProductUnknown
            | E::InstantIssueNotSupported
            | E::InstantIssuePhysicalNotSupported
            | E::PackageLookup
            | E::PackageNotFound
            | E::PackageInUse
    };
}

/// What the stored state refuses: a second account, an upgrade, a reused or locked request id,
/// a missing user or enrollment.
macro_rules! store_rules {
    () => {
        E::SsnHoldsAccount
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
    };
}

/// Credentials and storage, answered by [`baas_domain_row`] itself.
macro_rules! access_and_storage {
    () => {
        E::Unauthorized | E::OutOfScope | E::Storage(_) | E::StoreBusy
    };
}

/// Card and sandbox failures: no BaaS use case returns them.
macro_rules! not_baas {
    () => {
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
            | E::Invalid(_)
    };
}

/// `(HTTP status, code, subCode, description)` of the BaaS dialect.
pub fn baas_row(f: &Failure) -> (u16, u32, u32, String) {
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

/// A domain error's row: its family's table, or the row of credentials and storage.
fn baas_domain_row(e: &E) -> Row {
    match e {
        request_shape!() => request_shape_row(e),
        profile_fields!() => profile_field_row(e),
        product_rules!() => product_rule_row(e),
        store_rules!() => store_rule_row(e),
        E::Unauthorized => (401, 401, 0, s("Unauthorized")),
        E::OutOfScope => (401, 401, 0, s("out of credential scopes")),
        E::Storage(_) | E::StoreBusy => (503, 503, 0, s("Storage unavailable")),
        not_baas!() => internal_row(),
    }
}

fn request_shape_row(e: &E) -> Row {
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
        profile_fields!()
        | product_rules!()
        | store_rules!()
        | access_and_storage!()
        | not_baas!() => internal_row(),
    }
}

fn profile_field_row(e: &E) -> Row {
    match e {
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
            s("cardAlias must be 1-24 characters, none a control character, and must not be a card number"),
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
        E::TermsNotAccepted => (400, 800, 0, s("Terms must be accepted")),
        request_shape!()
        | product_rules!()
        | store_rules!()
        | access_and_storage!()
        | not_baas!() => internal_row(),
    }
}

fn product_rule_row(e: &E) -> Row {
    match e {
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
        request_shape!()
        | profile_fields!()
        | store_rules!()
        | access_and_storage!()
        | not_baas!() => internal_row(),
    }
}

fn store_rule_row(e: &E) -> Row {
    match e {
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
        request_shape!()
        | profile_fields!()
        | product_rules!()
        | access_and_storage!()
        | not_baas!() => internal_row(),
    }
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
