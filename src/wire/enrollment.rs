//! The BaaS enrollment request as sent, with its OpenAPI schema.
//!
//! Every field is optional, so that a missing field is answered by its own row of the contract's
//! validation table rather than a parse error; [`validate`](super::enrollment_check::validate)
//! turns a request into the domain's [`Enrollment`](crate::domain::enrollment::Enrollment).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "productCode": "GPR100",
    "userData": {
        "profileData": {"firstName": "Jane", "middleName": "Q", "lastName": "Doe",
            "addresses": [{"type": "home", "isDefault": true, "addressLine1": "1 Main St", "addressLine2": null,
                "city": "Pasadena", "state": "CA", "zipCode": "91101"}]},
        "identifyingData": {"dateOfBirth": "1990-01-31", "ssn": "123456789"},
        "email": {"emailAddress": "jane@example.com"},
        "phoneNumbers": [{"number": "6265551212", "type": "mobile", "isDefault": true}]
    },
    "termsAcceptances": [{"termsIdentifier": "esign", "termsAcceptanceFlag": true}],
    "cardAlias": "CUST-000123",
    "requestPhysicalCard": false
}))]
pub struct EnrollmentRequest {
    pub product_code: Option<String>,
    pub user_data: Option<UserData>,
    /// At most 5; an entry with `termsAcceptanceFlag` false answers 800.
    #[schema(max_items = 5)]
    pub terms_acceptances: Option<Vec<TermsAcceptance>>,
    /// Becomes the card-number alias (CNA) of the issued card: 1-24 characters, never a
    /// Luhn-valid 13-19 digit run.
    #[schema(min_length = 1, max_length = 24)]
    pub card_alias: Option<String>,
    pub request_physical_card: Option<bool>,
    pub instant_issue: Option<InstantIssue>,
    pub upgrade_flag: Option<bool>,
    pub account_identifier: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserData {
    pub profile_data: Option<ProfileData>,
    pub identifying_data: Option<IdentifyingData>,
    pub email: Option<Email>,
    /// At most 5.
    #[schema(max_items = 5)]
    pub phone_numbers: Option<Vec<PhoneNumber>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileData {
    /// Letters of one script (Latin with accents is one), digits, space and `'-.,#/`; at least
    /// one letter; no card number (640/501).
    #[schema(max_length = 35)]
    pub first_name: Option<String>,
    /// As `firstName` (640/503).
    #[schema(max_length = 25)]
    pub middle_name: Option<String>,
    /// As `firstName` (640/502).
    #[schema(max_length = 35)]
    pub last_name: Option<String>,
    /// 1-5 addresses, one of type `home`.
    #[schema(max_items = 5)]
    pub addresses: Option<Vec<AddressIn>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressIn {
    /// `home`, `mailing`, `work`, …; one address of each type; 1-20 of `[A-Za-z0-9_-]`.
    #[serde(rename = "type")]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,20}$")]
    pub kind: Option<String>,
    pub is_default: Option<bool>,
    #[schema(max_length = 50)]
    pub address_line1: Option<String>,
    #[schema(max_length = 50)]
    pub address_line2: Option<String>,
    #[schema(max_length = 35)]
    pub city: Option<String>,
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub state: Option<String>,
    #[schema(pattern = "^([0-9]{5}|[0-9]{5}-[0-9]{4}|[0-9]{9})$")]
    pub zip_code: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentifyingData {
    /// YYYY-MM-DD, from 1900-01-01 to today.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub date_of_birth: Option<String>,
    /// Nine digits. Never stored in the clear, never logged.
    #[schema(pattern = "^[0-9]{9}$")]
    pub ssn: Option<String>,
    /// Last four digits of the SSN; accepted alone only on upgrade.
    pub ssn_suffix: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Email {
    /// 3-254 characters, one `@` with 1-64 characters before it, a domain with a dot after it.
    #[schema(
        min_length = 3,
        max_length = 254,
        pattern = "^[^@\\s]{1,64}@[^@\\s.][^@\\s]*[.][^@\\s]*[^@\\s.]$"
    )]
    pub email_address: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    /// E.164: an optional `+` and 7-15 digits.
    #[schema(pattern = "^[+]?[0-9]{7,15}$")]
    pub number: Option<String>,
    /// 1-20 of `[A-Za-z0-9_-]`.
    #[serde(rename = "type")]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,20}$")]
    pub kind: Option<String>,
    pub is_default: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TermsAcceptance {
    /// 1-64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub terms_identifier: Option<String>,
    pub terms_acceptance_flag: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstantIssue {
    /// Must be `CBS`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The kit's mapping identifier: 1-64 of `[A-Za-z0-9_-]`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub mapping_identifier: Option<String>,
}

impl EnrollmentRequest {
    pub fn is_upgrade(&self) -> bool {
        self.upgrade_flag == Some(true)
    }

    /// The SSN, when given (to lock concurrent enrollments of one person).
    pub fn ssn(&self) -> Option<&str> {
        self.user_data
            .as_ref()?
            .identifying_data
            .as_ref()?
            .ssn
            .as_deref()
    }
}
