//! Query strings of the list endpoints (`GET /events`, `GET /webhooks/{id}/deliveries`): each
//! parameter at most once and none the endpoint does not know, else 400 naming it.

use crate::domain::error::DomainError;
use actix_web::web;
use std::collections::HashMap;

/// The query as actix read it (or failed to), checked against the endpoint's `known` names.
pub fn params(
    q: Result<web::Query<Vec<(String, String)>>, actix_web::Error>,
    known: &[&'static str],
) -> Result<HashMap<&'static str, String>, DomainError> {
    let pairs = q
        .map_err(|_| DomainError::Invalid("query: not a valid query string".into()))?
        .into_inner();
    let mut out = HashMap::new();
    for (k, v) in pairs {
        let Some(name) = known.iter().find(|n| **n == k) else {
            let shown: String = k.chars().take(40).collect();
            return Err(DomainError::Invalid(format!(
                "{shown}: not a parameter of this endpoint"
            )));
        };
        if out.insert(*name, v).is_some() {
            return Err(DomainError::Invalid(format!("{k}: given more than once")));
        }
    }
    Ok(out)
}
