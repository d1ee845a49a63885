//! What the benches share: a valid enrollment body for customer `i` (a name that clears the full
//! SDN list, a unique SSN, alias `{alias_prefix}{i}`, and a kit when given).

use serde_json::{json, Value};

pub fn enrollment(i: u64, alias_prefix: &str, kit: Option<String>) -> Value {
    let mut b = json!({
        "productCode": "GPR100",
        "userData": {
            "profileData": {"firstName": "Emily", "lastName": "Carter",
                "addresses": [{"type": "home", "isDefault": true, "addressLine1": "1 Main St", "city": "Pasadena", "state": "CA", "zipCode": "91101"}]},
            "identifyingData": {"dateOfBirth": "1990-01-31", "ssn": format!("{:09}", 100_000_000 + i)},
            "email": {"emailAddress": "emily@example.com"}
        },
        "cardAlias": format!("{alias_prefix}{i}")
    });
    if let Some(k) = kit {
        b["instantIssue"] = json!({"type": "CBS", "mappingIdentifier": k});
    }
    b
}
