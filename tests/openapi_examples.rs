//! The examples of `/openapi.json` are what the server answers (src/http/openapi_examples.rs).
//!
//! A fresh server gets every operation's example request (bodies read from the served document,
//! path identifiers from earlier answers of the same story), and requests built to trigger each
//! documented refusal: the 401, 400, 408, 413, 429 and 503 every operation of a dialect shares
//! on one operation of that dialect (408, 429 and 503 on servers configured to answer them),
//! the others on their own operation. Each answer must have its example's HTTP status, its
//! dialect's code (BaaS `code`/`subCode`, device and problem+json `code`, OAuth `error`) and
//! its shape (the same keys, recursively, with values of the same JSON types), and every
//! example in the document must have been checked.
//!
//! `ISSUEBOX_BLESS=1 cargo test --test openapi_examples` records the answers into
//! src/http/openapi_examples.json instead (the requests there are kept); rebuild and run the
//! test again to check them.

mod common;

use common::*;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/http/openapi_examples.json"
);

/// Where an answer is recorded: an operation's own example, or its dialect's shared one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Op(String, String, String),
    Shared(String, String, String),
}

struct Story {
    base: String,
    doc: Value,
    bearer: String,
    /// (slot, answer status, answer body) in the order they were answered.
    answers: Vec<(Slot, u16, Value)>,
}

fn dialect(tag: &str) -> &'static str {
    match tag {
        "baas" => "baas",
        "device" => "device",
        "authentication" => "oauth",
        _ => "problem",
    }
}

impl Story {
    fn op(&self, key: &str) -> &Value {
        let (method, path) = key.split_once(' ').unwrap();
        let op = &self.doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{key} is not an operation of /openapi.json");
        op
    }

    /// The operation's request example, from the served document.
    fn example_request(&self, key: &str) -> Value {
        let content = &self.op(key)["requestBody"]["content"]["application/json"];
        let example = content["example"].clone();
        assert!(!example.is_null(), "{key} has no request example");
        example
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        send(method, &format!("{}{path}", self.base), headers, body)
    }

    /// Sends `body` (or nothing) to `key` with the path's `{…}` filled from `params`, as the
    /// sandbox client, and records the answer as the example `name` of its status.
    fn call(
        &mut self,
        key: &str,
        params: &[(&str, &str)],
        body: Option<Value>,
        name: &str,
    ) -> Value {
        let (method, template) = key.split_once(' ').unwrap();
        let mut path = template.to_string();
        for (k, v) in params {
            if *k == "?" {
                path = format!("{path}?{v}");
            } else {
                path = path.replace(&format!("{{{k}}}"), v);
            }
        }
        assert!(
            !path.contains('{'),
            "{key}: a path parameter is missing: {path}"
        );
        let rid = uuid::Uuid::new_v4().to_string();
        let bearer = self.bearer.clone();
        let mut headers = vec![("Authorization", bearer.as_str())];
        if path.starts_with("/programs/") {
            headers.push(("X-GD-RequestId", &rid));
        }
        let text = body.map(|b| b.to_string());
        let a = self.send(method, &path, &headers, text.as_deref());
        self.record(Slot::Op(key.into(), a.status.to_string(), name.into()), &a)
    }

    fn record(&mut self, slot: Slot, a: &Answer) -> Value {
        if a.text.is_empty() {
            // An answer without a body (204, revocation) has nothing to show.
            return Value::Null;
        }
        let body = if a.body.is_null() && !a.text.is_empty() {
            Value::String(a.text.clone())
        } else {
            a.body.clone()
        };
        self.answers.push((slot, a.status, body.clone()));
        body
    }
}

fn id<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {v}"))
}

/// A request whose body never finishes: the server answers 408 once `body_timeout_ms` passes.
fn slow_body(base: &str, path: &str, auth: &str) -> Answer {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\nX-GD-RequestId: {}\r\n\r\n{{",
        uuid::Uuid::new_v4()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).to_string();
    let status: u16 = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let text = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    // The answer is HTTP/1.1 with a content length or chunked: take the JSON object in it.
    let json_text = text
        .find('{')
        .and_then(|i| text.rfind('}').map(|j| &text[i..=j]))
        .unwrap_or("");
    Answer {
        status,
        body: serde_json::from_str(json_text).unwrap_or(Value::Null),
        text: json_text.to_string(),
        headers: Vec::new(),
    }
}

/// A BaaS enrollment body of the example's shape for another person.
fn person(example: &Value, first: &str, last: &str, ssn: &str, alias: &str) -> Value {
    let mut b = example.clone();
    b["userData"]["profileData"]["firstName"] = json!(first);
    b["userData"]["profileData"]["lastName"] = json!(last);
    b["userData"]["identifyingData"]["ssn"] = json!(ssn);
    b["cardAlias"] = json!(alias);
    b
}

const ENROLL: &str = "POST /programs/{programCode}/enrollments";
const ATTACH: &str = "POST /deviceapi/apis/v1/services/cardholder/accounts";
const FETCH: &str = "POST /deviceapi/apis/v1/services/wallet/fetchwallet";
const SCREEN: &str = "POST /sandbox/ofac/screen";
const TOKEN: &str = "POST /authentication";
const HOOKS: &str = "POST /webhooks";
const NO_ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

/// A refusal to trigger: (operation, path parameters (`?` for a query), body, example name).
type Refusal<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<Value>, &'a str);

/// Every operation's example request, in an order in which each finds what it names.
fn happy_path(st: &mut Story) {
    let p = &[("programCode", "SANDBOX")];
    let basic = basic("sandbox", "sandbox-secret");
    let a = st.send(
        "POST",
        "/authentication",
        &[("Authorization", &basic)],
        Some(&st.example_request(TOKEN).to_string()),
    );
    st.record(
        Slot::Op(TOKEN.into(), a.status.to_string(), "token".into()),
        &a,
    );
    st.call("GET /health", &[], None, "ok");
    st.call("GET /metrics", &[], None, "prometheus");
    st.call("GET /sandbox/faults", &[], None, "switches");
    let faults = st.example_request("PUT /sandbox/faults");
    st.call("PUT /sandbox/faults", &[], Some(faults), "switches");

    let kits = st.example_request("POST /sandbox/programs/{programCode}/packages");
    let loaded = st.call(
        "POST /sandbox/programs/{programCode}/packages",
        p,
        Some(kits),
        "loaded",
    );
    let kit = id(&loaded, "/packages/0/mappingIdentifier").to_string();
    st.call(
        "GET /sandbox/programs/{programCode}/packages/{mappingIdentifier}",
        &[("programCode", "SANDBOX"), ("mappingIdentifier", &kit)],
        None,
        "available",
    );

    // Enrollment: the example itself, then read back.
    let enrollment = st.example_request(ENROLL);
    let rid = uuid::Uuid::new_v4().to_string();
    let bearer = st.bearer.clone();
    let a = st.send(
        "POST",
        "/programs/SANDBOX/enrollments",
        &[("Authorization", &bearer), ("X-GD-RequestId", &rid)],
        Some(&enrollment.to_string()),
    );
    let enrolled = st.record(
        Slot::Op(ENROLL.into(), a.status.to_string(), "success".into()),
        &a,
    );
    let account = id(&enrolled, "/account/accountIdentifier").to_string();
    let user = id(&enrolled, "/account/accountHolders/0/user/userIdentifier").to_string();
    let card = id(
        &enrolled,
        "/account/accountHolders/0/paymentInstruments/0/paymentInstrumentIdentifier",
    )
    .to_string();
    st.call(
        "GET /programs/{programCode}/accounts/{accountIdentifier}",
        &[("programCode", "SANDBOX"), ("accountIdentifier", &account)],
        None,
        "account",
    );
    st.call(
        "GET /programs/{programCode}/users/{userIdentifier}",
        &[("programCode", "SANDBOX"), ("userIdentifier", &user)],
        None,
        "user",
    );
    st.call(
        "GET /programs/{programCode}/enrollments/{requestId}",
        &[("programCode", "SANDBOX"), ("requestId", &rid)],
        None,
        "replay",
    );
    // 4092: the same request id with another body.
    let a = st.send(
        "POST",
        "/programs/SANDBOX/enrollments",
        &[("Authorization", &bearer), ("X-GD-RequestId", &rid)],
        Some(&person(&enrollment, "Joan", "Doe", "223456789", "JOAN-0001").to_string()),
    );
    st.record(
        Slot::Op(
            ENROLL.into(),
            a.status.to_string(),
            "requestIdReused".into(),
        ),
        &a,
    );

    // Wallets on the example's card, by the example's alias.
    let attach = st.example_request(ATTACH);
    let attached = st.call(ATTACH, &[], Some(attach), "created");
    let wallet = id(&attached, "/wallets/0/walletIdentifier").to_string();
    let wallet2 = id(&attached, "/wallets/1/walletIdentifier").to_string();
    let fetch = st.example_request(FETCH);
    st.call(FETCH, &[], Some(fetch), "fetched");

    // Instant issue with the example kit, an upgrade, and an OFAC partial match.
    let mut instant = person(&enrollment, "John", "Roe", "323456789", "KIOSK-0001");
    instant["instantIssue"] = json!({"type": "CBS", "mappingIdentifier": kit});
    st.call(ENROLL, p, Some(instant), "instantIssue");
    let upgrade =
        json!({"productCode": "DDA100", "upgradeFlag": true, "accountIdentifier": account});
    st.call(ENROLL, p, Some(upgrade), "upgrade");
    let near = person(
        &enrollment,
        "Nicolas",
        "Maduro Morso",
        "423456789",
        "NICO-0001",
    );
    let pending = st.call(ENROLL, p, Some(near), "ofacPartialMatch");
    let pending_user = id(&pending, "/account/accountHolders/0/user/userIdentifier").to_string();
    st.call("GET /sandbox/ofac/reviews", &[], None, "pending");
    let screen = st.example_request(SCREEN);
    st.call(SCREEN, &[], Some(screen), "review");
    let decision = st.example_request("POST /sandbox/ofac/reviews/{userIdentifier}");
    st.call(
        "POST /sandbox/ofac/reviews/{userIdentifier}",
        &[("userIdentifier", &pending_user)],
        Some(decision.clone()),
        "cleared",
    );

    // Sandbox cards and wallets.
    let new_card = st.example_request("POST /sandbox/programs/{programCode}/devices");
    let made = st.call(
        "POST /sandbox/programs/{programCode}/devices",
        p,
        Some(new_card),
        "created",
    );
    let made = id(&made, "/identifier").to_string();
    let status = st.example_request("PUT /sandbox/devices/{identifier}/status");
    st.call(
        "PUT /sandbox/devices/{identifier}/status",
        &[("identifier", &made)],
        Some(status),
        "set",
    );
    st.call(
        "POST /sandbox/devices/{identifier}/replace",
        &[("identifier", &card)],
        None,
        "replaced",
    );
    let wstatus = st.example_request("PUT /sandbox/wallets/{walletIdentifier}/status");
    st.call(
        "PUT /sandbox/wallets/{walletIdentifier}/status",
        &[("walletIdentifier", &wallet)],
        Some(wstatus),
        "set",
    );

    // Events.
    let events = st.call("GET /events", &[], None, "page");
    let first = id(&events, "/data/0/id").to_string();
    st.call("GET /events/{id}", &[("id", &first)], None, "event");

    // Webhook endpoints and deliveries.
    let hook = st.example_request(HOOKS);
    let created = st.call(HOOKS, &[], Some(hook.clone()), "created");
    let h = id(&created, "/id").to_string();
    let hp = &[("id", h.as_str())];
    st.call("GET /webhooks", &[], None, "endpoints");
    st.call("GET /webhooks/{id}", hp, None, "endpoint");
    st.call("POST /webhooks/{id}/test", hp, None, "sent");
    // Wait for the test event's delivery and its first (refused: port 9) attempt.
    let started = Instant::now();
    let delivery = loop {
        let a = st.send(
            "GET",
            &format!("/webhooks/{h}/deliveries"),
            &[("Authorization", &bearer)],
            None,
        );
        let first = &a.body["data"][0];
        if first["attempts"].as_array().is_some_and(|x| !x.is_empty()) {
            break id(first, "/id").to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no delivery attempt: {}",
            a.text
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    st.call("GET /webhooks/{id}/deliveries", hp, None, "deliveries");
    st.call(
        "POST /webhooks/{id}/deliveries/{deliveryId}/retry",
        &[("id", &h), ("deliveryId", &delivery)],
        None,
        "attempted",
    );
    st.call("POST /webhooks/{id}/rotate-secret", hp, None, "rotated");
    let recover = st.example_request("POST /webhooks/{id}/recover");
    st.call(
        "POST /webhooks/{id}/recover",
        hp,
        Some(recover),
        "recovered",
    );
    let patch = st.example_request("PATCH /webhooks/{id}");
    st.call("PATCH /webhooks/{id}", hp, Some(patch), "disabled");

    // Refusals of one operation each.
    let bad_rid = [
        ("Authorization", bearer.as_str()),
        ("X-GD-RequestId", "not-a-uuid"),
    ];
    for (key, path, name) in [
        (
            "GET /programs/{programCode}/accounts/{accountIdentifier}",
            format!("/programs/SANDBOX/accounts/{account}"),
            "accountNotFound",
        ),
        (
            "GET /programs/{programCode}/users/{userIdentifier}",
            format!("/programs/SANDBOX/users/{user}"),
            "userNotFound",
        ),
        (
            "GET /programs/{programCode}/enrollments/{requestId}",
            format!("/programs/SANDBOX/enrollments/{rid}"),
            "enrollmentNotFound",
        ),
    ] {
        let a = st.send("GET", &path, &bad_rid, None);
        st.record(
            Slot::Op(key.into(), a.status.to_string(), "badRequestId".into()),
            &a,
        );
        let unknown = path
            .replace(&account, NO_ID)
            .replace(&user, NO_ID)
            .replace(&rid, "6f1c2a3e-8b7d-4e2f-9a1b-0c3d4e5f6a7b");
        let fresh = uuid::Uuid::new_v4().to_string();
        let a = st.send(
            "GET",
            &unknown,
            &[("Authorization", &bearer), ("X-GD-RequestId", &fresh)],
            None,
        );
        st.record(Slot::Op(key.into(), a.status.to_string(), name.into()), &a);
    }
    // The other refusals, in this order.
    let kits = "POST /sandbox/programs/{programCode}/packages";
    let kit_example = st.example_request(kits);
    let review = "POST /sandbox/ofac/reviews/{userIdentifier}";
    let cards = "POST /sandbox/programs/{programCode}/devices";
    let packed =
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "packID": "PK0000000000TEST"});
    let cstatus = "PUT /sandbox/devices/{identifier}/status";
    let replace = "POST /sandbox/devices/{identifier}/replace";
    let wst = "PUT /sandbox/wallets/{walletIdentifier}/status";
    let retry = "POST /webhooks/{id}/deliveries/{deliveryId}/retry";
    let status = |s: &str| Some(json!({ "status": s }));
    let nope = [("programCode", "NOPE")];
    let no_kit = [
        ("programCode", "SANDBOX"),
        ("mappingIdentifier", "NO-SUCH-KIT"),
    ];
    let nh = [("id", "wh_AAAAAAAAAAAAAAAAAAAAAA")];
    let hp = [("id", h.as_str())];
    let refusals: Vec<Refusal> = vec![
        (
            ENROLL,
            p.to_vec(),
            Some(json!({"productCode": "GPR100"})),
            "missingField",
        ),
        (
            ATTACH,
            vec![],
            Some(json!({"device": {"alias": "NO-SUCH-ALIAS"}, "wallets": [{"planCode": "WUSD"}]})),
            "unknownAlias",
        ),
        (
            FETCH,
            vec![],
            Some(json!({"device": {"alias": "NO-SUCH-ALIAS"}})),
            "unknownAlias",
        ),
        (
            kits,
            p.to_vec(),
            Some(json!({"packages": [{"mappingIdentifier": "KIT-9", "productCode": "NOPE"}]})),
            "unknownProduct",
        ),
        (
            kits,
            nope.to_vec(),
            Some(kit_example.clone()),
            "noSuchProgram",
        ),
        (
            kits,
            p.to_vec(),
            Some(kit_example),
            "mappingIdentifierInUse",
        ),
        (
            "GET /sandbox/programs/{programCode}/packages/{mappingIdentifier}",
            no_kit.to_vec(),
            None,
            "noSuchKit",
        ),
        (
            review,
            vec![("userIdentifier", &pending_user)],
            Some(json!({"decision": "maybe"})),
            "badDecision",
        ),
        (
            review,
            vec![("userIdentifier", NO_ID)],
            Some(decision.clone()),
            "noReview",
        ),
        (
            review,
            vec![("userIdentifier", &pending_user)],
            Some(decision),
            "alreadyDecided",
        ),
        (
            cards,
            p.to_vec(),
            Some(json!({"productCode": "GPR100", "cardType": "OTHER"})),
            "badCardType",
        ),
        (
            cards,
            nope.to_vec(),
            Some(json!({"productCode": "GPR100", "cardType": "PRIMARY"})),
            "noSuchProgram",
        ),
        (cards, p.to_vec(), Some(packed.clone()), "createdWithPackId"),
        (cards, p.to_vec(), Some(packed), "packIdInUse"),
        (
            cstatus,
            vec![("identifier", &made)],
            status("GONE"),
            "notAStatus",
        ),
        (
            cstatus,
            vec![("identifier", NO_ID)],
            status("BLOCKED"),
            "noSuchCard",
        ),
        (
            cstatus,
            vec![("identifier", &card)],
            status("NORMAL"),
            "finalStatus",
        ),
        (replace, vec![("identifier", NO_ID)], None, "noSuchCard"),
        (replace, vec![("identifier", &card)], None, "finalStatus"),
        (
            wst,
            vec![("walletIdentifier", &wallet2)],
            status("GONE"),
            "notAStatus",
        ),
        (
            wst,
            vec![("walletIdentifier", NO_ID)],
            status("CLOSED"),
            "noSuchWallet",
        ),
        (
            wst,
            vec![("walletIdentifier", &wallet2)],
            status("CLOSED"),
            "set",
        ),
        (
            wst,
            vec![("walletIdentifier", &wallet2)],
            status("NORMAL"),
            "closed",
        ),
        ("GET /events", vec![("?", "limit=0")], None, "badParameter"),
        (
            "GET /events/{id}",
            vec![("id", "evt_nope_1")],
            None,
            "noSuchEvent",
        ),
        (
            HOOKS,
            vec![],
            Some(json!({"url": "http://hooks.example.com/x", "eventTypes": ["*"]})),
            "hostNotAllowed",
        ),
        ("GET /webhooks/{id}", nh.to_vec(), None, "noSuchEndpoint"),
        (
            "PATCH /webhooks/{id}",
            hp.to_vec(),
            Some(json!({"eventTypes": ["no.such_type"]})),
            "badField",
        ),
        (
            "PATCH /webhooks/{id}",
            nh.to_vec(),
            status("enabled"),
            "noSuchEndpoint",
        ),
        (
            "POST /webhooks/{id}/rotate-secret",
            nh.to_vec(),
            None,
            "noSuchEndpoint",
        ),
        (
            "POST /webhooks/{id}/test",
            nh.to_vec(),
            None,
            "noSuchEndpoint",
        ),
        ("POST /webhooks/{id}/test", hp.to_vec(), None, "disabled"),
        (
            "GET /webhooks/{id}/deliveries",
            vec![("id", &h), ("?", "limit=0")],
            None,
            "badParameter",
        ),
        (
            "GET /webhooks/{id}/deliveries",
            nh.to_vec(),
            None,
            "noSuchEndpoint",
        ),
        (
            retry,
            vec![("id", &h), ("deliveryId", "dlv_999999")],
            None,
            "noSuchDelivery",
        ),
        (
            retry,
            vec![("id", &h), ("deliveryId", &delivery)],
            None,
            "disabled",
        ),
        (
            "POST /webhooks/{id}/recover",
            hp.to_vec(),
            Some(json!({"since": "yesterday"})),
            "badSince",
        ),
        (
            "POST /webhooks/{id}/recover",
            nh.to_vec(),
            Some(json!({"since": "2026-01-01T00:00:00Z"})),
            "noSuchEndpoint",
        ),
        ("DELETE /webhooks/{id}", nh.to_vec(), None, "noSuchEndpoint"),
        ("DELETE /webhooks/{id}", hp.to_vec(), None, "deleted"),
    ];
    for (key, params, body, name) in refusals {
        st.call(key, &params, body, name);
    }
    // A client may hold 16 endpoints: the 17th is refused.
    for _ in 0..17 {
        let a = st.send(
            "POST",
            "/webhooks",
            &[("Authorization", &bearer)],
            Some(&hook.to_string()),
        );
        if a.status == 409 {
            st.record(
                Slot::Op(HOOKS.into(), "409".into(), "tooManyEndpoints".into()),
                &a,
            );
            break;
        }
        assert_eq!(a.status, 201, "{}", a.text);
    }

    let revoke = st.example_request("POST /authentication/revoke");
    let a = st.send(
        "POST",
        "/authentication/revoke",
        &[("Authorization", &basic)],
        Some(&revoke.to_string()),
    );
    assert_eq!(a.status, 200, "{}", a.text);
}

/// The refusals a dialect shares, each on one operation of the dialect.
fn shared_refusals(st: &mut Story) {
    let bearer = st.bearer.clone();
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(70_000));
    let rid = || uuid::Uuid::new_v4().to_string();
    for (d, path) in [
        ("baas", "/programs/SANDBOX/enrollments"),
        ("device", "/deviceapi/apis/v1/services/cardholder/accounts"),
        ("problem", "/sandbox/ofac/screen"),
    ] {
        let r = rid();
        let a = st.send("POST", path, &[("X-GD-RequestId", &r)], Some("{}"));
        st.record(
            Slot::Shared(d.into(), "401".into(), "unauthorized".into()),
            &a,
        );
        let r = rid();
        let a = st.send(
            "POST",
            path,
            &[("Authorization", &bearer), ("X-GD-RequestId", &r)],
            Some("{"),
        );
        st.record(Slot::Shared(d.into(), "400".into(), "notJson".into()), &a);
        let r = rid();
        let a = st.send(
            "POST",
            path,
            &[("Authorization", &bearer), ("X-GD-RequestId", &r)],
            Some(&big),
        );
        st.record(Slot::Shared(d.into(), "413".into(), "tooLarge".into()), &a);
    }
    let basic = basic("sandbox", "sandbox-secret");
    let a = st.send(
        "POST",
        "/authentication",
        &[("Authorization", &basic)],
        Some(r#"{"grant_type": "password"}"#),
    );
    st.record(
        Slot::Shared("oauth".into(), "400".into(), "unsupportedGrantType".into()),
        &a,
    );
    let wrong = common::basic("sandbox", "wrong");
    let a = st.send(
        "POST",
        "/authentication",
        &[("Authorization", &wrong)],
        Some(r#"{"grant_type": "client_credentials"}"#),
    );
    st.record(
        Slot::Shared("oauth".into(), "401".into(), "invalidClient".into()),
        &a,
    );
    let a = st.send(
        "POST",
        "/authentication",
        &[("Authorization", &basic)],
        Some(&big),
    );
    st.record(
        Slot::Shared("oauth".into(), "413".into(), "tooLarge".into()),
        &a,
    );
}

/// 408, 429 and 503, on a server whose bodies time out at once, whose clients may make one
/// request a second and whose store refuses every write (its free-space floor is out of reach).
fn configured_refusals(st: &mut Story) {
    let slow = Server::start_with(&[("body_timeout_ms = 30000", "body_timeout_ms = 300")]);
    let slow_bearer = format!("Bearer {}", slow.token());
    let s = Server::start_with(&[
        ("rate_limit_per_second = 0", "rate_limit_per_second = 1"),
        ("rate_limit_burst = 0", "rate_limit_burst = 1"),
        (
            "auth_failures_before_lockout = 10",
            "auth_failures_before_lockout = 1",
        ),
    ]);
    let bearer = format!("Bearer {}", s.token());
    let hook = st.example_request(HOOKS).to_string();
    let paths = [
        ("baas", "/programs/SANDBOX/enrollments"),
        ("device", "/deviceapi/apis/v1/services/cardholder/accounts"),
        ("problem", "/sandbox/ofac/screen"),
        ("oauth", "/authentication"),
    ];
    for (d, path) in paths {
        let auth = if d == "oauth" {
            basic("sandbox", "sandbox-secret")
        } else {
            slow_bearer.clone()
        };
        let a = slow_body(&slow.base, path, &auth);
        // The token endpoints answer it 400 `invalid_request`, as OAuth has no 408.
        let (code, name) = if d == "oauth" {
            ("400", "bodyNotReceived")
        } else {
            ("408", "bodyTimeout")
        };
        st.record(Slot::Shared(d.into(), code.into(), name.into()), &a);
    }
    for (d, path) in &paths[..3] {
        let started = Instant::now();
        loop {
            let rid = uuid::Uuid::new_v4().to_string();
            let a = send(
                "POST",
                &s.url(path),
                &[("Authorization", &bearer), ("X-GD-RequestId", &rid)],
                Some("{}"),
            );
            if a.status == 429 {
                st.record(
                    Slot::Shared((*d).into(), "429".into(), "rateLimited".into()),
                    &a,
                );
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{path}: no 429: {}",
                a.text
            );
        }
    }
    // A wrong secret locks the client id out (auth_failures_before_lockout = 1).
    let wrong = basic("sandbox", "wrong");
    let _ = send(
        "POST",
        &s.url("/authentication"),
        &[("Authorization", &wrong)],
        Some(r#"{"grant_type": "client_credentials"}"#),
    );
    let right = basic("sandbox", "sandbox-secret");
    let a = send(
        "POST",
        &s.url("/authentication"),
        &[("Authorization", &right)],
        Some(r#"{"grant_type": "client_credentials"}"#),
    );
    st.record(
        Slot::Shared("oauth".into(), "429".into(), "slowDown".into()),
        &a,
    );

    // Started again with its free-space floor out of reach, the store refuses every write: 503
    // (the token, minted before, survives the restart).
    let mut s = s;
    assert_eq!(s.stop(), 0);
    let config = std::fs::read_to_string(&s.config_path).unwrap();
    let floor = config.replace(
        "min_free_bytes = 67108864",
        "min_free_bytes = 9000000000000000000",
    );
    assert_ne!(config, floor, "the config has no min_free_bytes line");
    std::fs::write(&s.config_path, floor).unwrap();
    let s = s.respawn();
    let a = send(
        "POST",
        &s.url("/webhooks"),
        &[("Authorization", &bearer)],
        Some(&hook),
    );
    st.record(
        Slot::Shared("problem".into(), "503".into(), "storageUnavailable".into()),
        &a,
    );
}

/// Whether `actual` has `example`'s shape: the same keys and JSON types, recursively; arrays
/// both empty or both not, their elements compared in turn.
fn same_shape(example: &Value, actual: &Value, at: &str, diffs: &mut Vec<String>) {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    match (example, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let ek: BTreeSet<&String> = e.keys().collect();
            let ak: BTreeSet<&String> = a.keys().collect();
            if ek != ak {
                diffs.push(format!("{at}: keys {ek:?} documented, {ak:?} answered"));
                return;
            }
            for (k, v) in e {
                same_shape(v, &a[k], &format!("{at}.{k}"), diffs);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.is_empty() != a.is_empty() {
                diffs.push(format!(
                    "{at}: {} items documented, {} answered",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                same_shape(ev, av, &format!("{at}[{i}]"), diffs);
            }
        }
        (e, a) if kind(e) != kind(a) => diffs.push(format!(
            "{at}: {} documented, {} answered",
            kind(e),
            kind(a)
        )),
        _ => {}
    }
}

/// The dialect's code of an answer: BaaS code/subCode, device and problem `code`, OAuth `error`.
fn code_of(v: &Value) -> Value {
    if let Some(d) = v.get("responseDetails") {
        return json!([d[0]["code"], d[0]["subCode"]]);
    }
    v.get("error")
        .or_else(|| v.get("code"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Every example in the served document, as the slot it is checked under.
fn documented(doc: &Value) -> BTreeMap<(String, String, String), Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let key = format!("{} {path}", method.to_uppercase());
            for (code, r) in op["responses"].as_object().unwrap() {
                for content in r["content"]
                    .as_object()
                    .into_iter()
                    .flat_map(|c| c.values())
                {
                    for (name, ex) in content["examples"].as_object().into_iter().flatten() {
                        out.insert(
                            (key.clone(), code.clone(), name.clone()),
                            ex["value"].clone(),
                        );
                    }
                }
            }
        }
    }
    out
}

fn bless(answers: &[(Slot, u16, Value)]) {
    let mut file: Value =
        serde_json::from_str(&std::fs::read_to_string(EXAMPLES).unwrap()).unwrap();
    // Recorded again, except /openapi.json's own short example (its answer is the document).
    for (key, op) in file["operations"].as_object_mut().unwrap() {
        if key != "GET /openapi.json" {
            op.as_object_mut().unwrap().remove("responses");
        }
    }
    file["shared"] = json!({});
    for (slot, status, body) in answers {
        if let Slot::Shared(d, c, n) = slot {
            assert_eq!(
                c,
                &status.to_string(),
                "{d} {n}: the trigger answered {status}: {body}"
            );
        }
        let (root, key, code, name) = match slot {
            Slot::Op(k, c, n) => ("operations", k, c, n),
            Slot::Shared(d, c, n) => ("shared", d, c, n),
        };
        let entry = file[root]
            .as_object_mut()
            .unwrap()
            .entry(key.clone())
            .or_insert_with(|| json!({}));
        let responses = if root == "operations" {
            entry
                .as_object_mut()
                .unwrap()
                .entry("responses")
                .or_insert_with(|| json!({}))
        } else {
            entry
        };
        let named = responses
            .as_object_mut()
            .unwrap()
            .entry(code.clone())
            .or_insert_with(|| json!({}));
        named
            .as_object_mut()
            .unwrap()
            .entry(name.clone())
            .or_insert_with(|| body.clone());
    }
    let text = serde_json::to_string_pretty(&file).unwrap() + "\n";
    std::fs::write(EXAMPLES, text).unwrap();
    eprintln!("wrote {EXAMPLES}: rebuild and run this test again to check it");
}

#[test]
fn every_example_is_what_the_server_answers() {
    let started = Instant::now();
    let s = Server::start();
    let doc = send("GET", &s.url("/openapi.json"), &[], None).body;
    let bearer = format!("Bearer {}", s.token());
    let mut st = Story {
        base: s.base.clone(),
        doc: doc.clone(),
        bearer,
        answers: Vec::new(),
    };
    happy_path(&mut st);
    shared_refusals(&mut st);
    configured_refusals(&mut st);

    if std::env::var("ISSUEBOX_BLESS").is_ok_and(|v| v == "1") {
        bless(&st.answers);
        return;
    }

    // Which dialect each operation's shared examples come from.
    let mut dialects = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap_or("");
            dialects.insert(format!("{} {path}", method.to_uppercase()), dialect(tag));
        }
    }
    let examples = documented(&doc);
    let mut failures = Vec::new();
    let mut checked = BTreeSet::new();
    for (slot, status, body) in &st.answers {
        let found: Vec<(&(String, String, String), &Value)> = examples
            .iter()
            .filter(|((key, code, name), _)| match slot {
                Slot::Op(k, c, n) => k == key && c == code && n == name,
                Slot::Shared(d, c, n) => dialects[key] == d && c == code && n == name,
            })
            .collect();
        if found.is_empty() {
            failures.push(format!(
                "{slot:?}: answered {status} {body}, but no such example is documented"
            ));
            continue;
        }
        for (at, example) in found {
            checked.insert(at.clone());
            if at.1 != status.to_string() {
                failures.push(format!("{at:?}: answered {status}"));
            }
            if at.0 == "GET /openapi.json" || at.0 == "GET /metrics" {
                continue;
            }
            if code_of(example) != code_of(body) {
                failures.push(format!(
                    "{at:?}: code {} documented, {} answered",
                    code_of(example),
                    code_of(body)
                ));
            }
            let mut diffs = Vec::new();
            same_shape(example, body, "$", &mut diffs);
            failures.extend(diffs.into_iter().map(|d| format!("{at:?} {d}")));
        }
    }
    // GET /openapi.json documents itself with a short example; its answer is this document.
    let openapi = (
        "GET /openapi.json".to_string(),
        "200".to_string(),
        "document".to_string(),
    );
    if examples.contains_key(&openapi) {
        checked.insert(openapi);
    }
    for at in examples.keys() {
        if !checked.contains(at) {
            failures.push(format!("{at:?}: documented but never checked"));
        }
    }
    // Every request body has an example, and every documented answer with content has one.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let key = format!("{} {path}", method.to_uppercase());
            for (ct, c) in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if c["example"].is_null() {
                    failures.push(format!("{key}: request {ct} has no example"));
                }
            }
            for (code, r) in op["responses"].as_object().unwrap() {
                for (ct, c) in r["content"].as_object().into_iter().flatten() {
                    if c["examples"].as_object().is_none_or(Map::is_empty) {
                        failures.push(format!("{key} {code} {ct}: no example"));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} example(s) drifted from the server (ISSUEBOX_BLESS=1 records them again):\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} examples checked in {:.1?}",
        checked.len(),
        started.elapsed()
    );
}
