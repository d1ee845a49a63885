//! The BaaS view where it needs the store or the catalog: an account read with its holder and
//! cards, the name of its product, and the stored form of an enrollment's outcome. The views
//! themselves are the wire's ([`crate::wire::baas_view`]); the use cases build them because the
//! stored response of a request is written in the same transaction as the entities it shows.

use crate::config::Config;
use crate::domain::error::DomainResult;
use crate::domain::model::Account;
use crate::store::Reader;
use crate::wire::baas_view::{account_view_of, AccountView, Outcome};

/// The name of the account's product in the catalog (empty if the catalog no longer has it).
pub fn product_name<'a>(config: &'a Config, a: &Account) -> &'a str {
    config
        .program(&a.program)
        .and_then(|p| p.product(&a.product))
        .map_or("", |p| p.name.as_str())
}

/// The account as the BaaS dialect shows it, reading its user and cards through `r`.
pub fn account_view<R: Reader>(r: &R, config: &Config, a: &Account) -> Result<AccountView, R::Err> {
    let user = r.user(&a.user_id)?;
    let mut cards = Vec::new();
    for id in &a.card_ids {
        if let Some(d) = r.card(id)? {
            cards.push(d);
        }
    }
    Ok(account_view_of(
        product_name(config, a),
        a,
        user.as_ref(),
        &cards,
    ))
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
