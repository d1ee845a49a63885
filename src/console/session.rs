//! The console session: a cookie holding the client id and a bearer token minted at login
//! (see the module doc of `console`). Checked on every request through `ops::auth`.

use super::error::ConsoleError;
use crate::config::{ClientConfig, Scope};
use crate::ops::auth::{self, AuthFailure};
use crate::ops::Ctx;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::{ready, Ready};

/// The session cookie's name.
pub const COOKIE: &str = "issuebox_console";

/// A logged-in client.
#[derive(Debug, Clone)]
pub struct Session {
    pub client: ClientConfig,
    pub token: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

impl Session {
    /// Answers [`ConsoleError::NeedsScope`] unless the client holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ConsoleError> {
        if self.client.has_scope(scope) {
            Ok(())
        } else {
            Err(ConsoleError::NeedsScope(scope.as_str()))
        }
    }

    pub fn may(&self, scope: Scope) -> bool {
        self.client.has_scope(scope)
    }
}

/// The cookie value: the client id in hex (any characters may be in an id), a dot, the token
/// (base64url, no dot).
pub fn cookie_value(client_id: &str, token: &str) -> String {
    format!("{}.{token}", hex::encode(client_id))
}

/// Whether the console is served over TLS (cookies are then `Secure`).
pub fn secure(ctx: &Ctx) -> bool {
    ctx.config.server.tls_cert_file.is_some()
}

/// A cookie of the console: `HttpOnly`, `SameSite=Strict`, path `/console`, `Secure` under TLS.
pub fn cookie<'a>(ctx: &Ctx, name: &'a str, value: String, max_age_s: i64) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(ctx))
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_s))
        .finish()
}

fn resolve(req: &HttpRequest) -> Result<Session, ConsoleError> {
    let ctx = req
        .app_data::<web::Data<Ctx>>()
        .ok_or(ConsoleError::Login)?;
    let raw = req.cookie(COOKIE).ok_or(ConsoleError::Login)?;
    let (id_hex, token) = raw.value().rsplit_once('.').ok_or(ConsoleError::Login)?;
    let id = hex::decode(id_hex)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(ConsoleError::Login)?;
    let client = ctx.config.client(&id).ok_or(ConsoleError::Login)?;
    // Any scope of the client's: the session is valid for the client; each page checks the
    // scope it needs.
    let scope = *client.scopes.first().ok_or(ConsoleError::Login)?;
    match auth::authenticate(ctx, token, scope) {
        Ok(c) if c.id == client.id => Ok(Session {
            csrf: super::csrf::token_of(ctx, token),
            token: token.to_string(),
            client: c,
        }),
        Err(AuthFailure::Store(e)) => Err(ConsoleError::Domain(e)),
        _ => Err(ConsoleError::Login),
    }
}

impl FromRequest for Session {
    type Error = ConsoleError;
    type Future = Ready<Result<Session, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(resolve(req))
    }
}
