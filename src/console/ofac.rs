//! The OFAC review queue: each pending review with why it is pending (the matched list entry,
//! the score against the thresholds) and buttons to clear or decline it
//! (`ops::ofac_review::decide`, as `POST /sandbox/ofac/reviews/{userIdentifier}`).

use super::csrf::Posted;
use super::error::{words_of, ConsoleError};
use super::layout::{self, csrf_field, field_error, notice, urlencode};
use super::session::Session;
use crate::config::Scope;
use crate::ops::browse::{self, ExplainedReview};
use crate::ops::{ofac_review, Ctx};
use crate::wire::sandbox::Decision;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Deserialize)]
struct Query {
    done: Option<String>,
}

fn why(ctx: &Ctx, r: &ExplainedReview) -> String {
    let cfg = &ctx.config.screening;
    format!(
        "Score {:.3} is at or above the review threshold {:.2} and below the decline threshold {:.2}: a partial match, so a person decides.",
        r.review.score, cfg.review_threshold, cfg.decline_threshold
    )
}

fn review_block(s: &Session, ctx: &Ctx, r: &ExplainedReview, error: Option<&str>) -> Markup {
    let user = &r.review.user_identifier;
    let err_id = format!("err-{user}");
    html! {
        section.card-box aria-labelledby={ "h-" (user) } {
            h2 id={ "h-" (user) } { (r.name) }
            dl {
                dt { "User" } dd.mono { (user) }
                dt { "Program" } dd { (r.review.program_code) }
                dt { "State" } dd.status { (r.review.state) }
                dt { "Accounts" } dd {
                    @for a in &r.review.account_identifiers {
                        a.mono href={ "/console/accounts/" (urlencode(a)) } { (a) } " "
                    }
                }
                dt { "Matched entry" } dd {
                    @match &r.screening.matched {
                        Some(m) => {
                            (m.sdn_name) " (entry " (m.ent_num) ", program " (m.program) ")"
                            @if m.matched_name != m.sdn_name { "; matched on " (m.matched_name) }
                            @if let Some(t) = &m.alt_type { " (" (t) ")" }
                        },
                        None => {
                            (r.review.matched_name.as_deref().unwrap_or("—"))
                            @if let Some(n) = r.review.matched_ent_num { " (entry " (n) ")" }
                        },
                    }
                }
                dt { "Score" } dd { (format!("{:.3}", r.review.score)) }
                dt { "Why" } dd { (why(ctx, r)) }
                dt { "List" } dd { (r.review.list_version) }
            }
            @if r.review.state == "pending" {
                form.inline method="post" action={ "/console/ofac/" (urlencode(user)) } {
                    (csrf_field(s))
                    button type="submit" name="decision" value="clear" aria-describedby=[error.map(|_| err_id.as_str())] { "Clear " (r.name) }
                    button.danger type="submit" name="decision" value="decline" { "Decline " (r.name) }
                }
            } @else {
                p.muted { "Being completed." }
            }
            (field_error(&err_id, error))
        }
    }
}

fn render(
    s: &Session,
    ctx: &Ctx,
    status: StatusCode,
    done: Option<&str>,
    failed: Option<(&str, &str)>,
) -> Result<HttpResponse, ConsoleError> {
    let reviews = browse::pending_reviews(ctx, &s.client)?;
    Ok(layout::page_with(
        status,
        s,
        "/console/ofac",
        "OFAC reviews",
        html! {
            h1 { "OFAC reviews" }
            (notice(done))
            @if reviews.is_empty() { p { "No review is waiting." } }
            @for r in &reviews {
                (review_block(s, ctx, r, failed.filter(|(u, _)| *u == r.review.user_identifier).map(|(_, m)| m)))
            }
        },
    ))
}

async fn show(
    s: Session,
    q: web::Query<Query>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    let done = match q.done.as_deref() {
        Some("clear") => Some("Cleared: the pending enrollments completed."),
        Some("decline") => Some("Declined: the pending accounts are closed."),
        _ => None,
    };
    render(&s, &ctx, StatusCode::OK, done, None)
}

async fn decide(
    Posted { s, f }: Posted,
    user: web::Path<String>,
    ctx: web::Data<Ctx>,
) -> Result<HttpResponse, ConsoleError> {
    s.require(Scope::Sandbox)?;
    let decision = match f.get("decision") {
        "clear" => Decision::Clear,
        "decline" => Decision::Decline,
        _ => {
            let msg = "Choose clear or decline.";
            return render(&s, &ctx, StatusCode::BAD_REQUEST, None, Some((&user, msg)));
        }
    };
    match ofac_review::decide(&ctx, &s.client, &user, decision).await {
        Ok(_) => Ok(layout::see_other(&format!(
            "/console/ofac?done={}",
            f.get("decision")
        ))),
        Err(
            e @ (crate::domain::error::DomainError::Conflict(_)
            | crate::domain::error::DomainError::Invalid(_)),
        ) => {
            let msg = words_of(&e);
            render(&s, &ctx, StatusCode::CONFLICT, None, Some((&user, &msg)))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ofac", web::get().to(show))
        .route("/ofac/{user}", web::post().to(decide));
}
