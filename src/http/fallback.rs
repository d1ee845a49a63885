//! Answers for a known path asked with a method it does not have: 405 with `Allow`, in the
//! path's dialect envelope. The paths and their methods are read from the OpenAPI document, so
//! this list cannot drift from the routes the document describes. Any other path answers 404 in
//! the envelope of the dialect its prefix belongs to ([`no_such_route`]).

use super::errors::{BaasError, DeviceError, SandboxError, Transport};
use super::openapi::ApiDoc;
use actix_web::http::header::ALLOW;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use utoipa::OpenApi;

/// The 405 answer of a path whose operations carry `tag`.
fn not_allowed(tag: &str, allow: &str) -> HttpResponse {
    let mut res = match tag {
        "baas" => BaasError::from(Transport::MethodNotAllowed).error_response(),
        "device" => DeviceError::from(Transport::MethodNotAllowed).error_response(),
        "sandbox" => SandboxError::from(Transport::MethodNotAllowed).error_response(),
        "authentication" => {
            HttpResponse::MethodNotAllowed().json(serde_json::json!({"error": "invalid_request"}))
        }
        _ => HttpResponse::MethodNotAllowed().finish(),
    };
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(allow) {
        res.headers_mut().insert(ALLOW, v);
    }
    res
}

/// The default service: a path no route matches (a trailing slash, `//`, an unknown segment)
/// answers 404 in the envelope of its prefix's dialect: `/programs/` BaaS, `/deviceapi/` device,
/// anything else problem+json. The path is not normalised (no redirect).
pub async fn no_such_route(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if under("/programs") {
        BaasError::from(Transport::NoSuchRoute).error_response()
    } else if under("/deviceapi") {
        DeviceError::from(Transport::NoSuchRoute).error_response()
    } else {
        SandboxError::from(Transport::NoSuchRoute).error_response()
    }
}

/// Registers a catch-all resource for every documented path; register it after the real routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let doc = ApiDoc::openapi();
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("PUT", &item.put),
            ("POST", &item.post),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ];
        let allow: Vec<&str> = ops
            .iter()
            .filter(|(_, op)| op.is_some())
            .map(|(m, _)| *m)
            .collect();
        let tag = ops
            .iter()
            .find_map(|(_, op)| op.as_ref()?.tags.as_ref()?.first().cloned())
            .unwrap_or_default();
        let allow = allow.join(", ");
        cfg.service(
            web::resource(path.as_str()).default_service(web::to(move || {
                let r = not_allowed(&tag, &allow);
                async move { r }
            })),
        );
    }
}
