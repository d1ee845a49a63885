//! The screening index built at load: entries, listed names as vocabulary tokens, postings,
//! the key map (token, one-character deletions, consonant skeleton) and the concatenation map.

use super::normalize::{normalize_into, Tokens};
use super::SdnList;
use std::collections::HashMap;

/// Tokens of a listed name indexed; further tokens are ignored.
pub(super) const MAX_NAME_TOKENS: usize = 32;
/// Tokens longer than this get no deletion keys (exact and skeleton keys only).
const MAX_DELETE_KEY_CHARS: usize = 40;
const NS_TOKEN: u64 = 0x9e37_79b9_7f4a_7c15;
const NS_SKELETON: u64 = 0xc2b2_ae3d_27d4_eb4f;
pub(super) const NS_CONCAT: u64 = 0x1656_67b1_9e37_79f9;

/// Maps keyed by hashes or ids, which need no strong hasher.
pub(super) type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

#[derive(Debug)]
pub(super) struct Entry {
    pub(super) ent_num: u32,
    pub(super) sdn_name: String,
    pub(super) program: String,
    pub(super) sdn_type: String,
}

#[derive(Debug)]
pub(super) struct Name {
    pub(super) entry: u32,
    pub(super) alt_type: Option<String>,
    pub(super) listed: String,
    /// Vocabulary ids, natural order.
    pub(super) tokens: Box<[u32]>,
    /// Folded tokens concatenated.
    pub(super) concat: Box<str>,
    /// Characters of `concat`.
    pub(super) concat_chars: u32,
    /// Bits of the tokens from the given-name part (`First Middle` of `LAST, First Middle`)
    /// and from the surname part; both 0 when the listed name has no comma.
    pub(super) given_mask: u64,
    pub(super) surname_mask: u64,
}

#[derive(Default)]
pub(super) struct Builder {
    pub(super) entries: Vec<Entry>,
    pub(super) names: Vec<Name>,
    pub(super) vocab: Vec<Box<str>>,
    pub(super) vocab_ids: HashMap<Box<str>, u32>,
    pub(super) postings: Vec<Vec<u32>>,
}

impl Builder {
    pub(super) fn add_name(&mut self, entry: u32, alt_type: Option<String>, listed: &str) {
        let mut t = Tokens::default();
        let (mut given_mask, mut surname_mask) = (0u64, 0u64);
        match split_listed(listed) {
            Some((last, given)) => {
                normalize_into(given, &mut t, MAX_NAME_TOKENS);
                let k = t.folded.len();
                normalize_into(last, &mut t, MAX_NAME_TOKENS);
                let m = t.folded.len();
                if k > 0 && m > k {
                    given_mask = (1u64 << k) - 1;
                    surname_mask = ((1u64 << m) - 1) & !given_mask;
                }
            }
            None => normalize_into(listed, &mut t, MAX_NAME_TOKENS),
        }
        if t.folded.is_empty() {
            return;
        }
        let id = self.names.len() as u32;
        let tokens: Box<[u32]> = t
            .folded
            .iter()
            .map(|tok| {
                let v = match self.vocab_ids.get(tok.as_str()) {
                    Some(&v) => v,
                    None => {
                        let v = self.vocab.len() as u32;
                        self.vocab.push(tok.as_str().into());
                        self.vocab_ids.insert(tok.as_str().into(), v);
                        self.postings.push(Vec::new());
                        v
                    }
                };
                let p = &mut self.postings[v as usize];
                if p.last() != Some(&id) {
                    p.push(id);
                }
                v
            })
            .collect();
        self.names.push(Name {
            entry,
            alt_type,
            listed: listed.to_string(),
            tokens,
            concat_chars: t.concat.chars().count() as u32,
            concat: t.concat.as_str().into(),
            given_mask,
            surname_mask,
        });
    }

    pub(super) fn finish(self, version: String) -> SdnList {
        let mut keys: FxMap<u64, Vec<u32>> = FxMap::default();
        for (v, tok) in self.vocab.iter().enumerate() {
            for_each_key(tok, |key| {
                let ids = keys.entry(key).or_default();
                if ids.last() != Some(&(v as u32)) {
                    ids.push(v as u32);
                }
            });
        }
        let mut concat: FxMap<u64, Vec<u32>> = FxMap::default();
        for (id, name) in self.names.iter().enumerate() {
            concat
                .entry(hash_str(NS_CONCAT, &name.concat))
                .or_default()
                .push(id as u32);
        }
        let vocab_chars = self
            .vocab
            .iter()
            .map(|t| t.chars().count() as u32)
            .collect();
        SdnList {
            version,
            entries: self.entries,
            names: self.names,
            vocab: self.vocab,
            vocab_chars,
            postings: self.postings,
            keys,
            concat,
        }
    }
}

/// `LAST, First Middle` → `Some(("LAST", "First Middle"))`, split at the first comma;
/// `None` for names without a comma (kept as written).
pub(super) fn split_listed(listed: &str) -> Option<(&str, &str)> {
    listed
        .split_once(',')
        .filter(|(last, given)| !last.trim().is_empty() && !given.trim().is_empty())
}

/// FNV-1a over `parts`, seeded with a namespace.
pub(super) fn hash_parts(ns: u64, parts: &[&[u8]]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ ns;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

pub(super) fn hash_str(ns: u64, s: &str) -> u64 {
    hash_parts(ns, &[s.as_bytes()])
}

/// Consonant skeleton: first char, then consonants other than h/w/y, repeats collapsed.
pub(super) fn skeleton(token: &str) -> String {
    let mut out = String::new();
    let mut chars = token.chars();
    let Some(first) = chars.next() else {
        return out;
    };
    out.push(first);
    let mut last = first;
    for c in chars {
        if matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'h' | 'w') {
            continue;
        }
        if c != last {
            out.push(c);
        }
        last = c;
    }
    out
}

/// Index keys of a token: itself, its one-character deletions, its consonant skeleton.
pub(super) fn for_each_key(token: &str, mut f: impl FnMut(u64)) {
    let bytes = token.as_bytes();
    f(hash_parts(NS_TOKEN, &[bytes]));
    let chars = token.chars().count();
    if (2..=MAX_DELETE_KEY_CHARS).contains(&chars) {
        let mut prev: Option<u64> = None;
        for (at, c) in token.char_indices() {
            let h = hash_parts(NS_TOKEN, &[&bytes[..at], &bytes[at + c.len_utf8()..]]);
            // Deleting either of two equal adjacent characters gives the same key.
            if prev != Some(h) {
                f(h);
            }
            prev = Some(h);
        }
    }
    if chars >= 4 {
        let sk = skeleton(token);
        if sk.chars().count() >= 2 {
            f(hash_str(NS_SKELETON, &sk));
        }
    }
}
