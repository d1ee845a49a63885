//! A card made by an enrollment is a device of the device dialect: enroll, then attach wallets to
//! the card you got back, by its paymentInstrumentIdentifier or its alias; after an upgrade to a
//! DDA product the card takes no wallets (GPRW003).

mod common;
use common::baas::*;
use common::*;
use serde_json::{json, Value};

fn attach(b: &Baas, body: Value) -> Answer {
    send(
        "POST",
        &b.s.url("/deviceapi/apis/v1/services/cardholder/accounts"),
        &[("Authorization", &b.auth)],
        Some(&body.to_string()),
    )
}

#[test]
fn an_enrolled_card_takes_wallets_by_identifier_and_alias_until_upgraded_to_dda() {
    let b = Baas::start();
    let r = b.enroll(&with(body(), "/cardAlias", json!("ENROLLED-1")));
    assert_row(&r, 200, 0, 0, Some("Success"));
    let card = &r.body["account"]["accountHolders"][0]["paymentInstruments"][0];
    let id = card["paymentInstrumentIdentifier"].as_str().unwrap();
    let acc = r.body["account"]["accountIdentifier"].as_str().unwrap();

    let a = attach(
        &b,
        json!({"device": {"identifier": id}, "wallets": [{"planCode": "WUSD", "promotionCode": "PROMO1"}]}),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["code"], "OK");
    assert_eq!(a.body["device"]["identifier"], id);
    assert_eq!(a.body["device"]["cardType"], "PRIMARY");
    assert_eq!(a.body["device"]["status"], "NORMAL");
    assert_eq!(a.body["device"]["productCode"], "GPR100");
    assert_eq!(a.body["device"]["alias"], "ENROLLED-1");
    let masked = a.body["device"]["maskedNumber"].as_str().unwrap();
    assert!(
        masked.ends_with(card["last4Pan"].as_str().unwrap()),
        "{masked}"
    );

    let a = attach(
        &b,
        json!({"device": {"alias": "ENROLLED-1"}, "programCode": "SANDBOX", "wallets": [{"planCode": "WEUR"}]}),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["device"]["identifier"], id);

    // The BaaS view of the card is unchanged by its wallets.
    let g = b.get(&format!("/programs/SANDBOX/accounts/{acc}"));
    assert_eq!(
        g.body["account"]["accountHolders"][0]["paymentInstruments"][0]["status"],
        "activated"
    );

    let u =
        b.enroll(&json!({"productCode": "DDA100", "upgradeFlag": true, "accountIdentifier": acc}));
    assert_row(&u, 200, 0, 0, Some("Success"));
    let a = attach(
        &b,
        json!({"device": {"identifier": id}, "wallets": [{"planCode": "WGBP"}]}),
    );
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"code": "GPRW003", "message": "Service request allowed only for GPR program."})
    );
}
