//! A client of the BaaS dialect and sandbox for tests, and a valid enrollment body to vary.

use super::*;
use serde_json::{json, Value};

pub struct Baas {
    pub s: Server,
    pub auth: String,
}

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Baas {
    pub fn start() -> Baas {
        Self::on(Server::start())
    }

    /// A client of an already started server.
    pub fn on(s: Server) -> Baas {
        let auth = format!("Bearer {}", s.token());
        Baas { s, auth }
    }

    pub fn post(&self, program: &str, rid: &str, body: &Value) -> Answer {
        send(
            "POST",
            &self.s.url(&format!("/programs/{program}/enrollments")),
            &[("Authorization", &self.auth), ("X-GD-RequestId", rid)],
            Some(&body.to_string()),
        )
    }

    pub fn enroll(&self, body: &Value) -> Answer {
        self.post("SANDBOX", &uuid(), body)
    }

    pub fn get(&self, path: &str) -> Answer {
        send(
            "GET",
            &self.s.url(path),
            &[("Authorization", &self.auth), ("X-GD-RequestId", &uuid())],
            None,
        )
    }

    pub fn sandbox(&self, method: &str, path: &str, body: &Value) -> Answer {
        send(
            method,
            &self.s.url(path),
            &[("Authorization", &self.auth)],
            Some(&body.to_string()),
        )
    }

    /// `POST /sandbox/ofac/reviews/{user}` with `{"decision": decision}`.
    pub fn decide(&self, user: &str, decision: &str) -> Answer {
        self.sandbox(
            "POST",
            &format!("/sandbox/ofac/reviews/{user}"),
            &json!({ "decision": decision }),
        )
    }

    pub fn load_kit(&self, mapping: &str, product: &str) -> Value {
        let r = self.sandbox(
            "POST",
            "/sandbox/programs/SANDBOX/packages",
            &json!({"packages": [{"mappingIdentifier": mapping, "productCode": product}]}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["packages"][0].clone()
    }
}

/// An upgrade of `account` to `product`.
pub fn upgrade_body(account: &str, product: &str) -> Value {
    json!({"productCode": product, "upgradeFlag": true, "accountIdentifier": account})
}

pub fn ssn() -> String {
    format!("{:09}", rand_u64() % 1_000_000_000)
}

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish()
}

/// A valid new-enrollment body with a fresh SSN.
pub fn body() -> Value {
    json!({
        "productCode": "GPR100",
        "userData": {
            "profileData": {
                "firstName": "Jane", "middleName": "Q", "lastName": "Doe",
                "addresses": [{"type": "home", "isDefault": true, "addressLine1": "1 Main St",
                               "addressLine2": null, "city": "Pasadena", "state": "CA", "zipCode": "91101"}]
            },
            "identifyingData": {"dateOfBirth": "1990-01-31", "ssn": ssn()},
            "email": {"emailAddress": "jane@example.com"},
            "phoneNumbers": [{"number": "6265551212", "type": "mobile", "isDefault": true}]
        },
        "termsAcceptances": [{"termsIdentifier": "esign", "termsAcceptanceFlag": true}],
        "cardAlias": "CUST-000123",
        "requestPhysicalCard": false
    })
}

/// `body()` with the value at a JSON pointer replaced (Null removes the key).
pub fn with(mut b: Value, pointer: &str, v: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        &mut b
    } else {
        b.pointer_mut(parent).unwrap()
    };
    match target {
        Value::Object(m) => {
            if v.is_null() {
                m.remove(key);
            } else {
                m.insert(key.to_string(), v);
            }
        }
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = v,
        _ => panic!("{pointer}"),
    }
    b
}

pub fn assert_row(a: &Answer, status: u16, code: u64, sub: u64, desc: Option<&str>) {
    assert_eq!(a.status, status, "{}", a.text);
    let d = &a.body["responseDetails"][0];
    assert_eq!(d["code"], code, "{}", a.text);
    assert_eq!(d["subCode"], sub, "{}", a.text);
    if let Some(desc) = desc {
        assert_eq!(d["description"], desc, "{}", a.text);
    }
}

pub fn no_full_pan(text: &str) {
    let digits: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| r.len() >= 13)
        .collect();
    // A card of the shipped programs: Luhn-valid under one of their BINs.
    for run in digits {
        let under_bin = run.starts_with("40000099") || run.starts_with("5100007");
        assert!(
            !(under_bin && issuebox::vault::looks_like_card_number(run)),
            "full card number in {text}"
        );
    }
}

/// `b` with another first, middle (None removes it) and last name.
pub fn named(b: Value, first: &str, middle: Option<&str>, last: &str) -> Value {
    let b = with(b, "/userData/profileData/firstName", json!(first));
    let b = with(b, "/userData/profileData/lastName", json!(last));
    with(
        b,
        "/userData/profileData/middleName",
        middle.map(|m| json!(m)).unwrap_or(Value::Null),
    )
}

/// `b` as an instant-issue enrollment of kit `kit`.
pub fn instant(b: Value, kit: &str) -> Value {
    with(
        b,
        "/instantIssue",
        json!({"type": "CBS", "mappingIdentifier": kit}),
    )
}

/// The holder's `userIdentifier` in an enrollment answer.
pub fn user_of(a: &Answer) -> String {
    a.body["account"]["accountHolders"][0]["user"]["userIdentifier"]
        .as_str()
        .unwrap_or_else(|| panic!("no user in {}", a.text))
        .to_string()
}
