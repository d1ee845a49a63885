//! `issuebox copy --from <store> --to <store>` (contract section 9): a store filled through the
//! API moves from sled to PostgreSQL and back, and from sled to sled; on every copy the same
//! reads answer the same bytes, a replay answers the first answer's bytes, the old token works,
//! the pending OFAC review is there and clearing it completes the enrollment, and `verify` is
//! clean. A copy into a store that holds anything is refused and changes nothing; a bad store
//! answers exit 1 with the reason. The PostgreSQL test needs PostgreSQL's server binaries (see
//! tests/common/postgres.rs).

mod common;

use common::baas::*;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

/// The config edit that puts a server's store in `url`.
fn on_postgres(url: &str) -> (&'static str, String) {
    (
        "engine = \"sled\"",
        format!("engine = \"postgres\"\npostgres_url = {url:?}"),
    )
}

/// What a filled store was asked, to ask its copies again.
struct Filled {
    /// The first enrollment: its requestId, body and answer.
    rid: String,
    req: Value,
    first: Answer,
    accounts: Vec<String>,
    /// The card with an alias, a pack ID and wallets.
    card: Value,
    /// The holder of the enrollment waiting for an OFAC decision, and its account.
    pending_user: String,
    pending_account: String,
    /// The bearer tokens of the BaaS and device clients, minted by the first server.
    baas_auth: String,
    api_auth: String,
}

/// Fills a server's store through the API: an enrollment with a physical card, an instant
/// issue of a kit, a kit left available, a card with alias and pack ID and three wallets, an
/// enrollment waiting for an OFAC review (its kit reserved), and tokens.
fn fill(b: &Baas) -> Filled {
    let rid = uuid();
    let req = with(body(), "/requestPhysicalCard", json!(true));
    let first = b.post("SANDBOX", &rid, &req);
    assert_row(&first, 200, 0, 0, Some("Success"));
    b.load_kit("CPKIT1", "GPR100");
    b.load_kit("CPKIT2", "GPR100");
    b.load_kit("CPKIT3", "GPR100");
    let kit = b.enroll(&instant(body(), "CPKIT1"));
    assert_row(&kit, 200, 0, 0, Some("Success"));
    let pending = b.enroll(&instant(
        named(body(), "Gilberto", None, "Rodriguez Orejuela"),
        "CPKIT3",
    ));
    assert_row(&pending, 200, 1, 31, Some("OFAC Partial Match"));
    let api = Api::new(&b.s);
    let card = api.new_card(json!({"alias": "CP-ALIAS-1", "packID": "CPPACK00001"}));
    for plans in [
        json!([{"planCode": "WEUR"}, {"planCode": "WUSD"}]),
        json!([{"planCode": "WGBP"}]),
    ] {
        let a = api.attach(json!({"device": {"identifier": card["identifier"]}, "wallets": plans}));
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let account = |a: &Answer| {
        a.body["account"]["accountIdentifier"]
            .as_str()
            .unwrap()
            .to_string()
    };
    Filled {
        rid,
        req,
        accounts: vec![account(&first), account(&kit)],
        first,
        card,
        pending_user: user_of(&pending),
        pending_account: account(&pending),
        baas_auth: b.auth.clone(),
        api_auth: api.auth.clone(),
    }
}

/// Requests and their answers (status and body).
type Reads = Vec<(String, u16, String)>;
/// `/metrics`' entity counts.
type Counts = Vec<(String, u64)>;

/// The reads a copy must answer byte for byte as its source did, with the first server's tokens.
fn reads(s: &Server, f: &Filled) -> Reads {
    let b = client(s, f);
    let api = Api {
        base: s.base.clone(),
        auth: f.api_auth.clone(),
    };
    let mut out = Vec::new();
    let mut add = |what: String, a: Answer| out.push((what, a.status, a.text));
    for acc in f.accounts.iter().chain([&f.pending_account]) {
        add(
            format!("account {acc}"),
            b.get(&format!("/programs/SANDBOX/accounts/{acc}")),
        );
    }
    for by in [
        json!({"identifier": f.card["identifier"]}),
        json!({"packID": "CPPACK00001"}),
        json!({"alias": "CP-ALIAS-1"}),
    ] {
        add(format!("fetchwallet by {by}"), api.fetch(by));
    }
    for kit in ["CPKIT1", "CPKIT2", "CPKIT3"] {
        add(
            format!("kit {kit}"),
            b.get(&format!("/sandbox/programs/SANDBOX/packages/{kit}")),
        );
    }
    add("reviews".into(), b.get("/sandbox/ofac/reviews"));
    add(
        "replay of the first enrollment".into(),
        b.post("SANDBOX", &f.rid, &f.req),
    );
    out
}

/// The first server's BaaS client, on server `s`.
fn client(s: &Server, f: &Filled) -> Client {
    Client {
        base: s.base.clone(),
        auth: f.baas_auth.clone(),
    }
}

/// [`Baas`]'s requests, on any server's URL with a given token.
struct Client {
    base: String,
    auth: String,
}

impl Client {
    fn post(&self, program: &str, rid: &str, body: &Value) -> Answer {
        send(
            "POST",
            &format!("{}/programs/{program}/enrollments", self.base),
            &[("Authorization", &self.auth), ("X-GD-RequestId", rid)],
            Some(&body.to_string()),
        )
    }

    fn get(&self, path: &str) -> Answer {
        send(
            "GET",
            &format!("{}{path}", self.base),
            &[("Authorization", &self.auth), ("X-GD-RequestId", &uuid())],
            None,
        )
    }

    fn sandbox(&self, method: &str, path: &str, body: &Value) -> Answer {
        send(
            method,
            &format!("{}{path}", self.base),
            &[("Authorization", &self.auth)],
            Some(&body.to_string()),
        )
    }
}

/// Asserts that `s` answers `expected` (the source's reads) with the same statuses and bytes,
/// the replay answering the first enrollment's bytes.
fn same_reads(s: &Server, f: &Filled, expected: &[(String, u16, String)]) {
    let got = reads(s, f);
    for ((what, status, text), (_, got_status, got_text)) in expected.iter().zip(&got) {
        assert_eq!((status, text), (got_status, got_text), "{what}");
        assert_eq!(*status, 200, "{what}: {text}");
    }
    assert_eq!(got.len(), expected.len());
    let replay = &got.last().unwrap().2;
    assert_eq!(
        replay, &f.first.text,
        "a replay answers the first answer's bytes"
    );
    assert!(
        expected[expected.len() - 2].2.contains(&f.pending_user),
        "the pending review is listed"
    );
}

/// Clears the pending review on `s`: the enrollment completes with its kit's card.
fn clear_completes(s: &Server, f: &Filled) {
    let b = client(s, f);
    let d = b.sandbox(
        "POST",
        &format!("/sandbox/ofac/reviews/{}", f.pending_user),
        &json!({"decision": "clear"}),
    );
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["state"], "cleared");
    let g = b.get(&format!("/programs/SANDBOX/accounts/{}", f.pending_account));
    assert_eq!(g.body["account"]["status"], "normal", "{}", g.text);
    let cards = &g.body["account"]["accountHolders"][0]["paymentInstruments"];
    assert_eq!(cards.as_array().unwrap().len(), 1, "{}", g.text);
    let kit = b.get("/sandbox/programs/SANDBOX/packages/CPKIT3");
    assert_eq!(kit.body["status"], "assigned", "{}", kit.text);
    // One more wallet goes after the copied ones.
    let api = Api {
        base: s.base.clone(),
        auth: f.api_auth.clone(),
    };
    let a = api
        .attach(json!({"device": {"alias": "CP-ALIAS-1"}, "wallets": [{"planCode": "WUSDMCG"}]}));
    assert_eq!(a.status, 201, "{}", a.text);
    let plans: Vec<Value> = api.fetch(json!({"identifier": f.card["identifier"]})).body["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["planCode"].clone())
        .collect();
    assert_eq!(
        plans,
        [
            json!("WEUR"),
            json!("WUSD"),
            json!("WGBP"),
            json!("WUSDMCG")
        ]
    );
}

fn copy(from: &str, to: &str) -> (i32, String) {
    run_cli(&["copy", "--from", from, "--to", to])
}

/// [`copy`] with `batch` records per transaction: small batches put a parent and its children
/// in different transactions, as in a large store.
fn copy_in_batches(from: &str, to: &str, batch: usize) -> (i32, String) {
    run_cli(&[
        "copy",
        "--from",
        from,
        "--to",
        to,
        "--batch",
        &batch.to_string(),
    ])
}

fn sled(dir: &Path) -> String {
    format!("sled:{}", dir.display())
}

fn verify_clean(config: &Path) {
    let (code, out) = run_cli(&["verify", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("store is clean"), "{out}");
}

/// Fills a sled store through a server, reads it, and stops the server.
fn filled_sled_store() -> (Server, Filled, Reads, Counts) {
    let mut b = Baas::start();
    let f = fill(&b);
    let expected = reads(&b.s, &f);
    let counts: Counts = b.s.entity_counts().into_iter().collect();
    assert_eq!(b.s.stop(), 0);
    (b.s, f, expected, counts)
}

fn counts_of(s: &Server) -> Counts {
    s.entity_counts().into_iter().collect()
}

#[test]
fn a_store_moves_from_sled_to_postgres_and_back_answering_the_same_bytes() {
    let Some(url) = common::postgres::fresh_database() else {
        return;
    };
    let (source, f, expected, counts) = filled_sled_store();
    let pg = format!("postgres:{url}");

    let (code, out) = copy_in_batches(&sled(&source.data_dir()), &pg, 1);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("store is clean"), "{out}");
    assert!(!out.contains("mismatch"), "{out}");
    assert!(
        out.contains("       users           3           3           3"),
        "{out}"
    );
    assert!(out.contains("      tokens"), "{out}");

    let (from, to) = on_postgres(&url);
    let on_pg = Server::start_with(&[(from, &to)]);
    same_reads(&on_pg, &f, &expected);
    assert_eq!(counts_of(&on_pg), counts);
    verify_clean(&on_pg.config_path);

    // Into a store that holds anything: refused, nothing changed.
    let (code, out) = copy(&sled(&source.data_dir()), &pg);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not empty (it holds 3 users"), "{out}");
    assert_eq!(counts_of(&on_pg), counts);

    // Back, from the database a server is serving (the copy reads one snapshot).
    let back = tempfile::tempdir().unwrap();
    let back_dir = back.path().join("db");
    let (code, out) = copy_in_batches(&pg, &sled(&back_dir), 2);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("store is clean"), "{out}");
    assert!(!out.contains("mismatch"), "{out}");

    clear_completes(&on_pg, &f);
    verify_clean(&on_pg.config_path);

    let on_back = Server::start_in(&back_dir, &[]);
    same_reads(&on_back, &f, &expected);
    assert_eq!(counts_of(&on_back), counts);
    clear_completes(&on_back, &f);
    let mut on_back = on_back;
    assert_eq!(on_back.stop(), 0);
    let (code, out) = run_cli(&["verify", "--data-dir", back_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_sled_store_copies_to_sled_and_a_full_target_or_a_bad_store_is_refused() {
    let (source, f, expected, counts) = filled_sled_store();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("copy");
    let (code, out) = copy(&sled(&source.data_dir()), &sled(&target));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("store is clean"), "{out}");

    // A second copy into it is refused and leaves it as it was.
    let (code, out) = copy(&sled(&source.data_dir()), &sled(&target));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not empty (it holds 3 users"), "{out}");
    assert!(
        out.contains("a copy goes only into an empty store"),
        "{out}"
    );

    let mut on_copy = Server::start_in(&target, &[]);
    same_reads(&on_copy, &f, &expected);
    assert_eq!(counts_of(&on_copy), counts);
    clear_completes(&on_copy, &f);
    assert_eq!(on_copy.stop(), 0);

    let bad: [(String, String, &str); 5] = [
        (
            "foo:bar".into(),
            sled(&dir.path().join("x")),
            "`foo:bar` names no store",
        ),
        (
            sled(&source.data_dir()),
            "postgres".into(),
            "`postgres` names no store",
        ),
        (
            sled(&dir.path().join("missing")),
            sled(&dir.path().join("y")),
            "no such directory",
        ),
        (
            sled(dir.path()),
            sled(&dir.path().join("z")),
            "holds no sled store",
        ),
        (
            sled(&source.data_dir()),
            sled(&source.data_dir()),
            "both name",
        ),
    ];
    for (from, to, why) in bad {
        let (code, out) = copy(&from, &to);
        assert_eq!(code, 1, "{from} -> {to}: {out}");
        assert!(out.contains(why), "{from} -> {to}: {out}");
    }
    for never in ["x", "y", "z"] {
        assert!(!dir.path().join(never).exists(), "{never} was created");
    }
}

mod events {
    //! Events, webhook endpoints, deliveries and the fan-out cursor, written straight through the
    //! store boundary into a sled store, copied to PostgreSQL and back: everything equal on each
    //! copy, and the sequence goes on after the copied events.

    use super::{copy_in_batches, sled};
    use issuebox::config::Durability;
    use issuebox::domain::event::{Event, EventFilter, EventType, NewEvent, Subjects};
    use issuebox::domain::webhook::{
        Attempt, Delivery, DeliveryStatus, Webhook, WebhookSecret, WebhookStatus,
    };
    use issuebox::store::{Reader, Store};

    /// What a copy must hold as its source did.
    #[derive(Debug, PartialEq)]
    struct Contents {
        events: Vec<Event>,
        last: u64,
        webhooks: Vec<Webhook>,
        deliveries: Vec<Delivery>,
        cursor: u64,
    }

    fn contents(s: &Store) -> Contents {
        let (mut events, mut after) = (Vec::new(), 0);
        loop {
            let page = s
                .events_page(after, 7, 100, &EventFilter::default())
                .unwrap();
            events.extend(page.events);
            after = page.last_seen;
            if !page.more {
                break;
            }
        }
        let webhooks = s.webhooks().unwrap();
        let mut deliveries = Vec::new();
        for id in ["wh_b", "wh_a", "wh_gone"] {
            deliveries.extend(s.deliveries_of(id, 0, 1000, None).unwrap());
        }
        Contents {
            events,
            last: s.last_event_sequence().unwrap(),
            webhooks,
            deliveries,
            cursor: s.fanout_cursor().unwrap(),
        }
    }

    fn webhook(id: &str, n: u8) -> Webhook {
        Webhook {
            id: id.into(),
            client: "sandbox".into(),
            url: format!("http://127.0.0.1:9/{id}"),
            event_types: vec![EventType::CardIssued],
            program_codes: vec!["SANDBOX".into()],
            status: WebhookStatus::Enabled,
            description: Some(format!("endpoint {n}")),
            secrets: vec![
                WebhookSecret {
                    key: vec![n; 32],
                    expires_at: None,
                },
                WebhookSecret {
                    key: vec![n + 1; 32],
                    expires_at: Some(1_900_000_000),
                },
            ],
            after_sequence: 0,
            consecutive_failures: u32::from(n),
            created_at: 1_700_000_000,
            updated_at: 1_700_000_001,
        }
    }

    fn delivery(webhook_id: &str, e: &Event, status: DeliveryStatus) -> Delivery {
        Delivery {
            webhook_id: webhook_id.into(),
            event_sequence: e.sequence,
            event_id: e.id.clone(),
            status,
            attempts: vec![Attempt {
                at_ms: e.occurred_at_ms + 5,
                status: Some(500),
                error: None,
                latency_ms: 12,
                response_prefix: "oops".into(),
                manual: false,
            }],
            next_attempt_ms: e.occurred_at_ms + 5_000,
            round_failures: 1,
            created_ms: e.occurred_at_ms,
        }
    }

    /// A sled store with events in groups of 1 to 3, two endpoints (the younger one first by
    /// id), deliveries of every status, one of an endpoint since deleted, and the fan-out cursor
    /// at the end of a group.
    fn fill(dir: &std::path::Path) -> Contents {
        let s = Store::open(dir, Durability::Os).unwrap();
        for n in 0..12usize {
            let group: Vec<NewEvent> = (0..1 + n % 3)
                .map(|k| NewEvent {
                    kind: EventType::ALL[(n + k) % EventType::ALL.len()],
                    program: "SANDBOX".into(),
                    request_id: (n % 2 == 0).then(|| format!("req-{n}")),
                    subjects: Subjects {
                        user: Some(format!("U{n}")),
                        card: (k == 1).then(|| format!("C{n}")),
                        ..Subjects::default()
                    },
                    data: format!("{{\"n\":{n},\"k\":{k}}}").into_bytes(),
                })
                .collect();
            s.transact(|tx| tx.put_events(&group)).unwrap();
        }
        let events = contents(&s).events;
        s.transact(|tx| {
            tx.put_webhook(&webhook("wh_b", 1), true)?;
            tx.put_webhook(&webhook("wh_a", 2), true)?;
            tx.put_webhook(&webhook("wh_gone", 3), true)
        })
        .unwrap();
        s.transact(|tx| {
            for (i, e) in events.iter().enumerate() {
                let status = [
                    DeliveryStatus::Pending,
                    DeliveryStatus::Delivered,
                    DeliveryStatus::Failed,
                ][i % 3];
                tx.put_delivery(&delivery("wh_b", e, status), None)?;
                if i % 4 == 0 {
                    tx.put_delivery(&delivery("wh_a", e, DeliveryStatus::Pending), None)?;
                }
            }
            let mut gone = delivery("wh_gone", &events[0], DeliveryStatus::Cancelled);
            gone.attempts.clear();
            tx.put_delivery(&gone, None)?;
            tx.remove_webhook("wh_gone")?;
            // Events 1 to 4 are groups [1], [2, 3], [4, 5, 6]: the cursor ends the second.
            tx.set_fanout_cursor(3)
        })
        .unwrap();
        let c = contents(&s);
        assert_eq!(c.events.len(), 24);
        assert_eq!(c.last, 24);
        assert_eq!(c.webhooks.len(), 2);
        assert_eq!(c.deliveries.len(), 24 + 6 + 1);
        assert!(s.verify().unwrap().is_clean());
        c
    }

    #[test]
    fn events_endpoints_and_deliveries_copy_from_sled_to_postgres_and_back() {
        let Some(url) = super::common::postgres::fresh_database() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        let want = fill(&source);
        let pg = format!("postgres:{url}");

        let (code, out) = copy_in_batches(&sled(&source), &pg, 3);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("store is clean"), "{out}");
        assert!(!out.contains("mismatch"), "{out}");
        for line in [
            "      events          24          24          24",
            "    webhooks           2           2           2",
            "  deliveries          31          31          31",
        ] {
            assert!(out.contains(line), "{line}\n{out}");
        }
        {
            let on_pg = Store::open_postgres(&url, 2).unwrap();
            assert_eq!(contents(&on_pg), want);
            // The cursor still ends a transaction's events for the fan-out.
            let rest = on_pg.transact(|tx| tx.events_after(3, 100)).unwrap();
            assert_eq!(rest.first().map(|e| e.sequence), Some(4));
            // A pending delivery is there to attempt; the copy took no lease.
            let due = on_pg.due_deliveries(i64::MAX - 1, 1000, 1).unwrap();
            assert_eq!(due.len(), 8 + 6);
        }
        // A copy into it again is refused (it holds events, endpoints and deliveries).
        let (code, out) = super::copy(&sled(&source), &pg);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("24 events, 2 webhooks, 31 deliveries"),
            "{out}"
        );

        let back = dir.path().join("back");
        let (code, out) = copy_in_batches(&pg, &sled(&back), 2);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("store is clean"), "{out}");
        assert!(!out.contains("mismatch"), "{out}");
        let on_back = Store::open(&back, Durability::Os).unwrap();
        assert_eq!(contents(&on_back), want);
        let rest = on_back.transact(|tx| tx.events_after(3, 100)).unwrap();
        assert_eq!(
            rest.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            (4..=24).collect::<Vec<_>>()
        );

        // On each copy the sequence goes on after the copied events, with the store's own prefix.
        let on_pg = Store::open_postgres(&url, 2).unwrap();
        for s in [&on_back, &on_pg] {
            let more = NewEvent {
                kind: EventType::KitLoaded,
                program: "SANDBOX".into(),
                request_id: None,
                subjects: Subjects::default(),
                data: b"{}".to_vec(),
            };
            s.transact(|tx| tx.put_events(std::slice::from_ref(&more)))
                .unwrap();
            let e = s.event(25).unwrap().unwrap();
            assert_eq!(e.kind, EventType::KitLoaded);
            assert_eq!(issuebox::domain::event::sequence_of_id(&e.id), Some(25));
            assert!(s.verify().unwrap().is_clean());
        }
    }
}
