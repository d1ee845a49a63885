//! Soak and overload runs (not in CI) against the release server on a temporary store, over
//! loopback, with blocking clients (one connection per thread).
//!
//! Soak (the default): `--threads` threads send a mixed load at `--rate` requests/s in all
//! (0: as fast as they go) for `--seconds`: new enrollments, instant issue (kits loaded in
//! batches of 1,000 as the pool runs out), wallet attaches on enrolled cards, GET account and
//! fetchwallet. Every 10 s a row: the server's RSS, the store's size on disk, requests so far by
//! kind. At the end: whether RSS stayed within 10% of its value at 60 s (the warm-up), RSS and
//! store growth over the last 60 s (sled's cache grows with the store up to its bound, a leak
//! with the requests), the store's bytes per write request, and every answer other than the
//! expected one.
//!
//! Overload (`--overload`): measures the enrollments/s the store sustains (64 connections,
//! 10 s), then drives enrollments at 4x that (or `--rate`) from `--connections` threads for `--seconds`, once
//! per `storage.max_pending_writes` in `--bounds`, each on a fresh server. Reports answers by
//! status, latency of the 200s, RSS at the start, peak and end, and the CPU of server and driver.
//!
//! ```text
//! cargo bench --bench soak -- [--seconds 600] [--threads 4] [--rate 2000]
//! cargo bench --bench soak -- --overload [--seconds 60] [--connections 512] [--bounds 4096,64] [--rate R]
//! ```

mod common;

use rand::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let v: Vec<String> = std::env::args().collect();
    match v.iter().position(|a| a == name) {
        Some(i) => v
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{name}: expected a value")),
        None => default,
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
}

fn token(base: &str) -> String {
    let v: Value = ureq::post(&format!("{base}/authentication"))
        .set("Authorization", "Basic c2FuZGJveDpzYW5kYm94LXNlY3JldA==")
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string("grant_type=client_credentials")
        .expect("token")
        .into_json()
        .unwrap();
    format!("Bearer {}", v["access_token"].as_str().unwrap())
}

/// One request: its status (0: no answer, e.g. a reset connection) and body.
fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    auth: &str,
    body: Option<&Value>,
) -> (u16, String) {
    let r = agent
        .request(method, url)
        .set("Authorization", auth)
        .set("X-GD-RequestId", &uuid::Uuid::new_v4().to_string());
    let res = match body {
        Some(b) => r
            .set("Content-Type", "application/json")
            .send_string(&b.to_string()),
        None => r.call(),
    };
    match res {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => {
            (resp.status(), resp.into_string().unwrap_or_default())
        }
        Err(_) => (0, String::new()),
    }
}

// ---------------------------------------------------------------------------------------------
// Soak

const KINDS: [&str; 6] = ["enroll", "instant", "attach", "account", "fetch", "kits"];
/// A thread's next request by its sequence number: of ten, two new enrollments, one instant
/// issue, two wallet attaches, three GET account, two fetchwallet.
const MIX: [usize; 10] = [0, 0, 1, 2, 2, 3, 3, 3, 4, 4];
/// The wallet plans a card can hold together, attached one per request in this order.
const PLANS: [&str; 5] = ["WUSD", "WUSDMCG", "WUSDMER", "WEUR", "WGBP"];

enum Job {
    Enroll(Option<String>),
    Attach(String, usize),
    Account(String),
    Fetch(String),
    Kits,
}

#[derive(Default)]
struct Pool {
    accounts: Vec<String>,
    /// Cards with plans left to attach, and the index in `PLANS` of the next.
    to_attach: VecDeque<(String, usize)>,
    /// Cards with at least one wallet.
    with_wallets: Vec<String>,
    kits: Vec<String>,
}

struct Soak {
    base: String,
    auth: String,
    pool: Mutex<Pool>,
    /// Requests sent, by index in `KINDS`.
    sent: [AtomicU64; 6],
    /// Answers other than the expected one, by kind and status (0: no answer).
    unexpected: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Numbers customers and kit batches.
    seq: AtomicU64,
    stop: AtomicBool,
}

impl Soak {
    /// Picks the next request of kind `kind` (an index in `KINDS`); what it needs but the pool
    /// does not have yet becomes an enrollment, or a kit batch.
    fn job(&self, kind: usize, rng: &mut impl Rng) -> Job {
        let mut p = self.pool.lock().unwrap();
        let pick = |v: &Vec<String>, rng: &mut dyn rand::RngCore| {
            (!v.is_empty()).then(|| v[rng.gen_range(0..v.len())].clone())
        };
        match kind {
            1 => p.kits.pop().map_or(Job::Kits, |k| Job::Enroll(Some(k))),
            2 => p
                .to_attach
                .pop_front()
                .map_or(Job::Enroll(None), |(c, i)| Job::Attach(c, i)),
            3 => pick(&p.accounts, rng).map_or(Job::Enroll(None), Job::Account),
            4 => pick(&p.with_wallets, rng).map_or(Job::Enroll(None), Job::Fetch),
            _ => Job::Enroll(None),
        }
    }

    fn run(&self, agent: &ureq::Agent, job: Job) {
        let url = |p: &str| format!("{}{p}", self.base);
        let (kind, expected, (status, body)) = match &job {
            Job::Enroll(kit) => {
                let i = self.seq.fetch_add(1, Relaxed);
                let b = common::enrollment(i, "SOAK", kit.clone());
                let r = send(
                    agent,
                    "POST",
                    &url("/programs/SANDBOX/enrollments"),
                    &self.auth,
                    Some(&b),
                );
                (if kit.is_some() { 1 } else { 0 }, 200, r)
            }
            Job::Attach(card, i) => {
                let b =
                    json!({"device": {"identifier": card}, "wallets": [{"planCode": PLANS[*i]}]});
                (
                    2,
                    201,
                    send(
                        agent,
                        "POST",
                        &url("/deviceapi/apis/v1/services/cardholder/accounts"),
                        &self.auth,
                        Some(&b),
                    ),
                )
            }
            Job::Account(id) => (
                3,
                200,
                send(
                    agent,
                    "GET",
                    &url(&format!("/programs/SANDBOX/accounts/{id}")),
                    &self.auth,
                    None,
                ),
            ),
            Job::Fetch(card) => {
                let b = json!({"device": {"identifier": card}});
                (
                    4,
                    200,
                    send(
                        agent,
                        "POST",
                        &url("/deviceapi/apis/v1/services/wallet/fetchwallet"),
                        &self.auth,
                        Some(&b),
                    ),
                )
            }
            Job::Kits => {
                let n = self.seq.fetch_add(1, Relaxed);
                let b = json!({"generate": {"count": 1000, "productCode": "GPR100", "prefix": format!("SOAK{n}X")}});
                let r = send(
                    agent,
                    "POST",
                    &url("/sandbox/programs/SANDBOX/packages"),
                    &self.auth,
                    Some(&b),
                );
                if r.0 == 201 {
                    let mut p = self.pool.lock().unwrap();
                    p.kits.extend((1..=1000).map(|i| format!("SOAK{n}X{i:07}")));
                }
                (5, 201, r)
            }
        };
        self.sent[kind].fetch_add(1, Relaxed);
        if status != expected {
            *self
                .unexpected
                .lock()
                .unwrap()
                .entry((KINDS[kind], status))
                .or_default() += 1;
            return;
        }
        let mut p = self.pool.lock().unwrap();
        match job {
            Job::Enroll(_) => {
                let v: Value = serde_json::from_str(&body).unwrap_or_default();
                let a = &v["account"];
                let card =
                    &a["accountHolders"][0]["paymentInstruments"][0]["paymentInstrumentIdentifier"];
                if let (Some(a), Some(c)) = (a["accountIdentifier"].as_str(), card.as_str()) {
                    p.accounts.push(a.to_string());
                    p.to_attach.push_back((c.to_string(), 0));
                }
            }
            Job::Attach(card, i) => {
                if i == 0 {
                    p.with_wallets.push(card.clone());
                }
                if i + 1 < PLANS.len() {
                    p.to_attach.push_back((card, i + 1));
                }
            }
            _ => {}
        }
    }

    /// One client thread: the mix, paced at one request per `interval` (zero: unpaced).
    fn thread(&self, interval: Duration) {
        let agent = agent();
        let mut rng = rand::thread_rng();
        let mut next = Instant::now();
        let mut i = rng.gen_range(0..MIX.len());
        while !self.stop.load(Relaxed) {
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
            // Behind schedule, no catch-up burst: the next slot counts from now.
            next = next.max(now) + interval;
            let job = self.job(MIX[i % MIX.len()], &mut rng);
            self.run(&agent, job);
            i += 1;
        }
    }
}

fn soak() {
    let seconds: u64 = arg("--seconds", 600);
    let threads: u32 = arg("--threads", 4);
    let rate: f64 = arg("--rate", 2000.0);
    let server = common::start_server("flush", |c| c);
    let s = Soak {
        auth: token(&server.base),
        base: server.base.clone(),
        pool: Mutex::default(),
        sent: Default::default(),
        unexpected: Mutex::default(),
        seq: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    };
    let interval = if rate > 0.0 {
        Duration::from_secs_f64(threads as f64 / rate)
    } else {
        Duration::ZERO
    };
    println!(
        "issuebox soak: {seconds} s, {threads} threads, {} req/s offered, durability flush, {} cores",
        if rate > 0.0 { format!("{rate:.0}") } else { "unpaced".into() },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:>5} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5} {:>9} {:>7}",
        "t s",
        "RSS MiB",
        "store MiB",
        "enroll",
        "instant",
        "attach",
        "account",
        "fetch",
        "kits",
        "requests",
        "req/s"
    );
    let started = Instant::now();
    let mut rss = Vec::new(); // (t, RSS MiB, store MiB)
    let (mut last_total, mut last_t) = (0, 0.0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| s.thread(interval));
        }
        let mut tick = 0;
        while tick < seconds {
            tick = (tick + 10).min(seconds);
            let at = started + Duration::from_secs(tick);
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            let t = started.elapsed().as_secs_f64();
            let mib = common::rss_kib(server.pid) as f64 / 1024.0;
            let sent: Vec<u64> = s.sent.iter().map(|n| n.load(Relaxed)).collect();
            let total: u64 = sent.iter().sum();
            let store = common::du(&server.db) as f64 / (1 << 20) as f64;
            println!(
                "{:>5.0} {mib:>8.1} {store:>9.1} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5} {total:>9} {:>7.0}",
                t,
                sent[0],
                sent[1],
                sent[2],
                sent[3],
                sent[4],
                sent[5],
                (total - last_total) as f64 / (t - last_t)
            );
            (last_total, last_t) = (total, t);
            rss.push((t, mib, store));
        }
        s.stop.store(true, Relaxed);
    });

    // RSS after the warm-up: against the first sample at or after 60 s.
    let warm = rss.iter().position(|r| r.0 >= 59.5).unwrap_or(0);
    let base = rss[warm].1;
    let (lo, hi) = rss[warm..]
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(r.1), hi.max(r.1)));
    let within = hi <= 1.1 * base && lo >= 0.9 * base;
    println!(
        "RSS after warm-up: {base:.1} MiB at {:.0} s, then {lo:.1}-{hi:.1} MiB ({:+.1}% at most): within 10%: {}",
        rss[warm].0,
        100.0 * (hi - base) / base,
        if within { "yes" } else { "NO" }
    );
    // A leak grows with requests; sled's cache grows with the store until its bound.
    let (last, before) = (rss[rss.len() - 1], rss[rss.len().saturating_sub(7)]);
    println!(
        "last {:.0} s: RSS {:+.1} MiB, store {:+.1} MiB",
        last.0 - before.0,
        last.1 - before.1,
        last.2 - before.2
    );
    let sent: Vec<u64> = s.sent.iter().map(|n| n.load(Relaxed)).collect();
    let writes = sent[0] + sent[1] + sent[2] + sent[5];
    let store = common::du(&server.db);
    println!(
        "store: {:.1} MiB after {writes} write requests ({} enrollments, {} attaches, {} kit batches of 1,000): {:.0} bytes per write request",
        store as f64 / (1 << 20) as f64,
        sent[0] + sent[1],
        sent[2],
        sent[5],
        store as f64 / writes.max(1) as f64
    );
    report_unexpected(&s.unexpected.lock().unwrap());
}

fn report_unexpected(m: &BTreeMap<(&'static str, u16), u64>) {
    if m.is_empty() {
        println!("unexpected answers: none");
    }
    for ((kind, status), n) in m {
        let note = if *status >= 500 && *status != 503 {
            "  <- BUG"
        } else {
            ""
        };
        println!("unexpected answers: {kind} {status}: {n}{note}");
    }
}

// ---------------------------------------------------------------------------------------------
// Overload

#[derive(Default)]
struct Flood {
    by_status: BTreeMap<u16, u64>,
    ok_ms: Vec<f64>,
    seconds: f64,
    /// RSS in MiB: at the start, the peak (sampled every 100 ms), at the end, 5 s later.
    rss: [f64; 4],
    /// CPU seconds used meanwhile by the server and by this driver.
    cpu: [f64; 2],
}

impl Flood {
    fn n(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
    fn ok_ms(&mut self, p: f64) -> f64 {
        self.ok_ms.sort_by(f64::total_cmp);
        let i = ((self.ok_ms.len().max(1) - 1) as f64 * p).round() as usize;
        self.ok_ms.get(i).copied().unwrap_or(0.0)
    }
}

/// New enrollments from `conns` threads for `seconds`, at `rate` a second in all (0: unpaced).
fn flood(
    server: &common::Server,
    auth: &str,
    conns: u32,
    rate: f64,
    seconds: u64,
    seq: &AtomicU64,
) -> Flood {
    let url = format!("{}/programs/SANDBOX/enrollments", server.base);
    let mib = || common::rss_kib(server.pid) as f64 / 1024.0;
    let mut out = Flood::default();
    out.rss[0] = mib();
    let cpu = || [server.pid, std::process::id()].map(common::cpu_seconds);
    let cpu_before = cpu();
    let peak = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let interval = Duration::from_secs_f64(if rate > 0.0 { conns as f64 / rate } else { 0.0 });
    let parts: Vec<Flood> = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Relaxed) {
                peak.fetch_max(common::rss_kib(server.pid), Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let clients: Vec<_> = (0..conns)
            .map(|t| {
                let url = &url;
                std::thread::Builder::new()
                    .stack_size(256 << 10)
                    .spawn_scoped(scope, move || {
                        let agent = agent();
                        let mut f = Flood::default();
                        // Threads start spread over one interval.
                        let mut next = started + interval * t / conns;
                        while Instant::now() < end {
                            let now = Instant::now();
                            if next > now {
                                std::thread::sleep(next - now);
                            }
                            next = next.max(now) + interval;
                            let b = common::enrollment(seq.fetch_add(1, Relaxed), "OVER", None);
                            let t0 = Instant::now();
                            let (status, _) = send(&agent, "POST", url, auth, Some(&b));
                            if status == 200 {
                                f.ok_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
                            }
                            *f.by_status.entry(status).or_default() += 1;
                        }
                        f
                    })
                    .expect("client thread")
            })
            .collect();
        let parts = clients.into_iter().map(|h| h.join().unwrap()).collect();
        done.store(true, Relaxed);
        parts
    });
    out.seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu();
    out.cpu = [0, 1].map(|i| cpu_after[i] - cpu_before[i]);
    for p in parts {
        for (s, n) in p.by_status {
            *out.by_status.entry(s).or_default() += n;
        }
        out.ok_ms.extend(p.ok_ms);
    }
    out.rss[2] = mib();
    out.rss[1] = (peak.load(Relaxed) as f64 / 1024.0).max(out.rss[2]);
    std::thread::sleep(Duration::from_secs(5));
    out.rss[3] = mib();
    out
}

fn overload() {
    let seconds: u64 = arg("--seconds", 60);
    let conns: u32 = arg("--connections", 512);
    let bounds: String = arg("--bounds", "4096,64".to_string());
    let mut rate: f64 = arg("--rate", 0.0);
    let seq = AtomicU64::new(0);
    println!(
        "issuebox overload: new enrollments from {conns} connections for {seconds} s, durability flush, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if rate == 0.0 {
        // On a server of its own, so that each bound starts from an empty store.
        let server = common::start_server("flush", |c| c);
        let f = flood(&server, &token(&server.base), 64, 0.0, 10, &seq);
        let sustained = f.n(200) as f64 / f.seconds;
        println!(
            "sustained: {sustained:.0} enrollments/s from 64 connections over 10 s (answers {:?}); offered: 4x",
            f.by_status
        );
        rate = 4.0 * sustained;
    }
    let mut rows = Vec::new();
    for bound in bounds
        .split(',')
        .map(|b| b.parse::<usize>().expect("--bounds N,M"))
    {
        let server = common::start_server("flush", |c| {
            assert!(c.contains("max_pending_writes = 4096"));
            c.replace(
                "max_pending_writes = 4096",
                &format!("max_pending_writes = {bound}"),
            )
        });
        let auth = token(&server.base);
        let mut f = flood(&server, &auth, conns, rate, seconds, &seq);
        let total: u64 = f.by_status.values().sum();
        let other: u64 = total - f.n(200) - f.n(503);
        rows.push(format!(
            "| {bound} | {:.0} | {:.0} | {} | {} | {other} | {:.1} / {:.1} | {:.0} / {:.0} / {:.0} / {:.0} | {:.0} µs | {:.2} / {:.2} |",
            total as f64 / f.seconds,
            f.n(200) as f64 / f.seconds,
            f.n(200),
            f.n(503),
            f.ok_ms(0.5),
            f.ok_ms(0.99),
            f.rss[0],
            f.rss[1],
            f.rss[2],
            f.rss[3],
            1e6 * f.cpu[0] / total.max(1) as f64,
            f.cpu[0] / f.seconds,
            f.cpu[1] / f.seconds
        ));
        if other > 0 {
            let m = f
                .by_status
                .iter()
                .filter(|(s, _)| **s != 200 && **s != 503)
                .map(|(s, n)| (("enroll", *s), *n))
                .collect();
            report_unexpected(&m);
        }
    }
    println!("offered {rate:.0} enrollments/s from {conns} connections for {seconds} s");
    println!("| max_pending_writes | sent/s | 200/s | 200 | 503 | other | 200 p50 / p99 ms | RSS MiB start / peak / end / 5 s later | server CPU per answer | cores used: server / driver |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in rows {
        println!("{r}");
    }
}

fn main() {
    if std::env::args().any(|a| a == "--overload") {
        overload();
    } else {
        soak();
    }
}
