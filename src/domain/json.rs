//! JSON bodies: parse errors that name the offending field by its dotted path.

use super::error::DomainError;
use serde::de::DeserializeOwned;

/// serde's message without the value the client sent (which may be a card number or an SSN)
/// and without the position: `invalid type: integer `123`, expected a string at line 1 column 9`
/// becomes `invalid type: integer, expected a string`.
fn without_values(msg: &str) -> String {
    let msg = match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    let Some(split) = msg.find(", expected") else {
        return msg.to_string();
    };
    let (head, tail) = msg.split_at(split);
    let mut kept = String::with_capacity(head.len());
    let mut quote: Option<char> = None;
    for c in head.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '`' || c == '"' => quote = Some(c),
            None => kept.push(c),
        }
    }
    format!("{}{tail}", kept.trim_end())
}

fn describe(path: String, inner: serde_json::Error) -> DomainError {
    let what = if inner.is_syntax() || inner.is_eof() {
        "body is not valid JSON".to_string()
    } else {
        without_values(&inner.to_string())
    };
    if path.is_empty() || path == "." || path == "?" {
        DomainError::MalformedBody(format!("request body: {what}"))
    } else {
        DomainError::MalformedBody(format!("{path}: {what}"))
    }
}

/// Parses JSON bytes, naming the field at fault: `userData.profileData: invalid type: …`.
/// Every request body of the API is a JSON object; a top-level array is refused here because
/// serde would otherwise fill a struct from it by position (`[]` would be a struct of defaults).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DomainError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(DomainError::MalformedBody(
            "request body: invalid type: sequence, expected a JSON object".into(),
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_top_level_array_is_refused() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Flags {
            a: Option<bool>,
        }
        for body in [&b"[]"[..], b" \n [true]"] {
            assert_eq!(
                parse::<Flags>(body).unwrap_err(),
                DomainError::MalformedBody(
                    "request body: invalid type: sequence, expected a JSON object".into()
                )
            );
        }
        assert!(parse::<Flags>(br#"{"a":true}"#).is_ok());
    }

    #[test]
    fn values_sent_are_not_echoed() {
        assert_eq!(
            without_values(
                "invalid type: integer `788648511`, expected a string at line 1 column 50"
            ),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            without_values(
                "invalid type: string \"4000009912345678\", expected a boolean at line 1 column 9"
            ),
            "invalid type: string, expected a boolean"
        );
        assert_eq!(
            without_values("unknown variant `4111111111111111`, expected `clear` or `decline`"),
            "unknown variant, expected `clear` or `decline`"
        );
        assert_eq!(
            without_values("missing field `decision` at line 1 column 2"),
            "missing field `decision`"
        );
        let e = parse::<std::collections::HashMap<String, bool>>(br#"{"a":"4000009912345678"}"#)
            .unwrap_err();
        assert!(!format!("{e:?}").contains("4000009912345678"), "{e:?}");
    }
}
