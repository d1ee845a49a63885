//! `GET /docs`: the API reference page, Swagger UI over `/openapi.json`, served from the binary
//! so that it works offline (a kiosk has no internet). The viewer is vendored in
//! `assets/api-docs/` (see its README: version, source, licence). Not an API operation, so not
//! in `/openapi.json`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// The page loads only its own files and `/openapi.json`. Swagger UI sets inline styles (React
/// `style` attributes), hence `'unsafe-inline'` for styles only; it shows SVG and `data:` images.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

const INDEX: &[u8] = include_bytes!("../../assets/api-docs/index.html");
const INIT: &[u8] = include_bytes!("../../assets/api-docs/init.js");
const BUNDLE: &[u8] = include_bytes!("../../assets/api-docs/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../../assets/api-docs/swagger-ui.css");

fn file(body: &'static [u8], content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(INDEX)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/docs", web::get().to(index))
        .route(
            "/docs/init.js",
            web::get().to(|| async { file(INIT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/docs/swagger-ui-bundle.js",
            web::get().to(|| async { file(BUNDLE, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/docs/swagger-ui.css",
            web::get().to(|| async { file(CSS, "text/css; charset=utf-8") }),
        );
}
