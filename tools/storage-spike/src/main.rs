//! The cost of one enrollment's write set on an embedded engine, with group commit and a durable
//! flush per batch (issuebox's `durability = "flush"` under load), and what it leaves on disk.
//!
//!     storage-spike ENGINE DIR [--sets N] [--batch B]
//!
//! ENGINE: `sled` (flushed after each batch), `sled-journal` (issuebox's layout: a journal
//! database flushed per batch, trees applied after and flushed by sled in the background),
//! `fjall` (its journal synced per batch), `redb` (a durable commit per batch).
//!
//! A write set is six keys with values of the sizes an enrollment writes (user, account, card,
//! stored response, the event group, a number-owner index entry: 2,000 logical bytes in all,
//! about issuebox's 1,939 per customer), half of each value text-like, half random (issuebox's
//! records are bincode with text fields; its event groups are zstd frames). Batches of B sets
//! (issuebox's committer batches about as many under 64 connections) are written as one atomic
//! write, each followed by a flush to disk. Prints the process's CPU per write set (user + system,
//! every thread of the engine included, its close too), bytes on disk after a clean close, the reopen time and
//! point reads' p50/p99 after reopening.

use std::time::{Duration, Instant};

const SIZES: [(&str, usize); 6] = [
    ("u", 330),
    ("a", 260),
    ("c", 420),
    ("r", 520),
    ("e", 430),
    ("n", 40),
];

fn cpu() -> Duration {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    t(u.ru_utime) + t(u.ru_stime)
}

/// A small deterministic generator (xorshift), so every engine gets the same bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const WORDS: [&str; 12] = [
    "\"status\":",
    "\"NORMAL\"",
    "\"program\":",
    "SANDBOX",
    "\"product\":",
    "GPR100",
    "\"createdAt\":",
    "2026-11-30T17:00:00Z",
    "\"firstName\":",
    "Jane",
    "null,",
    "true,",
];

fn value(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len / 2 {
        v.extend_from_slice(WORDS[(rng.next() % 12) as usize].as_bytes());
    }
    v.truncate(len / 2);
    while v.len() < len {
        v.extend_from_slice(&rng.next().to_le_bytes());
    }
    v.truncate(len);
    v
}

/// The keys and values of write set `i`.
fn write_set(i: u64, rng: &mut Rng) -> Vec<(Vec<u8>, Vec<u8>)> {
    SIZES
        .iter()
        .map(|(tree, len)| {
            let key = match *tree {
                "e" => [b"e/".as_slice(), &i.to_be_bytes()].concat(),
                "n" => [b"n/".as_slice(), &rng.next().to_le_bytes(), &[0u8; 24]].concat(),
                "r" => {
                    format!("r/client-1/SANDBOX/{:032x}", rng.next() as u128 * 7919).into_bytes()
                }
                t => format!("{t}/{:022x}", (rng.next() as u128) << 20 | i as u128).into_bytes(),
            };
            (key, value(rng, *len))
        })
        .collect()
}

trait Engine {
    fn write(&mut self, batch: &[(Vec<u8>, Vec<u8>)]);
    fn get(&self, key: &[u8]) -> bool;
}

struct Sled(sled::Db);
impl Engine for Sled {
    fn write(&mut self, batch: &[(Vec<u8>, Vec<u8>)]) {
        let mut b = sled::Batch::default();
        for (k, v) in batch {
            b.insert(k.as_slice(), v.as_slice());
        }
        self.0.apply_batch(b).unwrap();
        self.0.flush().unwrap();
    }
    fn get(&self, key: &[u8]) -> bool {
        self.0.get(key).unwrap().is_some()
    }
}

/// issuebox's own use of sled: each batch written as one key of a journal database and flushed
/// (the durable point), then applied to the trees, which sled flushes in the background.
struct SledJournal {
    journal: sled::Db,
    trees: sled::Db,
    n: u64,
}
impl Engine for SledJournal {
    fn write(&mut self, batch: &[(Vec<u8>, Vec<u8>)]) {
        let mut record = Vec::new();
        for (k, v) in batch {
            record.extend_from_slice(&(k.len() as u32).to_le_bytes());
            record.extend_from_slice(k);
            record.extend_from_slice(&(v.len() as u32).to_le_bytes());
            record.extend_from_slice(v);
        }
        self.n += 1;
        self.journal.insert(self.n.to_be_bytes(), record).unwrap();
        self.journal.flush().unwrap();
        let mut b = sled::Batch::default();
        for (k, v) in batch {
            b.insert(k.as_slice(), v.as_slice());
        }
        self.trees.apply_batch(b).unwrap();
        // Applied: its journal record goes (issuebox removes applied batches).
        self.journal.remove(self.n.to_be_bytes()).unwrap();
    }
    fn get(&self, key: &[u8]) -> bool {
        self.trees.get(key).unwrap().is_some()
    }
}

struct Fjall(fjall::Keyspace, fjall::PartitionHandle);
impl Engine for Fjall {
    fn write(&mut self, batch: &[(Vec<u8>, Vec<u8>)]) {
        let mut b = self.0.batch();
        for (k, v) in batch {
            b.insert(&self.1, k.as_slice(), v.as_slice());
        }
        b.commit().unwrap();
        self.0.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    fn get(&self, key: &[u8]) -> bool {
        self.1.get(key).unwrap().is_some()
    }
}

const T: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("t");
struct Redb(redb::Database);
impl Engine for Redb {
    fn write(&mut self, batch: &[(Vec<u8>, Vec<u8>)]) {
        let tx = self.0.begin_write().unwrap();
        {
            let mut t = tx.open_table(T).unwrap();
            for (k, v) in batch {
                t.insert(k.as_slice(), v.as_slice()).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    fn get(&self, key: &[u8]) -> bool {
        let tx = self.0.begin_read().unwrap();
        let t = tx.open_table(T).unwrap();
        let found = t.get(key).unwrap().is_some(); // (the guard borrows `t`: bound first)
        #[allow(clippy::let_and_return)]
        found
    }
}

fn open(engine: &str, dir: &std::path::Path) -> Box<dyn Engine> {
    match engine {
        "sled" => Box::new(Sled(sled::Config::new().path(dir).open().unwrap())),
        "sled-journal" => Box::new(SledJournal {
            journal: sled::Config::new()
                .path(dir.join("journal"))
                .open()
                .unwrap(),
            trees: sled::Config::new().path(dir.join("trees")).open().unwrap(),
            n: 0,
        }),
        "fjall" => {
            let ks = fjall::Config::new(dir).open().unwrap();
            let p = ks
                .open_partition("t", fjall::PartitionCreateOptions::default())
                .unwrap();
            Box::new(Fjall(ks, p))
        }
        "redb" => {
            std::fs::create_dir_all(dir).unwrap();
            Box::new(Redb(redb::Database::create(dir.join("db.redb")).unwrap()))
        }
        other => panic!("unknown engine {other}"),
    }
}

fn du(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        total += if m.is_dir() { du(&e.path()) } else { m.len() };
    }
    total
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (engine, dir) = (args[1].as_str(), std::path::PathBuf::from(&args[2]));
    let flag = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].parse().unwrap())
            .unwrap_or(default)
    };
    let (sets, batch) = (flag("--sets", 200_000), flag("--batch", 32));
    let _ = std::fs::remove_dir_all(&dir);
    let mut db = open(engine, &dir);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut probes = Vec::new();
    let (cpu0, t0) = (cpu(), Instant::now());
    let mut i = 0;
    while i < sets {
        let mut b = Vec::new();
        for _ in 0..batch.min(sets - i) {
            let set = write_set(i, &mut rng);
            if i % 20 == 0 {
                probes.push(set[(i as usize / 20) % 6].0.clone());
            }
            b.extend(set);
            i += 1;
        }
        db.write(&b);
    }
    // After the close: an engine's deferred work (a last memtable flush) counts too.
    drop(db);
    let (cpu1, wall) = (cpu(), t0.elapsed());
    let bytes = du(&dir);
    let t1 = Instant::now();
    let db = open(engine, &dir);
    let reopen = t1.elapsed();
    let mut lat: Vec<Duration> = probes
        .iter()
        .take(20_000)
        .map(|k| {
            let t = Instant::now();
            assert!(db.get(k), "a written key is there");
            t.elapsed()
        })
        .collect();
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    let per = |d: Duration| d.as_secs_f64() * 1e6 / sets as f64;
    println!(
        "{engine}: {sets} write sets in batches of {batch}: {:.1} us CPU and {:.1} us wall per set, \
         {} bytes on disk per set ({:.2}x the 2,000 logical), reopen {:.2} s, \
         reads p50 {:.1} us p99 {:.1} us",
        per(cpu1 - cpu0),
        per(wall),
        bytes / sets,
        bytes as f64 / sets as f64 / 2000.0,
        reopen.as_secs_f64(),
        p(0.5).as_secs_f64() * 1e6,
        p(0.99).as_secs_f64() * 1e6,
    );
}
