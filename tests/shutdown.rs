//! Graceful shutdown: SIGTERM in the middle of concurrent enrollments. The process exits 0;
//! every request answered 2xx is there after a restart; a request in flight at the signal either
//! completed with a 2xx or failed at the transport level (never a 5xx, never another status); a
//! request that failed at the transport level had written nothing (re-sent with its requestId
//! it is processed afresh, not replayed); `issuebox verify` finds the store clean.

mod common;
use common::baas::*;
use common::*;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const THREADS: usize = 6;

struct Outcome {
    rid: String,
    body: Value,
    started: Instant,
    ended: Instant,
    /// `Ok((status, account))` or the transport error.
    result: Result<(u16, Option<String>, String), String>,
}

fn drive(url: &str, auth: &str, stop: &AtomicBool, out: &Mutex<Vec<Outcome>>) {
    while !stop.load(Ordering::SeqCst) {
        let rid = uuid();
        let body = body();
        let started = Instant::now();
        let r = try_send(
            "POST",
            url,
            &[("Authorization", auth), ("X-GD-RequestId", &rid)],
            Some(&body.to_string()),
        );
        let ended = Instant::now();
        let failed = r.is_err();
        let result = r.map(|a| {
            let acc = a.body["account"]["accountIdentifier"]
                .as_str()
                .map(str::to_string);
            (a.status, acc, a.text)
        });
        out.lock().unwrap().push(Outcome {
            rid,
            body,
            started,
            ended,
            result,
        });
        if failed {
            return;
        }
    }
}

fn verify(s: &Server) {
    let (code, out) = s.verify();
    assert_eq!(code, 0, "verify: {out}");
}

#[test]
fn sigterm_under_load_finishes_what_it_answered_and_loses_nothing() {
    let mut s = Server::start();
    let auth = format!("Bearer {}", s.token());
    let url = s.url("/programs/SANDBOX/enrollments");
    let stop = AtomicBool::new(false);
    let outcomes = Mutex::new(Vec::new());
    let mut signalled = None;
    let mut exit = None;
    std::thread::scope(|sc| {
        for _ in 0..THREADS {
            sc.spawn(|| drive(&url, &auth, &stop, &outcomes));
        }
        // Let the load build up, then SIGTERM while the threads keep sending.
        let warm = Instant::now();
        while outcomes.lock().unwrap().len() < 150 && warm.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(rand_u64() % 200));
        signalled = Some(Instant::now());
        exit = Some(s.stop());
        stop.store(true, Ordering::SeqCst);
    });
    let signalled = signalled.unwrap();
    assert_eq!(exit, Some(0), "exit code after SIGTERM\n{}", s.log());
    assert!(
        s.log()
            .contains("store checkpointed for a quick next start"),
        "a clean stop leaves a sled snapshot behind\n{}",
        s.log()
    );
    verify(&s);

    let outcomes = outcomes.into_inner().unwrap();
    let mut acknowledged = Vec::new();
    let mut transport = Vec::new();
    let mut wrong = Vec::new();
    let mut in_flight = 0;
    let mut in_flight_ok = 0;
    for o in &outcomes {
        let at_signal = o.started < signalled && o.ended > signalled;
        in_flight += at_signal as usize;
        match &o.result {
            Ok((200, Some(acc), _)) => {
                acknowledged.push(acc.clone());
                in_flight_ok += at_signal as usize;
            }
            Ok((st, _, text)) => wrong.push(format!("{st}: {text}")),
            Err(e) => transport.push((o, e.clone())),
        }
    }
    assert!(
        wrong.is_empty(),
        "answers other than 200 with an account:\n{}",
        wrong.join("\n")
    );
    assert!(
        acknowledged.len() >= 150,
        "load too light: {}",
        acknowledged.len()
    );
    assert!(
        in_flight > 0,
        "no request was in flight at the signal; the test proves nothing"
    );

    // After a restart: every acknowledged account is there, and nothing else.
    let s = s.respawn();
    let b = Baas { s, auth };
    for acc in &acknowledged {
        let a = b.get(&format!("/programs/SANDBOX/accounts/{acc}"));
        assert_eq!(a.status, 200, "acknowledged account {acc} lost: {}", a.text);
    }
    assert_eq!(
        b.s.entity_count("accounts"),
        acknowledged.len() as u64,
        "accounts beyond the acknowledged ones: a request failed at the transport level wrote"
    );
    // What failed at the transport level is processed afresh when re-sent: nothing was written.
    let mut replayed = 0;
    for (o, _) in &transport {
        let a = b.post("SANDBOX", &o.rid, &o.body);
        assert_eq!(a.status, 200, "re-sent: {}", a.text);
        assert_eq!(a.body["responseDetails"][0]["code"], 0, "{}", a.text);
        replayed += (a.header("Idempotent-Replayed") == Some("true")) as usize;
    }
    assert_eq!(
        replayed, 0,
        "a request that failed at the transport level had been stored"
    );
    assert_eq!(
        b.s.entity_count("accounts"),
        (acknowledged.len() + transport.len()) as u64
    );
    let Baas { mut s, .. } = b;
    assert_eq!(s.stop(), 0);
    verify(&s);
    println!(
        "shutdown: {} requests from {THREADS} threads, {} answered 200 and found after restart, \
         {in_flight} in flight at SIGTERM ({in_flight_ok} completed 200, the rest transport \
         errors), {} transport errors re-sent and processed afresh, 0 5xx",
        outcomes.len(),
        acknowledged.len(),
        transport.len()
    );
}
