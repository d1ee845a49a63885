//! A card number as the model holds it: sealed (encrypted by the vault, which makes these),
//! fingerprinted for look-up, and shown only masked.

use serde::{Deserialize, Serialize};

/// A keyed hash of a card number or SSN: the only form in which one is looked up.
pub type Fingerprint = [u8; 32];

/// How a card number rests in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedPan {
    pub nonce: [u8; 12],
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
    pub fingerprint: Fingerprint,
    /// The BIN digits (6-8), shown in masked forms.
    pub first_digits: String,
    pub last4: String,
    pub length: u8,
}

impl SealedPan {
    /// BaaS `maskedPan`: the BIN digits, six stars, the last four (`40000099******1234`).
    pub fn masked_baas(&self) -> String {
        format!("{}******{}", self.first_digits, self.last4)
    }

    /// Card `maskedNumber`: first six, one star per hidden digit, last four (`400000******5678`).
    pub fn masked_device(&self) -> String {
        let first6 = &self.first_digits[..6.min(self.first_digits.len())];
        let hidden = (self.length as usize).saturating_sub(first6.len() + 4);
        format!("{}{}{}", first6, "*".repeat(hidden), self.last4)
    }
}
