//! The device dialect's table: `{"code","message"}`, messages exactly as the contract.

use super::{builder, log_internal, status, Failure, Transport};
use crate::domain::error::{DeviceField, DomainError as E};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// `(HTTP status, code, message)` of the device dialect; messages exactly as the contract.
pub fn device_row(f: &Failure) -> (u16, &'static str, String) {
    let e = match f {
        Failure::Domain(e) => e,
        Failure::Transport(t) => return device_transport_row(t),
    };
    let s = |x: &str| x.to_string();
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

fn device_transport_row(t: &Transport) -> (u16, &'static str, String) {
    let s = |x: &str| x.to_string();
    match t {
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
        Transport::MethodNotAllowed => (405, "METHOD_NOT_ALLOWED", s("Method not allowed.")),
        Transport::NoSuchRoute => (404, "NOT_FOUND", s("No such endpoint.")),
        Transport::TooManyRequests { .. } => (
            429,
            "TOO_MANY_REQUESTS",
            s("Too many requests; try again after the Retry-After seconds."),
        ),
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
