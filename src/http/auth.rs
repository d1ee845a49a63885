//! `POST /authentication` (client credentials, RFC 6749) and the bearer-token extractor of each
//! dialect, which refuses in that dialect's envelope (401, or 429 once the client has spent its
//! rate limit).

use super::errors::{BaasError, DeviceError, SandboxError};
use super::rate_limit::{retry_after_secs, RateLimiter};
use crate::config::{ClientConfig, Scope};
use crate::domain::error::DomainError;
use crate::ops::auth::{authenticate, check_client, issue_token, AuthFailure};
use crate::ops::Ctx;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::{ready, Ready};
use std::marker::PhantomData;

/// A dialect: the scope its endpoints need and the error type that renders its envelope.
pub trait Dialect {
    const SCOPE: Scope;
    type Error: ResponseError + From<DomainError> + 'static;
}

pub struct Baas;
pub struct Device;
pub struct Sandbox;

impl Dialect for Baas {
    const SCOPE: Scope = Scope::Baas;
    type Error = BaasError;
}
impl Dialect for Device {
    const SCOPE: Scope = Scope::Device;
    type Error = DeviceError;
}
impl Dialect for Sandbox {
    const SCOPE: Scope = Scope::Sandbox;
    type Error = SandboxError;
}

/// The authenticated client of a request to dialect `D`.
pub struct Caller<D> {
    pub client: ClientConfig,
    _dialect: PhantomData<D>,
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let v = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Takes one of the client's tokens from the server's [`RateLimiter`], if there is one.
fn within_rate(req: &HttpRequest, client: ClientConfig) -> Result<ClientConfig, DomainError> {
    match req.app_data::<web::Data<RateLimiter>>() {
        None => Ok(client),
        Some(limiter) => match limiter.check(&client.id) {
            Ok(()) => Ok(client),
            Err(wait) => Err(DomainError::TooManyRequests {
                retry_after_secs: retry_after_secs(wait),
            }),
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
        let result = match bearer(req) {
            None => Err(DomainError::Unauthorized),
            Some(token) => authenticate(ctx, token, D::SCOPE).map_err(|f| match f {
                AuthFailure::Unrecognised => DomainError::Unauthorized,
                AuthFailure::OutOfScope => DomainError::OutOfScope,
            }),
        }
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
    let v = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
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

/// Client credentials grant: `Authorization: Basic base64(id:secret)` and a body
/// `grant_type=client_credentials` (form) or `{"grant_type":"client_credentials"}` (JSON).
#[utoipa::path(
    post,
    path = "/authentication",
    tag = "authentication",
    request_body(content = TokenRequest, description = "`grant_type=client_credentials` as a form or JSON"),
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 400, description = "`{\"error\":\"unsupported_grant_type\"}` or `invalid_request`"),
        (status = 401, description = "`{\"error\":\"invalid_client\"}`"),
        (status = 413, description = "Body over max_body_bytes"),
    ),
    security(("basic" = []))
)]
pub async fn token(req: HttpRequest, payload: web::Payload, ctx: web::Data<Ctx>) -> HttpResponse {
    let body =
        match super::body::read_limited(&req, payload, ctx.config.server.max_body_bytes).await {
            Ok(b) => b,
            Err(DomainError::PayloadTooLarge) => return oauth_error(413, "invalid_request"),
            Err(_) => return oauth_error(400, "invalid_request"),
        };
    let Some((id, secret)) = basic_credentials(&req) else {
        return oauth_error(401, "invalid_client");
    };
    let Ok(client) = check_client(&ctx, &id, &secret) else {
        return oauth_error(401, "invalid_client");
    };
    match grant_type(&body).as_deref() {
        Some("client_credentials") => {}
        Some(_) => return oauth_error(400, "unsupported_grant_type"),
        None => return oauth_error(400, "invalid_request"),
    }
    let issued = match issue_token(&ctx, client).await {
        Ok(t) => t,
        Err(e) => return super::errors::SandboxError(e).error_response(),
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

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/authentication", web::post().to(token));
}
