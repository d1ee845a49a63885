//! Golden bytes: the stored encoding of every record type, pinned.
//!
//! For each kind of value the store writes (entities, the stored enrollment outcome, index
//! values, the counters, journal records) a fixed, fully populated set of fixtures — every
//! variant of every stored enum appears somewhere, options both `Some` and `None` — must encode
//! to exactly the bytes committed in `src/store/golden/<record>.hex`, and those bytes must decode
//! back to the fixture. The files were first written by the code that wrote the stores in use
//! (enums still stored by position), and the explicit enum tags that replaced positions left
//! them unchanged. These tests fail when a field is moved, added or removed, when an enum tag
//! changes (or an enum loses its explicit tags and a variant is reordered), or when bincode's
//! encoding changes under us: any of those would make every existing store misread.
//!
//! File format: one fixture per line, `<label> <hex>`, the hex being the whole stored value
//! (version byte included); lines starting with `#` are comments.
//!
//! Regenerating the files (`ISSUEBOX_BLESS=1 cargo test --lib store::golden`) is a deliberate
//! FORMAT CHANGE: stores written before it no longer decode. Do it only together with a bump of
//! [`codec::FORMAT_VERSION`] and a migration that rewrites records of the old version (or for
//! fixtures added for a new record type, which changes no existing bytes). A test failing here
//! otherwise means the change that made it fail must be undone, not blessed.

use super::codec;
use super::embedded::{write_counts, TreeId};
use super::{Counted, Owner};
use crate::config::{AccountType, WalletKind, WalletUsage};
use crate::domain::model::*;
use fixtures::{
    accounts, deliveries, devices, events, fp, kits, outcomes, responses, reviews, s, users,
    wallets, webhooks,
};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;
use std::path::PathBuf;

mod fixtures;

const BLESS_VAR: &str = "ISSUEBOX_BLESS";

fn golden_path(record: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/store/golden")
        .join(format!("{record}.hex"))
}

fn blessing() -> bool {
    std::env::var(BLESS_VAR).is_ok_and(|v| v == "1")
}

/// Compares `(label, bytes)` with the golden file of `record` (or writes it when blessing).
fn check_bytes(record: &str, encoded: &[(String, Vec<u8>)]) -> Vec<Vec<u8>> {
    let path = golden_path(record);
    if blessing() {
        let mut text = format!(
            "# Stored encoding of {record} fixtures (src/store/golden.rs). Do not edit: a change\n\
             # here is a format change that needs a FORMAT_VERSION bump and a migration.\n"
        );
        for (label, bytes) in encoded {
            text.push_str(&format!("{label} {}\n", hex::encode(bytes)));
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; a new record type is blessed with {BLESS_VAR}=1",
            path.display()
        )
    });
    let golden: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once(' ').expect("`<label> <hex>`"))
        .collect();
    let labels = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>();
    assert_eq!(
        labels(&mut golden.iter().map(|(l, _)| l.to_string())),
        labels(&mut encoded.iter().map(|(l, _)| l.clone())),
        "{record}: the fixtures differ from those of {}",
        path.display()
    );
    let mut out = Vec::new();
    for ((label, hex_text), (_, bytes)) in golden.iter().zip(encoded) {
        let want = hex::decode(hex_text.trim()).expect("hex");
        assert_eq!(
            hex::encode(bytes),
            hex::encode(&want),
            "{record} `{label}` no longer encodes to its golden bytes: the stored format \
             changed (moved field or reordered/retagged enum variant?). Every existing store \
             would misread; undo the change, or bump FORMAT_VERSION with a migration and \
             re-bless (see src/store/golden.rs)"
        );
        out.push(want);
    }
    out
}

/// Checks codec-encoded records: their bytes, and that the golden bytes decode to the fixture.
fn check<T: Serialize + DeserializeOwned + Debug>(record: &str, fixtures: &[(&str, T)]) {
    let encoded: Vec<(String, Vec<u8>)> = fixtures
        .iter()
        .map(|(l, v)| (l.to_string(), codec::encode(v)))
        .collect();
    let golden = check_bytes(record, &encoded);
    for ((label, value), bytes) in fixtures.iter().zip(golden) {
        let back: T = codec::decode(&bytes)
            .unwrap_or_else(|e| panic!("{record} `{label}`: golden bytes do not decode: {e}"));
        assert_eq!(
            format!("{back:?}"),
            format!("{value:?}"),
            "{record} `{label}`: golden bytes decode to another value"
        );
    }
}

/// Since their data is kept compressed (`store::event_data`); `event.hex` holds the events as
/// written before, with their JSON as it was. The compressed bytes are zstd's own: an upgrade of
/// zstd that compresses differently fails here while every store still reads (decompression
/// does not change); then, and only then, re-bless `event_v2`.
#[test]
fn events_keep_their_encoding() {
    let stored: Vec<(&str, super::event_data::StoredEvent)> =
        events().iter().map(|(l, e)| (*l, e.into())).collect();
    check("event_v2", &stored);
}

/// A transaction's events as the events tree keeps them: one zstd frame of the group
/// (`event_data::encode_group`). zstd's own bytes, like `event_v2`: re-bless `event_group`
/// only for a zstd upgrade that compresses differently.
#[test]
fn event_groups_keep_their_encoding() {
    use super::event_data::{decode_group, encode_group};
    let fixtures: Vec<crate::domain::event::Event> = events().into_iter().map(|(_, e)| e).collect();
    let groups = [
        ("every_fixture", fixtures.clone()),
        ("one", fixtures[..1].to_vec()),
    ];
    let encoded: Vec<(String, Vec<u8>)> = groups
        .iter()
        .map(|(l, g)| (l.to_string(), encode_group(g)))
        .collect();
    let golden = check_bytes("event_group", &encoded);
    for ((label, group), bytes) in groups.iter().zip(golden) {
        let back = decode_group(&bytes)
            .unwrap_or_else(|e| panic!("event group `{label}`: golden bytes do not decode: {e}"));
        assert_eq!(&back, group, "event group `{label}`");
    }
}

/// Events as written before their data was kept compressed: still read, never written again.
#[test]
fn legacy_events_still_decode() {
    let text = std::fs::read_to_string(golden_path("event")).unwrap();
    let golden: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once(' ').expect("`<label> <hex>`"))
        .collect();
    let fixtures = events();
    assert_eq!(golden.len(), fixtures.len());
    for ((label, hex_text), (fixture_label, fixture)) in golden.iter().zip(&fixtures) {
        assert_eq!(label, fixture_label);
        let stored: super::event_data::StoredEvent =
            codec::decode(&hex::decode(hex_text.trim()).unwrap())
                .unwrap_or_else(|e| panic!("legacy event `{label}` does not decode: {e}"));
        let back = crate::domain::event::Event::try_from(stored).unwrap();
        assert_eq!(&back, fixture, "legacy event `{label}`");
    }
}

#[test]
fn webhooks_keep_their_encoding() {
    check("webhook", &webhooks());
}

#[test]
fn deliveries_keep_their_encoding() {
    check("delivery", &deliveries());
}

#[test]
fn users_keep_their_encoding() {
    check("user", &users());
}

#[test]
fn accounts_keep_their_encoding() {
    check("account", &accounts());
}

#[test]
fn devices_keep_their_encoding() {
    check("device", &devices());
}

#[test]
fn wallets_keep_their_encoding() {
    check("wallet", &wallets());
}

#[test]
fn kits_keep_their_encoding() {
    check("kit", &kits());
}

#[test]
fn reviews_keep_their_encoding() {
    check("review", &reviews());
}

#[test]
fn stored_responses_keep_their_encoding() {
    check("stored_response", &responses());
}

/// The body of a stored response: the enrollment outcome in its codec form.
#[test]
fn stored_outcomes_keep_their_encoding() {
    check("outcome", &outcomes());
}

/// Grants as written before they carried the client's secret fingerprint: still read (by
/// [`super::decode_grant`]), never written again.
#[test]
fn legacy_token_grants_still_decode() {
    let text = std::fs::read_to_string(golden_path("token_grant")).unwrap();
    let (_, hex) = text
        .lines()
        .find(|l| l.starts_with("grant "))
        .and_then(|l| l.split_once(' '))
        .expect("the legacy grant fixture");
    let g = super::decode_grant(&hex::decode(hex).unwrap()).expect("a legacy grant decodes");
    assert_eq!(
        g,
        TokenGrant {
            client_id: s("sandbox"),
            expires_at: 1_700_003_600,
            secret_fingerprint: None,
        }
    );
}

#[test]
fn token_grants_keep_their_encoding() {
    check(
        "token_grant_v2",
        &[
            (
                "fingerprinted",
                TokenGrant {
                    client_id: s("sandbox"),
                    expires_at: 1_700_003_600,
                    secret_fingerprint: Some(fp(9)),
                },
            ),
            (
                "none",
                TokenGrant {
                    client_id: s("branch"),
                    expires_at: 1_700_007_200,
                    secret_fingerprint: None,
                },
            ),
        ],
    );
}

/// A client's token list (`idx_tokens_by_client` values).
#[test]
fn token_lists_keep_their_encoding() {
    check(
        "token_list",
        &[(
            "two",
            vec![
                super::IndexedToken {
                    hash: fp(1),
                    expires_at: 1_700_003_600,
                },
                super::IndexedToken {
                    hash: fp(2),
                    expires_at: 1_700_007_200,
                },
            ],
        )],
    );
}

/// `idx_pack` and `idx_number` values.
#[test]
fn owners_keep_their_encoding() {
    check(
        "owner",
        &[
            ("device", Owner::Card(s("dCard00000000000000001"))),
            (
                "kit",
                Owner::Kit {
                    program: s("SANDBOX"),
                    mapping_id: s("MAP-0001"),
                },
            ),
        ],
    );
}

/// `idx_alias` and `idx_wallets_by_card` values (id lists) and `idx_ssn` values (a user id).
#[test]
fn index_lists_keep_their_encoding() {
    check(
        "id_list",
        &[
            ("two", vec![s("W1"), s("wInactive0000000000002")]),
            ("one", vec![s("dCard00000000000000001")]),
        ],
    );
    check("ssn_index", &[("user_id", s("LegacyUser0000000001"))]);
}

/// The `meta` counters: one big-endian u64 per [`Counted`], in tag order.
#[test]
fn counters_keep_their_layout() {
    let values = [
        (Counted::Users, 101u64),
        (Counted::Accounts, 102),
        (Counted::Cards, 103),
        (Counted::Wallets, 104),
        (Counted::Kits, 105),
        (Counted::StoredResponses, 106),
        (Counted::Reviews, 1 << 40),
    ];
    let mut counts = [0u64; Counted::ALL.len()];
    for (c, n) in values {
        counts[c.index()] = n;
    }
    let golden = check_bytes("counts", &[(s("counts"), write_counts(&counts))]);
    let back = super::embedded::read_counts(Some(&golden[0]));
    for (c, n) in values {
        assert_eq!(back[c.index()], n, "{c:?}");
    }
}

/// Journal records (a crash leaves them to be replayed at the next start): one write into every
/// tree, keyed by the tree's name, so that the tree tags are pinned too. `every_tree` holds the
/// trees of the first stores (before events), `event_trees` the trees added with events.
/// One journaled write: tree, key, value (`None`: a removal).
type JournalWrite = (TreeId, Vec<u8>, Option<Vec<u8>>);

#[test]
fn journal_records_keep_their_encoding() {
    let values: Vec<JournalWrite> = TreeId::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let v = (i % 3 != 2).then(|| vec![i as u8; i]);
            (*t, t.name().as_bytes().to_vec(), v)
        })
        .collect();
    let (first, added) = values.split_at(TreeId::Events as usize);
    let record = |values: &[JournalWrite]| {
        codec::encode_journal(
            values
                .iter()
                .map(|(t, k, v)| (*t as u8, k.as_slice(), v.as_deref())),
        )
    };
    let golden = check_bytes(
        "journal",
        &[
            (s("every_tree"), record(first)),
            (s("event_trees"), record(added)),
        ],
    );
    for (bytes, values) in golden.iter().zip([first, added]) {
        let back = codec::decode_journal(bytes).expect("golden journal record decodes");
        assert_eq!(back.len(), values.len());
        for ((tag, key, value), (t, k, v)) in back.into_iter().zip(values) {
            assert_eq!((tag, &key, &value), (*t as u8, k, v), "{t:?}");
        }
    }
}

/// Every enum stored by tag: tags `0..n` each name one variant and come back as themselves, and
/// any other tag is refused, as a decode error of the record holding it.
#[test]
fn stored_tags_round_trip_and_unknown_tags_are_refused() {
    fn tags<E>(n: u8)
    where
        E: TryFrom<u8, Error = codec::UnknownTag> + Into<u8> + Debug,
    {
        let known: Vec<u8> = (0..=255).filter(|t| E::try_from(*t).is_ok()).collect();
        assert_eq!(
            known,
            (0..n).collect::<Vec<_>>(),
            "{}",
            std::any::type_name::<E>()
        );
        for t in known {
            assert_eq!(E::try_from(t).unwrap().into(), t);
        }
    }
    tags::<UserStatus>(3);
    tags::<AccountStatus>(3);
    tags::<CardStatus>(CardStatus::ALL.len() as u8);
    tags::<CardType>(3);
    tags::<FormFactor>(2);
    tags::<WalletStatus>(3);
    tags::<KitStatus>(3);
    tags::<ReviewState>(4);
    tags::<AccountType>(2);
    tags::<WalletUsage>(2);
    tags::<WalletKind>(3);
    tags::<crate::domain::event::EventType>(crate::domain::event::EventType::ALL.len() as u8);
    tags::<crate::domain::webhook::WebhookStatus>(2);
    tags::<crate::domain::webhook::DeliveryStatus>(4);

    let v = codec::FORMAT_VERSION;
    assert!(matches!(
        codec::decode::<KitStatus>(&[v, 3]),
        Err(codec::CodecError::Malformed(m)) if m.contains("unknown KitStatus tag 3")
    ));
    #[derive(Debug, serde::Deserialize)]
    struct Stored {
        #[serde(with = "codec::tag")]
        _kind: WalletKind,
    }
    assert!(codec::decode::<Stored>(&[v, 2]).is_ok());
    assert!(matches!(
        codec::decode::<Stored>(&[v, 3]),
        Err(codec::CodecError::Malformed(m)) if m.contains("unknown WalletKind tag 3")
    ));
    let mut kit = codec::encode(&Owner::Kit {
        program: s("P"),
        mapping_id: s("M"),
    });
    kit[1] = 2;
    assert!(matches!(
        codec::decode::<Owner>(&kit),
        Err(codec::CodecError::Malformed(m)) if m.contains("unknown Owner tag 2")
    ));
    // A kit owner cut short is refused too.
    assert!(codec::decode::<Owner>(&kit[..4]).is_err());
}

/// A tree's tag is its index among the open trees and its slot in `TreeId::ALL`; a counter's is
/// its slot in the stored counts and in `Counted::ALL`.
#[test]
fn tree_and_counter_tags_are_their_positions() {
    for (i, t) in TreeId::ALL.iter().enumerate() {
        assert_eq!(*t as usize, i, "{t:?}");
    }
    for (i, c) in Counted::ALL.iter().enumerate() {
        assert_eq!(c.index(), i, "{c:?}");
    }
}
