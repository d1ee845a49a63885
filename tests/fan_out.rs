//! The fan-out of events to webhook deliveries (`ops::deliveries::fan_out`), called directly:
//! events no enabled endpoint wants are passed by (the cursor moves past them, nothing is
//! made), an endpoint gets the events after its creation, and none while it is disabled. On
//! the engine the suite runs on (`ISSUEBOX_TEST_ENGINE`).

mod common;

use common::*;
use issuebox::config::Config;
use issuebox::ops::deliveries::fan_out;
use issuebox::ops::{enroll::enroll, webhooks, Ctx};
use issuebox::store::Reader;
use issuebox::wire::webhooks::{NewWebhook, WebhookPatch};
use serde_json::json;

fn ctx(dir: &std::path::Path) -> Ctx {
    let mut edits: Vec<(&str, String)> = Vec::new();
    if on_postgres() {
        let url = postgres::fresh_database()
            .expect("ISSUEBOX_TEST_ENGINE=postgres needs PostgreSQL's server binaries");
        edits.push(postgres_engine_edit(&url));
    }
    let edits: Vec<(&str, &str)> = edits.iter().map(|(a, b)| (*a, b.as_str())).collect();
    Ctx::open(Config::parse(&config_text(dir, &edits)).unwrap()).unwrap()
}

fn body(ssn: &str) -> Vec<u8> {
    json!({
        "productCode": "GPR100",
        "userData": {
            "profileData": {"firstName": "Jane", "lastName": "Doe",
                "addresses": [{"type": "home", "isDefault": true, "addressLine1": "1 Main St", "city": "Pasadena", "state": "CA", "zipCode": "91101"}]},
            "identifyingData": {"dateOfBirth": "1990-01-31", "ssn": ssn},
            "email": {"emailAddress": "x@example.com"}
        }
    })
    .to_string()
    .into_bytes()
}

/// Enrolls one customer; answers the store's last event sequence after it.
async fn enroll_one(ctx: &Ctx, rid: &str, ssn: &str) -> u64 {
    let client = ctx.config.client("sandbox").unwrap().clone();
    let r = enroll(ctx, &client, "SANDBOX", rid, &body(ssn))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&r.body).contains("\"code\":0"));
    ctx.store.number_events().unwrap();
    ctx.store.last_event_sequence().unwrap()
}

#[actix_rt::test]
async fn events_no_enabled_endpoint_wants_are_passed_by_and_an_endpoint_gets_those_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(dir.path());
    let client = ctx.config.client("sandbox").unwrap().clone();

    // No endpoint: every event is passed by in one fan-out, and nothing is made.
    let first = enroll_one(&ctx, "11111111-1111-4111-8111-111111111111", "111223333").await;
    assert!(first >= 3, "an enrollment writes several events ({first})");
    let out = fan_out(&ctx, 60_000).await.unwrap();
    assert_eq!(out.events as u64, first);
    assert!(out.ready.is_empty());
    assert_eq!(ctx.store.fanout_cursor().unwrap(), first);
    assert_eq!(fan_out(&ctx, 60_000).await.unwrap().events, 0);

    // An endpoint gets a delivery of each event after its creation, and of none before.
    let (hook, _secret) = webhooks::create(
        &ctx,
        &client,
        &NewWebhook {
            url: "http://127.0.0.1:9/hook".into(),
            event_types: vec!["*".into()],
            program_codes: None,
            description: None,
        },
    )
    .await
    .unwrap();
    let second = enroll_one(&ctx, "22222222-2222-4222-8222-222222222222", "222334444").await;
    let out = fan_out(&ctx, 60_000).await.unwrap();
    let sequences: Vec<u64> = out.ready.iter().map(|r| r.sequence).collect();
    assert_eq!(sequences, (first + 1..=second).collect::<Vec<_>>());
    assert!(out.ready.iter().all(|r| r.webhook_id == hook.id));
    assert_eq!(ctx.store.fanout_cursor().unwrap(), second);

    // Disabled, it gets none of the events made meanwhile, and they are passed by.
    let patch = WebhookPatch {
        url: None,
        event_types: None,
        status: Some("disabled".into()),
        description: None,
    };
    webhooks::patch(&ctx, &client, &hook.id, &patch)
        .await
        .unwrap();
    let third = enroll_one(&ctx, "33333333-3333-4333-8333-333333333333", "333445555").await;
    let out = fan_out(&ctx, 60_000).await.unwrap();
    assert_eq!(out.events as u64, third - second);
    assert!(out.ready.is_empty());
    assert_eq!(ctx.store.fanout_cursor().unwrap(), third);
}
