//! Unit tests of the embedded engine: transactions, the journal, lookups by derived id and by
//! legacy index, token lists and `verify`.

use super::*;
use crate::domain::error::DomainError;
use crate::domain::model::*;
use crate::store::Owner;

fn wallet(id: &str, device: &str) -> Wallet {
    Wallet {
        id: id.into(),
        number: "1234567890123456".into(),
        card_id: device.into(),
        program: "SANDBOX".into(),
        plan: "WUSD".into(),
        promotion: None,
        currency: "USD".into(),
        usage: crate::config::WalletUsage::Open,
        kind: crate::config::WalletKind::Default,
        status: WalletStatus::Normal,
        created_at: 0,
    }
}

/// A store of its own in a temporary directory, which must outlive it.
fn temp_store() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path(), Durability::Flush).unwrap();
    (dir, store)
}

#[test]
fn a_closure_sees_its_own_writes_and_a_failed_one_leaves_nothing() {
    let (_dir, store) = temp_store();
    store
        .transact(|tx| {
            tx.insert_wallet(&wallet("W1", "D1"))?;
            assert_eq!(tx.wallet_ids("D1")?, vec!["W1".to_string()]);
            tx.insert_wallet(&wallet("W2", "D1"))?;
            assert_eq!(
                tx.wallet_ids("D1")?,
                vec!["W1".to_string(), "W2".to_string()]
            );
            assert_eq!(tx.wallet("W2")?, Some(wallet("W2", "D1")));
            Ok(())
        })
        .unwrap();
    let failed: DomainResult<()> = store.transact(|tx| {
        tx.insert_wallet(&wallet("W3", "D1"))?;
        Err(DomainError::WalletLink.into())
    });
    assert_eq!(failed, Err(DomainError::WalletLink));
    assert_eq!(
        store.wallet_ids("D1").unwrap(),
        vec!["W1".to_string(), "W2".to_string()]
    );
    assert!(store.wallet("W3").unwrap().is_none());
    assert_eq!(store.count(Counted::Wallets).unwrap(), 2);
}

#[test]
fn concurrent_writers_are_serialised_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path(), Durability::Os).unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let store = store.clone();
            s.spawn(move || {
                for i in 0..50 {
                    store
                        .transact(|tx| tx.insert_wallet(&wallet(&format!("W{t}-{i}"), "D1")))
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(store.wallet_ids("D1").unwrap().len(), 400);
    assert_eq!(store.count(Counted::Wallets).unwrap(), 400);
}

#[test]
fn a_journal_record_left_by_a_crash_is_written_into_the_trees_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        // A crash after the journal record of a batch was flushed, before it was applied.
        let db = sled::open(dir.path()).unwrap();
        let w = codec::encode(&wallet("W9", "D9"));
        let ids = codec::encode(&vec!["W9".to_string()]);
        let counts = write_counts(&[0, 0, 0, 1, 0, 0, 0]);
        let writes = [
            (TreeId::Wallets as u8, &b"W9"[..], Some(w.as_slice())),
            (
                TreeId::IdxWalletsByCard as u8,
                &b"D9"[..],
                Some(ids.as_slice()),
            ),
            (TreeId::Meta as u8, COUNTS_KEY, Some(counts.as_slice())),
            (TreeId::Tokens as u8, &b"gone"[..], None),
        ];
        db.open_tree("tokens").unwrap().insert("gone", "x").unwrap();
        let journal = journal_config(dir.path()).open().unwrap();
        journal
            .insert(
                7u64.to_be_bytes(),
                codec::encode_journal(writes.iter().copied()),
            )
            .unwrap();
        // Two later records writing one key: replayed in order, the newer value stays.
        for (g, v) in [(8u64, &b"older"[..]), (9, &b"newer"[..])] {
            let w = [(TreeId::Tokens as u8, &b"t"[..], Some(v))];
            journal
                .insert(g.to_be_bytes(), codec::encode_journal(w.iter().copied()))
                .unwrap();
        }
        journal.flush().unwrap();
        db.flush().unwrap();
    }
    let store = SledStore::open(dir.path(), Durability::Flush).unwrap();
    assert_eq!(store.wallet("W9").unwrap().unwrap().card_id, "D9");
    assert_eq!(store.wallet_ids("D9").unwrap(), vec!["W9".to_string()]);
    assert_eq!(store.count(Counted::Wallets).unwrap(), 1);
    assert!(store.tree(TreeId::Tokens).get("gone").unwrap().is_none());
    assert_eq!(
        store.tree(TreeId::Tokens).get("t").unwrap().as_deref(),
        Some(&b"newer"[..])
    );
    assert_eq!(store.inner.journal.len(), 0);
}

#[test]
fn applied_batches_leave_the_journal_empty() {
    let (_dir, store) = temp_store();
    for i in 0..20 {
        store
            .transact(|tx| tx.insert_wallet(&wallet(&format!("W{i}"), "D1")))
            .unwrap();
    }
    let journal = &store.inner.journal;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !journal.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(journal.is_empty());
    assert_eq!(store.tree(TreeId::Wallets).len(), 20);
}

fn user(id: &str, ssn_fingerprint: [u8; 32]) -> User {
    User {
        id: id.into(),
        program: "SANDBOX".into(),
        first_name: "Emily".into(),
        middle_name: None,
        last_name: "Carter".into(),
        date_of_birth: "1990-01-31".into(),
        ssn_fingerprint,
        ssn_last4: "6789".into(),
        email: "emily@example.com".into(),
        phones: Vec::new(),
        addresses: Vec::new(),
        status: UserStatus::Active,
        kyc: KycState::passed(),
        account_ids: Vec::new(),
        created_at: 0,
    }
}

#[test]
fn a_user_is_found_by_ssn_through_its_derived_id_or_a_legacy_index_entry() {
    let (dir, store) = temp_store();
    // A user written before ids were derived: a random id and an SSN index entry.
    let legacy = user("LegacyUser0000000001", [2; 32]);
    store
        .tree(TreeId::IdxSsn)
        .insert(ssn_key("SANDBOX", &[2; 32]), codec::encode(&legacy.id))
        .unwrap();
    write_legacy(
        &store,
        TreeId::Users,
        Counted::Users,
        &legacy.id,
        codec::encode(&legacy),
    );
    // The store notices the legacy index when it opens.
    drop(store);
    let store = SledStore::open(dir.path(), Durability::Flush).unwrap();
    // A new user: its id is derived, and it gets no index entry.
    let new_id = crate::domain::ids::user_id_for("SANDBOX", &[1; 32]);
    store
        .transact(|tx| tx.put_user(&user(&new_id, [1; 32]), true))
        .unwrap();

    assert_eq!(
        store.tree(TreeId::IdxSsn).len(),
        1,
        "a new user needs no entry"
    );
    let found =
        |fp: [u8; 32], program: &str| store.user_by_ssn(program, &fp).unwrap().map(|u| u.id);
    assert_eq!(found([1; 32], "SANDBOX"), Some(new_id));
    assert_eq!(found([2; 32], "SANDBOX"), Some(legacy.id.clone()));
    assert_eq!(found([3; 32], "SANDBOX"), None);
    assert_eq!(found([1; 32], "OTHER"), None);
    // A user under an id neither derived nor indexed is what verify reports.
    let stray = user("StrayUser00000000001", [4; 32]);
    clean_until_stray(&store, TreeId::Users, &stray.id, codec::encode(&stray),
        "user StrayUser00000000001 is not found by its SSN (its id is not derived from it, nor indexed)");
}

/// Writes an entity the way a store of an earlier version holds it: straight into its tree,
/// counted as the only one of its kind.
fn write_legacy(store: &SledStore, tree: TreeId, kind: Counted, id: &str, value: Vec<u8>) {
    store.tree(tree).insert(id.as_bytes(), value).unwrap();
    let mut c = read_counts(None);
    c[kind.index()] = 1;
    store
        .tree(TreeId::Meta)
        .insert(COUNTS_KEY, write_counts(&c))
        .unwrap();
}

/// Asserts that verify finds `store` clean, writes `value` under `id` in `tree` behind the
/// store's back, and asserts that verify then reports `problem`.
fn clean_until_stray(store: &SledStore, tree: TreeId, id: &str, value: Vec<u8>, problem: &str) {
    let report = verify::verify(store).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    store.tree(tree).insert(id.as_bytes(), value).unwrap();
    let report = verify::verify(store).unwrap();
    assert!(
        report.problems.iter().any(|p| p == problem),
        "{:?}",
        report.problems
    );
}

fn sealed(fp: u8) -> crate::vault::SealedPan {
    crate::vault::SealedPan {
        nonce: [0; 12],
        ciphertext: vec![1, 2, 3],
        fingerprint: [fp; 32],
        first_digits: "400000".into(),
        last4: "1234".into(),
        length: 16,
    }
}

fn card(id: &str, fp: u8) -> Card {
    Card {
        id: id.into(),
        program: "SANDBOX".into(),
        product: "GPR100".into(),
        account_id: None,
        card_type: CardType::Primary,
        status: CardStatus::Normal,
        form: FormFactor::Virtual,
        pan: sealed(fp),
        alias: None,
        pack_id: None,
        issued_at: 0,
        activated_at: Some(0),
        status_changed_at: 0,
    }
}

#[test]
fn a_card_is_found_by_number_through_its_derived_id_and_an_assigned_kit_leaves_the_index() {
    use crate::domain::ids::card_id_for;
    let (_dir, store) = temp_store();
    // A card of a store written before card ids were derived: a random id, an index entry.
    let legacy = card("LegacyCard0000000001", 2);
    store
        .tree(TreeId::IdxNumber)
        .insert([2u8; 32], codec::encode(&Owner::Card(legacy.id.clone())))
        .unwrap();
    write_legacy(
        &store,
        TreeId::Cards,
        Counted::Cards,
        &legacy.id,
        codec::encode(&legacy),
    );
    // A kit, then its card (instant issue), and a virtual card.
    let kit = Kit {
        mapping_id: "K1".into(),
        program: "SANDBOX".into(),
        product: "GPR100".into(),
        pack_id: "PK1".into(),
        pan: sealed(3),
        status: KitStatus::Available,
        card_id: None,
        reserved_for: None,
        created_at: 0,
    };
    store.transact(|tx| tx.insert_kit(&kit)).unwrap();
    let kit_owner = Owner::Kit {
        program: "SANDBOX".into(),
        mapping_id: "K1".into(),
    };
    assert_eq!(store.number_owner(&[3; 32]).unwrap(), Some(kit_owner));
    let kit_card = Card {
        pack_id: Some("PK1".into()),
        ..card(&card_id_for(&[3; 32]), 3)
    };
    let virtual_card = card(&card_id_for(&[1; 32]), 1);
    store
        .transact(|tx| {
            tx.update_kit(&Kit {
                status: KitStatus::Assigned,
                card_id: Some(kit_card.id.clone()),
                ..kit.clone()
            })?;
            tx.insert_card(&kit_card)?;
            tx.insert_card(&virtual_card)
        })
        .unwrap();

    let owner = |fp: u8| store.number_owner(&[fp; 32]).unwrap();
    assert_eq!(owner(1), Some(Owner::Card(virtual_card.id.clone())));
    assert_eq!(owner(2), Some(Owner::Card(legacy.id.clone())));
    assert_eq!(owner(3), Some(Owner::Card(kit_card.id.clone())));
    assert_eq!(owner(4), None);
    let left: Vec<Vec<u8>> = store
        .scan::<Owner>(TreeId::IdxNumber)
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(
        left,
        vec![vec![2u8; 32]],
        "only the legacy card's entry is left"
    );
    // A card under an id neither derived from its number nor indexed is damage.
    let stray = card("StrayCard00000000001", 5);
    clean_until_stray(&store, TreeId::Cards, &stray.id, codec::encode(&stray),
        "card StrayCard00000000001 is not found by its number (its id is not derived from it, nor indexed)");
}

#[test]
fn writes_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path(), Durability::Flush).unwrap();
        store
            .transact(|tx| tx.put_token(&[5; 32], &grant("c", 9)))
            .unwrap();
    }
    let store = SledStore::open(dir.path(), Durability::Flush).unwrap();
    assert_eq!(store.token(&[5; 32]).unwrap().unwrap().client_id, "c");
}

/// Waits until every committed batch is in the trees (the journal is empty), so that a
/// write behind the store's back is not undone by the applier.
fn settle(store: &SledStore) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !store.inner.journal.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(store.inner.journal.is_empty());
}

fn grant(client: &str, expires_at: i64) -> TokenGrant {
    TokenGrant {
        client_id: client.into(),
        expires_at,
        secret_fingerprint: Some([7; 32]),
    }
}

#[test]
fn token_grants_of_both_layouts_decode_and_their_bytes_are_pinned() {
    // Version byte, "c" (length 1), expires_at 9 (zigzag varint 18), then Some + 32 bytes.
    let mut current = vec![1u8, 1, b'c', 18, 1];
    current.extend_from_slice(&[7; 32]);
    assert_eq!(codec::encode(&grant("c", 9)), current);
    assert_eq!(decode_grant(&current).unwrap(), grant("c", 9));
    // A grant written by the version before fingerprints.
    let legacy = [1u8, 1, b'c', 18];
    assert_eq!(
        decode_grant(&legacy).unwrap(),
        TokenGrant {
            client_id: "c".into(),
            expires_at: 9,
            secret_fingerprint: None,
        }
    );
    assert!(decode_grant(&current[..current.len() - 1]).is_err());
    assert!(decode_grant(&[1u8, 1, b'c']).is_err());
}

#[test]
fn token_lists_stay_in_step_and_verify_checks_them() {
    let (_dir, store) = temp_store();
    store
        .transact(|tx| {
            tx.put_token(&[1; 32], &grant("a", 10))?;
            tx.put_token(&[2; 32], &grant("a", 20))?;
            tx.put_token(&[3; 32], &grant("b", 30))
        })
        .unwrap();
    let hashes = |c: &str| -> Vec<[u8; 32]> {
        store
            .client_tokens(c)
            .unwrap()
            .iter()
            .map(|t| t.hash)
            .collect()
    };
    assert_eq!(hashes("a"), vec![[1; 32], [2; 32]]);
    // A legacy grant (no fingerprint, not listed) is fine as it is.
    settle(&store);
    store
        .tree(TreeId::Tokens)
        .insert([9; 32], vec![1u8, 1, b'a', 18])
        .unwrap();
    assert!(verify::verify(&store).unwrap().is_clean());
    let removed = store
        .transact(|tx| {
            let first = tx.remove_token(&[1; 32])?;
            let again = tx.remove_token(&[1; 32])?;
            tx.remove_token(&[3; 32])?;
            tx.remove_token(&[9; 32])?;
            Ok((first, again))
        })
        .unwrap();
    assert_eq!(removed, (Some(grant("a", 10)), None));
    assert_eq!(hashes("a"), vec![[2; 32]]);
    assert!(hashes("b").is_empty());
    assert!(store
        .raw(TreeId::IdxTokensByClient, b"b")
        .unwrap()
        .is_none());
    let report = verify::verify(&store).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert!(report.counts.contains(&("tokens", 1)));
    // A current grant missing from its list, and a list naming a missing token: damage,
    // written into the trees once the applier has written every batch there.
    settle(&store);
    store
        .tree(TreeId::Tokens)
        .insert([4; 32], codec::encode(&grant("a", 40)))
        .unwrap();
    store.tree(TreeId::Tokens).remove([2; 32]).unwrap();
    let problems = verify::verify(&store).unwrap().problems;
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("is not in its client's token list"),
        "{problems:?}"
    );
    assert!(problems[1].contains("names missing token"), "{problems:?}");
}

/// Event data is kept compressed in the events tree (`store::event_data`) and read back as the
/// JSON it was.
#[test]
fn event_data_is_kept_compressed_and_read_back_as_it_was() {
    use crate::domain::event::{EventType, NewEvent, Subjects};
    let (_dir, store) = temp_store();
    let json = br#"{"accountIdentifier":"xCzxFBASVstAitJpRWQsEg","programCode":"SANDBOX","productCode":"GPR100","productName":"Prepaid GPR card","accountType":"gpr","status":"normal","statusReasons":["healthy"],"accountHolders":[{"user":{"userIdentifier":"1Zi5Xwa7x0qMFStYNJuSpB","firstName":"Jordan","lastName":"Okafor","status":"active"}}]}"#;
    let e = NewEvent {
        kind: EventType::AccountCreated,
        program: "SANDBOX".into(),
        request_id: None,
        subjects: Subjects::default(),
        data: json.to_vec(),
    };
    store
        .transact(|tx| tx.put_events(std::slice::from_ref(&e)))
        .unwrap();
    store.flush().unwrap();
    // The applier writes the journaled batch into the trees soon after it is on disk.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let raw = loop {
        if let Some(r) = store.tree(TreeId::Events).iter().next() {
            break r.unwrap().1;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no event group in the tree"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert!(
        raw.len() * 2 < json.len(),
        "{} bytes stored for {} bytes of data",
        raw.len(),
        json.len()
    );
    assert!(!raw.windows(16).any(|w| w == b"Prepaid GPR card"));
    assert_eq!(
        raw[0], 2,
        "the group is one zstd frame (event_data::encode_group)"
    );
    assert_eq!(store.event(1).unwrap().unwrap().data, json.to_vec());
}
