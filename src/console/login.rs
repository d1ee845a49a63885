//! Logging in and out. The id and secret are checked as `POST /authentication` checks them
//! (`ops::auth::check_client`, behind the same guard of rate and lockout), and a login mints a
//! bearer token the session cookie carries; logging out revokes it.

use super::csrf::Posted;
use super::csrf::{self, Fields};
use super::error::ConsoleError;
use super::layout::{self, field_error};
use super::session::{self, Session, COOKIE};
use crate::http::auth_guard::AuthGuard;
use crate::ops::{auth, Ctx};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use base64::Engine;
use maud::html;
use rand::RngCore;

/// The pre-login cookie of the login form's CSRF value (double submit).
const PRE: &str = "issuebox_console_login";

fn login_page(status: StatusCode, nonce: &str, id: &str, error: Option<&str>) -> HttpResponse {
    let invalid = error.map(|_| "true");
    layout::bare(
        status,
        "Log in",
        html! {
            h1 { "issuebox console" }
            p.muted { "Log in with a client id and secret from the server's config.toml." }
            form.stack method="post" action="/console/login" {
                input type="hidden" name=(csrf::FIELD) value=(nonce);
                label for="client_id" { "Client id" }
                input #client_id name="client_id" type="text" autocomplete="username" required
                    value=(id) aria-invalid=[invalid] aria-describedby=[error.map(|_| "login-error")];
                label for="secret" { "Secret" }
                input #secret name="secret" type="password" autocomplete="current-password" required
                    aria-invalid=[invalid] aria-describedby=[error.map(|_| "login-error")];
                (field_error("login-error", error))
                button type="submit" { "Log in" }
            }
        },
    )
}

fn nonce() -> String {
    let mut raw = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The login form, with a fresh pre-login cookie.
async fn show(req: HttpRequest, ctx: web::Data<Ctx>) -> HttpResponse {
    if Session::extract(&req).await.is_ok() {
        return layout::see_other("/console/");
    }
    fresh_form(&ctx, StatusCode::OK, "", None)
}

fn fresh_form(ctx: &Ctx, status: StatusCode, id: &str, error: Option<&str>) -> HttpResponse {
    let n = nonce();
    let mut res = login_page(status, &n, id, error);
    let _ = res.add_cookie(&session::cookie(ctx, PRE, n, 600));
    res
}

async fn submit(
    req: HttpRequest,
    body: web::Bytes,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    let fields = Fields::parse(&body);
    let pre = req.cookie(PRE).map(|c| c.value().to_string());
    csrf::check_login(&req, &ctx, pre.as_deref(), &fields)?;
    let id = fields.get("client_id").to_string();
    let guard = req.app_data::<web::Data<AuthGuard>>().map(|g| g.get_ref());
    let addr = req.peer_addr().map(|a| a.ip());
    if let Some(g) = guard {
        if let Err(wait) = g.admit(addr, Some(&id)) {
            let msg = format!(
                "Too many attempts. Wait {} seconds, then try again.",
                wait.as_secs().max(1)
            );
            return Ok(fresh_form(
                &ctx,
                StatusCode::TOO_MANY_REQUESTS,
                &id,
                Some(&msg),
            ));
        }
    }
    let client = match auth::check_client(&ctx, &id, fields.get("secret")) {
        Ok(c) if !c.scopes.is_empty() => c.clone(),
        _ => {
            if let Some(g) = guard {
                g.failed(addr, Some(&id));
            }
            let msg = "Unknown client id, or a wrong secret.";
            return Ok(fresh_form(&ctx, StatusCode::UNAUTHORIZED, &id, Some(msg)));
        }
    };
    if let Some(g) = guard {
        g.succeeded(addr, Some(&id));
    }
    let issued = auth::issue_token(&ctx, &client).await?;
    let value = session::cookie_value(&client.id, &issued.access_token);
    let mut res = layout::see_other("/console/");
    let _ = res.add_cookie(&session::cookie(
        &ctx,
        COOKIE,
        value,
        issued.expires_in.min(i64::MAX as u64) as i64,
    ));
    let _ = res.add_cookie(&session::cookie(&ctx, PRE, String::new(), 0));
    Ok(res)
}

async fn logout(
    Posted { s, .. }: Posted,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    auth::revoke_token(&ctx, &s.client, &s.token).await?;
    let mut res = layout::see_other("/console/login");
    let _ = res.add_cookie(&session::cookie(&ctx, COOKIE, String::new(), 0));
    Ok(res)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(show))
        .route("/login", web::post().to(submit))
        .route("/logout", web::post().to(logout));
}
