//! Card numbers (PANs): generation under a BIN, encryption at rest, keyed lookup hash, masking.
//!
//! A full card number exists in memory only while a card is made or a kit is loaded, and in the
//! one sandbox response that hands it out. At rest a card holds a [`SealedPan`]: AES-256-GCM
//! ciphertext, an HMAC-SHA-256 of the digits for the number index, and the first digits and last
//! four for display. Two independent keys are derived from the configured `pan_key` with HKDF so
//! the lookup hash never reuses the encryption key.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};

use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub use crate::domain::card_number::{Fingerprint, SealedPan};
pub use crate::domain::rules::{luhn_check_digit, luhn_valid};

#[derive(Debug, PartialEq, Eq)]
pub enum VaultError {
    BadKey,
    Decrypt,
}

impl std::fmt::Display for VaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VaultError::BadKey => write!(f, "pan_key must be 64 hex digits (32 bytes)"),
            VaultError::Decrypt => {
                write!(f, "card number could not be decrypted with this pan_key")
            }
        }
    }
}

impl std::error::Error for VaultError {}

/// Holds the derived keys; cheap to share behind an `Arc`.
pub struct Vault {
    cipher: Aes256Gcm,
    mac_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault { .. }")
    }
}

impl Vault {
    /// Builds a vault from the 64-hex-digit `pan_key`.
    pub fn from_hex_key(hex_key: &str) -> Result<Vault, VaultError> {
        let raw = hex::decode(hex_key.trim()).map_err(|_| VaultError::BadKey)?;
        if raw.len() != 32 {
            return Err(VaultError::BadKey);
        }
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"issuebox-vault-v1"), &raw);
        let mut enc = [0u8; 32];
        let mut mac = [0u8; 32];
        hk.expand(b"pan-encryption", &mut enc)
            .map_err(|_| VaultError::BadKey)?;
        hk.expand(b"lookup-hmac", &mut mac)
            .map_err(|_| VaultError::BadKey)?;
        let cipher = Aes256Gcm::new_from_slice(&enc).map_err(|_| VaultError::BadKey)?;
        Ok(Vault {
            cipher,
            mac_key: mac,
        })
    }

    /// Keyed hash of any secret digits (card number, SSN), domain-separated by `purpose`.
    pub fn fingerprint(&self, purpose: &[u8], digits: &str) -> Fingerprint {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.mac_key).expect("any key length");
        mac.update(purpose);
        mac.update(&[0]);
        mac.update(digits.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The index key of a card number.
    pub fn pan_fingerprint(&self, pan: &str) -> Fingerprint {
        self.fingerprint(b"pan", pan)
    }

    /// Encrypts a card number; `bin_len` digits are kept in clear for display.
    pub fn seal(&self, pan: &str, bin_len: usize) -> SealedPan {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), pan.as_bytes())
            .expect("AES-GCM encryption of a short buffer cannot fail");
        SealedPan {
            nonce,
            ciphertext,
            fingerprint: self.pan_fingerprint(pan),
            first_digits: pan[..bin_len.min(pan.len())].to_string(),
            last4: pan[pan.len().saturating_sub(4)..].to_string(),
            length: pan.len() as u8,
        }
    }

    /// Decrypts a sealed card number.
    pub fn open(&self, sealed: &SealedPan) -> Result<String, VaultError> {
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), sealed.ciphertext.as_ref())
            .map_err(|_| VaultError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| VaultError::Decrypt)
    }
}

/// True for a Luhn-valid run of 13-19 digits: something that must never serve as an alias.
pub fn looks_like_card_number(s: &str) -> bool {
    (13..=19).contains(&s.len()) && luhn_valid(s)
}

/// A random Luhn-valid number of `length` digits starting with `bin`.
pub fn generate_pan(bin: &str, length: usize) -> String {
    generate_pan_with(&mut rand::thread_rng(), bin, length)
}

/// [`generate_pan`] drawing its digits from `rng`.
pub fn generate_pan_with(rng: &mut impl Rng, bin: &str, length: usize) -> String {
    let mut pan = String::with_capacity(length);
    pan.push_str(bin);
    while pan.len() < length - 1 {
        pan.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    let check = luhn_check_digit(&pan);
    pan.push(char::from(b'0' + check));
    pan
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn luhn_accepts_known_numbers_and_refuses_others() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("41111111a1111111"));
        assert!(!luhn_valid(""));
    }

    #[test]
    fn generated_numbers_are_luhn_valid_under_the_bin() {
        for len in 15..=19 {
            for _ in 0..200 {
                let pan = generate_pan("40000099", len);
                assert_eq!(pan.len(), len);
                assert!(pan.starts_with("40000099"));
                assert!(luhn_valid(&pan), "{pan}");
            }
        }
    }

    #[test]
    fn card_number_lookalikes_are_detected() {
        assert!(looks_like_card_number("4111111111111111"));
        assert!(!looks_like_card_number("CUST-000123"));
        assert!(!looks_like_card_number("4111111111111112"));
        assert!(!looks_like_card_number("411111111111")); // 12 digits
    }

    #[test]
    fn seal_and_open_round_trip() {
        let vault = Vault::from_hex_key(KEY).unwrap();
        let pan = generate_pan("40000099", 16);
        let sealed = vault.seal(&pan, 8);
        assert_eq!(vault.open(&sealed).unwrap(), pan);
        assert_eq!(sealed.fingerprint, vault.pan_fingerprint(&pan));
        assert_eq!(sealed.last4, &pan[12..]);
        assert_eq!(sealed.first_digits, "40000099");
    }

    #[test]
    fn masks_follow_the_two_dialects() {
        let vault = Vault::from_hex_key(KEY).unwrap();
        let sealed = vault.seal("4000009912345678", 8);
        assert_eq!(sealed.masked_baas(), "40000099******5678");
        assert_eq!(sealed.masked_device(), "400000******5678");
        let sealed19 = vault.seal("4000009912345678901", 8);
        assert_eq!(sealed19.masked_device(), "400000*********8901");
    }

    #[test]
    fn sealed_record_holds_no_plaintext_number() {
        let vault = Vault::from_hex_key(KEY).unwrap();
        let pan = "4000009912345678";
        let encoded = crate::store::codec::encode(&vault.seal(pan, 8));
        let hay = String::from_utf8_lossy(&encoded);
        assert!(!hay.contains(pan));
        assert!(!encoded.windows(pan.len()).any(|w| w == pan.as_bytes()));
    }

    #[test]
    fn wrong_key_cannot_open_and_bad_keys_are_refused() {
        let vault = Vault::from_hex_key(KEY).unwrap();
        let other = Vault::from_hex_key(&"ab".repeat(32)).unwrap();
        let sealed = vault.seal("4000009912345678", 8);
        assert_eq!(other.open(&sealed), Err(VaultError::Decrypt));
        assert_ne!(
            other.pan_fingerprint("4000009912345678"),
            sealed.fingerprint
        );
        assert!(Vault::from_hex_key("abcd").is_err());
        assert!(Vault::from_hex_key(&"zz".repeat(32)).is_err());
    }
}
