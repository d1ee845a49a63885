//! Identifiers: what issuebox hands out and what it accepts back.

const ALNUM: [char; 62] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I',
    'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'a', 'b',
    'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u',
    'v', 'w', 'x', 'y', 'z',
];
const DIGITS: [char; 10] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/// A new entity identifier: 22 alphanumeric characters (about 131 random bits). Fits the device
/// dialect's 14-36 `identifier` rule.
pub fn new_id() -> String {
    nanoid::nanoid!(22, &ALNUM)
}

/// `n` random decimal digits.
pub fn digits(n: usize) -> String {
    nanoid::nanoid!(n, &DIGITS)
}

/// True for something that may be an identifier issued by issuebox (14-36 characters of
/// `[A-Za-z0-9_-]`): the shape check of `accountIdentifier` and path identifiers.
pub fn is_identifier(s: &str) -> bool {
    (14..=36).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_identifiers_and_distinct() {
        let a = new_id();
        assert!(is_identifier(&a));
        assert_ne!(a, new_id());
        assert!(!is_identifier("short"));
        assert!(!is_identifier("has space in it ok"));
        assert_eq!(digits(12).len(), 12);
    }
}
