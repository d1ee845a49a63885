//! `issuebox verify` on the SQL engine. The schema's constraints already hold what the embedded
//! engine's walk checks by hand (every index entry has its entity, every child its parent, one
//! owner per pack ID and number, at most 15 open wallets): here every record must decode, and
//! each column the constraints stand on must say what its record says. Events must run gap-free
//! from the first one kept to the counter, each id naming its sequence; a pending delivery's
//! endpoint must exist (the due index is a partial index: the database keeps it).

use super::PgStore;
use crate::domain::error::DomainResult;
use crate::domain::event::{sequence_of_id, EventType};
use crate::domain::model::*;
use crate::domain::webhook::{Delivery, Webhook};
use crate::store::verify::Report;
use crate::store::{codec, Counted};
use serde::de::DeserializeOwned;

/// Decodes every record of `sql`'s rows (`key, body, …`) and checks it with `check`.
fn walk<T: DeserializeOwned>(
    store: &PgStore,
    table: &str,
    sql: &'static str,
    p: &mut Vec<String>,
    check: impl Fn(&tokio_postgres::Row, &T) -> Option<String>,
) -> DomainResult<()> {
    for row in store.rows_of(sql)? {
        let key: String = row.get(0);
        match codec::decode::<T>(row.get::<_, &[u8]>(1)) {
            Err(e) => p.push(format!("{table} {key}: undecodable record: {e}")),
            Ok(v) => {
                if let Some(problem) = check(&row, &v) {
                    p.push(format!("{table} {key}: {problem}"));
                }
            }
        }
    }
    Ok(())
}

fn differs<T: PartialEq + std::fmt::Debug>(what: &str, column: T, record: T) -> Option<String> {
    (column != record).then(|| format!("{what} column {column:?} but the record says {record:?}"))
}

pub fn verify(store: &PgStore) -> DomainResult<Report> {
    // Events committed and waiting for their sequences are numbered first, as any reader of
    // events would (the embedded engine's start-up replays its journal the same way): what is
    // checked is the store as clients see it.
    store.number_events()?;
    let mut p = Vec::new();
    walk::<User>(
        store,
        "users",
        "SELECT id, body, program, ssn_fp FROM users",
        &mut p,
        |r, u| {
            differs("id", r.get::<_, String>(0), u.id.clone())
                .or_else(|| differs("program", r.get::<_, String>(2), u.program.clone()))
                .or_else(|| differs("ssn_fp", r.get::<_, Vec<u8>>(3), u.ssn_fingerprint.to_vec()))
        },
    )?;
    walk::<Account>(
        store,
        "accounts",
        "SELECT id, body, user_id FROM accounts",
        &mut p,
        |r, a| {
            differs("id", r.get::<_, String>(0), a.id.clone())
                .or_else(|| differs("user_id", r.get::<_, String>(2), a.user_id.clone()))
        },
    )?;
    walk::<Card>(
        store,
        "cards",
        "SELECT c.id, c.body, c.account_id, c.alias, c.open_wallets, \
            (SELECT count(*) FROM wallets w WHERE w.card_id = c.id AND w.is_open), \
            (SELECT n.card_id FROM number_owners n WHERE n.number_fp = \
                (SELECT n2.number_fp FROM number_owners n2 WHERE n2.card_id = c.id)) \
            FROM cards c",
        &mut p,
        |r, c| {
            differs("id", r.get::<_, String>(0), c.id.clone())
                .or_else(|| {
                    differs(
                        "account_id",
                        r.get::<_, Option<String>>(2),
                        c.account_id.clone(),
                    )
                })
                .or_else(|| differs("alias", r.get::<_, Option<String>>(3), c.alias.clone()))
                .or_else(|| differs("open_wallets", r.get::<_, i64>(4), r.get::<_, i64>(5)))
                .or_else(|| {
                    differs(
                        "number owner",
                        r.get::<_, Option<String>>(6),
                        Some(c.id.clone()),
                    )
                })
        },
    )?;
    walk::<Wallet>(
        store,
        "wallets",
        "SELECT id, body, card_id FROM wallets",
        &mut p,
        |r, w| differs("card_id", r.get::<_, String>(2), w.card_id.clone()),
    )?;
    walk::<Kit>(
        store,
        "kits",
        "SELECT mapping_id, body, status, card_id FROM kits",
        &mut p,
        |r, k| {
            differs(
                "status",
                r.get::<_, String>(2),
                k.status.as_str().to_string(),
            )
            .or_else(|| differs("card_id", r.get::<_, Option<String>>(3), k.card_id.clone()))
        },
    )?;
    walk::<Review>(
        store,
        "reviews",
        "SELECT user_id, body, state FROM reviews",
        &mut p,
        |r, v| differs("state", r.get::<_, String>(2), v.state.as_str().to_string()),
    )?;
    walk::<StoredResponse>(
        store,
        "stored_responses",
        "SELECT request_id, body, account_id FROM stored_responses",
        &mut p,
        |r, s| {
            differs(
                "account_id",
                r.get::<_, Option<String>>(2),
                s.account_id.clone(),
            )
        },
    )?;
    let event_counts = check_events(store, &mut p)?;
    let mut counts = Vec::new();
    for c in Counted::ALL {
        counts.push((c.name(), store.count(c)?));
    }
    let tokens = store.rows_of("SELECT count(*) FROM tokens")?;
    counts.push((
        "tokens",
        tokens.first().map_or(0, |r| r.get::<_, i64>(0)) as u64,
    ));
    counts.extend(event_counts);
    Ok(Report {
        counts,
        problems: p,
    })
}

/// Events read a page at a time (a store may hold millions): gap-free, each id naming its
/// sequence and each type known, the last one the counter's. Endpoints and deliveries decode
/// and match their columns; a pending delivery names an endpoint that exists; the fan-out cursor
/// is not past the last event. Answers the counts of events, endpoints and deliveries.
fn check_events(store: &PgStore, p: &mut Vec<String>) -> DomainResult<Vec<(&'static str, u64)>> {
    const PAGE: i64 = 10_000;
    let mut after = 0i64;
    let mut next: Option<i64> = None;
    let mut events = 0u64;
    loop {
        let rows = store.rows(
            "SELECT seq, id, kind FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
            vec![Box::new(after), Box::new(PAGE)],
        )?;
        for r in &rows {
            let (sequence, id, kind): (i64, String, String) = (r.get(0), r.get(1), r.get(2));
            if let Some(n) = next.filter(|n| sequence > *n) {
                p.push(format!(
                    "events: sequences {n} to {} are missing",
                    sequence - 1
                ));
            }
            if sequence_of_id(&id) != Some(sequence as u64) {
                p.push(format!("event {sequence}: id {id} names another sequence"));
            }
            if EventType::parse(&kind).is_none() {
                p.push(format!("event {sequence}: unknown type {kind:?}"));
            }
            next = Some(sequence + 1);
            events += 1;
        }
        match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => after = r.get(0),
            _ => break,
        }
    }
    let one = |sql: &'static str| -> DomainResult<Option<i64>> {
        Ok(store.rows_of(sql)?.first().map(|r| r.get::<_, i64>(0)))
    };
    let counter = one("SELECT last FROM event_counter WHERE id = 1")?;
    match (counter, next) {
        (None, _) => p.push("event_counter: its row is missing".into()),
        (Some(c), Some(n)) if c != n - 1 => p.push(format!(
            "events: the counter says {c}, the last event is {}",
            n - 1
        )),
        _ => {}
    }
    // Events committed and not numbered yet (a sequencer numbers them) must be of known types.
    // (`event_inbox` is where a process of the previous version still writes them.)
    for (table, sql) in [
        (
            "event_batches",
            "SELECT DISTINCT k FROM event_batches, unnest(kinds) AS k",
        ),
        ("event_inbox", "SELECT DISTINCT kind FROM event_inbox"),
    ] {
        for r in store.rows_of(sql)? {
            let kind: String = r.get(0);
            if EventType::parse(&kind).is_none() {
                p.push(format!("{table}: an event of unknown type {kind:?}"));
            }
        }
    }
    if one("SELECT count(*) FROM event_prefix")? != Some(1) {
        p.push("event_prefix: its row is missing".into());
    }
    match one("SELECT seq FROM fanout_cursor WHERE id = 1")? {
        None => p.push("fanout_cursor: its row is missing".into()),
        Some(c) if c > counter.unwrap_or(0) => p.push(format!(
            "the fan-out cursor {c} is past the last event {}",
            counter.unwrap_or(0)
        )),
        Some(_) => {}
    }
    walk::<Webhook>(
        store,
        "webhooks",
        "SELECT id, body, client FROM webhooks",
        p,
        |r, w| {
            differs("id", r.get::<_, String>(0), w.id.clone())
                .or_else(|| differs("client", r.get::<_, String>(2), w.client.clone()))
        },
    )?;
    walk::<Delivery>(
        store,
        "deliveries",
        "SELECT webhook_id || '/' || event_sequence::text, body, webhook_id, event_sequence, \
            status, next_attempt_ms FROM deliveries",
        p,
        |r, d| {
            differs("webhook_id", r.get::<_, String>(2), d.webhook_id.clone())
                .or_else(|| {
                    differs(
                        "event_sequence",
                        r.get::<_, i64>(3),
                        d.event_sequence as i64,
                    )
                })
                .or_else(|| differs("status", r.get::<_, String>(4), d.status.as_str().into()))
                .or_else(|| differs("next_attempt_ms", r.get::<_, i64>(5), d.next_attempt_ms))
                .or_else(|| {
                    (sequence_of_id(&d.event_id) != Some(d.event_sequence))
                        .then(|| format!("event id {} names another event", d.event_id))
                })
        },
    )?;
    for r in store.rows_of(
        "SELECT d.webhook_id, d.event_sequence FROM deliveries d \
         WHERE d.status = 'pending' \
           AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id) \
         ORDER BY d.webhook_id, d.event_sequence",
    )? {
        p.push(format!(
            "delivery {}/{} is pending for a missing endpoint",
            r.get::<_, String>(0),
            r.get::<_, i64>(1)
        ));
    }
    let [_, webhooks, deliveries] = store.event_counts()?;
    Ok(vec![
        ("events", events),
        ("webhooks", webhooks),
        ("deliveries", deliveries),
    ])
}
