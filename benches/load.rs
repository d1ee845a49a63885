//! Load driver over loopback: starts the release server on a temporary store, drives a bounded
//! number of requests per scenario at a given concurrency, and prints requests/s, latency
//! percentiles, errors by status and the ratio to `/health` driven the same way in the same run
//! (after a warm-up, and three times as many requests, so the baseline is stable).
//!
//! ```text
//! cargo bench --bench load -- [--requests N] [--concurrency C] [--durability flush|os]
//!                             [--workers W] [--scenarios health,enroll,instant,replay,get_account,attach,fetchwallet]
//! ```
//! It stops by itself after the last scenario.

mod common;

use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

struct Args {
    requests: usize,
    concurrency: usize,
    durability: String,
    workers: usize,
    scenarios: Vec<String>,
}

fn args() -> Args {
    let mut a = Args {
        requests: 4000,
        concurrency: 64,
        durability: "flush".into(),
        workers: 0,
        scenarios: "health,enroll,instant,replay,get_account,attach,fetchwallet"
            .split(',')
            .map(String::from)
            .collect(),
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let next = v.get(i + 1).cloned().unwrap_or_default();
        match v[i].as_str() {
            "--requests" => a.requests = next.parse().expect("--requests N"),
            "--concurrency" => a.concurrency = next.parse().expect("--concurrency C"),
            "--durability" => a.durability = next,
            "--workers" => a.workers = next.parse().expect("--workers W"),
            "--scenarios" => a.scenarios = next.split(',').map(String::from).collect(),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// One request of a scenario: method, path, headers, body.
struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
}

#[derive(Default)]
struct Outcome {
    latencies_us: Vec<u64>,
    statuses: BTreeMap<u16, usize>,
    transport_errors: usize,
    elapsed: Duration,
}

impl Outcome {
    fn rps(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.latencies_us.clone();
        v.sort_unstable();
        if v.is_empty() {
            return 0.0;
        }
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i] as f64 / 1000.0
    }
}

async fn drive(
    client: &awc::Client,
    base: &str,
    reqs: Vec<Req>,
    concurrency: usize,
    ok: &[u16],
) -> Outcome {
    let reqs = Rc::new(reqs);
    let next = Rc::new(Cell::new(0usize));
    let out = Rc::new(RefCell::new(Outcome::default()));
    let started = Instant::now();
    let workers = (0..concurrency).map(|_| {
        let reqs = reqs.clone();
        let next = next.clone();
        let out = out.clone();
        async move {
            loop {
                let i = next.get();
                if i >= reqs.len() {
                    break;
                }
                next.set(i + 1);
                let r = &reqs[i];
                let mut cr = client.request(r.method.parse().unwrap(), format!("{base}{}", r.path));
                for (k, v) in &r.headers {
                    cr = cr.insert_header((*k, v.as_str()));
                }
                let t = Instant::now();
                let res = match &r.body {
                    Some(b) => {
                        cr.insert_header(("Content-Type", "application/json"))
                            .send_body(b.clone())
                            .await
                    }
                    None => cr.send().await,
                };
                match res {
                    Ok(mut resp) => {
                        let _ = resp.body().limit(1 << 20).await;
                        let mut o = out.borrow_mut();
                        o.latencies_us.push(t.elapsed().as_micros() as u64);
                        *o.statuses.entry(resp.status().as_u16()).or_default() += 1;
                    }
                    Err(_) => out.borrow_mut().transport_errors += 1,
                }
            }
        }
    });
    futures_util::future::join_all(workers).await;
    let mut o = out.take();
    o.elapsed = started.elapsed();
    let errors: usize = o
        .statuses
        .iter()
        .filter(|(s, _)| !ok.contains(s))
        .map(|(_, n)| n)
        .sum();
    if errors > 0 || o.transport_errors > 0 {
        eprintln!(
            "  errors: {:?}, transport errors {}",
            o.statuses, o.transport_errors
        );
    }
    o
}

/// The batch committer's totals from `/metrics`: batches, requests, writes, apply s, flush s.
async fn commit_stats(client: &awc::Client, base: &str) -> [f64; 5] {
    let mut out = [0.0; 5];
    let Ok(mut r) = client.get(format!("{base}/metrics")).send().await else {
        return out;
    };
    let text =
        String::from_utf8_lossy(&r.body().limit(1 << 22).await.unwrap_or_default()).to_string();
    for (i, name) in [
        "issuebox_commit_batches_total ",
        "issuebox_commit_requests_total ",
        "issuebox_commit_writes_total ",
        "issuebox_commit_apply_seconds_total ",
        "issuebox_commit_flush_seconds_total ",
    ]
    .iter()
    .enumerate()
    {
        out[i] = text
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
    }
    out
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn enrollment(i: usize, kit: Option<String>) -> Value {
    common::enrollment(i as u64, "LOAD", kit)
}

async fn call(
    client: &awc::Client,
    method: &str,
    url: String,
    auth: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = client
        .request(method.parse().unwrap(), url)
        .insert_header(("Authorization", auth))
        .insert_header(("X-GD-RequestId", uuid()));
    r = r.insert_header(("Content-Type", "application/json"));
    let mut resp = match body {
        Some(b) => r.send_body(b.to_string()).await.expect("setup request"),
        None => r.send().await.expect("setup request"),
    };
    let bytes = resp.body().limit(64 << 20).await.unwrap_or_default();
    (
        resp.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn main() {
    let a = args();
    let workers = a.workers;
    let server = common::start_server(&a.durability, |c| {
        c.replace("workers = 0 ", &format!("workers = {workers} "))
    });
    let base = server.base.clone();
    let pid = server.pid;
    let n = a.requests;
    println!(
        "issuebox load: {n} requests per scenario, concurrency {}, durability {}, server workers {}, {} cores",
        a.concurrency,
        a.durability,
        a.workers,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    actix_rt::System::new().block_on(async move {
        let client = awc::Client::builder()
            .connector(awc::Connector::new().limit(a.concurrency.max(1)))
            .timeout(Duration::from_secs(60))
            .finish();
        let mut resp = client
            .post(format!("{base}/authentication"))
            .insert_header(("Authorization", "Basic c2FuZGJveDpzYW5kYm94LXNlY3JldA=="))
            .send_body("grant_type=client_credentials")
            .await
            .expect("token");
        let tok: Value = resp.json().await.unwrap();
        let auth = format!("Bearer {}", tok["access_token"].as_str().unwrap());
        let mut seq = 0usize;
        let mut health_rps = None;
        // Warm-up, not reported: opens the connections and wakes the server's threads.
        let warm = (0..n.min(5000))
            .map(|_| Req { method: "GET", path: "/health".into(), headers: vec![], body: None })
            .collect();
        drive(&client, &base, warm, a.concurrency, &[200]).await;
        println!("{:<12} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>11}", "scenario", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "ratio", "server cpu");
        for sc in &a.scenarios {
            let h = |extra: Vec<(&'static str, String)>| {
                let mut v = vec![("Authorization", auth.clone())];
                v.extend(extra);
                v
            };
            let (reqs, ok): (Vec<Req>, Vec<u16>) = match sc.as_str() {
                // The baseline runs three times as long as the others: at ~60,000 req/s a short
                // run is too noisy to divide by.
                "health" => ((0..3 * n).map(|_| Req { method: "GET", path: "/health".into(), headers: vec![], body: None }).collect(), vec![200]),
                "enroll" => (
                    (0..n)
                        .map(|_| {
                            seq += 1;
                            Req { method: "POST", path: "/programs/SANDBOX/enrollments".into(), headers: h(vec![("X-GD-RequestId", uuid())]), body: Some(enrollment(seq, None).to_string()) }
                        })
                        .collect(),
                    vec![200],
                ),
                "instant" => {
                    let prefix = format!("LD{seq}K");
                    let mut left = n;
                    while left > 0 {
                        let c = left.min(1000);
                        let (st, _) = call(&client, "POST", format!("{base}/sandbox/programs/SANDBOX/packages"), &auth,
                            Some(json!({"generate": {"count": c, "productCode": "GPR100", "prefix": format!("{prefix}{left}X")}}))).await;
                        assert_eq!(st, 201, "loading kits");
                        left -= c;
                    }
                    let mut kits = Vec::new();
                    let mut left = n;
                    while left > 0 {
                        let c = left.min(1000);
                        for i in 1..=c {
                            kits.push(format!("{prefix}{left}X{i:07}"));
                        }
                        left -= c;
                    }
                    (
                        kits.into_iter()
                            .map(|k| {
                                seq += 1;
                                Req { method: "POST", path: "/programs/SANDBOX/enrollments".into(), headers: h(vec![("X-GD-RequestId", uuid())]), body: Some(enrollment(seq, Some(k)).to_string()) }
                            })
                            .collect(),
                        vec![200],
                    )
                }
                "replay" => {
                    seq += 1;
                    let rid = uuid();
                    let body = enrollment(seq, None).to_string();
                    (
                        (0..n).map(|_| Req { method: "POST", path: "/programs/SANDBOX/enrollments".into(), headers: h(vec![("X-GD-RequestId", rid.clone())]), body: Some(body.clone()) }).collect(),
                        vec![200, 409],
                    )
                }
                "get_account" => {
                    let mut ids = Vec::new();
                    for _ in 0..100 {
                        seq += 1;
                        let (_, v) = call(&client, "POST", format!("{base}/programs/SANDBOX/enrollments"), &auth, Some(enrollment(seq, None))).await;
                        ids.push(v["account"]["accountIdentifier"].as_str().unwrap().to_string());
                    }
                    (
                        (0..n)
                            .map(|i| Req { method: "GET", path: format!("/programs/SANDBOX/accounts/{}", ids[i % ids.len()]), headers: h(vec![("X-GD-RequestId", uuid())]), body: None })
                            .collect(),
                        vec![200],
                    )
                }
                "attach" | "fetchwallet" => {
                    let plans = ["WUSD", "WUSDMCG", "WUSDMER", "WEUR", "WGBP"];
                    let cards = if sc == "attach" { n.div_ceil(plans.len()) } else { 100 };
                    let mut ids = Vec::new();
                    for _ in 0..cards {
                        seq += 1;
                        let (_, v) = call(&client, "POST", format!("{base}/programs/SANDBOX/enrollments"), &auth, Some(enrollment(seq, None))).await;
                        let id = v["account"]["accountHolders"][0]["paymentInstruments"][0]["paymentInstrumentIdentifier"].as_str();
                        ids.push(id.unwrap_or_else(|| panic!("setup enrollment failed: {v}")).to_string());
                    }
                    if sc == "attach" {
                        (
                            (0..n)
                                .map(|i| Req {
                                    method: "POST",
                                    path: "/deviceapi/apis/v1/services/cardholder/accounts".into(),
                                    headers: h(vec![]),
                                    body: Some(json!({"device": {"identifier": ids[i / plans.len()]}, "wallets": [{"planCode": plans[i % plans.len()]}]}).to_string()),
                                })
                                .collect(),
                            vec![201],
                        )
                    } else {
                        for id in &ids {
                            call(&client, "POST", format!("{base}/deviceapi/apis/v1/services/cardholder/accounts"), &auth,
                                Some(json!({"device": {"identifier": id}, "wallets": [{"planCode": "WUSD"}, {"planCode": "WEUR"}]}))).await;
                        }
                        (
                            (0..n)
                                .map(|i| Req {
                                    method: "POST",
                                    path: "/deviceapi/apis/v1/services/wallet/fetchwallet".into(),
                                    headers: h(vec![]),
                                    body: Some(json!({"device": {"identifier": ids[i % ids.len()]}}).to_string()),
                                })
                                .collect(),
                            vec![200],
                        )
                    }
                }
                other => {
                    eprintln!("unknown scenario {other}");
                    continue;
                }
            };
            let before = commit_stats(&client, &base).await;
            let cpu_before = common::cpu_seconds(pid);
            let o = drive(&client, &base, reqs, a.concurrency, &ok).await;
            let cpu = common::cpu_seconds(pid) - cpu_before;
            let after = commit_stats(&client, &base).await;
            let rps = o.rps();
            if sc == "health" {
                health_rps = Some(rps);
            }
            let ratio = health_rps.map(|h| format!("{:.0}%", 100.0 * rps / h)).unwrap_or_else(|| "-".into());
            // The server's CPU time per answered request: steadier than req/s on a noisy
            // machine, and the figure that bounds throughput once the cores are busy.
            let cpu_us = 1e6 * cpu / o.latencies_us.len().max(1) as f64;
            println!(
                "{:<12} {:>9} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>8.0} µs",
                sc,
                o.latencies_us.len(),
                rps,
                o.pct(0.50),
                o.pct(0.99),
                o.pct(1.0),
                ratio,
                cpu_us
            );
            let d: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
            if d[0] > 0.0 {
                println!(
                    "{:<12} committer: {:.0} batches, {:.1} requests and {:.0} keys per batch, apply {:.2} ms and flush {:.2} ms per batch",
                    "",
                    d[0],
                    d[1] / d[0],
                    d[2] / d[0],
                    1000.0 * d[3] / d[0],
                    1000.0 * d[4] / d[0]
                );
            }
        }
    });
    drop(server);
}
