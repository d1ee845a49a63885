//! Spellings of a name meant to slip past screening: look-alike letters of other scripts
//! (chosen from Unicode's confusables through `unicode-security`'s UTS #39 skeleton, not a
//! hand-made list), accents, case, extra spaces and punctuation inside tokens. Shared by
//! `tests/screening_evasion.rs` (the shipped list, proptest) and `benches/screening.rs` (the
//! full list).

use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

/// Non-ASCII look-alikes of each ASCII letter: characters whose UTS #39 skeleton is the letter's.
/// A cased look-alike stands only for a letter of its own case; a caseless one (`ǀ`, `ߋ`) only
/// for a lower-case letter, since the skeleton of `I` is `l`'s and a caseless sign cannot say
/// which of the two it means.
pub struct LookAlikes(HashMap<char, Vec<char>>);

impl LookAlikes {
    pub fn new() -> LookAlikes {
        let sk = |c: char| skeleton(c.encode_utf8(&mut [0; 4])).collect::<String>();
        let letters: Vec<(String, char)> =
            ('a'..='z').chain('A'..='Z').map(|c| (sk(c), c)).collect();
        let mut map: HashMap<char, Vec<char>> = HashMap::new();
        for cp in 0x80u32..0x2_0000 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            if !(c.is_alphanumeric() || c.is_ascii_punctuation()) || c.is_whitespace() {
                continue;
            }
            let s = sk(c);
            for (ls, l) in &letters {
                let case_ok = if c.is_uppercase() {
                    l.is_ascii_uppercase()
                } else {
                    // Lower-case and caseless look-alikes.
                    l.is_ascii_lowercase()
                };
                if *ls == s && case_ok {
                    map.entry(*l).or_default().push(c);
                }
            }
        }
        LookAlikes(map)
    }

    /// How many look-alikes there are in all.
    pub fn len(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    fn of(&self, c: char) -> &[char] {
        self.0.get(&c).map(Vec::as_slice).unwrap_or_default()
    }
}

impl Default for LookAlikes {
    fn default() -> Self {
        Self::new()
    }
}

/// xorshift64*: a deterministic source of choices.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const ACCENTS: [char; 5] = ['\u{301}', '\u{300}', '\u{308}', '\u{302}', '\u{327}'];
const INNER_PUNCTUATION: [&str; 4] = ["-", ".", "'", " "];

/// One evasive spelling of `name` (natural order): each letter is kept, re-cased, given an
/// accent or replaced by a look-alike; tokens may be split by punctuation or extra spaces.
/// The result is composed (NFC) half of the time, so accents come both precomposed and
/// combining.
pub fn disguise(name: &str, look: &LookAlikes, rng: &mut Rng) -> String {
    let mut out = String::new();
    let mut prev_letter = false;
    for c in name.chars() {
        if c == ' ' {
            out.push_str(if rng.chance(30) { "   " } else { " " });
            prev_letter = false;
            continue;
        }
        if prev_letter && c.is_alphabetic() && rng.chance(10) {
            out.push_str(INNER_PUNCTUATION[rng.below(INNER_PUNCTUATION.len())]);
        }
        prev_letter = c.is_alphabetic();
        let c = if c.is_ascii_alphabetic() && rng.chance(20) {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        } else {
            c
        };
        let alts = look.of(c);
        if !alts.is_empty() && rng.chance(25) {
            out.push(alts[rng.below(alts.len())]);
        } else {
            out.push(c);
            if c.is_ascii_alphabetic() && rng.chance(15) {
                out.push(ACCENTS[rng.below(ACCENTS.len())]);
            }
        }
    }
    if rng.chance(50) {
        out.nfc().collect()
    } else {
        out
    }
}

/// Screening outcome as an enrollment applies it: 0 clear, 1 review, 2 decline.
pub fn outcome(score: f64, review: f64, decline: f64) -> u8 {
    if score >= decline {
        2
    } else if score >= review {
        1
    } else {
        0
    }
}
