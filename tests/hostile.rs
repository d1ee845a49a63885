//! Hostile input: property tests that throw generated bodies at every endpoint that takes one
//! and prove the server never answers 5xx, never panics, always answers a refusal in the
//! dialect's envelope, and writes nothing when it refuses.
//!
//! Bodies: random JSON values; each endpoint's valid body with one field replaced by a wrong
//! type, null, a huge string (up to just under `max_body_bytes`), unicode (RTL, zero-width,
//! emoji, combining marks, NUL, lone surrogates) or a raw number such as `1e400`; nesting 1,000
//! to 20,000 levels deep; invalid UTF-8 inside strings; random bytes; truncated JSON.
//!
//! `ISSUEBOX_HOSTILE_CASES` sets the number of cases (default 480, well under a minute in a debug
//! build); `ISSUEBOX_HOSTILE_SEED` replays a run.

mod common;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The envelope a dialect answers with.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Dialect {
    Auth,
    Baas,
    Device,
    Sandbox,
}

/// An endpoint that takes a body: method, path, dialect and a valid body to vary.
#[derive(Clone, Debug)]
struct Endpoint {
    method: &'static str,
    path: String,
    dialect: Dialect,
    template: Value,
}

const MAX_BODY: usize = 65536;

fn endpoints(card: &str, wallet: &str, user: &str) -> Vec<Endpoint> {
    let e = |method, path: &str, dialect, template| Endpoint {
        method,
        path: path.to_string(),
        dialect,
        template,
    };
    vec![
        e(
            "POST",
            "/authentication",
            Dialect::Auth,
            json!({"grant_type": "client_credentials"}),
        ),
        e(
            "POST",
            "/programs/SANDBOX/enrollments",
            Dialect::Baas,
            json!({
                "productCode": "GPR100",
                "userData": {
                    "profileData": {"firstName": "Jane", "middleName": "Q", "lastName": "Doe",
                        "addresses": [{"type": "home", "isDefault": true, "addressLine1": "1 Main St",
                            "addressLine2": null, "city": "Pasadena", "state": "CA", "zipCode": "91101"}]},
                    "identifyingData": {"dateOfBirth": "1990-01-31", "ssn": "123456789"},
                    "email": {"emailAddress": "jane@example.com"},
                    "phoneNumbers": [{"number": "6265551212", "type": "mobile", "isDefault": true}]
                },
                "termsAcceptances": [{"termsIdentifier": "esign", "termsAcceptanceFlag": true}],
                "cardAlias": "CUST-000123",
                "requestPhysicalCard": false,
                "instantIssue": {"type": "CBS", "mappingIdentifier": "KIT0000001"},
                "upgradeFlag": false,
                "accountIdentifier": null
            }),
        ),
        e(
            "POST",
            "/deviceapi/apis/v1/services/cardholder/accounts",
            Dialect::Device,
            json!({"device": {"identifier": card, "number": "4000009912345678",
                    "packID": "PACK000001", "alias": "CUST-000123"},
                "programCode": "SANDBOX", "devicePlanCode": "DP01",
                "wallets": [{"planCode": "WEUR", "promotionCode": "PROMO1"}]}),
        ),
        e(
            "POST",
            "/deviceapi/apis/v1/services/wallet/fetchwallet",
            Dialect::Device,
            json!({"device": {"identifier": card, "alias": "CUST-000123"}, "programCode": "SANDBOX"}),
        ),
        e(
            "POST",
            "/sandbox/programs/SANDBOX/packages",
            Dialect::Sandbox,
            json!({"packages": [{"mappingIdentifier": "KIT1", "productCode": "GPR100", "packID": "PACK000009"}],
                "generate": {"count": 2, "productCode": "GPR100", "prefix": "HOST"}}),
        ),
        e(
            "POST",
            "/sandbox/programs/SANDBOX/devices",
            Dialect::Sandbox,
            json!({"productCode": "GPR100", "cardType": "PRIMARY", "status": "NORMAL",
                "alias": "A1", "packID": "PACK000010", "accountIdentifier": "nope"}),
        ),
        e(
            "PUT",
            &format!("/sandbox/devices/{card}/status"),
            Dialect::Sandbox,
            json!({"status": "BLOCKED"}),
        ),
        e(
            "POST",
            &format!("/sandbox/devices/{card}/replace"),
            Dialect::Sandbox,
            json!({}),
        ),
        e(
            "PUT",
            &format!("/sandbox/wallets/{wallet}/status"),
            Dialect::Sandbox,
            json!({"status": "INACTIVE"}),
        ),
        e(
            "PUT",
            "/sandbox/faults",
            Dialect::Sandbox,
            json!({"packageLookup": false, "upgradeProvider": false, "walletCreate": false, "walletLink": false}),
        ),
        e(
            "POST",
            &format!("/sandbox/ofac/reviews/{user}"),
            Dialect::Sandbox,
            json!({"decision": "clear"}),
        ),
        e(
            "POST",
            "/sandbox/ofac/screen",
            Dialect::Sandbox,
            json!({"name": "Jane Doe"}),
        ),
    ]
}

// ------------------------------------------------------------------------------ generators

/// Strings that break naive code: RTL override, zero-width, BOM, emoji, combining marks, NUL,
/// control characters, very long grapheme clusters, non-BMP characters.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\u{202E}gnp.exe".to_string()),
        Just("a\u{200B}b\u{200D}c\u{FEFF}".to_string()),
        Just("👩‍👩‍👧‍👦🏳️‍🌈💳".to_string()),
        Just("e\u{301}\u{302}\u{303}\u{304}\u{305}".repeat(40)),
        Just("nul\u{0}byte".to_string()),
        Just("\u{1}\u{7f}\u{9b}\r\n\t".to_string()),
        Just("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ﷽ Ⅻ ß ǅ".to_string()),
        Just("4000009912345678".to_string()),
        Just("'; DROP TABLE cards; --".to_string()),
        Just("../../etc/passwd".to_string()),
        Just("%s%n%x{}{0}".to_string()),
        any::<String>(),
        "[A-Z0-9]{0,40}",
    ]
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(nasty_string(), inner, 0..8)
                .prop_map(|m: BTreeMap<String, Value>| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A replacement for one field, as raw JSON text (so that numbers JSON values cannot hold,
/// such as `1e400`, can be sent).
fn replacement(room: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => json_value().prop_map(|v| v.to_string()),
        1 => prop_oneof![
            Just("1e400"), Just("-1e400"), Just("1e-400"), Just("-0"),
            Just("123456789012345678901234567890"), Just("18446744073709551616"),
            Just("-9223372036854775809"), Just("0.0000000000000000000000001"),
            Just("\"\\ud800\""), Just("\"\\udc00x\""), Just("\"\\u0000\""),
            Just("true"), Just("null"), Just("[]"), Just("{}"), Just("[null]"),
        ].prop_map(str::to_string),
        // A huge string, up to just under the body limit.
        1 => (0usize..4, 0.5f64..1.0).prop_map(move |(c, frac)| {
            let ch = ["a", "é", "💳", "\u{200B}"][c];
            let n = ((room as f64 * frac) as usize / ch.len()).max(1);
            serde_json::to_string(&ch.repeat(n)).unwrap_or_default()
        }),
    ]
}

/// Every path (object key / array index chain) in a value, the root included.
fn paths(v: &Value, here: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let mut p = here.clone();
                p.push(k.clone());
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut p = here.clone();
                p.push(i.to_string());
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

const MARK: &str = "\u{1}HOSTILE\u{1}";

/// The template with the value at `path` replaced by the raw JSON text `raw`.
fn splice(template: &Value, path: &[String], raw: &str) -> Vec<u8> {
    let mut v = template.clone();
    let mut slot = &mut v;
    for k in path {
        slot = match slot {
            Value::Object(m) => m.get_mut(k).expect("path"),
            Value::Array(a) => &mut a[k.parse::<usize>().expect("index")],
            _ => unreachable!("paths go through containers"),
        };
    }
    *slot = Value::String(MARK.into());
    let marked = serde_json::to_string(&MARK).unwrap_or_default();
    v.to_string().replacen(&marked, raw, 1).into_bytes()
}

/// A hostile body for an endpoint whose valid body is `template`.
fn hostile_body(template: Value) -> BoxedStrategy<Vec<u8>> {
    let mut all = Vec::new();
    paths(&template, Vec::new(), &mut all);
    let text = template.to_string();
    let room = MAX_BODY.saturating_sub(text.len() + 16);
    let t1 = template.clone();
    let t2 = template.clone();
    prop_oneof![
        // The valid body with one field replaced by something of the wrong kind.
        6 => (prop::sample::select(all), replacement(room))
            .prop_map(move |(p, raw)| splice(&t1, &p, &raw)),
        // Any JSON at all.
        3 => json_value().prop_map(|v| v.to_string().into_bytes()),
        // Deep nesting, open or closed.
        1 => (1000usize..20000, 0usize..3).prop_map(|(n, kind)| match kind {
            0 => "[".repeat(n).into_bytes(),
            1 => format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes(),
            _ => format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes(),
        }),
        // Invalid UTF-8 inside a string value, or bytes that are not JSON at all.
        1 => (prop::sample::select(vec![0x80u8, 0xC0, 0xC3, 0xED, 0xF5, 0xFF, 0xFE]), any::<prop::sample::Index>())
            .prop_map(move |(b, at)| {
                let mut bytes = text.clone().into_bytes();
                let quotes: Vec<usize> = bytes.iter().enumerate()
                    .filter(|(_, c)| **c == b'"').map(|(i, _)| i + 1).collect();
                let i = if quotes.is_empty() { 0 } else { quotes[at.index(quotes.len())] };
                bytes.insert(i.min(bytes.len()), b);
                bytes
            }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
        // The valid body cut short, or with trailing garbage.
        1 => any::<prop::sample::Index>().prop_map(move |at| {
            let b = t2.to_string().into_bytes();
            let n = at.index(b.len().max(1));
            b[..n.min(b.len())].to_vec()
        }),
        1 => Just(format!("{template} {template}").into_bytes()),
    ]
    .boxed()
}

// ------------------------------------------------------------------------------- the checks

struct Target {
    s: Server,
    agent: ureq::Agent,
    bearer: String,
    basic: String,
}

impl Target {
    fn counts(&self) -> BTreeMap<String, u64> {
        let text = self
            .agent
            .get(&self.s.url("/metrics"))
            .call()
            .expect("metrics")
            .into_string()
            .unwrap_or_default();
        entity_counts_in(&text)
    }

    /// Sends a raw body; answers status, content type and body text.
    fn send(&self, ep: &Endpoint, body: &[u8]) -> Result<(u16, String, String), String> {
        let auth = if ep.dialect == Dialect::Auth {
            &self.basic
        } else {
            &self.bearer
        };
        let req = self
            .agent
            .request(ep.method, &self.s.url(&ep.path))
            .set("Authorization", auth)
            .set("Content-Type", "application/json")
            .set("X-GD-RequestId", &uuid::Uuid::new_v4().to_string());
        let r = match req.send_bytes(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.to_string()),
        };
        let status = r.status();
        let ct = r.content_type().to_string();
        Ok((status, ct, r.into_string().unwrap_or_default()))
    }
}

/// Checks the envelope of a refusal (or of any BaaS answer).
fn check_envelope(d: Dialect, status: u16, ct: &str, text: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(text).map_err(|_| format!("not JSON: {text}"))?;
    let ok = match d {
        Dialect::Auth => v["error"].is_string(),
        Dialect::Baas => {
            let r = &v["responseDetails"][0];
            r["code"].is_u64() && r["subCode"].is_u64() && r["description"].is_string()
        }
        Dialect::Device => {
            v["code"].is_string()
                && v["message"].is_string()
                && v.as_object().map(|m| m.len()) == Some(2)
        }
        Dialect::Sandbox => {
            ct == "application/problem+json"
                && ["type", "title", "detail", "code"]
                    .iter()
                    .all(|k| v[k].is_string())
                && v["status"].as_u64() == Some(u64::from(status))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("not the {d:?} envelope ({ct}): {text}"))
    }
}

fn cases() -> u32 {
    std::env::var("ISSUEBOX_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(480)
}

fn runner() -> TestRunner {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    match std::env::var("ISSUEBOX_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(seed) => {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
        }
        None => TestRunner::new(config),
    }
}

/// A card with a wallet, so status changes and wallet attaches reach past the lookup.
fn fixtures(s: &Server) -> (String, String) {
    let api = Api::new(s);
    let card = api.new_card(json!({"alias": "CUST-000123"}));
    let id = card["identifier"].as_str().unwrap().to_string();
    let a = api.attach(json!({"device": {"identifier": id}, "wallets": [{"planCode": "WUSD"}]}));
    assert_eq!(a.status, 201, "{}", a.text);
    let wallet = a.body["wallets"][0]["walletIdentifier"]
        .as_str()
        .unwrap()
        .to_string();
    (id, wallet)
}

/// A started server with a card and a wallet to aim at.
fn target() -> (Target, String, String) {
    let s = Server::start();
    let (card, wallet) = fixtures(&s);
    let t = Target {
        agent: ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build(),
        bearer: format!("Bearer {}", s.token()),
        basic: basic("sandbox", "sandbox-secret"),
        s,
    };
    (t, card, wallet)
}

#[test]
fn hostile_bodies_never_get_a_5xx_and_refusals_write_nothing() {
    let (t, card, wallet) = target();
    let eps = endpoints(&card, &wallet, "no-such-user");
    let strategy = (0..eps.len()).prop_flat_map({
        let eps = eps.clone();
        move |i| (Just(i), hostile_body(eps[i].template.clone()))
    });
    let started = Instant::now();
    let by_status: std::cell::RefCell<BTreeMap<u16, u32>> = Default::default();
    let result = runner().run(&strategy, |(i, body)| {
        let ep = &eps[i];
        let before = t.counts();
        let (status, ct, text) = t.send(ep, &body).map_err(|e| {
            TestCaseError::fail(format!("{} {}: transport failure {e}", ep.method, ep.path))
        })?;
        *by_status.borrow_mut().entry(status).or_default() += 1;
        let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).to_string();
        prop_assert!(
            status < 500,
            "{} {} answered {status}: {text}\nbody: {shown}",
            ep.method,
            ep.path
        );
        if !(200..300).contains(&status) || ep.dialect == Dialect::Baas {
            check_envelope(ep.dialect, status, &ct, &text).map_err(|e| {
                TestCaseError::fail(format!("{} {}: {e}\nbody: {shown}", ep.method, ep.path))
            })?;
        }
        // A refusal writes nothing.
        let refused = !(200..300).contains(&status);
        if refused {
            let after = t.counts();
            prop_assert_eq!(
                &before,
                &after,
                "{} {} answered {} and wrote: {}\nbody: {}",
                ep.method,
                ep.path,
                status,
                text,
                shown
            );
        }
        Ok(())
    });
    let log = t.s.log();
    let mut s = t.s;
    let alive = s.child.try_wait().ok().flatten().is_none();
    let by_status = by_status.into_inner();
    let sent: u32 = by_status.values().sum();
    eprintln!(
        "hostile: {sent} requests over {} endpoints in {:.1}s; answers by status: {by_status:?}",
        eps.len(),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e}\nserver log tail: {}", tail(&log));
    }
    assert!(alive, "the server died: {}", tail(&log));
    assert!(!log.contains("panicked"), "a panic: {}", tail(&log));
    // The server still serves.
    let h = send("GET", &s.url("/health"), &[], None);
    assert_eq!(h.status, 200);
    assert_eq!(s.stop(), 0);
}

#[test]
fn a_json_array_in_place_of_the_body_object_is_refused_everywhere() {
    // serde fills a struct from an array by position, so `[]` used to pass as a body of
    // defaults (schemathesis found `PUT /sandbox/faults` answering 200 to it).
    let (t, card, wallet) = target();
    for ep in endpoints(&card, &wallet, "no-such-user") {
        if ep.path.ends_with("/replace") {
            continue; // takes no body: whatever is sent is ignored
        }
        for body in [&b"[]"[..], b"[true, false, true, true]"] {
            let before = t.counts();
            let (status, ct, text) = t.send(&ep, body).unwrap();
            assert_eq!(status, 400, "{} {}: {text}", ep.method, ep.path);
            check_envelope(ep.dialect, status, &ct, &text).unwrap();
            assert_eq!(before, t.counts(), "{} {} wrote", ep.method, ep.path);
        }
    }
}

fn tail(log: &str) -> &str {
    &log[log.len().saturating_sub(4000)..]
}

/// Every string leaf of `v`, as JSON pointers.
fn string_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(_) => out.push(at),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| string_pointers(x, format!("{at}/{i}"), out)),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| string_pointers(x, format!("{at}/{k}"), out)),
        _ => {}
    }
}

#[test]
fn a_nul_character_in_any_string_field_is_refused_or_found_nowhere_never_a_5xx() {
    // PostgreSQL's text cannot hold U+0000: a key carrying one once failed its statement and
    // answered 503 (a device alias "\u0000", found by this file's property test on CI). Every
    // string field of every endpoint, deterministically, on whichever engine runs the suite.
    let (t, card, wallet) = target();
    for ep in endpoints(&card, &wallet, "no-such-user") {
        let mut pointers = Vec::new();
        string_pointers(&ep.template, String::new(), &mut pointers);
        for ptr in pointers {
            for nul in ["\u{0}", "PACK\u{0}000001"] {
                let mut body = ep.template.clone();
                *body.pointer_mut(&ptr).unwrap() = json!(nul);
                let before = t.counts();
                let (status, ct, text) = t.send(&ep, body.to_string().as_bytes()).unwrap();
                let what = format!("{} {} with {ptr} = {nul:?}", ep.method, ep.path);
                assert!(status < 500, "{what}: {status} {text}");
                if !(200..300).contains(&status) {
                    check_envelope(ep.dialect, status, &ct, &text).unwrap();
                    assert_eq!(before, t.counts(), "{what}: refused and wrote");
                }
            }
        }
    }
    // The rows the NUL reaches, with their exact answers.
    let api = Api::new(&t.s);
    let fetch = |device: Value| {
        let r = api.fetch(device);
        (r.status, r.body)
    };
    let gpr102 = json!({"code": "GPR102", "message": "Invalid id/card pack id/device/CAN"});
    assert_eq!(
        fetch(json!({"alias": "\u{0}"})),
        (
            400,
            json!({"code": "GPR100", "message": "Invalid Card number alias"})
        )
    );
    assert_eq!(
        fetch(json!({"packID": "PACK\u{0}000001"})),
        (400, gpr102.clone())
    );
    assert_eq!(
        fetch(json!({"identifier": "4P0BYLifOjBcze\u{0}H8i7la"})),
        (400, gpr102)
    );
    let device = api.call(
        "POST",
        "/sandbox/programs/SANDBOX/devices",
        Some(&json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": "A\u{0}"})),
    );
    assert_eq!(device.status, 400, "{}", device.text);
    assert_eq!(
        device.body["detail"],
        "alias must be 1-24 characters, none a control character, and must not be a card number"
    );
    let device = api.call(
        "POST",
        "/sandbox/programs/SANDBOX/devices",
        Some(&json!({"productCode": "GPR100", "cardType": "PRIMARY", "packID": "PACK\u{0}000001"})),
    );
    assert_eq!(device.status, 400, "{}", device.text);
    assert_eq!(
        device.body["detail"],
        "packID must be 10-24 characters, none a control character, and must not hold a card number"
    );
    let events = api.call("GET", "/events?subject=%00", None);
    assert_eq!(events.status, 400, "{}", events.text);
    assert_eq!(
        events.body["detail"],
        "subject: must be an identifier of 1 to 64 characters, none a control character"
    );
    // A NUL in a path's identifier finds nothing (404 in the path's dialect), never a 5xx.
    for (method, path) in [
        ("GET", "/programs/SANDBOX/accounts/a%00b"),
        ("GET", "/programs/SANDBOX/users/a%00b"),
        ("GET", "/programs/SANDBOX/enrollments/a%00b"),
        ("POST", "/sandbox/ofac/reviews/a%00b"),
        ("GET", "/sandbox/programs/SANDBOX/packages/a%00b"),
        ("GET", "/events/a%00b"),
        ("GET", "/webhooks/a%00b"),
        ("GET", "/webhooks/a%00b/deliveries"),
        ("PUT", "/sandbox/wallets/a%00b/status"),
        ("POST", "/sandbox/devices/a%00b/replace"),
    ] {
        let body = json!({"status": "ACTIVE"});
        let r = api.call(method, path, (method != "GET").then_some(&body));
        assert!(
            [400, 404].contains(&r.status),
            "{method} {path}: {} {}",
            r.status,
            r.text
        );
    }
    let mut s = t.s;
    assert_eq!(s.stop(), 0);
}
