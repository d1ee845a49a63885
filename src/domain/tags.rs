//! Stable tags of stored enums: each variant is stored by the tag its one table gives it, never
//! by its position, so reordering variants cannot misread a store (`store::golden` pins the
//! bytes). Pure: the store encodes records, the domain says what their enums are.

/// A stored enum tag that names no variant: the record is refused, nothing panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownTag {
    pub enum_name: &'static str,
    pub tag: u8,
}

impl std::fmt::Display for UnknownTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} tag {}", self.enum_name, self.tag)
    }
}

impl std::error::Error for UnknownTag {}

/// Gives a unit-only stored enum its stored tags, from one table listing every variant:
/// `From<E> for u8` and `TryFrom<u8> for E` (an unknown tag is an [`UnknownTag`] error).
///
/// ```ignore
/// stored_tags!(KitStatus { Available = 0, Reserved = 1, Assigned = 2 });
/// ```
///
/// A variant missing from the table does not compile (non-exhaustive match), nor, under
/// `-D warnings`, does a tag given twice (unreachable pattern). A tag once stored never changes
/// and is never reused; a new variant takes a new tag.
macro_rules! stored_tags {
    ($enum:ident { $($variant:ident = $tag:literal),+ $(,)? }) => {
        impl From<$enum> for u8 {
            fn from(v: $enum) -> u8 {
                match v {
                    $($enum::$variant => $tag,)+
                }
            }
        }

        impl TryFrom<u8> for $enum {
            type Error = $crate::domain::tags::UnknownTag;
            fn try_from(tag: u8) -> Result<$enum, Self::Error> {
                match tag {
                    $($tag => Ok($enum::$variant),)+
                    tag => Err($crate::domain::tags::UnknownTag {
                        enum_name: stringify!($enum),
                        tag,
                    }),
                }
            }
        }
    };
}
pub(crate) use stored_tags;

/// `#[serde(with = "crate::domain::tags::tag")]` on a stored field whose enum has
/// [`stored_tags!`] but keeps another serde form elsewhere (a catalog enum is read by name from
/// the configuration): the field is stored as the variant's `u8` tag.
pub mod tag {
    use super::UnknownTag;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<T, S>(v: &T, s: S) -> Result<S::Ok, S::Error>
    where
        T: Copy + Into<u8>,
        S: Serializer,
    {
        s.serialize_u8((*v).into())
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: TryFrom<u8, Error = UnknownTag>,
        D: Deserializer<'de>,
    {
        T::try_from(u8::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
