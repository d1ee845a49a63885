//! Cross-site request forgery: every console form carries a token, and every POST is checked
//! before it changes anything.
//!
//! A session's token is HMAC-SHA-256 of its bearer token under the vault's lookup key (derived
//! from `pan_key`), so it needs no storage and dies with the session. The login form, before
//! any session, carries a random value that must equal the one in a pre-login cookie
//! (double submit). A POST also fails when its `Origin` (or `Sec-Fetch-Site`) says it comes
//! from another site, whatever its token.

use super::error::ConsoleError;
use super::session::Session;
use crate::domain::error::DomainError;
use crate::ops::Ctx;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use subtle::ConstantTimeEq;

/// The name of the hidden field.
pub const FIELD: &str = "csrf";

/// The CSRF token of the session holding bearer `token`.
pub fn token_of(ctx: &Ctx, token: &str) -> String {
    hex::encode(ctx.vault.fingerprint(b"console-csrf", token))
}

/// A form's fields (`application/x-www-form-urlencoded`); a repeated name keeps its first value.
#[derive(Debug, Default)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    pub fn parse(body: &[u8]) -> Fields {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Fields(map)
    }

    pub fn insert(&mut self, k: &str, v: String) {
        self.0.entry(k.to_string()).or_insert(v);
    }

    /// A field's value, trimmed; "" when absent.
    pub fn get(&self, k: &str) -> &str {
        self.0.get(k).map(|v| v.trim()).unwrap_or("")
    }

    /// A field's value, `None` when absent or blank.
    pub fn opt(&self, k: &str) -> Option<String> {
        Some(self.get(k))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Refuses a request that a browser says comes from another site.
pub fn check_origin(req: &HttpRequest, ctx: &Ctx) -> Result<(), ConsoleError> {
    const FOREIGN: ConsoleError =
        ConsoleError::Forbidden("This form was sent from another site; nothing was changed.");
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return Err(FOREIGN);
        }
    }
    if let Some(origin) = headers.get("origin") {
        let scheme = if super::session::secure(ctx) {
            "https"
        } else {
            "http"
        };
        let host = req.connection_info().host().to_string();
        let expected = format!("{scheme}://{host}");
        if origin.to_str().map(|o| o != expected).unwrap_or(true) {
            return Err(FOREIGN);
        }
    }
    Ok(())
}

const MISSING: ConsoleError = ConsoleError::Forbidden(
    "This form has expired or was not sent from the console; nothing was changed. Reload the page and try again.",
);

/// Checks a session's POST: its origin and its token in `fields`.
pub fn check(
    req: &HttpRequest,
    ctx: &Ctx,
    s: &Session,
    fields: &Fields,
) -> Result<(), ConsoleError> {
    check_origin(req, ctx)?;
    if same(fields.get(FIELD), &s.csrf) {
        Ok(())
    } else {
        Err(MISSING)
    }
}

/// A session's form POST, checked: the extractor of every console action but the upload
/// (multipart, checked by hand) and the login (before a session). It answers the login page
/// without a session, 403 for a forged form, and reads at most `server.max_body_bytes`.
pub struct Posted {
    pub s: Session,
    pub f: Fields,
}

impl FromRequest for Posted {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Posted, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let session = Session::extract(&req);
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let s = session.await?;
            let body = body.await.map_err(|_| {
                ConsoleError::Domain(DomainError::Invalid(
                    "the form is larger than this server takes".into(),
                ))
            })?;
            let ctx = req
                .app_data::<web::Data<Ctx>>()
                .ok_or(ConsoleError::Login)?;
            let f = Fields::parse(&body);
            check(&req, ctx, &s, &f)?;
            Ok(Posted { s, f })
        })
    }
}

/// Checks the login form against its pre-login cookie.
pub fn check_login(
    req: &HttpRequest,
    ctx: &Ctx,
    cookie: Option<&str>,
    fields: &Fields,
) -> Result<(), ConsoleError> {
    check_origin(req, ctx)?;
    match cookie {
        Some(c) if !c.is_empty() && same(fields.get(FIELD), c) => Ok(()),
        _ => Err(MISSING),
    }
}
