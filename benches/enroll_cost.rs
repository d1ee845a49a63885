//! Enrollments in-process, a fixed number of them, so that their cost can be counted in
//! instructions: a count that host noise does not move, unlike requests per second on a shared
//! VM. `python3 benches/enroll_cost.py` runs it under callgrind at 600 and at 1,800 enrollments
//! and prints the difference per enrollment (start-up, opening the store and loading the SDN
//! list, cancels out) for each group of threads: the main thread runs the requests (HTTP
//! excluded), the journal and applier threads journal batches and write them into sled, and
//! sled's IO threads write its log. Run natively it prints the elapsed time.
//!
//! `--concurrency C` enrollments are in flight at once (16 by default), so batches form as they
//! do under load; `--durability os|flush` (flush by default, as shipped).

mod common;

/// The server's allocator, so that allocation counts as it does there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use issuebox::config::Config;
use issuebox::ops::Ctx;
use std::cell::Cell;

fn arg(name: &str, default: &str) -> String {
    let v: Vec<String> = std::env::args().collect();
    v.iter()
        .position(|a| a == name)
        .and_then(|i| v.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn main() {
    let n: u64 = arg("--enrollments", "1000")
        .parse()
        .expect("--enrollments N");
    let concurrency: usize = arg("--concurrency", "16").parse().expect("--concurrency C");
    let durability = arg("--durability", "flush");
    let dir = tempfile::tempdir().unwrap();
    let text = common::config_text(&dir.path().join("db"), &durability);
    let ctx = Ctx::open(Config::parse(&text).unwrap()).unwrap();
    let client = ctx.config.client("sandbox").unwrap().clone();
    let next = Cell::new(0u64);
    let ok = Cell::new(0u64);
    let started = std::time::Instant::now();
    actix_rt::Runtime::new().unwrap().block_on(async {
        let one = || async {
            loop {
                let i = next.get();
                if i >= n {
                    break;
                }
                next.set(i + 1);
                let body = common::enrollment(i, "COST", None).to_string();
                let rid = uuid::Uuid::new_v4().to_string();
                // Every answer (a business outcome, whatever its code) is HTTP 200.
                issuebox::ops::enroll::enroll(&ctx, &client, "SANDBOX", &rid, body.as_bytes())
                    .await
                    .expect("enrollment");
                ok.set(ok.get() + 1);
            }
        };
        futures_util::future::join_all((0..concurrency).map(|_| one())).await;
    });
    assert_eq!(ok.get(), n, "every enrollment answered 200");
    println!(
        "{n} enrollments, {concurrency} in flight, durability {durability}: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    drop(ctx);
}
