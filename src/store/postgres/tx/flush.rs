//! Sending a transaction's pending writes: one statement per write, in the order the foreign
//! keys need (parents before children), pipelined in one round trip. A transaction's events go
//! last, unnumbered, into the inbox (see [`super::super::events`]), and COMMIT with them.

use super::super::sql;
use super::PgTx;
use crate::domain::event::{Event, EventType, NewEvent, Subjects};
use crate::domain::model::*;
use crate::store::{codec, TxResult};
use tokio_postgres::types::ToSql;

impl PgTx<'_> {
    /// Sends every pending write, parents before children, in one pipelined round trip. When
    /// the run wrote events, their statement goes last and COMMIT right after it, in the same
    /// round trip (one round trip less for every request that changes something). Answers
    /// whether it committed (else the caller commits).
    pub(in crate::store::postgres) fn flush(&self) -> TxResult<bool> {
        let mut statements = self.statements();
        let events = self.events_statement();
        let commit = events.is_some();
        statements.extend(events);
        if statements.is_empty() {
            return Ok(false);
        }
        self.wait(async {
            let mut prepared = Vec::with_capacity(statements.len());
            for (sql, _) in &statements {
                prepared.push(self.client.prepare_cached(sql).await?);
            }
            let runs = prepared.iter().zip(&statements).map(|(stmt, (_, params))| {
                let refs: Vec<&(dyn ToSql + Sync)> = params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                async move { self.client.execute(stmt, &refs).await }
            });
            let runs = futures_util::future::try_join_all(runs);
            if commit {
                // Sent after every statement (the futures are polled, and so sent, in order).
                // A statement that fails aborts the transaction, and this COMMIT then rolls it
                // back; the statement's error is the answer.
                let commit = self.client.batch_execute("COMMIT");
                futures_util::future::try_join(runs, commit)
                    .await
                    .map(|_| ())
            } else {
                runs.await.map(|_| ())
            }
        })
        .map_err(|e| self.fail(e))?;
        Ok(commit)
    }

    /// The statements of the pending writes, in the order the foreign keys need; the events'
    /// statement, if any, is [`events_statement`](Self::events_statement).
    fn statements(&self) -> Vec<(&'static str, Vec<Box<dyn ToSql + Sync + Send>>)> {
        let p = self.pending.borrow();
        let mut out: Vec<(&'static str, Vec<Box<dyn ToSql + Sync + Send>>)> = Vec::new();
        for (u, new) in &p.users {
            let sql = if *new {
                sql::INSERT_USER
            } else {
                sql::UPDATE_USER
            };
            out.push((
                sql,
                vec![
                    b(u.id.clone()),
                    b(u.program.clone()),
                    b(u.ssn_fingerprint.to_vec()),
                    body(u),
                ],
            ));
        }
        for (a, new) in &p.accounts {
            let sql = if *new {
                sql::INSERT_ACCOUNT
            } else {
                sql::UPDATE_ACCOUNT
            };
            out.push((
                sql,
                vec![
                    b(a.id.clone()),
                    b(a.program.clone()),
                    b(a.user_id.clone()),
                    b(a.product.clone()),
                    body(a),
                ],
            ));
        }
        for (c, new) in p.cards.iter().filter(|(_, new)| *new) {
            debug_assert!(*new);
            out.push((sql::INSERT_CARD, card_params(c)));
        }
        for (k, new) in &p.kits {
            let sql = if *new {
                sql::INSERT_KIT
            } else {
                sql::UPDATE_KIT
            };
            out.push((
                sql,
                vec![
                    b(k.program.clone()),
                    b(k.mapping_id.clone()),
                    b(k.status.as_str().to_string()),
                    b(k.card_id.clone()),
                    body(k),
                ],
            ));
            if *new {
                out.push((
                    sql::INSERT_KIT_PACK,
                    vec![
                        b(k.program.clone()),
                        b(k.pack_id.clone()),
                        b(k.mapping_id.clone()),
                    ],
                ));
                out.push((
                    sql::INSERT_KIT_NUMBER,
                    vec![
                        b(k.pan.fingerprint.to_vec()),
                        b(k.program.clone()),
                        b(k.mapping_id.clone()),
                    ],
                ));
            }
        }
        for (c, new) in &p.cards {
            if *new {
                out.push((
                    sql::OWN_NUMBER,
                    vec![b(c.pan.fingerprint.to_vec()), b(c.id.clone())],
                ));
                if let Some(pack) = &c.pack_id {
                    out.push((
                        sql::OWN_PACK,
                        vec![b(c.program.clone()), b(pack.clone()), b(c.id.clone())],
                    ));
                }
            } else {
                out.push((sql::UPDATE_CARD, card_params(c)));
            }
        }
        let mut touched: Vec<String> = Vec::new();
        for (w, new, left) in &p.wallets {
            let open = w.status != WalletStatus::Closed;
            let sql = match (new, left) {
                (true, _) => sql::INSERT_WALLET,
                (false, Some(_)) => sql::MOVE_WALLET,
                (false, None) => sql::UPDATE_WALLET,
            };
            out.push((
                sql,
                vec![b(w.id.clone()), b(w.card_id.clone()), b(open), body(w)],
            ));
            for c in std::iter::once(&w.card_id).chain(left) {
                if !touched.contains(c) {
                    touched.push(c.clone());
                }
            }
        }
        for c in touched {
            out.push((sql::COUNT_OPEN_WALLETS, vec![b(c)]));
        }
        for (r, new) in &p.reviews {
            let sql = if *new {
                sql::INSERT_REVIEW
            } else {
                sql::UPDATE_REVIEW
            };
            out.push((
                sql,
                vec![
                    b(r.user_id.clone()),
                    b(r.program.clone()),
                    b(r.state.as_str().to_string()),
                    body(r),
                ],
            ));
        }
        for (k, r, new) in &p.responses {
            let key = || {
                vec![
                    b(k.client.clone()),
                    b(k.program.clone()),
                    b(k.request_id.clone()),
                ]
            };
            match r {
                None => out.push((sql::DELETE_RESPONSE, key())),
                Some(r) => {
                    let sql = if *new {
                        sql::INSERT_RESPONSE
                    } else {
                        sql::UPDATE_RESPONSE
                    };
                    let mut params = key();
                    params.extend([b(r.account_id.clone()), b(r.created_at), body(r)]);
                    out.push((sql, params));
                }
            }
        }
        for (hash, g) in &p.tokens {
            match g {
                None => out.push((sql::DELETE_TOKEN, vec![b(hash.to_vec())])),
                Some(g) => out.push((
                    sql::PUT_TOKEN,
                    vec![
                        b(hash.to_vec()),
                        b(g.client_id.clone()),
                        b(g.expires_at),
                        body(g),
                        b(minted_now()),
                    ],
                )),
            }
        }
        for (id, w, new) in &p.webhooks {
            match w {
                None => out.push((sql::DELETE_WEBHOOK, vec![b(id.clone())])),
                Some(w) if *new => out.push((
                    sql::INSERT_WEBHOOK,
                    vec![
                        b(w.id.clone()),
                        b(w.client.clone()),
                        b(minted_now()),
                        body(w),
                    ],
                )),
                Some(w) => out.push((
                    sql::UPDATE_WEBHOOK,
                    vec![b(w.id.clone()), b(w.client.clone()), body(w)],
                )),
            }
        }
        for d in &p.deliveries {
            out.push((
                sql::PUT_DELIVERY,
                vec![
                    b(d.webhook_id.clone()),
                    b(d.event_sequence as i64),
                    b(d.status.as_str().to_string()),
                    b(d.next_attempt_ms),
                    body(d),
                ],
            ));
        }
        if let Some(c) = p.fanout {
            out.push((sql::SET_FANOUT_CURSOR, vec![b(c as i64)]));
        }
        for holder in &p.claim_releases {
            out.push((
                sql::RELEASE_HOLDER,
                vec![b("inflight".to_string()), b(holder.clone())],
            ));
        }
        if let Some(last) = p.restored_events.iter().map(|e| e.sequence).max() {
            let e = &p.restored_events;
            let mut params = vec![
                b(e.iter().map(|e| e.sequence as i64).collect::<Vec<i64>>()),
                b(e.iter().map(|e| e.id.clone()).collect::<Vec<String>>()),
                b(e.iter().map(|e| e.occurred_at_ms).collect::<Vec<i64>>()),
            ];
            params.extend(shared_event_columns(e.iter().map(EventColumns::from)));
            out.push((sql::RESTORE_EVENTS, params));
            out.push((sql::COUNTER_PAST, vec![b(last as i64)]));
        }
        out
    }

    /// The statement that writes this run's events into the inbox, unnumbered, under a random
    /// key of this run. None when the run wrote no events.
    fn events_statement(&self) -> Option<(&'static str, Vec<Box<dyn ToSql + Sync + Send>>)> {
        let p = self.pending.borrow();
        let e = &p.events;
        if e.is_empty() {
            return None;
        }
        let txn: [u8; 16] = rand::random();
        let mut params = vec![b(txn.to_vec()), b(crate::domain::event::now_ms())];
        params.extend(shared_event_columns(e.iter().map(EventColumns::from)));
        Some((sql::INBOX_EVENTS, params))
    }
}

/// What a new event and a restored one write alike.
struct EventColumns<'a> {
    kind: EventType,
    program: &'a str,
    request_id: &'a Option<String>,
    subjects: &'a Subjects,
    data: &'a [u8],
}

impl<'a> From<&'a NewEvent> for EventColumns<'a> {
    fn from(e: &'a NewEvent) -> Self {
        EventColumns {
            kind: e.kind,
            program: &e.program,
            request_id: &e.request_id,
            subjects: &e.subjects,
            data: &e.data,
        }
    }
}

impl<'a> From<&'a Event> for EventColumns<'a> {
    fn from(e: &'a Event) -> Self {
        EventColumns {
            kind: e.kind,
            program: &e.program,
            request_id: &e.request_id,
            subjects: &e.subjects,
            data: &e.data,
        }
    }
}

/// The nine columns both event statements take (`$3`-`$11` of the inbox's, `$4`-`$12` of the
/// restore's), one array each: type, program, request id, the five subjects, data.
fn shared_event_columns<'a>(
    rows: impl Iterator<Item = EventColumns<'a>>,
) -> Vec<Box<dyn ToSql + Sync + Send>> {
    let rows: Vec<EventColumns> = rows.collect();
    let text = |f: &dyn Fn(&EventColumns) -> Option<String>| -> Box<dyn ToSql + Sync + Send> {
        b(rows.iter().map(f).collect::<Vec<Option<String>>>())
    };
    vec![
        b(rows
            .iter()
            .map(|r| r.kind.as_str().to_string())
            .collect::<Vec<String>>()),
        b(rows
            .iter()
            .map(|r| r.program.to_string())
            .collect::<Vec<String>>()),
        text(&|r| r.request_id.clone()),
        text(&|r| r.subjects.user.clone()),
        text(&|r| r.subjects.account.clone()),
        text(&|r| r.subjects.card.clone()),
        text(&|r| r.subjects.wallet.clone()),
        text(&|r| r.subjects.kit.clone()),
        // Kept compressed (see `store::event_data`); `event_at` gives the JSON back.
        b(rows
            .iter()
            .map(|r| crate::store::event_data::pack(r.data))
            .collect::<Vec<Vec<u8>>>()),
    ]
}

/// Unix nanoseconds, the order of a client's tokens.
fn minted_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn b<T: ToSql + Sync + Send + 'static>(v: T) -> Box<dyn ToSql + Sync + Send> {
    Box::new(v)
}

fn body<T: serde::Serialize>(v: &T) -> Box<dyn ToSql + Sync + Send> {
    Box::new(codec::encode(v))
}

fn card_params(c: &Card) -> Vec<Box<dyn ToSql + Sync + Send>> {
    vec![
        b(c.id.clone()),
        b(c.program.clone()),
        b(c.account_id.clone()),
        b(c.alias.clone()),
        body(c),
    ]
}
