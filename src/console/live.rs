//! The overview's live events: server-sent events of the client's programs, from the moment
//! the stream opens. Every second the stream reads the events after the last one it sent
//! (through `ops::events`, as `GET /events` does) and re-checks the session, ending when the
//! session has ended (logout, expiry) or after [`LIFETIME`]; the browser then reconnects.

use super::error::ConsoleError;
use super::overview::subject_of;
use super::session::Session;
use crate::config::ClientConfig;
use crate::config::Scope;
use crate::ops::{auth, browse, Ctx};
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use std::time::{Duration, Instant};

/// How long one stream lasts before the browser is asked to reconnect.
const LIFETIME: Duration = Duration::from_secs(300);
const TICK: Duration = Duration::from_secs(1);
/// A comment line this often keeps proxies from closing an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);

struct Stream {
    ctx: web::Data<Ctx>,
    client: ClientConfig,
    token: String,
    after: u64,
    started: Instant,
    quiet_since: Instant,
}

impl Stream {
    /// The next chunk to send, or `None` to end.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if self.started.elapsed() >= LIFETIME {
                return None;
            }
            tokio::time::sleep(TICK).await;
            let scope = *self.client.scopes.first()?;
            auth::authenticate(&self.ctx, &self.token, scope).ok()?;
            let mut out = String::new();
            if let Ok(list) = browse::events_after(&self.ctx, &self.client, self.after) {
                for e in &list.data {
                    let data = serde_json::json!({
                        "sequence": e.sequence,
                        "type": e.kind,
                        "programCode": e.program_code,
                        "subject": subject_of(e),
                        "occurredAt": e.occurred_at,
                    });
                    out.push_str(&format!("id: {}\nevent: evt\ndata: {data}\n\n", e.sequence));
                }
                self.after = list.next.parse().unwrap_or(self.after);
            }
            if !out.is_empty() {
                self.quiet_since = Instant::now();
                return Some(Bytes::from(out));
            }
            if self.quiet_since.elapsed() >= KEEPALIVE {
                self.quiet_since = Instant::now();
                return Some(Bytes::from_static(b": keep-alive\n\n"));
            }
        }
    }
}

async fn stream(s: Session, ctx: web::Data<Ctx>) -> Result<HttpResponse, ConsoleError> {
    // Reading events needs `events` (or `sandbox`) in the API, and here.
    s.require(Scope::Events)?;
    let after = browse::last_sequence(&ctx)?;
    let now = Instant::now();
    let state = Stream {
        ctx,
        client: s.client,
        token: s.token,
        after,
        started: now,
        quiet_since: now,
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        let chunk = st.next_chunk().await?;
        Some((Ok::<_, actix_web::Error>(chunk), st))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/events/stream", web::get().to(stream));
}
