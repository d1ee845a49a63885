//! The HTTP edge (actix-web): one module per dialect, shared extractors, the middleware that
//! counts requests and echoes correlation headers, and the OpenAPI document.

pub mod api_docs;
pub mod auth;
pub mod auth_guard;
pub mod baas;
pub mod body;
pub mod device;
pub mod errors;
pub mod events;
pub mod fallback;
pub mod openapi;
pub mod openapi_examples;
pub mod operations;
pub mod query;
pub mod rate_limit;
pub mod sandbox;
pub mod sandbox_cards;
pub mod webhooks;

use crate::metrics::Metrics;
use crate::ops::Ctx;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{middleware, web};
use std::sync::Arc;
use std::time::Instant;

/// Headers a dialect echoes back: BaaS `X-GD-RequestId`, device `Correlation-ID`.
const ECHOED: [&str; 2] = ["x-gd-requestid", "correlation-id"];

async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let echoed: Vec<(HeaderName, HeaderValue)> = ECHOED
        .iter()
        .filter_map(|h| {
            let v = req.headers().get(*h)?;
            (v.len() <= 128).then(|| (HeaderName::from_static(h), v.clone()))
        })
        .collect();
    // Only bounded values reach the label and the log line: a method is any token a client
    // sends (a card number, a 500-character string), the raw path may hold identifiers.
    let method = crate::metrics::method_label(req.method().as_str());
    let mut res = next.call(req).await?;
    for (k, v) in echoed {
        if !res.headers().contains_key(&k) {
            res.headers_mut().insert(k, v);
        }
    }
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| crate::metrics::UNMATCHED.to_string());
    log::debug!(
        "{method} {route} {} {:.3}ms",
        res.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    if let Some(m) = metrics {
        m.observe(
            &route,
            method,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

/// Registers every route with its shared state; used by the server and by in-process tests.
pub fn configure(ctx: Ctx, metrics: Arc<Metrics>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let limit = ctx.config.server.max_body_bytes;
        cfg.app_data(web::Data::new(ctx))
            .app_data(web::Data::from(metrics))
            .app_data(web::PayloadConfig::new(limit))
            .service(
                web::scope("")
                    .wrap(middleware::from_fn(observe))
                    // actix tries the routes in this order, each dynamic one by a regex: the hot
                    // paths (the device and BaaS dialects) come first. No two real routes match
                    // one path, so the order changes nothing else; the catch-alls stay last.
                    .configure(operations::routes)
                    .configure(device::routes)
                    .configure(baas::routes)
                    .configure(auth::routes)
                    .configure(sandbox::routes)
                    .configure(sandbox_cards::routes)
                    .configure(events::routes)
                    .configure(webhooks::routes)
                    .configure(api_docs::routes)
                    .configure(crate::console::routes)
                    .configure(fallback::routes)
                    .default_service(web::to(fallback::no_such_route)),
            );
    }
}
