//! A webhook receiver for load runs (`benches/webhook_load.py`): answers 200 to every `POST`, at
//! once and with an empty body, and records each delivery's lag, the time it arrived less the
//! event's `occurredAt`, in a histogram (1 ms steps to 10 s, 100 ms steps to an hour, beyond
//! that counted at an hour). It checks no signature: it measures the sender, not itself.
//!
//! ```text
//! cargo bench --bench webhook_sink -- [--port 0] [--workers 1]
//! cargo bench --bench webhook_sink --no-run     # builds it; cargo prints the executable's path
//! ```
//! `WEBHOOK_SINK_PORT` and `WEBHOOK_SINK_WORKERS` do the same as the flags. It binds
//! 127.0.0.1 (port 0 picks a free one), prints `listening on ADDR` and serves until killed.
//!
//! - `POST` (any other path or method too): 200; counts the body, its `webhook-id` and its lag.
//! - `GET /stats`: `{"count", "distinct", "p50_ms", "p99_ms", "max_ms", "unparsed", "stale",
//!   "first_ms", "last_ms"}`: deliveries received, distinct `webhook-id`s among them, lag
//!   percentiles, bodies without a readable `occurredAt`, and the Unix ms of the first and last
//!   delivery (0 before any).
//! - `POST /reset[?after=N]`: forgets everything counted so far; with `after`, deliveries of
//!   events whose sequence (the `webhook-id`'s digits after its last `_`) is N or less are from
//!   then on only counted as `stale` (stragglers of an earlier run), not in the figures above.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use parking_lot::Mutex;
use rustc_hash::FxHashSet;
use serde::Deserialize;
use std::time::{SystemTime, UNIX_EPOCH};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Lags below this many ms have a bucket per ms.
const FINE_MS: u64 = 10_000;
/// Then a bucket per this many ms ...
const COARSE_STEP_MS: u64 = 100;
/// ... up to this lag; a longer one counts here.
const MAX_MS: u64 = 3_600_000;
const BUCKETS: usize = (FINE_MS + (MAX_MS - FINE_MS) / COARSE_STEP_MS + 1) as usize;

struct Stats {
    after: u64,
    stale: u64,
    count: u64,
    unparsed: u64,
    ids: FxHashSet<Box<str>>,
    hist: Vec<u64>,
    max_ms: u64,
    first_ms: u64,
    last_ms: u64,
}

impl Stats {
    fn new(after: u64) -> Stats {
        Stats {
            after,
            stale: 0,
            count: 0,
            unparsed: 0,
            ids: FxHashSet::default(),
            hist: vec![0; BUCKETS],
            max_ms: 0,
            first_ms: 0,
            last_ms: 0,
        }
    }

    fn bucket(lag_ms: u64) -> usize {
        let lag = lag_ms.min(MAX_MS);
        if lag < FINE_MS {
            lag as usize
        } else {
            (FINE_MS + (lag - FINE_MS) / COARSE_STEP_MS) as usize
        }
    }

    /// The lowest lag a bucket holds.
    fn lag_of(bucket: usize) -> u64 {
        let b = bucket as u64;
        if b < FINE_MS {
            b
        } else {
            FINE_MS + (b - FINE_MS) * COARSE_STEP_MS
        }
    }

    /// The lag at quantile `q` (0..1) of the parsed deliveries: 0 with none.
    fn quantile(&self, q: f64) -> u64 {
        let total: u64 = self.count - self.unparsed;
        if total == 0 {
            return 0;
        }
        let rank = ((total as f64 * q).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (b, n) in self.hist.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::lag_of(b);
            }
        }
        self.max_ms
    }
}

/// The one field of the event the sink reads.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "occurredAt", borrow)]
    occurred_at: Option<&'a str>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn occurred_ms(body: &[u8]) -> Option<u64> {
    let p: Probe = serde_json::from_slice(body).ok()?;
    let t = OffsetDateTime::parse(p.occurred_at?, &Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    stats: web::Data<Mutex<Stats>>,
) -> HttpResponse {
    let at = now_ms();
    let occurred = occurred_ms(&body);
    let id = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let seq = id.rsplit_once('_').and_then(|(_, n)| n.parse::<u64>().ok());
    let mut s = stats.lock();
    if seq.is_some_and(|n| n <= s.after) {
        s.stale += 1;
        return HttpResponse::Ok().finish();
    }
    s.count += 1;
    if s.first_ms == 0 {
        s.first_ms = at;
    }
    s.last_ms = at;
    if !s.ids.contains(id) {
        s.ids.insert(id.into());
    }
    match occurred {
        Some(o) => {
            let lag = at.saturating_sub(o);
            s.hist[Stats::bucket(lag)] += 1;
            s.max_ms = s.max_ms.max(lag);
        }
        None => s.unparsed += 1,
    }
    drop(s);
    HttpResponse::Ok().finish()
}

async fn stats(stats: web::Data<Mutex<Stats>>) -> HttpResponse {
    let s = stats.lock();
    let v = serde_json::json!({
        "count": s.count,
        "distinct": s.ids.len(),
        "p50_ms": s.quantile(0.50),
        "p99_ms": s.quantile(0.99),
        "max_ms": s.max_ms,
        "unparsed": s.unparsed,
        "stale": s.stale,
        "first_ms": s.first_ms,
        "last_ms": s.last_ms,
    });
    drop(s);
    HttpResponse::Ok()
        .content_type("application/json")
        .body(v.to_string())
}

#[derive(Deserialize)]
struct ResetQuery {
    after: Option<u64>,
}

async fn reset(q: web::Query<ResetQuery>, stats: web::Data<Mutex<Stats>>) -> HttpResponse {
    *stats.lock() = Stats::new(q.after.unwrap_or(0));
    HttpResponse::Ok().finish()
}

fn setting(flag: &str, env: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{flag}: a number")))
        .unwrap_or(default)
}

fn main() -> std::io::Result<()> {
    let port = setting("--port", "WEBHOOK_SINK_PORT", 0) as u16;
    let workers = setting("--workers", "WEBHOOK_SINK_WORKERS", 1).max(1) as usize;
    let data = web::Data::new(Mutex::new(Stats::new(0)));
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .route("/stats", web::get().to(stats))
                .route("/reset", web::post().to(reset))
                .default_service(web::to(receive))
        })
        .workers(workers)
        .backlog(1024)
        .disable_signals()
        .bind(("127.0.0.1", port))?;
        for a in server.addrs() {
            println!("listening on {a}");
        }
        use std::io::Write;
        std::io::stdout().flush()?;
        server.run().await
    })
}
