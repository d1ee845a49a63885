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
use super::{write_counts, Counted, Owner, TreeId};
use crate::config::{AccountType, WalletKind, WalletUsage};
use crate::domain::model::*;
use crate::ops::baas_view::StoredOutcome;
use crate::vault::SealedPan;
use crate::wire::baas_view::{
    AccountHolderView, AccountView, DirectDepositView, KycStateView, Outcome,
    PaymentInstrumentView, UserView,
};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;
use std::path::PathBuf;

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

fn fp(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| seed.wrapping_add(i as u8))
}

fn s(v: &str) -> String {
    v.to_string()
}

fn sealed(seed: u8) -> SealedPan {
    SealedPan {
        nonce: std::array::from_fn(|i| seed ^ i as u8),
        ciphertext: (0..32)
            .map(|i| seed.wrapping_mul(7).wrapping_add(i))
            .collect(),
        fingerprint: fp(seed),
        first_digits: s("40000099"),
        last4: s("1234"),
        length: 16,
    }
}

fn users() -> Vec<(&'static str, User)> {
    let full = User {
        id: s("uHg3Jx0aZq9LmN2bVc8dEf"),
        program: s("SANDBOX"),
        first_name: s("Émily"),
        middle_name: Some(s("Rose")),
        last_name: s("Carter"),
        date_of_birth: s("1990-01-31"),
        ssn_fingerprint: fp(1),
        ssn_last4: s("6789"),
        email: s("emily@example.com"),
        phones: vec![
            Phone {
                number: s("+15551234567"),
                kind: Some(s("mobile")),
                is_default: true,
            },
            Phone {
                number: s("+15557654321"),
                kind: None,
                is_default: false,
            },
        ],
        addresses: vec![
            Address {
                kind: s("home"),
                is_default: true,
                line1: s("1 Main St"),
                line2: Some(s("Apt 2")),
                city: s("Springfield"),
                state: s("IL"),
                zip: s("62701"),
            },
            Address {
                kind: s("mailing"),
                is_default: false,
                line1: s("PO Box 9"),
                line2: None,
                city: s("Chicago"),
                state: s("IL"),
                zip: s("60601"),
            },
        ],
        status: UserStatus::Active,
        kyc: KycState::passed(),
        account_ids: vec![s("A1"), s("A2")],
        created_at: 1_700_000_000,
    };
    let pending = User {
        id: s("uPending000000000000002"),
        middle_name: None,
        phones: Vec::new(),
        addresses: Vec::new(),
        status: UserStatus::Pending,
        kyc: KycState::ofac_pending(),
        account_ids: vec![s("A3")],
        created_at: -1,
        ..full.clone()
    };
    let closed = User {
        id: s("uClosed0000000000000003"),
        status: UserStatus::Closed,
        kyc: KycState::ofac_declined(),
        account_ids: Vec::new(),
        created_at: i64::MAX,
        ..full.clone()
    };
    vec![("active", full), ("pending", pending), ("closed", closed)]
}

fn accounts() -> Vec<(&'static str, Account)> {
    let normal = Account {
        id: s("aNormal000000000000001"),
        reference_number: s("1000000001"),
        program: s("SANDBOX"),
        product: s("GPR1"),
        account_type: AccountType::Gpr,
        status: AccountStatus::Normal,
        status_reasons: Vec::new(),
        status_changed_at: 1_700_000_000,
        direct_deposit: Some(DirectDeposit {
            routing_number: s("123456789"),
            account_number: s("000111222333"),
        }),
        user_id: s("uHg3Jx0aZq9LmN2bVc8dEf"),
        card_ids: vec![s("D1"), s("D2")],
        pending: None,
        created_at: 1_700_000_000,
    };
    let pending = Account {
        id: s("aPending00000000000002"),
        account_type: AccountType::Dda,
        product: s("DDA1"),
        status: AccountStatus::Pending,
        status_reasons: vec![s("ofacPending")],
        direct_deposit: None,
        card_ids: Vec::new(),
        pending: Some(PendingIssue {
            enrollment_key: b"sandbox\0SANDBOX\0req-1".to_vec(),
            kit_mapping_id: Some(s("MAP-0001")),
            physical_card: true,
            alias: Some(s("my card")),
        }),
        ..normal.clone()
    };
    let closed = Account {
        id: s("aClosed000000000000003"),
        status: AccountStatus::Closed,
        status_reasons: vec![s("ofacDeclined"), s("upgraded")],
        pending: Some(PendingIssue {
            enrollment_key: Vec::new(),
            kit_mapping_id: None,
            physical_card: false,
            alias: None,
        }),
        ..normal.clone()
    };
    vec![("normal", normal), ("pending", pending), ("closed", closed)]
}

fn devices() -> Vec<(&'static str, Card)> {
    let labels = [
        "normal",
        "not_activated",
        "blocked",
        "lost",
        "stolen",
        "replaced",
        "upgrade",
        "cancelled",
        "expired",
    ];
    let statuses = [
        CardStatus::Normal,
        CardStatus::NotActivated,
        CardStatus::Blocked,
        CardStatus::Lost,
        CardStatus::Stolen,
        CardStatus::Replaced,
        CardStatus::Upgrade,
        CardStatus::Cancelled,
        CardStatus::Expired,
    ];
    let types = [CardType::Primary, CardType::Supplementary, CardType::AddOn];
    let forms = [FormFactor::Virtual, FormFactor::Emv];
    labels
        .into_iter()
        .zip(statuses)
        .enumerate()
        .map(|(i, (label, status))| {
            let some = i % 2 == 0;
            (
                label,
                Card {
                    id: format!("dCard{i:017}"),
                    program: s("SANDBOX"),
                    product: s("GPR1"),
                    account_id: some.then(|| format!("aAccount{i:014}")),
                    card_type: types[i % 3],
                    status,
                    form: forms[i % 2],
                    pan: sealed(i as u8),
                    alias: some.then(|| s("travel")),
                    pack_id: (!some).then(|| format!("PACK{i:08}")),
                    issued_at: 1_700_000_000 + i as i64,
                    activated_at: some.then_some(1_700_000_100),
                    status_changed_at: 1_700_000_200,
                },
            )
        })
        .collect()
}

fn wallets() -> Vec<(&'static str, Wallet)> {
    let normal = Wallet {
        id: s("wNormal000000000000001"),
        number: s("9000000000000001"),
        card_id: s("dCard00000000000000000"),
        program: s("SANDBOX"),
        plan: s("WUSD"),
        promotion: Some(s("PROMO1")),
        currency: s("USD"),
        usage: WalletUsage::Open,
        kind: WalletKind::Default,
        status: WalletStatus::Normal,
        created_at: 1_700_000_000,
    };
    let inactive = Wallet {
        id: s("wInactive0000000000002"),
        plan: s("WMCG"),
        promotion: None,
        usage: WalletUsage::Closed,
        kind: WalletKind::Mcg,
        status: WalletStatus::Inactive,
        ..normal.clone()
    };
    let closed = Wallet {
        id: s("wClosed000000000000003"),
        plan: s("WMER"),
        currency: s("EUR"),
        usage: WalletUsage::Closed,
        kind: WalletKind::Merchant,
        status: WalletStatus::Closed,
        ..normal.clone()
    };
    vec![
        ("normal_open_default", normal),
        ("inactive_closed_mcg", inactive),
        ("closed_closed_merchant", closed),
    ]
}

fn kits() -> Vec<(&'static str, Kit)> {
    let available = Kit {
        mapping_id: s("MAP-0001"),
        program: s("SANDBOX"),
        product: s("GPR1"),
        pack_id: s("PACK00000001"),
        pan: sealed(40),
        status: KitStatus::Available,
        card_id: None,
        reserved_for: None,
        created_at: 1_700_000_000,
    };
    let reserved = Kit {
        mapping_id: s("MAP-0002"),
        pack_id: s("PACK00000002"),
        pan: sealed(41),
        status: KitStatus::Reserved,
        reserved_for: Some(s("sandbox\0SANDBOX\0req-2")),
        ..available.clone()
    };
    let assigned = Kit {
        mapping_id: s("MAP-0003"),
        pack_id: s("PACK00000003"),
        pan: sealed(42),
        status: KitStatus::Assigned,
        card_id: Some(s("dCard00000000000000042")),
        ..available.clone()
    };
    vec![
        ("available", available),
        ("reserved", reserved),
        ("assigned", assigned),
    ]
}

fn reviews() -> Vec<(&'static str, Review)> {
    let pending = Review {
        user_id: s("uPending000000000000002"),
        program: s("SANDBOX"),
        state: ReviewState::Pending,
        score: 0.912_345_678_9,
        matched_name: Some(s("JOHN DOE")),
        matched_ent_num: Some(36_123),
        list_version: s("sdn-2024-01-01-abcdef"),
        account_ids: vec![s("aPending00000000000002")],
        created_at: 1_700_000_000,
        decided_at: None,
    };
    let clearing = Review {
        state: ReviewState::Clearing,
        decided_at: Some(1_700_000_500),
        ..pending.clone()
    };
    let cleared = Review {
        state: ReviewState::Cleared,
        matched_name: None,
        matched_ent_num: None,
        score: 0.85,
        account_ids: Vec::new(),
        decided_at: Some(1_700_000_600),
        ..pending.clone()
    };
    let declined = Review {
        state: ReviewState::Declined,
        score: 1.0,
        account_ids: vec![s("A1"), s("A2")],
        decided_at: Some(1_700_000_700),
        ..pending.clone()
    };
    vec![
        ("pending", pending),
        ("clearing", clearing),
        ("cleared", cleared),
        ("declined", declined),
    ]
}

fn outcomes() -> Vec<(&'static str, Outcome)> {
    let card = |i: u32, activated: bool| PaymentInstrumentView {
        payment_instrument_identifier: format!("dCard{i:017}"),
        payment_instrument_type: s(if activated { "virtual" } else { "emv" }),
        status: s(if activated {
            "activated"
        } else {
            "notActivated"
        }),
        last4_pan: s("1234"),
        masked_pan: s("40000099******1234"),
        card_alias: activated.then(|| s("travel")),
        card_pack_id: (!activated).then(|| s("PACK00000001")),
        issued_date_time: s("2023-11-14T22:13:20Z"),
        activated_date_time: activated.then(|| s("2023-11-14T22:15:00Z")),
    };
    let account = AccountView {
        account_identifier: s("aNormal000000000000001"),
        account_reference_number: s("1000000001"),
        program_code: s("SANDBOX"),
        product_code: s("GPR1"),
        product_name: s("General purpose reloadable"),
        account_type: s("gpr"),
        status: s("normal"),
        status_reasons: vec![s("none")],
        account_status_changed_date_time: s("2023-11-14T22:13:20Z"),
        direct_deposit: Some(DirectDepositView {
            routing_number: s("123456789"),
            account_number: s("000111222333"),
        }),
        account_holders: vec![AccountHolderView {
            user: UserView {
                user_identifier: s("uHg3Jx0aZq9LmN2bVc8dEf"),
                first_name: s("Emily"),
                last_name: s("Carter"),
                status: s("active"),
                is_primary_account_holder: true,
                identity_type: s("ssn"),
                last4_identity: s("6789"),
                kyc_state_data: KycStateView {
                    ofac_status: s("passed"),
                    kyc_status: s("passed"),
                    kyc_pending_gate: s("healthy"),
                },
            },
            payment_instruments: vec![card(0, true), card(1, false)],
        }],
    };
    let bare = AccountView {
        direct_deposit: None,
        status_reasons: Vec::new(),
        account_holders: Vec::new(),
        ..account.clone()
    };
    vec![
        ("success", Outcome::new(0, 0, "Success", Some(account))),
        ("pending", Outcome::new(0, 0, "Pending", Some(bare))),
        ("refused", Outcome::new(400, 4502, "OFAC declined", None)),
    ]
}

fn responses() -> Vec<(&'static str, StoredResponse)> {
    let first = StoredResponse {
        request_digest: fp(90),
        upgrade_account: Some(s("aNormal000000000000001")),
        status: 200,
        body: outcomes()[0].1.stored(),
        account_id: Some(s("aUpgraded0000000000004")),
        created_at: 1_700_000_000,
    };
    let bare = StoredResponse {
        request_digest: fp(91),
        upgrade_account: None,
        status: 400,
        body: outcomes()[2].1.stored(),
        account_id: None,
        created_at: 1_700_000_001,
    };
    vec![("upgrade", first), ("refusal", bare)]
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
    let back = super::read_counts(Some(&golden[0]));
    for (c, n) in values {
        assert_eq!(back[c.index()], n, "{c:?}");
    }
}

/// Journal records (a crash leaves them to be replayed at the next start): one write into every
/// tree, keyed by the tree's name, so that the tree tags are pinned too.
#[test]
fn journal_records_keep_their_encoding() {
    let values: Vec<(TreeId, Vec<u8>, Option<Vec<u8>>)> = TreeId::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let v = (i % 3 != 2).then(|| vec![i as u8; i]);
            (*t, t.name().as_bytes().to_vec(), v)
        })
        .collect();
    let record = codec::encode_journal(
        values
            .iter()
            .map(|(t, k, v)| (*t as u8, k.as_slice(), v.as_deref())),
    );
    let golden = check_bytes("journal", &[(s("every_tree"), record)]);
    let back = codec::decode_journal(&golden[0]).expect("golden journal record decodes");
    assert_eq!(back.len(), values.len());
    for ((tag, key, value), (t, k, v)) in back.into_iter().zip(values) {
        assert_eq!((tag, &key, &value), (t as u8, &k, &v), "{t:?}");
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
