//! Running the HTTP server: open the store, bind, serve until SIGINT/SIGTERM, then finish
//! requests in flight, flush and return.

use crate::config::Config;
use crate::http::auth_guard::AuthGuard;
use crate::http::rate_limit::RateLimiter;
use crate::metrics::Metrics;
use crate::ops::Ctx;
use actix_web::{web, App, HttpServer};
use std::sync::Arc;
use std::time::Duration;

/// Serves `config` until a shutdown signal. Prints `listening on <addr>` once bound (the same
/// line with TLS; the scheme is logged separately).
pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let workers = match (config.server.workers, config.storage.engine) {
        (0, crate::config::Engine::Sled) => cores,
        // A worker blocks on its request's transaction under the SQL engine (see
        // store::postgres::engine): enough workers to keep the pool's connections busy.
        (0, crate::config::Engine::Postgres) => config.storage.postgres_pool_size.max(cores),
        (n, _) => n,
    };
    let bind = config.server.bind.clone();
    // With a certificate and key the port speaks TLS only: no plain-HTTP listener at all.
    let tls = crate::tls::server_config(&config.server)?;
    let ctx = Ctx::open(config)?;
    crate::ops::startup::recover(&ctx).await?;
    let metrics = Arc::new(Metrics::new());
    // One limiter for every worker, so a client's rate does not multiply by the worker count.
    let limiter = RateLimiter::from_config(&ctx.config.server).map(web::Data::new);
    let guard = AuthGuard::from_config(&ctx.config.security).map(web::Data::new);
    let header_timeout = Duration::from_millis(ctx.config.server.header_timeout_ms);
    let app_ctx = ctx.clone();
    let server = HttpServer::new(move || {
        let app = App::new();
        let app = match &limiter {
            Some(l) => app.app_data(l.clone()),
            None => app,
        };
        let app = match &guard {
            Some(g) => app.app_data(g.clone()),
            None => app,
        };
        app.configure(crate::http::configure(app_ctx.clone(), metrics.clone()))
    })
    .workers(workers)
    .backlog(2048)
    // Limits on the connection itself. actix answers a request head over 128 KiB, or one of more
    // than 96 headers, with 431 and closes (both fixed in actix-http); the head must be in within
    // `header_timeout_ms` (else 408 and the connection closes); an idle keep-alive connection
    // is closed after 5 s, and a closing one given 1 s to go.
    .client_request_timeout(header_timeout)
    .client_disconnect_timeout(Duration::from_secs(1))
    .keep_alive(Duration::from_secs(5))
    .max_connections(10_000)
    .shutdown_timeout(30);
    let server = match tls {
        Some(tls) => server.bind_rustls_0_23(&bind, tls)?,
        None => server.bind(&bind)?,
    };
    for addr in server.addrs() {
        println!("listening on {addr}");
    }
    match &ctx.config.server.tls_cert_file {
        Some(cert) => log::info!("serving https only (TLS, certificate {})", cert.display()),
        None => log::info!("serving plain http (no server.tls_cert_file)"),
    }
    log::info!(
        "issuebox {} serving with {workers} workers, durability {:?}",
        env!("CARGO_PKG_VERSION"),
        ctx.store.durability()
    );
    let sweeper = crate::ops::startup::spawn_sweeper(ctx.clone());
    let deliveries = crate::webhooks::worker::Worker::spawn(ctx.clone())?;
    server.run().await?;
    log::info!("requests finished; stopping the sweeper and the webhook delivery loop");
    sweeper.abort();
    let _ = sweeper.await;
    deliveries.stop();
    log::info!("webhook delivery loop stopped");
    ctx.store.flush()?;
    let dir = ctx.config.storage.data_dir.clone();
    let embedded = ctx.store.embedded().is_some();
    drop(ctx);
    let started = std::time::Instant::now();
    let checkpoint = if embedded {
        crate::store::Store::checkpoint(&dir)
    } else {
        Ok(())
    };
    match checkpoint {
        Ok(()) => log::info!(
            "store checkpointed for a quick next start in {} ms",
            started.elapsed().as_millis()
        ),
        Err(e) => log::warn!("no checkpoint at stop (the next start re-reads the log): {e}"),
    }
    log::info!("stopped cleanly");
    Ok(())
}
