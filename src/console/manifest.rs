//! Kit manifests: a CSV file of `mappingIdentifier,productCode,packID` (a header row, then one
//! kit per row; `packID` may be empty or left out, and is then generated), loaded in the
//! background in chunks of `ops::kits::MAX_KITS_PER_LOAD` through `ops::kits::load`, so a page
//! can show its progress.
//!
//! The file is checked whole before anything is loaded: its header, each row's number of
//! fields, a mapping identifier or pack ID given twice, at most [`MAX_ROWS`] rows. The rules of
//! a kit (identifier shapes, the program's products, a mapping identifier or pack ID already in
//! the store) are `ops`'s; each chunk is loaded all or nothing, so when a chunk is refused the
//! chunks before it stay loaded and the job page says which rows they were.
//!
//! Jobs live in this process's memory (the last [`MAX_JOBS`]); a job's page is for the client
//! that started it. With several processes behind one address, its progress page must reach
//! the process that runs it (the kits it loaded are in the shared store either way).

use super::error::words_of;
use crate::config::ClientConfig;
use crate::domain::error::DomainError;
use crate::ops::kits::{self, MAX_KITS_PER_LOAD};
use crate::ops::Ctx;
use crate::wire::sandbox::{KitIn, LoadKits};
use parking_lot::Mutex;
use std::collections::{HashSet, VecDeque};
use std::sync::LazyLock;

/// Rows one manifest may hold.
pub const MAX_ROWS: usize = 20_000;
/// Bytes one manifest may hold.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Jobs remembered.
const MAX_JOBS: usize = 100;

/// Reads a manifest; a problem is a sentence naming the line.
pub fn parse(bytes: &[u8]) -> Result<Vec<KitIn>, String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = r
        .headers()
        .map_err(|e| format!("Line 1: the header row could not be read ({e})."))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(m), Some(p)) = (col("mappingIdentifier"), col("productCode")) else {
        return Err(
            "Line 1: the header row must name the columns mappingIdentifier, productCode and (optionally) packID.".into(),
        );
    };
    let pack = col("packID");
    let mut kits = Vec::new();
    let mut mappings = HashSet::new();
    let mut packs = HashSet::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("Line {line}: the row could not be read ({e})."))?;
        if rec.iter().all(str::is_empty) {
            continue;
        }
        if kits.len() >= MAX_ROWS {
            return Err(format!(
                "The manifest holds more than {MAX_ROWS} kits; split it."
            ));
        }
        let field = |c: usize| rec.get(c).unwrap_or("").to_string();
        let kit = KitIn {
            mapping_identifier: field(m),
            product_code: field(p),
            pack_id: pack.map(field).filter(|v| !v.is_empty()),
        };
        if kit.mapping_identifier.is_empty() || kit.product_code.is_empty() {
            return Err(format!(
                "Line {line}: mappingIdentifier and productCode are both required."
            ));
        }
        if !mappings.insert(kit.mapping_identifier.clone()) {
            return Err(format!(
                "Line {line}: this mappingIdentifier is already on an earlier line."
            ));
        }
        if let Some(pk) = &kit.pack_id {
            if !packs.insert(pk.clone()) {
                return Err(format!(
                    "Line {line}: this packID is already on an earlier line."
                ));
            }
        }
        kits.push(kit);
    }
    if kits.is_empty() {
        return Err("The manifest holds no kits.".into());
    }
    Ok(kits)
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    Running,
    Done,
    /// Refused: why, in words.
    Failed(String),
}

/// A manifest being loaded.
#[derive(Debug, Clone)]
pub struct Job {
    pub client: String,
    pub program: String,
    pub total: usize,
    pub loaded: usize,
    pub state: JobState,
}

static JOBS: LazyLock<Mutex<VecDeque<(String, Job)>>> = LazyLock::new(Mutex::default);

fn update(id: &str, f: impl FnOnce(&mut Job)) {
    if let Some((_, j)) = JOBS.lock().iter_mut().find(|(k, _)| k == id) {
        f(j);
    }
}

/// A job of `client`'s.
pub fn job(id: &str, client: &str) -> Option<Job> {
    JOBS.lock()
        .iter()
        .find(|(k, j)| k == id && j.client == client)
        .map(|(_, j)| j.clone())
}

/// Rewrites `packages[i]` in a refusal of one chunk as the manifest's line.
fn with_lines(msg: &str, first_row: usize) -> String {
    let Some(start) = msg.find("packages[") else {
        return msg.to_string();
    };
    let rest = &msg[start + "packages[".len()..];
    let Some(end) = rest.find(']') else {
        return msg.to_string();
    };
    match rest[..end].parse::<usize>() {
        Ok(i) => {
            let after = rest[end + 1..].trim_start_matches('.');
            format!("{}line {}: {after}", &msg[..start], first_row + i + 2)
        }
        Err(_) => msg.to_string(),
    }
}

/// Starts loading `kits` into `program` for `client` in the background; answers the job's id.
pub fn start(ctx: Ctx, client: ClientConfig, program: String, kits: Vec<KitIn>) -> String {
    let id = crate::domain::ids::new_pack_id();
    {
        let mut jobs = JOBS.lock();
        while jobs.len() >= MAX_JOBS {
            jobs.pop_front();
        }
        jobs.push_back((
            id.clone(),
            Job {
                client: client.id.clone(),
                program: program.clone(),
                total: kits.len(),
                loaded: 0,
                state: JobState::Running,
            },
        ));
    }
    let job_id = id.clone();
    actix_web::rt::spawn(async move {
        let mut kits = kits;
        let mut first_row = 0;
        while !kits.is_empty() {
            let rest = kits.split_off(kits.len().min(MAX_KITS_PER_LOAD));
            let chunk = std::mem::replace(&mut kits, rest);
            let n = chunk.len();
            let req = LoadKits {
                packages: Some(chunk),
                generate: None,
            };
            match kits::load(&ctx, &client, &program, req).await {
                Ok(_) => update(&job_id, |j| j.loaded += n),
                Err(e) => {
                    let e = match e {
                        DomainError::Invalid(m) => DomainError::Invalid(with_lines(&m, first_row)),
                        e => e,
                    };
                    let why = words_of(&e);
                    update(&job_id, |j| j.state = JobState::Failed(why));
                    return;
                }
            }
            first_row += n;
        }
        update(&job_id, |j| j.state = JobState::Done);
    });
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_is_read_with_or_without_pack_ids() {
        let kits =
            parse(b"mappingIdentifier,productCode,packID\nKIT1,GPR100,PACK000001\nKIT2,GPR100,\n")
                .unwrap();
        assert_eq!(kits.len(), 2);
        assert_eq!(kits[0].pack_id.as_deref(), Some("PACK000001"));
        assert_eq!(kits[1].pack_id, None);
    }

    #[test]
    fn problems_name_their_line() {
        let e = parse(b"mappingIdentifier,productCode\nKIT1,GPR100\nKIT1,GPR100\n").unwrap_err();
        assert!(e.starts_with("Line 3:"), "{e}");
        let e = parse(b"id,product\nKIT1,GPR100\n").unwrap_err();
        assert!(e.starts_with("Line 1:"), "{e}");
        let e = parse(b"mappingIdentifier,productCode\nKIT1,\n").unwrap_err();
        assert!(e.starts_with("Line 2:"), "{e}");
    }

    #[test]
    fn a_chunks_refusal_names_the_manifest_line() {
        assert_eq!(
            with_lines("packages[3].productCode is not a product", 1000),
            "line 1005: productCode is not a product"
        );
    }
}
