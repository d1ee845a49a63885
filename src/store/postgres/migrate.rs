//! Versioned schema migrations of the PostgreSQL-protocol engine.
//!
//! The migrations live in the repository (`migrations/NNNN_name.sql`, compiled in with
//! `include_str!`) and are listed in [`MIGRATIONS`], in order. A database records what it has in
//! `schema_migrations`: one row per applied version, with the migration's name and the SHA-256
//! of its text. [`migrate`] applies the missing ones in order, each in its own transaction
//! together with its `schema_migrations` row, and refuses a database in which an applied
//! migration differs from the one of the same version here (a released migration never changes:
//! a change is a new migration).
//!
//! ## Many processes starting at once
//!
//! No advisory lock (CockroachDB has none): the `schema_migrations` row is the lock. Each
//! migration runs its DDL first and inserts its row last, in one transaction. Two processes
//! migrating at once race on that row (or, on PostgreSQL, already on the catalog rows of the
//! tables the migration creates); the loser gets a unique violation (23505), an "already exists"
//! (42P07, 42710), a serialization failure (40001) or a deadlock (40P01), rolls back, reads
//! `schema_migrations` again and goes on from there. Retries are bounded ([`MAX_RACES`]) and
//! spaced with jitter.
//!
//! DDL first, then the row, because CockroachDB refuses a schema change after a write in the same
//! transaction ("schema change statement cannot follow a statement that has written in the same
//! transaction"). CockroachDB does not promise that several schema changes in one explicit
//! transaction are atomic, and YugabyteDB commits each DDL statement on its own unless its
//! transactional DDL is enabled: on those engines a migration cut short can leave part of its
//! DDL behind without its row. Every statement of a migration is therefore idempotent
//! (`CREATE … IF NOT EXISTS`, `ALTER TABLE … SET UNLOGGED`), and running it again completes it. On PostgreSQL the transaction
//! is atomic and this never matters.

use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

/// One schema migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in increasing order; never reused.
    pub version: i64,
    pub name: &'static str,
    /// Idempotent statements, separated by `;`.
    pub sql: &'static str,
}

impl Migration {
    /// SHA-256 of the migration's text, as `schema_migrations.checksum` keeps it.
    pub fn checksum(&self) -> [u8; 32] {
        Sha256::digest(self.sql.as_bytes()).into()
    }
}

/// Every migration, in the order they apply.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init",
        sql: include_str!("migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_token_order",
        sql: include_str!("migrations/0002_token_order.sql"),
    },
    Migration {
        version: 3,
        name: "0003_events",
        sql: include_str!("migrations/0003_events.sql"),
    },
    Migration {
        version: 4,
        name: "0004_event_inbox",
        sql: include_str!("migrations/0004_event_inbox.sql"),
    },
    Migration {
        version: 5,
        name: "0005_event_batches",
        sql: include_str!("migrations/0005_event_batches.sql"),
    },
    Migration {
        version: 6,
        name: "0006_unlogged_claims",
        sql: include_str!("migrations/0006_unlogged_claims.sql"),
    },
    Migration {
        version: 7,
        name: "0007_claims_by_holder",
        sql: include_str!("migrations/0007_claims_by_holder.sql"),
    },
];

/// The version a database has once [`migrate`] has run.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// How many races with other migrating processes one [`migrate`] call survives.
pub const MAX_RACES: u32 = 20;

/// The table of applied migrations; created before anything else, on its own.
const LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    bigint      NOT NULL,
    name       text        NOT NULL,
    checksum   bytea       NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schema_migrations_pkey PRIMARY KEY (version)
)";

/// Why the schema could not be brought up to date.
#[derive(Debug)]
pub enum MigrateError {
    /// The database refused or failed (unreachable, no privilege, a statement it rejects), or
    /// other processes kept winning races past [`MAX_RACES`].
    Db(tokio_postgres::Error),
    /// The database applied a migration of this version whose text differs from this build's.
    Changed { version: i64, name: String },
}

impl std::fmt::Display for MigrateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MigrateError::Db(e) => write!(f, "migrating the schema: {e}"),
            MigrateError::Changed { version, name } => write!(
                f,
                "the database applied migration {version} ({name}) with a different text than \
                 this build's: a released migration must never change"
            ),
        }
    }
}

impl std::error::Error for MigrateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MigrateError::Db(e) => Some(e),
            MigrateError::Changed { .. } => None,
        }
    }
}

impl From<tokio_postgres::Error> for MigrateError {
    fn from(e: tokio_postgres::Error) -> Self {
        MigrateError::Db(e)
    }
}

/// Whether an error is what the loser of a race with another migrating process gets.
fn lost_race(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::DUPLICATE_TABLE
            || *c == SqlState::DUPLICATE_OBJECT
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// Brings the schema up to date: applies every migration of [`MIGRATIONS`] the database lacks,
/// in order, each with its `schema_migrations` row in one transaction. Answers how many this
/// call applied (0 when another process did, or the schema was up to date). Safe to run from
/// any number of processes at once.
pub async fn migrate(client: &mut Client) -> Result<u32, MigrateError> {
    migrate_to(client, MIGRATIONS).await
}

/// [`migrate`] with a given list of migrations (in increasing version order).
pub async fn migrate_to(
    client: &mut Client,
    migrations: &[Migration],
) -> Result<u32, MigrateError> {
    let mut applied = 0;
    let mut races = 0;
    loop {
        match step(client, migrations).await {
            Ok(Step::Applied) => applied += 1,
            Ok(Step::UpToDate) => return Ok(applied),
            Err(MigrateError::Db(e)) if lost_race(&e) && races < MAX_RACES => {
                races += 1;
                log::debug!("another process is migrating the schema ({e}); reading again");
                tokio::time::sleep(backoff(races)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

enum Step {
    Applied,
    UpToDate,
}

/// Reads what the database has and applies the first migration it lacks.
async fn step(client: &mut Client, migrations: &[Migration]) -> Result<Step, MigrateError> {
    client.batch_execute(LEDGER).await?;
    let rows = client
        .query(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    let mut have = Vec::with_capacity(rows.len());
    for row in &rows {
        let version: i64 = row.get(0);
        let name: String = row.get(1);
        let checksum: Vec<u8> = row.get(2);
        match migrations.iter().find(|m| m.version == version) {
            Some(m) if m.checksum()[..] != checksum[..] => {
                return Err(MigrateError::Changed { version, name });
            }
            Some(_) => {}
            None => log::warn!(
                "the database has migration {version} ({name}), which this build does not know: \
                 a newer issuebox migrated it"
            ),
        }
        have.push(version);
    }
    let Some(next) = migrations.iter().find(|m| !have.contains(&m.version)) else {
        return Ok(Step::UpToDate);
    };
    let tx = client.transaction().await?;
    tx.batch_execute(next.sql).await?;
    tx.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
        &[&next.version, &next.name, &&next.checksum()[..]],
    )
    .await?;
    tx.commit().await?;
    log::info!("applied schema migration {} ({})", next.version, next.name);
    Ok(Step::Applied)
}

/// A pause before reading again after a lost race: growing with the number of races, with
/// jitter so that the losers do not come back in step.
fn backoff(races: u32) -> Duration {
    use rand::Rng;
    let base = 10u64 << races.min(5);
    Duration::from_millis(base + rand::thread_rng().gen_range(0..=base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_and_names_follow_the_files() {
        let mut last = 0;
        for m in MIGRATIONS {
            assert!(m.version > last, "migration versions must increase");
            last = m.version;
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{} should be named after its version",
                m.name
            );
        }
        assert_eq!(latest_version(), last);
    }

    /// The statements of a migration, without comments, each on one line.
    fn statements(sql: &str) -> Vec<String> {
        let code: String = sql
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        code.split(';')
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
            .collect()
    }

    #[test]
    fn every_schema_statement_is_idempotent() {
        // A migration cut short on an engine without transactional DDL is completed by running
        // it again: every CREATE must tolerate what already exists.
        for m in MIGRATIONS {
            for stmt in statements(m.sql) {
                let upper = stmt.to_ascii_uppercase();
                assert!(
                    upper.starts_with("CREATE TABLE IF NOT EXISTS ")
                        || upper.starts_with("CREATE INDEX IF NOT EXISTS ")
                        || upper.starts_with("CREATE UNIQUE INDEX IF NOT EXISTS ")
                        || (upper.starts_with("ALTER TABLE ")
                            && upper.contains(" ADD COLUMN IF NOT EXISTS "))
                        // A no-op on a table already unlogged (tests/postgres_schema.rs).
                        || (upper.starts_with("ALTER TABLE ") && upper.ends_with(" SET UNLOGGED")),
                    "{}: not an idempotent statement: {stmt}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn no_statement_uses_what_cockroachdb_or_yugabytedb_lack() {
        // Advisory locks, deferrable constraints, sequences and triggers are PostgreSQL's alone
        // (or behave differently elsewhere); `integer` is 64 bits on CockroachDB, so numbers
        // are bigint everywhere and bind to i64.
        for m in MIGRATIONS {
            for stmt in statements(m.sql) {
                let words: Vec<String> = stmt
                    .to_ascii_uppercase()
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .map(str::to_string)
                    .collect();
                for banned in [
                    "ADVISORY",
                    "DEFERRABLE",
                    "DEFERRED",
                    "SERIAL",
                    "BIGSERIAL",
                    "SEQUENCE",
                    "TRIGGER",
                    "FUNCTION",
                    "EXCLUDE",
                    "INTEGER",
                    "INT",
                    "INT4",
                    "SMALLINT",
                    "JSONB",
                ] {
                    assert!(
                        !words.iter().any(|w| w == banned),
                        "{}: uses {banned}: {stmt}",
                        m.name
                    );
                }
            }
        }
    }

    #[test]
    fn released_migrations_are_pinned() {
        // A database that applied a migration refuses a build whose text of it differs, so a
        // released migration's bytes never change: change the schema in a new migration.
        let pinned: &[(i64, &str)] = &[(
            1,
            "539e052157565856f995fd605c0c5c06c162331f1acbf6212a8818bde1c1bb50",
        )];
        for (version, hex_sum) in pinned {
            let m = MIGRATIONS.iter().find(|m| m.version == *version).unwrap();
            assert_eq!(hex::encode(m.checksum()), *hex_sum, "{} changed", m.name);
        }
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for races in 1..=MAX_RACES {
            let d = backoff(races);
            assert!(d >= Duration::from_millis(10u64 << races.min(5)));
            assert!(d <= Duration::from_millis(2 * (10u64 << 5)));
        }
    }
}
