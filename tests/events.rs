//! Events (contract section 8): every change of state is one event or more, written in the same
//! atomic write as the change; refused, faulted and replayed requests write none; `sequence` is
//! gap-free; `GET /events` pages, filters and refuses bad parameters by name; `GET /events/{id}`.

mod common;

use common::baas::*;
use common::*;
use serde_json::{json, Value};

/// Every event of the store, read page by page as the `sandbox` client.
fn all_events(b: &Baas) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = "0".to_string();
    loop {
        let a = b.get(&format!("/events?after={after}&limit=7"));
        assert_eq!(a.status, 200, "{}", a.text);
        let page = a.body["data"].as_array().unwrap().clone();
        assert!(page.len() <= 7);
        out.extend(page);
        after = a.body["next"].as_str().unwrap().to_string();
        if !a.body["hasMore"].as_bool().unwrap() {
            return out;
        }
    }
}

fn types_since(b: &Baas, after: u64) -> Vec<String> {
    let a = b.get(&format!("/events?after={after}&limit=500"));
    assert_eq!(a.status, 200, "{}", a.text);
    a.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

fn last_sequence(b: &Baas) -> u64 {
    all_events(b)
        .last()
        .map(|e| e["sequence"].as_u64().unwrap())
        .unwrap_or(0)
}

fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

/// (type, the subjects that are set) of each event.
fn shape(events: &[Value]) -> Vec<(String, Vec<(String, String)>)> {
    events
        .iter()
        .map(|e| {
            let subjects = e["subjects"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), str_of(v)))
                .collect();
            (str_of(&e["type"]), subjects)
        })
        .collect()
}

fn subjects(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn a_scripted_scenario_writes_exactly_the_expected_events() {
    let b = Baas::start();
    let api = Api::new(&b.s);
    // A kit load: one kit.loaded with the count.
    b.load_kit("KITEV1", "GPR100");
    // A new enrollment.
    let rid = uuid();
    let first = b.post("SANDBOX", &rid, &body());
    assert_row(&first, 200, 0, 0, Some("Success"));
    let user1 = user_of(&first);
    let acc1 = str_of(&first.body["account"]["accountIdentifier"]);
    let card1 = str_of(
        &first.body["account"]["accountHolders"][0]["paymentInstruments"][0]
            ["paymentInstrumentIdentifier"],
    );
    // Instant issue of the kit.
    let second = b.enroll(&instant(body(), "KITEV1"));
    assert_row(&second, 200, 0, 0, Some("Success"));
    let user2 = user_of(&second);
    let acc2 = str_of(&second.body["account"]["accountIdentifier"]);
    let card2 = str_of(
        &second.body["account"]["accountHolders"][0]["paymentInstruments"][0]
            ["paymentInstrumentIdentifier"],
    );
    // An OFAC partial match, then its clearance.
    let rid3 = uuid();
    let third = b.post(
        "SANDBOX",
        &rid3,
        &named(body(), "Gilberto", None, "Rodriguez Orejuela"),
    );
    assert_row(&third, 200, 1, 31, Some("OFAC Partial Match"));
    let user3 = user_of(&third);
    let acc3 = str_of(&third.body["account"]["accountIdentifier"]);
    assert_eq!(b.decide(&user3, "clear").status, 200);
    let settled = b.post(
        "SANDBOX",
        &rid3,
        &named(body(), "Gilberto", None, "Rodriguez Orejuela"),
    );
    let card3 = str_of(
        &b.get(&format!("/programs/SANDBOX/accounts/{acc3}")).body["account"]["accountHolders"][0]
            ["paymentInstruments"][0]["paymentInstrumentIdentifier"],
    );
    assert_ne!(settled.status, 500);
    // Two wallets on the first card.
    let attached = api.attach(json!({
        "device": {"identifier": card1},
        "wallets": [{"planCode": "WUSD"}, {"planCode": "WEUR"}]
    }));
    assert_eq!(attached.status, 201, "{}", attached.text);
    let w1 = str_of(&attached.body["wallets"][0]["walletIdentifier"]);
    let w2 = str_of(&attached.body["wallets"][1]["walletIdentifier"]);
    // The first card replaced, the new one blocked; a wallet closed.
    let replaced = api.call("POST", &format!("/sandbox/devices/{card1}/replace"), None);
    assert_eq!(replaced.status, 201, "{}", replaced.text);
    let card1b = str_of(&replaced.body["identifier"]);
    assert_eq!(api.set_card_status(&card1b, "BLOCKED").status, 200);
    assert_eq!(api.set_wallet_status(&w2, "CLOSED").status, 200);
    // The first account upgraded to DDA.
    let up = b.enroll(&upgrade_body(&acc1, "DDA100"));
    assert_row(&up, 200, 0, 0, Some("Success"));
    // Declines: under age, and an exact SDN name.
    let young = b.enroll(&with(
        body(),
        "/userData/identifyingData/dateOfBirth",
        json!("2015-01-01"),
    ));
    assert_row(&young, 200, 2, 40, None);
    let sdn = b.enroll(&named(body(), "Nicolas", None, "Maduro Moros"));
    assert_row(&sdn, 200, 2, 32, None);

    let events = all_events(&b);
    let expected: Vec<(String, Vec<(String, String)>)> = vec![
        ("kit.loaded", subjects(&[])),
        ("user.created", subjects(&[("userIdentifier", &user1)])),
        (
            "account.created",
            subjects(&[("userIdentifier", &user1), ("accountIdentifier", &acc1)]),
        ),
        (
            "card.issued",
            subjects(&[
                ("userIdentifier", &user1),
                ("accountIdentifier", &acc1),
                ("deviceIdentifier", &card1),
            ]),
        ),
        (
            "enrollment.completed",
            subjects(&[("userIdentifier", &user1), ("accountIdentifier", &acc1)]),
        ),
        ("user.created", subjects(&[("userIdentifier", &user2)])),
        (
            "account.created",
            subjects(&[("userIdentifier", &user2), ("accountIdentifier", &acc2)]),
        ),
        (
            "card.issued",
            subjects(&[
                ("userIdentifier", &user2),
                ("accountIdentifier", &acc2),
                ("deviceIdentifier", &card2),
            ]),
        ),
        (
            "kit.assigned",
            subjects(&[
                ("accountIdentifier", &acc2),
                ("deviceIdentifier", &card2),
                ("mappingIdentifier", "KITEV1"),
            ]),
        ),
        (
            "enrollment.completed",
            subjects(&[
                ("userIdentifier", &user2),
                ("accountIdentifier", &acc2),
                ("mappingIdentifier", "KITEV1"),
            ]),
        ),
        ("user.created", subjects(&[("userIdentifier", &user3)])),
        (
            "account.created",
            subjects(&[("userIdentifier", &user3), ("accountIdentifier", &acc3)]),
        ),
        (
            "ofac.review_opened",
            subjects(&[("userIdentifier", &user3)]),
        ),
        (
            "enrollment.pending_review",
            subjects(&[("userIdentifier", &user3), ("accountIdentifier", &acc3)]),
        ),
        (
            "ofac.review_decided",
            subjects(&[("userIdentifier", &user3)]),
        ),
        (
            "account.status_changed",
            subjects(&[("userIdentifier", &user3), ("accountIdentifier", &acc3)]),
        ),
        (
            "card.issued",
            subjects(&[
                ("userIdentifier", &user3),
                ("accountIdentifier", &acc3),
                ("deviceIdentifier", &card3),
            ]),
        ),
        (
            "enrollment.completed",
            subjects(&[("userIdentifier", &user3), ("accountIdentifier", &acc3)]),
        ),
        (
            "wallet.created",
            subjects(&[
                ("accountIdentifier", &acc1),
                ("deviceIdentifier", &card1),
                ("walletIdentifier", &w1),
            ]),
        ),
        (
            "wallet.created",
            subjects(&[
                ("accountIdentifier", &acc1),
                ("deviceIdentifier", &card1),
                ("walletIdentifier", &w2),
            ]),
        ),
        (
            "card.replaced",
            subjects(&[
                ("userIdentifier", &user1),
                ("accountIdentifier", &acc1),
                ("deviceIdentifier", &card1),
            ]),
        ),
        (
            "card.issued",
            subjects(&[
                ("userIdentifier", &user1),
                ("accountIdentifier", &acc1),
                ("deviceIdentifier", &card1b),
            ]),
        ),
        (
            "card.status_changed",
            subjects(&[
                ("userIdentifier", &user1),
                ("accountIdentifier", &acc1),
                ("deviceIdentifier", &card1b),
            ]),
        ),
        (
            "wallet.status_changed",
            subjects(&[
                ("accountIdentifier", &acc1),
                ("deviceIdentifier", &card1b),
                ("walletIdentifier", &w2),
            ]),
        ),
        (
            "account.upgraded",
            subjects(&[("userIdentifier", &user1), ("accountIdentifier", &acc1)]),
        ),
        ("enrollment.declined", subjects(&[])),
        ("enrollment.declined", subjects(&[])),
    ]
    .into_iter()
    .map(|(t, s)| (t.to_string(), s))
    .collect();
    let mut got = shape(&events);
    for (_, s) in got.iter_mut() {
        s.sort();
    }
    assert_eq!(got, expected);

    // Sequences 1..=n, ids unique and found by id, the same event both ways.
    let mut ids = std::collections::HashSet::new();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["sequence"], json!(i as u64 + 1), "{e}");
        assert_eq!(e["programCode"], "SANDBOX");
        let id = str_of(&e["id"]);
        assert!(ids.insert(id.clone()), "{id} twice");
        let one = b.get(&format!("/events/{id}"));
        assert_eq!(one.status, 200, "{}", one.text);
        assert_eq!(&one.body, e);
    }
    // Data is the entity as its dialect shows it; request ids are the requests'.
    assert_eq!(events[4]["requestId"], json!(rid));
    assert_eq!(events[4]["data"]["responseDetails"][0]["code"], 0);
    assert_eq!(
        events[4]["data"]["account"]["accountIdentifier"],
        json!(acc1)
    );
    assert_eq!(events[3]["data"]["identifier"], json!(card1));
    assert!(events[3]["data"]["maskedNumber"]
        .as_str()
        .unwrap()
        .contains('*'));
    assert_eq!(events[0]["data"]["count"], 1);
    assert_eq!(events[0]["requestId"], Value::Null);
    // The completion after the review carries the enrollment's request id.
    assert_eq!(events[17]["requestId"], json!(rid3));
    assert_eq!(events[22]["data"]["status"], "BLOCKED");
    assert_eq!(events[24]["data"]["productCode"], "DDA100");
    assert_eq!(events[24]["data"]["accountType"], "dda");
    for e in &events {
        no_full_pan(&e.to_string());
    }

    // The history of one account, and filters by type and program.
    let history = b.get(&format!("/events?subject={acc1}"));
    let kinds: Vec<String> = history.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| str_of(&e["type"]))
        .collect();
    assert_eq!(
        kinds,
        [
            "account.created",
            "card.issued",
            "enrollment.completed",
            "wallet.created",
            "wallet.created",
            "card.replaced",
            "card.issued",
            "card.status_changed",
            "wallet.status_changed",
            "account.upgraded"
        ]
    );
    let kit_history = b.get("/events?subject=KITEV1");
    // kit.loaded names no kit (one event per load); kit.assigned and the enrollment name it.
    assert_eq!(kit_history.body["data"].as_array().unwrap().len(), 2);
    let cards = b.get("/events?type=card.issued,card.replaced&programCode=SANDBOX");
    assert_eq!(cards.status, 200, "{}", cards.text);
    assert_eq!(cards.body["data"].as_array().unwrap().len(), 5);
    let other = b.get("/events?programCode=PARTNER2");
    assert_eq!(other.body["data"], json!([]));
    assert_eq!(other.body["hasMore"], false);
}

#[test]
fn refused_faulted_and_replayed_requests_write_no_event() {
    let b = Baas::start();
    let api = Api::new(&b.s);
    let rid = uuid();
    let body1 = body();
    assert_row(&b.post("SANDBOX", &rid, &body1), 200, 0, 0, None);
    let before = last_sequence(&b);
    assert_eq!(before, 4);
    // A replay, a refusal, an unknown kit, a faulted wallet attach and instant issue.
    let replay = b.post("SANDBOX", &rid, &body1);
    assert_eq!(replay.status, 200);
    let refused = b.enroll(&with(
        body(),
        "/userData/profileData/addresses/0/zipCode",
        json!("1"),
    ));
    assert_eq!(refused.status, 400, "{}", refused.text);
    let no_kit = b.enroll(&instant(body(), "NOSUCHKIT"));
    assert_row(&no_kit, 400, 5020, 5022, None);
    let card = api.new_card(json!({}));
    let after_card = last_sequence(&b);
    assert_eq!(after_card, before + 1, "card.issued");
    api.set_faults(json!({"walletCreate": true, "packageLookup": true}));
    let faulted = api.attach(json!({
        "device": {"identifier": card["identifier"]},
        "wallets": [{"planCode": "WUSD"}]
    }));
    assert_eq!(faulted.status, 400, "{}", faulted.text);
    b.load_kit("KITF", "GPR100");
    let after_kit = last_sequence(&b);
    assert_row(&b.enroll(&instant(body(), "KITF")), 400, 5020, 5021, None);
    api.set_faults(json!({}));
    // A status set to what it is already changes nothing.
    let same = api.set_card_status(card["identifier"].as_str().unwrap(), "NORMAL");
    assert_eq!(same.status, 200);
    assert_eq!(last_sequence(&b), after_kit);
    assert_eq!(after_kit, after_card + 1, "kit.loaded only");
    assert_eq!(types_since(&b, after_card), ["kit.loaded"]);
}

#[test]
fn bad_parameters_are_refused_by_name() {
    let b = Baas::start();
    for (query, param) in [
        ("after=-1", "after"),
        ("after=x", "after"),
        ("after=9223372036854775808", "after"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("type=card.eaten", "type"),
        ("type=card.issued,", "type"),
        ("programCode=NOPE", "programCode"),
        ("subject=", "subject"),
        (&format!("subject={}", "x".repeat(65)), "subject"),
        ("after=1&after=2", "after"),
        ("colour=blue", "colour"),
    ] {
        let a = b.get(&format!("/events?{query}"));
        assert_eq!(a.status, 400, "{query}: {}", a.text);
        assert_eq!(
            a.header("content-type"),
            Some("application/problem+json"),
            "{query}"
        );
        assert_eq!(a.body["code"], "INVALID_REQUEST", "{query}");
        assert_eq!(a.body["status"], 400, "{query}");
        let detail = a.body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(&format!("{param}: ")),
            "{query}: {detail}"
        );
    }
    for id in [
        "evt_x_999",
        "nope",
        "evt__1",
        "evt_abc_99999999999999999999999",
    ] {
        let a = b.get(&format!("/events/{id}"));
        assert_eq!(a.status, 404, "{id}: {}", a.text);
        assert_eq!(a.body["code"], "NOT_FOUND");
        assert_eq!(a.body["detail"], "no such event");
    }
    // The limits themselves are accepted.
    assert_eq!(b.get("/events?limit=1").status, 200);
    assert_eq!(b.get("/events?limit=500&after=0").status, 200);
}

/// The `events` scope reads events; `sandbox` includes it; a client with neither is refused;
/// a client limited to one program sees none of another's, by list, filter or id.
#[test]
fn events_are_read_only_within_the_clients_programs_and_scopes() {
    let s = Server::start_with(&[(
        "[[clients]]\nid = \"branch\"",
        "[[clients]]\nid = \"ledger\"\nsecret = \"ledger-secret-0001\"\nprograms = [\"SANDBOX\"]\n\
         scopes = [\"events\"]\n\n[[clients]]\nid = \"branch\"",
    )]);
    let b = Baas::on(s);
    assert_row(&b.enroll(&body()), 200, 0, 0, None);
    assert_row(&b.post("PARTNER2", &uuid(), &body()), 200, 0, 0, None);
    let all = all_events(&b);
    assert_eq!(all.len(), 8, "{all:?}");
    let theirs: Vec<&Value> = all
        .iter()
        .filter(|e| e["programCode"] == "PARTNER2")
        .collect();
    assert_eq!(theirs.len(), 4);

    let ledger = Api::as_client(&b.s, "ledger", "ledger-secret-0001");
    let page = ledger.call("GET", "/events", None);
    assert_eq!(page.status, 200, "{}", page.text);
    let seen = page.body["data"].as_array().unwrap();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|e| e["programCode"] == "SANDBOX"));
    for e in &theirs {
        let id = str_of(&e["id"]);
        let a = ledger.call("GET", &format!("/events/{id}"), None);
        assert_eq!(a.status, 404, "{}", a.text);
        assert_eq!(a.body["detail"], "no such event");
        let subject = str_of(&e["subjects"]["userIdentifier"]);
        let h = ledger.call("GET", &format!("/events?subject={subject}"), None);
        assert_eq!(h.status, 200);
        assert_eq!(h.body["data"], json!([]));
    }
    let other = ledger.call("GET", "/events?programCode=PARTNER2", None);
    assert_eq!(other.status, 401, "{}", other.text);
    assert_eq!(other.body["code"], "UNAUTHORIZED");
    // The events scope is not the sandbox's, and branch has neither.
    assert_eq!(ledger.call("GET", "/sandbox/faults", None).status, 401);
    let branch = Api::as_client(&b.s, "branch", "branch-secret");
    let refused = branch.call("GET", "/events", None);
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(refused.body["code"], "UNAUTHORIZED");
    let none = send("GET", &b.s.url("/events"), &[], None);
    assert_eq!(none.status, 401);
}
