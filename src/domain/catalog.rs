//! Value types of the catalog (the configuration's programs, products and plans) that entities
//! carry: the configuration parses into them by name, records store them by tag.

use serde::Deserialize;

/// Read by name from the configuration; stored in records by its tag (`stored_tags!` below,
/// fields marked `#[serde(with = "crate::domain::tags::tag")]`). It has no `Serialize` on
/// purpose: a record field of this type that forgets the tag does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountType {
    Gpr,
    Dda,
}

super::tags::stored_tags!(AccountType { Gpr = 0, Dda = 1 });

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Gpr => "gpr",
            AccountType::Dda => "dda",
        }
    }
}

/// Read by name from the configuration; stored in records by its tag (`stored_tags!` below,
/// fields marked `#[serde(with = "crate::domain::tags::tag")]`). It has no `Serialize` on
/// purpose: a record field of this type that forgets the tag does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WalletUsage {
    Open,
    Closed,
}

super::tags::stored_tags!(WalletUsage { Open = 0, Closed = 1 });

/// Read by name from the configuration; stored in records by its tag (`stored_tags!` below,
/// fields marked `#[serde(with = "crate::domain::tags::tag")]`). It has no `Serialize` on
/// purpose: a record field of this type that forgets the tag does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WalletKind {
    Default,
    Mcg,
    Merchant,
}

super::tags::stored_tags!(WalletKind { Default = 0, Mcg = 1, Merchant = 2 });

/// What enrollment validation needs to know of a product of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductRules {
    /// May enroll with `instantIssue`.
    pub instant_issue: bool,
    /// May also ask for a personalised physical card on instant issue.
    pub instant_issue_physical_card: bool,
}
