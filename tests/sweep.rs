//! Stored responses are swept after their retention, except those of enrollments still waiting
//! for an OFAC decision; a swept requestId is then evaluated afresh.

mod common;

use issuebox::config::Config;
use issuebox::domain::model::now;
use issuebox::ops::{enroll::enroll, startup::sweep_responses, Ctx};
use serde_json::json;

fn ctx(dir: &std::path::Path) -> Ctx {
    Ctx::open(Config::parse(&common::config_text(dir, &[])).unwrap()).unwrap()
}

fn body(first: &str, last: &str, ssn: &str) -> Vec<u8> {
    json!({
        "productCode": "GPR100",
        "userData": {
            "profileData": {"firstName": first, "lastName": last,
                "addresses": [{"type": "home", "isDefault": true, "addressLine1": "1 Main St", "city": "Pasadena", "state": "CA", "zipCode": "91101"}]},
            "identifyingData": {"dateOfBirth": "1990-01-31", "ssn": ssn},
            "email": {"emailAddress": "x@example.com"}
        }
    })
    .to_string()
    .into_bytes()
}

const CLEAN_RID: &str = "11111111-1111-4111-8111-111111111111";
const PENDING_RID: &str = "22222222-2222-4222-8222-222222222222";

#[actix_rt::test]
async fn sweeping_removes_settled_responses_and_keeps_pending_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(dir.path());
    let client = ctx.config.client("sandbox").unwrap().clone();
    let clean = body("Jane", "Doe", "111223333");
    let r = enroll(&ctx, &client, "SANDBOX", CLEAN_RID, &clean)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&r.body).contains("\"code\":0"));
    let pending = body("Gilberto", "Rodriguez Orejuela", "444556666");
    let p = enroll(&ctx, &client, "SANDBOX", PENDING_RID, &pending)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&p.body).contains("\"code\":1"));

    // Nothing is older than an hour ago.
    assert_eq!(sweep_responses(&ctx, now() - 3600).await.unwrap(), 0);
    // Everything is older than tomorrow: the settled one goes, the pending one stays.
    assert_eq!(sweep_responses(&ctx, now() + 86400).await.unwrap(), 1);
    let replay = enroll(&ctx, &client, "SANDBOX", PENDING_RID, &pending)
        .await
        .unwrap();
    assert!(replay.replayed);
    // The swept requestId is evaluated afresh: the SSN now holds an account of the product.
    let again = enroll(&ctx, &client, "SANDBOX", CLEAN_RID, &clean).await;
    assert_eq!(
        again.unwrap_err(),
        issuebox::domain::error::DomainError::SsnHoldsAccount
    );
    let report = ctx.store.verify().unwrap();
    assert!(report.is_clean(), "{report}");
}
