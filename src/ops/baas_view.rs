//! The BaaS view where it needs the store or the catalog: an account read with its holder and
//! cards, the name of its product, and the stored form of an enrollment's outcome. The views
//! themselves are the wire's ([`crate::wire::baas_view`]); the use cases build them because the
//! stored response of a request is written in the same transaction as the entities it shows.

use crate::config::Config;
use crate::domain::error::DomainResult;
use crate::domain::model::{Account, Card, User};
use crate::store::Reader;
use crate::wire::baas_view::{account_view_of, AccountView, Outcome};

/// The name of the account's product in the catalog (empty if the catalog no longer has it).
pub fn product_name<'a>(config: &'a Config, a: &Account) -> &'a str {
    config
        .program(&a.program)
        .and_then(|p| p.product(&a.product))
        .map_or("", |p| p.name.as_str())
}

/// The records the BaaS view of an account is built from: the account, its user and its cards.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountParts {
    pub account: Account,
    pub user: Option<User>,
    pub cards: Vec<Card>,
}

impl AccountParts {
    /// Reads the account's user and cards through `r` (a card no longer there is left out).
    pub fn read<R: Reader>(r: &R, account: Account) -> Result<AccountParts, R::Err> {
        let user = r.user(&account.user_id)?;
        let mut cards = Vec::new();
        for id in &account.card_ids {
            if let Some(d) = r.card(id)? {
                cards.push(d);
            }
        }
        Ok(AccountParts {
            account,
            user,
            cards,
        })
    }

    /// The account as the BaaS dialect shows it.
    pub fn view(&self, config: &Config) -> AccountView {
        account_view_of(
            product_name(config, &self.account),
            &self.account,
            self.user.as_ref(),
            &self.cards,
        )
    }
}

/// An [`Outcome`] in its stored form: the store's compact codec (about half the size of its
/// JSON), rendered back to the same JSON bytes on every replay.
pub trait StoredOutcome: Sized {
    /// The stored form.
    fn stored(&self) -> Vec<u8>;
    /// The response body of a stored outcome.
    fn render_stored(bytes: &[u8]) -> DomainResult<Vec<u8>>;
}

impl StoredOutcome for Outcome {
    fn stored(&self) -> Vec<u8> {
        crate::store::codec::encode(self)
    }

    fn render_stored(bytes: &[u8]) -> DomainResult<Vec<u8>> {
        crate::store::codec::decode::<Outcome>(bytes)
            .map(|o| o.json())
            .map_err(crate::store::storage_err)
    }
}
