//! What `/metrics` shows of the store: entity counts by tree, bytes on disk, committer totals.

use super::Ctx;
use crate::store::CommitStats;

/// The store's figures at one moment.
pub struct StoreFigures<'a> {
    /// Entity counts by tree name.
    pub counts: Vec<(&'static str, u64)>,
    pub bytes_on_disk: u64,
    pub commits: &'a CommitStats,
}

/// Reads the store's figures; a count that cannot be read shows as none.
pub fn read(ctx: &Ctx) -> StoreFigures<'_> {
    StoreFigures {
        counts: ctx
            .store
            .counts()
            .unwrap_or_default()
            .into_iter()
            .map(|(c, n)| (c.name(), n))
            .collect(),
        bytes_on_disk: ctx.store.size_on_disk(),
        commits: ctx.store.commit_stats(),
    }
}
