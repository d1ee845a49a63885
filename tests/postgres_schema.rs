//! The PostgreSQL engine's schema on a real PostgreSQL (a throwaway cluster, see
//! `common::postgres`): migrations apply once, in order, also from many processes starting at
//! once, and the rules that must hold across processes are constraints that bite.
//!
//! Without PostgreSQL these tests skip with a message, except under `CI=true`, where they fail.

mod common;

use common::postgres::fresh_database;
use issuebox::store::postgres::migrate::{
    latest_version, migrate, migrate_to, MigrateError, Migration, MIGRATIONS,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Client, NoTls};

async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("connection closed: {e}");
        }
    });
    client
}

/// A migrated database and a connection to it.
async fn migrated() -> Option<Client> {
    let url = fresh_database()?;
    let mut c = connect(&url).await;
    migrate(&mut c).await.expect("migrate");
    Some(c)
}

/// The first column of every row a query answers.
async fn column<T: for<'a> FromSql<'a>>(c: &Client, sql: &str) -> Vec<T> {
    c.query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn versions(c: &Client) -> Vec<i64> {
    column(c, "SELECT version FROM schema_migrations ORDER BY version").await
}

fn all_versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

const TABLES: [&str; 21] = [
    "users",
    "accounts",
    "cards",
    "kits",
    "wallets",
    "pack_ids",
    "number_owners",
    "reviews",
    "stored_responses",
    "claims",
    "tokens",
    "faults",
    "schema_migrations",
    "event_counter",
    "event_prefix",
    "events",
    "webhooks",
    "deliveries",
    "fanout_cursor",
    "event_inbox",
    "event_batches",
];

async fn tables(c: &Client) -> Vec<String> {
    column(
        c,
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY 1",
    )
    .await
}

/// The SQLSTATE and constraint of a failed statement.
fn violation<T: std::fmt::Debug>(r: Result<T, tokio_postgres::Error>) -> (SqlState, String) {
    let e = r.expect_err("the statement should have been refused");
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("not a database error: {e}"));
    (
        db.code().clone(),
        db.constraint().unwrap_or_default().to_string(),
    )
}

/// Asserts that a statement was refused with `code` by `constraint`.
#[track_caller]
fn refused<T: std::fmt::Debug>(
    r: Result<T, tokio_postgres::Error>,
    code: SqlState,
    constraint: &str,
) {
    assert_eq!(violation(r), (code, constraint.to_string()));
}

/// Runs a statement that must be refused with `code` by `constraint`.
async fn refuses(
    c: &Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    code: SqlState,
    constraint: &str,
) {
    let r = c.execute(sql, params).await;
    assert!(r.is_err(), "not refused: {sql}");
    assert_eq!(violation(r), (code, constraint.to_string()), "{sql}");
}

#[tokio::test]
async fn migrate_on_an_empty_database_applies_every_migration() {
    let Some(url) = fresh_database() else { return };
    let mut c = connect(&url).await;
    assert!(tables(&c).await.is_empty());
    let applied = migrate(&mut c).await.unwrap();
    assert_eq!(applied as usize, MIGRATIONS.len());
    assert_eq!(versions(&c).await, all_versions());
    let mut want: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
    want.sort();
    assert_eq!(tables(&c).await, want);
    // Each row keeps the migration's name and the SHA-256 of its text.
    let rows = c
        .query("SELECT version, name, checksum FROM schema_migrations", &[])
        .await
        .unwrap();
    for r in rows {
        let version: i64 = r.get(0);
        let m = MIGRATIONS.iter().find(|m| m.version == version).unwrap();
        assert_eq!(r.get::<_, String>(1), m.name);
        assert_eq!(r.get::<_, Vec<u8>>(2), m.checksum().to_vec());
    }
}

/// Only the claims of requests in flight skip the WAL (migration 0006); every table of records
/// is written to it, so a crash or a standby keeps them.
#[tokio::test]
async fn claims_alone_are_unlogged_and_setting_it_again_changes_nothing() {
    let Some(c) = migrated().await else { return };
    let persistence = "SELECT relname::text FROM pg_class \
         WHERE relkind = 'r' AND relpersistence = 'u' \
         AND relnamespace = 'public'::regnamespace ORDER BY relname";
    assert_eq!(column::<String>(&c, persistence).await, vec!["claims"]);
    // The migration's statement is a no-op on a table already unlogged: a migration cut short
    // after it runs it again.
    c.batch_execute(include_str!(
        "../src/store/postgres/migrations/0006_unlogged_claims.sql"
    ))
    .await
    .unwrap();
    assert_eq!(column::<String>(&c, persistence).await, vec!["claims"]);
    // Its index is unlogged with it.
    let index = "SELECT relpersistence::text FROM pg_class WHERE relname = 'claims_pkey'";
    assert_eq!(column::<String>(&c, index).await, vec!["u"]);
}

const APPLIED_AT: &str = "SELECT applied_at::text FROM schema_migrations ORDER BY version";

#[tokio::test]
async fn migrating_again_is_a_no_op() {
    let Some(url) = fresh_database() else { return };
    let mut c = connect(&url).await;
    migrate(&mut c).await.unwrap();
    let applied_at: Vec<String> = column(&c, APPLIED_AT).await;
    assert_eq!(migrate(&mut c).await.unwrap(), 0);
    assert_eq!(migrate(&mut connect(&url).await).await.unwrap(), 0);
    assert_eq!(versions(&c).await, all_versions());
    assert_eq!(
        applied_at,
        column::<String>(&c, APPLIED_AT).await,
        "nothing was applied a second time"
    );
}

#[tokio::test]
async fn eight_processes_migrating_at_once_all_succeed_and_apply_each_migration_once() {
    let Some(url) = fresh_database() else { return };
    // Connect all eight first, so that the migrations start together.
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(connect(&url).await);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(clients.len()));
    let mut tasks = Vec::new();
    for mut c in clients {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            migrate(&mut c).await
        }));
    }
    let mut applied = 0;
    for t in tasks {
        applied += t
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("a concurrent migrator failed: {e}"));
    }
    assert_eq!(
        applied as usize,
        MIGRATIONS.len(),
        "each migration applied by exactly one migrator"
    );
    let c = connect(&url).await;
    assert_eq!(versions(&c).await, all_versions(), "one row per version");
    assert_eq!(tables(&c).await.len(), TABLES.len());
}

#[tokio::test]
async fn a_migration_cut_short_completes_when_run_again() {
    // As on an engine whose DDL commits statement by statement: part of the first migration is
    // there, its row is not.
    let Some(url) = fresh_database() else { return };
    let mut c = connect(&url).await;
    let first = MIGRATIONS[0].sql;
    let cut = first
        .find("CREATE TABLE IF NOT EXISTS cards")
        .expect("the first migration creates cards");
    c.batch_execute(&first[..cut]).await.unwrap();
    assert!(tables(&c).await.contains(&"accounts".to_string()));
    assert_eq!(migrate(&mut c).await.unwrap() as usize, MIGRATIONS.len());
    assert_eq!(tables(&c).await.len(), TABLES.len());
}

#[tokio::test]
async fn a_changed_migration_is_refused_and_a_newer_one_is_left_alone() {
    let Some(mut c) = migrated().await else {
        return;
    };
    let changed = [Migration {
        version: 1,
        name: "0001_init",
        sql: "CREATE TABLE IF NOT EXISTS other (id text PRIMARY KEY)",
    }];
    match migrate_to(&mut c, &changed).await {
        Err(MigrateError::Changed { version: 1, .. }) => {}
        other => panic!("expected the changed migration to be refused, got {other:?}"),
    }
    // A database migrated by a newer build: this build applies nothing and goes on.
    c.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, '9999_future', '\\x00')",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(migrate(&mut c).await.unwrap(), 0);
    // A later migration of this build applies after the ones already there.
    let mut next = MIGRATIONS.to_vec();
    next.push(Migration {
        version: latest_version() + 1,
        name: "9000_test",
        sql: "CREATE TABLE IF NOT EXISTS later (id text PRIMARY KEY)",
    });
    assert_eq!(migrate_to(&mut c, &next).await.unwrap(), 1);
    assert!(tables(&c).await.contains(&"later".to_string()));
}

const FP: [u8; 32] = [7; 32];
const FP2: [u8; 32] = [8; 32];

async fn insert_user(
    c: &Client,
    id: &str,
    program: &str,
    fp: &[u8],
) -> Result<u64, tokio_postgres::Error> {
    c.execute(
        "INSERT INTO users (id, program, ssn_fp, body) VALUES ($1, $2, $3, $4)",
        &[&id, &program, &fp, &&b"u"[..]],
    )
    .await
}

async fn insert_card(
    c: &Client,
    id: &str,
    open_wallets: i64,
) -> Result<u64, tokio_postgres::Error> {
    c.execute(
        "INSERT INTO cards (id, program, account_id, alias, open_wallets, body) \
         VALUES ($1, 'P1', NULL, NULL, $2, $3)",
        &[&id, &open_wallets, &&b"c"[..]],
    )
    .await
}

#[tokio::test]
async fn one_ssn_makes_one_user_per_program() {
    let Some(c) = migrated().await else { return };
    insert_user(&c, "U1", "P1", &FP).await.unwrap();
    // The same SSN in another program is another user.
    insert_user(&c, "U2", "P2", &FP).await.unwrap();
    refused(
        insert_user(&c, "U3", "P1", &FP).await,
        SqlState::UNIQUE_VIOLATION,
        "users_ssn_once",
    );
    assert_eq!(
        violation(insert_user(&c, "U1", "P1", &FP2).await).0,
        SqlState::UNIQUE_VIOLATION
    );
    refused(
        insert_user(&c, "U4", "P1", &[1; 31]).await,
        SqlState::CHECK_VIOLATION,
        "users_ssn_fp_len",
    );
}

#[tokio::test]
async fn a_card_holds_at_most_fifteen_open_wallets() {
    let Some(c) = migrated().await else { return };
    insert_card(&c, "C1", 0).await.unwrap();
    for _ in 0..15 {
        c.execute(
            "UPDATE cards SET open_wallets = open_wallets + 1 WHERE id = 'C1'",
            &[],
        )
        .await
        .unwrap();
    }
    refuses(
        &c,
        "UPDATE cards SET open_wallets = open_wallets + 1 WHERE id = 'C1'",
        &[],
        SqlState::CHECK_VIOLATION,
        "cards_wallet_cap",
    )
    .await;
    assert_eq!(
        violation(insert_card(&c, "C2", 16).await).0,
        SqlState::CHECK_VIOLATION
    );
    assert_eq!(
        violation(insert_card(&c, "C3", -1).await).0,
        SqlState::CHECK_VIOLATION
    );
    let n: i64 = c
        .query_one("SELECT open_wallets FROM cards WHERE id = 'C1'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 15);
}

#[tokio::test]
async fn a_wallet_needs_its_card_and_a_place_of_its_own() {
    let Some(c) = migrated().await else { return };
    let wallet = |id: &'static str, card: &'static str, seq: i64| {
        let c = &c;
        async move {
            c.execute(
                "INSERT INTO wallets (id, card_id, seq, is_open, body) VALUES ($1, $2, $3, true, $4)",
                &[&id, &card, &seq, &&b"w"[..]],
            )
            .await
        }
    };
    refused(
        wallet("W1", "NOCARD", 0).await,
        SqlState::FOREIGN_KEY_VIOLATION,
        "wallets_card",
    );
    insert_card(&c, "C1", 0).await.unwrap();
    wallet("W1", "C1", 0).await.unwrap();
    wallet("W2", "C1", 1).await.unwrap();
    refused(
        wallet("W3", "C1", 1).await,
        SqlState::UNIQUE_VIOLATION,
        "wallets_seq_once",
    );
}

#[tokio::test]
async fn children_need_their_parents() {
    let Some(c) = migrated().await else { return };
    for (sql, constraint) in [
        (
            "INSERT INTO accounts (id, program, user_id, product, body) \
             VALUES ('A1', 'P1', 'NOUSER', 'GPR', '\\x00')",
            "accounts_user",
        ),
        (
            "INSERT INTO cards (id, program, account_id, body) VALUES ('C1', 'P1', 'NOACC', '\\x00')",
            "cards_account",
        ),
        (
            "INSERT INTO stored_responses (client, program, request_id, account_id, created_at, body) \
             VALUES ('cl', 'P1', 'r1', 'NOACC', 0, '\\x00')",
            "stored_responses_account",
        ),
        (
            "INSERT INTO reviews (user_id, program, state, body) VALUES ('NOUSER', 'P1', 'pending', '\\x00')",
            "reviews_user",
        ),
    ] {
        refuses(&c, sql, &[], SqlState::FOREIGN_KEY_VIOLATION, constraint).await;
    }
}

#[tokio::test]
async fn one_request_id_is_one_stored_response() {
    let Some(c) = migrated().await else { return };
    let put = || {
        c.execute(
            "INSERT INTO stored_responses (client, program, request_id, account_id, created_at, body) \
             VALUES ('cl', 'P1', 'r1', NULL, 0, '\\x00')",
            &[],
        )
    };
    put().await.unwrap();
    refused(
        put().await,
        SqlState::UNIQUE_VIOLATION,
        "stored_responses_pkey",
    );
    // A claim is taken once: the second insert does nothing.
    let claim = || {
        c.execute(
            "INSERT INTO claims (kind, claim_key, holder, claimed_at) VALUES ('request', '\\x01', 'h', 0) \
             ON CONFLICT DO NOTHING",
            &[],
        )
    };
    assert_eq!(claim().await.unwrap(), 1);
    assert_eq!(claim().await.unwrap(), 0);
}

/// A kit is the owner of its pack ID and number until it is assigned, then its card is; each
/// row names exactly one owner that exists.
#[tokio::test]
async fn a_pack_id_and_a_number_have_one_owner_that_exists() {
    let Some(mut c) = migrated().await else {
        return;
    };
    let tx = c.transaction().await.unwrap();
    tx.batch_execute(
        "INSERT INTO kits (program, mapping_id, status, card_id, body) VALUES ('P1', 'M1', 'available', NULL, '\\x00');
         INSERT INTO pack_ids (program, pack_id, card_id, kit_mapping_id) VALUES ('P1', 'PK1', NULL, 'M1');",
    )
    .await
    .unwrap();
    tx.execute(
        "INSERT INTO number_owners (number_fp, card_id, kit_program, kit_mapping_id) VALUES ($1, NULL, 'P1', 'M1')",
        &[&&FP[..]],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Instant issue: the card, then the kit assigned to it, then the pack ID and number moved.
    let tx = c.transaction().await.unwrap();
    tx.batch_execute(
        "INSERT INTO cards (id, program, body) VALUES ('C1', 'P1', '\\x00');
         UPDATE kits SET status = 'assigned', card_id = 'C1' WHERE program = 'P1' AND mapping_id = 'M1';
         UPDATE pack_ids SET card_id = 'C1', kit_mapping_id = NULL WHERE program = 'P1' AND pack_id = 'PK1';",
    )
    .await
    .unwrap();
    tx.execute(
        "UPDATE number_owners SET card_id = 'C1', kit_program = NULL, kit_mapping_id = NULL WHERE number_fp = $1",
        &[&&FP[..]],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Each refused on its own (autocommit), so none changes what the next one meets.
    let refusals: [(&str, &[&(dyn ToSql + Sync)], SqlState, &str); 7] = [
        // One pack ID per program.
        (
            "INSERT INTO pack_ids (program, pack_id, card_id) VALUES ('P1', 'PK1', 'C1')",
            &[],
            SqlState::UNIQUE_VIOLATION,
            "pack_ids_pkey",
        ),
        // Exactly one owner.
        (
            "INSERT INTO pack_ids (program, pack_id) VALUES ('P1', 'PK2')",
            &[],
            SqlState::CHECK_VIOLATION,
            "pack_ids_one_owner",
        ),
        (
            "INSERT INTO number_owners (number_fp, card_id, kit_program, kit_mapping_id) VALUES ($1, 'C1', 'P1', 'M1')",
            &[&&FP2[..]],
            SqlState::CHECK_VIOLATION,
            "number_owners_one_owner",
        ),
        // An owner that exists.
        (
            "INSERT INTO pack_ids (program, pack_id, kit_mapping_id) VALUES ('P1', 'PK3', 'NOKIT')",
            &[],
            SqlState::FOREIGN_KEY_VIOLATION,
            "pack_ids_kit",
        ),
        // One number, one holder.
        (
            "INSERT INTO number_owners (number_fp, card_id) VALUES ($1, 'C1')",
            &[&&FP[..]],
            SqlState::UNIQUE_VIOLATION,
            "number_owners_pkey",
        ),
        // An assigned kit names its card, and a card comes from one kit.
        (
            "INSERT INTO kits (program, mapping_id, status, card_id, body) VALUES ('P1', 'M2', 'assigned', NULL, '\\x00')",
            &[],
            SqlState::CHECK_VIOLATION,
            "kits_assigned_has_card",
        ),
        (
            "INSERT INTO kits (program, mapping_id, status, card_id, body) VALUES ('P1', 'M3', 'assigned', 'C1', '\\x00')",
            &[],
            SqlState::UNIQUE_VIOLATION,
            "kits_card_once",
        ),
    ];
    for (sql, params, code, constraint) in refusals {
        refuses(&c, sql, params, code, constraint).await;
    }
}

/// The harness's crash: `stop_immediate` cuts the server (clients lose their connections),
/// `start` brings it back through crash recovery with every committed write.
#[tokio::test]
async fn a_cluster_cut_like_a_crash_comes_back_with_what_it_committed() {
    let Some(cluster) = common::postgres::PgCluster::new() else {
        return;
    };
    let mut c = connect(&cluster.url()).await;
    migrate(&mut c).await.unwrap();
    insert_user(&c, "U1", "P1", &FP).await.unwrap();
    cluster.stop_immediate();
    assert!(!cluster.is_running());
    assert!(c.query_one("SELECT 1", &[]).await.is_err());
    cluster.start();
    assert!(cluster.is_running());
    let c = connect(&cluster.url()).await;
    let n: i64 = c
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    assert_eq!(versions(&c).await, all_versions());
}

/// One transaction's events waiting in the inbox (`event_batches`), with `kinds` as given and
/// every other array of the same length.
fn batch(txn: &str, kinds: &str) -> String {
    format!(
        "INSERT INTO event_batches (txn, written_at, occurred_at_ms, kinds, programs, \
           request_ids, subject_users, subject_accounts, subject_cards, subject_wallets, \
           subject_kits, datas) \
         SELECT {txn}, 0, 0, k, array_fill('P'::text, ARRAY[n]), \
           array_fill(NULL::text, ARRAY[n]), array_fill(NULL::text, ARRAY[n]), \
           array_fill(NULL::text, ARRAY[n]), array_fill(NULL::text, ARRAY[n]), \
           array_fill(NULL::text, ARRAY[n]), array_fill(NULL::text, ARRAY[n]), \
           array_fill('\\x00'::bytea, ARRAY[n]) \
         FROM (SELECT {kinds} AS k) a, LATERAL (SELECT cardinality(a.k) AS n) c"
    )
}

/// The event tables: one-row tables hold one row, a sequence is positive and once, a
/// transaction's events wait in the inbox once and never as none, a delivery's
/// status is one of four; nothing ties a delivery to its endpoint (it outlives it).
#[tokio::test]
async fn the_event_tables_hold_their_rules() {
    let Some(c) = migrated().await else { return };
    c.batch_execute(&format!(
        "INSERT INTO event_counter (id, last) VALUES (1, 0); \
         INSERT INTO event_inbox (txn, ord, written_at, occurred_at_ms, kind, program, data) \
         VALUES ('\\x01', 1, 0, 0, 'user.created', 'P', '\\x00'); {}",
        batch("'\\x01'", "ARRAY['user.created']")
    ))
    .await
    .unwrap();
    let (again, empty) = (
        batch("'\\x01'", "ARRAY['user.created']"),
        batch("'\\x02'", "ARRAY[]::text[]"),
    );
    for (sql, code, constraint) in [
        (
            "INSERT INTO event_inbox (txn, ord, written_at, occurred_at_ms, kind, program, data) \
             VALUES ('\\x01', 1, 5, 5, 'user.created', 'P', '\\x00')",
            SqlState::UNIQUE_VIOLATION,
            "event_inbox_pkey",
        ),
        (
            again.as_str(),
            SqlState::UNIQUE_VIOLATION,
            "event_batches_pkey",
        ),
        (
            empty.as_str(),
            SqlState::CHECK_VIOLATION,
            "event_batches_not_empty",
        ),
        (
            "INSERT INTO event_counter (id, last) VALUES (2, 0)",
            SqlState::CHECK_VIOLATION,
            "event_counter_one_row",
        ),
        (
            "INSERT INTO event_counter (id, last) VALUES (1, 5)",
            SqlState::UNIQUE_VIOLATION,
            "event_counter_pkey",
        ),
        (
            "INSERT INTO fanout_cursor (id, seq) VALUES (2, 0)",
            SqlState::CHECK_VIOLATION,
            "fanout_cursor_one_row",
        ),
        (
            "INSERT INTO event_prefix (id, prefix) VALUES (1, '')",
            SqlState::CHECK_VIOLATION,
            "event_prefix_not_empty",
        ),
        (
            "INSERT INTO events (seq, id, kind, occurred_at_ms, program, data) \
             VALUES (0, 'evt_a_0', 'user.created', 0, 'P', '\\x00')",
            SqlState::CHECK_VIOLATION,
            "events_seq_positive",
        ),
        (
            "INSERT INTO deliveries (webhook_id, event_sequence, status, next_attempt_ms, body) \
             VALUES ('wh', 1, 'lost', 0, '\\x00')",
            SqlState::CHECK_VIOLATION,
            "deliveries_status",
        ),
    ] {
        refuses(&c, sql, &[], code, constraint).await;
    }
    c.batch_execute(
        "INSERT INTO deliveries (webhook_id, event_sequence, status, next_attempt_ms, body) \
         VALUES ('no_such_endpoint', 1, 'cancelled', 0, '\\x00')",
    )
    .await
    .unwrap();
}
