//! What the benches share: a valid enrollment body for customer `i` (a name that clears the full
//! SDN list, a unique SSN, alias `{alias_prefix}{i}`, and a kit when given), the shipped
//! configuration pointed at a store directory and the full SDN list, the release server started
//! on a temporary store, and readings of a process and a directory.

// Each bench compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn enrollment(i: u64, alias_prefix: &str, kit: Option<String>) -> Value {
    let mut b = json!({
        "productCode": "GPR100",
        "userData": {
            "profileData": {"firstName": "Emily", "lastName": "Carter",
                "addresses": [{"type": "home", "isDefault": true, "addressLine1": "1 Main St", "city": "Pasadena", "state": "CA", "zipCode": "91101"}]},
            "identifyingData": {"dateOfBirth": "1990-01-31", "ssn": format!("{:09}", 100_000_000 + i)},
            "email": {"emailAddress": "emily@example.com"}
        },
        "cardAlias": format!("{alias_prefix}{i}")
    });
    if let Some(k) = kit {
        b["instantIssue"] = json!({"type": "CBS", "mappingIdentifier": k});
    }
    b
}

/// The shipped `config.toml` with its store at `db`, the given durability, any free loopback
/// port, and the full SDN list (about 20,900 names) to screen against.
pub fn config_text(db: &Path, durability: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{root}/config.toml"))
        .unwrap()
        .replace("bind = \"127.0.0.1:8080\"", "bind = \"127.0.0.1:0\"")
        .replace(
            "durability = \"flush\"",
            &format!("durability = {durability:?}"),
        )
        .replace(
            "data_dir = \"data/db\"",
            &format!("data_dir = {:?}", db.display().to_string()),
        )
        .replace(
            "sdn_file = \"data/ofac/sdn.csv\"",
            &format!("sdn_file = \"{root}/data/ofac/full/sdn.csv\""),
        )
}

/// The release server on a temporary store; stopped with SIGTERM when dropped.
pub struct Server {
    child: Child,
    pub pid: u32,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// The store's directory.
    pub db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-15")
            .arg(self.pid.to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// Starts the server on [`config_text`] for a new temporary store, passed through `edit` (e.g.
/// to set `workers` or `max_pending_writes`), and waits until it listens.
pub fn start_server(durability: &str, edit: impl FnOnce(String) -> String) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, edit(config_text(&db, durability))).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_issuebox"))
        .arg("--config")
        .arg(&cfg)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start issuebox");
    let log = child.stderr.take().unwrap();
    std::thread::spawn(move || forward_log(log));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(a) = line.strip_prefix("listening on ") {
            break format!("http://{a}");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        pid: child.id(),
        child,
        base,
        db,
        _dir: dir,
    }
}

/// Copies the server's log to stderr, a run of lines that differ only in their timestamp as its
/// first line and a count (an overload answers thousands of identical 503s a second).
fn forward_log(log: impl std::io::Read) {
    let body = |l: &str| l.split_once(' ').map_or(l, |(_, rest)| rest).to_string();
    let (mut last, mut repeats) = (String::new(), 0u64);
    let flush = |repeats: u64| {
        if repeats > 0 {
            eprintln!("  (the line above {repeats} more times)");
        }
    };
    for line in BufReader::new(log).lines().map_while(Result::ok) {
        if body(&line) == last {
            repeats += 1;
            continue;
        }
        flush(repeats);
        repeats = 0;
        last = body(&line);
        eprintln!("{line}");
    }
    flush(repeats);
}

/// CPU seconds (user + system) the process `pid` has used so far, from `/proc/<pid>/stat`
/// (0 where there is no procfs).
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| f.get(*i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    // The kernel reports in clock ticks; USER_HZ is 100 on every Linux target.
    ticks / 100.0
}

/// The resident set of process `pid` in KiB, from `/proc/<pid>/status` (0 without procfs).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Bytes of every file under `path`.
pub fn du(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            // A file sled removes between the listing and this read counts as empty.
            let Ok(m) = e.metadata() else { continue };
            total += if m.is_dir() { du(&e.path()) } else { m.len() };
        }
    }
    total
}
