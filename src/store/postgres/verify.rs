//! `issuebox verify` on the SQL engine. The schema's constraints already hold what the embedded
//! engine's walk checks by hand (every index entry has its entity, every child its parent, one
//! owner per pack ID and number, at most 15 open wallets): here every record must decode, and
//! each column the constraints stand on must say what its record says.

use super::PgStore;
use crate::domain::error::DomainResult;
use crate::domain::model::*;
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
    let mut counts = Vec::new();
    for c in Counted::ALL {
        counts.push((c.name(), store.count(c)?));
    }
    let tokens = store.rows_of("SELECT count(*) FROM tokens")?;
    counts.push((
        "tokens",
        tokens.first().map_or(0, |r| r.get::<_, i64>(0)) as u64,
    ));
    Ok(Report {
        counts,
        problems: p,
    })
}
