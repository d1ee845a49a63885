//! Pure rules over values: functions the use cases call and unit tests check without a server.

use time::Date;

/// Whole years between `born` and `on`.
pub fn age_on(born: Date, on: Date) -> i32 {
    let mut years = on.year() - born.year();
    if (on.month() as u8, on.day()) < (born.month() as u8, born.day()) {
        years -= 1;
    }
    years
}

/// The ABA routing-number check digit completing eight digits: weights 3, 7, 1.
pub fn aba_check_digit(first8: &str) -> u8 {
    let w = [3u32, 7, 1, 3, 7, 1, 3, 7];
    let sum: u32 = first8
        .bytes()
        .zip(w)
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// True for a nine-digit routing number with a valid ABA check digit.
pub fn is_valid_aba(routing: &str) -> bool {
    routing.len() == 9
        && routing.bytes().all(|b| b.is_ascii_digit())
        && aba_check_digit(&routing[..8]) == routing.as_bytes()[8] - b'0'
}

/// A routing number with a valid check digit; the first two digits are a Federal Reserve
/// district (01-12), as real ones are.
pub fn new_routing_number() -> String {
    let district = 1 + (crate::domain::ids::digits(2).parse::<u32>().unwrap_or(0) % 12);
    let first8 = format!("{district:02}{}", crate::domain::ids::digits(6));
    format!("{first8}{}", aba_check_digit(&first8))
}

/// Profile text may hold letters (any script), digits, space and `'-.,#/`.
pub fn is_profile_text(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphabetic() || c.is_ascii_digit() || " '-.,#/".contains(c))
}

/// A two-letter state code.
pub fn is_state(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// A ZIP code, ZIP+4 cut to its five digits; `None` when it is neither.
pub fn normalise_zip(s: &str) -> Option<String> {
    let five = |x: &str| x.len() == 5 && x.bytes().all(|b| b.is_ascii_digit());
    if five(s) {
        return Some(s.to_string());
    }
    match s.split_once('-') {
        Some((a, b)) if five(a) && b.len() == 4 && b.bytes().all(|x| x.is_ascii_digit()) => {
            Some(a.to_string())
        }
        _ if s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()) => Some(s[..5].to_string()),
        _ => None,
    }
}

/// Nine digits.
pub fn is_ssn(s: &str) -> bool {
    s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A card alias (CNA): 1-24 characters, never something shaped like a card number.
pub fn is_card_alias(s: &str) -> bool {
    (1..=24).contains(&s.chars().count()) && !crate::vault::looks_like_card_number(s)
}

/// An instant-issue mapping identifier: 1-64 of `[A-Za-z0-9_-]`.
pub fn is_mapping_identifier(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(date!(2008 - 11 - 23), date!(2026 - 11 - 23)), 18);
        assert_eq!(age_on(date!(2008 - 11 - 24), date!(2026 - 11 - 23)), 17);
        assert_eq!(age_on(date!(2000 - 02 - 29), date!(2018 - 02 - 28)), 17);
        assert_eq!(age_on(date!(2000 - 02 - 29), date!(2018 - 03 - 01)), 18);
    }

    #[test]
    fn aba_numbers_check() {
        assert!(is_valid_aba("011000015")); // Federal Reserve Bank of Boston
        assert!(is_valid_aba("121000358"));
        assert!(!is_valid_aba("121000359"));
        for _ in 0..100 {
            let r = new_routing_number();
            assert!(is_valid_aba(&r), "{r}");
            let d: u32 = r[..2].parse().unwrap();
            assert!((1..=12).contains(&d));
        }
    }

    #[test]
    fn text_rules() {
        assert!(is_profile_text("O'Brien-Smith Jr. #2, Apt 3/4"));
        assert!(is_profile_text("José Müller"));
        assert!(!is_profile_text("Robert'); DROP"));
        assert!(!is_profile_text("a_b"));
        assert!(is_state("CA") && !is_state("C1") && !is_state("CAL"));
        assert_eq!(normalise_zip("91101-1234").as_deref(), Some("91101"));
        assert_eq!(normalise_zip("91101").as_deref(), Some("91101"));
        assert_eq!(normalise_zip("9110"), None);
        assert!(is_ssn("123456789") && !is_ssn("12345678") && !is_ssn("12345678a"));
        assert!(is_card_alias("CUST-000123"));
        assert!(!is_card_alias("4111111111111111"));
        assert!(!is_card_alias(""));
        assert!(!is_card_alias(&"x".repeat(25)));
        assert!(is_mapping_identifier("KIT_0000-1") && !is_mapping_identifier("KIT 1"));
    }
}
