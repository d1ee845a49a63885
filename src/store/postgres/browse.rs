//! The SQL engine's side of the console's listings (`crate::store::browse`): one program's rows
//! in key order after a cursor, at most `scan` of them.

use super::PgStore;
use crate::domain::error::DomainResult;
use crate::store::browse::{Listed, RawRecords};

/// The first page and the next ones of each listing: `$1` program, then (`$2` cursor) and the
/// row limit.
fn statements(what: Listed) -> (&'static str, &'static str) {
    match what {
        Listed::Accounts => (
            "SELECT id, body FROM accounts WHERE program = $1 ORDER BY id LIMIT $2",
            "SELECT id, body FROM accounts WHERE program = $1 AND id > $2 ORDER BY id LIMIT $3",
        ),
        Listed::Cards => (
            "SELECT id, body FROM cards WHERE program = $1 ORDER BY id LIMIT $2",
            "SELECT id, body FROM cards WHERE program = $1 AND id > $2 ORDER BY id LIMIT $3",
        ),
        Listed::Kits => (
            "SELECT mapping_id, body FROM kits WHERE program = $1 ORDER BY mapping_id LIMIT $2",
            "SELECT mapping_id, body FROM kits WHERE program = $1 AND mapping_id > $2 \
             ORDER BY mapping_id LIMIT $3",
        ),
    }
}

impl PgStore {
    /// At most `scan` rows of `program` after `after`, in key order.
    pub fn listing(
        &self,
        what: Listed,
        program: &str,
        after: Option<&str>,
        scan: usize,
    ) -> DomainResult<RawRecords> {
        let (first, next) = statements(what);
        let limit = scan.min(i64::MAX as usize) as i64;
        let rows = match after {
            None => self.rows(first, vec![Box::new(program.to_string()), Box::new(limit)])?,
            Some(a) => self.rows(
                next,
                vec![
                    Box::new(program.to_string()),
                    Box::new(a.to_string()),
                    Box::new(limit),
                ],
            )?,
        };
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, Vec<u8>>(1)))
            .collect())
    }
}
