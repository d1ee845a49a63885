//! Every failure a request can meet, as data. Each dialect maps these to its own envelope in one
//! table (`http::errors`); nothing here knows about HTTP.

/// BaaS profile fields with length and character rules, in the order of their subCodes 501..506.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileField {
    FirstName,
    LastName,
    MiddleName,
    City,
    AddressLine1,
    AddressLine2,
}

impl ProfileField {
    /// `(maximum length, subCode)` of the field.
    pub fn rule(self) -> (usize, u32) {
        match self {
            ProfileField::FirstName => (35, 501),
            ProfileField::LastName => (35, 502),
            ProfileField::MiddleName => (25, 503),
            ProfileField::City => (35, 504),
            ProfileField::AddressLine1 => (50, 505),
            ProfileField::AddressLine2 => (50, 506),
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            ProfileField::FirstName => "userData.profileData.firstName",
            ProfileField::LastName => "userData.profileData.lastName",
            ProfileField::MiddleName => "userData.profileData.middleName",
            ProfileField::City => "userData.profileData.addresses.city",
            ProfileField::AddressLine1 => "userData.profileData.addresses.addressLine1",
            ProfileField::AddressLine2 => "userData.profileData.addresses.addressLine2",
        }
    }
}

/// Card-dialect fields with length rules (rows 2-9 of the device table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceField {
    Number,
    Identifier,
    PackId,
    Alias,
    ProgramCode,
    DevicePlanCode,
    PlanCode,
    PromotionCode,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DomainError {
    // --- BaaS request shape ---
    /// `X-GD-RequestId` missing or not a UUID.
    RequestIdInvalid,
    ProgramUnknown,
    /// Body not JSON or of the wrong types; names the field.
    MalformedBody(String),
    AccountIdentifierInvalid,
    /// A required field missing: its dotted JSON path.
    Required(String),
    TooLong(ProfileField),
    BadCharacters(ProfileField),
    /// A profile field holding a card number (the free-text rule).
    CardNumberInProfile(ProfileField),
    BadState,
    BadZip,
    BadSsn,
    /// A name with no letter, or letters of more than one script.
    NameScript(ProfileField),
    BadEmail,
    BadPhone,
    /// More than five addresses, phone numbers or terms acceptances.
    TooManyEntries,
    BadAddressType,
    BadPhoneType,
    BadTermsIdentifier,
    BadDateOfBirth,
    SsnAndSuffix,
    DuplicateAddressType,
    MultipleDefaultAddresses,
    NoHomeAddress,
    InstantIssueTypeMissing,
    InstantIssueTypeInvalid,
    MappingIdMissing,
    MappingIdInvalid,
    MappingIdHoldsCardNumber,
    /// `cardAlias` not 1-24 characters or shaped like a card number.
    CardAliasInvalid,
    ProductUnknown,
    InstantIssueNotSupported,
    InstantIssuePhysicalNotSupported,
    PackageLookup,
    PackageNotFound,
    PackageInUse,
    /// A `termsAcceptances` entry with `termsAcceptanceFlag` false.
    TermsNotAccepted,
    SsnHoldsAccount,
    // --- BaaS upgrade ---
    AccountNotFound,
    ProfileChanged,
    AccountNotHealthy,
    AlreadyUpgraded,
    AccountNotMatched,
    UpgradeNotAllowed,
    UpgradeProvider,
    // --- BaaS idempotency and reads ---
    Locked,
    RequestIdReused,
    UserNotFound,
    EnrollmentNotFound,
    // --- device dialect, in table order ---
    MissingDeviceKey,
    InvalidLength(DeviceField),
    WalletPlanMandatory,
    DuplicateWalletPlans,
    TooManyWallets,
    InvalidAlias,
    DuplicateAlias,
    DeviceNotFound,
    InvalidDevice,
    DeviceFinalStatus,
    NotGpr,
    PlanNotAttached,
    InvalidPromotion,
    ExistingPlan,
    SameCharacteristic,
    WalletCreate,
    WalletLink,
    // --- sandbox and shared ---
    /// A sandbox entity that does not exist (or belongs to a program the client may not use).
    NotFound(&'static str),
    /// A sandbox request that conflicts with the stored state.
    Conflict(String),
    /// A sandbox request whose body is invalid; names the problem.
    Invalid(String),
    /// The store failed; the request changed nothing.
    Storage(String),
    /// The store takes no writes for now (its filesystem is below the free-space floor, or too
    /// many requests wait for it): answered as `Storage`, but expected, so not logged as an error.
    StoreBusy,
    /// Missing, malformed, unknown or expired credentials.
    Unauthorized,
    /// A valid client used outside its programs or scopes.
    OutOfScope,
}

impl std::fmt::Display for DomainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for DomainError {}

pub type DomainResult<T> = Result<T, DomainError>;
