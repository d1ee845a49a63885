//! What the benches share: a valid enrollment body for customer `i` (a name that clears the full
//! SDN list, a unique SSN, alias `{alias_prefix}{i}`, and a kit when given), and the shipped
//! configuration pointed at a store directory and the full SDN list.

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

/// The shipped `config.toml` with its store at `db`, the given durability, any free loopback
/// port, and the full SDN list (about 20,900 names) to screen against.
#[allow(dead_code)] // not every bench that shares this module starts a store
pub fn config_text(db: &std::path::Path, durability: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{root}/config.toml"))
        .unwrap()
        .replace("bind = \"127.0.0.1:8080\"", "bind = \"127.0.0.1:0\"")
        .replace(
            "durability = \"flush\"",
            &format!("durability = {durability:?}"),
        )
        .replace(
            "data_dir = \"data/db\"",
            &format!("data_dir = {:?}", db.display().to_string()),
        )
        .replace(
            "sdn_file = \"data/ofac/sdn.csv\"",
            &format!("sdn_file = \"{root}/data/ofac/full/sdn.csv\""),
        )
}
