//! The plans PostgreSQL picks for the statements every request runs, on a table churned the way
//! a load churns it: the whole key is the index condition, so a statement's cost does not grow
//! with the dead rows the churn leaves behind.
//!
//! Why: `DELETE FROM claims WHERE kind = $1 AND claim_key = ANY($2) …` got a generic plan that
//! scanned every index entry of the kind (dead ones included) and filtered the keys: under
//! enrollment load it took more of the database's time than the rest of an enrollment together.
//! A request's claims are now given back by their holder (`sql::RELEASE_HOLDER`, migration 0007).
//!
//! Without PostgreSQL these tests skip with a message, except under `CI=true`, where they fail.

mod common;

use common::postgres::fresh_database;
use issuebox::store::postgres::migrate::migrate;
use issuebox::store::postgres::sql;
use tokio_postgres::{Client, NoTls};

async fn migrated() -> Option<Client> {
    let url = fresh_database()?;
    let (mut client, connection) = tokio_postgres::connect(&url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("connection closed: {e}");
        }
    });
    migrate(&mut client).await.expect("migrate");
    Some(client)
}

/// Every `Index Cond` of a JSON plan, with the index it is on.
fn index_conds(plan: &serde_json::Value, out: &mut Vec<(String, String)>) {
    if let Some(cond) = plan.get("Index Cond").and_then(|c| c.as_str()) {
        let index = plan["Index Name"].as_str().unwrap_or("?").to_string();
        out.push((index, cond.to_string()));
    }
    for child in plan
        .get("Plans")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        index_conds(child, out);
    }
}

/// The generic plan (the one a prepared statement settles on after five runs) of `statement`
/// with parameter types `types` (`(t1, …)`, or empty), run once with `args` (`(SQL literals)`, or
/// empty): its index conditions
/// and the shared buffers it touched.
async fn generic_plan(
    c: &Client,
    statement: &str,
    types: &str,
    args: &str,
) -> (Vec<(String, String)>, i64) {
    c.batch_execute(&format!(
        "SET plan_cache_mode = force_generic_plan; DEALLOCATE ALL; \
         PREPARE s {types} AS {statement}"
    ))
    .await
    .unwrap_or_else(|e| panic!("preparing {statement}: {e}"));
    let rows = c
        .simple_query(&format!(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE s {args}"
        ))
        .await
        .unwrap_or_else(|e| panic!("explaining {statement}: {e}"));
    let text = rows
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .expect("a plan");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let plan = &json[0]["Plan"];
    let mut conds = Vec::new();
    index_conds(plan, &mut conds);
    let hit = plan["Shared Hit Blocks"].as_i64().unwrap_or(0)
        + plan["Shared Read Blocks"].as_i64().unwrap_or(0);
    (conds, hit)
}

/// Rows `1..=n` written by `write` and removed by `remove` (each taking the row's number as
/// `$1`), one by one, each statement its own transaction, as a load churns a table: dead rows and
/// index entries that no vacuum has removed yet.
async fn churn(c: &Client, write: &str, remove: &str, n: i64) {
    let write = c.prepare(write).await.unwrap();
    let remove = c.prepare(remove).await.unwrap();
    for chunk in (1..=n).collect::<Vec<_>>().chunks(500) {
        let runs = chunk.iter().map(|g| {
            let (write, remove) = (&write, &remove);
            async move {
                c.execute(write, &[g]).await?;
                c.execute(remove, &[g]).await
            }
        });
        futures_util::future::try_join_all(runs).await.unwrap();
    }
}

#[tokio::test]
async fn giving_back_a_request_s_claims_looks_up_its_holder_however_churned_the_table() {
    let Some(c) = migrated().await else { return };
    // What a load leaves: statistics taken while the table held a handful of claims, then
    // thousands of claims taken and given back one by one, each in its own transaction and under
    // a holder of its own (dead entries that no vacuum has removed yet), and a few live ones: two
    // requests of two keys each.
    c.batch_execute(
        "INSERT INTO claims (kind, claim_key, holder, claimed_at) \
           SELECT 'inflight', sha256(int8send(g)), CASE WHEN g < 5003 THEN 'live' ELSE 'other' END, 0 \
           FROM generate_series(5001, 5004) g",
    )
    .await
    .unwrap();
    c.batch_execute("VACUUM ANALYZE claims").await.unwrap();
    churn(
        &c,
        "INSERT INTO claims (kind, claim_key, holder, claimed_at) \
         VALUES ('inflight', sha256(int8send($1::bigint)), 'h' || ($1::bigint)::text, 0)",
        "DELETE FROM claims WHERE kind = 'inflight' AND holder = 'h' || ($1::bigint)::text",
        4000,
    )
    .await;
    let (conds, blocks) = generic_plan(
        &c,
        sql::RELEASE_HOLDER,
        "(text, text)",
        "('inflight', 'live')",
    )
    .await;
    assert!(
        conds
            .iter()
            .any(|(index, cond)| index == "claims_by_holder" && cond.contains("holder")),
        "the holder is not the index condition: {conds:?}"
    );
    // A lookup by the holder: the index's levels and a heap page or two, not 4,000 dead entries.
    assert!(
        blocks <= 10,
        "giving back a request's claims touched {blocks} blocks"
    );
    let left: Vec<String> = c
        .query("SELECT holder FROM claims ORDER BY holder", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        left,
        ["other", "other"],
        "exactly the holder's claims were given back"
    );
}

#[tokio::test]
async fn asking_whether_events_wait_reads_the_queue_through_its_index() {
    let Some(c) = migrated().await else { return };
    // What a load leaves in the inbox: statistics taken while it was nearly empty, then
    // thousands of transactions' events written and numbered (deleted) one by one, none waiting.
    c.batch_execute("VACUUM ANALYZE event_batches")
        .await
        .unwrap();
    churn(
        &c,
        "INSERT INTO event_batches (txn, written_at, occurred_at_ms, kinds, programs, \
           request_ids, subject_users, subject_accounts, subject_cards, subject_wallets, \
           subject_kits, datas) \
         VALUES (int8send($1::bigint), $1, 0, ARRAY['user.created'], ARRAY['P'], \
           ARRAY[NULL::text], ARRAY['U'], ARRAY[NULL::text], ARRAY[NULL::text], \
           ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[repeat('x', 600)::bytea])",
        "DELETE FROM event_batches WHERE txn = int8send($1::bigint)",
        3000,
    )
    .await;
    // The first look meets the dead rows (and an index scan marks their entries dead); from the
    // second on, an index scan steps over the entries, a hundred and more to a page, while a
    // plain scan reads every heap page again until a vacuum.
    generic_plan(&c, sql::INBOX_ANY, "", "").await;
    let (_, blocks) = generic_plan(&c, sql::INBOX_ANY, "", "").await;
    assert!(
        blocks <= 40,
        "asking whether events wait touched {blocks} blocks"
    );
}
