//! The console: server-rendered pages for people under `/console`, in the same binary as the
//! API (maud templates, compiled in; one small script for the live overview; no build chain).
//!
//! - **A session is a client.** Logging in checks the client id and secret exactly as
//!   `POST /authentication` does ([`crate::ops::auth::check_client`]) and mints a bearer token
//!   ([`crate::ops::auth::issue_token`]); the session cookie carries the client id and that
//!   token, and every request authenticates it with [`crate::ops::auth::authenticate`]. So a
//!   session lives in the store like any token: it survives a restart, holds across processes
//!   on PostgreSQL, expires after `security.token_ttl_seconds`, counts towards the client's
//!   `max_live_tokens`, and logging out revokes it.
//! - **The same rules as the API.** Every page reads and every button acts through `ops` (the
//!   console has no path of its own to the store), only on the client's programs; sandbox
//!   actions need the `sandbox` scope, webhooks the `events` scope.
//! - **Forms**: each carries a CSRF token (an HMAC of the session's token, see [`csrf`]); a
//!   POST without it, with another one, or from another origin answers 403 and changes nothing.
//! - **Headers**: every console response has a strict `Content-Security-Policy` (scripts and
//!   styles only from `/console/static`), `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`
//!   and `Cache-Control: no-store`.
//! - Never a full card number or SSN on a page: cards are shown masked, holders by the last four
//!   of their SSN at most (the store keeps only its keyed hash anyway).

mod accounts;
mod assets;
mod cards;
mod csrf;
mod error;
mod faults;
mod kits;
mod layout;
mod live;
mod login;
mod manifest;
mod ofac;
mod overview;
mod search;
mod session;
mod webhooks;

use actix_web::{middleware::DefaultHeaders, web};

/// The policy of every console response: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Registers the console's routes under `/console`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .wrap(
                DefaultHeaders::new()
                    .add(("Content-Security-Policy", CSP))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Referrer-Policy", "same-origin"))
                    .add(("Cache-Control", "no-store")),
            )
            .configure(assets::routes)
            .configure(login::routes)
            .configure(overview::routes)
            .configure(live::routes)
            .configure(search::routes)
            .configure(accounts::routes)
            .configure(cards::routes)
            .configure(ofac::routes)
            .configure(kits::routes)
            .configure(faults::routes)
            .configure(webhooks::routes)
            .default_service(web::to(error::not_found)),
    );
}
