//! The boundary's listings for people (the console): a program's accounts, cards and kits, a
//! page at a time, each read bounded.
//!
//! A listing reads at most `scan` records past its cursor and returns at most `limit` of them
//! that pass its filter; `next` is the cursor to go on from (the key of the last record looked
//! at), `None` once nothing is left. The embedded engine keeps accounts and cards of every
//! program in one key space, so a page of one program there may look at other programs'
//! records (and come back short, with a `next`); kits are keyed by program on both engines.
//! The SQL engine reads only the program's rows.

use super::{codec, storage_err, Engine, Store};
use crate::domain::error::DomainResult;
use crate::domain::model::{Account, Card, Kit, KitStatus};
use serde::de::DeserializeOwned;

/// What a listing reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    Accounts,
    Cards,
    Kits,
}

/// Where a listing starts and how much it may read.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// The cursor of the previous page (exclusive), `None` from the start.
    pub after: Option<String>,
    /// The most records a page returns.
    pub limit: usize,
    /// The most records a page looks at.
    pub scan: usize,
}

/// One page of a listing.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page; `None` when the listing is done.
    pub next: Option<String>,
}

/// Raw records an engine lists: the key within the program, and the encoded record.
pub type RawRecords = Vec<(String, Vec<u8>)>;

impl Store {
    /// A program's accounts, by account id.
    pub fn accounts_page(&self, program: &str, b: &Bounds) -> DomainResult<Page<Account>> {
        self.page(Listed::Accounts, program, b, |a: &Account| {
            a.program == program
        })
    }

    /// A program's cards by card id; with `last4`, only cards whose number ends so.
    pub fn cards_page(
        &self,
        program: &str,
        last4: Option<&str>,
        b: &Bounds,
    ) -> DomainResult<Page<Card>> {
        self.page(Listed::Cards, program, b, |c: &Card| {
            c.program == program && last4.is_none_or(|l| c.pan.last4 == l)
        })
    }

    /// A program's kits by mapping identifier; with `status`, only kits in it.
    pub fn kits_page(
        &self,
        program: &str,
        status: Option<KitStatus>,
        b: &Bounds,
    ) -> DomainResult<Page<Kit>> {
        self.page(Listed::Kits, program, b, |k: &Kit| {
            k.program == program && status.is_none_or(|s| k.status == s)
        })
    }

    fn page<T: DeserializeOwned>(
        &self,
        what: Listed,
        program: &str,
        b: &Bounds,
        keep: impl Fn(&T) -> bool,
    ) -> DomainResult<Page<T>> {
        let after = b.after.as_deref();
        let scan = b.scan.max(1);
        let raw = match &self.engine {
            Engine::Sled(e) => e.listing(what, program, after, scan)?,
            Engine::Postgres(e) => e.listing(what, program, after, scan)?,
        };
        let looked = raw.len();
        let mut items = Vec::new();
        let mut cursor = None;
        for (key, bytes) in raw {
            let value: T = codec::decode(&bytes).map_err(storage_err)?;
            cursor = Some(key);
            if keep(&value) {
                items.push(value);
                if items.len() >= b.limit {
                    return Ok(Page {
                        items,
                        next: cursor,
                    });
                }
            }
        }
        let next = if looked >= scan { cursor } else { None };
        Ok(Page { items, next })
    }
}
