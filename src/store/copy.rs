//! `issuebox copy --from <store> --to <store>`: moves a store between engines (a kiosk's sled
//! directory into a central PostgreSQL database, or back), or between two stores of one engine.
//! A store is `sled:DIR` or `postgres:URL`.
//!
//! The copy goes through the boundary, not below it: the source's [`Store::export`] hands its
//! records parents first, and the target writes them with [`Tx::restore`](super::Tx::restore),
//! the typed writes requests use, [`BATCH`] records per transaction (`--batch`), so every index
//! entry and counter of the target is kept exactly as its own writes keep them. Then the
//! target's `verify` runs, and each kind's count is compared: the source's, the records copied,
//! the target's.
//!
//! What is copied: users, accounts, cards (an instant-issued card with its kit), kits, wallets
//! (each card's in creation order), OFAC reviews, stored BaaS responses with their keys (so a
//! replay answers the same bytes on the target), token grants (so a token keeps working), events
//! with their sequences and ids (the target's sequence goes on after them; its own new events
//! carry its own id prefix), webhook endpoints with their secrets, every delivery (pending ones
//! are attempted by the target) and the fan-out cursor (so no event is fanned out twice).
//! Not copied: requests in flight (claims), a process's leases on deliveries it was attempting,
//! and sandbox fault switches, which are not records.
//!
//! The target must be empty (no entity, stored response or token): a copy never merges. The
//! source must not change during the copy: a sled source is locked by the copy's process (a
//! server on it must be stopped first); a PostgreSQL source is read in one snapshot, so writes
//! made after the copy starts are not in it.

use super::{verify, Counted, Record, Store};
use crate::config::Durability;
use crate::domain::error::DomainError;
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Records written per transaction of the target, unless `--batch` says otherwise.
pub const BATCH: usize = 500;

/// Connections the copy keeps to a PostgreSQL store.
const POOL: usize = 2;

/// A store named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// `sled:DIR`
    Sled(PathBuf),
    /// `postgres:URL`, a URL or libpq's `key=value` form.
    Postgres(String),
}

impl StoreSpec {
    /// `sled:DIR` or `postgres:URL`; a bare `postgres://` or `postgresql://` URL is taken as
    /// `postgres:` and that URL.
    pub fn parse(s: &str) -> Result<StoreSpec, String> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(StoreSpec::Postgres(s.to_string()));
        }
        match s.split_once(':') {
            Some(("sled", dir)) if !dir.is_empty() => Ok(StoreSpec::Sled(dir.into())),
            Some(("postgres", url)) if !url.trim().is_empty() => {
                Ok(StoreSpec::Postgres(url.to_string()))
            }
            _ => Err(format!(
                "`{}` names no store: write sled:DIR or postgres:URL",
                redact(s)
            )),
        }
    }

    /// Whether both name one store (one directory, or one URL as written).
    fn same_as(&self, other: &StoreSpec) -> bool {
        match (self, other) {
            (StoreSpec::Sled(a), StoreSpec::Sled(b)) => {
                let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
                real(a) == real(b)
            }
            (StoreSpec::Postgres(a), StoreSpec::Postgres(b)) => a == b,
            _ => false,
        }
    }
}

/// As written, with a PostgreSQL password hidden.
impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Sled(dir) => write!(f, "sled:{}", dir.display()),
            StoreSpec::Postgres(url) => write!(f, "postgres:{}", redact(url)),
        }
    }
}

/// `url` with its password, if any, replaced by `***` (URL or `key=value` form).
fn redact(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &authority[..colon],
                    &rest[at..]
                );
            }
        }
        return url.to_string();
    }
    url.split(' ')
        .map(|kv| {
            if kv.trim_start().starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The kinds a copy counts: every [`Counted`] entity, then tokens, events, webhook endpoints and
/// deliveries.
const KINDS: usize = Counted::ALL.len() + 4;
const TOKENS: usize = Counted::ALL.len();
const EVENTS: usize = TOKENS + 1;
const WEBHOOKS: usize = TOKENS + 2;
const DELIVERIES: usize = TOKENS + 3;

fn kind_name(i: usize) -> &'static str {
    match Counted::ALL.get(i) {
        Some(c) => c.name(),
        None => ["tokens", "events", "webhooks", "deliveries"][i - TOKENS],
    }
}

/// What a copy did: per kind, the source's count, the records copied and the target's count;
/// and the target's `verify`.
#[derive(Debug)]
pub struct Copied {
    pub from: StoreSpec,
    pub to: StoreSpec,
    pub kinds: Vec<(&'static str, u64, u64, u64)>,
    pub report: verify::Report,
}

impl Copied {
    /// The target verified clean and holds what the source held.
    pub fn is_clean(&self) -> bool {
        self.report.is_clean() && self.mismatches().is_empty()
    }

    fn mismatches(&self) -> Vec<String> {
        self.kinds
            .iter()
            .filter(|(_, s, c, t)| s != c || c != t)
            .map(|(name, s, c, t)| {
                format!("{name}: the source counts {s}, {c} were copied, the target counts {t}")
            })
            .collect()
    }
}

impl fmt::Display for Copied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "copied {} to {}", self.from, self.to)?;
        writeln!(
            f,
            "{:>12}  {:>10}  {:>10}  {:>10}",
            "", "source", "copied", "target"
        )?;
        for (name, s, c, t) in &self.kinds {
            writeln!(f, "{name:>12}  {s:>10}  {c:>10}  {t:>10}")?;
        }
        for m in self.mismatches() {
            writeln!(f, "mismatch: {m}")?;
        }
        writeln!(f, "verify of {}:", self.to)?;
        write!(f, "{}", self.report)
    }
}

/// Why a store error stopped the copy, in words.
fn say(e: DomainError) -> String {
    match e {
        DomainError::Storage(s) => s,
        DomainError::StoreBusy => "the database refused a batch again and again (a constraint \
             the records break, or another process writing to the target)"
            .into(),
        e => e.to_string(),
    }
}

/// Copies every record of `from` into the empty store `to`, `batch` records per transaction,
/// then verifies `to`. An `Err` is why nothing (or, after the records began to flow, not
/// everything) was copied.
pub fn copy(from: &str, to: &str, batch: usize) -> Result<Copied, String> {
    if batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    let (from, to) = (StoreSpec::parse(from)?, StoreSpec::parse(to)?);
    if from.same_as(&to) {
        return Err(format!("--from and --to both name {from}"));
    }
    let source = open_source(&from)?;
    let target = open_target(&to)?;
    let held = counts_of(&target).map_err(|e| format!("{to}: {}", say(e)))?;
    let holds_events = held[EVENTS..].iter().any(|n| *n > 0);
    if holds_events || !target.is_empty().map_err(|e| format!("{to}: {}", say(e)))? {
        let held: Vec<String> = (0..KINDS)
            .filter(|&i| held[i] > 0)
            .map(|i| format!("{} {}", held[i], kind_name(i)))
            .collect();
        return Err(format!(
            "{to} is not empty (it holds {}): a copy goes only into an empty store",
            if held.is_empty() {
                "index entries".to_string()
            } else {
                held.join(", ")
            }
        ));
    }
    let before = counts_of(&source).map_err(|e| format!("{from}: {}", say(e)))?;
    let mut import = Import {
        target: &target,
        batch: Vec::with_capacity(batch),
        size: batch,
        copied: [0; KINDS],
        progress: Progress::new(before.iter().sum()),
    };
    let mut flowed = source.export(&mut |r| import.push(r));
    if flowed.is_ok() {
        flowed = import.write();
    }
    import.progress.finish();
    flowed.and_then(|()| target.flush()).map_err(|e| {
        format!(
            "the copy stopped: {}. {to} holds what was written before: empty it before copying again",
            say(e)
        )
    })?;
    let copied = import.copied;
    let report = target.verify().map_err(|e| format!("{to}: {}", say(e)))?;
    let after = counts_of(&target).map_err(|e| format!("{to}: {}", say(e)))?;
    drop(source);
    drop(target);
    if let StoreSpec::Sled(dir) = &to {
        // Opened once more now, its next start is quick (see `Store::checkpoint`).
        if let Err(e) = Store::checkpoint(dir) {
            log::warn!("{to}: checkpoint after the copy: {}", say(e));
        }
    }
    Ok(Copied {
        kinds: (0..KINDS)
            .map(|i| (kind_name(i), before[i], copied[i], after[i]))
            .collect(),
        from,
        to,
        report,
    })
}

fn open_source(spec: &StoreSpec) -> Result<Store, String> {
    match spec {
        StoreSpec::Sled(dir) => {
            if !dir.is_dir() {
                return Err(format!("{spec}: no such directory"));
            }
            // Opening creates a store where there is none: a source must be one already.
            if !dir.join("conf").is_file() {
                return Err(format!("{spec}: the directory holds no sled store"));
            }
            Store::open(dir, Durability::Os).map_err(|e| format!("{spec}: {}", say(e)))
        }
        StoreSpec::Postgres(url) => open_postgres(spec, url),
    }
}

/// Opens the target, creating a sled directory or the database's schema as a server does.
fn open_target(spec: &StoreSpec) -> Result<Store, String> {
    match spec {
        StoreSpec::Sled(dir) => {
            if dir.exists() && !dir.is_dir() {
                return Err(format!("{spec}: not a directory"));
            }
            let other_files = dir.is_dir()
                && !dir.join("conf").is_file()
                && std::fs::read_dir(dir)
                    .map_err(|e| format!("{spec}: {e}"))?
                    .next()
                    .is_some();
            if other_files {
                return Err(format!(
                    "{spec}: the directory holds files but no sled store: name a new or empty one"
                ));
            }
            // `flush` makes the whole copy durable at the end, rather than each batch.
            Store::open(dir, Durability::Os).map_err(|e| format!("{spec}: {}", say(e)))
        }
        StoreSpec::Postgres(url) => open_postgres(spec, url),
    }
}

fn open_postgres(spec: &StoreSpec, url: &str) -> Result<Store, String> {
    if let Err(e) = url.parse::<tokio_postgres::Config>() {
        return Err(format!("{spec}: not a PostgreSQL URL: {e}"));
    }
    Store::open_postgres(url, POOL).map_err(|e| format!("{spec}: {}", say(e)))
}

/// Each kind's count in `store` (after the entities: tokens, events, endpoints, deliveries).
fn counts_of(store: &Store) -> Result<[u64; KINDS], DomainError> {
    let mut out = [0; KINDS];
    for (c, n) in store.counts()? {
        out[c.index()] = n;
    }
    out[TOKENS] = store.token_count()?;
    // Counted below the boundary: each engine counts its own tables or trees.
    let [events, webhooks, deliveries] = match &store.engine {
        super::Engine::Sled(s) => s.event_counts()?,
        super::Engine::Postgres(p) => p.event_counts()?,
    };
    out[EVENTS] = events;
    out[WEBHOOKS] = webhooks;
    out[DELIVERIES] = deliveries;
    Ok(out)
}

/// The records on their way into the target, a batch at a time.
struct Import<'a> {
    target: &'a Store,
    batch: Vec<Record>,
    /// Records per transaction.
    size: usize,
    copied: [u64; KINDS],
    progress: Progress,
}

impl Import<'_> {
    fn push(&mut self, r: Record) -> Result<(), DomainError> {
        let mut count = |c: Counted| self.copied[c.index()] += 1;
        match &r {
            Record::User(_) => count(Counted::Users),
            Record::Account(_) => count(Counted::Accounts),
            Record::Card(_, kit) => {
                count(Counted::Cards);
                if kit.is_some() {
                    count(Counted::Kits);
                }
            }
            Record::Kit(_) => count(Counted::Kits),
            Record::Wallet(_) => count(Counted::Wallets),
            Record::Review(_) => count(Counted::Reviews),
            Record::Response(..) => count(Counted::StoredResponses),
            Record::Token(..) => self.copied[TOKENS] += 1,
            Record::Events(events) => self.copied[EVENTS] += events.len() as u64,
            Record::Webhook(_) => self.copied[WEBHOOKS] += 1,
            Record::Delivery(_) => self.copied[DELIVERIES] += 1,
            Record::FanoutCursor(_) => {}
        }
        self.batch.push(r);
        if self.batch.len() >= self.size {
            self.write()?;
        }
        Ok(())
    }

    /// Writes the batch in one transaction of the target.
    fn write(&mut self) -> Result<(), DomainError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = &self.batch;
        self.target
            .transact(|tx| batch.iter().try_for_each(|r| tx.restore(r)))?;
        let records = batch
            .iter()
            .map(|r| match r {
                Record::Card(_, Some(_)) => 2,
                Record::Events(events) => events.len() as u64,
                Record::FanoutCursor(_) => 0,
                _ => 1,
            })
            .sum();
        let last = batch.last().map(kind_of);
        self.batch.clear();
        self.progress.add(records, last.unwrap_or(""));
        Ok(())
    }
}

fn kind_of(r: &Record) -> &'static str {
    match r {
        Record::User(_) => Counted::Users.name(),
        Record::Account(_) => Counted::Accounts.name(),
        Record::Card(..) => Counted::Cards.name(),
        Record::Kit(_) => Counted::Kits.name(),
        Record::Wallet(_) => Counted::Wallets.name(),
        Record::Review(_) => Counted::Reviews.name(),
        Record::Response(..) => Counted::StoredResponses.name(),
        Record::Token(..) => "tokens",
        Record::Events(_) => "events",
        Record::Webhook(_) => "webhooks",
        Record::Delivery(_) => "deliveries",
        Record::FanoutCursor(_) => "fan-out cursor",
    }
}

/// A progress bar on a terminal (stderr); elsewhere a line every [`LINE_EVERY`].
enum Progress {
    Bar(indicatif::ProgressBar),
    Lines {
        total: u64,
        done: u64,
        last: Instant,
    },
}

const LINE_EVERY: Duration = Duration::from_secs(10);

impl Progress {
    fn new(total: u64) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::Lines {
                total,
                done: 0,
                last: Instant::now(),
            };
        }
        let bar = indicatif::ProgressBar::new(total);
        let style = indicatif::ProgressStyle::with_template(
            "{msg:>12} [{wide_bar}] {pos}/{len} records, {eta} left",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        bar.set_style(style);
        Progress::Bar(bar)
    }

    fn add(&mut self, n: u64, kind: &'static str) {
        match self {
            Progress::Bar(bar) => {
                bar.set_message(kind);
                bar.inc(n);
            }
            Progress::Lines { total, done, last } => {
                *done += n;
                if last.elapsed() >= LINE_EVERY {
                    *last = Instant::now();
                    eprintln!("copy: {done}/{total} records ({kind})");
                }
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_specs_parse_and_hide_passwords() {
        assert_eq!(
            StoreSpec::parse("sled:/var/lib/issuebox").unwrap(),
            StoreSpec::Sled("/var/lib/issuebox".into())
        );
        let pg = StoreSpec::parse("postgres:postgres://app:s3cret@db:5432/issuebox").unwrap();
        assert_eq!(
            pg,
            StoreSpec::Postgres("postgres://app:s3cret@db:5432/issuebox".into())
        );
        assert_eq!(
            pg.to_string(),
            "postgres:postgres://app:***@db:5432/issuebox"
        );
        assert_eq!(
            StoreSpec::parse("postgres://app:s3cret@db:5432/issuebox").unwrap(),
            pg
        );
        assert_eq!(
            StoreSpec::parse("postgres:host=db user=app password=s3cret")
                .unwrap()
                .to_string(),
            "postgres:host=db user=app password=***"
        );
        assert_eq!(
            redact("postgres://app@db/issuebox"),
            "postgres://app@db/issuebox"
        );
        for bad in ["foo:bar", "sled:", "postgres:", "/var/lib/issuebox", ""] {
            let e = StoreSpec::parse(bad).unwrap_err();
            assert!(e.contains("write sled:DIR or postgres:URL"), "{e}");
        }
        let e = StoreSpec::parse("mysql://root:pw@db/x").unwrap_err();
        assert!(!e.contains("pw@"), "{e}");
    }

    fn wallet(id: &str, card: &str) -> crate::domain::model::Wallet {
        crate::domain::model::Wallet {
            id: id.into(),
            number: "1234567890123456".into(),
            card_id: card.into(),
            program: "SANDBOX".into(),
            plan: "WUSD".into(),
            promotion: None,
            currency: "USD".into(),
            usage: crate::config::WalletUsage::Open,
            kind: crate::config::WalletKind::Default,
            status: crate::domain::model::WalletStatus::Normal,
            created_at: 0,
        }
    }

    #[test]
    fn a_sled_copy_keeps_each_cards_wallet_order_and_refuses_a_full_target() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        {
            let s = Store::open(a.path(), Durability::Os).unwrap();
            for id in ["W3", "W1", "W2"] {
                s.transact(|tx| tx.insert_wallet(&wallet(id, "D1")))
                    .unwrap();
            }
        }
        let spec = |d: &Path| format!("sled:{}", d.display());
        let copy_ = |from: &str, to: &str| copy(from, to, 2);
        let target = b.path().join("copy");
        let c = copy_(&spec(a.path()), &spec(&target)).unwrap();
        // Wallets of a missing card: verify of the target reports it, as it would the source's.
        assert!(!c.report.is_clean());
        let wallets = c.kinds.iter().find(|k| k.0 == "wallets").unwrap();
        assert_eq!(*wallets, ("wallets", 3, 3, 3));
        let s = Store::open(&target, Durability::Os).unwrap();
        let ids = crate::store::Reader::wallet_ids(&s, "D1").unwrap();
        assert_eq!(ids, ["W3", "W1", "W2"]);
        drop(s);
        let e = copy_(&spec(a.path()), &spec(&target)).unwrap_err();
        assert!(e.contains("is not empty (it holds 3 wallets)"), "{e}");
        let e = copy_(&spec(a.path()), &spec(a.path())).unwrap_err();
        assert!(e.contains("both name"), "{e}");
        let e = copy_(&spec(&b.path().join("none")), &spec(&b.path().join("x"))).unwrap_err();
        assert!(e.contains("no such directory"), "{e}");
        assert!(!b.path().join("x").exists());
    }
}
