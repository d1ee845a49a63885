//! Client isolation between programs. The all-programs `sandbox` client builds the same world in
//! PARTNER2 and in SANDBOX (users, accounts, cards, kits, wallets, an OFAC review); a client
//! limited to SANDBOX (`limited`, scopes baas + device + sandbox) then tries every read and write
//! of the three APIs on PARTNER2's entities by every key. Each attempt must be refused exactly as
//! the contract says — BaaS: 401 "out of credential scopes" for PARTNER2 in the path and the
//! not-found answer otherwise; device and sandbox: byte for byte the answer for a random key of
//! the same kind that names nothing — reveal nothing of PARTNER2, and change nothing (entity
//! counts at /metrics and the sandbox client's re-reads). The same requests on the SANDBOX twin
//! succeed, so the refusals come from the program and not from a malformed request.

mod common;
#[path = "common/leakscan.rs"]
mod leakscan;

use common::baas::*;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Adds the client `limited` (SANDBOX only, every scope) to the shipped config.
const LIMITED_CLIENT: (&str, &str) = (
    "[[clients]]\nid = \"branch\"",
    "[[clients]]\nid = \"limited\"\nsecret = \"limited-secret\"\nprograms = [\"SANDBOX\"]\n\
     scopes = [\"baas\", \"device\", \"sandbox\"]\n\n[[clients]]\nid = \"branch\"",
);

/// An authenticated client; BaaS requests carry a fresh X-GD-RequestId.
struct Who {
    base: String,
    auth: String,
}

impl Who {
    fn new(s: &Server, id: &str, secret: &str) -> Who {
        Who {
            base: s.base.clone(),
            auth: format!("Bearer {}", s.token_for(id, secret)),
        }
    }

    fn send(&self, r: &Req) -> Answer {
        let rid = r.rid.clone().unwrap_or_else(uuid);
        let text = r.body.as_ref().map(|b| b.to_string());
        send(
            r.method,
            &format!("{}{}", self.base, r.path),
            &[("Authorization", &self.auth), ("X-GD-RequestId", &rid)],
            text.as_deref(),
        )
    }

    fn ok(&self, r: &Req) -> Value {
        let a = self.send(r);
        assert!((200..300).contains(&a.status), "{r:?}: {}", a.text);
        a.body
    }
}

#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: String,
    body: Option<Value>,
    /// X-GD-RequestId to send (a fresh one when None).
    rid: Option<String>,
}

fn get(path: impl Into<String>) -> Req {
    Req {
        method: "GET",
        path: path.into(),
        body: None,
        rid: None,
    }
}

fn post(path: impl Into<String>, body: Value) -> Req {
    Req {
        method: "POST",
        path: path.into(),
        body: (!body.is_null()).then_some(body),
        rid: None,
    }
}

fn put(path: impl Into<String>, body: Value) -> Req {
    Req {
        method: "PUT",
        path: path.into(),
        body: Some(body),
        rid: None,
    }
}

const ATTACH: &str = "/deviceapi/apis/v1/services/cardholder/accounts";
const FETCH: &str = "/deviceapi/apis/v1/services/wallet/fetchwallet";

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

/// A random identifier of issuebox's shape (22 alphanumerics).
fn rand_id() -> String {
    uuid().replace('-', "")[..22].to_string()
}

/// A random string of `len` characters `[A-Z0-9]` starting with `prefix`.
fn rand_like(prefix: &str, len: usize) -> String {
    let mut out = prefix.to_string();
    while out.len() < len {
        out.push_str(&uuid().replace('-', "").to_uppercase());
    }
    out[..len.max(prefix.len())].to_string()
}

/// One program's entities, made by the all-programs client.
#[derive(Debug)]
struct World {
    program: String,
    kit_free: Value,
    kit_used: Value,
    rid_new: String,
    acc_new: String,
    user_new: String,
    card_new: String,
    masked_new: String,
    wallet_new: String,
    rid_kit: String,
    acc_kit: String,
    card_kit: String,
    rid_pending: String,
    acc_pending: String,
    user_pending: String,
    card_sb: Value,
    wallet_sb: Value,
}

impl World {
    fn build(b: &Who, p: &str) -> World {
        let kits = b.ok(&post(
            format!("/sandbox/programs/{p}/packages"),
            json!({"packages": [
                {"mappingIdentifier": format!("{p}KITUSED"), "productCode": "GPR100"},
                {"mappingIdentifier": format!("{p}KITFREE"), "productCode": "GPR100"},
            ]}),
        ));
        let enroll = |body: Value| {
            let rid = uuid();
            let mut r = post(format!("/programs/{p}/enrollments"), body);
            r.rid = Some(rid.clone());
            (rid, b.ok(&r))
        };
        let (rid_new, new) = enroll(with(body(), "/cardAlias", json!(format!("{p}-NEW"))));
        assert_eq!(new["responseDetails"][0]["code"], 0, "{new}");
        let holder = &new["account"]["accountHolders"][0];
        let card_new = s(&holder["paymentInstruments"][0]["paymentInstrumentIdentifier"]);
        let kit_body = with(
            with(body(), "/cardAlias", json!(format!("{p}-KIT"))),
            "/instantIssue",
            json!({"type": "CBS", "mappingIdentifier": format!("{p}KITUSED")}),
        );
        let (rid_kit, kit) = enroll(kit_body);
        assert_eq!(kit["responseDetails"][0]["code"], 0, "{kit}");
        let pending_body = with(
            with(
                with(body(), "/userData/profileData/firstName", json!("Gilberto")),
                "/userData/profileData/lastName",
                json!("Rodriguez Orejuela"),
            ),
            "/userData/profileData/middleName",
            Value::Null,
        );
        let (rid_pending, pending) = enroll(pending_body);
        assert_eq!(pending["responseDetails"][0]["subCode"], 31, "{pending}");
        let card_sb = b.ok(&post(
            format!("/sandbox/programs/{p}/devices"),
            json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": format!("{p}-CARD"),
                   "packID": format!("{p}PACK0001")}),
        ));
        let attached = b.ok(&post(
            ATTACH,
            json!({"device": {"identifier": card_sb["identifier"]}, "wallets": [{"planCode": "WUSD"}]}),
        ));
        let attached_new = b.ok(&post(
            ATTACH,
            json!({"device": {"identifier": card_new}, "wallets": [{"planCode": "WUSD"}]}),
        ));
        World {
            program: p.to_string(),
            kit_free: kits["packages"][1].clone(),
            kit_used: kits["packages"][0].clone(),
            rid_new,
            acc_new: s(&new["account"]["accountIdentifier"]),
            user_new: s(&holder["user"]["userIdentifier"]),
            card_new,
            masked_new: s(&holder["paymentInstruments"][0]["maskedPan"]),
            wallet_new: s(&attached_new["wallets"][0]["walletIdentifier"]),
            rid_kit,
            acc_kit: s(&kit["account"]["accountIdentifier"]),
            card_kit: s(
                &kit["account"]["accountHolders"][0]["paymentInstruments"][0]
                    ["paymentInstrumentIdentifier"],
            ),
            rid_pending,
            acc_pending: s(&pending["account"]["accountIdentifier"]),
            user_pending: s(&pending["account"]["accountHolders"][0]["user"]["userIdentifier"]),
            card_sb,
            wallet_sb: attached["wallets"][0].clone(),
        }
    }

    /// Every string of this world another program's client must never be shown.
    fn secrets(&self) -> Vec<String> {
        let p = &self.program;
        let mut v = vec![
            self.acc_new.clone(),
            self.user_new.clone(),
            self.card_new.clone(),
            self.masked_new.clone(),
            self.wallet_new.clone(),
            self.acc_kit.clone(),
            self.card_kit.clone(),
            self.acc_pending.clone(),
            self.user_pending.clone(),
            format!("{p}-NEW"),
            format!("{p}-KIT"),
            format!("{p}-CARD"),
            format!("{p}KITUSED"),
            format!("{p}KITFREE"),
            p.clone(),
        ];
        for x in [
            &self.kit_free["packID"],
            &self.kit_free["number"],
            &self.kit_used["packID"],
            &self.kit_used["number"],
            &self.card_sb["identifier"],
            &self.card_sb["number"],
            &self.card_sb["maskedNumber"],
            &self.card_sb["packID"],
            &self.wallet_sb["walletIdentifier"],
            &self.wallet_sb["walletNumber"],
        ] {
            v.push(s(x));
        }
        v
    }
}

/// What a refused attempt must look like.
#[derive(Debug)]
enum Expect {
    /// BaaS with a program outside the client's scope in the path.
    OutOfScope,
    /// Byte for byte the answer to `twin`, a request naming nothing that exists.
    AsMissing(Req),
}

#[derive(Debug)]
struct Attempt {
    label: String,
    req: Req,
    expect: Expect,
}

fn attempt(label: impl Into<String>, req: Req, expect: Expect) -> Attempt {
    Attempt {
        label: label.into(),
        req,
        expect,
    }
}

fn entity_counts(s: &Server) -> BTreeMap<String, u64> {
    s.entity_counts()
}

/// Everything the sandbox client can read of a world.
fn snapshot(b: &Who, w: &World) -> Vec<(String, Value)> {
    let p = &w.program;
    let mut reads = vec![
        get(format!("/programs/{p}/accounts/{}", w.acc_new)),
        get(format!("/programs/{p}/accounts/{}", w.acc_kit)),
        get(format!("/programs/{p}/accounts/{}", w.acc_pending)),
        get(format!("/programs/{p}/users/{}", w.user_new)),
        get(format!("/programs/{p}/users/{}", w.user_pending)),
        get(format!("/programs/{p}/enrollments/{}", w.rid_new)),
        get(format!("/programs/{p}/enrollments/{}", w.rid_kit)),
        get(format!("/programs/{p}/enrollments/{}", w.rid_pending)),
        get(format!("/sandbox/programs/{p}/packages/{p}KITFREE")),
        get(format!("/sandbox/programs/{p}/packages/{p}KITUSED")),
        get("/sandbox/ofac/reviews"),
    ];
    for id in [&w.card_new, &w.card_kit, &s(&w.card_sb["identifier"])] {
        reads.push(post(FETCH, json!({"device": {"identifier": id}})));
    }
    reads
        .into_iter()
        .map(|r| {
            let a = b.send(&r);
            assert_eq!(a.status, 200, "{r:?}: {}", a.text);
            (format!("{} {}", r.method, r.path), a.body)
        })
        .collect()
}

/// Card keys naming PARTNER2 entities, each with a random key of the same kind.
fn device_keys(p2: &World, sb: &World) -> Vec<(String, Value, Value)> {
    let bin = "5100007";
    let num = |seed| leakscan::luhn_number(bin, 16, seed);
    let pack_like = |v: &Value| rand_like("NOPACK", s(v).len());
    let alias_like = |a: &str| rand_like("NO-", a.len());
    let sb_id = s(&sb.card_sb["identifier"]);
    vec![
        (
            "identifier of an enrolled card".into(),
            json!({"identifier": p2.card_new}),
            json!({"identifier": rand_id()}),
        ),
        (
            "identifier of an instant-issue card".into(),
            json!({"identifier": p2.card_kit}),
            json!({"identifier": rand_id()}),
        ),
        (
            "identifier of a sandbox card".into(),
            json!({"identifier": p2.card_sb["identifier"]}),
            json!({"identifier": rand_id()}),
        ),
        (
            "number of a sandbox card".into(),
            json!({"number": p2.card_sb["number"]}),
            json!({"number": num(rand_u64())}),
        ),
        (
            "number of an instant-issue card".into(),
            json!({"number": p2.kit_used["number"]}),
            json!({"number": num(rand_u64())}),
        ),
        (
            "number of an unused kit".into(),
            json!({"number": p2.kit_free["number"]}),
            json!({"number": num(rand_u64())}),
        ),
        (
            "packID of an instant-issue card".into(),
            json!({"packID": p2.kit_used["packID"]}),
            json!({"packID": pack_like(&p2.kit_used["packID"])}),
        ),
        (
            "packID of an unused kit".into(),
            json!({"packID": p2.kit_free["packID"]}),
            json!({"packID": pack_like(&p2.kit_free["packID"])}),
        ),
        (
            "packID of a sandbox card".into(),
            json!({"packID": p2.card_sb["packID"]}),
            json!({"packID": pack_like(&p2.card_sb["packID"])}),
        ),
        (
            "alias of an enrolled card".into(),
            json!({"alias": "PARTNER2-NEW"}),
            json!({"alias": alias_like("PARTNER2-NEW")}),
        ),
        (
            "alias of an instant-issue card".into(),
            json!({"alias": "PARTNER2-KIT"}),
            json!({"alias": alias_like("PARTNER2-KIT")}),
        ),
        (
            "alias of a sandbox card".into(),
            json!({"alias": "PARTNER2-CARD"}),
            json!({"alias": alias_like("PARTNER2-CARD")}),
        ),
        (
            "own identifier + PARTNER2 number".into(),
            json!({"identifier": sb_id, "number": p2.card_sb["number"]}),
            json!({"identifier": sb_id, "number": num(rand_u64())}),
        ),
        (
            "own identifier + PARTNER2 packID".into(),
            json!({"identifier": sb_id, "packID": p2.card_sb["packID"]}),
            json!({"identifier": sb_id, "packID": pack_like(&p2.card_sb["packID"])}),
        ),
        (
            "PARTNER2 identifier + own alias".into(),
            json!({"identifier": p2.card_sb["identifier"], "alias": "SANDBOX-CARD"}),
            json!({"identifier": rand_id(), "alias": "SANDBOX-CARD"}),
        ),
        (
            "all four keys of a PARTNER2 card".into(),
            json!({"identifier": p2.card_sb["identifier"], "number": p2.card_sb["number"],
                   "packID": p2.card_sb["packID"], "alias": "PARTNER2-CARD"}),
            json!({"identifier": rand_id(), "number": num(rand_u64()),
                   "packID": pack_like(&p2.card_sb["packID"]), "alias": alias_like("PARTNER2-CARD")}),
        ),
    ]
}

fn attempts(p2: &World, sb: &World) -> Vec<Attempt> {
    let mut v = Vec::new();
    let missing = |r: Req| Expect::AsMissing(r);
    // ------------------------------------------------------------------ BaaS
    for (what, id, rand) in [
        ("accounts", &p2.acc_new, rand_id()),
        ("accounts", &p2.acc_kit, rand_id()),
        ("accounts", &p2.acc_pending, rand_id()),
        ("users", &p2.user_new, rand_id()),
        ("users", &p2.user_pending, rand_id()),
        ("enrollments", &p2.rid_new, uuid()),
        ("enrollments", &p2.rid_kit, uuid()),
        ("enrollments", &p2.rid_pending, uuid()),
    ] {
        v.push(attempt(
            format!("BaaS GET PARTNER2 {what} {id}"),
            get(format!("/programs/PARTNER2/{what}/{id}")),
            Expect::OutOfScope,
        ));
        v.push(attempt(
            format!("BaaS GET PARTNER2's {what} through SANDBOX"),
            get(format!("/programs/SANDBOX/{what}/{id}")),
            missing(get(format!("/programs/SANDBOX/{what}/{rand}"))),
        ));
    }
    let new_body = body();
    let kit_body = with(
        body(),
        "/instantIssue",
        json!({"type": "CBS", "mappingIdentifier": "PARTNER2KITFREE"}),
    );
    let upgrade =
        |acc: &str| json!({"productCode": "DDA100", "upgradeFlag": true, "accountIdentifier": acc});
    v.push(attempt(
        "BaaS POST PARTNER2 new enrollment",
        post("/programs/PARTNER2/enrollments", new_body.clone()),
        Expect::OutOfScope,
    ));
    v.push(attempt(
        "BaaS POST PARTNER2 instant issue of PARTNER2's kit",
        post("/programs/PARTNER2/enrollments", kit_body.clone()),
        Expect::OutOfScope,
    ));
    for acc in [&p2.acc_new, &p2.acc_kit, &p2.acc_pending] {
        v.push(attempt(
            "BaaS POST PARTNER2 upgrade of a PARTNER2 account",
            post("/programs/PARTNER2/enrollments", upgrade(acc)),
            Expect::OutOfScope,
        ));
        let mut gpr = upgrade(acc);
        gpr["productCode"] = json!("GPR100");
        v.push(attempt(
            "BaaS POST PARTNER2 upgrade to its own product",
            post("/programs/PARTNER2/enrollments", gpr),
            Expect::OutOfScope,
        ));
        v.push(attempt(
            "BaaS POST SANDBOX upgrade of a PARTNER2 account",
            post("/programs/SANDBOX/enrollments", upgrade(acc)),
            missing(post("/programs/SANDBOX/enrollments", upgrade(&rand_id()))),
        ));
    }
    let mut replay = post("/programs/PARTNER2/enrollments", new_body);
    replay.rid = Some(p2.rid_new.clone());
    v.push(attempt(
        "BaaS POST PARTNER2 with the requestId of a PARTNER2 enrollment",
        replay,
        Expect::OutOfScope,
    ));
    for m in ["PARTNER2KITFREE", "PARTNER2KITUSED"] {
        let b = with(
            body(),
            "/instantIssue",
            json!({"type": "CBS", "mappingIdentifier": m}),
        );
        let twin = with(
            b.clone(),
            "/instantIssue/mappingIdentifier",
            json!(rand_like("NOKIT", m.len())),
        );
        v.push(attempt(
            format!("BaaS POST SANDBOX instant issue with PARTNER2's kit {m}"),
            post("/programs/SANDBOX/enrollments", b),
            missing(post("/programs/SANDBOX/enrollments", twin)),
        ));
    }
    // ---------------------------------------------------------------- device
    for (label, keys, twin) in device_keys(p2, sb) {
        for program in [None, Some("PARTNER2"), Some("SANDBOX")] {
            let with_program = |mut b: Value| {
                if let Some(p) = program {
                    b["programCode"] = json!(p);
                }
                b
            };
            let wallets = json!([{"planCode": "WUSD"}]);
            v.push(attempt(
                format!("device attach by {label}, programCode {program:?}"),
                post(
                    ATTACH,
                    with_program(json!({"device": keys, "wallets": wallets})),
                ),
                missing(post(
                    ATTACH,
                    with_program(json!({"device": twin, "wallets": wallets})),
                )),
            ));
            v.push(attempt(
                format!("device fetchwallet by {label}, programCode {program:?}"),
                post(FETCH, with_program(json!({"device": keys}))),
                missing(post(FETCH, with_program(json!({"device": twin})))),
            ));
        }
    }
    // An alias on a NORMAL PARTNER2 card and on a BLOCKED SANDBOX card: to the limited client
    // only the blocked card exists (GPRW001), as for an alias only a blocked card of its own has.
    for (path, extra) in [
        (ATTACH, json!([{"planCode": "WUSD"}])),
        (FETCH, Value::Null),
    ] {
        let body = |alias: &str| {
            let mut b = json!({"device": {"alias": alias}});
            if !extra.is_null() {
                b["wallets"] = extra.clone();
            }
            b
        };
        v.push(attempt(
            format!("device {path} by an alias shared with a NORMAL PARTNER2 card"),
            post(path, body("SHARED-BLOCKED")),
            missing(post(path, body("ONLY-BLOCKED"))),
        ));
    }
    // --------------------------------------------------------------- sandbox
    for m in ["PARTNER2KITFREE", "PARTNER2KITUSED"] {
        v.push(attempt(
            format!("sandbox GET PARTNER2 kit {m}"),
            get(format!("/sandbox/programs/PARTNER2/packages/{m}")),
            missing(get(format!("/sandbox/programs/NOPROG/packages/{m}"))),
        ));
        v.push(attempt(
            format!("sandbox GET PARTNER2's kit {m} through SANDBOX"),
            get(format!("/sandbox/programs/SANDBOX/packages/{m}")),
            missing(get(format!(
                "/sandbox/programs/SANDBOX/packages/{}",
                rand_like("NOKIT", m.len())
            ))),
        ));
    }
    let kits = json!({"packages": [{"mappingIdentifier": "EVILKIT", "productCode": "GPR100"}]});
    v.push(attempt(
        "sandbox load kits into PARTNER2",
        post("/sandbox/programs/PARTNER2/packages", kits.clone()),
        missing(post("/sandbox/programs/NOPROG/packages", kits)),
    ));
    let gen = json!({"generate": {"count": 2, "productCode": "GPR100", "prefix": "EVIL"}});
    v.push(attempt(
        "sandbox generate kits in PARTNER2",
        post("/sandbox/programs/PARTNER2/packages", gen.clone()),
        missing(post("/sandbox/programs/NOPROG/packages", gen)),
    ));
    let card = json!({"productCode": "GPR100", "cardType": "PRIMARY"});
    v.push(attempt(
        "sandbox create a card in PARTNER2",
        post("/sandbox/programs/PARTNER2/devices", card.clone()),
        missing(post("/sandbox/programs/NOPROG/devices", card)),
    ));
    for acc in [&p2.acc_new, &p2.acc_kit] {
        for program in ["PARTNER2", "SANDBOX"] {
            let card = |a: &str| json!({"productCode": "GPR100", "cardType": "PRIMARY", "accountIdentifier": a});
            v.push(attempt(
                format!("sandbox create a card in {program} on a PARTNER2 account"),
                post(format!("/sandbox/programs/{program}/devices"), card(acc)),
                missing(post(
                    format!(
                        "/sandbox/programs/{}/devices",
                        if program == "SANDBOX" {
                            "SANDBOX"
                        } else {
                            "NOPROG"
                        }
                    ),
                    card(&rand_id()),
                )),
            ));
        }
    }
    let p2_cards = [
        p2.card_new.clone(),
        p2.card_kit.clone(),
        s(&p2.card_sb["identifier"]),
    ];
    for id in &p2_cards {
        for status in ["BLOCKED", "CANCELLED", "NORMAL", "NOT_A_STATUS"] {
            v.push(attempt(
                format!("sandbox set card status {status}"),
                put(
                    format!("/sandbox/devices/{id}/status"),
                    json!({ "status": status }),
                ),
                missing(put(
                    format!("/sandbox/devices/{}/status", rand_id()),
                    json!({ "status": status }),
                )),
            ));
        }
        v.push(attempt(
            "sandbox replace a card",
            post(format!("/sandbox/devices/{id}/replace"), Value::Null),
            missing(post(
                format!("/sandbox/devices/{}/replace", rand_id()),
                Value::Null,
            )),
        ));
    }
    for w in [p2.wallet_new.clone(), s(&p2.wallet_sb["walletIdentifier"])] {
        for status in ["CLOSED", "INACTIVE", "NORMAL"] {
            v.push(attempt(
                format!("sandbox set wallet status {status}"),
                put(
                    format!("/sandbox/wallets/{w}/status"),
                    json!({ "status": status }),
                ),
                missing(put(
                    format!("/sandbox/wallets/{}/status", rand_id()),
                    json!({ "status": status }),
                )),
            ));
        }
    }
    for u in [&p2.user_pending, &p2.user_new] {
        for d in ["clear", "decline"] {
            v.push(attempt(
                format!("sandbox OFAC {d} on a PARTNER2 user"),
                post(
                    format!("/sandbox/ofac/reviews/{u}"),
                    json!({ "decision": d }),
                ),
                missing(post(
                    format!("/sandbox/ofac/reviews/{}", rand_id()),
                    json!({ "decision": d }),
                )),
            ));
        }
    }
    v
}

const OUT_OF_SCOPE: &str =
    r#"{"responseDetails":[{"code":401,"description":"out of credential scopes","subCode":0}]}"#;

/// Checks one attempt; answers the failures found.
fn check(l: &Who, a: &Attempt, secrets: &[String]) -> Vec<String> {
    let mut bad = Vec::new();
    let got = l.send(&a.req);
    let ctx = format!("{} [{} {}]", a.label, a.req.method, a.req.path);
    match &a.expect {
        Expect::OutOfScope => {
            let want: Value = serde_json::from_str(OUT_OF_SCOPE).unwrap();
            if got.status != 401 || got.body != want {
                bad.push(format!(
                    "{ctx}: want 401 out of credential scopes, got {} {}",
                    got.status, got.text
                ));
            }
        }
        Expect::AsMissing(twin) => {
            let want = l.send(twin);
            if got.status != want.status || got.text != want.text {
                bad.push(format!(
                    "{ctx}: answered {} {} but a missing one answers {} {}",
                    got.status, got.text, want.status, want.text
                ));
            }
            if !(400..500).contains(&got.status) {
                bad.push(format!("{ctx}: not refused: {} {}", got.status, got.text));
            }
            let problem = got.header("content-type") == Some("application/problem+json");
            // A sandbox refusal is the not-found problem; only a request that is invalid for
            // any key (the missing twin answers 400 too) is refused before the lookup, and a
            // program path outside the client's programs answers 401 (existing or not).
            let program_path = a.req.path.starts_with("/sandbox/programs/")
                && !a.req.path.starts_with("/sandbox/programs/SANDBOX/");
            let status_ok =
                got.status == 404 || want.status == 400 || (program_path && got.status == 401);
            if a.req.path.starts_with("/sandbox/") && (!status_ok || !problem) {
                bad.push(format!(
                    "{ctx}: sandbox refusal is not a 404 problem+json: {} {:?} {}",
                    got.status,
                    got.header("content-type"),
                    got.text
                ));
            }
            if a.req.path.starts_with("/deviceapi/") {
                let code = got.body["code"].as_str().unwrap_or("");
                if got.status != 400 || !["GPR100", "GPR102", "GPRW001"].contains(&code) {
                    bad.push(format!(
                        "{ctx}: device refusal is not a not-found row: {}",
                        got.text
                    ));
                }
            }
        }
    }
    for x in secrets {
        if got.text.contains(x.as_str()) {
            bad.push(format!("{ctx}: the answer reveals {x}: {}", got.text));
        }
    }
    bad
}

#[test]
fn a_client_limited_to_one_program_cannot_see_or_touch_another() {
    let srv = Server::start_with(&[LIMITED_CLIENT]);
    let all = Who::new(&srv, "sandbox", "sandbox-secret");
    let limited = Who::new(&srv, "limited", "limited-secret");
    let p2 = World::build(&all, "PARTNER2");
    let sb = World::build(&all, "SANDBOX");
    // The shared-alias case: NORMAL in PARTNER2, BLOCKED in SANDBOX; and a control alias that
    // only a BLOCKED SANDBOX card has.
    for (p, alias, status) in [
        ("PARTNER2", "SHARED-BLOCKED", "NORMAL"),
        ("SANDBOX", "SHARED-BLOCKED", "BLOCKED"),
        ("SANDBOX", "ONLY-BLOCKED", "BLOCKED"),
    ] {
        all.ok(&post(
            format!("/sandbox/programs/{p}/devices"),
            json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": alias, "status": status}),
        ));
    }

    let counts_before = entity_counts(&srv);
    let before = snapshot(&all, &p2);
    let mut secrets = p2.secrets();
    secrets.sort();
    secrets.dedup();

    let list = attempts(&p2, &sb);
    let mut failures = Vec::new();
    for a in &list {
        failures.extend(check(&limited, a, &secrets));
    }
    // The list of reviews shows SANDBOX's and none of PARTNER2's.
    let reviews = limited.send(&get("/sandbox/ofac/reviews"));
    assert_eq!(reviews.status, 200, "{}", reviews.text);
    assert!(reviews.text.contains(&sb.user_pending), "{}", reviews.text);
    for x in &secrets {
        if reviews.text.contains(x.as_str()) {
            failures.push(format!("the review list reveals {x}: {}", reviews.text));
        }
    }
    let attempted =
        list.len() + 1 + events_of_another_program(&all, &limited, &p2, &secrets, &mut failures);

    assert!(
        failures.is_empty(),
        "{} of {attempted} attempts misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(entity_counts(&srv), counts_before, "entity counts moved");
    let after = snapshot(&all, &p2);
    for ((what, b), (_, a)) in before.iter().zip(&after) {
        assert_eq!(b, a, "{what} changed");
    }
    println!("isolation: {attempted} attempts on PARTNER2 by a SANDBOX-only client, all refused as missing or out of scope");

    // Controls: the same requests on the client's own program succeed.
    let controls = own_program_controls(&limited, &sb);
    println!("isolation: {controls} control requests on the client's own program succeeded");

    // The checks can fail: the all-programs client, which may see PARTNER2, is caught on every
    // read that names a PARTNER2 card, kit, account, user or enrollment directly (writes would
    // change the world; keys that are wrong for any client are left out).
    let reads: Vec<&Attempt> = list
        .iter()
        .filter(|a| {
            a.label.starts_with("BaaS GET PARTNER2 ")
                || a.label.starts_with("sandbox GET PARTNER2 kit")
                || (a.label.starts_with("device fetchwallet by")
                    && !a.label.contains("\"SANDBOX\"")
                    && !a.label.contains("own")
                    && !a.label.contains("unused kit"))
        })
        .collect();
    let missed: Vec<&str> = reads
        .iter()
        .filter(|a| check(&all, a, &secrets).is_empty())
        .map(|a| a.label.as_str())
        .collect();
    assert!(
        missed.is_empty(),
        "the checks let the all-programs client pass: {missed:#?}"
    );
    println!(
        "isolation: the same checks catch the all-programs client on all {} direct reads",
        reads.len()
    );
}

/// Events and webhooks: the limited client's event list holds none of PARTNER2's, an id or a
/// subject of PARTNER2 finds nothing (answered as for an id that names nothing), and neither
/// `programCode=PARTNER2` nor an endpoint for PARTNER2 is allowed. The all-programs client does
/// see PARTNER2's events, so the checks can fail. Answers the number of attempts.
fn events_of_another_program(
    all: &Who,
    limited: &Who,
    p2: &World,
    secrets: &[String],
    failures: &mut Vec<String>,
) -> usize {
    let theirs: Vec<Value> = all.ok(&get("/events?programCode=PARTNER2&limit=500"))["data"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        theirs.len() >= 10,
        "the all-programs client sees PARTNER2's events"
    );
    let mut attempts = 0;
    let page = limited.send(&get("/events?limit=500"));
    attempts += 1;
    assert_eq!(page.status, 200, "{}", page.text);
    for x in secrets {
        if page.text.contains(x.as_str()) {
            failures.push(format!("the event list reveals {x}"));
        }
    }
    let unknown = limited.send(&get("/events/evt_nothing_999999"));
    for e in &theirs {
        let id = s(&e["id"]);
        let a = limited.send(&get(format!("/events/{id}")));
        attempts += 1;
        if (a.status, &a.text) != (unknown.status, &unknown.text) {
            failures.push(format!("GET /events/{id}: {} {}", a.status, a.text));
        }
    }
    for subject in [
        &p2.user_new,
        &p2.acc_new,
        &p2.card_new,
        &p2.wallet_new,
        &p2.acc_kit,
    ] {
        let a = limited.send(&get(format!("/events?subject={subject}")));
        attempts += 1;
        if a.status != 200 || a.body["data"] != json!([]) {
            failures.push(format!(
                "events of subject {subject}: {} {}",
                a.status, a.text
            ));
        }
    }
    let by_program = limited.send(&get("/events?programCode=PARTNER2"));
    let hook = limited.send(&post(
        "/webhooks",
        json!({"url": "http://127.0.0.1:9/hook", "eventTypes": ["*"], "programCodes": ["PARTNER2"]}),
    ));
    attempts += 2;
    for (what, a) in [
        ("events of PARTNER2", by_program),
        ("an endpoint for PARTNER2", hook),
    ] {
        if a.status != 401 || a.body["code"] != "UNAUTHORIZED" {
            failures.push(format!("{what}: {} {}", a.status, a.text));
        }
    }
    attempts
}

/// The limited client reaches its own program's twin by the same keys; answers the count.
fn own_program_controls(l: &Who, sb: &World) -> usize {
    let mut reqs = vec![
        get(format!("/programs/SANDBOX/accounts/{}", sb.acc_new)),
        get(format!("/programs/SANDBOX/users/{}", sb.user_new)),
        get("/sandbox/programs/SANDBOX/packages/SANDBOXKITFREE"),
    ];
    for keys in [
        json!({"identifier": sb.card_new}),
        json!({"identifier": sb.card_kit}),
        json!({"number": sb.card_sb["number"]}),
        json!({"number": sb.kit_used["number"]}),
        json!({"packID": sb.kit_used["packID"]}),
        json!({"packID": sb.card_sb["packID"]}),
        json!({"alias": "SANDBOX-NEW"}),
        json!({"alias": "SANDBOX-CARD"}),
    ] {
        reqs.push(post(
            FETCH,
            json!({"device": keys.clone(), "programCode": "SANDBOX"}),
        ));
        reqs.push(post(FETCH, json!({"device": keys})));
    }
    reqs.push(post(
        ATTACH,
        json!({"device": {"identifier": sb.card_kit}, "wallets": [{"planCode": "WEUR"}]}),
    ));
    reqs.push(put(
        format!("/sandbox/wallets/{}/status", sb.wallet_new),
        json!({"status": "INACTIVE"}),
    ));
    reqs.push(put(
        format!("/sandbox/devices/{}/status", sb.card_new),
        json!({"status": "BLOCKED"}),
    ));
    reqs.push(post(
        format!(
            "/sandbox/devices/{}/replace",
            sb.card_sb["identifier"].as_str().unwrap()
        ),
        Value::Null,
    ));
    reqs.push(post(
        format!("/sandbox/ofac/reviews/{}", sb.user_pending),
        json!({"decision": "clear"}),
    ));
    reqs.push(post(
        "/programs/SANDBOX/enrollments",
        json!({"productCode": "DDA100", "upgradeFlag": true, "accountIdentifier": sb.acc_kit}),
    ));
    reqs.push(post(
        "/programs/SANDBOX/enrollments",
        with(
            body(),
            "/instantIssue",
            json!({"type": "CBS", "mappingIdentifier": "SANDBOXKITFREE"}),
        ),
    ));
    for r in &reqs {
        let a = l.send(r);
        assert!((200..300).contains(&a.status), "control {r:?}: {}", a.text);
        if r.path.starts_with("/programs/") && r.method == "POST" {
            assert_eq!(a.body["responseDetails"][0]["code"], 0, "{}", a.text);
        }
    }
    reqs.len()
}

/// Card pack IDs are unique within a program, so another program's are no existence oracle: creating a
/// SANDBOX card or kit with the pack ID of a PARTNER2 card or kit must answer as for a free one.
#[test]
fn a_pack_id_of_another_program_is_not_an_existence_oracle() {
    let srv = Server::start_with(&[LIMITED_CLIENT]);
    let all = Who::new(&srv, "sandbox", "sandbox-secret");
    let limited = Who::new(&srv, "limited", "limited-secret");
    // PARTNER2 holds four pack IDs: two on kits, two on cards. Each is tried once in SANDBOX
    // (a successful try takes it there, so no pack ID is tried twice).
    for (m, pack) in [("P2KITA", "P2KITPACK01"), ("P2KITB", "P2KITPACK02")] {
        let kit = all.ok(&post(
            "/sandbox/programs/PARTNER2/packages",
            json!({"packages": [{"mappingIdentifier": m, "productCode": "GPR100", "packID": pack}]}),
        ));
        assert_eq!(kit["packages"][0]["packID"], pack);
    }
    for pack in ["P2CARDPACK1", "P2CARDPACK2"] {
        all.ok(&post(
            "/sandbox/programs/PARTNER2/devices",
            json!({"productCode": "GPR100", "cardType": "PRIMARY", "packID": pack}),
        ));
    }
    let card = |p: &str| {
        post(
            "/sandbox/programs/SANDBOX/devices",
            json!({"productCode": "GPR100", "cardType": "PRIMARY", "packID": p}),
        )
    };
    let kit = |p: &str| {
        post(
            "/sandbox/programs/SANDBOX/packages",
            json!({"packages": [{"mappingIdentifier": format!("K{p}"), "productCode": "GPR100", "packID": p}]}),
        )
    };
    let mut failures = Vec::new();
    for (got, want, taken) in [
        (
            limited.send(&card("P2KITPACK01")),
            limited.send(&card("FREEPACK001")),
            "P2KITPACK01",
        ),
        (
            limited.send(&card("P2CARDPACK1")),
            limited.send(&card("FREEPACK002")),
            "P2CARDPACK1",
        ),
        (
            limited.send(&kit("P2KITPACK02")),
            limited.send(&kit("FREEPACK003")),
            "P2KITPACK02",
        ),
        (
            limited.send(&kit("P2CARDPACK2")),
            limited.send(&kit("FREEPACK004")),
            "P2CARDPACK2",
        ),
    ] {
        if got.status != want.status {
            failures.push(format!(
                "pack ID {taken}: {} {} where a free one answers {}",
                got.status, got.text, want.status
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same card pack ID in two programs: the client that sees only one program finds its card;
/// the client that sees both finds no single card (GPR102) until `programCode` narrows it.
#[test]
fn a_pack_id_is_resolved_within_the_programs_a_client_may_use() {
    let srv = Server::start_with(&[LIMITED_CLIENT]);
    let all = Who::new(&srv, "sandbox", "sandbox-secret");
    let limited = Who::new(&srv, "limited", "limited-secret");
    let mut ids = Vec::new();
    for program in ["SANDBOX", "PARTNER2"] {
        let c = all.ok(&post(
            format!("/sandbox/programs/{program}/devices"),
            json!({"productCode": "GPR100", "cardType": "PRIMARY", "packID": "SHAREDPACK1"}),
        ));
        ids.push(c["identifier"].as_str().unwrap().to_string());
    }
    let fetch = |who: &Who, body: Value| {
        who.send(&post(
            "/deviceapi/apis/v1/services/wallet/fetchwallet",
            body,
        ))
    };
    let mine = fetch(&limited, json!({"device": {"packID": "SHAREDPACK1"}}));
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body["device"]["identifier"], ids[0]);
    let both = fetch(&all, json!({"device": {"packID": "SHAREDPACK1"}}));
    assert_eq!(both.status, 400);
    assert_eq!(
        both.body,
        json!({"code": "GPR102", "message": "Invalid id/card pack id/device/CAN"})
    );
    let narrowed = fetch(
        &all,
        json!({"device": {"packID": "SHAREDPACK1"}, "programCode": "PARTNER2"}),
    );
    assert_eq!(narrowed.status, 200, "{}", narrowed.text);
    assert_eq!(narrowed.body["device"]["identifier"], ids[1]);
}

/// Contract section 2: a `{programCode}` path segment outside the client's programs answers 401
/// problem+json (`UNAUTHORIZED`) in the sandbox too, whether the program exists or not, and
/// changes nothing; a client of every program gets 404 for an unknown one.
#[test]
fn a_sandbox_path_outside_the_clients_programs_answers_401_whether_it_exists_or_not() {
    let srv = Server::start_with(&[LIMITED_CLIENT]);
    let limited = Api::as_client(&srv, "limited", "limited-secret");
    let all = Api::new(&srv);
    let kits = json!({"packages": [{"mappingIdentifier": "SCOPEKIT1", "productCode": "GPR100"}]});
    let card = json!({"productCode": "GPR100", "cardType": "PRIMARY"});
    for program in ["PARTNER2", "NOPROG"] {
        for (method, path, body) in [
            (
                "POST",
                format!("/sandbox/programs/{program}/packages"),
                Some(&kits),
            ),
            (
                "POST",
                format!("/sandbox/programs/{program}/devices"),
                Some(&card),
            ),
            (
                "GET",
                format!("/sandbox/programs/{program}/packages/SCOPEKIT1"),
                None,
            ),
        ] {
            let a = limited.call(method, &path, body);
            assert_eq!(a.status, 401, "{method} {path}: {}", a.text);
            assert_eq!(a.body["code"], "UNAUTHORIZED", "{}", a.text);
            assert_eq!(a.body["status"], 401, "{}", a.text);
            assert_eq!(a.header("content-type"), Some("application/problem+json"));
        }
    }
    // Nothing was loaded into PARTNER2.
    let a = all.call("GET", "/sandbox/programs/PARTNER2/packages/SCOPEKIT1", None);
    assert_eq!(a.status, 404, "{}", a.text);
    // A client of every program: an unknown program is 404.
    let a = all.call("POST", "/sandbox/programs/NOPROG/packages", Some(&kits));
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{}",
        a.text
    );
    assert_eq!(a.body["detail"], "no such program");
}
