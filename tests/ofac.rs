//! OFAC screening in enrollments: exact names decline, close variants wait for review, clean
//! names pass; a review completes every pending enrollment exactly once, also across a crash and
//! under concurrent decisions.

mod common;
use common::baas::*;
use common::*;
use serde_json::json;

fn count(b: &Baas, entity: &str) -> u64 {
    b.s.entity_count(entity)
}

#[test]
fn an_exact_sdn_name_is_declined_and_creates_nothing() {
    let b = Baas::start();
    b.load_kit("KITX", "GPR100");
    let r = b.enroll(&instant(
        named(body(), "Gilberto", Some("Jose"), "Rodriguez Orejuela"),
        "KITX",
    ));
    assert_row(&r, 200, 2, 32, Some("OFAC Hard Decline"));
    assert!(r.body.get("account").is_none());
    assert_eq!(count(&b, "accounts"), 0);
    assert_eq!(count(&b, "users"), 0);
    assert_eq!(
        b.get("/sandbox/programs/SANDBOX/packages/KITX").body["status"],
        "available"
    );
}

#[test]
fn close_variants_wait_for_review_and_clean_names_pass() {
    let b = Baas::start();
    for (first, middle, last) in [
        ("Gilberto", None, "Rodriguez Orejuela"), // middle name missing
        ("Rodriguez Orejuela", None, "Gilberto Jose"), // first and last swapped
        ("Nicolas", None, "Maduro Morso"),        // two letters swapped
        ("Robert", Some("Gabriel"), "Mugabi"),    // one-letter typo
    ] {
        let r = b.enroll(&named(body(), first, middle, last));
        assert_row(&r, 200, 1, 31, Some("OFAC Partial Match"));
        let a = &r.body["account"];
        assert_eq!(a["status"], "pending", "{first} {last}");
        assert_eq!(a["statusReasons"], json!(["verificationNeeded"]));
        let h = &a["accountHolders"][0];
        assert_eq!(h["user"]["kycStateData"]["ofacStatus"], "pending");
        assert_eq!(h["user"]["kycStateData"]["kycPendingGate"], "manual");
        assert_eq!(h["paymentInstruments"], json!([]));
    }
    for (first, last) in [("Jane", "Doe"), ("Michael", "Miller"), ("Linda", "Taylor")] {
        assert_row(
            &b.enroll(&named(body(), first, None, last)),
            200,
            0,
            0,
            Some("Success"),
        );
    }
    assert_eq!(count(&b, "devices"), 3);
    let list = b.get("/sandbox/ofac/reviews");
    assert_eq!(list.status, 200);
    assert_eq!(list.body["reviews"].as_array().unwrap().len(), 4);
    let first = &list.body["reviews"][0];
    assert_eq!(first["state"], "pending");
    assert!(first["score"].as_f64().unwrap() >= 0.88 && first["score"].as_f64().unwrap() < 0.97);
    assert!(first["listVersion"].as_str().unwrap().starts_with("sdn-"));
}

#[test]
fn clearing_completes_the_pending_enrollment_once_and_replays_the_final_outcome() {
    let b = Baas::start();
    b.load_kit("KITP", "GPR100");
    let rid = uuid();
    let req = instant(
        named(body(), "Gilberto", None, "Rodriguez Orejuela"),
        "KITP",
    );
    let r = b.post("SANDBOX", &rid, &req);
    assert_row(&r, 200, 1, 31, None);
    assert_eq!(
        b.get("/sandbox/programs/SANDBOX/packages/KITP").body["status"],
        "reserved"
    );
    let acc = r.body["account"]["accountIdentifier"]
        .as_str()
        .unwrap()
        .to_string();
    // A pending account cannot be upgraded.
    assert_row(
        &b.enroll(&json!({"productCode": "DDA100", "upgradeFlag": true, "accountIdentifier": acc})),
        400,
        4503,
        0,
        Some("Account status is not healthy"),
    );
    let user = user_of(&r);
    let d = b.decide(&user, "clear");
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["state"], "cleared");
    let again = b.decide(&user, "decline");
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "CONFLICT");
    let g = b.get(&format!("/programs/SANDBOX/accounts/{acc}"));
    assert_eq!(g.body["account"]["status"], "normal");
    assert_eq!(g.body["account"]["statusReasons"], json!(["healthy"]));
    let cards = g.body["account"]["accountHolders"][0]["paymentInstruments"]
        .as_array()
        .unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!(
        g.body["account"]["accountHolders"][0]["user"]["kycStateData"]["ofacStatus"],
        "passed"
    );
    let kit = b.get("/sandbox/programs/SANDBOX/packages/KITP");
    assert_eq!(kit.body["status"], "assigned");
    assert_eq!(
        kit.body["deviceIdentifier"],
        cards[0]["paymentInstrumentIdentifier"]
    );
    let replay = b.post("SANDBOX", &rid, &req);
    assert_row(&replay, 200, 0, 0, Some("Success"));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["account"], g.body["account"]);
    let by_id = b.get(&format!("/programs/SANDBOX/enrollments/{rid}"));
    assert_eq!(by_id.text, replay.text);
    assert_eq!(b.get("/sandbox/ofac/reviews").body["reviews"], json!([]));
}

#[test]
fn declining_closes_the_account_and_frees_the_kit() {
    let b = Baas::start();
    b.load_kit("KITD", "GPR100");
    let rid = uuid();
    let req = instant(named(body(), "Nicolas", None, "Maduro Morso"), "KITD");
    let r = b.post("SANDBOX", &rid, &req);
    assert_row(&r, 200, 1, 31, None);
    let user = user_of(&r);
    let d = b.decide(&user, "decline");
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["state"], "declined");
    assert_eq!(b.decide(&user, "clear").status, 409);
    let acc = r.body["account"]["accountIdentifier"].as_str().unwrap();
    let g = b.get(&format!("/programs/SANDBOX/accounts/{acc}"));
    assert_eq!(g.body["account"]["status"], "closed");
    assert_eq!(g.body["account"]["statusReasons"], json!(["ofacDeclined"]));
    assert_eq!(
        b.get("/sandbox/programs/SANDBOX/packages/KITD").body["status"],
        "available"
    );
    assert_row(
        &b.post("SANDBOX", &rid, &req),
        200,
        2,
        32,
        Some("OFAC Hard Decline"),
    );
    assert_eq!(count(&b, "devices"), 0);
    // Unknown review, bad decision.
    assert_eq!(b.decide("AAAAAAAAAAAAAAAAAAAAAA", "clear").status, 404);
    assert_eq!(b.decide(&user, "maybe").status, 400);
}

#[test]
fn five_concurrent_clears_complete_once() {
    let b = Baas::start();
    let r = b.enroll(&named(body(), "Gilberto", None, "Rodriguez Orejuela"));
    assert_row(&r, 200, 1, 31, None);
    let user = user_of(&r);
    let answers: Vec<Answer> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..5)
            .map(|_| sc.spawn(|| b.decide(&user, "clear")))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        answers.iter().filter(|a| a.status == 200).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|a| a.status == 409).count(),
        4,
        "{answers:?}"
    );
    assert_eq!(count(&b, "accounts"), 1);
    assert_eq!(count(&b, "devices"), 1);
}

#[test]
fn a_clearance_interrupted_by_a_crash_is_finished_at_start_up() {
    // The crash hook exists only in debug builds of the server (it is compiled out of release
    // builds, see `ofac_review::CRASH_AFTER_DECISION_ENV`), and the server binary is built with
    // this test binary's profile: under `cargo test --release` there is no way to crash it here.
    if !cfg!(debug_assertions) {
        eprintln!(
            "SKIPPED a_clearance_interrupted_by_a_crash_is_finished_at_start_up: the crash hook \
             ISSUEBOX_TEST_CRASH_AFTER_OFAC_DECISION is compiled out of release builds; run this \
             test without --release"
        );
        return;
    }
    let s = Server::start_env(&[], &[("ISSUEBOX_TEST_CRASH_AFTER_OFAC_DECISION", "1")]);
    let b = Baas::on(s);
    b.load_kit("KITC", "GPR100");
    let r = b.enroll(&instant(
        named(body(), "Gilberto", None, "Rodriguez Orejuela"),
        "KITC",
    ));
    assert_row(&r, 200, 1, 31, None);
    let acc = r.body["account"]["accountIdentifier"]
        .as_str()
        .unwrap()
        .to_string();
    let user = user_of(&r);
    let crashed = try_send(
        "POST",
        &b.s.url(&format!("/sandbox/ofac/reviews/{user}")),
        &[("Authorization", &b.auth)],
        Some(r#"{"decision":"clear"}"#),
    );
    assert!(
        crashed.is_err(),
        "the server should have aborted: {crashed:?}"
    );
    let Baas { s, auth } = b;
    let s = s.respawn();
    assert!(
        s.log()
            .contains("completed an OFAC clearance interrupted by a restart"),
        "{}",
        s.log()
    );
    let b = Baas { s, auth };
    let g = b.get(&format!("/programs/SANDBOX/accounts/{acc}"));
    assert_eq!(g.body["account"]["status"], "normal", "{}", g.text);
    assert_eq!(
        g.body["account"]["accountHolders"][0]["paymentInstruments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(count(&b, "devices"), 1);
    assert_eq!(
        b.get("/sandbox/programs/SANDBOX/packages/KITC").body["status"],
        "assigned"
    );
    assert_eq!(b.decide(&user, "clear").status, 409);
    // The completion at start-up wrote its events once: the decision, then the account settled,
    // the kit's card issued, the kit assigned and the enrollment completed.
    let history = b.get(&format!("/events?subject={acc}&limit=500"));
    let kinds: Vec<&str> = history.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "account.created",
            "kit.reserved",
            "enrollment.pending_review",
            "account.status_changed",
            "card.issued",
            "kit.assigned",
            "enrollment.completed"
        ],
        "{}",
        history.text
    );
    let decided = b.get(&format!("/events?type=ofac.review_decided&subject={user}"));
    assert_eq!(decided.body["data"].as_array().unwrap().len(), 1);
}

#[test]
fn screen_explains_a_score() {
    let b = Baas::start();
    let r = b.sandbox(
        "POST",
        "/sandbox/ofac/screen",
        &json!({"name": "Gilberto Jose Rodriguez Orejuela"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["score"], 1.0);
    assert_eq!(r.body["outcome"], "decline");
    assert_eq!(r.body["matched"]["entNum"], 4107);
    assert_eq!(
        r.body["matched"]["sdnName"],
        "RODRIGUEZ OREJUELA, Gilberto Jose"
    );
    let r = b.sandbox("POST", "/sandbox/ofac/screen", &json!({"name": "Jane Doe"}));
    assert_eq!(r.body["outcome"], "clear");
    assert!(r.body["score"].as_f64().unwrap() < 0.88);
    assert_eq!(
        b.sandbox("POST", "/sandbox/ofac/screen", &json!({"name": ""}))
            .status,
        400
    );
}
