//! Running the HTTP server: open the store, bind, serve until SIGINT/SIGTERM, then finish
//! requests in flight, flush and return.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::ops::Ctx;
use actix_web::{App, HttpServer};
use std::sync::Arc;

/// Serves `config` until a shutdown signal. Prints `listening on <addr>` once bound.
pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let workers = match config.server.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    let bind = config.server.bind.clone();
    let ctx = Ctx::open(config)?;
    crate::ops::startup::recover(&ctx).await?;
    let metrics = Arc::new(Metrics::new());
    let app_ctx = ctx.clone();
    let server = HttpServer::new(move || {
        App::new().configure(crate::http::configure(app_ctx.clone(), metrics.clone()))
    })
    .workers(workers)
    .backlog(2048)
    .client_request_timeout(std::time::Duration::from_secs(10))
    .shutdown_timeout(30)
    .bind(&bind)?;
    for addr in server.addrs() {
        println!("listening on {addr}");
    }
    log::info!(
        "issuebox {} serving with {workers} workers, durability {:?}",
        env!("CARGO_PKG_VERSION"),
        ctx.store.durability()
    );
    let sweeper = crate::ops::startup::spawn_sweeper(ctx.clone());
    server.run().await?;
    sweeper.abort();
    ctx.store.flush()?;
    log::info!("stopped cleanly");
    Ok(())
}
