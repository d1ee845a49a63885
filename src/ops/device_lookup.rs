//! Finding the card a device-dialect request names: the request-only checks of the device keys
//! (rows 1-5 of the device table) and the resolution against the store (rows 13-17).
//!
//! Every lookup goes through an index (alias, pack ID, keyed hash of the number); nothing scans
//! the cards. Resolution is generic over [`Reader`] so it runs inside the transaction that
//! writes wallets as well as on a plain store read. A card of a program the client may not use
//! is treated exactly as if it did not exist.

use crate::config::{ClientConfig, Config};
use crate::domain::error::{DeviceField, DomainError as E};
use crate::domain::model::{Card, CardStatus};
use crate::domain::rules::holds_card_number;
use crate::store::{Owner, Reader};
use crate::vault::{Fingerprint, Vault};

/// The four device keys of a request; a key that was absent, null or `""` is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceKeys {
    pub identifier: Option<String>,
    pub number: Option<String>,
    pub pack_id: Option<String>,
    pub alias: Option<String>,
}

/// `None` for an absent, null or empty value.
pub fn given(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// True when `s` has `min..=max` characters.
pub fn len_within(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
}

/// Fails with the row-2..9 length error of `field` unless `v` (when given) fits.
pub fn check_len(v: Option<&str>, min: usize, max: usize, field: DeviceField) -> Result<(), E> {
    match v {
        Some(s) if !len_within(s, min, max) => Err(E::InvalidLength(field)),
        _ => Ok(()),
    }
}

impl DeviceKeys {
    pub fn new(
        identifier: Option<String>,
        number: Option<String>,
        pack_id: Option<String>,
        alias: Option<String>,
    ) -> DeviceKeys {
        DeviceKeys {
            identifier: given(identifier),
            number: given(number),
            pack_id: given(pack_id),
            alias: given(alias),
        }
    }

    /// Rows 1-5: at least one key, each of its length.
    pub fn check(&self) -> Result<(), E> {
        if self.identifier.is_none()
            && self.number.is_none()
            && self.pack_id.is_none()
            && self.alias.is_none()
        {
            return Err(E::MissingDeviceKey);
        }
        check_len(self.number.as_deref(), 15, 19, DeviceField::Number)?;
        check_len(self.identifier.as_deref(), 14, 36, DeviceField::Identifier)?;
        check_len(self.pack_id.as_deref(), 10, 24, DeviceField::PackId)?;
        check_len(self.alias.as_deref(), 1, 24, DeviceField::Alias)
    }
}

/// The card number key, hashed before any transaction starts.
#[derive(Debug, Clone, Copy)]
enum NumberKey {
    Digits(Fingerprint),
    NotDigits,
}

/// A prepared lookup: the keys, the number's keyed hash, and what narrows the search.
#[derive(Debug, Clone)]
pub struct Lookup<'a> {
    keys: &'a DeviceKeys,
    number: Option<NumberKey>,
    client: &'a ClientConfig,
    /// Programs the client may use, where a card pack ID is looked up.
    programs: Vec<&'a str>,
    program: Option<&'a str>,
    device_plan: Option<&'a str>,
}

/// A resolved card, and whether the alias was among the keys that found it.
#[derive(Debug, Clone)]
pub struct Found {
    pub card: Card,
    pub by_alias: bool,
}

impl<'a> Lookup<'a> {
    /// `program` and `device_plan` are the request's `programCode` and `devicePlanCode`.
    pub fn new(
        vault: &Vault,
        config: &'a Config,
        keys: &'a DeviceKeys,
        client: &'a ClientConfig,
        program: Option<&'a str>,
        device_plan: Option<&'a str>,
    ) -> Lookup<'a> {
        let programs = config
            .programs
            .iter()
            .map(|p| p.code.as_str())
            .filter(|p| client.may_use_program(p))
            .collect();
        let number = keys.number.as_deref().map(|n| {
            if n.bytes().all(|b| b.is_ascii_digit()) {
                NumberKey::Digits(vault.pan_fingerprint(n))
            } else {
                NumberKey::NotDigits
            }
        });
        Lookup {
            keys,
            number,
            client,
            programs,
            program,
            device_plan,
        }
    }

    fn visible(&self, d: &Card) -> bool {
        self.client.may_use_program(&d.program)
    }

    fn card<R: Reader>(&self, r: &R, id: &str) -> Result<Option<Card>, R::Err> {
        Ok(r.card(id)?.filter(|d| self.visible(d)))
    }

    fn owned_card<R: Reader>(&self, r: &R, owner: Option<Owner>) -> Result<Card, R::Err> {
        match owner {
            Some(Owner::Card(id)) => self.card(r, &id)?.ok_or_else(|| E::InvalidDevice.into()),
            _ => Err(E::InvalidDevice.into()),
        }
    }

    /// The card with card pack ID `pack` in the programs the request may see (narrowed by
    /// `programCode`): pack IDs are unique within a program, so the same ID in two visible
    /// programs does not name one card.
    fn by_pack<R: Reader>(&self, r: &R, pack: &str) -> Result<Card, R::Err> {
        // No pack ID holds a card number (they are refused at load), so one that does names none.
        if holds_card_number(pack) {
            return Err(E::InvalidDevice.into());
        }
        let mut owners = Vec::new();
        for program in &self.programs {
            if self.program.is_none_or(|p| p == *program) {
                if let Some(o) = r.pack_owner(program, pack)? {
                    owners.push(o);
                }
            }
        }
        match owners.len() {
            1 => self.owned_card(r, owners.pop()),
            _ => Err(E::InvalidDevice.into()),
        }
    }

    /// Rows 13-15: the one NORMAL card carrying `alias`.
    fn by_alias<R: Reader>(&self, r: &R, alias: &str) -> Result<Card, R::Err> {
        if holds_card_number(alias) {
            return Err(E::InvalidAlias.into());
        }
        let mut cards = Vec::new();
        for id in r.alias_cards(alias)? {
            if let Some(d) = self.card(r, &id)? {
                if self.program.is_none_or(|p| p == d.program) {
                    cards.push(d);
                }
            }
        }
        if cards.is_empty() {
            return Err(E::InvalidAlias.into());
        }
        let mut normal = cards.into_iter().filter(|d| d.status == CardStatus::Normal);
        match (normal.next(), normal.next()) {
            (Some(d), None) => Ok(d),
            (Some(_), Some(_)) => Err(E::DuplicateAlias.into()),
            (None, _) => Err(E::DeviceNotFound.into()),
        }
    }

    /// Rows 13-16: the card all given keys name, in the request's program and device plan.
    pub fn resolve<R: Reader>(&self, r: &R) -> Result<Found, R::Err> {
        let mut found: Option<Card> = match &self.keys.alias {
            Some(a) => Some(self.by_alias(r, a)?),
            None => None,
        };
        let mut candidates = Vec::new();
        if let Some(id) = &self.keys.identifier {
            candidates.push(self.card(r, id)?.ok_or(E::InvalidDevice)?);
        }
        match self.number {
            Some(NumberKey::Digits(fp)) => {
                candidates.push(self.owned_card(r, r.number_owner(&fp)?)?)
            }
            Some(NumberKey::NotDigits) => return Err(E::InvalidDevice.into()),
            None => {}
        }
        if let Some(p) = &self.keys.pack_id {
            candidates.push(self.by_pack(r, p)?);
        }
        for d in candidates {
            match &found {
                Some(f) if f.id != d.id => return Err(E::InvalidDevice.into()),
                Some(_) => {}
                None => found = Some(d),
            }
        }
        let card = found.ok_or(E::MissingDeviceKey)?;
        if self.program.is_some_and(|p| p != card.program) {
            return Err(E::InvalidDevice.into());
        }
        Ok(Found {
            card,
            by_alias: self.keys.alias.is_some(),
        })
    }

    /// Row 16's last clause: `devicePlanCode`, when given, is a device plan of the card's program.
    pub fn check_device_plan(&self, config: &Config, card: &Card) -> Result<(), E> {
        match self.device_plan {
            Some(dp)
                if !config
                    .program(&card.program)
                    .is_some_and(|p| p.has_device_plan(dp)) =>
            {
                Err(E::InvalidDevice)
            }
            _ => Ok(()),
        }
    }
}

impl Found {
    /// Row 17: a card found without its alias must not be CANCELLED, REPLACED or UPGRADE.
    pub fn ensure_usable(&self) -> Result<(), E> {
        let closed = matches!(
            self.card.status,
            CardStatus::Cancelled | CardStatus::Replaced | CardStatus::Upgrade
        );
        if closed && !self.by_alias {
            return Err(E::DeviceFinalStatus);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(i: &str, n: &str, p: &str, a: &str) -> DeviceKeys {
        let o = |s: &str| Some(s.to_string());
        DeviceKeys::new(o(i), o(n), o(p), o(a))
    }

    #[test]
    fn empty_keys_are_not_given() {
        assert_eq!(keys("", "", "", "").check(), Err(E::MissingDeviceKey));
        assert_eq!(DeviceKeys::default().check(), Err(E::MissingDeviceKey));
        assert_eq!(keys("", "", "", "x").check(), Ok(()));
    }

    #[test]
    fn lengths_are_checked_in_table_order() {
        let long = "x".repeat(40);
        assert_eq!(
            keys(&long, "123", "short", &long).check(),
            Err(E::InvalidLength(DeviceField::Number))
        );
        assert_eq!(
            keys(&long, "", "short", &long).check(),
            Err(E::InvalidLength(DeviceField::Identifier))
        );
        assert_eq!(
            keys("", "", "short", &long).check(),
            Err(E::InvalidLength(DeviceField::PackId))
        );
        assert_eq!(
            keys("", "", "", &"a".repeat(25)).check(),
            Err(E::InvalidLength(DeviceField::Alias))
        );
        assert_eq!(keys("", "", "", &"é".repeat(24)).check(), Ok(()));
    }
}
