//! Test harness: the real `issuebox` binary on a loopback port with a temporary store, and an
//! HTTP client for it. Each test gets its own server and store.
#![allow(dead_code)]

pub mod baas;
pub mod postgres;
pub mod webhooks;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const SHIPPED_CONFIG: &str = include_str!("../../config.toml");

/// A running server process.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
}

/// Whether the suite runs on PostgreSQL: `ISSUEBOX_TEST_ENGINE=postgres` puts every server that
/// [`Server::start_env`] starts on a fresh database of its own (the README's test command runs
/// the dialect suites both ways).
pub fn on_postgres() -> bool {
    std::env::var("ISSUEBOX_TEST_ENGINE").as_deref() == Ok("postgres")
}

/// For a test of the embedded engine's own files (its directory, its trees, its journal): under
/// postgres it says so and the caller returns.
pub fn sled_only(why: &str) -> bool {
    if on_postgres() {
        eprintln!("sled engine only ({why}): not run with ISSUEBOX_TEST_ENGINE=postgres");
    }
    on_postgres()
}

/// The config edit that puts a server's store in the database at `url`.
pub fn postgres_engine_edit(url: &str) -> (&'static str, String) {
    (
        "engine = \"sled\"",
        format!("engine = \"postgres\"\npostgres_url = {url:?}\npostgres_pool_size = 8"),
    )
}

/// The shipped config with its store under `data_dir`, any port, and `extra` replacements.
pub fn config_text(data_dir: &Path, edits: &[(&str, &str)]) -> String {
    let mut text = SHIPPED_CONFIG
        .replace("bind = \"127.0.0.1:8080\"", "bind = \"127.0.0.1:0\"")
        .replace(
            "data_dir = \"data/db\"",
            &format!("data_dir = {:?}", data_dir.display().to_string()),
        )
        .replace(
            "sdn_file = \"data/ofac/sdn.csv\"",
            &format!(
                "sdn_file = {:?}",
                concat!(env!("CARGO_MANIFEST_DIR"), "/data/ofac/sdn.csv")
            ),
        );
    for (from, to) in edits {
        assert!(text.contains(from), "config has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    text
}

impl Server {
    /// Starts a server on a new temporary store.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(edits: &[(&str, &str)]) -> Server {
        Self::start_env(edits, &[])
    }

    /// Starts with config edits and extra environment variables, on the engine the suite runs
    /// on ([`on_postgres`]).
    pub fn start_env(edits: &[(&str, &str)], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("config.toml");
        let engine_edit;
        let mut edits = edits.to_vec();
        if on_postgres() && !edits.iter().any(|(from, _)| from.starts_with("engine = ")) {
            let url = postgres::fresh_database()
                .expect("ISSUEBOX_TEST_ENGINE=postgres needs PostgreSQL's server binaries");
            engine_edit = postgres_engine_edit(&url);
            edits.push((engine_edit.0, &engine_edit.1));
        }
        std::fs::write(&config_path, config_text(&dir.path().join("db"), &edits)).unwrap();
        Self::spawn(dir, config_path, env)
    }

    fn spawn(dir: tempfile::TempDir, config_path: PathBuf, env: &[(&str, &str)]) -> Server {
        let log_path = dir.path().join("server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_issuebox"))
            .arg("--config")
            .arg(&config_path)
            .arg("serve")
            .env(
                "RUST_LOG",
                std::env::var("ISSUEBOX_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env_remove("ISSUEBOX_PAN_KEY")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn issuebox");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        break format!("http://{addr}");
                    }
                }
                _ => {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    panic!("server exited before listening: {log}");
                }
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            base,
            dir,
            config_path,
            log_path,
        }
    }

    /// Stops with SIGTERM and waits; answers the exit code.
    pub fn stop(&mut self) -> i32 {
        let pid = self.child.id() as i32;
        signal(pid, 15);
        wait_timeout(&mut self.child, Duration::from_secs(40)).unwrap_or_else(|| {
            let log = self.log();
            panic!(
                "server did not stop within 40 s of SIGTERM; its log ends:\n{}",
                &log[log.len().saturating_sub(3000)..]
            )
        })
    }

    /// Stops (SIGTERM) and starts again on the same store and config.
    pub fn restart(mut self) -> Server {
        assert_eq!(self.stop(), 0, "clean exit");
        self.respawn()
    }

    /// Starts again on the same store and config after the process ended (or kills it first),
    /// without extra environment.
    pub fn respawn(mut self) -> Server {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let cfg = self.config_path.clone();
        Self::spawn(dir, cfg, &[])
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("db")
    }

    /// `issuebox verify` of this server's store through its config (either engine; a sled
    /// store only once the server has stopped): the exit code and output.
    pub fn verify(&self) -> (i32, String) {
        run_cli(&["verify", "--config", self.config_path.to_str().unwrap()])
    }

    /// Where this server's store keeps its files: its sled directory, or under postgres the
    /// test cluster's data directory (every test database's files).
    pub fn store_files(&self) -> PathBuf {
        if on_postgres() {
            postgres::shared()
                .expect("ISSUEBOX_TEST_ENGINE=postgres needs PostgreSQL")
                .data_dir()
        } else {
            self.data_dir()
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `/sandbox/faults` with an `Authorization` header (`auth`, the whole value).
    pub fn faults(&self, auth: &str, method: &str, body: Option<&str>) -> Answer {
        send(
            method,
            &self.url("/sandbox/faults"),
            &[("Authorization", auth)],
            body,
        )
    }

    /// A bearer token for a client of the shipped config.
    pub fn token_for(&self, id: &str, secret: &str) -> String {
        let r = ureq::post(&self.url("/authentication"))
            .set("Authorization", &basic(id, secret))
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string("grant_type=client_credentials")
            .expect("token");
        let v: serde_json::Value = r.into_json().unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    pub fn token(&self) -> String {
        self.token_for("sandbox", "sandbox-secret")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

pub fn signal(pid: i32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

fn wait_timeout(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// An HTTP answer: status, headers we look at, body as JSON (Null when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn answer(r: ureq::Response) -> Answer {
    let status = r.status();
    let headers = r
        .headers_names()
        .into_iter()
        .filter_map(|n| r.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let text = r.into_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        body,
        text,
        headers,
    }
}

/// The seconds of an answer's `Retry-After` header; panics without one.
pub fn retry_after(a: &Answer) -> u64 {
    a.header("Retry-After")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", a.headers))
}

/// Sends a request with optional headers and raw body, never failing on HTTP error statuses.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
    try_send(method, url, headers, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// Like [`send`], but a transport failure (the server died) is an `Err`.
pub fn try_send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Answer, String> {
    let mut req = ureq::request(method, url).timeout(Duration::from_secs(30));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let res = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    match res {
        Ok(r) => Ok(answer(r)),
        Err(ureq::Error::Status(_, r)) => Ok(answer(r)),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `issuebox` with arguments; answers (exit code, stdout + stderr).
pub fn run_cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_issuebox"))
        .args(args)
        .env_remove("ISSUEBOX_PAN_KEY")
        .output()
        .expect("run issuebox");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// An authenticated client of a running server for the device and sandbox APIs.
pub struct Api {
    pub base: String,
    pub auth: String,
}

impl Api {
    /// The shipped `sandbox` client (every program, every scope).
    pub fn new(s: &Server) -> Api {
        Self::as_client(s, "sandbox", "sandbox-secret")
    }

    pub fn as_client(s: &Server, id: &str, secret: &str) -> Api {
        Api {
            base: s.base.clone(),
            auth: format!("Bearer {}", s.token_for(id, secret)),
        }
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> Answer {
        let text = body.map(|b| b.to_string());
        send(
            method,
            &format!("{}{path}", self.base),
            &[("Authorization", &self.auth)],
            text.as_deref(),
        )
    }

    /// `POST /sandbox/programs/{program}/devices`, expecting 201; answers the card.
    pub fn new_card_in(&self, program: &str, body: serde_json::Value) -> serde_json::Value {
        let a = self.call(
            "POST",
            &format!("/sandbox/programs/{program}/devices"),
            Some(&body),
        );
        assert_eq!(a.status, 201, "{}", a.text);
        a.body
    }

    /// A NORMAL PRIMARY GPR100 card of SANDBOX with `extra` fields merged in.
    pub fn new_card(&self, extra: serde_json::Value) -> serde_json::Value {
        let mut body = serde_json::json!({"productCode": "GPR100", "cardType": "PRIMARY"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.new_card_in("SANDBOX", body)
    }

    pub fn attach(&self, body: serde_json::Value) -> Answer {
        self.call(
            "POST",
            "/deviceapi/apis/v1/services/cardholder/accounts",
            Some(&body),
        )
    }

    pub fn fetch(&self, device: serde_json::Value) -> Answer {
        self.call(
            "POST",
            "/deviceapi/apis/v1/services/wallet/fetchwallet",
            Some(&serde_json::json!({ "device": device })),
        )
    }

    pub fn set_card_status(&self, id: &str, status: &str) -> Answer {
        self.call(
            "PUT",
            &format!("/sandbox/devices/{id}/status"),
            Some(&serde_json::json!({ "status": status })),
        )
    }

    pub fn set_wallet_status(&self, id: &str, status: &str) -> Answer {
        self.call(
            "PUT",
            &format!("/sandbox/wallets/{id}/status"),
            Some(&serde_json::json!({ "status": status })),
        )
    }

    pub fn set_faults(&self, faults: serde_json::Value) {
        let a = self.call("PUT", "/sandbox/faults", Some(&faults));
        assert_eq!(a.status, 200, "{}", a.text);
    }
}

/// The `WGBP` wallet plan block of the shipped config.
pub const WGBP_PLAN: &str = "  [[programs.wallet_plans]]
  code = \"WGBP\"
  currency = \"GBP\"
  usage = \"open\"
  kind = \"default\"
";

/// A config edit that adds `n` wallet plans `WX00`.. of distinct currencies `XAA`.. to SANDBOX.
pub fn many_plans_edit(n: usize) -> (&'static str, String) {
    let mut to = WGBP_PLAN.to_string();
    for i in 0..n {
        let cur = format!(
            "X{}{}",
            (b'A' + (i / 26) as u8) as char,
            (b'A' + (i % 26) as u8) as char
        );
        to.push_str(&format!(
            "\n  [[programs.wallet_plans]]\n  code = \"WX{i:02}\"\n  currency = \"{cur}\"\n  usage = \"open\"\n  kind = \"default\"\n"
        ));
    }
    (WGBP_PLAN, to)
}

impl Server {
    /// Starts with its store in `data_dir` (for a store on a filesystem a test mounted) and
    /// config edits.
    pub fn start_in(data_dir: &Path, edits: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config_text(data_dir, edits)).unwrap();
        Self::spawn(dir, config_path, &[])
    }
}

impl Server {
    /// The `issuebox_entities` gauge of `/metrics`, by entity.
    pub fn entity_counts(&self) -> std::collections::BTreeMap<String, u64> {
        let m = send("GET", &self.url("/metrics"), &[], None);
        let out = entity_counts_in(&m.text);
        assert!(out.contains_key("accounts"), "{}", m.text);
        out
    }

    /// One entity's count from `/metrics` (`accounts`, `devices`, …).
    pub fn entity_count(&self, entity: &str) -> u64 {
        self.entity_counts()
            .get(entity)
            .copied()
            .unwrap_or_else(|| panic!("no count of {entity}"))
    }
}

/// The `issuebox_entities` gauge in a `/metrics` text, by entity.
pub fn entity_counts_in(metrics: &str) -> std::collections::BTreeMap<String, u64> {
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("issuebox_entities{entity=\""))
        .filter_map(|l| {
            let (name, n) = l.split_once("\"} ")?;
            Some((name.to_string(), n.trim().parse().ok()?))
        })
        .collect()
}
