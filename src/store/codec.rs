//! The one place where records become bytes and back.
//!
//! Every value is `[FORMAT_VERSION] ++ bincode-2(serde)`. The version byte lets the format move
//! later (a migration reads the old byte, writes the new) without touching the domain types.
//!
//! bincode-serde would store an enum variant by its position, so reordering the variants of a
//! stored enum would silently misread every existing store. Every stored enum therefore carries
//! explicit tags instead: unit-only enums get a `u8` tag per variant from one table
//! ([`stored_tags!`]), stored with `#[serde(into = "u8", try_from = "u8")]` on the enum (model
//! enums, which have no other serde form) or `#[serde(with = "codec::tag")]` on the stored field
//! (catalog enums, whose serde form is their name in the configuration); the one enum with data,
//! [`Owner`](super::Owner), writes and reads its variant index by hand. The tags equal the
//! positions the variants had when stores were first written, and a `u8` below 251 encodes as the
//! same one byte as bincode's varint variant index, so existing stores decode byte for byte.
//! `src/store/golden.rs` pins the bytes of every record type.

use serde::{de::DeserializeOwned, Serialize};

/// Version byte in front of every encoded record.
pub const FORMAT_VERSION: u8 = 1;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Why a stored value could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum CodecError {
    Empty,
    UnknownVersion(u8),
    Malformed(String),
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodecError::Empty => write!(f, "empty record"),
            CodecError::UnknownVersion(v) => write!(f, "unknown record format version {v}"),
            CodecError::Malformed(m) => write!(f, "malformed record: {m}"),
        }
    }
}

impl std::error::Error for CodecError {}

// The stored tags of domain enums are the domain's own (`domain::tags`); re-exported here,
// where records are encoded.
pub use crate::domain::tags::{tag, UnknownTag};

/// Encodes a record with its version byte.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.push(FORMAT_VERSION);
    // Encoding plain serde structs into a Vec cannot fail (no maps with non-string keys that
    // bincode refuses, no I/O); a failure would be a programming error in a domain type.
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .expect("domain records always encode");
    out
}

/// Decodes a record written by [`encode`], refusing unknown versions and trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(CodecError::UnknownVersion(version));
    }
    let (value, read) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if read != body.len() {
        return Err(CodecError::Malformed(format!(
            "{} trailing bytes",
            body.len() - read
        )));
    }
    Ok(value)
}

/// One write of a journal record: tree index, key, new value (`None`: removed).
pub type JournalWrite = (u8, Vec<u8>, Option<Vec<u8>>);

/// A [`JournalWrite`] borrowed from the batch being journaled.
pub type JournalWriteRef<'a> = (u8, &'a [u8], Option<&'a [u8]>);

/// Encodes a batch of writes as one journal record (version byte, then bincode's native
/// encoding, which copies byte strings whole).
pub fn encode_journal<'a>(writes: impl Iterator<Item = JournalWriteRef<'a>>) -> Vec<u8> {
    let writes: Vec<JournalWriteRef> = writes.collect();
    let mut out = Vec::with_capacity(
        16 + writes
            .iter()
            .map(|(_, k, v)| k.len() + v.map_or(0, |v| v.len()) + 8)
            .sum::<usize>(),
    );
    out.push(FORMAT_VERSION);
    bincode::encode_into_std_write(&writes, &mut out, config())
        .expect("byte strings always encode");
    out
}

/// Decodes a journal record written by [`encode_journal`].
pub fn decode_journal(bytes: &[u8]) -> Result<Vec<JournalWrite>, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(CodecError::UnknownVersion(version));
    }
    let (writes, read) = bincode::decode_from_slice(body, config())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if read != body.len() {
        return Err(CodecError::Malformed(format!(
            "{} trailing bytes",
            body.len() - read
        )));
    }
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        id: String,
        n: u64,
        tags: Vec<String>,
        opt: Option<i32>,
    }

    fn sample() -> Sample {
        Sample {
            id: "abc".into(),
            n: 42,
            tags: vec!["x".into(), "ü".into()],
            opt: None,
        }
    }

    /// bincode-serde writes an enum variant as its index, a u32, which the standard config
    /// encodes as a varint: one byte equal to the index below 251. A `u8` is always one byte, as
    /// is. So a stored enum may switch from its position to an explicit `u8` tag equal to that
    /// position without changing a byte of any record already stored (as long as tags stay below
    /// 251, and every stored enum has fewer than ten variants).
    #[test]
    fn a_u8_tag_encodes_and_decodes_like_a_variant_index_below_251() {
        struct Variant(u32);
        impl Serialize for Variant {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_unit_variant("E", self.0, "V")
            }
        }
        for i in 0..=250u8 {
            assert_eq!(encode(&Variant(i.into())), vec![FORMAT_VERSION, i]);
            assert_eq!(encode(&i), vec![FORMAT_VERSION, i]);
        }
        assert_eq!(encode(&Variant(251)).len(), 1 + 3, "a varint from 251 on");

        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        enum Three {
            A,
            B,
            C,
        }
        assert_eq!(encode(&Three::A), vec![FORMAT_VERSION, 0]);
        assert_eq!(encode(&Three::C), vec![FORMAT_VERSION, 2]);
        assert_eq!(decode::<u8>(&encode(&Three::B)), Ok(1));
        assert_eq!(decode::<Three>(&encode(&2u8)), Ok(Three::C));
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let bytes = encode(&sample());
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode::<Sample>(&bytes).unwrap(), sample());
    }

    #[test]
    fn journal_records_round_trip() {
        let writes = [
            (3u8, &b"key"[..], Some(&b"value"[..])),
            (0u8, &b"gone"[..], None),
        ];
        let bytes = encode_journal(writes.iter().copied());
        assert_eq!(
            decode_journal(&bytes).unwrap(),
            vec![
                (3, b"key".to_vec(), Some(b"value".to_vec())),
                (0, b"gone".to_vec(), None)
            ]
        );
        assert!(decode_journal(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn unknown_version_is_refused() {
        let mut bytes = encode(&sample());
        bytes[0] = 99;
        assert_eq!(
            decode::<Sample>(&bytes),
            Err(CodecError::UnknownVersion(99))
        );
    }

    #[test]
    fn empty_truncated_and_trailing_bytes_are_refused() {
        assert_eq!(decode::<Sample>(&[]), Err(CodecError::Empty));
        let bytes = encode(&sample());
        assert!(matches!(
            decode::<Sample>(&bytes[..bytes.len() - 2]),
            Err(CodecError::Malformed(_))
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode::<Sample>(&longer),
            Err(CodecError::Malformed(_))
        ));
    }
}
