//! Pure rules over values: functions the use cases call and unit tests check without a server.

use time::Date;

/// Parses a strict `YYYY-MM-DD` calendar date.
pub fn parse_ymd(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if s.len() != 10 {
        return None;
    }
    Date::parse(s, &fmt).ok()
}

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

/// True when an enrollment's person is the stored holder of its SSN: the same first and last
/// name and date of birth, and the same middle name when both give one (compared without regard
/// to case or runs of spaces).
pub fn same_person(p: &super::enrollment::Person, u: &super::model::User) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let same = |a: &str, b: &str| norm(a) == norm(b);
    same(&p.first_name, &u.first_name)
        && same(&p.last_name, &u.last_name)
        && p.date_of_birth_text == u.date_of_birth
        && match (&p.middle_name, &u.middle_name) {
            (Some(a), Some(b)) => same(a, b),
            _ => true,
        }
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

/// Luhn check over a string of ASCII digits (false for anything else).
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The Luhn check digit that completes `partial`.
pub fn luhn_check_digit(partial: &str) -> u8 {
    // The check digit goes last, undoubled, so the partial's last digit is the first doubled.
    let sum: u32 = partial
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.wrapping_sub(b'0'));
            match (i % 2 == 0, d * 2) {
                (true, x) if x > 9 => x - 9,
                (true, x) => x,
                (false, _) => d,
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A card alias (CNA): 1-24 characters, no control characters, never holding a card number.
pub fn is_card_alias(s: &str) -> bool {
    (1..=24).contains(&s.chars().count())
        && !s.chars().any(char::is_control)
        && !holds_card_number(s)
}

/// A card pack ID a client sets on a sandbox card: 10-24 characters, no control characters, no
/// card number.
pub fn is_card_pack_id(s: &str) -> bool {
    (10..=24).contains(&s.chars().count())
        && !s.chars().any(char::is_control)
        && !holds_card_number(s)
}

/// True when `s` luhn-checks over `digits` (ASCII digit values, most significant first).
fn luhn_digits(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            match (i % 2 == 1, d * 2) {
                (true, dd) if dd > 9 => dd - 9,
                (true, dd) => dd,
                (false, _) => d,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The value of a decimal digit of any script (`٤`, `४`, `4`), or `None`. Unicode lays out each
/// script's ten decimal digits as one contiguous run starting at zero, so the value is the distance
/// to the start of that run.
fn digit_value(c: char) -> Option<u8> {
    if let Some(d) = c.to_digit(10) {
        return Some(d as u8);
    }
    if c.is_ascii() || !c.is_numeric() {
        return None;
    }
    let cp = u32::from(c);
    let numeric = |x: u32| char::from_u32(x).is_some_and(char::is_numeric);
    let start = (1..=9).take_while(|k| numeric(cp - k)).last().unwrap_or(0);
    // A run of ten numeric characters: a decimal digit block, not a stray fraction or numeral.
    let zero = cp - start;
    ((zero..zero + 10).all(numeric)).then_some(start as u8)
}

/// True when free text holds a card number: after NFKC, with spaces, dashes, dots and
/// underscores removed, a run of 13-19 digits (of any script) passes Luhn. The one rule for
/// every free-text field a client sets (contract section 3). Only whole runs are checked, as the
/// contract says: stretches inside a longer run would refuse most runs of 14 or more digits
/// (one of their several stretches passes Luhn by chance).
pub fn holds_card_number(s: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    let mut run: Vec<u8> = Vec::new();
    let check = |run: &[u8]| (13..=19).contains(&run.len()) && luhn_digits(run);
    let mut feed = |c: char| {
        if let Some(d) = digit_value(c) {
            run.push(d);
        } else if !(c.is_whitespace() || is_dash_or_dot(c)) {
            if check(&run) {
                return true;
            }
            run.clear();
        }
        false
    };
    // NFKC leaves ASCII as it is: most input takes the short way.
    let found = if s.is_ascii() {
        s.chars().any(&mut feed)
    } else {
        s.nfkc().any(&mut feed)
    };
    found || check(&run)
}

/// Separators a card number is commonly written with: dashes of every kind, dots, underscores.
fn is_dash_or_dot(c: char) -> bool {
    matches!(
        c,
        '-' | '.' | '_' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}' | '\u{00B7}' | '\u{2022}' | '\u{2027}'
    )
}

/// A name (first, middle, last): at least one letter, and letters of one script only (Latin
/// with accents is one script; digits, spaces and punctuation belong to none).
pub fn is_single_script_name(s: &str) -> bool {
    use unicode_security::MixedScript;
    // ASCII letters are all Latin.
    s.chars().any(char::is_alphabetic) && (s.is_ascii() || s.is_single_script())
}

/// An email address: 3-254 characters (RFC 5321), one `@` with 1-64 characters before it, and a
/// domain after it with a dot that neither starts nor ends it; no spaces or control characters.
pub fn is_email(s: &str) -> bool {
    let n = s.chars().count();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    (3..=254).contains(&n)
        && !domain.contains('@')
        && (1..=64).contains(&local.chars().count())
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A phone number as E.164 allows it: an optional `+` and 7-15 digits.
pub fn is_phone(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An address or phone `type`: 1-20 ASCII letters, digits, `_` or `-`.
pub fn is_type_word(s: &str) -> bool {
    (1..=20).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A `termsIdentifier`: 1-64 characters, no control characters, no card number.
pub fn is_terms_identifier(s: &str) -> bool {
    (1..=64).contains(&s.chars().count())
        && !s.chars().any(char::is_control)
        && !holds_card_number(s)
}

/// A date of birth a person can have: from 1900-01-01 to `today`.
pub fn is_birth_date(born: Date, today: Date) -> bool {
    born.year() >= 1900 && born <= today
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

    #[test]
    fn the_check_digit_is_the_one_digit_that_completes_a_luhn_sum() {
        let mut partial = String::new();
        for n in 0..2_000u64 {
            partial.clear();
            let mut x = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for _ in 0..(11 + n % 8) {
                partial.push(char::from(b'0' + (x % 10) as u8));
                x /= 10;
                x = x.wrapping_mul(2862933555777941757).wrapping_add(3037000493);
            }
            let d = luhn_check_digit(&partial);
            for other in 0..10u8 {
                let full = format!("{partial}{other}");
                assert_eq!(luhn_valid(&full), other == d, "{full}");
            }
        }
    }
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

    #[test]
    fn card_numbers_are_found_however_they_are_written() {
        let pan = "4111111111111111";
        for hidden in [
            pan.to_string(),
            format!("card {pan} here"),
            "4111 1111 1111 1111".to_string(),
            "4111-1111-1111-1111".to_string(),
            "4111.1111.1111.1111".to_string(),
            "4111_1111_1111_1111".to_string(),
            "４１１１１１１１１１１１１１１１".to_string(), // full width (NFKC)
            "٤١١١١١١١١١١١١١١١".to_string(),                 // Arabic-Indic digits
        ] {
            assert!(holds_card_number(&hidden), "{hidden}");
        }
        for clean in [
            "4111111111111112",     // Luhn fails
            "41111111111111111111", // 20 digits
            "411111111111",         // 12 digits
            "CUST-000123",
            "1 Main St, Apt 4",
            "",
        ] {
            assert!(!holds_card_number(clean), "{clean}");
        }
    }

    #[test]
    fn names_emails_and_phones() {
        assert!(is_single_script_name("José-María O'Brien"));
        assert!(is_single_script_name("Владимир"));
        assert!(!is_single_script_name("Nicolаs")); // Cyrillic а among Latin
        assert!(!is_single_script_name("  -. "));
        assert!(is_email("jane@example.com") && is_email("a@b.co"));
        for bad in [
            "a@b",
            "@example.com",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@b.com.",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(!is_email(&format!("{}@example.com", "x".repeat(65))));
        assert!(is_phone("+442071838750") && is_phone("6265551212"));
        assert!(!is_phone("626-555-1212") && !is_phone("123456") && !is_phone(&"1".repeat(16)));
        let today = time::macros::date!(2026 - 11 - 29);
        assert!(is_birth_date(time::macros::date!(1900 - 01 - 01), today));
        assert!(!is_birth_date(time::macros::date!(1899 - 12 - 31), today));
        assert!(!is_birth_date(time::macros::date!(2026 - 11 - 30), today));
    }
}
