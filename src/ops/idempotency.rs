//! Idempotency by `X-GD-RequestId`: replay, reuse and in-flight rules of the BaaS dialect.
//!
//! Stored responses are keyed by (client, program, requestId). The same body (compared as
//! canonical JSON, key order ignored) is answered with the stored bytes; a different body is a
//! reuse (4092, or 4505 for an upgrade first used on another account). While a request with
//! the same requestId, or an enrollment for the same SSN in the program, is in flight, another
//! is refused with 4091.

use super::Ctx;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::model::{ResponseKey, StoredResponse};
use crate::store::claims::Claim;
use serde_json::Value;

/// SHA-256 of the canonical JSON of a body (object keys sorted at every depth, no insignificant
/// white space): equal for bodies equal as JSON, key order ignored. serde_json's `Map` is a
/// `BTreeMap` (its `preserve_order` feature is off), so a value serialises with its keys sorted
/// and is streamed into the hash as it is; the test below fails if that ever changes.
pub fn digest(v: &Value) -> [u8; 32] {
    use sha2::Digest;
    // sha2's hasher is an `io::Write`: the JSON text streams into it.
    let mut h = sha2::Sha256::new();
    serde_json::to_writer(&mut h, v).expect("a JSON value always serialises");
    h.finalize().into()
}

/// The SSN of an enrollment body as parsed (`userData.identifyingData.ssn`, when a string):
/// what [`EnrollmentRequest::ssn`](crate::wire::enrollment::EnrollmentRequest::ssn) answers
/// once the same value is deserialised (a value of another type does not deserialise).
pub fn ssn_of(body: &Value) -> Option<&str> {
    body.pointer("/userData/identifyingData/ssn")?.as_str()
}

/// Claims the request's requestId and (when given) the SSN, by its fingerprint, in the program;
/// then reads the response stored under the requestId, if any (see [`check_stored`]).
pub fn claim(
    ctx: &Ctx,
    key: &ResponseKey,
    program: &str,
    ssn_fingerprint: Option<&[u8; 32]>,
) -> DomainResult<(Claim, Option<StoredResponse>)> {
    let mut keys = vec![[b"req:".as_slice(), &key.to_bytes()].concat()];
    if let Some(fp) = ssn_fingerprint {
        keys.push([b"ssn:".as_slice(), program.as_bytes(), b"\0", fp].concat());
    }
    ctx.store.claim(keys, key)?.ok_or(DomainError::Locked)
}

/// What to do with a request whose key already has a stored response.
pub fn check_stored(
    stored: &StoredResponse,
    body_digest: &[u8; 32],
    upgrade_account: Option<&str>,
) -> DomainResult<()> {
    if stored.request_digest == *body_digest {
        return Ok(());
    }
    match (upgrade_account, stored.upgrade_account.as_deref()) {
        (Some(now), Some(first)) if now != first => Err(DomainError::AccountNotMatched),
        _ => Err(DomainError::RequestIdReused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_ignores_key_order_at_every_depth() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":[{"q":1,"p":2}],"x":null}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"a":{"x":null,"y":[{"p":2,"q":1}]},"b":1}"#).unwrap();
        let c: Value =
            serde_json::from_str(r#"{"a":{"x":null,"y":[{"p":2,"q":2}]},"b":1}"#).unwrap();
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&c));
        // The hashed text is the canonical form itself.
        use sha2::Digest;
        let canonical = r#"{"a":{"x":null,"y":[{"p":2,"q":1}]},"b":1}"#;
        let direct: [u8; 32] = sha2::Sha256::digest(canonical.as_bytes()).into();
        assert_eq!(digest(&a), direct);
    }

    #[test]
    fn reuse_rules() {
        let s = StoredResponse {
            request_digest: [1; 32],
            upgrade_account: Some("ACC1".into()),
            status: 200,
            body: vec![],
            account_id: None,
            created_at: 0,
        };
        assert_eq!(check_stored(&s, &[1; 32], None), Ok(()));
        assert_eq!(
            check_stored(&s, &[2; 32], Some("ACC2")),
            Err(DomainError::AccountNotMatched)
        );
        assert_eq!(
            check_stored(&s, &[2; 32], Some("ACC1")),
            Err(DomainError::RequestIdReused)
        );
        assert_eq!(
            check_stored(&s, &[2; 32], None),
            Err(DomainError::RequestIdReused)
        );
    }
}
