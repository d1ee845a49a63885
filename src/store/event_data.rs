//! How an event's `data` (the entity's JSON, 200-1,000 bytes) is kept at rest: compressed with
//! zstd against a dictionary of sample events, about a seventh of its size (events were about
//! three quarters of the bytes a customer costs, and on PostgreSQL every event is written twice:
//! inbox, then `events`).
//!
//! Stored form: `[1] ++ zstd frame` made with the raw-content dictionary `event_dict_v1.txt`
//! (a fast level, no checksum: the stores check their own pages, and a frame says its size). Anything
//! else is the JSON as it was stored before (it starts with `{`), read as it is; data that would
//! not shrink is kept that way too. Both engines store this form (sled in its event groups,
//! [`StoredEvents`]; PostgreSQL in the `data` columns), and every read gives the JSON back, so
//! nothing above the store (the domain's `Event` included) sees the difference. The dictionary never changes: a
//! better one is another file under another marker byte, and both stay readable.
//!
//! Each thread keeps one compression and one decompression context (making one costs more than
//! compressing an event).

use crate::domain::event::{Event, EventType, Subjects};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::RefCell;
use std::sync::LazyLock;
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// The first byte of data compressed with dictionary v1.
const ZSTD_V1: u8 = 1;
/// The dictionary's bytes: sample events, read as raw content (see the file's first line).
const DICT_V1: &[u8] = include_bytes!("event_dict_v1.txt");
/// Larger data than this does not decode: no entity's JSON comes near it.
const MAX_DATA: usize = 1 << 20;
/// zstd's fastest level: compressing an event takes microseconds; higher levels gained ~1% here.
const LEVEL: i32 = -7;

static ENCODER: LazyLock<EncoderDictionary<'static>> =
    LazyLock::new(|| EncoderDictionary::copy(DICT_V1, LEVEL));
static DECODER: LazyLock<DecoderDictionary<'static>> =
    LazyLock::new(|| DecoderDictionary::copy(DICT_V1));

thread_local! {
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

/// The stored form of `data` (see the module doc).
pub fn pack(data: &[u8]) -> Vec<u8> {
    let packed = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            let mut fresh = Compressor::with_prepared_dictionary(&ENCODER).ok()?;
            fresh.include_checksum(false).ok()?;
            fresh.include_dictid(false).ok()?;
            fresh.include_contentsize(true).ok()?;
            *c = Some(fresh);
        }
        let frame = c.as_mut()?.compress(data).ok()?;
        let mut out = Vec::with_capacity(1 + frame.len());
        out.push(ZSTD_V1);
        out.extend_from_slice(&frame);
        Some(out)
    });
    match packed {
        Some(p) if p.len() < data.len() => p,
        _ => data.to_vec(),
    }
}

/// The data of a stored form: the JSON back.
pub fn unpack(stored: &[u8]) -> Result<Vec<u8>, String> {
    let Some((&ZSTD_V1, frame)) = stored.split_first() else {
        return Ok(stored.to_vec());
    };
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n <= MAX_DATA as u64 => n as usize,
        _ => return Err("event data: a compressed frame without a size in bounds".into()),
    };
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            let fresh = Decompressor::with_prepared_dictionary(&DECODER)
                .map_err(|e| format!("event data: {e}"))?;
            *d = Some(fresh);
        }
        let d = d.as_mut().expect("made above");
        let out = d
            .decompress(frame, size)
            .map_err(|e| format!("event data: {e}"))?;
        if out.len() != size {
            return Err("event data: a compressed frame shorter than it says".into());
        }
        Ok(out)
    })
}

/// One event as the embedded engine's events tree keeps it: the domain's `Event`, field for
/// field in its order, with `data` in its stored form. Encoded exactly as an `Event` was, so
/// events written before (their data as JSON) read as they are.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredEvent {
    sequence: u64,
    id: String,
    kind: EventType,
    occurred_at_ms: i64,
    program: String,
    request_id: Option<String>,
    subjects: Subjects,
    data: Vec<u8>,
}

impl From<&Event> for StoredEvent {
    fn from(e: &Event) -> StoredEvent {
        StoredEvent {
            sequence: e.sequence,
            id: e.id.clone(),
            kind: e.kind,
            occurred_at_ms: e.occurred_at_ms,
            program: e.program.clone(),
            request_id: e.request_id.clone(),
            subjects: e.subjects.clone(),
            data: pack(&e.data),
        }
    }
}

impl TryFrom<StoredEvent> for Event {
    type Error = String;

    fn try_from(s: StoredEvent) -> Result<Event, String> {
        Ok(Event {
            data: unpack(&s.data)?,
            sequence: s.sequence,
            id: s.id,
            kind: s.kind,
            occurred_at_ms: s.occurred_at_ms,
            program: s.program,
            request_id: s.request_id,
            subjects: s.subjects,
        })
    }
}

/// A group of events (one transaction's) as the events tree keeps it: a sequence of
/// [`StoredEvent`], encoded as the `Vec<Event>` it replaces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredEvents(pub Vec<Event>);

impl Serialize for StoredEvents {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(StoredEvent::from))
    }
}

impl<'de> Deserialize<'de> for StoredEvents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StoredEvents, D::Error> {
        Vec::<StoredEvent>::deserialize(d)?
            .into_iter()
            .map(|e| Event::try_from(e).map_err(serde::de::Error::custom))
            .collect::<Result<_, _>>()
            .map(StoredEvents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = r#"{"accountIdentifier":"xCzxFBASVstAitJpRWQsEg","accountReferenceNumber":"189229479983","programCode":"SANDBOX","productCode":"GPR100","productName":"Prepaid GPR card","accountType":"gpr","status":"normal","statusReasons":["healthy"],"accountStatusChangedDateTime":"2026-11-30T11:37:44Z","directDeposit":null,"accountHolders":[{"user":{"userIdentifier":"1Zi5Xwa7x0qMFStYNJuSpB","firstName":"Jordan","lastName":"Okafor","status":"active","isPrimaryAccountHolder":true,"identityType":"ssn","last4Identity":"4321","kycStateData":{"ofacStatus":"passed","kycStatus":"passed","kycPendingGate":"healthy"}},"paymentInstruments":[{"paymentInstrumentIdentifier":"0h8hjkXOSjztP75uG5neeP","paymentInstrumentType":"virtual","status":"activated","last4Pan":"7083","maskedPan":"40000099******7083","cardAlias":null,"cardPackId":null,"issuedDateTime":"2026-11-30T11:37:44Z","activatedDateTime":"2026-11-30T11:37:44Z"}]}]}"#;

    #[test]
    fn an_entity_is_kept_in_a_fraction_of_its_size_and_comes_back_byte_for_byte() {
        let packed = pack(ACCOUNT.as_bytes());
        assert_eq!(packed[0], ZSTD_V1);
        assert!(
            packed.len() * 4 < ACCOUNT.len(),
            "{} bytes kept for {}",
            packed.len(),
            ACCOUNT.len()
        );
        assert_eq!(unpack(&packed).unwrap(), ACCOUNT.as_bytes());
    }

    #[test]
    fn data_stored_before_and_data_that_would_not_shrink_read_as_they_are() {
        assert_eq!(unpack(b"{}").unwrap(), b"{}");
        assert_eq!(pack(b"{}"), b"{}");
        assert_eq!(unpack(b"").unwrap(), b"");
        assert_eq!(pack(b""), b"");
    }

    #[test]
    fn a_damaged_frame_is_an_error_not_a_panic() {
        let packed = pack(ACCOUNT.as_bytes());
        assert!(unpack(&packed[..packed.len() / 2]).is_err());
        assert!(unpack(&[ZSTD_V1]).is_err());
        assert!(unpack(&[ZSTD_V1, 0xff, 0xff]).is_err());
        let mut flipped = packed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x55;
        // Without a checksum a flipped byte may decode to other bytes, but never panics.
        let _ = unpack(&flipped);
    }

    #[test]
    fn the_dictionary_is_the_one_data_was_stored_with() {
        // The bytes of v1 never change (see the module doc): a SHA-256 to catch an edit.
        use sha2::{Digest, Sha256};
        let digest = hex::encode(Sha256::digest(DICT_V1));
        assert_eq!(digest, DICT_V1_SHA256, "event_dict_v1.txt changed");
    }

    const DICT_V1_SHA256: &str = "80e916f9990443c0e0016327575dcfbaa9b8d04927be4c8e00d531824c5357c6";
}
