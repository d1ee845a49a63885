//! The device dialect over the real binary: every row of the attach table, the success shape,
//! fetchwallet, all-or-nothing under faults, the 15-wallet cap (also under concurrency), and
//! alias resolution across replacement and duplicates.

mod common;
use common::*;
use serde_json::{json, Value};

/// Asserts a device-dialect error: HTTP status, exact code and exact message.
fn assert_err(a: &Answer, status: u16, code: &str, message: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert_eq!(
        a.body,
        json!({"code": code, "message": message}),
        "{}",
        a.text
    );
}

const LEN: &str = "INVALID_FIELD_LENGTH";

fn wallets(plans: &[&str]) -> Value {
    Value::Array(plans.iter().map(|p| json!({"planCode": p})).collect())
}

fn by_id(card: &Value) -> Value {
    json!({"identifier": card["identifier"]})
}

fn attach_plans(api: &Api, card: &Value, plans: &[&str]) -> Answer {
    api.attach(json!({"device": by_id(card), "wallets": wallets(plans)}))
}

/// Wallets of a card as fetchwallet shows them: (planCode, status).
fn wallet_list(api: &Api, device: Value) -> Vec<(String, String)> {
    let a = api.fetch(device);
    assert_eq!(a.status, 200, "{}", a.text);
    a.body["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["planCode"].as_str().unwrap().to_string(),
                w["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- rows 1-12: the request alone

/// Rows 1-12 look at the request alone, so one server answers them all (a server per row cost
/// twelve processes); each row still asserts the exact status, code and message over HTTP.
#[test]
fn rows_01_to_12_answer_from_the_request_alone() {
    let s = Server::start();
    let api = Api::new(&s);
    // row01 no device key is missing required field
    {
        let msg = "Missing Required Field identifier or packID or alias or number.";
        for body in [
            json!({"wallets": wallets(&["WUSD"])}),
            json!({"device": null, "wallets": wallets(&["WUSD"])}),
            json!({"device": {}, "wallets": wallets(&["WUSD"])}),
            json!({"device": {"identifier": "", "number": null, "packID": "", "alias": ""}, "wallets": []}),
        ] {
            assert_err(&api.attach(body), 400, "MISSING_REQUIRED_FIELD", msg);
        }
    }
    // row02 number length
    {
        for n in ["40000099123456", "40000099123456789012"] {
            let a = api.attach(json!({"device": {"number": n, "identifier": "x"}, "wallets": []}));
            assert_err(
                &a,
                400,
                LEN,
                "Device Number size must be between 15 and 19.",
            );
        }
    }
    // row03 identifier length
    {
        for id in ["1234567890123", &"a".repeat(37)] {
            let a = api.attach(json!({"device": {"identifier": id, "packID": "x"}, "wallets": []}));
            assert_err(&a, 400, LEN, "Id size must be between 14 and 36.");
        }
    }
    // row04 pack id length
    {
        for p in ["PACK00001", &"P".repeat(25)] {
            let a = api.attach(json!({"device": {"packID": p, "alias": "a".repeat(30)}}));
            assert_err(&a, 400, LEN, "Card Pack ID size must be between 10 and 24.");
        }
    }
    // row05 alias length
    {
        let a =
            api.attach(json!({"device": {"alias": "a".repeat(25)}, "programCode": "X".repeat(11)}));
        assert_err(&a, 400, LEN, "Alias size must be between 1 and 24.");
    }
    // row06 program code length
    {
        let a = api.attach(json!({"device": {"alias": "A"}, "programCode": "X".repeat(11), "devicePlanCode": "X".repeat(11)}));
        assert_err(&a, 400, LEN, "Program Code size must be between 1 and 10.");
    }
    // row07 device plan code length
    {
        let a = api.attach(json!({"device": {"alias": "A"}, "devicePlanCode": "X".repeat(11), "wallets": [{"planCode": "X".repeat(11)}]}));
        assert_err(
            &a,
            400,
            LEN,
            "Device Plan Code size must be between 1 and 10.",
        );
    }
    // row08 plan code length in wallet order
    {
        // A wallet without a plan (row 10) and a short promotion do not hide a long plan later on.
        let a = api.attach(json!({"device": {"alias": "A"}, "wallets": [
            {"promotionCode": "P".repeat(11)}, {"planCode": "WUSD"}, {"planCode": "ELEVENCHARS"}
        ]}));
        assert_err(
            &a,
            400,
            LEN,
            "Plan Code Code size must be between 1 and 10.",
        );
    }
    // row09 promotion code length
    {
        let a = api.attach(json!({"device": {"alias": "A"}, "wallets": [
            {}, {"planCode": "WUSD", "promotionCode": "ELEVENCHARS"}
        ]}));
        assert_err(
            &a,
            400,
            LEN,
            "Promotion Code size must be between 1 and 10.",
        );
    }
    // row10 no wallets or a wallet without plan
    {
        for ws in [
            Value::Null,
            json!([]),
            json!([{"planCode": "WUSD"}, {"promotionCode": "PROMO1"}]),
            json!([{"planCode": ""}]),
            json!([{"planCode": null}]),
            json!([null]),
        ] {
            let a = api.attach(json!({"device": {"alias": "A"}, "wallets": ws}));
            assert_err(&a, 400, "GPRW005", "Wallet plan 1 Field is mandatory.");
        }
        let a = api.attach(json!({"device": {"alias": "A"}}));
        assert_err(&a, 400, "GPRW005", "Wallet plan 1 Field is mandatory.");
    }
    // row11 duplicate plans in request
    {
        let a = api.attach(
            json!({"device": {"alias": "A"}, "wallets": wallets(&["WUSD", "WEUR", "WUSD"])}),
        );
        assert_err(
            &a,
            400,
            "GPRW006",
            "Duplicate wallet plans present in request.",
        );
    }
    // row12 more than 15 wallets in request
    {
        let plans: Vec<String> = (0..16).map(|i| format!("P{i}")).collect();
        let plans: Vec<&str> = plans.iter().map(String::as_str).collect();
        // The alias names no card: the request-only row answers first.
        let a = api.attach(json!({"device": {"alias": "NOBODY"}, "wallets": wallets(&plans)}));
        assert_err(
            &a,
            400,
            "GPRW010",
            "Maximum 15 wallets other than Closed status are allowed.",
        );
    }
}

// ---------------------------------------------------------------- rows 13-17: finding the card

#[test]
fn row13_alias_unknown_lookalike_or_outside_program_code() {
    let s = Server::start();
    let api = Api::new(&s);
    api.new_card(json!({"alias": "CUST-1"}));
    let msg = "Invalid Card number alias";
    let a = api.attach(json!({"device": {"alias": "CUST-2"}, "wallets": wallets(&["WUSD"])}));
    assert_err(&a, 400, "GPR100", msg);
    // Luhn-valid 16 digits: never an alias.
    let a =
        api.attach(json!({"device": {"alias": "4111111111111111"}, "wallets": wallets(&["WUSD"])}));
    assert_err(&a, 400, "GPR100", msg);
    // programCode narrows the alias: the only card carrying it is of SANDBOX.
    let a = api.attach(json!({"device": {"alias": "CUST-1"}, "programCode": "PARTNER2", "wallets": wallets(&["WUSD"])}));
    assert_err(&a, 400, "GPR100", msg);
    // A client that may not use PARTNER2 does not see its cards.
    api.new_card_in(
        "PARTNER2",
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": "P2-ONLY"}),
    );
    let branch = Api::as_client(&s, "branch", "branch-secret");
    let a = branch.attach(json!({"device": {"alias": "P2-ONLY"}, "wallets": wallets(&["WUSD"])}));
    assert_err(&a, 400, "GPR100", msg);
}

#[test]
fn row14_alias_on_two_normal_cards_is_duplicate() {
    let s = Server::start();
    let api = Api::new(&s);
    api.new_card(json!({"alias": "TWIN"}));
    api.new_card(json!({"alias": "TWIN"}));
    let a = api.attach(json!({"device": {"alias": "TWIN"}, "wallets": wallets(&["WUSD"])}));
    assert_err(&a, 400, "GPR101", "Duplicate CNA found");
}

#[test]
fn row14_program_code_narrows_a_shared_alias() {
    let s = Server::start();
    let api = Api::new(&s);
    let mine = api.new_card(json!({"alias": "SHARED"}));
    api.new_card_in(
        "PARTNER2",
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": "SHARED"}),
    );
    let a = api.attach(json!({"device": {"alias": "SHARED"}, "wallets": wallets(&["WUSD"])}));
    assert_err(&a, 400, "GPR101", "Duplicate CNA found");
    let a = api.attach(json!({"device": {"alias": "SHARED"}, "programCode": "SANDBOX", "wallets": wallets(&["WUSD"])}));
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["device"]["identifier"], mine["identifier"]);
    // The branch client sees only the SANDBOX card, so the alias is not ambiguous to it.
    let branch = Api::as_client(&s, "branch", "branch-secret");
    let a = branch.attach(json!({"device": {"alias": "SHARED"}, "wallets": wallets(&["WEUR"])}));
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["device"]["identifier"], mine["identifier"]);
}

#[test]
fn row15_alias_without_a_normal_card_is_device_not_found() {
    let s = Server::start();
    let api = Api::new(&s);
    api.new_card(json!({"alias": "SLEEPY", "status": "BLOCKED"}));
    api.new_card(json!({"alias": "SLEEPY", "status": "NOT_ACTIVATED"}));
    let a = api.attach(json!({"device": {"alias": "SLEEPY"}, "wallets": wallets(&["WUSD"])}));
    assert_err(&a, 400, "GPRW001", "Device not found");
}

#[test]
fn row16_unknown_or_mismatched_keys_are_invalid_device() {
    let s = Server::start();
    let api = Api::new(&s);
    let card = api.new_card(json!({"alias": "ONE", "packID": "PACK-ONE-0001"}));
    let other = api.new_card(json!({"alias": "TWO"}));
    let p2 = api.new_card_in(
        "PARTNER2",
        json!({"productCode": "GPR100", "cardType": "PRIMARY"}),
    );
    let msg = "Invalid id/card pack id/device/CAN";
    let w = wallets(&["WUSD"]);
    for device in [
        json!({"identifier": "NoSuchCard0000000000"}),
        json!({"number": "4000009900000002"}),
        json!({"number": "4000-0099-0000-00"}),
        json!({"packID": "PACK-NONE-0001"}),
        json!({"identifier": card["identifier"], "packID": "PACK-NONE-0001"}),
        json!({"alias": "ONE", "identifier": other["identifier"]}),
        json!({"number": card["number"], "identifier": other["identifier"]}),
        json!({"alias": "ONE", "identifier": "NoSuchCard0000000000"}),
    ] {
        let a = api.attach(json!({"device": device, "wallets": w}));
        assert_err(&a, 400, "GPR102", msg);
    }
    let a = api.attach(json!({"device": by_id(&card), "programCode": "PARTNER2", "wallets": w}));
    assert_err(&a, 400, "GPR102", msg);
    let a = api.attach(json!({"device": by_id(&card), "devicePlanCode": "DP99", "wallets": w}));
    assert_err(&a, 400, "GPR102", msg);
    // A card of a program the client may not use does not exist for it.
    let branch = Api::as_client(&s, "branch", "branch-secret");
    let a = branch.attach(json!({"device": by_id(&p2), "wallets": w}));
    assert_err(&a, 400, "GPR102", msg);
    // All keys naming one card, with its program and a device plan of it, pass.
    let a = api.attach(json!({"device": {"identifier": card["identifier"], "number": card["number"],
        "packID": "PACK-ONE-0001", "alias": "ONE"}, "programCode": "SANDBOX", "devicePlanCode": "DP02", "wallets": w}));
    assert_eq!(a.status, 201, "{}", a.text);
}

#[test]
fn row17_cancelled_replaced_or_upgraded_card_without_alias() {
    let s = Server::start();
    let api = Api::new(&s);
    let msg = "Device is in Cancelled/Replaced/Upgrade Status";
    let cancelled = api.new_card(json!({"status": "CANCELLED", "packID": "PACK-CANCELLED"}));
    let replaced = api.new_card(json!({"status": "REPLACED"}));
    let upgraded = api.new_card(json!({"status": "UPGRADE"}));
    // Row 17 answers before row 18: a cancelled DDA card.
    let dda = api.new_card(json!({"productCode": "DDA100", "status": "CANCELLED"}));
    for device in [
        json!({"packID": "PACK-CANCELLED"}),
        json!({"number": replaced["number"]}),
        by_id(&upgraded),
        by_id(&dda),
        by_id(&cancelled),
    ] {
        let a = api.attach(json!({"device": device, "wallets": wallets(&["WUSD"])}));
        assert_err(&a, 400, "GPR104", msg);
    }
    // Other statuses still take wallets by identifier.
    let lost = api.new_card(json!({"status": "LOST"}));
    assert_eq!(attach_plans(&api, &lost, &["WUSD"]).status, 201);
}

// ---------------------------------------------------------------- rows 18-25: plans and writes

#[test]
fn row18_dda_card_is_not_gpr() {
    let s = Server::start();
    let api = Api::new(&s);
    let card = api.new_card(json!({"productCode": "DDA100"}));
    let a = attach_plans(&api, &card, &["NOPLAN"]);
    assert_err(
        &a,
        400,
        "GPRW003",
        "Service request allowed only for GPR program.",
    );
}

#[test]
fn row19_plan_not_of_the_program() {
    let s = Server::start();
    let api = Api::new(&s);
    let card = api.new_card(json!({}));
    let a = api.attach(json!({"device": by_id(&card), "wallets": [
        {"planCode": "WUSD", "promotionCode": "NOPROMO"}, {"planCode": "WNOPE"}
    ]}));
    assert_err(&a, 400, "GPRW007", "Wallet plan not attached to program.");
    assert!(wallet_list(&api, by_id(&card)).is_empty());
}

#[test]
fn row20_unknown_foreign_or_expired_promotion() {
    let s = Server::start();
    let api = Api::new(&s);
    let card = api.new_card(json!({}));
    let msg = "Invalid/Expired promotion plan.";
    for (plan, promo) in [
        ("WUSD", "NOPROMO"),
        ("WGBP", "PROMO1"),
        ("WUSD", "OLDPROMO"),
    ] {
        let a = api.attach(json!({"device": by_id(&card), "wallets": [{"planCode": plan, "promotionCode": promo}]}));
        assert_err(&a, 400, "GPRW008", msg);
    }
    let a = api.attach(json!({"device": by_id(&card), "wallets": [
        {"planCode": "WGBP", "promotionCode": "PROMOALL"}, {"planCode": "WUSD", "promotionCode": "PROMO1"}
    ]}));
    assert_eq!(a.status, 201, "{}", a.text);
}

#[test]
fn row21_existing_plan_until_its_wallet_is_closed() {
    let s = Server::start();
    let api = Api::new(&s);
    let card = api.new_card(json!({}));
    let first = attach_plans(&api, &card, &["WUSD"]);
    assert_eq!(first.status, 201, "{}", first.text);
    let a = attach_plans(&api, &card, &["WEUR", "WUSD"]);
    assert_err(
        &a,
        400,
        "GPRW009",
        "Existing wallet plan cannot be used for generating new wallet.",
    );
    // INACTIVE still holds the plan; CLOSED frees it.
    let wid = first.body["wallets"][0]["walletIdentifier"]
        .as_str()
        .unwrap();
    assert_eq!(api.set_wallet_status(wid, "INACTIVE").status, 200);
    assert_eq!(attach_plans(&api, &card, &["WUSD"]).body["code"], "GPRW009");
    assert_eq!(api.set_wallet_status(wid, "CLOSED").status, 200);
    let a = attach_plans(&api, &card, &["WUSD"]);
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(
        wallet_list(&api, by_id(&card)),
        [
            ("WUSD".into(), "CLOSED".into()),
            ("WUSD".into(), "NORMAL".into())
        ]
    );
}

#[test]
fn row22_same_characteristic_on_the_card_or_earlier_in_the_request() {
    let s = Server::start();
    let api = Api::new(&s);
    let msg = "New wallet under wallet plan can not be created as same characteristic wallet is already attached.";
    let card = api.new_card(json!({}));
    let a = attach_plans(&api, &card, &["WEUR", "WUSD", "WUSD2"]);
    assert_err(&a, 400, "GPRW011", msg);
    assert_eq!(attach_plans(&api, &card, &["WUSD"]).status, 201);
    let a = attach_plans(&api, &card, &["WUSDMCG", "WUSD2"]);
    assert_err(&a, 400, "GPRW011", msg);
    // Other (usage, kind) of the same currency are other characteristics.
    assert_eq!(
        attach_plans(&api, &card, &["WUSDMCG", "WUSDMER"]).status,
        201
    );
}

#[test]
fn row23_cap_of_15_and_closed_wallets_free_a_place() {
    let (from, to) = many_plans_edit(24);
    let s = Server::start_with(&[(from, &to)]);
    let api = Api::new(&s);
    let card = api.new_card(json!({}));
    let plans: Vec<String> = (0..24).map(|i| format!("WX{i:02}")).collect();
    let p: Vec<&str> = plans.iter().map(String::as_str).collect();
    let a = attach_plans(&api, &card, &p[..10]);
    assert_eq!(a.status, 201, "{}", a.text);
    let msg = "Maximum 15 wallets other than Closed status are allowed.";
    assert_err(&attach_plans(&api, &card, &p[10..16]), 400, "GPRW010", msg);
    assert_eq!(attach_plans(&api, &card, &p[10..15]).status, 201);
    assert_err(&attach_plans(&api, &card, &p[15..16]), 400, "GPRW010", msg);
    // INACTIVE still counts; CLOSED does not.
    let w0 = a.body["wallets"][0]["walletIdentifier"].as_str().unwrap();
    let w1 = a.body["wallets"][1]["walletIdentifier"].as_str().unwrap();
    assert_eq!(api.set_wallet_status(w0, "INACTIVE").status, 200);
    assert_err(&attach_plans(&api, &card, &p[15..16]), 400, "GPRW010", msg);
    assert_eq!(api.set_wallet_status(w1, "CLOSED").status, 200);
    assert_eq!(attach_plans(&api, &card, &p[15..16]).status, 201);
    assert_err(&attach_plans(&api, &card, &p[16..17]), 400, "GPRW010", msg);
    assert_eq!(wallet_list(&api, by_id(&card)).len(), 16);
}

#[test]
fn row24_wallet_create_fault_leaves_nothing() {
    let s = Server::start();
    let api = Api::new(&s);
    let card = api.new_card(json!({}));
    api.set_faults(json!({"walletCreate": true, "walletLink": true}));
    let a = attach_plans(&api, &card, &["WUSD", "WEUR"]);
    assert_err(&a, 400, "GPRW013", "Error Creating GPR Wallet");
    assert!(wallet_list(&api, by_id(&card)).is_empty());
    api.set_faults(json!({}));
    assert_eq!(attach_plans(&api, &card, &["WUSD", "WEUR"]).status, 201);
    assert_eq!(wallet_list(&api, by_id(&card)).len(), 2);
}

#[test]
fn row25_wallet_link_fault_leaves_nothing() {
    let s = Server::start();
    let api = Api::new(&s);
    let card = api.new_card(json!({}));
    api.set_faults(json!({"walletLink": true}));
    let a = attach_plans(&api, &card, &["WUSD", "WEUR", "WGBP"]);
    assert_err(
        &a,
        400,
        "GPRW014",
        "Error while creating device wallet link.",
    );
    assert!(wallet_list(&api, by_id(&card)).is_empty());
    api.set_faults(json!({}));
    // Nothing was half-made: the same plans go through, and the store verifies clean.
    assert_eq!(
        attach_plans(&api, &card, &["WUSD", "WEUR", "WGBP"]).status,
        201
    );
    let mut s = s;
    assert_eq!(s.stop(), 0);
    let (code, out) = s.verify();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("wallets: 3"), "{out}");
}

// ---------------------------------------------------------------- success, fetch, envelope

fn is_rfc3339(s: &str) -> bool {
    s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T'
}

#[test]
fn success_answers_201_with_card_and_wallets() {
    let s = Server::start();
    let api = Api::new(&s);
    let card = api.new_card(json!({"alias": "CUST-000123", "packID": "PACK000001"}));
    let number = card["number"].as_str().unwrap().to_string();
    let a = api.call(
        "POST",
        "/deviceapi/apis/v1/services/cardholder/accounts",
        Some(&json!({
            "device": {"alias": "CUST-000123"}, "programCode": "SANDBOX", "devicePlanCode": "DP01",
            "wallets": [{"planCode": "WUSD", "promotionCode": "PROMO1"}, {"planCode": "WGBP"}]
        })),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    let b = &a.body;
    assert_eq!(b["code"], "OK");
    assert_eq!(b["message"], "Wallets created successfully.");
    let d = &b["device"];
    assert_eq!(d["identifier"], card["identifier"]);
    let masked = format!("400000******{}", &number[12..]);
    assert_eq!(d["maskedNumber"], masked.as_str());
    assert_eq!(d["packID"], "PACK000001");
    assert_eq!(d["alias"], "CUST-000123");
    assert_eq!(d["status"], "NORMAL");
    assert_eq!(d["cardType"], "PRIMARY");
    assert_eq!(d["programCode"], "SANDBOX");
    assert_eq!(d["productCode"], "GPR100");
    assert_eq!(d.as_object().unwrap().len(), 8, "{d}");
    let ws = b["wallets"].as_array().unwrap();
    assert_eq!(ws.len(), 2);
    for (w, (plan, promo, cur)) in ws.iter().zip([
        ("WUSD", json!("PROMO1"), "USD"),
        ("WGBP", Value::Null, "GBP"),
    ]) {
        assert_eq!(w["planCode"], plan);
        assert_eq!(w["promotionCode"], promo);
        assert_eq!(w["currency"], cur);
        assert_eq!(w["status"], "NORMAL");
        let num = w["walletNumber"].as_str().unwrap();
        assert!(
            num.len() == 16 && num.bytes().all(|c| c.is_ascii_digit()),
            "{num}"
        );
        assert!(w["walletIdentifier"].as_str().unwrap().len() >= 14);
        assert!(is_rfc3339(w["createdDateTime"].as_str().unwrap()), "{w}");
        assert_eq!(w.as_object().unwrap().len(), 7, "{w}");
    }
    assert_ne!(ws[0]["walletIdentifier"], ws[1]["walletIdentifier"]);
    assert!(
        !a.text.contains(&number),
        "full card number in a device answer"
    );
    assert!(!s.log().contains(&number), "full card number in the log");
}

#[test]
fn fetchwallet_finds_the_card_by_every_key_and_shows_every_status() {
    let s = Server::start();
    let api = Api::new(&s);
    let card = api.new_card(json!({"alias": "FETCHME", "packID": "PACK-FETCH-01"}));
    let a = attach_plans(&api, &card, &["WUSD", "WEUR"]);
    let wid = a.body["wallets"][1]["walletIdentifier"].as_str().unwrap();
    assert_eq!(api.set_wallet_status(wid, "CLOSED").status, 200);
    let expected = vec![
        ("WUSD".to_string(), "NORMAL".to_string()),
        ("WEUR".to_string(), "CLOSED".to_string()),
    ];
    for device in [
        by_id(&card),
        json!({"number": card["number"]}),
        json!({"packID": "PACK-FETCH-01"}),
        json!({"alias": "FETCHME"}),
    ] {
        assert_eq!(wallet_list(&api, device), expected);
    }
    let f = api.fetch(json!({"alias": "FETCHME"}));
    assert_eq!(f.body["code"], "OK");
    assert_eq!(f.body["device"]["identifier"], card["identifier"]);
    assert_eq!(f.body["wallets"][0], a.body["wallets"][0]);
    assert!(!f.text.contains(card["number"].as_str().unwrap()));
    // Resolution errors as rows 1-5 and 13-16.
    assert_err(
        &api.fetch(json!({})),
        400,
        "MISSING_REQUIRED_FIELD",
        "Missing Required Field identifier or packID or alias or number.",
    );
    assert_err(
        &api.fetch(json!({"number": "123"})),
        400,
        LEN,
        "Device Number size must be between 15 and 19.",
    );
    assert_err(
        &api.fetch(json!({"alias": "NOPE"})),
        400,
        "GPR100",
        "Invalid Card number alias",
    );
    assert_err(
        &api.fetch(json!({"identifier": "NoSuchCard0000000000"})),
        400,
        "GPR102",
        "Invalid id/card pack id/device/CAN",
    );
}

#[test]
fn malformed_bodies_name_the_field() {
    let s = Server::start();
    let api = Api::new(&s);
    let a = api.attach(json!({"device": {"number": 4000009912345678u64}, "wallets": []}));
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.body["code"], "INVALID_REQUEST");
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .starts_with("device.number: "),
        "{}",
        a.text
    );
    let a = api.attach(json!({"device": {"alias": "A"}, "wallets": [{"planCode": ["WUSD"]}]}));
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .starts_with("wallets[0].planCode: "),
        "{}",
        a.text
    );
    let a = send(
        "POST",
        &s.url("/deviceapi/apis/v1/services/wallet/fetchwallet"),
        &[("Authorization", &api.auth)],
        Some("{not json"),
    );
    assert_eq!(a.status, 400);
    assert_eq!(a.body["code"], "INVALID_REQUEST");
}

#[test]
fn unauthenticated_requests_get_401_and_correlation_id_is_echoed() {
    let s = Server::start();
    let api = Api::new(&s);
    for path in [
        "/deviceapi/apis/v1/services/cardholder/accounts",
        "/deviceapi/apis/v1/services/wallet/fetchwallet",
    ] {
        for auth in ["", "Bearer nonsense"] {
            let a = send(
                "POST",
                &s.url(path),
                &[("Authorization", auth), ("Correlation-ID", "corr-123")],
                Some("{}"),
            );
            assert_err(&a, 401, "UNAUTHORIZED", "We couldn't recognize you.");
            assert_eq!(a.header("Correlation-ID"), Some("corr-123"));
        }
    }
    let a = send(
        "POST",
        &s.url("/deviceapi/apis/v1/services/cardholder/accounts"),
        &[("Authorization", &api.auth), ("Correlation-ID", "abc-789")],
        Some(r#"{"device":{}}"#),
    );
    assert_eq!(a.body["code"], "MISSING_REQUIRED_FIELD");
    assert_eq!(a.header("Correlation-ID"), Some("abc-789"));
}

#[test]
fn openapi_documents_the_device_dialect() {
    let s = Server::start();
    let o = send("GET", &s.url("/openapi.json"), &[], None);
    for path in [
        "/deviceapi/apis/v1/services/cardholder/accounts",
        "/deviceapi/apis/v1/services/wallet/fetchwallet",
        "/sandbox/programs/{programCode}/devices",
        "/sandbox/devices/{identifier}/status",
        "/sandbox/devices/{identifier}/replace",
        "/sandbox/wallets/{walletIdentifier}/status",
    ] {
        assert!(o.body["paths"].get(path).is_some(), "{path} missing");
    }
    let attach = &o.body["paths"]["/deviceapi/apis/v1/services/cardholder/accounts"]["post"];
    assert!(attach["responses"].get("201").is_some());
    assert_eq!(attach["tags"][0], "device");
}

// ---------------------------------------------------------------- replacement and concurrency

#[test]
fn alias_follows_the_card_across_replacement() {
    let s = Server::start();
    let api = Api::new(&s);
    let old = api.new_card(json!({"alias": "MOVER"}));
    assert_eq!(attach_plans(&api, &old, &["WUSD"]).status, 201);
    let r = api.call(
        "POST",
        &format!(
            "/sandbox/devices/{}/replace",
            old["identifier"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let new = r.body;
    // The alias now names the new NORMAL card only; the old one answers GPR104 by id.
    let a = api.attach(json!({"device": {"alias": "MOVER"}, "wallets": wallets(&["WEUR"])}));
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["device"]["identifier"], new["identifier"]);
    assert_err(
        &attach_plans(&api, &old, &["WGBP"]),
        400,
        "GPR104",
        "Device is in Cancelled/Replaced/Upgrade Status",
    );
    assert_eq!(
        wallet_list(&api, json!({"alias": "MOVER"})),
        [
            ("WUSD".into(), "NORMAL".into()),
            ("WEUR".into(), "NORMAL".into())
        ]
    );
    assert!(wallet_list(&api, by_id(&old)).is_empty());
    // A second NORMAL card with the alias makes it ambiguous again.
    api.new_card(json!({"alias": "MOVER"}));
    assert_err(
        &api.attach(json!({"device": {"alias": "MOVER"}, "wallets": wallets(&["WGBP"])})),
        400,
        "GPR101",
        "Duplicate CNA found",
    );
}

#[test]
fn wallet_cap_holds_under_concurrency() {
    let (from, to) = many_plans_edit(24);
    let s = Server::start_with(&[(from, &to)]);
    let api = Api::new(&s);
    let card = api.new_card(json!({}));
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(24));
    let handles: Vec<_> = (0..24)
        .map(|i| {
            let barrier = barrier.clone();
            let base = api.base.clone();
            let auth = api.auth.clone();
            let device = by_id(&card);
            std::thread::spawn(move || {
                let api = Api { base, auth };
                barrier.wait();
                api.attach(json!({"device": device, "wallets": wallets(&[&format!("WX{i:02}")])}))
            })
        })
        .collect();
    let answers: Vec<Answer> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(created, 15);
    for a in answers.iter().filter(|a| a.status != 201) {
        assert_err(
            a,
            400,
            "GPRW010",
            "Maximum 15 wallets other than Closed status are allowed.",
        );
    }
    assert_eq!(wallet_list(&api, by_id(&card)).len(), 15);
}
