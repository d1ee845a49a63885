//! The sandbox card and wallet endpoints over the real binary: making cards, status changes with
//! final statuses, replacement, and problem+json errors.

mod common;
use common::*;
use serde_json::{json, Value};

fn assert_problem(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert_eq!(a.header("content-type"), Some("application/problem+json"));
    assert_eq!(a.body["status"], status);
    assert_eq!(a.body["code"], code, "{}", a.text);
    assert!(a.body["title"].is_string() && a.body["detail"].is_string());
}

fn id(card: &Value) -> &str {
    card["identifier"].as_str().unwrap()
}

#[test]
fn a_card_outside_enrollment_has_its_number_once() {
    let s = Server::start();
    let api = Api::new(&s);
    let c = api.new_card(json!({"alias": "CUST-1", "packID": "PACK-000001", "cardType": "ADD_ON"}));
    let number = c["number"].as_str().unwrap();
    assert_eq!(number.len(), 16);
    assert!(number.starts_with("40000099"));
    assert_eq!(
        c["maskedNumber"],
        format!("400000******{}", &number[12..]).as_str()
    );
    assert_eq!(c["packID"], "PACK-000001");
    assert_eq!(c["alias"], "CUST-1");
    assert_eq!(c["status"], "NORMAL");
    assert_eq!(c["cardType"], "ADD_ON");
    assert_eq!(c["programCode"], "SANDBOX");
    assert_eq!(c["productCode"], "GPR100");
    assert!(c["identifier"].as_str().unwrap().len() >= 14);
    // A status change shows the card without its number.
    let a = api.set_card_status(id(&c), "BLOCKED");
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["status"], "BLOCKED");
    assert!(a.body.get("number").is_none());
    assert!(!a.text.contains(number));
    assert!(!s.log().contains(number), "full card number in the log");
    let p2 = api.new_card_in(
        "PARTNER2",
        json!({"productCode": "GPR100", "cardType": "PRIMARY"}),
    );
    assert!(p2["number"].as_str().unwrap().starts_with("5100007"));
}

#[test]
fn card_requests_are_validated() {
    let s = Server::start();
    let api = Api::new(&s);
    let post = |program: &str, body: Value| {
        api.call(
            "POST",
            &format!("/sandbox/programs/{program}/devices"),
            Some(&body),
        )
    };
    let ok = json!({"productCode": "GPR100", "cardType": "PRIMARY"});
    assert_problem(&post("NOPE", ok.clone()), 404, "NOT_FOUND");
    for bad in [
        json!({"cardType": "PRIMARY"}),
        json!({"productCode": "NOPE", "cardType": "PRIMARY"}),
        json!({"productCode": "GPR100"}),
        json!({"productCode": "GPR100", "cardType": "GOLD"}),
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "status": "HAPPY"}),
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": ""}),
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": "a".repeat(25)}),
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": "4111111111111111"}),
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "packID": "SHORT"}),
        json!({"productCode": 7, "cardType": "PRIMARY"}),
    ] {
        assert_problem(&post("SANDBOX", bad), 400, "INVALID_REQUEST");
    }
    let a = post(
        "SANDBOX",
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "accountIdentifier": "NoSuchAccount00000"}),
    );
    assert_problem(&a, 404, "NOT_FOUND");
    api.new_card(json!({"packID": "PACK-TAKEN-1"}));
    let a = post(
        "SANDBOX",
        json!({"productCode": "GPR100", "cardType": "PRIMARY", "packID": "PACK-TAKEN-1"}),
    );
    assert_problem(&a, 409, "CONFLICT");
}

#[test]
fn final_card_statuses_cannot_be_left() {
    let s = Server::start();
    let api = Api::new(&s);
    for fin in ["CANCELLED", "REPLACED", "EXPIRED"] {
        let c = api.new_card(json!({"status": "LOST"}));
        assert_eq!(api.set_card_status(id(&c), fin).status, 200);
        // The same status again changes nothing; any other is refused.
        assert_eq!(api.set_card_status(id(&c), fin).status, 200);
        for to in ["NORMAL", "BLOCKED", "CANCELLED", "EXPIRED"] {
            if to != fin {
                assert_problem(&api.set_card_status(id(&c), to), 409, "CONFLICT");
            }
        }
        let r = api.call(
            "POST",
            &format!("/sandbox/devices/{}/replace", id(&c)),
            None,
        );
        assert_problem(&r, 409, "CONFLICT");
    }
    let c = api.new_card(json!({}));
    assert_problem(
        &api.set_card_status(id(&c), "SLEEPING"),
        400,
        "INVALID_REQUEST",
    );
    assert_problem(
        &api.set_card_status("NoSuchCard0000000000", "BLOCKED"),
        404,
        "NOT_FOUND",
    );
}

#[test]
fn closed_wallets_stay_closed() {
    let s = Server::start();
    let api = Api::new(&s);
    let c = api.new_card(json!({}));
    let a =
        api.attach(json!({"device": {"identifier": id(&c)}, "wallets": [{"planCode": "WUSD"}]}));
    let w = a.body["wallets"][0]["walletIdentifier"].as_str().unwrap();
    let r = api.set_wallet_status(w, "INACTIVE");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "INACTIVE");
    assert_eq!(r.body["deviceIdentifier"], id(&c));
    assert_eq!(api.set_wallet_status(w, "NORMAL").status, 200);
    assert_eq!(api.set_wallet_status(w, "CLOSED").status, 200);
    assert_eq!(api.set_wallet_status(w, "CLOSED").status, 200);
    for to in ["NORMAL", "INACTIVE"] {
        assert_problem(&api.set_wallet_status(w, to), 409, "CONFLICT");
    }
    assert_problem(&api.set_wallet_status(w, "OPEN"), 400, "INVALID_REQUEST");
    assert_problem(
        &api.set_wallet_status("NoSuchWallet00000000", "CLOSED"),
        404,
        "NOT_FOUND",
    );
}

#[test]
fn replacement_moves_alias_and_wallets_to_a_new_number() {
    let s = Server::start();
    let api = Api::new(&s);
    let old = api.new_card(
        json!({"alias": "CUST-9", "packID": "PACK-OLD-001", "cardType": "SUPPLEMENTARY"}),
    );
    let a = api.attach(json!({"device": {"identifier": id(&old)}, "wallets": [{"planCode": "WUSD"}, {"planCode": "WEUR"}]}));
    assert_eq!(a.status, 201);
    let r = api.call(
        "POST",
        &format!("/sandbox/devices/{}/replace", id(&old)),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let new = &r.body;
    assert_ne!(new["identifier"], old["identifier"]);
    assert_ne!(new["number"], old["number"]);
    assert_eq!(new["number"].as_str().unwrap().len(), 16);
    assert_eq!(new["status"], "NORMAL");
    assert_eq!(new["alias"], "CUST-9");
    assert_eq!(new["cardType"], "SUPPLEMENTARY");
    assert_eq!(new["packID"], Value::Null);
    assert_eq!(new["accountIdentifier"], old["accountIdentifier"]);
    let f = api.fetch(json!({"identifier": new["identifier"]}));
    let moved: Vec<&Value> = f.body["wallets"].as_array().unwrap().iter().collect();
    assert_eq!(moved.len(), 2);
    assert_eq!(moved[0], &a.body["wallets"][0]);
    assert_eq!(moved[1], &a.body["wallets"][1]);
    let f = api.fetch(json!({"packID": "PACK-OLD-001"}));
    assert_eq!(f.body["device"]["status"], "REPLACED");
    assert_eq!(f.body["wallets"], json!([]));
    let f = api.fetch(json!({"number": new["number"]}));
    assert_eq!(f.body["device"]["identifier"], new["identifier"]);
    assert_problem(
        &api.call(
            "POST",
            "/sandbox/devices/NoSuchCard0000000000/replace",
            None,
        ),
        404,
        "NOT_FOUND",
    );
    let mut s = s;
    assert_eq!(s.stop(), 0);
    let (code, out) = s.verify();
    assert_eq!(code, 0, "{out}");
}

#[test]
fn cards_and_wallets_of_other_programs_do_not_exist_for_a_client() {
    let s = Server::start_with(&[(
        "programs = [\"SANDBOX\"]\nscopes = [\"baas\", \"device\"]",
        "programs = [\"SANDBOX\"]\nscopes = [\"baas\", \"device\", \"sandbox\"]",
    )]);
    let api = Api::new(&s);
    let branch = Api::as_client(&s, "branch", "branch-secret");
    let p2 = api.new_card_in(
        "PARTNER2",
        json!({"productCode": "GPR100", "cardType": "PRIMARY"}),
    );
    let a =
        api.attach(json!({"device": {"identifier": id(&p2)}, "wallets": [{"planCode": "WUSD"}]}));
    assert_eq!(a.status, 201, "{}", a.text);
    let w = a.body["wallets"][0]["walletIdentifier"].as_str().unwrap();
    assert_problem(
        &branch.set_card_status(id(&p2), "BLOCKED"),
        404,
        "NOT_FOUND",
    );
    assert_problem(&branch.set_wallet_status(w, "CLOSED"), 404, "NOT_FOUND");
    assert_problem(
        &branch.call(
            "POST",
            &format!("/sandbox/devices/{}/replace", id(&p2)),
            None,
        ),
        404,
        "NOT_FOUND",
    );
    // A program path outside the client's programs: 401, as for any program it may not use.
    let a = branch.call(
        "POST",
        "/sandbox/programs/PARTNER2/devices",
        Some(&json!({"productCode": "GPR100", "cardType": "PRIMARY"})),
    );
    assert_problem(&a, 401, "UNAUTHORIZED");
    let f = branch.fetch(json!({"identifier": id(&p2)}));
    assert_eq!(f.body["code"], "GPR102");
}
