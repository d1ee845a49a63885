//! Name normalisation for screening: a name and its look-alike, accented, differently cased or
//! differently punctuated spellings become the same tokens.
//!
//! Per character: a character outside ASCII is replaced by the ASCII letter it is confusable
//! with under Unicode's confusable skeleton (UTS #39, through `unicode-security`): Cyrillic
//! `а`, Greek `ο` or Cherokee `Ꭺ` become `a`, `o`, `a`; otherwise it is decomposed (NFKD:
//! full-width forms, ligatures, precomposed accents), combining marks (diacritics) dropped
//! and each remaining character mapped the same way. ASCII digits that look like letters are
//! those letters (`0`, `1`). Where a skeleton is shared by
//! several ASCII letters (`I`, `l`), the one of the character's own case wins, so a Cyrillic
//! capital `І` is an `i` and never an `l`. Then lower case, a few letters NFKD leaves alone
//! are folded (`ß→ss`, `ø→o`, …), and every other non-alphanumeric character separates tokens.
//! Listed names and queries go through the same function, so the mapping needs only to be
//! consistent, not readable.

use std::collections::HashMap;
use std::sync::OnceLock;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

/// Characters of input processed per name (per part for [`super::SdnList::screen_person`]).
pub const MAX_INPUT_CHARS: usize = 400;

/// The tokens of a name, folded.
#[derive(Default, Debug)]
pub(super) struct Tokens {
    /// At most the caller's `max_tokens` of them.
    pub(super) folded: Vec<String>,
    /// Every token concatenated, past `max_tokens` too: the letters of the name in order, which
    /// decide an exact match however the name is split into tokens.
    pub(super) concat: String,
}

/// Letters NFKD leaves alone that screening folds anyway.
fn fold_special(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ı' => "i",
        'ħ' => "h",
        _ => return None,
    })
}

/// Skeletons of the ASCII letters and digits: (lower-case letters, upper-case letters and digits),
/// each mapping a skeleton to the lower-case ASCII character it stands for.
fn ascii_skeletons() -> &'static (HashMap<String, char>, HashMap<String, char>) {
    static MAPS: OnceLock<(HashMap<String, char>, HashMap<String, char>)> = OnceLock::new();
    MAPS.get_or_init(|| {
        let sk = |c: char| skeleton(c.encode_utf8(&mut [0; 4])).collect::<String>();
        // Letters before digits: a skeleton shared by `O` and `0` stands for the letter.
        let mut lower = HashMap::new();
        for c in 'a'..='z' {
            lower.entry(sk(c)).or_insert(c);
        }
        let mut upper = HashMap::new();
        for c in ('A'..='Z').chain('0'..='9') {
            upper.entry(sk(c)).or_insert(c.to_ascii_lowercase());
        }
        (lower, upper)
    })
}

/// The ASCII spelling a non-ASCII character is confusable with, lower case; `None` when it
/// looks like no ASCII letter or digit.
fn ascii_look_alike(c: char) -> Option<String> {
    // Diacritics are dropped from the skeleton before the look-up, so `Î` finds `I` (and is an
    // `i`, never the `l` that shares `I`'s skeleton).
    let sk: String = skeleton(c.encode_utf8(&mut [0; 4]))
        .filter(|x| !is_combining_mark(*x))
        .collect();
    let (lower, upper) = ascii_skeletons();
    let (first, second) = if c.is_uppercase() {
        (upper, lower)
    } else {
        (lower, upper)
    };
    if let Some(&a) = first.get(&sk).or_else(|| second.get(&sk)) {
        return Some(a.to_string());
    }
    // A character that looks like several ASCII letters (a ligature, `ǆ`): take them all.
    let folded: String = sk
        .nfkd()
        .filter(|x| !is_combining_mark(*x))
        .flat_map(char::to_lowercase)
        .collect();
    (!folded.is_empty() && folded.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(folded)
}

/// The letter an ASCII digit looks like under the UTS #39 skeleton, or the digit itself.
fn digit_look_alike(d: char) -> char {
    let (lower, upper) = ascii_skeletons();
    let sk: String = skeleton(d.encode_utf8(&mut [0; 4])).collect();
    lower
        .get(&sk)
        .or_else(|| upper.get(&sk))
        .copied()
        .filter(char::is_ascii_alphabetic)
        .unwrap_or(d)
}

/// Appends one character of input to the current token, or ends the token. A character outside
/// ASCII is first taken for the ASCII letter it looks like, before NFKD: NFKD turns some
/// look-alikes into letters of their own script (the lunate sigma `Ϲ`, which looks like `C`,
/// decomposes to `Σ`).
fn push_char(c: char, token: &mut String, out: &mut Tokens, max_tokens: usize) {
    if c.is_ascii() {
        push_ascii(c, token, out, max_tokens);
    } else if let Some(a) = ascii_look_alike(c).filter(|_| !c.is_whitespace()) {
        token.push_str(&a);
    } else {
        for d in c.nfkd() {
            push_decomposed(d, token, out, max_tokens);
        }
    }
}

fn push_ascii(c: char, token: &mut String, out: &mut Tokens, max_tokens: usize) {
    if c.is_ascii_alphabetic() {
        token.push(c.to_ascii_lowercase());
    } else if c.is_ascii_digit() {
        // Digits that look like letters are those letters (`0` is `o`, `1` is `l`).
        token.push(digit_look_alike(c));
    } else {
        flush(token, out, max_tokens);
    }
}

/// One character of a non-ASCII character's NFKD decomposition.
fn push_decomposed(d: char, token: &mut String, out: &mut Tokens, max_tokens: usize) {
    if d.is_ascii() {
        return push_ascii(d, token, out, max_tokens);
    }
    if is_combining_mark(d) {
        // A diacritic is dropped; a spacing mark that looks like a letter (Malayalam `ം` is an
        // `o`) is that letter.
        if let Some(a) = ascii_look_alike(d) {
            token.push_str(&a);
        }
        return;
    }
    if d.is_whitespace() {
        return flush(token, out, max_tokens);
    }
    if let Some(a) = ascii_look_alike(d) {
        return token.push_str(&a);
    }
    if !d.is_alphanumeric() {
        return flush(token, out, max_tokens);
    }
    for lc in d.to_lowercase() {
        match fold_special(lc) {
            Some(f) => token.push_str(f),
            None => token.push(lc),
        }
    }
}

fn flush(token: &mut String, out: &mut Tokens, max_tokens: usize) {
    out.concat.push_str(token);
    if !token.is_empty() && out.folded.len() < max_tokens {
        out.folded.push(std::mem::take(token));
    }
    token.clear();
}

/// Appends the tokens of `s` (capped at [`MAX_INPUT_CHARS`] chars) to `out`, up to `max_tokens`.
pub(super) fn normalize_into(s: &str, out: &mut Tokens, max_tokens: usize) {
    let mut token = String::new();
    let capped = match s.char_indices().nth(MAX_INPUT_CHARS) {
        Some((at, _)) => &s[..at],
        None => s,
    };
    for c in capped.chars() {
        push_char(c, &mut token, out, max_tokens);
    }
    flush(&mut token, out, max_tokens);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<String> {
        let mut t = Tokens::default();
        normalize_into(s, &mut t, 16);
        t.folded
    }

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(
            tokens("  José-María  O'Brien, ßtraße Łódź  "),
            ["jose", "maria", "o", "brien", "sstrasse", "lodz"]
        );
        assert_eq!(tokens("Jose\u{301}"), ["jose"]);
        assert_eq!(tokens("ＳＡＤＤＡＭ"), ["saddam"]);
        assert_eq!(tokens("H0SSE1N 42"), ["hosseln", "42"]);
    }

    #[test]
    fn look_alikes_become_the_letters_they_look_like() {
        // Cyrillic а, е, о, с, р, х and capital І; Greek ο, Α, Ι.
        assert_eq!(tokens("Sаddаm Hussеin"), ["saddam", "hussein"]);
        assert_eq!(tokens("HUSSEІN"), ["hussein"]);
        assert_eq!(tokens("Rοbert ΑΙ"), ["robert", "ai"]);
        assert_eq!(tokens("Мugаbе"), ["mugabe"]);
        // A letter with no look-alike stays itself (у and о have Latin look-alikes).
        assert_eq!(tokens("Жуков"), ["жyкoв"]);
    }
}
