//! `POST /authentication` (client credentials, RFC 6749), `POST /authentication/revoke` (RFC
//! 7009) and the bearer-token extractor of each dialect, which refuses in that dialect's envelope
//! (401; 400 for more than one `Authorization` header; 429 once the client has spent its rate
//! limit). Both token endpoints pass the [`AuthGuard`] (rate per client id and per address,
//! lockout after wrong secrets) before a secret is looked at.

use super::auth_guard::AuthGuard;
use super::errors::{BaasError, DeviceError, Failure, SandboxError, Transport};
use super::rate_limit::{retry_after_secs, RateLimiter};
use crate::config::{ClientConfig, Scope};
use crate::domain::error::DomainError;
use crate::ops::auth::{authenticate, check_client, issue_token, revoke_token, AuthFailure};
use crate::ops::Ctx;
use actix_web::http::header::{AUTHORIZATION, RETRY_AFTER};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::{ready, Ready};
use std::marker::PhantomData;

/// A dialect: the scope its endpoints need and the error type that renders its envelope.
pub trait Dialect {
    const SCOPE: Scope;
    type Error: ResponseError + From<Failure> + From<DomainError> + 'static;
}

pub struct Baas;
pub struct Card;
pub struct Sandbox;

impl Dialect for Baas {
    const SCOPE: Scope = Scope::Baas;
    type Error = BaasError;
}
impl Dialect for Card {
    const SCOPE: Scope = Scope::Device;
    type Error = DeviceError;
}
impl Dialect for Sandbox {
    const SCOPE: Scope = Scope::Sandbox;
    type Error = SandboxError;
}

/// Events and webhook endpoints: problem+json like the sandbox, scope `events` (or `sandbox`).
pub struct Events;

impl Dialect for Events {
    const SCOPE: Scope = Scope::Events;
    type Error = SandboxError;
}

/// The authenticated client of a request to dialect `D`.
pub struct Caller<D> {
    pub client: ClientConfig,
    _dialect: PhantomData<D>,
}

/// The one `Authorization` header of a request, if any; two or more are refused, not "the
/// first one wins".
fn authorization(req: &HttpRequest) -> Result<Option<&str>, Failure> {
    let mut all = req.headers().get_all(AUTHORIZATION);
    let first = all.next();
    if all.next().is_some() {
        return Err(Transport::DuplicateAuthorization.into());
    }
    Ok(first.and_then(|v| v.to_str().ok()))
}

fn bearer(req: &HttpRequest) -> Result<Option<&str>, Failure> {
    Ok(authorization(req)?.and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }))
}

/// Takes one of the client's tokens from the server's [`RateLimiter`], if there is one.
fn within_rate(req: &HttpRequest, client: ClientConfig) -> Result<ClientConfig, Failure> {
    match req.app_data::<web::Data<RateLimiter>>() {
        None => Ok(client),
        Some(limiter) => match limiter.check(&client.id) {
            Ok(()) => Ok(client),
            Err(wait) => Err(Transport::TooManyRequests {
                retry_after_secs: retry_after_secs(wait),
            }
            .into()),
        },
    }
}

impl<D: Dialect> FromRequest for Caller<D> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(ctx) = req.app_data::<web::Data<Ctx>>() else {
            return ready(Err(D::Error::from(DomainError::Storage(
                "no context".into(),
            ))
            .into()));
        };
        let result = bearer(req)
            .and_then(|b| b.ok_or(DomainError::Unauthorized.into()))
            .and_then(|token| {
                authenticate(ctx, token, D::SCOPE).map_err(|f| {
                    Failure::from(match f {
                        AuthFailure::Unrecognised => DomainError::Unauthorized,
                        AuthFailure::OutOfScope => DomainError::OutOfScope,
                        AuthFailure::Store(e) => e,
                    })
                })
            })
            .and_then(|client| within_rate(req, client));
        ready(
            result
                .map(|client| Caller {
                    client,
                    _dialect: PhantomData,
                })
                .map_err(|e| D::Error::from(e).into()),
        )
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials` (absent: 400 `invalid_request`; another value: 400
    /// `unsupported_grant_type`).
    #[schema(required = true, value_type = String, pattern = "^client_credentials$")]
    pub grant_type: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// Space-separated scopes of the client: `baas`, `device`, `sandbox`.
    pub scope: String,
}

fn oauth_error(status: u16, error: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "error": error }))
}

fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let v = authorization(req).ok()??;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The grant type of a form (`grant_type=client_credentials`) or JSON body.
fn grant_type(body: &[u8]) -> Option<String> {
    if let Ok(t) = serde_json::from_slice::<TokenRequest>(body) {
        return t.grant_type;
    }
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "grant_type").then(|| v.to_string())
    })
}

/// `429 {"error":"slow_down"}` with `Retry-After`.
fn slow_down(wait: std::time::Duration) -> HttpResponse {
    HttpResponse::TooManyRequests()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((RETRY_AFTER, retry_after_secs(wait).to_string()))
        .json(json!({ "error": "slow_down" }))
}

/// Why a token endpoint refused the client's credentials.
enum Refusal {
    /// Two `Authorization` headers: 400 `invalid_request`.
    DuplicateAuthorization,
    /// The guard's answer: 429 `slow_down` after this long.
    SlowDown(std::time::Duration),
    /// 401 `invalid_client`.
    InvalidClient,
}

impl Refusal {
    fn response(self) -> HttpResponse {
        match self {
            Refusal::DuplicateAuthorization => oauth_error(400, "invalid_request"),
            Refusal::SlowDown(wait) => slow_down(wait),
            Refusal::InvalidClient => oauth_error(401, "invalid_client"),
        }
    }
}

/// The client credentials of a request to a token endpoint, in two steps around reading the
/// body: [`admit`](Self::admit) asks the guard before anything else is done, and
/// [`check`](Self::check) checks the secret and tells the guard how it went.
struct ClientCredentials<'a> {
    guard: Option<&'a AuthGuard>,
    addr: Option<std::net::IpAddr>,
    basic: Option<(String, String)>,
}

impl<'a> ClientCredentials<'a> {
    /// Refuses two `Authorization` headers (400 `invalid_request`) and a request the guard does
    /// not let through now (429 `slow_down`).
    fn admit(req: &'a HttpRequest) -> Result<Self, Refusal> {
        if authorization(req).is_err() {
            return Err(Refusal::DuplicateAuthorization);
        }
        let c = ClientCredentials {
            guard: req.app_data::<web::Data<AuthGuard>>().map(|g| g.get_ref()),
            addr: req.peer_addr().map(|a| a.ip()),
            basic: basic_credentials(req),
        };
        if let Some(g) = c.guard {
            g.admit(c.addr, c.id()).map_err(Refusal::SlowDown)?;
        }
        Ok(c)
    }

    fn id(&self) -> Option<&str> {
        self.basic.as_ref().map(|(id, _)| id.as_str())
    }

    /// The client, or 401 `invalid_client` (a failure the guard counts).
    fn check<'c>(&self, ctx: &'c Ctx) -> Result<&'c ClientConfig, Refusal> {
        let found = self
            .basic
            .as_ref()
            .and_then(|(id, secret)| check_client(ctx, id, secret).ok());
        if let Some(g) = self.guard {
            match found {
                Some(_) => g.succeeded(self.addr, self.id()),
                None => g.failed(self.addr, self.id()),
            }
        }
        found.ok_or(Refusal::InvalidClient)
    }
}

/// Client credentials grant: `Authorization: Basic base64(id:secret)` and a body
/// `grant_type=client_credentials` (form) or `{"grant_type":"client_credentials"}` (JSON).
/// The steps both token endpoints take: the guard admits the request, the body is read, the
/// client's secret is checked (and the guard told how it went). Any refusal is the answer.
async fn client_and_body<'a>(
    req: &HttpRequest,
    payload: web::Payload,
    ctx: &'a Ctx,
) -> Result<(&'a ClientConfig, web::Bytes), HttpResponse> {
    let creds = ClientCredentials::admit(req).map_err(Refusal::response)?;
    let body = match super::body::read_limited(req, payload, ctx.config.server.max_body_bytes).await
    {
        Ok(b) => b,
        Err(Failure::Transport(Transport::PayloadTooLarge)) => {
            return Err(oauth_error(413, "invalid_request"))
        }
        Err(_) => return Err(oauth_error(400, "invalid_request")),
    };
    let client = creds.check(ctx).map_err(Refusal::response)?;
    Ok((client, body))
}

#[utoipa::path(
    post,
    path = "/authentication",
    tag = "authentication",
    request_body(content = TokenRequest, description = "`grant_type=client_credentials` as a form or JSON"),
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 400, description = "`{\"error\":\"unsupported_grant_type\"}` or `invalid_request` (also for two `Authorization` headers)"),
        (status = 401, description = "`{\"error\":\"invalid_client\"}`"),
        (status = 413, description = "Body over max_body_bytes"),
        (status = 429, description = "`{\"error\":\"slow_down\"}`: too many token requests from this client id or address (auth_rate_per_second), or locked after consecutive wrong secrets (auth_failures_before_lockout); see Retry-After"),
    ),
    security(("basic" = []))
)]
pub async fn token(req: HttpRequest, payload: web::Payload, ctx: web::Data<Ctx>) -> HttpResponse {
    let (client, body) = match client_and_body(&req, payload, &ctx).await {
        Ok(cb) => cb,
        Err(refused) => return refused,
    };
    match grant_type(&body).as_deref() {
        Some("client_credentials") => {}
        Some(_) => return oauth_error(400, "unsupported_grant_type"),
        None => return oauth_error(400, "invalid_request"),
    }
    let issued = match issue_token(&ctx, client).await {
        Ok(t) => t,
        Err(e) => return super::errors::SandboxError::from(e).error_response(),
    };
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            access_token: issued.access_token,
            token_type: "Bearer".into(),
            expires_in: issued.expires_in,
            scope: issued.scope,
        })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RevokeRequest {
    /// The access token to revoke.
    #[schema(required = true, value_type = String)]
    pub token: Option<String>,
    /// Accepted and ignored (RFC 7009 section 2.1): every token here is an access token.
    #[schema(required = false, value_type = String)]
    pub token_type_hint: Option<String>,
}

/// Decodes one `application/x-www-form-urlencoded` value (`+` and `%XX`).
fn form_decode(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The `token` of a form (`token=...`) or JSON (`{"token":"..."}`) body.
fn revoke_param(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        // A hint is ignored, but one of the wrong type makes the request invalid.
        if v.get("token_type_hint").is_some_and(|h| !h.is_string()) {
            return None;
        }
        return v.get("token")?.as_str().map(str::to_string);
    }
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "token").then(|| form_decode(v))?
    })
}

/// Token revocation (RFC 7009): with the client's Basic credentials, revokes one of its access
/// tokens; the token then gets 401 in every dialect. An unknown, expired, already revoked or
/// another client's token is answered alike (200) and changes nothing.
#[utoipa::path(
    post,
    path = "/authentication/revoke",
    tag = "authentication",
    request_body(content = RevokeRequest, description = "`token=...` as a form or `{\"token\":\"...\"}` as JSON"),
    responses(
        (status = 200, description = "Revoked, or there was nothing of this client's to revoke; empty body"),
        (status = 400, description = "`{\"error\":\"invalid_request\"}`: no `token`, or two `Authorization` headers"),
        (status = 401, description = "`{\"error\":\"invalid_client\"}`"),
        (status = 413, description = "Body over max_body_bytes"),
        (status = 429, description = "`{\"error\":\"slow_down\"}`, as for `POST /authentication`; see Retry-After"),
    ),
    security(("basic" = []))
)]
pub async fn revoke(req: HttpRequest, payload: web::Payload, ctx: web::Data<Ctx>) -> HttpResponse {
    let (client, body) = match client_and_body(&req, payload, &ctx).await {
        Ok(cb) => cb,
        Err(refused) => return refused,
    };
    let Some(token) = revoke_param(&body) else {
        return oauth_error(400, "invalid_request");
    };
    match revoke_token(&ctx, client, token.trim()).await {
        Ok(_) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
        Err(e) => super::errors::SandboxError::from(e).error_response(),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/authentication", web::post().to(token))
        .route("/authentication/revoke", web::post().to(revoke));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revoke_token_comes_from_a_form_or_json() {
        assert_eq!(revoke_param(b"token=abc-_1").as_deref(), Some("abc-_1"));
        assert_eq!(
            revoke_param(b"token_type_hint=access_token&token=a%2Bb+c").as_deref(),
            Some("a+b c")
        );
        assert_eq!(revoke_param(br#"{"token":"xyz"}"#).as_deref(), Some("xyz"));
        assert_eq!(revoke_param(br#"{"token":5}"#), None);
        assert_eq!(
            revoke_param(br#"{"token":"xyz","token_type_hint":"access_token"}"#).as_deref(),
            Some("xyz")
        );
        assert_eq!(
            revoke_param(br#"{"token":"xyz","token_type_hint":null}"#),
            None
        );
        assert_eq!(revoke_param(b"tokens=abc"), None);
        assert_eq!(revoke_param(b"token=%zz"), None);
        assert_eq!(revoke_param(b""), None);
    }
}
