//! The console's stylesheet and script, compiled into the binary and served from
//! `/console/static` (the Content-Security-Policy allows scripts and styles from there only).

use actix_web::{web, HttpResponse};

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(CSS)
}

async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(JS)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/console.css", web::get().to(css))
        .route("/static/console.js", web::get().to(js));
}
