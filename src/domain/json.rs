//! JSON bodies: parse errors that name the offending field by its dotted path.

use super::error::DomainError;
use serde::de::DeserializeOwned;

fn describe(path: String, inner: serde_json::Error) -> DomainError {
    let what = if inner.is_syntax() || inner.is_eof() {
        "body is not valid JSON".to_string()
    } else {
        inner.to_string()
    };
    if path.is_empty() || path == "." || path == "?" {
        DomainError::MalformedBody(format!("request body: {what}"))
    } else {
        DomainError::MalformedBody(format!("{path}: {what}"))
    }
}

/// Parses JSON bytes, naming the field at fault: `userData.profileData: invalid type: …`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DomainError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        describe(path, e.into_inner())
    })
}

/// Converts a parsed JSON value, naming the field at fault.
pub fn from_value<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, DomainError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        describe(path, e.into_inner())
    })
}
