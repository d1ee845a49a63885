//! In-process criterion benches of the hot paths: request validation, codec, vault, one
//! enrollment through the use case (its transaction included), one wallet attach, lookups by
//! each key, and a raw sled multi-tree transaction as the storage ceiling.
//!
//! `cargo bench --bench hot_paths` (durability "os" inside the use cases, except
//! `enroll_use_case_flush`, which is the same enrollment answered only once on disk; compare
//! it with `raw_tx_6_trees_flush`, one raw transaction flushed and `fdatasync`ed after each).

mod common;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use issuebox::config::Config;
use issuebox::ops::attach_wallets::{attach_wallets, AttachRequest, WalletRequest};
use issuebox::ops::device_lookup::DeviceKeys;
use issuebox::ops::Ctx;
use issuebox::store::Reader;
use issuebox::wire::enrollment::EnrollmentRequest;
use issuebox::wire::enrollment_check::validate;
use std::sync::atomic::{AtomicU64, Ordering};

static SEQ: AtomicU64 = AtomicU64::new(0);

fn ctx(dir: &std::path::Path, durability: &str) -> Ctx {
    Ctx::open(Config::parse(&common::config_text(dir, durability)).unwrap()).unwrap()
}

fn body(i: u64) -> Vec<u8> {
    common::enrollment(i, "HOT", None).to_string().into_bytes()
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(&dir.path().join("db"), "os");
    let rt = actix_rt::Runtime::new().unwrap();
    let client = ctx.config.client("sandbox").unwrap().clone();
    let program = ctx.config.program("SANDBOX").unwrap().clone();

    let req: EnrollmentRequest = serde_json::from_slice(&body(1)).unwrap();
    c.bench_function("validate_enrollment", |b| {
        b.iter(|| validate(&req, |c| program.product_rules(c)).unwrap())
    });

    let sample = ctx.vault.seal("4000009912345678", 8);
    c.bench_function("codec_encode_decode", |b| {
        b.iter(|| {
            let bytes = issuebox::store::codec::encode(&sample);
            issuebox::store::codec::decode::<issuebox::vault::SealedPan>(&bytes).unwrap()
        })
    });
    c.bench_function("vault_generate_seal_fingerprint", |b| {
        b.iter(|| {
            let pan = issuebox::vault::generate_pan("40000099", 16);
            ctx.vault.seal(&pan, 8)
        })
    });

    // One new enrollment through the use case: its sequence number and answer.
    let enroll_one = |ctx: &Ctx| {
        let i = SEQ.fetch_add(1, Ordering::Relaxed);
        let rid = uuid::Uuid::new_v4().to_string();
        let r = rt
            .block_on(issuebox::ops::enroll::enroll(
                ctx,
                &client,
                "SANDBOX",
                &rid,
                &body(i),
            ))
            .unwrap();
        (i, r)
    };
    c.bench_function("enroll_use_case", |b| b.iter(|| enroll_one(&ctx)));
    {
        let flushed = self::ctx(&dir.path().join("db-flush"), "flush");
        c.bench_function("enroll_use_case_flush", |b| b.iter(|| enroll_one(&flushed)));
    }

    // Cards for attach and lookups.
    let mut cards = Vec::new();
    for _ in 0..200 {
        let (i, r) = enroll_one(&ctx);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let id = v["account"]["accountHolders"][0]["paymentInstruments"][0]
            ["paymentInstrumentIdentifier"]
            .as_str()
            .unwrap()
            .to_string();
        let alias = format!("HOT{i}");
        cards.push((id, alias));
    }
    let plans = ["WUSD", "WUSDMCG", "WUSDMER", "WEUR", "WGBP"];
    let attached = AtomicU64::new(0);
    c.bench_function("attach_one_wallet", |b| {
        b.iter_batched(
            || {
                let n = attached.fetch_add(1, Ordering::Relaxed) as usize;
                let card = &cards[(n / plans.len()) % cards.len()].0;
                AttachRequest {
                    device: DeviceKeys {
                        identifier: Some(card.clone()),
                        ..Default::default()
                    },
                    program_code: None,
                    device_plan_code: None,
                    wallets: vec![WalletRequest::new(
                        Some(plans[n % plans.len()].into()),
                        None,
                    )],
                }
            },
            |req| {
                // Past the first 1,000 (200 cards x 5 plans) every plan is taken: the transaction
                // still runs every rule and answers GPRW009.
                let _ = rt.block_on(attach_wallets(&ctx, &client, &req));
            },
            BatchSize::SmallInput,
        )
    });

    let (card_id, alias) = cards[7].clone();
    let device = ctx.store.card(&card_id).unwrap().unwrap();
    let fp = device.pan.fingerprint;
    c.bench_function("lookup_by_identifier", |b| {
        b.iter(|| ctx.store.card(&card_id).unwrap().unwrap())
    });
    c.bench_function("lookup_by_alias", |b| {
        b.iter(|| ctx.store.alias_cards(&alias).unwrap())
    });
    c.bench_function("lookup_by_number_fingerprint", |b| {
        b.iter(|| ctx.store.number_owner(&fp).unwrap().unwrap())
    });
    c.bench_function("lookup_by_number_with_hmac", |b| {
        let pan = ctx.vault.open(&device.pan).unwrap();
        b.iter(|| {
            ctx.store
                .number_owner(&ctx.vault.pan_fingerprint(&pan))
                .unwrap()
                .unwrap()
        })
    });

    // The storage ceiling: one transaction over six trees writing six keys (~1.5 KiB).
    let db = sled::Config::new()
        .path(dir.path().join("raw"))
        .flush_every_ms(None)
        .open()
        .unwrap();
    let trees: Vec<sled::Tree> = (0..6)
        .map(|i| db.open_tree(format!("t{i}")).unwrap())
        .collect();
    let value = vec![7u8; 256];
    let raw_tx = |n: u64| {
        use sled::Transactional;
        let t: &[sled::Tree] = &trees;
        t.transaction(|v| {
            for tree in v {
                tree.insert(&n.to_be_bytes(), value.clone())?;
            }
            Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
        })
        .unwrap();
    };
    c.bench_function("raw_tx_6_trees", |b| {
        b.iter(|| raw_tx(SEQ.fetch_add(1, Ordering::Relaxed)))
    });
    // Flushed as the store flushes: sled's flush, then fdatasync of its data file.
    let data_file = std::fs::File::open(dir.path().join("raw").join("db")).unwrap();
    c.bench_function("raw_tx_6_trees_flush", |b| {
        b.iter(|| {
            raw_tx(SEQ.fetch_add(1, Ordering::Relaxed));
            db.flush().unwrap();
            data_file.sync_data().unwrap();
        })
    });
}

criterion_group! {
    name = hot;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_millis(500));
    targets = benches
}
criterion_main!(hot);
