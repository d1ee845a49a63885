//! Crash safety on `storage.engine = "postgres"` (contract sections 7 and 9; issue 16 item 7):
//! three issuebox processes over one database of a PostgreSQL cluster of the test's own, six
//! clients enrolling in a loop spread over them, each request with its own `X-GD-RequestId`.
//!
//! 1. Under load, one process is SIGKILLed; the others go on, and the clients that were aimed at
//!    it fail over, re-sending the request they had in flight (same requestId, same body) to
//!    another process.
//! 2. Later, PostgreSQL itself is cut (`pg_ctl stop -m immediate`: no checkpoint, every
//!    connection dropped) under load. While it is down the processes answer 503 in the BaaS
//!    envelope with `Retry-After`, never another 5xx, never hang, and do not exit; every request
//!    keeps being re-sent with its requestId. Then the cluster is started again (crash
//!    recovery) and the processes recover by themselves: every surviving process answers 2xx
//!    again within seconds; a request whose bearer token cannot be looked up answers 503 too,
//!    never 401.
//! 3. Afterwards, through the surviving processes: the requests still without an answer are
//!    re-sent with their requestIds (a first success or a replay, 200 either way); every
//!    acknowledged account is there (GET answers it as first answered); every acknowledged
//!    request re-sent answers byte for byte its first answer, as a replay; the database holds
//!    exactly the accounts acknowledged (nothing created twice); `issuebox verify` is clean.
//!
//! The harness can fail: each phase must have acknowledged enough requests, on each surviving
//! process (so the checks above are about real acknowledgements), and the loss check is the GET
//! of every acknowledged account: an account row deleted behind the servers' back (`psql`,
//! foreign keys off) is reported as lost, by id.

mod common;

use common::baas::*;
use common::postgres::PgCluster;
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// issuebox processes on the database.
const PROCESSES: usize = 3;
/// Client threads; client `i` starts on process `i % PROCESSES`.
const CLIENTS: usize = 6;
/// The process SIGKILLed under load.
const KILLED: usize = 2;
/// Kits for instant issue (every third request takes one while they last).
const KITS: usize = 300;
/// Acknowledged (2xx) requests each phase of load must have, at the least.
const MIN_ACKS: usize = 10;
/// An answer that takes longer than this is a hang (the store must answer 503 instead).
const ANSWER_LIMIT: Duration = Duration::from_secs(10);
/// How long a requestId claimed by the killed process may stay locked (4091): its claim is no
/// longer renewed and goes stale (10 s in `src/store/postgres/engine.rs`).
const CLAIM_LIMIT: Duration = Duration::from_secs(20);
/// How long after PostgreSQL is back every surviving process must have served a 2xx.
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);

/// Where the run is: the driving thread moves it on just before each cut, and the clients
/// classify an answer by the phase it arrived in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// All three processes up.
    Steady,
    /// Process [`KILLED`] SIGKILLed, the others on.
    Killed,
    /// PostgreSQL stopped (`-m immediate`).
    DatabaseDown,
    /// PostgreSQL started again.
    Recovered,
}

/// One acknowledged request: what was sent and its first 2xx, byte for byte.
#[derive(Clone, Debug)]
struct Ack {
    rid: String,
    body: Value,
    account: String,
    text: String,
}

#[derive(Default)]
struct Ledger {
    acks: Vec<Ack>,
    /// Acknowledgements per phase, and per phase and process.
    acks_in: BTreeMap<Phase, usize>,
    acks_by: BTreeMap<(Phase, usize), usize>,
    /// Requests sent that have no 2xx yet (no answer, a 503, a 409 4091): requestId → body.
    in_flight: HashMap<String, Value>,
    /// Requests that were once in flight and later got their 2xx; of those, how many as a
    /// replay (the first attempt had committed, its answer was lost).
    in_flight_resolved: usize,
    in_flight_replayed: usize,
    /// Answers by phase and status; `0` is "no answer" (connection refused or reset).
    statuses: BTreeMap<(Phase, u16), usize>,
    /// 503s that carried the BaaS envelope 503 / 503 / 0 "Storage unavailable" and Retry-After.
    proper_503: BTreeMap<Phase, usize>,
    /// Anything the contract does not allow: 5xx other than a proper 503, unexpected 4xx.
    wrong: Vec<String>,
    /// Answers slower than [`ANSWER_LIMIT`].
    hung: Vec<String>,
    /// Per process: when it first answered 2xx after PostgreSQL was started again.
    first_ok_after_restart: [Option<Instant>; PROCESSES],
}

/// What the clients share.
struct World {
    bases: Vec<String>,
    auth: String,
    phase: Mutex<Phase>,
    stop: AtomicBool,
    kit: AtomicUsize,
    seq: AtomicUsize,
    ssn_base: u64,
    ledger: Mutex<Ledger>,
}

/// Stops the clients when dropped, also when an assertion of the driving thread fails (else
/// the scope would wait for them for ever).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl World {
    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap()
    }

    fn set_phase(&self, p: Phase) {
        *self.phase.lock().unwrap() = p;
    }

    fn acks_in(&self, p: Phase) -> usize {
        self.ledger
            .lock()
            .unwrap()
            .acks_in
            .get(&p)
            .copied()
            .unwrap_or(0)
    }

    /// A new enrollment of an SSN of its own (no request meets another's SSN lock or 4010);
    /// every third one an instant issue while kits last.
    fn request(&self) -> Value {
        let i = self.seq.fetch_add(1, Ordering::SeqCst);
        let ssn = format!("{:09}", (self.ssn_base + i as u64) % 1_000_000_000);
        let b = with(body(), "/userData/identifyingData/ssn", json!(ssn));
        if i.is_multiple_of(3) {
            let k = self.kit.fetch_add(1, Ordering::SeqCst);
            if k < KITS {
                return instant(b, &format!("PGCRASH{:07}", k + 1));
            }
        }
        b
    }
}

/// `POST /programs/SANDBOX/enrollments` with a time limit; `Err` when no answer came.
fn post(
    base: &str,
    auth: &str,
    rid: &str,
    body: &Value,
    limit: Duration,
) -> Result<Answer, String> {
    let req = ureq::post(&format!("{base}/programs/SANDBOX/enrollments"))
        .timeout(limit)
        .set("Authorization", auth)
        .set("X-GD-RequestId", rid)
        .set("Content-Type", "application/json");
    match req.send_string(&body.to_string()) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => {
            let status = r.status();
            let headers = r
                .headers_names()
                .into_iter()
                .filter_map(|n| r.header(&n).map(|v| (n.clone(), v.to_string())))
                .collect();
            let text = r.into_string().map_err(|e| e.to_string())?;
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            Ok(Answer {
                status,
                body,
                text,
                headers,
            })
        }
        Err(e) => Err(e.to_string()),
    }
}

fn account_of(a: &Answer) -> Option<String> {
    a.body["account"]["accountIdentifier"]
        .as_str()
        .map(str::to_string)
}

fn detail_code(a: &Answer) -> (u64, u64) {
    let d = &a.body["responseDetails"][0];
    (
        d["code"].as_u64().unwrap_or(0),
        d["subCode"].as_u64().unwrap_or(0),
    )
}

/// The contract's 503 when the store cannot write: the BaaS envelope and `Retry-After`.
fn is_proper_503(a: &Answer) -> bool {
    a.status == 503
        && a.header("Retry-After")
            .is_some_and(|v| v.parse::<u64>().is_ok())
        && detail_code(a) == (503, 0)
        && a.body["responseDetails"][0]["description"] == "Storage unavailable"
}

/// One client: enrolls in a loop on its process, re-sending a request without a 2xx (same
/// requestId, same body) until it gets one, and failing over to the next process when its
/// process does not answer.
fn client(i: usize, w: &World) {
    let mut target = i % PROCESSES;
    let mut current: Option<(String, Value)> = None;
    while !w.stop.load(Ordering::SeqCst) {
        let (rid, req) = current.get_or_insert_with(|| (uuid(), w.request())).clone();
        let sent = Instant::now();
        let r = post(&w.bases[target], &w.auth, &rid, &req, ANSWER_LIMIT);
        let took = sent.elapsed();
        let phase = w.phase();
        let mut l = w.ledger.lock().unwrap();
        let status = r.as_ref().map(|a| a.status).unwrap_or(0);
        *l.statuses.entry((phase, status)).or_default() += 1;
        if took >= ANSWER_LIMIT - Duration::from_millis(500) {
            l.hung.push(format!(
                "{phase:?}: process {target} took {took:?} for {rid}: {:?}",
                r.as_ref().map(|a| a.status)
            ));
        }
        let pause = match r {
            Ok(a) if a.status == 200 => {
                let Some(account) = account_of(&a) else {
                    l.wrong
                        .push(format!("{phase:?}: 200 without an account: {}", a.text));
                    current = None;
                    continue;
                };
                if l.in_flight.remove(&rid).is_some() {
                    l.in_flight_resolved += 1;
                    if a.header("Idempotent-Replayed") == Some("true") {
                        l.in_flight_replayed += 1;
                    }
                }
                *l.acks_in.entry(phase).or_default() += 1;
                *l.acks_by.entry((phase, target)).or_default() += 1;
                if phase == Phase::Recovered && l.first_ok_after_restart[target].is_none() {
                    l.first_ok_after_restart[target] = Some(Instant::now());
                }
                l.acks.push(Ack {
                    rid,
                    body: req,
                    account,
                    text: a.text,
                });
                current = None;
                continue;
            }
            Ok(a) if a.status == 503 => {
                if is_proper_503(&a) {
                    *l.proper_503.entry(phase).or_default() += 1;
                } else {
                    l.wrong.push(format!(
                        "{phase:?}: 503 without the envelope or Retry-After from process \
                         {target}: {:?} {}",
                        a.headers, a.text
                    ));
                }
                l.in_flight.insert(rid, req);
                Duration::from_millis(100)
            }
            Ok(a) if a.status == 409 && detail_code(&a) == (4091, 0) => {
                // Another request with this requestId or SSN holds its claim: try again.
                l.in_flight.insert(rid, req);
                Duration::from_millis(100)
            }
            Ok(a) => {
                l.wrong.push(format!(
                    "{phase:?}: process {target} answered {}: {:?} {}",
                    a.status, a.headers, a.text
                ));
                l.in_flight.insert(rid, req);
                Duration::from_millis(100)
            }
            Err(e) => {
                // No answer: the process is gone (or the connection was cut). The request may
                // or may not have been done: re-sent, with its requestId, to the next process.
                l.in_flight.insert(rid, req);
                if target != KILLED || phase < Phase::Killed {
                    l.wrong
                        .push(format!("{phase:?}: no answer from process {target}: {e}"));
                }
                target = (target + 1) % PROCESSES;
                Duration::from_millis(20)
            }
        };
        drop(l);
        std::thread::sleep(pause);
    }
}

/// Waits until `done()` holds, at least `min` and at most `max`; answers whether it held.
fn wait_until(min: Duration, max: Duration, done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        let elapsed = start.elapsed();
        if elapsed >= min && done() {
            return true;
        }
        if elapsed >= max {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `check` on every acknowledgement, spread over [`CLIENTS`] threads; answers what it
/// reported, in no particular order.
fn for_each_ack(acks: &[Ack], check: impl Fn(usize, &Ack) -> Option<String> + Sync) -> Vec<String> {
    let found = Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for t in 0..CLIENTS {
            let (check, found) = (&check, &found);
            sc.spawn(move || {
                for (k, ack) in acks.iter().enumerate().skip(t).step_by(CLIENTS) {
                    if let Some(f) = check(k, ack) {
                        found.lock().unwrap().push(f);
                    }
                }
            });
        }
    });
    found.into_inner().unwrap()
}

fn on_postgres(url: &str) -> (&'static str, String) {
    (
        "engine = \"sled\"",
        format!("engine = \"postgres\"\npostgres_url = {url:?}\npostgres_pool_size = 8"),
    )
}

fn get(base: &str, auth: &str, path: &str) -> Answer {
    send(
        "GET",
        &format!("{base}{path}"),
        &[("Authorization", auth), ("X-GD-RequestId", &uuid())],
        None,
    )
}

#[test]
fn acknowledged_enrollments_survive_a_killed_process_and_a_database_crash() {
    let started = Instant::now();
    let Some(cluster) = PgCluster::new() else {
        return;
    };
    let (from, to) = on_postgres(&cluster.url());
    let mut servers: Vec<Server> = (0..PROCESSES)
        .map(|_| Server::start_with(&[(from, &to)]))
        .collect();
    // A token minted by one process works on all (the tokens live in the database).
    let auth = format!("Bearer {}", servers[0].token());
    let kits = send(
        "POST",
        &servers[0].url("/sandbox/programs/SANDBOX/packages"),
        &[("Authorization", &auth)],
        Some(
            &json!({"generate": {"count": KITS, "productCode": "GPR100", "prefix": "PGCRASH"}})
                .to_string(),
        ),
    );
    assert_eq!(kits.status, 201, "{}", kits.text);
    let setup = started.elapsed();

    let w = World {
        bases: servers.iter().map(|s| s.base.clone()).collect(),
        auth: auth.clone(),
        phase: Mutex::new(Phase::Steady),
        stop: AtomicBool::new(false),
        kit: AtomicUsize::new(0),
        seq: AtomicUsize::new(0),
        ssn_base: rand_u64() % 1_000_000_000,
        ledger: Mutex::new(Ledger::default()),
    };
    let mut timeline: Vec<(String, Duration)> = vec![("setup".into(), setup)];
    let mut restarted_at = None;
    let load = Instant::now();
    std::thread::scope(|sc| {
        for i in 0..CLIENTS {
            let w = &w;
            sc.spawn(move || client(i, w));
        }
        let _stop = StopOnDrop(&w.stop);
        let min = Duration::from_millis(1500);
        let max = Duration::from_secs(10);
        wait_until(min, max, || w.acks_in(Phase::Steady) >= MIN_ACKS);

        // 1. SIGKILL one process under load; the others go on.
        w.set_phase(Phase::Killed);
        signal(servers[KILLED].child.id() as i32, 9);
        let _ = servers[KILLED].child.wait();
        timeline.push((format!("SIGKILL process {KILLED}"), load.elapsed()));
        wait_until(min, max, || w.acks_in(Phase::Killed) >= MIN_ACKS);

        // 2. PostgreSQL cut mid-load: 503 with Retry-After while it is down.
        w.set_phase(Phase::DatabaseDown);
        cluster.stop_immediate();
        assert!(!cluster.is_running());
        timeline.push(("pg_ctl stop -m immediate".into(), load.elapsed()));
        wait_until(min, max, || {
            w.ledger
                .lock()
                .unwrap()
                .proper_503
                .contains_key(&Phase::DatabaseDown)
        });
        for (i, s) in servers.iter_mut().enumerate().filter(|(i, _)| *i != KILLED) {
            assert!(
                matches!(s.child.try_wait(), Ok(None)),
                "process {i} exited while the database was down:\n{}",
                s.log()
            );
        }

        // 3. PostgreSQL back: the processes recover by themselves.
        cluster.start();
        let back = Instant::now();
        restarted_at = Some(back);
        w.set_phase(Phase::Recovered);
        timeline.push(("pg_ctl start".into(), load.elapsed()));
        let recovered = wait_until(Duration::ZERO, RECOVERY_LIMIT, || {
            let l = w.ledger.lock().unwrap();
            (0..PROCESSES)
                .filter(|i| *i != KILLED)
                .all(|i| l.first_ok_after_restart[i].is_some())
        });
        timeline.push(("every survivor answered 2xx".into(), load.elapsed()));
        if recovered {
            wait_until(min, max, || w.acks_in(Phase::Recovered) >= MIN_ACKS);
        }
    });
    timeline.push(("load stopped".into(), load.elapsed()));
    let mut l = w.ledger.into_inner().unwrap();
    let back = restarted_at.expect("the database was started again");
    let recovery: Vec<Option<Duration>> = l
        .first_ok_after_restart
        .iter()
        .map(|t| t.map(|t| t.duration_since(back)))
        .collect();
    println!(
        "timeline: {timeline:?}\nacks per phase: {:?}\nstatuses: {:?}\nproper 503s: {:?}\n\
         in flight resolved: {} ({} as replays), still in flight: {}\n\
         recovery after restart per process: {recovery:?}",
        l.acks_in,
        l.statuses,
        l.proper_503,
        l.in_flight_resolved,
        l.in_flight_replayed,
        l.in_flight.len(),
    );

    // The run did what it claims: acknowledgements before and after each cut, 503s while down.
    for p in [Phase::Steady, Phase::Killed, Phase::Recovered] {
        let n = l.acks_in.get(&p).copied().unwrap_or(0);
        assert!(n >= MIN_ACKS, "only {n} acknowledgements in {p:?}");
    }
    assert!(
        l.proper_503.contains_key(&Phase::DatabaseDown),
        "no 503 with Retry-After while the database was down: {:?}",
        l.statuses
    );
    let wrong = l.wrong.len();
    l.wrong.truncate(20);
    assert!(
        l.wrong.is_empty(),
        "{wrong} answers the contract does not allow (first 20):\n{}",
        l.wrong.join("\n")
    );
    assert!(
        l.hung.is_empty(),
        "answers that hung:\n{}",
        l.hung.join("\n")
    );
    for p in [Phase::Killed, Phase::Recovered] {
        for i in (0..PROCESSES).filter(|i| *i != KILLED) {
            let n = l.acks_by.get(&(p, i)).copied().unwrap_or(0);
            assert!(
                n > 0,
                "process {i} acknowledged nothing in {p:?}: {:?}",
                l.acks_by
            );
        }
    }
    for (i, r) in recovery.iter().enumerate().filter(|(i, _)| *i != KILLED) {
        assert!(
            r.is_some(),
            "process {i} did not answer 2xx within {RECOVERY_LIMIT:?} of PostgreSQL's restart"
        );
    }
    let survivors: Vec<usize> = (0..PROCESSES).filter(|i| *i != KILLED).collect();
    for &i in &survivors {
        assert!(
            matches!(servers[i].child.try_wait(), Ok(None)),
            "process {i} exited:\n{}",
            servers[i].log()
        );
        assert!(
            !servers[i].log().contains("panicked"),
            "process {i} panicked:\n{}",
            servers[i].log()
        );
    }

    // What is still in flight, re-sent with its requestId: a first success or a replay.
    let on = |k: usize| &w.bases[survivors[k % survivors.len()]];
    let checks = Instant::now();
    // A claim the killed process held is locked (4091) until it goes stale, seconds after the
    // kill: the client tries again, as a client told "API is locked" does.
    let pending: Vec<(String, Value)> = l.in_flight.drain().collect();
    let resent = pending.len();
    for (k, (rid, req)) in pending.into_iter().enumerate() {
        let give_up = Instant::now() + CLAIM_LIMIT;
        let a = loop {
            let a = post(on(k), &auth, &rid, &req, ANSWER_LIMIT).expect("a survivor answers");
            let locked = a.status == 409 && detail_code(&a) == (4091, 0);
            if !locked || Instant::now() > give_up {
                break a;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(a.status, 200, "in-flight {rid} re-sent: {}", a.text);
        l.acks.push(Ack {
            rid,
            body: req,
            account: account_of(&a).expect("an account"),
            text: a.text,
        });
    }

    // Every acknowledged account is there, as first answered; each request made one account.
    let mut took = vec![("in flight re-sent", checks.elapsed())];
    let lost: Vec<String> = for_each_ack(&l.acks, |k, ack| {
        let got = get(
            on(k),
            &auth,
            &format!("/programs/SANDBOX/accounts/{}", ack.account),
        );
        let first: Value = serde_json::from_str(&ack.text).unwrap();
        (got.status != 200 || got.body["account"] != first["account"])
            .then(|| format!("{} ({}): {}", ack.account, got.status, got.text))
    });
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged accounts lost: {lost:#?}",
        lost.len(),
        l.acks.len(),
    );
    let accounts: BTreeSet<&str> = l.acks.iter().map(|a| a.account.as_str()).collect();
    assert_eq!(
        accounts.len(),
        l.acks.len(),
        "two requestIds answered one account"
    );

    took.push(("accounts read", checks.elapsed()));
    // Every acknowledged request re-sent: its first answer again, byte for byte, as a replay.
    let differ = for_each_ack(&l.acks, |k, ack| {
        let a = post(on(k), &auth, &ack.rid, &ack.body, ANSWER_LIMIT).expect("a survivor answers");
        let replayed = a.header("Idempotent-Replayed") == Some("true");
        (a.status != 200 || a.text != ack.text || !replayed).then(|| {
            format!(
                "{}: first {}, replay {} {:?} {}",
                ack.rid, ack.text, a.status, a.headers, a.text
            )
        })
    });
    assert!(
        differ.is_empty(),
        "{} of {} replays differ from the first answer: {differ:#?}",
        differ.len(),
        l.acks.len()
    );

    took.push(("replays", checks.elapsed()));
    // Nothing created twice, nothing half-written.
    let in_db: usize = cluster
        .psql(common::postgres::DATABASE, "SELECT count(*) FROM accounts")
        .parse()
        .unwrap();
    assert_eq!(
        in_db,
        accounts.len(),
        "accounts in the database vs acknowledged"
    );
    let config = servers[survivors[0]].config_path.clone();
    let (code, out) = run_cli(&["verify", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("store is clean"), "{out}");
    println!(
        "{} acknowledged accounts checked ({resent} re-sent from in flight at the end), \
         checks {took:?}, whole test {:?}",
        accounts.len(),
        started.elapsed()
    );
}
