//! Values that cross the storage boundary and are stored by both engines in the codec's form:
//! index owners, token list entries, token grants of either layout; and the entities the store
//! counts.

use super::codec;
use serde::{Deserialize, Serialize};

/// What a card pack ID or a card number index entry points at.
///
/// Stored as its variant tag ([`OWNER_CARD`], [`OWNER_KIT`]) then the variant's fields, in
/// bincode's enum layout: the serde impls below write and read the tag by hand, since serde's
/// derive would use the variant's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Card(String),
    Kit { program: String, mapping_id: String },
}

/// An entry of a client's token list: the token's hash and when it expires (the expiry is there
/// so that minting can tell live tokens from expired ones without reading each grant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedToken {
    pub hash: [u8; 32],
    pub expires_at: i64,
}

/// A token grant as stored before grants carried the client's secret fingerprint.
#[derive(Deserialize)]
struct LegacyTokenGrant {
    client_id: String,
    expires_at: i64,
}

/// Decodes a stored token grant of either layout: the current one, or the legacy one (client id
/// and expiry only), which decodes with `secret_fingerprint: None`. The two cannot be mistaken
/// for each other: bincode is not self-describing, so a legacy record read as current ends before
/// the fingerprint, and a current one read as legacy has bytes left over; both are refused.
pub fn decode_grant(bytes: &[u8]) -> Result<crate::domain::model::TokenGrant, codec::CodecError> {
    match codec::decode(bytes) {
        Ok(g) => Ok(g),
        Err(current) => match codec::decode::<LegacyTokenGrant>(bytes) {
            Ok(l) => Ok(crate::domain::model::TokenGrant {
                client_id: l.client_id,
                expires_at: l.expires_at,
                secret_fingerprint: None,
            }),
            Err(_) => Err(current),
        },
    }
}

/// Stored tag of [`Owner::Card`]; never changes.
const OWNER_CARD: u32 = 0;
/// Stored tag of [`Owner::Kit`]; never changes.
const OWNER_KIT: u32 = 1;

impl Serialize for Owner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStructVariant;
        match self {
            Owner::Card(id) => s.serialize_newtype_variant("Owner", OWNER_CARD, "Device", id),
            Owner::Kit {
                program,
                mapping_id,
            } => {
                let mut v = s.serialize_struct_variant("Owner", OWNER_KIT, "Kit", 2)?;
                v.serialize_field("program", program)?;
                v.serialize_field("mapping_id", mapping_id)?;
                v.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Owner {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Owner, D::Error> {
        use serde::de::{EnumAccess, Error, SeqAccess, VariantAccess, Visitor};
        const FIELDS: &[&str] = &["program", "mapping_id"];

        struct OwnerVisitor;
        impl<'de> Visitor<'de> for OwnerVisitor {
            type Value = Owner;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an index owner")
            }
            fn visit_enum<A: EnumAccess<'de>>(self, a: A) -> Result<Owner, A::Error> {
                let (tag, v): (u32, _) = a.variant()?;
                match tag {
                    OWNER_CARD => v.newtype_variant().map(Owner::Card),
                    OWNER_KIT => v.struct_variant(FIELDS, KitVisitor),
                    tag => Err(A::Error::custom(format!("unknown Owner tag {tag}"))),
                }
            }
        }

        struct KitVisitor;
        impl<'de> Visitor<'de> for KitVisitor {
            type Value = Owner;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a kit's program and mapping identifier")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Owner, A::Error> {
                let mut next = |i| {
                    seq.next_element()?
                        .ok_or_else(|| A::Error::invalid_length(i, &self))
                };
                let program = next(0)?;
                let mapping_id = next(1)?;
                Ok(Owner::Kit {
                    program,
                    mapping_id,
                })
            }
        }

        d.deserialize_enum("Owner", &["Device", "Kit"], OwnerVisitor)
    }
}

/// Entities the store counts (for `/metrics` and `verify`); the discriminant is the counter's
/// slot in the embedded engine's stored `counts` value (and its position in [`Counted::ALL`]):
/// fixed, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Counted {
    Users = 0,
    Accounts = 1,
    Cards = 2,
    Wallets = 3,
    Kits = 4,
    StoredResponses = 5,
    Reviews = 6,
}

impl Counted {
    pub const ALL: [Counted; 7] = [
        Counted::Users,
        Counted::Accounts,
        Counted::Cards,
        Counted::Wallets,
        Counted::Kits,
        Counted::StoredResponses,
        Counted::Reviews,
    ];

    /// The entity's name in `/metrics` and `verify` (the names of the embedded engine's trees).
    pub fn name(self) -> &'static str {
        match self {
            Counted::Users => "users",
            Counted::Accounts => "accounts",
            Counted::Cards => "devices",
            Counted::Wallets => "wallets",
            Counted::Kits => "kits",
            Counted::StoredResponses => "enrollments",
            Counted::Reviews => "reviews",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
