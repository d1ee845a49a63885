//! JSON bodies: parse errors that name the offending field by its dotted path.

use super::error::DomainError;
use serde::de::{self, DeserializeOwned};
use serde_json::Value;

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

/// Parses JSON bytes into a value. Every request body of the API is a JSON object; a top-level
/// array is refused here with one message for every dialect.
pub fn parse_value(bytes: &[u8]) -> Result<Value, DomainError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(DomainError::MalformedBody(
            "request body: invalid type: sequence, expected a JSON object".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| describe(String::new(), e))
}

/// Parses JSON bytes into `T`, naming the field at fault: `userData.profileData: invalid type: …`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DomainError> {
    from_value(parse_value(bytes)?)
}

/// Converts a parsed JSON value into `T`, naming the field at fault. A struct is filled only
/// from a JSON object: serde would otherwise also fill it from an array, by position.
pub fn from_value<T: DeserializeOwned>(v: Value) -> Result<T, DomainError> {
    serde_path_to_error::deserialize(Strict(v)).map_err(|e| {
        let path = e.path().to_string();
        describe(path, e.into_inner())
    })
}

/// A JSON value as a deserializer that refuses an array where a struct is expected.
struct Strict(Value);

impl<'de> de::Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => {
                let len = items.len();
                let mut seq = StrictSeq(items.into_iter());
                let out = visitor.visit_seq(&mut seq)?;
                match seq.0.len() {
                    0 => Ok(out),
                    _ => Err(de::Error::invalid_length(len, &"fewer elements in array")),
                }
            }
            Value::Object(map) => visitor.visit_map(StrictMap {
                entries: map.into_iter(),
                value: None,
            }),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(_) => Err(de::Error::invalid_type(de::Unexpected::Seq, &visitor)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // The API's enums are unit variants named by strings.
        self.0.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct StrictSeq(std::vec::IntoIter<Value>);

impl<'de> de::SeqAccess<'de> for StrictSeq {
    type Error = serde_json::Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct StrictMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> de::MapAccess<'de> for StrictMap {
    type Error = serde_json::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((k, v)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(v);
        seed.deserialize(Value::String(k)).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let v = self
            .value
            .take()
            .ok_or_else(|| <serde_json::Error as de::Error>::custom("a value without its key"))?;
        seed.deserialize(Strict(v))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
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
    fn a_nested_struct_is_filled_only_from_an_object() {
        #[derive(Debug, serde::Deserialize, PartialEq)]
        struct Keys {
            identifier: Option<String>,
            number: Option<String>,
        }
        #[derive(Debug, serde::Deserialize, PartialEq)]
        struct Req {
            device: Option<Keys>,
            wallets: Option<Vec<Keys>>,
            count: Option<u16>,
        }
        let e = parse::<Req>(br#"{"device": ["D1"]}"#).unwrap_err();
        assert_eq!(
            e,
            DomainError::MalformedBody(
                "device: invalid type: sequence, expected struct Keys".into()
            )
        );
        let e = parse::<Req>(br#"{"wallets": [{"identifier": "W"}, ["W2"]]}"#).unwrap_err();
        assert!(
            format!("{e:?}").contains("wallets[1]: invalid type: sequence"),
            "{e:?}"
        );
        let ok = parse::<Req>(
            br#"{"device": {"identifier": "D1"}, "wallets": [{"number": "1"}], "count": 7}"#,
        )
        .unwrap();
        assert_eq!(ok.device.unwrap().identifier.as_deref(), Some("D1"));
        assert_eq!(ok.wallets.unwrap()[0].number.as_deref(), Some("1"));
        assert_eq!(ok.count, Some(7));
        assert!(parse::<Req>(br#"{"count": 70000}"#).is_err());
        assert!(parse::<Req>(br#"{"count": -1}"#).is_err());
        assert!(parse::<Req>(br#"{"device": null}"#)
            .unwrap()
            .device
            .is_none());
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
