//! The OpenAPI document, derived from the handlers' `#[utoipa::path]` annotations and the
//! request and response types. Each endpoint adds itself to the `paths` list below.
//!
//! The refusals every endpoint of a dialect shares (401, and for bodies 400, 408 and 413; 429 of
//! the rate limit) are added by [`Envelopes`] from the operation's tag, each with the dialect's
//! envelope schema, so no handler can forget one and every error body has a schema.

use super::openapi_examples::Examples;
use utoipa::openapi::content::Content;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{ObjectBuilder, Ref, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "issuebox",
        description = "Card-issuing sandbox and instant-issue core: the BaaS enrollment dialect, the device wallet dialect and the sandbox API over one store. A path not in this document answers 404 in the envelope of its prefix's dialect (`/programs/` BaaS 404/404/0, `/deviceapi/` device NOT_FOUND, anything else problem+json NOT_FOUND); a path in it asked with another method answers 405 with `Allow`."
    ),
    paths(
        super::auth::token,
        super::auth::revoke,
        super::baas::post_enrollment,
        super::baas::get_account,
        super::baas::get_user,
        super::baas::get_enrollment,
        super::operations::health,
        super::operations::metrics,
        super::operations::openapi,
        super::sandbox::get_faults,
        super::sandbox::put_faults,
        super::sandbox::load_kits,
        super::sandbox::get_kit,
        super::sandbox::list_reviews,
        super::sandbox::decide_review,
        super::sandbox::screen,
        super::device::attach,
        super::device::fetch,
        super::sandbox_cards::create_card,
        super::sandbox_cards::set_card_status,
        super::sandbox_cards::replace_card,
        super::sandbox_cards::set_wallet_status,
        super::events::list,
        super::events::get,
        super::webhooks::create,
        super::webhooks::list,
        super::webhooks::get,
        super::webhooks::patch,
        super::webhooks::delete,
        super::webhooks::rotate_secret,
        super::webhooks::test,
        super::webhooks::list_deliveries,
        super::webhooks::retry,
        super::webhooks::recover,
    ),
    components(schemas(
        BaasErrorOut,
        super::device::DeviceErrorOut,
        Problem,
        OAuthError,
    )),
    modifiers(&Security, &Envelopes, &Examples),
    tags(
        (name = "authentication", description = "Client credentials and bearer tokens"),
        (name = "baas", description = "BaaS dialect: enrollment, instant issue, upgrade, reads"),
        (name = "device", description = "The device dialect: wallets of a card (scope `device`)"),
        (name = "sandbox", description = "Test controls: kits, cards, statuses, OFAC reviews, faults (scope `sandbox`)"),
        (name = "events", description = "Every change of state, in commit order (scope `events` or `sandbox`)"),
        (name = "webhooks", description = "Webhook endpoints and deliveries, signed by the Standard Webhooks specification (scope `events` or `sandbox`)"),
        (name = "operations", description = "Health, metrics and this document (no authentication)"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The BaaS envelope of a refusal: `responseDetails` only.
#[derive(ToSchema)]
#[schema(example = json!({"responseDetails": [{"code": 400, "subCode": 0, "description": "…"}]}))]
#[allow(dead_code)]
pub struct BaasErrorOut {
    #[schema(rename = "responseDetails")]
    pub response_details: Vec<crate::wire::baas_view::ResponseDetail>,
}

/// An RFC 9457 problem of the sandbox API, with issuebox's `code`.
#[derive(ToSchema)]
#[schema(example = json!({"type": "about:blank", "title": "Not Found", "status": 404,
    "detail": "no such device", "code": "NOT_FOUND"}))]
#[allow(dead_code)]
pub struct Problem {
    /// Always `about:blank`.
    #[schema(rename = "type")]
    pub kind: String,
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    pub detail: String,
    /// NOT_FOUND, CONFLICT, INVALID_REQUEST, UNAUTHORIZED, PAYLOAD_TOO_LARGE, REQUEST_TIMEOUT,
    /// TOO_MANY_REQUESTS.
    pub code: String,
}

/// An RFC 6749 section 5.2 error of `POST /authentication`.
#[derive(ToSchema)]
#[schema(example = json!({"error": "invalid_client"}))]
#[allow(dead_code)]
pub struct OAuthError {
    /// `invalid_client`, `unsupported_grant_type`, `invalid_request` or `slow_down` (429).
    pub error: String,
}

/// Adds the refusals a dialect shares to each of its operations, and the dialect's envelope
/// schema to every error response that has none.
struct Envelopes;

/// `(content type, schema name)` of a tag's error envelope.
fn envelope(tag: &str) -> Option<(&'static str, &'static str)> {
    match tag {
        "baas" => Some(("application/json", "BaasErrorOut")),
        "device" => Some(("application/json", "DeviceErrorOut")),
        "sandbox" | "events" | "webhooks" => Some(("application/problem+json", "Problem")),
        "authentication" => Some(("application/json", "OAuthError")),
        _ => None,
    }
}

fn add_envelopes(op: &mut Operation) {
    let Some(tag) = op.tags.as_ref().and_then(|t| t.first()).cloned() else {
        return;
    };
    let Some((ct, schema)) = envelope(&tag) else {
        return;
    };
    let has_body = op.request_body.is_some();
    let mut shared = vec![(
        "401",
        "Missing, malformed, unknown or expired credentials, or out of the client's scopes",
    )];
    if has_body {
        shared.push(("400", "The body is not JSON or of the wrong types"));
        // The token endpoints answer a late body 400 `invalid_request` (RFC 6749 has no 408).
        if tag != "authentication" {
            shared.push(("408", "The body was not sent within body_timeout_ms"));
        }
        shared.push(("413", "The body is larger than max_body_bytes"));
    }
    let limited = tag != "authentication";
    if limited {
        shared.push((
            "429",
            "The client spent its rate limit (rate_limit_per_second); see Retry-After",
        ));
    }
    let responses = &mut op.responses.responses;
    for (code, description) in shared {
        responses
            .entry(code.to_string())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    }
    for (code, r) in responses.iter_mut() {
        let RefOr::T(r) = r else { continue };
        if !code.starts_with('4') {
            continue;
        }
        // Every refusal of the dialect has the envelope; keep a schema a handler gave.
        let given = r.content.values().any(|c| c.schema.is_some());
        if !given || ct == "application/problem+json" {
            r.content.clear();
            r.content.insert(
                ct.to_string(),
                Content::new(Some(Ref::from_schema_name(schema))),
            );
        }
        if code == "429" {
            let mut h = Header::new(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            );
            h.description = Some("Seconds until the client may try again".to_string());
            r.headers.insert("Retry-After".to_string(), h);
        }
    }
}

impl Modify for Envelopes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_envelopes(op);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> serde_json::Value {
        serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap()
    }

    #[test]
    fn every_dialect_documents_its_refusals_with_its_envelope() {
        let d = doc();
        let schema = |path: &str, method: &str, code: &str, ct: &str| {
            d["paths"][path][method]["responses"][code]["content"][ct]["schema"]["$ref"]
                .as_str()
                .map(str::to_string)
        };
        let baas = "/programs/{programCode}/enrollments";
        let device = "/deviceapi/apis/v1/services/cardholder/accounts";
        let sandbox = "/sandbox/ofac/screen";
        for code in ["401", "413", "429"] {
            assert!(
                schema(baas, "post", code, "application/json").is_some(),
                "{code}"
            );
            assert_eq!(
                schema(device, "post", code, "application/json").as_deref(),
                Some("#/components/schemas/DeviceErrorOut")
            );
            assert_eq!(
                schema(sandbox, "post", code, "application/problem+json").as_deref(),
                Some("#/components/schemas/Problem")
            );
        }
        assert_eq!(
            schema("/authentication", "post", "401", "application/json").as_deref(),
            Some("#/components/schemas/OAuthError")
        );
        assert!(d["paths"]["/health"]["get"]["responses"]["429"].is_null());
        assert!(
            d["paths"][sandbox]["post"]["responses"]["429"]["headers"]["Retry-After"].is_object()
        );
    }
}
