//! How an event's `data` (the entity's JSON, 200-1,000 bytes) is kept at rest: compressed with
//! zstd against a dictionary of sample events, about a seventh of its size (events were about
//! three quarters of the bytes a customer costs, and on PostgreSQL every event is written twice:
//! inbox, then `events`).
//!
//! Stored form of one event's data: `[1] ++ zstd frame` made with the raw-content dictionary
//! `event_dict_v1.txt` (a fast level, no checksum: the stores check their own pages, and a frame
//! says its size). Anything else is the JSON as it was stored before (it starts with `{`), read
//! as it is; data that would not shrink is kept that way too. PostgreSQL keeps this form in its
//! `data` columns ([`pack`], [`unpack`]).
//!
//! The embedded engine keeps a transaction's events as one value ([`encode_group`]): the whole
//! group (ids, subjects and data of its four or five events) as one frame, `[2] ++ zstd frame
//! of the group's encoding`, the data inside it as JSON. One frame costs less to make than one
//! per event (a frame's set-up dominates at these sizes) and shares what the events repeat.
//! Groups written before (`[1] ++ encoding`, each event's data in the form above) read as they
//! are ([`decode_group`]). Every read gives the JSON back, so nothing above the store (the
//! domain's `Event` included) sees the difference. The dictionary never changes: a better one
//! is another file under another marker byte, and both stay readable.
//!
//! Each thread keeps one compression and one decompression context (making one costs more than
//! compressing an event).

use super::codec;
use crate::domain::event::{Event, EventType, Subjects};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::LazyLock;
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// The first byte of data compressed with dictionary v1.
const ZSTD_V1: u8 = 1;
/// The dictionary's bytes: sample events, read as raw content (see the file's first line).
const DICT_V1: &[u8] = include_bytes!("event_dict_v1.txt");
/// The first byte of an event group kept as one frame ([`encode_group`]); groups written
/// before start with the codec's version byte.
const GROUP_ZSTD_V1: u8 = 2;
/// Larger data than this does not decode: no entity's JSON comes near it.
const MAX_DATA: usize = 1 << 20;
/// Larger groups than this do not decode: a transaction writes a few events (a copied store's
/// groups are the source's transactions).
const MAX_GROUP: usize = 64 << 20;
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
    match compress(data) {
        Some(frame) if 1 + frame.len() < data.len() => prefixed(ZSTD_V1, &frame),
        _ => data.to_vec(),
    }
}

/// A zstd frame of `data` against dictionary v1 (`None` if zstd refused, which it does not for
/// in-memory input).
fn compress(data: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            let mut fresh = Compressor::with_prepared_dictionary(&ENCODER).ok()?;
            fresh.include_checksum(false).ok()?;
            fresh.include_dictid(false).ok()?;
            fresh.include_contentsize(true).ok()?;
            *c = Some(fresh);
        }
        c.as_mut()?.compress(data).ok()
    })
}

/// The content of a frame made by [`compress`], refused past `max` bytes.
fn decompress(frame: &[u8], max: usize, what: &str) -> Result<Vec<u8>, String> {
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n <= max as u64 => n as usize,
        _ => {
            return Err(format!(
                "{what}: a compressed frame without a size in bounds"
            ))
        }
    };
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            let fresh = Decompressor::with_prepared_dictionary(&DECODER)
                .map_err(|e| format!("{what}: {e}"))?;
            *d = Some(fresh);
        }
        let d = d.as_mut().expect("made above");
        let out = d
            .decompress(frame, size)
            .map_err(|e| format!("{what}: {e}"))?;
        if out.len() != size {
            return Err(format!("{what}: a compressed frame shorter than it says"));
        }
        Ok(out)
    })
}

fn prefixed(marker: u8, frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + frame.len());
    out.push(marker);
    out.extend_from_slice(frame);
    out
}

/// The data of a stored form: the JSON back.
pub fn unpack(stored: &[u8]) -> Result<Vec<u8>, String> {
    match stored.split_first() {
        Some((&ZSTD_V1, frame)) => decompress(frame, MAX_DATA, "event data"),
        _ => Ok(stored.to_vec()),
    }
}

/// A transaction's events as the embedded engine's events tree keeps them: `[2] ++` one frame
/// of their encoding (each event's data as JSON), or that encoding itself (`[1] ++ …`, what a
/// group was before) when the frame would not be smaller.
pub fn encode_group(events: &[Event]) -> Vec<u8> {
    let plain = codec::encode(&events.iter().map(GroupEvent::from).collect::<Vec<_>>());
    match compress(&plain) {
        Some(frame) if 1 + frame.len() < plain.len() => prefixed(GROUP_ZSTD_V1, &frame),
        _ => plain,
    }
}

/// The events of a value written by [`encode_group`], or of a group written before.
pub fn decode_group(stored: &[u8]) -> Result<Vec<Event>, String> {
    let plain;
    let encoded = match stored.split_first() {
        Some((&GROUP_ZSTD_V1, frame)) => {
            plain = decompress(frame, MAX_GROUP, "event group")?;
            &plain[..]
        }
        _ => stored,
    };
    codec::decode::<Vec<StoredEvent>>(encoded)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(Event::try_from)
        .collect()
}

/// An event inside a group's frame: a [`StoredEvent`] (same fields, same order, so the frame's
/// content decodes as one) whose data is the JSON itself, borrowed.
#[derive(Serialize)]
struct GroupEvent<'a> {
    sequence: u64,
    id: &'a str,
    kind: EventType,
    occurred_at_ms: i64,
    program: &'a str,
    request_id: &'a Option<String>,
    subjects: &'a Subjects,
    #[serde(serialize_with = "serde_bytes::serialize")]
    data: &'a Vec<u8>,
}

impl<'a> From<&'a Event> for GroupEvent<'a> {
    fn from(e: &'a Event) -> GroupEvent<'a> {
        GroupEvent {
            sequence: e.sequence,
            id: &e.id,
            kind: e.kind,
            occurred_at_ms: e.occurred_at_ms,
            program: &e.program,
            request_id: &e.request_id,
            subjects: &e.subjects,
            data: &e.data,
        }
    }
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
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

/// Events were written one by one in this form before groups became one frame; the golden
/// bytes of that form (`event_v2`) are made with it.
#[cfg(test)]
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
        let data = match s.data.first() {
            Some(&ZSTD_V1) => unpack(&s.data)?,
            _ => s.data,
        };
        Ok(Event {
            data,
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

    /// An enrollment's events: the user, the account, the card and the enrollment, as a group.
    fn enrollment_group() -> Vec<Event> {
        let kinds = [
            EventType::UserCreated,
            EventType::AccountCreated,
            EventType::CardIssued,
            EventType::EnrollmentCompleted,
        ];
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                sequence: 41 + i as u64,
                id: format!("evt_Ab3dEf9h_{}", 41 + i),
                kind,
                occurred_at_ms: 1_764_500_000_000,
                program: "SANDBOX".into(),
                request_id: Some("7d0f3a52-3f7e-4c59-9d8e-2a7c1e0b9f11".into()),
                subjects: Subjects {
                    user: Some("1Zi5Xwa7x0qMFStYNJuSpB".into()),
                    account: Some("xCzxFBASVstAitJpRWQsEg".into()),
                    card: (i == 2).then(|| "0h8hjkXOSjztP75uG5neeP".into()),
                    wallet: None,
                    kit: None,
                },
                data: ACCOUNT
                    .replace("normal", &format!("normal{i}"))
                    .into_bytes(),
            })
            .collect()
    }

    #[test]
    fn a_group_is_one_frame_smaller_than_its_events_packed_one_by_one_and_comes_back() {
        let group = enrollment_group();
        let stored = encode_group(&group);
        assert_eq!(stored[0], GROUP_ZSTD_V1);
        let one_by_one = codec::encode(&group.iter().map(StoredEvent::from).collect::<Vec<_>>());
        assert!(
            stored.len() * 2 < one_by_one.len(),
            "{} bytes as one frame, {} packed one by one",
            stored.len(),
            one_by_one.len()
        );
        // Eight times in the group (each event's program and data), at most once in its frame.
        assert!(stored.windows(7).filter(|w| w == b"SANDBOX").count() <= 1);
        assert_eq!(decode_group(&stored).unwrap(), group);
    }

    #[test]
    fn groups_written_before_read_as_they_are() {
        let group = enrollment_group();
        // Each event's data packed on its own, then before that plain JSON: the groups of the
        // two earlier versions, `[1] ++` their encoding.
        let packed = codec::encode(&group.iter().map(StoredEvent::from).collect::<Vec<_>>());
        let plain = codec::encode(&group.iter().map(GroupEvent::from).collect::<Vec<_>>());
        assert_eq!(packed[0], codec::FORMAT_VERSION);
        assert_eq!(plain[0], codec::FORMAT_VERSION);
        assert_eq!(decode_group(&packed).unwrap(), group);
        assert_eq!(decode_group(&plain).unwrap(), group);
    }

    #[test]
    fn a_group_that_would_not_shrink_is_kept_as_its_encoding() {
        let mut tiny = enrollment_group();
        tiny.truncate(1);
        tiny[0].data = b"{}".to_vec();
        tiny[0].request_id = None;
        tiny[0].subjects = Subjects::default();
        let stored = encode_group(&tiny);
        assert_eq!(stored[0], codec::FORMAT_VERSION);
        assert_eq!(decode_group(&stored).unwrap(), tiny);
    }

    #[test]
    fn a_damaged_group_is_an_error_not_a_panic() {
        let stored = encode_group(&enrollment_group());
        assert!(decode_group(&stored[..stored.len() / 2]).is_err());
        assert!(decode_group(&[]).is_err());
        assert!(decode_group(&[GROUP_ZSTD_V1]).is_err());
        assert!(decode_group(&[GROUP_ZSTD_V1, 0xff, 0xff]).is_err());
        // A frame claiming more content than any group may hold is refused before allocating.
        let mut huge = vec![GROUP_ZSTD_V1];
        huge.extend_from_slice(&zstd::bulk::compress(&vec![b'{'; MAX_GROUP + 1], 1).unwrap());
        assert!(decode_group(&huge).is_err());
        let mut flipped = stored.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x55;
        let _ = decode_group(&flipped);
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
