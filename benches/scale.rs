//! Scale run (not in CI): fills a store with N enrolled customers (each with a card, a third with
//! three wallets) through the use cases in-process, then reports on-disk bytes per customer, the
//! server's start-up time on that store (to its first `/health` answer), its RSS, and lookup
//! latency by each key (identifier, number, card pack ID, alias) through the device dialect.
//!
//! ```text
//! cargo bench --bench scale -- [--customers 1000000] [--dir PATH] [--keep]
//! ```
//! `--dir` with an existing filled store skips the fill.

mod common;

use futures_util::StreamExt;
use issuebox::config::Config;
use issuebox::ops::attach_wallets::{attach_wallets, AttachRequest, WalletRequest};
use issuebox::ops::device_lookup::DeviceKeys;
use issuebox::ops::Ctx;
use issuebox::store::Reader;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let v: Vec<String> = std::env::args().collect();
    v.iter()
        .position(|a| a == name)
        .and_then(|i| v.get(i + 1).cloned())
}

/// Every tenth customer takes a pre-printed kit (so cards carry card pack IDs).
fn kit_of(i: u64) -> Option<String> {
    (i % 10 == 1).then(|| format!("SK{}X{:07}", i / 10_000, (i % 10_000) / 10 + 1))
}

fn body(i: u64) -> Vec<u8> {
    common::enrollment(i, "SC", kit_of(i))
        .to_string()
        .into_bytes()
}

fn fill(db: &std::path::Path, n: u64) {
    let ctx = Ctx::open(Config::parse(&common::config_text(db, "flush")).unwrap()).unwrap();
    let client = ctx.config.client("sandbox").unwrap().clone();
    let started = Instant::now();
    actix_rt::System::new().block_on(async {
        // Kits for every tenth customer, in batches of 1,000 mapping identifiers per prefix.
        for block in 0..n.div_ceil(10_000) {
            let req: issuebox::wire::sandbox::LoadKits = serde_json::from_value(json!({
                "generate": {"count": 1000, "productCode": "GPR100", "prefix": format!("SK{block}X")}
            }))
            .unwrap();
            issuebox::ops::kits::load(&ctx, &client, "SANDBOX", req).await.unwrap();
        }
        let ctx = &ctx;
        let client = &client;
        futures_util::stream::iter(0..n)
            .for_each_concurrent(256, |i| async move {
                let rid = uuid::Uuid::new_v4().to_string();
                let r = issuebox::ops::enroll::enroll(ctx, client, "SANDBOX", &rid, &body(i)).await.unwrap();
                if i % 3 == 0 {
                    let v: Value = serde_json::from_slice(&r.body).unwrap();
                    let id = v["account"]["accountHolders"][0]["paymentInstruments"][0]["paymentInstrumentIdentifier"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    let req = AttachRequest {
                        device: DeviceKeys { identifier: Some(id), ..Default::default() },
                        program_code: None,
                        device_plan_code: None,
                        wallets: ["WUSD", "WEUR", "WGBP"].iter().map(|p| WalletRequest::new(Some((*p).into()), None)).collect(),
                    };
                    attach_wallets(ctx, client, &req).await.unwrap();
                }
                if (i + 1) % 100_000 == 0 {
                    eprintln!("  {} customers, {:.0}/s", i + 1, (i + 1) as f64 / started.elapsed().as_secs_f64());
                }
            })
            .await;
    });
    println!(
        "filled {n} customers in {:.1} s ({:.0}/s)",
        started.elapsed().as_secs_f64(),
        n as f64 / started.elapsed().as_secs_f64()
    );
    // Close as the server does on a clean stop: drop the store, then checkpoint it.
    drop(ctx);
    let t = Instant::now();
    issuebox::store::Store::checkpoint(db).unwrap();
    println!("checkpoint at stop: {:.2} s", t.elapsed().as_secs_f64());
}

fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let n: u64 = arg("--customers")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = arg("--dir")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let db = dir.join("db");
    if !db.exists() {
        fill(&db, n);
    }
    let bytes = common::du(&db);
    println!(
        "on disk: {bytes} bytes, {:.0} bytes per customer",
        bytes as f64 / n as f64
    );

    // Start-up: process start to the first /health answer.
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, common::config_text(&db, "flush")).unwrap();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_issuebox"))
        .arg("--config")
        .arg(&cfg)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let l = lines.next().unwrap().unwrap();
        if let Some(a) = l.strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    while http(&addr, "GET", "/health", &[], "").0 != 200 {
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "start-up to first /health: {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let (_, tok) = http(
        &addr,
        "POST",
        "/authentication",
        &[
            ("Authorization", "Basic c2FuZGJveDpzYW5kYm94LXNlY3JldA=="),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "grant_type=client_credentials",
    );
    let tok: Value = serde_json::from_str(&tok).unwrap();
    let auth = format!("Bearer {}", tok["access_token"].as_str().unwrap());

    // Sample cards: in-process store reads for their keys (the server holds the store lock, so
    // the keys come from the API: a fetch by alias answers identifier and masked number).
    let samples = 300u64;
    let mut by_alias = Vec::new();
    let mut by_id = Vec::new();
    // One timed fetchwallet: its answer, and the milliseconds it took.
    let fetch = |device: Value| {
        let body = json!({ "device": device }).to_string();
        let t = Instant::now();
        let (st, b) = http(
            &addr,
            "POST",
            "/deviceapi/apis/v1/services/wallet/fetchwallet",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            &body,
        );
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(st, 200, "{b}");
        (serde_json::from_str::<Value>(&b).unwrap(), ms)
    };
    for k in 0..samples {
        let i = (k * 7_919_993) % n;
        let (v, ms) = fetch(json!({ "alias": format!("SC{i}") }));
        by_alias.push(ms);
        let id = v["device"]["identifier"].as_str().unwrap().to_string();
        by_id.push(fetch(json!({ "identifier": id })).1);
    }
    println!(
        "server RSS after start and {} lookups: {} MiB",
        samples * 2,
        common::rss_kib(child.id()) / 1024
    );
    println!(
        "fetchwallet by alias over HTTP:      p50 {:.3} ms  p99 {:.3} ms",
        pct(&mut by_alias, 0.5),
        pct(&mut by_alias, 0.99)
    );
    println!(
        "fetchwallet by identifier over HTTP: p50 {:.3} ms  p99 {:.3} ms",
        pct(&mut by_id, 0.5),
        pct(&mut by_id, 0.99)
    );
    let _ = Command::new("kill")
        .arg("-15")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();

    // In-process lookups by every key on the reopened store.
    let ctx = Ctx::open(Config::parse(&common::config_text(&db, "flush")).unwrap()).unwrap();
    let mut ids = Vec::new();
    for (k, d) in ctx
        .store
        .embedded()
        .expect("the embedded engine")
        .scan::<issuebox::domain::model::Card>(issuebox::store::embedded::TreeId::Cards)
        .step_by((n / 1000).max(1) as usize)
        .take(1000)
        .flatten()
    {
        ids.push((String::from_utf8(k).unwrap(), d));
    }
    let mut logical = 0;
    for (name, keys, bytes) in ctx.store.logical_sizes() {
        logical += bytes;
        println!(
            "  tree {name:20} {keys:9} keys {:8.0} bytes per customer",
            bytes as f64 / n as f64
        );
    }
    println!(
        "logical (keys + values): {:.0} bytes per customer; on disk {:.2}x that",
        logical as f64 / n as f64,
        bytes as f64 / logical as f64
    );
    let mut lat: [Vec<f64>; 5] = Default::default();
    for (id, d) in &ids {
        let t = Instant::now();
        ctx.store.card(id).unwrap().unwrap();
        lat[0].push(t.elapsed().as_secs_f64() * 1e6);
        let pan = ctx.vault.open(&d.pan).unwrap();
        let t = Instant::now();
        ctx.store
            .number_owner(&ctx.vault.pan_fingerprint(&pan))
            .unwrap()
            .unwrap();
        lat[1].push(t.elapsed().as_secs_f64() * 1e6);
        if let Some(a) = &d.alias {
            let t = Instant::now();
            ctx.store.alias_cards(a).unwrap();
            lat[2].push(t.elapsed().as_secs_f64() * 1e6);
        }
        let t = Instant::now();
        ctx.store.wallets_of(id).unwrap();
        lat[3].push(t.elapsed().as_secs_f64() * 1e6);
        if let Some(p) = &d.pack_id {
            let t = Instant::now();
            ctx.store.pack_owner(&d.program, p).unwrap().unwrap();
            lat[4].push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    for (name, v) in [
        "identifier",
        "number (HMAC, derived id)",
        "alias",
        "wallets of a card",
        "card pack ID",
    ]
    .iter()
    .zip(lat.iter_mut())
    {
        if !v.is_empty() {
            println!(
                "in-process lookup by {name:22} p50 {:7.1} us  p99 {:7.1} us",
                pct(v, 0.5),
                pct(v, 0.99)
            );
        }
    }
    if arg("--keep").is_some() || std::env::args().any(|a| a == "--keep") {
        println!("store kept at {}", db.display());
        std::mem::forget(tmp);
    }
}
