//! A BaaS enrollment as the domain knows it once validated: a new (or instant-issue) enrollment
//! of a person, or an upgrade. The request as sent, and its validation into these values, are the
//! wire's (`wire::enrollment`, `wire::enrollment_check`): the domain knows no request body.

use super::model::{Address, Phone};

/// A person as validated from a new or instant-issue enrollment.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub first_name: String,
    pub middle_name: Option<String>,
    pub last_name: String,
    pub date_of_birth: time::Date,
    pub date_of_birth_text: String,
    pub ssn: String,
    pub email: String,
    pub phones: Vec<Phone>,
    pub addresses: Vec<Address>,
}

/// A valid new or instant-issue enrollment.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEnrollment {
    pub product: String,
    pub person: Person,
    pub alias: Option<String>,
    pub physical_card: bool,
    /// The kit's mapping identifier, for instant issue.
    pub kit: Option<String>,
    /// A `termsAcceptances` entry said `false` (refused with 800 after the kit rows).
    pub terms_refused: bool,
}

/// What an upgrade may compare with the holder (only the given parts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProfileClaim {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub ssn: Option<String>,
    pub ssn_suffix: Option<String>,
}

/// A valid upgrade request (the store-dependent checks are the use case's).
#[derive(Debug, Clone, PartialEq)]
pub struct Upgrade {
    pub account_id: String,
    pub target_product: String,
    pub claim: ProfileClaim,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Enrollment {
    New(NewEnrollment),
    Upgrade(Upgrade),
}
