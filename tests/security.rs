//! Issue #20 over the real binary: screening by the person, names as a real issuer takes them,
//! no card number in a client-chosen field, one account per product on upgrade, and one request
//! id per UUID however it is spelt. The screening normalisation itself is proven by generated
//! cases in `tests/screening_evasion.rs`.

mod common;
#[path = "common/leakscan.rs"]
mod leakscan;

use common::baas::*;
use common::*;
use serde_json::{json, Value};
use std::sync::Arc;

fn ssn_of(b: &Value) -> String {
    b["userData"]["identifyingData"]["ssn"]
        .as_str()
        .unwrap()
        .to_string()
}

fn with_ssn(b: Value, ssn: &str) -> Value {
    with(b, "/userData/identifyingData/ssn", json!(ssn))
}

fn account_of(a: &Answer) -> String {
    a.body["account"]["accountIdentifier"]
        .as_str()
        .unwrap_or_else(|| panic!("no account in {}", a.text))
        .to_string()
}

/// A listed individual (Nicolas MADURO MOROS, ent 22790) in a spelling that goes to review.
fn review_name(b: Value) -> Value {
    named(b, "Nicolas", None, "Maduro Morso")
}

// --- class 1: look-alike and accented spellings of a listed name --------------------------

#[test]
fn look_alike_accented_and_punctuated_spellings_of_a_listed_name_are_declined_or_refused() {
    let b = Baas::start();
    // One Latin letter replaced by its Cyrillic look-alike: letters of two scripts, refused.
    let a = b.enroll(&named(body(), "Nicolаs", None, "Maduro Moros"));
    assert_row(
        &a,
        400,
        640,
        501,
        Some("userData.profileData.firstName must hold letters, all of one script (Latin with accents is one script)"),
    );
    let a = b.enroll(&named(body(), "Nicolas", None, "Mаduro Moros"));
    assert_row(&a, 400, 640, 502, None);
    // Accents, full-width letters, punctuation and spaces inside tokens: the listed name itself.
    for (first, last) in [
        ("Nicolás", "Maduro Moros"),
        ("Nícólás", "Mádúró Mórós"),
        ("Ｎｉｃｏｌａｓ", "Maduro Moros"),
        ("Nico-las", "Ma.duro  Mo'ros"),
        ("NICOLAS", "MADURO MOROS"),
    ] {
        let a = b.enroll(&named(body(), first, None, last));
        assert_row(&a, 200, 2, 32, Some("OFAC Hard Decline"));
        assert!(a.body["account"].is_null(), "{first} {last}: {}", a.text);
    }
}

// --- class 2: screening follows the person -------------------------------------------------

#[test]
fn a_pending_holder_cannot_enroll_again_under_a_clean_name_and_a_same_name_enrollment_waits() {
    let b = Baas::start();
    let first = review_name(body());
    let ssn = ssn_of(&first);
    let a = b.enroll(&first);
    assert_row(&a, 200, 1, 31, Some("OFAC Partial Match"));
    let user = user_of(&a);
    // Another name with the same SSN, for another product: refused as an upgrade refuses a
    // changed profile (it used to get a normal account and a card).
    let clean = with(
        named(body(), "Jane", None, "Doe"),
        "/productCode",
        json!("GPR200"),
    );
    let a = b.enroll(&with_ssn(clean, &ssn));
    assert_row(&a, 400, 4502, 0, Some("User profile can't changed"));
    // Another date of birth: the same.
    let a = b.enroll(&with(
        first.clone(),
        "/userData/identifyingData/dateOfBirth",
        json!("1980-05-05"),
    ));
    assert_row(&a, 400, 4502, 0, None);
    // The same person, another product: waits for the same review.
    let second = with(first.clone(), "/productCode", json!("GPR200"));
    let a = b.enroll(&second);
    assert_row(&a, 200, 1, 31, Some("OFAC Partial Match"));
    assert_eq!(user_of(&a), user);
    let reviews = b.sandbox("GET", "/sandbox/ofac/reviews", &json!({}));
    let review = reviews.body["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["userIdentifier"] == user.as_str())
        .unwrap_or_else(|| panic!("{}", reviews.text));
    assert_eq!(review["accountIdentifiers"].as_array().unwrap().len(), 2);
    // Cleared, both complete; the person is then clear for a third product.
    let c = b.decide(&user, "clear");
    assert_eq!(c.status, 200, "{}", c.text);
    let third = with(first, "/productCode", json!("GPR300"));
    assert_row(&b.enroll(&third), 200, 0, 0, Some("Success"));
}

#[test]
fn a_declined_holder_is_declined_again_whatever_the_name_scores() {
    let b = Baas::start();
    let first = review_name(body());
    let a = b.enroll(&first);
    assert_row(&a, 200, 1, 31, None);
    let user = user_of(&a);
    let d = b.decide(&user, "decline");
    assert_eq!(d.status, 200, "{}", d.text);
    let again = with(first, "/productCode", json!("GPR200"));
    let a = b.enroll(&again);
    assert_row(&a, 200, 2, 32, Some("OFAC Hard Decline"));
    assert!(a.body["account"].is_null(), "{}", a.text);
    let u = b.get(&format!("/programs/SANDBOX/users/{user}"));
    assert_eq!(
        u.body["accounts"].as_array().unwrap().len(),
        1,
        "{}",
        u.text
    );
}

#[test]
fn a_clean_holder_cannot_take_a_listed_name_with_the_same_ssn() {
    let b = Baas::start();
    let clean = body();
    let ssn = ssn_of(&clean);
    assert_row(&b.enroll(&clean), 200, 0, 0, None);
    let a = b.enroll(&with_ssn(
        named(body(), "Nicolas", None, "Maduro Moros"),
        &ssn,
    ));
    assert_row(&a, 400, 4502, 0, Some("User profile can't changed"));
}

#[test]
fn concurrent_enrollments_of_one_ssn_under_two_names_make_one_person() {
    let b = Arc::new(Baas::start());
    let ssn = ssn();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let b = b.clone();
            let ssn = ssn.clone();
            std::thread::spawn(move || {
                let body = if i % 2 == 0 {
                    body()
                } else {
                    review_name(body())
                };
                b.enroll(&with_ssn(body, &ssn))
            })
        })
        .collect();
    let answers: Vec<Answer> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(
        ok.len(),
        1,
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != 200) {
        let code = a.body["responseDetails"][0]["code"].as_u64().unwrap();
        assert!([4091, 4502, 4010].contains(&code), "{}", a.text);
    }
    let user = user_of(ok[0]);
    let u = b.get(&format!("/programs/SANDBOX/users/{user}"));
    assert_eq!(
        u.body["accounts"].as_array().unwrap().len(),
        1,
        "{}",
        u.text
    );
    // Whichever name won, the other is refused now that the person exists.
    let winner_clean = ok[0].body["responseDetails"][0]["code"] == 0;
    let loser = if winner_clean {
        review_name(body())
    } else {
        body()
    };
    assert_row(&b.enroll(&with_ssn(loser, &ssn)), 400, 4502, 0, None);
}

// --- class 3: one open account per product, upgrades included -------------------------------

#[test]
fn an_upgrade_to_a_product_the_ssn_already_holds_is_refused() {
    let b = Baas::start();
    let gpr100 = body();
    assert_row(&b.enroll(&gpr100), 200, 0, 0, None);
    let a = b.enroll(&with(gpr100, "/productCode", json!("GPR300")));
    assert_row(&a, 200, 0, 0, None);
    let acc300 = account_of(&a);
    let a = b.enroll(&upgrade_body(&acc300, "GPR100"));
    assert_row(
        &a,
        400,
        4010,
        0,
        Some("The user already holds an open account of this product"),
    );
    let acc = b.get(&format!("/programs/SANDBOX/accounts/{acc300}"));
    assert_eq!(acc.body["account"]["productCode"], "GPR300", "{}", acc.text);
}

#[test]
fn an_upgrade_racing_a_new_enrollment_of_its_target_leaves_one_open_account() {
    for _ in 0..3 {
        let b = Arc::new(Baas::start());
        let base = body();
        let a = b.enroll(&with(base.clone(), "/productCode", json!("GPR300")));
        assert_row(&a, 200, 0, 0, None);
        let acc300 = account_of(&a);
        let user = user_of(&a);
        let up = {
            let b = b.clone();
            std::thread::spawn(move || b.enroll(&upgrade_body(&acc300, "GPR100")))
        };
        let new = {
            let b = b.clone();
            std::thread::spawn(move || b.enroll(&base))
        };
        let (up, new) = (up.join().unwrap(), new.join().unwrap());
        let ok = [&up, &new].iter().filter(|a| a.status == 200).count();
        assert_eq!(ok, 1, "upgrade {} / new {}", up.text, new.text);
        for a in [&up, &new].iter().filter(|a| a.status != 200) {
            assert_row(a, 400, 4010, 0, None);
        }
        let u = b.get(&format!("/programs/SANDBOX/users/{user}"));
        let mut open_gpr100 = 0;
        for id in u.body["accounts"].as_array().unwrap() {
            let acc = b.get(&format!(
                "/programs/SANDBOX/accounts/{}",
                id.as_str().unwrap()
            ));
            if acc.body["account"]["productCode"] == "GPR100"
                && acc.body["account"]["status"] != "closed"
            {
                open_gpr100 += 1;
            }
        }
        assert_eq!(open_gpr100, 1, "{}", u.text);
    }
}

// --- class 5: no card number in a client-chosen field ---------------------------------------

/// A Luhn-valid card number under the shipped BIN, different each call.
fn pan() -> String {
    leakscan::luhn_number("40000099", 16, rand_u64())
}

/// The number written as people hide it: among text, with spaces, dashes, dots, full width.
fn hidden(p: &str) -> Vec<String> {
    let full_width: String = p
        .chars()
        .map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap())
        .collect();
    vec![
        p.to_string(),
        format!("ab{p}"),
        format!("{} {} {} {}", &p[..4], &p[4..8], &p[8..12], &p[12..]),
        format!("{}-{}-{}-{}", &p[..4], &p[4..8], &p[8..12], &p[12..]),
        format!("{}.{}.{}", &p[..6], &p[6..12], &p[12..]),
        full_width,
    ]
}

#[test]
fn card_numbers_in_client_chosen_fields_are_refused_never_stored_never_echoed() {
    let mut b = Baas::start();
    let api = Api::new(&b.s);
    let mut secrets = leakscan::Secrets::default();
    let p = pan();
    secrets.numbers.insert(p.clone());
    for h in hidden(&p) {
        let short = h.chars().count() <= 24;
        // BaaS: each free-text field answers its own row.
        let rows: Vec<(&str, Value, u64, u64)> = vec![
            (
                "/userData/profileData/firstName",
                json!(format!("Jane {h}")),
                640,
                501,
            ),
            (
                "/userData/profileData/lastName",
                json!(format!("Doe {h}")),
                640,
                502,
            ),
            ("/userData/profileData/middleName", json!(h), 640, 503),
            (
                "/userData/profileData/addresses/0/city",
                json!(format!("City {h}")),
                640,
                504,
            ),
            (
                "/userData/profileData/addresses/0/addressLine1",
                json!(format!("{h} Main St")),
                640,
                505,
            ),
            (
                "/userData/profileData/addresses/0/addressLine2",
                json!(format!("Apt {h}")),
                640,
                506,
            ),
            (
                "/userData/email/emailAddress",
                json!(format!("x{h}@example.com")),
                640,
                511,
            ),
            ("/cardAlias", json!(h), 640, 510),
        ];
        for (ptr, v, code, sub) in rows {
            if ptr == "/cardAlias" && !short {
                continue;
            }
            // (Full-width digits fail the characters row of a profile field first: the same
            // code and subCode.)
            let a = b.enroll(&with(body(), ptr, v));
            assert_row(&a, 400, code, sub, None);
            assert!(secrets.leaks_in(&a.text).is_empty(), "{ptr}: {}", a.text);
        }
        if h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && h.len() <= 64 {
            let a = b.enroll(&with(
                body(),
                "/instantIssue",
                json!({"type": "CBS", "mappingIdentifier": h}),
            ));
            assert_row(
                &a,
                400,
                600,
                6184,
                Some("instantIssue.mappingIdentifier must not hold a card number"),
            );
            // Sandbox kit load: mapping identifier and pack ID.
            let r = api.call(
                "POST",
                "/sandbox/programs/SANDBOX/packages",
                Some(&json!({"packages": [{"mappingIdentifier": h, "productCode": "GPR100"}]})),
            );
            assert_eq!(r.status, 400, "{}", r.text);
            assert!(secrets.leaks_in(&r.text).is_empty(), "{}", r.text);
            if (10..=24).contains(&h.len()) {
                let r = api.call(
                    "POST",
                    "/sandbox/programs/SANDBOX/packages",
                    Some(&json!({"packages": [{"mappingIdentifier": "KITOK1", "productCode": "GPR100", "packID": h}]})),
                );
                assert_eq!(r.status, 400, "{}", r.text);
                assert!(secrets.leaks_in(&r.text).is_empty(), "{}", r.text);
                // Card: a pack ID that holds a card number names no card.
                let r = api.fetch(json!({"packID": h}));
                assert_eq!(
                    (r.status, r.body["code"].as_str()),
                    (400, Some("GPR102")),
                    "{}",
                    r.text
                );
            }
        }
        if short {
            // Card alias and sandbox card alias.
            let r = api.fetch(json!({"alias": h}));
            assert_eq!(
                (r.status, r.body["code"].as_str()),
                (400, Some("GPR100")),
                "{}",
                r.text
            );
            let r = api.call(
                "POST",
                "/sandbox/programs/SANDBOX/devices",
                Some(&json!({"productCode": "GPR100", "cardType": "PRIMARY", "alias": h})),
            );
            assert_eq!(r.status, 400, "{}", r.text);
            assert!(secrets.leaks_in(&r.text).is_empty(), "{}", r.text);
        }
    }
    // A kit prefix whose generated identifiers would hold a card number.
    let r = api.call(
        "POST",
        "/sandbox/programs/SANDBOX/packages",
        Some(&json!({"generate": {"count": 1, "productCode": "GPR100", "prefix": &p[..9]}})),
    );
    let generated = format!("{}0000001", &p[..9]);
    if leakscan::luhn(&generated) {
        assert_eq!(r.status, 400, "{}", r.text);
    }
    // Nothing of it reached the store.
    let dir = b.s.store_files();
    assert_eq!(b.s.stop(), 0);
    let (files, _, leaks) = leakscan::scan_dir(&dir, &secrets);
    assert!(files > 0);
    assert!(leaks.is_empty(), "{leaks:?}");
}

// --- class 7: input a real issuer refuses ---------------------------------------------------

#[test]
fn enrollment_fields_have_bounds_and_shapes() {
    let b = Baas::start();
    /// (JSON pointer, value, HTTP status, code, subCode, description).
    type Case<'a> = (&'a str, Value, u16, u64, u64, Option<&'a str>);
    let cases: Vec<Case> = vec![
        ("/userData/profileData/firstName", json!("   "), 400, 640, 501,
            Some("userData.profileData.firstName must hold letters, all of one script (Latin with accents is one script)")),
        ("/userData/profileData/lastName", json!("-.,"), 400, 640, 502, None),
        ("/userData/profileData/middleName", json!("42"), 400, 640, 503, None),
        ("/userData/profileData/firstName", json!("Jаne"), 400, 640, 501, None),
        ("/userData/email/emailAddress", json!("   "), 400, 640, 511,
            Some("userData.email.emailAddress must be an email address of 3-254 characters")),
        ("/userData/email/emailAddress", json!("not-an-address"), 400, 640, 511, None),
        ("/userData/email/emailAddress", json!("a@b"), 400, 640, 511, None),
        ("/userData/email/emailAddress", json!(format!("{}@example.com", "x".repeat(3000))), 400, 640, 511, None),
        ("/userData/phoneNumbers/0/number", json!("1".repeat(2000)), 400, 640, 512,
            Some("userData.phoneNumbers.number must be an optional + and 7-15 digits")),
        ("/userData/phoneNumbers/0/number", json!("626-555-1212"), 400, 640, 512, None),
        ("/userData/phoneNumbers/0/type", json!("x".repeat(21)), 400, 640, 514, None),
        ("/userData/profileData/addresses/0/type", json!("home address"), 400, 640, 513, None),
        ("/termsAcceptances/0/termsIdentifier", json!("e".repeat(65)), 400, 640, 515, None),
        ("/userData/identifyingData/dateOfBirth", json!("0001-01-01"), 400, 700, 0,
            Some("identifyingData.dateOfBirth must be in the form YYYY-MM-DD")),
        ("/userData/identifyingData/dateOfBirth", json!("1899-12-31"), 400, 700, 0, None),
        ("/userData/identifyingData/dateOfBirth", json!("2999-01-01"), 400, 700, 0, None),
        ("/termsAcceptances/0/termsAcceptanceFlag", json!(false), 400, 800, 0, Some("Terms must be accepted")),
    ];
    for (ptr, v, status, code, sub, desc) in cases {
        let a = b.enroll(&with(body(), ptr, v));
        assert_row(&a, status, code, sub, desc);
    }
    // Lists: more than five addresses, phone numbers or terms acceptances.
    let addr = body()["userData"]["profileData"]["addresses"][0].clone();
    let many: Vec<Value> = ["home", "mailing", "work", "billing", "other", "shipping"]
        .iter()
        .map(|t| with(addr.clone(), "/type", json!(t)))
        .map(|a| with(a, "/isDefault", json!(false)))
        .collect();
    let a = b.enroll(&with(
        body(),
        "/userData/profileData/addresses",
        json!(many),
    ));
    assert_row(
        &a,
        400,
        1020,
        1,
        Some("At most 5 addresses, 5 phone numbers and 5 terms acceptances are allowed"),
    );
    let phone = json!({"number": "6265551212", "type": "mobile"});
    let a = b.enroll(&with(
        body(),
        "/userData/phoneNumbers",
        json!(vec![phone; 6]),
    ));
    assert_row(&a, 400, 1020, 1, None);
    // Five of each, an E.164 number and a date of birth in 1900 are fine.
    let five: Vec<Value> = many[..5].to_vec();
    let ok = with(body(), "/userData/profileData/addresses", json!(five));
    let ok = with(
        ok,
        "/userData/phoneNumbers/0/number",
        json!("+442071838750"),
    );
    let ok = with(
        ok,
        "/userData/identifyingData/dateOfBirth",
        json!("1900-01-01"),
    );
    assert_row(&b.enroll(&ok), 200, 0, 0, None);
    // The order of the rows: a phone number fault answers before a date of birth fault.
    let both = with(body(), "/userData/phoneNumbers/0/number", json!("12"));
    let both = with(
        both,
        "/userData/identifyingData/dateOfBirth",
        json!("0001-01-01"),
    );
    assert_row(&b.enroll(&both), 400, 640, 512, None);
    // Terms refused: nothing was created, and a retry with consent succeeds.
    let refused = with(
        body(),
        "/termsAcceptances/0/termsAcceptanceFlag",
        json!(false),
    );
    let rid = uuid();
    assert_row(&b.post("SANDBOX", &rid, &refused), 400, 800, 0, None);
    let consent = with(
        refused,
        "/termsAcceptances/0/termsAcceptanceFlag",
        json!(true),
    );
    assert_row(&b.post("SANDBOX", &rid, &consent), 200, 0, 0, None);
}

// --- class 8: smaller edges ------------------------------------------------------------------

#[test]
fn every_spelling_of_one_uuid_is_one_request_id() {
    let b = Baas::start();
    let rid = uuid();
    let body = body();
    let first = b.post("SANDBOX", &rid, &body);
    assert_row(&first, 200, 0, 0, None);
    for spelling in [
        rid.to_uppercase(),
        format!("{{{rid}}}"),
        format!("urn:uuid:{rid}"),
        rid.replace('-', ""),
    ] {
        let again = b.post("SANDBOX", &spelling, &body);
        assert_eq!(again.status, 200, "{spelling}: {}", again.text);
        assert_eq!(
            again.header("Idempotent-Replayed"),
            Some("true"),
            "{spelling}"
        );
        assert_eq!(again.text, first.text, "{spelling}");
    }
    let got = b.get(&format!(
        "/programs/SANDBOX/enrollments/{}",
        rid.to_uppercase()
    ));
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.text, first.text);
}

#[test]
fn a_sandbox_card_joins_only_an_account_of_its_own_product() {
    let b = Baas::start();
    let api = Api::new(&b.s);
    let a = b.enroll(&body());
    let account = account_of(&a);
    let r = api.call(
        "POST",
        "/sandbox/programs/SANDBOX/devices",
        Some(&json!({"productCode": "GPR200", "cardType": "SUPPLEMENTARY", "accountIdentifier": account})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        r.body["detail"],
        "the account is of product GPR100; a card on it must be of that product, not GPR200"
    );
    let r = api.call(
        "POST",
        "/sandbox/programs/SANDBOX/devices",
        Some(&json!({"productCode": "GPR100", "cardType": "SUPPLEMENTARY", "accountIdentifier": account})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}
