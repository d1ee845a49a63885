//! The SQL engine's events, webhook endpoints and deliveries against a real PostgreSQL (a
//! throwaway cluster, see `common::postgres`), through the store boundary: sequences gap-free in
//! commit order under concurrent committers (numbered after commit by the sequencer), none
//! taken by a numbering that failed, events waiting unnumbered while the counter's row is
//! missing, a reader never seeing an event before every event ahead of it, pages filtered by SQL as the
//! embedded engine filters them, the fan-out cursor taking turns, deliveries claimed by one
//! claimer at a time, and a task of another runtime calling the store without end.
//!
//! Without PostgreSQL these tests skip with a message, except under `CI=true`, where they fail.
//! `measure_event_commits` (ignored) measures what writing events costs (see its doc).

mod common;

use issuebox::config::Durability;
use issuebox::domain::event::{
    event_id, sequence_of_id, Event, EventFilter, EventPage, EventType, NewEvent, Subjects,
};
use issuebox::domain::model::TokenGrant;
use issuebox::domain::webhook::{Delivery, DeliveryStatus, Webhook, WebhookSecret, WebhookStatus};
use issuebox::store::{Reader, Store};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

/// Events committed and not numbered yet: the inbox holds one row per writing transaction.
const WAITING: &str = "SELECT coalesce(sum(cardinality(kinds)), 0) FROM event_batches";

fn store() -> Option<(String, Store)> {
    let url = common::postgres::fresh_database()?;
    let s = Store::open_postgres(&url, 16).expect("open the postgres store");
    Some((url, s))
}

fn event(kind: EventType, program: &str, request: &str, subjects: Subjects) -> NewEvent {
    NewEvent {
        kind,
        program: program.into(),
        request_id: Some(request.into()),
        subjects,
        data: format!("{{\"request\":\"{request}\"}}").into_bytes(),
    }
}

fn user(id: &str) -> Subjects {
    Subjects {
        user: Some(id.into()),
        ..Subjects::default()
    }
}

/// A write of a transaction that is not an event (a token grant: no foreign keys).
fn token(tx: &issuebox::store::Tx, n: u64) -> issuebox::store::TxResult<()> {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&n.to_be_bytes());
    hash[8..16].copy_from_slice(&rand_u64().to_be_bytes());
    tx.put_token(
        &hash,
        &TokenGrant {
            client_id: "c".into(),
            expires_at: i64::MAX,
            secret_fingerprint: Some([1; 32]),
        },
    )
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish()
}

/// Every event of the store, read page by page.
fn all_events(s: &Store) -> Vec<Event> {
    let (mut out, mut after) = (Vec::new(), 0);
    loop {
        let page = s
            .events_page(after, 500, 10_000, &EventFilter::default())
            .unwrap();
        out.extend(page.events);
        after = page.last_seen;
        if !page.more {
            return out;
        }
    }
}

fn assert_clean(s: &Store) {
    let report = s.verify().unwrap();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn concurrent_committers_get_gap_free_contiguous_sequences_and_a_poller_never_skips_one() {
    let Some((_, s)) = store() else { return };
    const THREADS: usize = 8;
    const TXS: usize = 50;
    const PER_TX: usize = 3;
    const TOTAL: u64 = (THREADS * TXS * PER_TX) as u64;
    let barrier = Barrier::new(THREADS + 1);
    let done = AtomicUsize::new(0);
    let polled = std::thread::scope(|sc| {
        // A poller that follows the events as they commit, as a client would: each page must go
        // on exactly where the last ended (a reader seeing N+1 before N would skip N).
        let poller = sc.spawn(|| {
            barrier.wait();
            let (mut seen, mut after) = (Vec::new(), 0u64);
            loop {
                let finished = done.load(Ordering::SeqCst) == THREADS;
                let page = s
                    .events_page(after, 37, 1000, &EventFilter::default())
                    .unwrap();
                for (i, e) in page.events.iter().enumerate() {
                    assert_eq!(e.sequence, after + 1 + i as u64, "a page skipped an event");
                }
                seen.extend(page.events.iter().map(|e| e.sequence));
                after = page.last_seen;
                if finished && !page.more {
                    return seen;
                }
            }
        });
        for t in 0..THREADS {
            let (s, barrier, done) = (&s, &barrier, &done);
            sc.spawn(move || {
                barrier.wait();
                for n in 0..TXS {
                    let request = format!("t{t}-{n}");
                    let events: Vec<NewEvent> = (0..PER_TX)
                        .map(|k| {
                            event(
                                EventType::ALL[k],
                                "SANDBOX",
                                &request,
                                user(&format!("U{t}")),
                            )
                        })
                        .collect();
                    s.transact(|tx| {
                        token(tx, (t * TXS + n) as u64)?;
                        tx.put_events(&events)
                    })
                    .unwrap();
                }
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        poller.join().unwrap()
    });
    assert_eq!(polled, (1..=TOTAL).collect::<Vec<_>>());

    let events = all_events(&s);
    assert_eq!(
        events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        (1..=TOTAL).collect::<Vec<_>>()
    );
    assert_eq!(s.last_event_sequence().unwrap(), TOTAL);
    // Each transaction's events are contiguous, in the order it wrote them.
    let mut by_request: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
    for e in &events {
        by_request
            .entry(e.request_id.clone().unwrap())
            .or_default()
            .push(e);
    }
    assert_eq!(by_request.len(), THREADS * TXS);
    for (request, es) in &by_request {
        assert_eq!(es.len(), PER_TX, "{request}");
        for (k, e) in es.iter().enumerate() {
            assert_eq!(e.sequence, es[0].sequence + k as u64, "{request}");
            assert_eq!(e.kind, EventType::ALL[k], "{request}");
        }
    }
    // Ids are unique, name their sequence, and share the store's prefix.
    let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len());
    let prefix = events[0].id.split('_').nth(1).unwrap().to_string();
    assert_eq!(prefix.len(), 8);
    for e in &events {
        assert_eq!(e.id, event_id(&prefix, e.sequence));
        assert_eq!(sequence_of_id(&e.id), Some(e.sequence));
        assert_eq!(s.event(e.sequence).unwrap().as_ref(), Some(e));
    }
    assert_eq!(s.event(TOTAL + 1).unwrap(), None);
    assert_clean(&s);
}

#[test]
fn a_numbering_that_fails_takes_no_sequence_and_the_next_one_numbers_again() {
    let Some((url, s)) = store() else { return };
    s.transact(|tx| tx.put_events(&[event(EventType::UserCreated, "P", "a", user("U1"))]))
        .unwrap();
    assert_eq!(s.last_event_sequence().unwrap(), 1);
    // A row in the way of the next sequence: the numbering of the next transaction's events
    // fails on it and rolls back whole (counter, inbox and events as they were).
    let sql = |q: &str| psql(&url, q);
    sql(
        "INSERT INTO events (seq, id, kind, occurred_at_ms, program, data) \
         VALUES (3, 'evt_x_3', 'user.created', 0, 'P', '\\x00')",
    );
    s.transact(|tx| {
        tx.put_events(&[
            event(EventType::AccountCreated, "P", "b", user("U1")),
            event(EventType::CardIssued, "P", "b", user("U1")),
        ])
    })
    .unwrap();
    assert!(s.last_event_sequence().is_err(), "the numbering failed");
    assert_eq!(sql("SELECT last FROM event_counter"), "1");
    assert_eq!(sql(WAITING), "2");
    sql("DELETE FROM events WHERE id = 'evt_x_3'");
    s.transact(|tx| tx.put_events(&[event(EventType::KitLoaded, "P", "c", user("U1"))]))
        .unwrap();
    let events = all_events(&s);
    assert_eq!(
        events
            .iter()
            .map(|e| (e.sequence, e.request_id.clone().unwrap()))
            .collect::<Vec<_>>(),
        [(1, "a"), (2, "b"), (3, "b"), (4, "c")].map(|(n, r)| (n, r.to_string()))
    );
    assert_eq!(s.last_event_sequence().unwrap(), 4);
    // A transaction that writes no events leaves the counter alone; one that fails takes none.
    s.transact(|tx| token(tx, 1)).unwrap();
    let refused = s.transact(|tx| -> issuebox::store::TxResult<()> {
        tx.put_events(&[event(EventType::KitLoaded, "P", "d", user("U1"))])?;
        Err(issuebox::domain::error::DomainError::Storage("refused".into()).into())
    });
    assert!(refused.is_err());
    assert_eq!(s.last_event_sequence().unwrap(), 4);
    assert_eq!(sql("SELECT last FROM event_counter"), "4");
    assert_eq!(sql(WAITING), "0");
    assert_clean(&s);
}

#[test]
fn without_the_counter_row_events_wait_unnumbered_until_it_is_back() {
    let Some((url, s)) = store() else { return };
    let one = [event(EventType::UserCreated, "P", "a", user("U1"))];
    s.transact(|tx| tx.put_events(&one)).unwrap();
    s.transact(|tx| tx.put_events(&one)).unwrap();
    assert_eq!(s.last_event_sequence().unwrap(), 2);
    psql(&url, "DELETE FROM event_counter");
    // Writers never touch the counter: the request's writes and its events commit together...
    s.transact(|tx| {
        token(tx, 7)?;
        tx.put_events(&one)
    })
    .unwrap();
    assert_eq!(psql(&url, "SELECT count(*) FROM tokens"), "1");
    assert_eq!(psql(&url, WAITING), "1");
    // ...and wait for their sequence: a reader of sequences is refused meanwhile.
    assert!(s.last_event_sequence().is_err());
    assert_eq!(psql(&url, "SELECT count(*) FROM events"), "2");
    // Opening the store again puts the row back, past the events there; the waiting event is
    // numbered next.
    drop(s);
    let s = Store::open_postgres(&url, 2).unwrap();
    assert_eq!(s.last_event_sequence().unwrap(), 3);
    s.transact(|tx| tx.put_events(&one)).unwrap();
    assert_eq!(s.last_event_sequence().unwrap(), 4);
    assert_clean(&s);
}

#[test]
fn verify_finds_a_gap_a_foreign_id_and_a_pending_delivery_of_no_endpoint() {
    let Some((url, s)) = store() else { return };
    for n in 0..4 {
        s.transact(|tx| {
            tx.put_events(&[event(
                EventType::UserCreated,
                "P",
                &format!("r{n}"),
                user("U1"),
            )])
        })
        .unwrap();
    }
    s.transact(|tx| {
        tx.put_webhook(&webhook("wh_1", 0), true)?;
        tx.put_delivery(&delivery("wh_1", 1, 5), None)?;
        tx.put_delivery(&delivery("wh_1", 2, 5), None)
    })
    .unwrap();
    assert_clean(&s);
    psql(&url, "DELETE FROM events WHERE seq = 2");
    psql(&url, "UPDATE events SET id = 'evt_x_9' WHERE seq = 3");
    psql(&url, "DELETE FROM webhooks");
    let report = s.verify().unwrap();
    let problems = report.problems.join("\n");
    for want in [
        "events: sequences 2 to 2 are missing",
        "event 3: id evt_x_9 names another sequence",
        "delivery wh_1/1 is pending for a missing endpoint",
        "delivery wh_1/2 is pending for a missing endpoint",
    ] {
        assert!(problems.contains(want), "{want}\n{problems}");
    }
    assert_eq!(report.problems.len(), 4, "{problems}");
}

/// Runs `q` with psql (the harness's cluster), answering its output.
fn psql(url: &str, q: &str) -> String {
    let db = url.rsplit('/').next().unwrap();
    common::postgres::shared().unwrap().psql(db, q)
}

#[test]
fn reads_in_a_transaction_see_its_own_writes_and_events_get_sequences_at_commit() {
    let Some((_, s)) = store() else { return };
    let w = webhook("wh_1", 0);
    let d = delivery("wh_1", 7, 1_000);
    s.transact(|tx| {
        assert_eq!(tx.webhook_ids()?, Vec::<String>::new());
        tx.put_webhook(&w, true)?;
        tx.put_delivery(&d, None)?;
        tx.set_fanout_cursor(0)?;
        assert_eq!(tx.webhook("wh_1")?.as_ref(), Some(&w));
        assert_eq!(tx.webhook_ids()?, ["wh_1"]);
        assert_eq!(tx.delivery("wh_1", 7)?.as_ref(), Some(&d));
        tx.put_events(&[event(EventType::WebhookTest, "P", "r", Subjects::default())])?;
        // The sequence is given at commit: not yet here.
        assert_eq!(tx.last_event_sequence()?, 0);
        assert_eq!(tx.events_after(0, 10)?, Vec::<Event>::new());
        Ok(())
    })
    .unwrap();
    assert_eq!(s.last_event_sequence().unwrap(), 1);
    assert_eq!(s.webhook("wh_1").unwrap(), Some(w.clone()));
    assert_eq!(s.delivery("wh_1", 7).unwrap(), Some(d.clone()));
    s.transact(|tx| {
        assert_eq!(tx.events_after(0, 10)?.len(), 1);
        let mut w2 = w.clone();
        w2.url = "http://127.0.0.1:9/changed".into();
        tx.put_webhook(&w2, false)?;
        tx.put_webhook(&webhook("wh_2", 1), true)?;
        tx.remove_webhook("wh_1")?;
        assert_eq!(tx.webhook("wh_1")?, None);
        assert_eq!(tx.webhook_ids()?, ["wh_2"]);
        Ok(())
    })
    .unwrap();
    assert_eq!(s.webhook_ids().unwrap(), ["wh_2"]);
    // Deliveries of a deleted endpoint stay.
    assert_eq!(
        s.deliveries_of("wh_1", 0, 10, None).unwrap(),
        vec![d.clone()]
    );
    s.transact(|tx| {
        tx.put_webhook(&webhook("wh_3", 2), true)?;
        tx.put_webhook(&webhook("wh_0", 3), true)
    })
    .unwrap();
    // Oldest first, not by id.
    assert_eq!(s.webhook_ids().unwrap(), ["wh_2", "wh_3", "wh_0"]);
    assert_eq!(
        s.webhooks()
            .unwrap()
            .iter()
            .map(|w| w.id.as_str())
            .collect::<Vec<_>>(),
        ["wh_2", "wh_3", "wh_0"]
    );
}

fn webhook(id: &str, n: i64) -> Webhook {
    Webhook {
        id: id.into(),
        client: "sandbox".into(),
        url: format!("http://127.0.0.1:9/{id}"),
        event_types: vec![],
        program_codes: vec!["SANDBOX".into()],
        status: WebhookStatus::Enabled,
        description: None,
        secrets: vec![WebhookSecret {
            key: vec![n as u8; 32],
            expires_at: None,
        }],
        after_sequence: 0,
        consecutive_failures: 0,
        created_at: 1_700_000_000 + n,
        updated_at: 1_700_000_000 + n,
    }
}

fn delivery(webhook_id: &str, sequence: u64, due: i64) -> Delivery {
    Delivery {
        webhook_id: webhook_id.into(),
        event_sequence: sequence,
        event_id: event_id("abcdefgh", sequence),
        status: DeliveryStatus::Pending,
        attempts: vec![],
        next_attempt_ms: due,
        round_failures: 0,
        created_ms: due,
    }
}

#[test]
fn due_deliveries_are_claimed_by_one_claimer_at_a_time() {
    let Some((_, s)) = store() else { return };
    const N: u64 = 300;
    let now = 1_000_000;
    s.transact(|tx| {
        tx.put_webhook(&webhook("wh_a", 0), true)?;
        for n in 1..=N {
            tx.put_delivery(&delivery("wh_a", n, now - n as i64), None)?;
        }
        // Neither due yet nor pending: never claimed.
        tx.put_delivery(&delivery("wh_a", N + 1, now + 50_000), None)?;
        let mut done = delivery("wh_a", N + 2, now - 5);
        done.status = DeliveryStatus::Delivered;
        tx.put_delivery(&done, None)
    })
    .unwrap();
    assert_eq!(s.next_due_ms().unwrap(), Some(now - N as i64));
    const CLAIMERS: usize = 6;
    let barrier = Barrier::new(CLAIMERS);
    let claimed: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for _ in 0..CLAIMERS {
            sc.spawn(|| {
                barrier.wait();
                loop {
                    let got = s.due_deliveries(now, 7, 60_000).unwrap();
                    assert!(got.len() <= 7, "{} claimed at once", got.len());
                    if got.is_empty() {
                        return;
                    }
                    claimed.lock().unwrap().extend(got);
                }
            });
        }
    });
    let claimed = claimed.into_inner().unwrap();
    let unique: HashSet<&(String, u64)> = claimed.iter().collect();
    assert_eq!(
        unique.len(),
        claimed.len(),
        "a delivery was handed out twice"
    );
    assert_eq!(claimed.len() as u64, N);
    assert!(unique
        .iter()
        .all(|(w, n)| w == "wh_a" && (1..=N).contains(n)));
    // Leased: nothing more until the lease ends; the soonest is then when it ends.
    assert_eq!(s.due_deliveries(now, 10, 60_000).unwrap(), vec![]);
    assert_eq!(s.next_due_ms().unwrap(), Some(now + 50_000));
    // Soonest first, once the leases end.
    let again = s.due_deliveries(now + 60_000, 3, 60_000).unwrap();
    assert_eq!(
        again,
        [N, N - 1, N - 2].map(|n| ("wh_a".to_string(), n)).to_vec()
    );
    // Writing a delivery ends its lease.
    let d = s.delivery("wh_a", N).unwrap().unwrap();
    s.transact(|tx| tx.put_delivery(&d, Some(&d))).unwrap();
    assert_eq!(
        s.due_deliveries(now + 60_000, 1, 60_000).unwrap(),
        vec![("wh_a".to_string(), N)]
    );
    assert_eq!(
        s.deliveries_of("wh_a", N, 10, None)
            .unwrap()
            .iter()
            .map(|d| d.event_sequence)
            .collect::<Vec<_>>(),
        [N + 1, N + 2]
    );
    assert_eq!(
        s.deliveries_of("wh_a", 0, 10, Some(DeliveryStatus::Delivered))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn two_fan_outs_at_once_take_turns_on_the_cursor() {
    let Some((_, s)) = store() else { return };
    let barrier = Barrier::new(2);
    let seen = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2u64)
            .map(|i| {
                let (s, barrier) = (&s, &barrier);
                sc.spawn(move || {
                    barrier.wait();
                    // The second starts while the first holds the cursor.
                    std::thread::sleep(std::time::Duration::from_millis(100 * i));
                    s.transact(|tx| {
                        let c = tx.fanout_cursor()?;
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        tx.set_fanout_cursor(c + 10)?;
                        Ok(c)
                    })
                    .unwrap()
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(
        seen,
        [0, 10],
        "the second fan-out saw where the first stopped"
    );
    assert_eq!(s.fanout_cursor().unwrap(), 20);
}

/// A request's claim (its requestId, its SSN) is given back by the transaction that commits
/// its writes, not by a second one after it: the keys are free the moment it commits. A run
/// that does not commit leaves the claim held until it is dropped.
#[test]
fn a_claim_given_back_by_the_committing_transaction_is_free_at_once() {
    let Some((url, s)) = store() else { return };
    let keys = || vec![b"rid-1".to_vec(), b"ssn-1".to_vec()];
    let rk = issuebox::domain::model::ResponseKey::new("client", "PROGRAM", "rid-1");
    let (claim, stored) = s.claim(keys(), &rk).unwrap().expect("free");
    assert!(stored.is_none(), "nothing stored under the requestId");
    assert!(
        s.claim(vec![b"rid-1".to_vec()], &rk).unwrap().is_none(),
        "held"
    );
    let refused = s.transact(|tx| -> issuebox::store::TxResult<()> {
        tx.release_claim(&claim)?;
        Err(issuebox::domain::error::DomainError::Storage("refused".into()).into())
    });
    assert!(refused.is_err());
    assert_eq!(
        psql(&url, "SELECT count(*) FROM claims"),
        "2",
        "not committed"
    );
    s.transact(|tx| {
        tx.release_claim(&claim)?;
        token(tx, 1)
    })
    .unwrap();
    assert_eq!(
        psql(&url, "SELECT count(*) FROM claims"),
        "0",
        "gone with the commit"
    );
    claim.released_by_commit();
    let (next, _) = s.claim(keys(), &rk).unwrap().expect("free at once");
    drop(claim);
    assert!(
        s.claim(keys(), &rk).unwrap().is_none(),
        "the next holder keeps it"
    );
    drop(next);
    assert!(s.claim(keys(), &rk).unwrap().is_some(), "free again");
}

/// A task of another tokio runtime (the delivery loop's, an actix worker's) may call the store
/// back to back without yielding: each call waits for the engine's runtime without spending the
/// task's cooperative budget. When it did, the 129th call found the budget spent and its wait
/// answered "not yet" for good: the delivery loop spun at every stop and under load.
#[test]
fn a_task_that_never_yields_may_call_the_store_any_number_of_times() {
    let Some((_, s)) = store() else { return };
    let (done, finished) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let calls = rt.block_on(async {
            let mut calls = 0;
            for _ in 0..1_000 {
                s.fanout_cursor().unwrap();
                calls += 1;
            }
            calls
        });
        let _ = done.send(calls);
    });
    let calls = finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("1,000 store calls from one task end within a minute (none spins)");
    assert_eq!(calls, 1_000);
    t.join().unwrap();
}

/// Writes the same events, one transaction at a time, into a sled store and a postgres store,
/// and asks both the same pages: the SQL engine's filter and page bounds answer what the
/// embedded engine's walk answers.
#[test]
fn pages_filter_by_program_type_and_subject_as_the_embedded_engine_does() {
    let Some((_, pg)) = store() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sled = Store::open(dir.path(), Durability::Os).unwrap();
    let programs = ["SANDBOX", "OTHER"];
    let kinds = [
        EventType::UserCreated,
        EventType::CardIssued,
        EventType::WalletCreated,
    ];
    for n in 0..60usize {
        let subjects = Subjects {
            user: Some(format!("U{}", n % 5)),
            account: (n % 2 == 0).then(|| format!("A{}", n % 7)),
            card: (n % 3 == 0).then(|| format!("C{}", n % 4)),
            wallet: (n % 4 == 1).then(|| "W1".to_string()),
            kit: (n % 9 == 0).then(|| "U1".to_string()),
        };
        let group: Vec<NewEvent> = (0..1 + n % 3)
            .map(|k| {
                event(
                    kinds[(n + k) % 3],
                    programs[n % 2],
                    &format!("r{n}"),
                    subjects.clone(),
                )
            })
            .collect();
        for s in [&sled, &pg] {
            s.transact(|tx| tx.put_events(&group)).unwrap();
        }
    }
    let total = sled.last_event_sequence().unwrap();
    assert_eq!(pg.last_event_sequence().unwrap(), total);
    let filters = [
        EventFilter::default(),
        EventFilter {
            programs: Some(vec!["SANDBOX".into()]),
            ..EventFilter::default()
        },
        EventFilter {
            programs: Some(vec![]),
            ..EventFilter::default()
        },
        EventFilter {
            types: vec![EventType::CardIssued, EventType::WalletCreated],
            ..EventFilter::default()
        },
        EventFilter {
            subject: Some("U1".into()),
            ..EventFilter::default()
        },
        EventFilter {
            subject: Some("W1".into()),
            types: vec![EventType::UserCreated],
            ..EventFilter::default()
        },
        EventFilter {
            programs: Some(vec!["OTHER".into(), "SANDBOX".into()]),
            types: vec![EventType::UserCreated],
            subject: Some("A3".into()),
        },
        EventFilter {
            subject: Some("nobody".into()),
            ..EventFilter::default()
        },
    ];
    let strip = |p: EventPage| {
        let events: Vec<(u64, EventType, Subjects)> = p
            .events
            .into_iter()
            .map(|e| (e.sequence, e.kind, e.subjects))
            .collect();
        (events, p.last_seen, p.more)
    };
    for f in &filters {
        for after in [0, 1, 7, total - 3, total, total + 5] {
            for (limit, scan) in [
                (5, 1000),
                (1000, 1000),
                (3, 10),
                (1000, 10),
                (0, 10),
                (4, 0),
            ] {
                let want = strip(sled.events_page(after, limit, scan, f).unwrap());
                let got = strip(pg.events_page(after, limit, scan, f).unwrap());
                assert_eq!(got, want, "{f:?} after {after} limit {limit} scan {scan}");
            }
        }
        // Followed to the end, a filter's pages hold exactly the events it lets through.
        let (mut after, mut got) = (0, Vec::new());
        loop {
            let page = pg.events_page(after, 4, 25, f).unwrap();
            got.extend(page.events.iter().map(|e| e.sequence));
            after = page.last_seen;
            if !page.more {
                break;
            }
        }
        let want: Vec<u64> = all_events(&pg)
            .into_iter()
            .filter(|e| f.matches(e))
            .map(|e| e.sequence)
            .collect();
        assert_eq!(got, want, "{f:?}");
    }
    assert_clean(&pg);
    assert_clean(&sled);
}

/// What the event counter costs (not a correctness test; run it on a quiet machine):
///
///     cargo test --release --test postgres_events -- --ignored --nocapture measure
///
/// For 1 to 32 threads, transactions per second over three rounds of `ISSUEBOX_MEASURE_SECONDS`
/// (default 5) each, alternating two kinds: a transaction that writes one row (a token grant),
/// and the same transaction with four events (an enrollment's). Both on the harness's cluster
/// (fsync and synchronous_commit on), through a pool of 16 connections.
#[test]
#[ignore]
fn measure_event_commits() {
    let Some((_, s)) = store() else { return };
    let seconds: u64 = std::env::var("ISSUEBOX_MEASURE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let four: Vec<NewEvent> = [
        EventType::EnrollmentCompleted,
        EventType::UserCreated,
        EventType::AccountCreated,
        EventType::CardIssued,
    ]
    .map(|k| event(k, "SANDBOX", "measure", user("U1")))
    .to_vec();
    let run = |threads: usize, events: bool| -> f64 {
        let count = Arc::new(AtomicUsize::new(0));
        let stop = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        std::thread::scope(|sc| {
            for t in 0..threads {
                let (s, count, four) = (&s, count.clone(), &four);
                sc.spawn(move || {
                    let mut n = 0u64;
                    while std::time::Instant::now() < stop {
                        n += 1;
                        s.transact(|tx| {
                            token(tx, (t as u64) << 40 | n)?;
                            if events {
                                tx.put_events(four)?;
                            }
                            Ok(())
                        })
                        .unwrap();
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        count.load(Ordering::Relaxed) as f64 / seconds as f64
    };
    println!("threads  without events tx/s  with 4 events tx/s");
    for threads in [1, 4, 8, 16, 32] {
        let (mut without, mut with) = (0.0, 0.0);
        for _ in 0..3 {
            without += run(threads, false) / 3.0;
            with += run(threads, true) / 3.0;
        }
        println!("{threads:>7}  {without:>19.0}  {with:>18.0}");
    }
    assert_clean(&s);
}

/// Event data is kept compressed (`store::event_data`) in the inbox and in `events`, and read
/// back as the JSON it was; a row written before, with its JSON as it was, reads as it is.
#[test]
fn event_data_is_kept_compressed_and_read_back_as_it_was() {
    let Some((url, s)) = store() else { return };
    let json = r#"{"accountIdentifier":"xCzxFBASVstAitJpRWQsEg","programCode":"SANDBOX","productCode":"GPR100","productName":"Prepaid GPR card","accountType":"gpr","status":"normal","statusReasons":["healthy"],"accountHolders":[{"user":{"userIdentifier":"1Zi5Xwa7x0qMFStYNJuSpB","firstName":"Jordan","lastName":"Okafor","status":"active"}}]}"#;
    let mut e = event(EventType::AccountCreated, "P", "a", user("U1"));
    e.data = json.as_bytes().to_vec();
    s.transact(|tx| tx.put_events(std::slice::from_ref(&e)))
        .unwrap();
    let waiting = psql(
        &url,
        "SELECT get_byte(datas[1], 0) || ' ' || octet_length(datas[1]) FROM event_batches",
    );
    let (marker, stored) = waiting.split_once(' ').unwrap();
    assert_eq!(marker, "1", "the inbox holds the compressed form");
    assert!(
        stored.parse::<usize>().unwrap() * 2 < json.len(),
        "{stored} bytes"
    );
    assert_eq!(all_events(&s)[0].data, json.as_bytes());
    assert_eq!(
        psql(&url, "SELECT get_byte(data, 0) FROM events WHERE seq = 1"),
        "1",
        "so does `events`"
    );
    psql(
        &url,
        "INSERT INTO events (seq, id, kind, occurred_at_ms, program, data) \
         VALUES (2, 'evt_x_2', 'user.created', 0, 'P', convert_to('{\"before\":true}', 'UTF8')); \
         UPDATE event_counter SET last = 2",
    );
    assert_eq!(all_events(&s)[1].data, br#"{"before":true}"#);
}

/// Events a process of the previous version committed into its own inbox (`event_inbox`, one row
/// per event) are numbered too, each once, in the order they were written and in their places,
/// after what was numbered before them.
#[test]
fn events_left_in_the_previous_versions_inbox_are_numbered_in_their_order() {
    let Some((url, s)) = store() else { return };
    s.transact(|tx| tx.put_events(&[event(EventType::UserCreated, "P", "a", user("U1"))]))
        .unwrap();
    assert_eq!(s.last_event_sequence().unwrap(), 1);
    psql(
        &url,
        "INSERT INTO event_inbox (txn, ord, written_at, occurred_at_ms, kind, program, \
           request_id, subject_user, data) VALUES \
         ('\\x0a', 2, 10, 7, 'account.created', 'P', 'b', 'U1', '\\x7b7d'), \
         ('\\x0a', 1, 10, 7, 'user.created', 'P', 'b', 'U1', '\\x7b7d'), \
         ('\\x0b', 1, 20, 8, 'kit.loaded', 'P', 'c', NULL, '\\x7b7d')",
    );
    assert_eq!(s.last_event_sequence().unwrap(), 4);
    let got: Vec<(u64, EventType, String, i64)> = all_events(&s)
        .into_iter()
        .map(|e| (e.sequence, e.kind, e.request_id.unwrap(), e.occurred_at_ms))
        .collect();
    assert_eq!(
        got[1..],
        [
            (2, EventType::UserCreated, "b".to_string(), 7),
            (3, EventType::AccountCreated, "b".to_string(), 7),
            (4, EventType::KitLoaded, "c".to_string(), 8),
        ]
    );
    assert_eq!(psql(&url, "SELECT count(*) FROM event_inbox"), "0");
    assert_eq!(psql(&url, WAITING), "0");
    assert_clean(&s);
}
