//! Webhook endpoints and deliveries (contract section 8), against the real binary and a receiver
//! on loopback that checks every signature with its own implementation of the Standard Webhooks
//! specification (`tests/common/webhooks.rs`, not issuebox's signer).

mod common;

use common::baas::*;
use common::webhooks::{unix_now, verify, Behaviour, Receiver, Request};
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The shipped config with a fast loop, and the retry schedule, timeout and disabling given.
fn fast(schedule: &str, timeout_ms: u64, disable_after: u32) -> Vec<(&'static str, String)> {
    vec![
        (
            "retry_schedule = [\"5s\", \"5m\", \"30m\", \"2h\", \"5h\", \"10h\", \"10h\"]",
            format!("retry_schedule = {schedule}"),
        ),
        (
            "\ntimeout_ms = 5000",
            format!("\ntimeout_ms = {timeout_ms}"),
        ),
        (
            "disable_after_failures = 5",
            format!("disable_after_failures = {disable_after}"),
        ),
        (
            "dispatch_interval_ms = 200",
            "dispatch_interval_ms = 50".into(),
        ),
    ]
}

fn start(edits: &[(&'static str, String)]) -> Baas {
    let e: Vec<(&str, &str)> = edits.iter().map(|(a, b)| (*a, b.as_str())).collect();
    Baas::on(Server::start_with(&e))
}

fn create(b: &Baas, body: Value) -> Answer {
    b.sandbox("POST", "/webhooks", &body)
}

/// An endpoint for `url` and `types`; answers (id, secret).
fn endpoint(b: &Baas, url: &str, types: Value) -> (String, String) {
    let a = create(b, json!({"url": url, "eventTypes": types}));
    assert_eq!(a.status, 201, "{}", a.text);
    (
        a.body["id"].as_str().unwrap().to_string(),
        a.body["secret"].as_str().unwrap().to_string(),
    )
}

fn deliveries(b: &Baas, id: &str, query: &str) -> Vec<Value> {
    let a = b.get(&format!("/webhooks/{id}/deliveries{query}"));
    assert_eq!(a.status, 200, "{}", a.text);
    a.body["data"].as_array().unwrap().clone()
}

/// Waits until `f` holds of the endpoint's deliveries.
fn wait_deliveries(b: &Baas, id: &str, f: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let until = std::time::Instant::now() + WAIT;
    loop {
        let d = deliveries(b, id, "?limit=500");
        if f(&d) {
            return d;
        }
        assert!(std::time::Instant::now() < until, "deliveries: {d:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check_signed(r: &Request, secret: &str) {
    let now = unix_now();
    verify(secret, &r.headers, &r.body, now, 300).unwrap_or_else(|e| {
        panic!(
            "signature of {} does not verify: {e}",
            r.header("webhook-id").unwrap_or("?")
        )
    });
}

#[test]
fn every_event_is_delivered_signed_with_its_id_and_body() {
    let rx = Receiver::start(Behaviour::Ok);
    let b = start(&fast("[\"100ms\"]", 2000, 5));
    let (id, secret) = endpoint(&b, &format!("{}/all", rx.url()), json!(["*"]));
    let (cards_only, cards_secret) =
        endpoint(&b, &format!("{}/cards", rx.url()), json!(["card.issued"]));
    assert!(secret.starts_with("whsec_"));
    assert_row(&b.enroll(&body()), 200, 0, 0, None);
    // Four events for `*`, one for card.issued.
    let got = rx.wait_for(5, WAIT);
    let mut by_id: BTreeMap<String, Vec<&Request>> = BTreeMap::new();
    for r in &got {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("content-type"), Some("application/json"));
        by_id
            .entry(r.header("webhook-id").unwrap().to_string())
            .or_default()
            .push(r);
    }
    let events: Vec<Value> = b.get("/events").body["data"].as_array().unwrap().clone();
    assert_eq!(events.len(), 4);
    for e in &events {
        let eid = e["id"].as_str().unwrap();
        let rs = &by_id[eid];
        let want = if e["type"] == "card.issued" { 2 } else { 1 };
        assert_eq!(rs.len(), want, "{eid}");
        for r in rs {
            // The body is the event as GET /events/{id} shows it.
            assert_eq!(&r.json(), e);
            let ts: i64 = r.header("webhook-timestamp").unwrap().parse().unwrap();
            assert!((ts - unix_now()).abs() < 60);
            // Each endpoint's own secret signs its deliveries, and no other.
            let (mine, other) = match r.path.ends_with("/cards") {
                true => (&cards_secret, &secret),
                false => (&secret, &cards_secret),
            };
            check_signed(r, mine);
            assert!(verify(other, &r.headers, &r.body, unix_now(), 300).is_err());
        }
    }
    // A tampered body, or a stale timestamp, fails the receiver's check.
    let r = got.iter().find(|r| r.path.ends_with("/all")).unwrap();
    let mut tampered = r.body.clone();
    tampered[10] ^= 1;
    assert!(verify(&secret, &r.headers, &tampered, unix_now(), 300).is_err());
    assert!(verify(&secret, &r.headers, &r.body, unix_now() + 3600, 300).is_err());
    // Each delivery delivered with one attempt, status 200.
    let ds = wait_deliveries(&b, &id, |d| {
        d.len() == 4 && d.iter().all(|x| x["status"] == "delivered")
    });
    for d in &ds {
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{d}");
        assert_eq!(attempts[0]["status"], 200);
        assert_eq!(d["nextAttemptAt"], Value::Null);
    }
    let cards = wait_deliveries(&b, &cards_only, |d| {
        d.len() == 1 && d[0]["status"] == "delivered"
    });
    assert_eq!(
        cards[0]["eventSequence"],
        events.iter().find(|e| e["type"] == "card.issued").unwrap()["sequence"]
    );
}

#[test]
fn a_failing_receiver_sees_the_retries_on_the_schedule_then_the_delivery() {
    let rx = Receiver::start(Behaviour::FailFirst(2));
    let b = start(&fast("[\"300ms\", \"600ms\"]", 2000, 5));
    let (id, secret) = endpoint(&b, &rx.url(), json!(["kit.loaded"]));
    b.load_kit("KITWH1", "GPR100");
    let got = rx.wait_for(3, WAIT);
    assert_eq!(got.len(), 3);
    let same_id: BTreeSet<&str> = got
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(same_id.len(), 1, "one event, three attempts");
    for r in &got {
        check_signed(r, &secret);
    }
    // The delays between attempts follow the schedule (each at least its delay, jitter adds
    // up to 20%; the loop looks every 50 ms).
    let gap1 = got[1].at.duration_since(got[0].at);
    let gap2 = got[2].at.duration_since(got[1].at);
    assert!(gap1 >= Duration::from_millis(300), "{gap1:?}");
    assert!(gap2 >= Duration::from_millis(600), "{gap2:?}");
    let ds = wait_deliveries(&b, &id, |d| d.len() == 1 && d[0]["status"] == "delivered");
    let attempts = ds[0]["attempts"].as_array().unwrap();
    let statuses: Vec<&Value> = attempts.iter().map(|a| &a["status"]).collect();
    assert_eq!(statuses, [&json!(500), &json!(500), &json!(200)]);
    for a in attempts {
        assert!(a["latencyMs"].is_u64());
        assert!(a["at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(a["manual"], false);
    }
    // The receiver's answer is kept (first KiB).
    assert!(attempts[0]["response"].is_string());
    let webhook = b.get(&format!("/webhooks/{id}"));
    assert_eq!(webhook.body["consecutiveFailures"], 0);
    assert_eq!(webhook.body["status"], "enabled");
    assert!(webhook.body.get("secret").is_none(), "{}", webhook.text);
}

#[test]
fn a_receiver_that_never_answers_ends_failed_then_disabled_with_every_attempt_listed() {
    let rx = Receiver::start(Behaviour::Hang);
    let b = start(&fast("[\"100ms\", \"100ms\"]", 300, 2));
    let (id, _) = endpoint(&b, &rx.url(), json!(["kit.loaded"]));
    b.load_kit("KITWH2", "GPR100");
    b.load_kit("KITWH3", "GPR100");
    let ds = wait_deliveries(&b, &id, |d| {
        d.len() == 2 && d.iter().all(|x| x["status"] == "failed")
    });
    for d in &ds {
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 3, "{d}");
        for a in attempts {
            assert_eq!(a["status"], Value::Null);
            assert_eq!(a["error"], "timed out after 300 ms", "{a}");
            assert!(a["latencyMs"].as_u64().unwrap() >= 300);
        }
    }
    let w = b.get(&format!("/webhooks/{id}"));
    assert_eq!(w.body["status"], "disabled", "{}", w.text);
    assert_eq!(w.body["consecutiveFailures"], 2);
    // A disabled endpoint gets no new deliveries.
    b.load_kit("KITWH4", "GPR100");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(deliveries(&b, &id, "").len(), 2);
    assert_eq!(deliveries(&b, &id, "?status=failed").len(), 2);
    assert_eq!(deliveries(&b, &id, "?status=delivered").len(), 0);
    // Enabled again and answering: recover delivers both failed ones.
    rx.set_behaviour(Behaviour::Ok);
    let p = b.sandbox(
        "PATCH",
        &format!("/webhooks/{id}"),
        &json!({"status": "enabled"}),
    );
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["consecutiveFailures"], 0);
    let r = b.sandbox(
        "POST",
        &format!("/webhooks/{id}/recover"),
        &json!({"since": "2000-01-01T00:00:00Z"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["recovered"], 2);
    let ds = wait_deliveries(&b, &id, |d| d.iter().all(|x| x["status"] == "delivered"));
    assert_eq!(ds[0]["attempts"].as_array().unwrap().len(), 4);
    let bad = b.sandbox(
        "POST",
        &format!("/webhooks/{id}/recover"),
        &json!({"since": "yesterday"}),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["detail"], "since: must be an RFC 3339 time");
}

#[test]
fn retry_rotate_test_and_delete() {
    let rx = Receiver::start(Behaviour::Status(503));
    let b = start(&fast("[\"1h\"]", 2000, 5));
    let (id, old_secret) = endpoint(&b, &rx.url(), json!(["*"]));
    // A test event goes to this endpoint only, and is listed among the events.
    let (other, _) = endpoint(&b, &rx.url(), json!(["*"]));
    let t = b.sandbox("POST", &format!("/webhooks/{id}/test"), &json!({}));
    assert_eq!(t.status, 202, "{}", t.text);
    assert_eq!(t.body["type"], "webhook.test");
    let first = rx.wait_for(1, WAIT);
    assert_eq!(first[0].json()["type"], "webhook.test");
    assert_eq!(first[0].json()["data"]["webhookId"], json!(id));
    check_signed(&first[0], &old_secret);
    let ds = wait_deliveries(&b, &id, |d| {
        d.len() == 1 && d[0]["attempts"].as_array().unwrap().len() == 1
    });
    assert_eq!(ds[0]["status"], "pending", "next attempt in an hour");
    assert!(ds[0]["nextAttemptAt"].is_string());
    assert_eq!(deliveries(&b, &other, "").len(), 0);
    // Rotation: the new secret is shown once; both sign for now.
    let rot = b.sandbox("POST", &format!("/webhooks/{id}/rotate-secret"), &json!({}));
    assert_eq!(rot.status, 200, "{}", rot.text);
    let new_secret = rot.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, old_secret);
    // A manual retry now: 503 again, the delivery stays pending; then 200 delivers it.
    let dlv = ds[0]["id"].as_str().unwrap();
    let r1 = b.sandbox(
        "POST",
        &format!("/webhooks/{id}/deliveries/{dlv}/retry"),
        &json!({}),
    );
    assert_eq!(r1.status, 200, "{}", r1.text);
    assert_eq!(r1.body["status"], "pending");
    assert_eq!(r1.body["attempts"][1]["status"], 503);
    assert_eq!(r1.body["attempts"][1]["manual"], true);
    let second = rx.wait_for(2, WAIT);
    let sig = second[1].header("webhook-signature").unwrap();
    assert_eq!(sig.split(' ').count(), 2, "{sig}");
    check_signed(&second[1], &new_secret);
    check_signed(&second[1], &old_secret);
    rx.set_behaviour(Behaviour::Ok);
    let r2 = b.sandbox(
        "POST",
        &format!("/webhooks/{id}/deliveries/{dlv}/retry"),
        &json!({}),
    );
    assert_eq!(r2.body["status"], "delivered", "{}", r2.text);
    for bad in ["dlv_999", "nope"] {
        let a = b.sandbox(
            "POST",
            &format!("/webhooks/{id}/deliveries/{bad}/retry"),
            &json!({}),
        );
        assert_eq!(a.status, 404, "{}", a.text);
        assert_eq!(a.body["detail"], "no such delivery");
    }
    // Delete: pending deliveries of the other endpoint are cancelled.
    rx.set_behaviour(Behaviour::Status(500));
    b.load_kit("KITWH5", "GPR100");
    wait_deliveries(&b, &other, |d| {
        d.len() == 1 && !d[0]["attempts"].as_array().unwrap().is_empty()
    });
    let del = send(
        "DELETE",
        &b.s.url(&format!("/webhooks/{other}")),
        &[("Authorization", &b.auth)],
        None,
    );
    assert_eq!(del.status, 204, "{}", del.text);
    let gone = b.get(&format!("/webhooks/{other}"));
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["detail"], "no such webhook");
    let list = b.get("/webhooks");
    let ids: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    assert!(list.body["data"][0].get("secret").is_none());
}

#[test]
fn endpoints_are_checked_and_belong_to_their_client() {
    let b = start(&[(
        "[[clients]]\nid = \"branch\"",
        "[[clients]]\nid = \"ledger\"\nsecret = \"ledger-secret-0001\"\nprograms = [\"SANDBOX\"]\n\
         scopes = [\"events\"]\n\n[[clients]]\nid = \"branch\""
            .to_string(),
    )]);
    for (body, detail) in [
        (
            json!({"url": "http://example.com/hook", "eventTypes": ["*"]}),
            "url: ",
        ),
        (
            json!({"url": "ftp://127.0.0.1/hook", "eventTypes": ["*"]}),
            "url: ",
        ),
        (
            json!({"url": "http://127.0.0.1:9/hook", "eventTypes": []}),
            "eventTypes: ",
        ),
        (
            json!({"url": "http://127.0.0.1:9/hook", "eventTypes": ["card.eaten"]}),
            "eventTypes: ",
        ),
        (
            json!({"url": "http://127.0.0.1:9/hook", "eventTypes": ["*", "card.issued"]}),
            "eventTypes: ",
        ),
        (
            json!({"url": "http://127.0.0.1:9/hook", "eventTypes": ["*"], "programCodes": ["NOPE"]}),
            "programCodes: ",
        ),
        (
            json!({"url": "http://127.0.0.1:9/hook", "eventTypes": ["*"], "description": "x".repeat(257)}),
            "description: ",
        ),
    ] {
        let a = create(&b, body.clone());
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        assert_eq!(a.body["code"], "INVALID_REQUEST");
        assert!(
            a.body["detail"].as_str().unwrap().starts_with(detail),
            "{body}: {}",
            a.text
        );
    }
    let ledger = Api::as_client(&b.s, "ledger", "ledger-secret-0001");
    let theirs = ledger.call(
        "POST",
        "/webhooks",
        Some(&json!({"url": "http://127.0.0.1:9/hook", "eventTypes": ["*"], "programCodes": ["PARTNER2"]})),
    );
    assert_eq!(theirs.status, 401, "{}", theirs.text);
    let mine = ledger.call(
        "POST",
        "/webhooks",
        Some(&json!({"url": "http://localhost:9/hook", "eventTypes": ["*"]})),
    );
    assert_eq!(mine.status, 201, "{}", mine.text);
    assert_eq!(mine.body["programCodes"], json!(["SANDBOX"]));
    assert_eq!(mine.body["eventTypes"], json!(["*"]));
    assert_eq!(mine.body["status"], "enabled");
    let lid = mine.body["id"].as_str().unwrap();
    // The sandbox client sees nothing of ledger's endpoint.
    assert_eq!(b.get("/webhooks").body["data"], json!([]));
    for (method, path) in [
        ("GET", format!("/webhooks/{lid}")),
        ("PATCH", format!("/webhooks/{lid}")),
        ("DELETE", format!("/webhooks/{lid}")),
        ("POST", format!("/webhooks/{lid}/rotate-secret")),
        ("POST", format!("/webhooks/{lid}/test")),
        ("GET", format!("/webhooks/{lid}/deliveries")),
        ("POST", format!("/webhooks/{lid}/deliveries/dlv_1/retry")),
        ("POST", format!("/webhooks/{lid}/recover")),
    ] {
        let body = match path.ends_with("recover") {
            true => json!({"since": "2020-01-01T00:00:00Z"}),
            false => json!({}),
        };
        let a = b.sandbox(method, &path, &body);
        assert_eq!(a.status, 404, "{method} {path}: {}", a.text);
        assert_eq!(a.body["detail"], "no such webhook", "{method} {path}");
    }
    let p = ledger.call(
        "PATCH",
        &format!("/webhooks/{lid}"),
        Some(&json!({"status": "paused"})),
    );
    assert_eq!(p.status, 400);
    assert_eq!(p.body["detail"], "status: must be enabled or disabled");
    let q = ledger.call(
        "GET",
        &format!("/webhooks/{lid}/deliveries?status=lost"),
        None,
    );
    assert_eq!(q.status, 400);
    assert!(q.body["detail"].as_str().unwrap().starts_with("status: "));
    let branch = Api::as_client(&b.s, "branch", "branch-secret");
    assert_eq!(branch.call("GET", "/webhooks", None).status, 401);
}

/// Deliveries pending when the server is SIGKILLed are all delivered after the restart; no
/// delivery for a change that did not happen.
#[test]
fn deliveries_survive_a_sigkill() {
    let rx = Receiver::start(Behaviour::Status(500));
    let b = start(&fast("[\"200ms\", \"200ms\", \"200ms\", \"200ms\", \"200ms\", \"200ms\", \"200ms\", \"200ms\", \"200ms\", \"200ms\"]", 1000, 5));
    let (id, secret) = endpoint(&b, &rx.url(), json!(["*"]));
    for _ in 0..5 {
        assert_row(&b.enroll(&body()), 200, 0, 0, None);
    }
    let refused = b.enroll(&with(body(), "/userData/identifyingData/ssn", json!("12")));
    assert_eq!(refused.status, 400);
    rx.wait_for(3, WAIT);
    let Baas { s, auth } = b;
    let s = s.respawn();
    let b = Baas { s, auth };
    rx.set_behaviour(Behaviour::Ok);
    let events = b.get("/events?limit=500").body["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 20);
    let want: BTreeSet<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let ds = wait_deliveries(&b, &id, |d| {
        d.len() == 20 && d.iter().all(|x| x["status"] == "delivered")
    });
    let delivered: BTreeSet<String> = ds
        .iter()
        .map(|d| d["eventId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(delivered, want);
    // Every request the receiver got is of an event that happened, signed.
    let received: BTreeSet<String> = rx
        .requests()
        .iter()
        .map(|r| {
            check_signed(r, &secret);
            r.header("webhook-id").unwrap().to_string()
        })
        .collect();
    assert_eq!(received, want);
    let Baas { mut s, .. } = b;
    assert_eq!(s.stop(), 0);
    let (code, out) = s.verify();
    assert_eq!(code, 0, "{out}");
}
