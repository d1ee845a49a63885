//! Identifiers: what issuebox hands out and what it accepts back.

const ALNUM: [char; 62] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I',
    'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'a', 'b',
    'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u',
    'v', 'w', 'x', 'y', 'z',
];
const DIGITS: [char; 10] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/// `n` random bytes from the thread's cryptographically secure generator (ChaCha, seeded from
/// the OS and reseeded by `rand`). nanoid's own default seeds a new generator from the OS on
/// every call: a system call per identifier.
fn random_bytes(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// A new entity identifier: 22 alphanumeric characters (about 131 random bits). Fits the device
/// dialect's 14-36 `identifier` rule.
pub fn new_id() -> String {
    nanoid::nanoid!(22, &ALNUM, random_bytes)
}

/// An identifier derived from keyed fingerprints: 22 base-62 digits of the first 16 bytes
/// (62^22 > 2^128) of SHA-256 over `kind` and `parts`, so about 128 bits, as [`new_id`].
fn derived_id(kind: &[u8], parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(kind);
    for p in parts {
        h.update(b"\0");
        h.update(p);
    }
    let d = h.finalize();
    let mut n = u128::from_be_bytes(d[..16].try_into().expect("16 bytes"));
    let mut out = [b'0'; 22];
    for c in out.iter_mut().rev() {
        *c = ALNUM[(n % 62) as usize] as u8;
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("ASCII")
}

/// The identifier of the user holding an SSN in a program, derived from the program and the
/// SSN's keyed fingerprint. Deriving it makes the user its own SSN index: enrolling looks the
/// user up by this id instead of through an index entry (one key fewer per new customer). It
/// reveals nothing of the SSN without the vault's key, and differs between programs.
pub fn user_id_for(program: &str, ssn_fingerprint: &[u8; 32]) -> String {
    derived_id(b"user", &[program.as_bytes(), ssn_fingerprint])
}

/// The identifier of the card carrying a number, derived from the number's keyed fingerprint:
/// a card is found by its number without an index entry (card numbers are unique across
/// programs). Like [`user_id_for`], it reveals nothing of the number without the vault's key.
pub fn card_id_for(pan_fingerprint: &[u8; 32]) -> String {
    derived_id(b"card", &[pan_fingerprint])
}

/// `n` random decimal digits.
pub fn digits(n: usize) -> String {
    nanoid::nanoid!(n, &DIGITS, random_bytes)
}

/// Upper-case letters and digits without I, L, O and U (Crockford's base 32): easy to read out
/// at a counter.
const PACK: [char; 32] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J',
    'K', 'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'V', 'W', 'X', 'Y', 'Z',
];

/// A generated card pack ID: `PK` and 14 characters of base 32, so that it is never a run of
/// digits that a data-loss scanner would take for a card number.
pub fn new_pack_id() -> String {
    loop {
        let id = format!("PK{}", nanoid::nanoid!(14, &PACK, random_bytes));
        if id.bytes().filter(u8::is_ascii_digit).count() < 13 {
            return id;
        }
    }
}

/// A wallet number: 16 digits whose Luhn check fails on purpose, so a wallet number is never
/// mistaken for a card number (by a client, a log scanner or a data-loss tool).
pub fn new_wallet_number() -> String {
    let first15 = digits(15);
    let check = super::rules::luhn_check_digit(&first15);
    format!("{first15}{}", (check + 1) % 10)
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
    fn user_and_card_ids_are_derived_from_fingerprints() {
        let a = user_id_for("SANDBOX", &[1; 32]);
        assert_eq!(a.len(), 22);
        assert!(is_identifier(&a));
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(a, user_id_for("SANDBOX", &[1; 32]));
        assert_ne!(a, user_id_for("SANDBOX", &[2; 32]));
        assert_ne!(a, user_id_for("OTHER", &[1; 32]));
        let c = card_id_for(&[1; 32]);
        assert!(is_identifier(&c) && c.len() == 22);
        assert_eq!(c, card_id_for(&[1; 32]));
        assert_ne!(c, card_id_for(&[2; 32]));
        assert_ne!(c, a, "user and card ids of one fingerprint differ");
    }

    #[test]
    fn new_ids_are_identifiers_and_distinct() {
        let a = new_id();
        assert!(is_identifier(&a));
        assert_ne!(a, new_id());
        assert!(!is_identifier("short"));
        assert!(!is_identifier("has space in it ok"));
        assert_eq!(digits(12).len(), 12);
        for _ in 0..1000 {
            let w = new_wallet_number();
            assert_eq!(w.len(), 16);
            assert!(!crate::domain::rules::luhn_valid(&w), "{w}");
            let p = new_pack_id();
            assert_eq!(p.len(), 16);
            assert!(!p.chars().skip(2).all(|c| c.is_ascii_digit()), "{p}");
        }
    }
}
