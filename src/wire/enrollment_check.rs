//! The translation of a BaaS enrollment request into the domain's [`Enrollment`]: the contract's
//! validation table, row by row and in order, over the rules of [`crate::domain::rules`].
//!
//! A request that passes is an [`Enrollment`], which cannot be invalid. Checks that need the
//! store (kits, existing accounts) are the use case's.

use super::enrollment::{
    AddressIn, EnrollmentRequest, IdentifyingData, InstantIssue, PhoneNumber, ProfileData,
    TermsAcceptance, UserData,
};
use crate::domain::catalog::ProductRules;
use crate::domain::enrollment::{Enrollment, NewEnrollment, Person, ProfileClaim, Upgrade};
use crate::domain::error::{DomainError as E, ProfileField};
use crate::domain::ids;
use crate::domain::model::{Address, Phone};
use crate::domain::rules;

/// Addresses, phone numbers and terms acceptances an enrollment may list, each.
pub const MAX_LISTED: usize = 5;

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|x| !x.is_empty())
}

fn required<'a>(v: Option<&'a str>, path: &str) -> Result<&'a str, E> {
    v.ok_or_else(|| E::Required(path.to_string()))
}

/// The fields of a new enrollment the table requires, found (row 2 of the table).
struct Given<'a> {
    product: &'a str,
    first: &'a str,
    middle: Option<&'a str>,
    last: &'a str,
    addresses: &'a [AddressIn],
    dob: &'a str,
    ssn: &'a str,
    ssn_suffix: Option<&'a str>,
    email: &'a str,
    phones: &'a [PhoneNumber],
    terms: &'a [TermsAcceptance],
}

const NO_USER_DATA: UserData = UserData {
    profile_data: None,
    identifying_data: None,
    email: None,
    phone_numbers: None,
};
const NO_PROFILE: ProfileData = ProfileData {
    first_name: None,
    middle_name: None,
    last_name: None,
    addresses: None,
};
const NO_IDENTITY: IdentifyingData = IdentifyingData {
    date_of_birth: None,
    ssn: None,
    ssn_suffix: None,
};

/// Profile fields with a length and character rule, in the order of their subCodes 501..506.
const PROFILE_ORDER: [ProfileField; 6] = [
    ProfileField::FirstName,
    ProfileField::LastName,
    ProfileField::MiddleName,
    ProfileField::City,
    ProfileField::AddressLine1,
    ProfileField::AddressLine2,
];

impl<'a> Given<'a> {
    /// `productCode`, then each required field of `userData`, by its path.
    fn of(req: &'a EnrollmentRequest) -> Result<Given<'a>, E> {
        let product = required(given(&req.product_code), "productCode")?;
        let ud = req.user_data.as_ref().unwrap_or(&NO_USER_DATA);
        let pd = ud.profile_data.as_ref().unwrap_or(&NO_PROFILE);
        let id = ud.identifying_data.as_ref().unwrap_or(&NO_IDENTITY);
        let first = required(given(&pd.first_name), "userData.profileData.firstName")?;
        let last = required(given(&pd.last_name), "userData.profileData.lastName")?;
        let addresses = pd
            .addresses
            .as_deref()
            .ok_or_else(|| E::Required("userData.profileData.addresses".into()))?;
        let dob = required(
            given(&id.date_of_birth),
            "userData.identifyingData.dateOfBirth",
        )?;
        let ssn = required(given(&id.ssn), "userData.identifyingData.ssn")?;
        let email = required(
            ud.email.as_ref().and_then(|e| given(&e.email_address)),
            "userData.email.emailAddress",
        )?;
        Ok(Given {
            product,
            first,
            middle: given(&pd.middle_name),
            last,
            addresses,
            dob,
            ssn,
            ssn_suffix: given(&id.ssn_suffix),
            email,
            phones: ud.phone_numbers.as_deref().unwrap_or_default(),
            terms: req.terms_acceptances.as_deref().unwrap_or_default(),
        })
    }

    /// The values of one profile field (a field of every address for the address fields).
    fn values(&self, f: ProfileField) -> Vec<&'a str> {
        let each = |pick: fn(&'a AddressIn) -> &'a Option<String>| {
            self.addresses
                .iter()
                .filter_map(|a| given(pick(a)))
                .collect()
        };
        match f {
            ProfileField::FirstName => vec![self.first],
            ProfileField::LastName => vec![self.last],
            ProfileField::MiddleName => self.middle.into_iter().collect(),
            ProfileField::City => each(|a| &a.city),
            ProfileField::AddressLine1 => each(|a| &a.address_line1),
            ProfileField::AddressLine2 => each(|a| &a.address_line2),
        }
    }

    /// Rows 3-4: lengths, then characters (and the free-text card-number rule), by subCode.
    fn check_profile_text(&self) -> Result<(), E> {
        for f in PROFILE_ORDER {
            let max = f.rule().0;
            if self.values(f).iter().any(|v| v.chars().count() > max) {
                return Err(E::TooLong(f));
            }
        }
        for f in PROFILE_ORDER {
            let values = self.values(f);
            if values.iter().any(|v| !rules::is_profile_text(v)) {
                return Err(E::BadCharacters(f));
            }
            if values.iter().any(|v| rules::holds_card_number(v)) {
                return Err(E::CardNumberInProfile(f));
            }
        }
        Ok(())
    }

    /// State, ZIP (answered cut to five digits) and SSN shapes (640/507-509).
    fn check_codes(&self) -> Result<Vec<String>, E> {
        if self
            .addresses
            .iter()
            .any(|a| !given(&a.state).is_some_and(rules::is_state))
        {
            return Err(E::BadState);
        }
        let zips = self
            .addresses
            .iter()
            .map(|a| {
                given(&a.zip_code)
                    .and_then(rules::normalise_zip)
                    .ok_or(E::BadZip)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !rules::is_ssn(self.ssn) {
            return Err(E::BadSsn);
        }
        Ok(zips)
    }

    /// Names of one script, email, phones, list sizes, types and terms identifiers (issuebox
    /// rows, in the contract's order).
    fn check_person_and_contact(&self) -> Result<(), E> {
        for f in [
            ProfileField::FirstName,
            ProfileField::LastName,
            ProfileField::MiddleName,
        ] {
            if self
                .values(f)
                .iter()
                .any(|v| !rules::is_single_script_name(v))
            {
                return Err(E::NameScript(f));
            }
        }
        if !rules::is_email(self.email) || rules::holds_card_number(self.email) {
            return Err(E::BadEmail);
        }
        let numbers = self.phones.iter().filter_map(|p| given(&p.number));
        if numbers.clone().any(|n| !rules::is_phone(n)) {
            return Err(E::BadPhone);
        }
        if [self.addresses.len(), self.phones.len(), self.terms.len()]
            .iter()
            .any(|n| *n > MAX_LISTED)
        {
            return Err(E::TooManyEntries);
        }
        let bad_word = |k: &Option<String>| given(k).is_some_and(|k| !rules::is_type_word(k));
        if self.addresses.iter().any(|a| bad_word(&a.kind)) {
            return Err(E::BadAddressType);
        }
        if self.phones.iter().any(|p| bad_word(&p.kind)) {
            return Err(E::BadPhoneType);
        }
        if self
            .terms
            .iter()
            .filter_map(|t| given(&t.terms_identifier))
            .any(|t| !rules::is_terms_identifier(t))
        {
            return Err(E::BadTermsIdentifier);
        }
        Ok(())
    }

    /// Rows 1020/0, 1040, 1042: one address of each type, at most one default, a home one.
    /// Answers the types, lower case.
    fn check_address_kinds(&self) -> Result<Vec<String>, E> {
        let kinds: Vec<String> = self
            .addresses
            .iter()
            .map(|a| a.kind.as_deref().unwrap_or_default().to_ascii_lowercase())
            .collect();
        if (0..kinds.len()).any(|i| kinds[..i].contains(&kinds[i])) {
            return Err(E::DuplicateAddressType);
        }
        if self
            .addresses
            .iter()
            .filter(|a| a.is_default == Some(true))
            .count()
            > 1
        {
            return Err(E::MultipleDefaultAddresses);
        }
        if !kinds.iter().any(|k| k == "home") {
            return Err(E::NoHomeAddress);
        }
        Ok(kinds)
    }
}

/// Rows 6181-6184: the kit's mapping identifier, for instant issue.
fn instant_issue_kit(ii: Option<&InstantIssue>) -> Result<Option<String>, E> {
    let Some(ii) = ii else {
        return Ok(None);
    };
    match given(&ii.kind) {
        None => return Err(E::InstantIssueTypeMissing),
        Some("CBS") => {}
        Some(_) => return Err(E::InstantIssueTypeInvalid),
    }
    match given(&ii.mapping_identifier) {
        None => Err(E::MappingIdMissing),
        Some(m) if !rules::is_mapping_identifier(m) => Err(E::MappingIdInvalid),
        Some(m) if rules::holds_card_number(m) => Err(E::MappingIdHoldsCardNumber),
        Some(m) => Ok(Some(m.to_string())),
    }
}

/// Runs the contract's validation table in order; the first failure answers. `products` gives
/// the rules of a product code of the program (none: not a product of it).
pub fn validate(
    req: &EnrollmentRequest,
    products: impl Fn(&str) -> Option<ProductRules>,
) -> Result<Enrollment, E> {
    if req.is_upgrade() {
        return validate_upgrade(req, &products).map(Enrollment::Upgrade);
    }
    let g = Given::of(req)?;
    g.check_profile_text()?;
    let zips = g.check_codes()?;
    g.check_person_and_contact()?;
    let date_of_birth = rules::parse_ymd(g.dob)
        .filter(|d| rules::is_birth_date(*d, time::OffsetDateTime::now_utc().date()))
        .ok_or(E::BadDateOfBirth)?;
    if g.ssn_suffix.is_some() {
        return Err(E::SsnAndSuffix);
    }
    let kinds = g.check_address_kinds()?;
    let kit = instant_issue_kit(req.instant_issue.as_ref())?;
    if req
        .card_alias
        .as_deref()
        .is_some_and(|a| !rules::is_card_alias(a))
    {
        return Err(E::CardAliasInvalid);
    }
    let prod = products(g.product).ok_or(E::ProductUnknown)?;
    let physical_card = req.request_physical_card == Some(true);
    if kit.is_some() {
        if !prod.instant_issue {
            return Err(E::InstantIssueNotSupported);
        }
        if physical_card && !prod.instant_issue_physical_card {
            return Err(E::InstantIssuePhysicalNotSupported);
        }
    }
    Ok(Enrollment::New(NewEnrollment {
        product: g.product.to_string(),
        person: person(&g, date_of_birth, zips, kinds),
        alias: req.card_alias.clone(),
        physical_card,
        kit,
        terms_refused: g
            .terms
            .iter()
            .any(|t| t.terms_acceptance_flag == Some(false)),
    }))
}

/// The validated person, with addresses in their normal form and phones that have a number.
fn person(g: &Given, date_of_birth: time::Date, zips: Vec<String>, kinds: Vec<String>) -> Person {
    let addresses = g
        .addresses
        .iter()
        .zip(zips)
        .zip(kinds)
        .map(|((a, zip), kind)| Address {
            kind,
            is_default: a.is_default == Some(true),
            line1: a.address_line1.clone().unwrap_or_default(),
            line2: given(&a.address_line2).map(str::to_string),
            city: a.city.clone().unwrap_or_default(),
            state: a.state.as_deref().unwrap_or_default().to_ascii_uppercase(),
            zip,
        })
        .collect();
    let phones = g
        .phones
        .iter()
        .filter_map(|p| {
            Some(Phone {
                number: given(&p.number)?.to_string(),
                kind: p.kind.clone(),
                is_default: p.is_default == Some(true),
            })
        })
        .collect();
    Person {
        first_name: g.first.to_string(),
        middle_name: g.middle.map(str::to_string),
        last_name: g.last.to_string(),
        date_of_birth,
        date_of_birth_text: g.dob.to_string(),
        ssn: g.ssn.to_string(),
        email: g.email.to_string(),
        phones,
        addresses,
    }
}

fn validate_upgrade(
    req: &EnrollmentRequest,
    products: &impl Fn(&str) -> Option<ProductRules>,
) -> Result<Upgrade, E> {
    let account_id = given(&req.account_identifier)
        .filter(|a| ids::is_identifier(a))
        .ok_or(E::AccountIdentifierInvalid)?;
    let product = required(given(&req.product_code), "productCode")?;
    if products(product).is_none() {
        return Err(E::ProductUnknown);
    }
    let ud = req.user_data.clone().unwrap_or_default();
    let pd = ud.profile_data.unwrap_or_default();
    let id = ud.identifying_data.unwrap_or_default();
    Ok(Upgrade {
        account_id: account_id.to_string(),
        target_product: product.to_string(),
        claim: ProfileClaim {
            first_name: given(&pd.first_name).map(str::to_string),
            last_name: given(&pd.last_name).map(str::to_string),
            date_of_birth: given(&id.date_of_birth).map(str::to_string),
            ssn: given(&id.ssn).map(str::to_string),
            ssn_suffix: given(&id.ssn_suffix).map(str::to_string),
        },
    })
}
