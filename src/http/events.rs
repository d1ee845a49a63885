//! `GET /events` and `GET /events/{id}` (scope `events` or `sandbox`): the client's events,
//! oldest first. Errors are RFC 9457 problem details.

use super::auth::{Caller, Events};
use super::errors::SandboxError;
use crate::ops::events::{self, EventQuery};
use crate::ops::Ctx;
use crate::wire::events::{event_json, EventList};
use actix_web::{web, HttpResponse};

/// The client's events after a sequence, oldest first; `subject` gives the history of one user,
/// account, card, wallet or kit.
#[utoipa::path(get, path = "/events", tag = "events",
    params(
        ("after" = Option<u64>, Query, description = "Only events with a greater sequence (the `next` of the previous page); default 0"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "At most this many events; default 100"),
        ("type" = Option<String>, Query, pattern = "^(enrollment\\.completed|enrollment\\.pending_review|enrollment\\.declined|user\\.created|account\\.created|account\\.upgraded|account\\.status_changed|card\\.issued|card\\.status_changed|card\\.replaced|kit\\.loaded|kit\\.reserved|kit\\.assigned|kit\\.released|wallet\\.created|wallet\\.status_changed|ofac\\.review_opened|ofac\\.review_decided|webhook\\.test)(,(enrollment\\.completed|enrollment\\.pending_review|enrollment\\.declined|user\\.created|account\\.created|account\\.upgraded|account\\.status_changed|card\\.issued|card\\.status_changed|card\\.replaced|kit\\.loaded|kit\\.reserved|kit\\.assigned|kit\\.released|wallet\\.created|wallet\\.status_changed|ofac\\.review_opened|ofac\\.review_decided|webhook\\.test))*$", description = "Only these types, comma-separated (e.g. `card.issued,wallet.created`)"),
        ("programCode" = Option<String>, Query, pattern = "^[A-Z0-9]{1,10}$", description = "Only this program's events (one of the client's; a code of no program answers 400)"),
        ("subject" = Option<String>, Query, min_length = 1, max_length = 64, description = "Only events naming this user, account, card (device), wallet or kit (mappingIdentifier) identifier"),
    ),
    responses(
        (status = 200, description = "A page of events", body = EventList),
        (status = 400, description = "A bad parameter, named in `detail`"),
        (status = 401, description = "Not authenticated, no events or sandbox scope, or a programCode not the client's"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list(
    c: Caller<Events>,
    ctx: web::Data<Ctx>,
    q: Result<web::Query<Vec<(String, String)>>, actix_web::Error>,
) -> Result<HttpResponse, SandboxError> {
    let mut p = super::query::params(q, &["after", "limit", "type", "programCode", "subject"])?;
    let query = EventQuery {
        after: p.remove("after"),
        limit: p.remove("limit"),
        types: p.remove("type"),
        program: p.remove("programCode"),
        subject: p.remove("subject"),
    };
    let page = events::list(&ctx, &c.client, &query)?;
    Ok(HttpResponse::Ok().json(page))
}

/// One event by id.
#[utoipa::path(get, path = "/events/{id}", tag = "events",
    params(("id" = String, Path, description = "The event's id (`evt_…`)")),
    responses(
        (status = 200, description = "The event", body = crate::wire::events::EventView),
        (status = 404, description = "No such event among the client's programs"),
        (status = 503, description = "Storage unavailable", content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    c: Caller<Events>,
    ctx: web::Data<Ctx>,
    id: web::Path<String>,
) -> Result<HttpResponse, SandboxError> {
    let e = events::get(&ctx, &c.client, &id)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(event_json(&e)))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::get().to(list))
        .route("/events/{id}", web::get().to(get));
}

#[cfg(test)]
mod tests {
    use crate::domain::event::EventType;
    use utoipa::OpenApi;

    /// The `type` parameter's pattern in the OpenAPI document names exactly the event types.
    #[test]
    fn the_type_pattern_names_every_event_type() {
        let doc: serde_json::Value =
            serde_json::from_str(&crate::http::openapi::ApiDoc::openapi().to_json().unwrap())
                .unwrap();
        let params = doc["paths"]["/events"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let pattern = params
            .iter()
            .find(|p| p["name"] == "type")
            .and_then(|p| p["schema"]["pattern"].as_str())
            .unwrap();
        let inner = pattern
            .strip_prefix("^(")
            .and_then(|p| p.split_once(")(,("))
            .map(|(first, _)| first)
            .unwrap();
        assert_eq!(pattern, format!("^({inner})(,({inner}))*$"));
        let mut names: Vec<String> = inner.split('|').map(|n| n.replace("\\.", ".")).collect();
        names.sort();
        let mut want: Vec<String> = EventType::ALL.iter().map(|t| t.as_str().into()).collect();
        want.sort();
        assert_eq!(names, want);
    }
}
