//! Prometheus metrics: requests by route and status, latency histograms, entity counts, store size.

use prometheus::{
    Counter, Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::atomic::Ordering::Relaxed;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    entities: IntGaugeVec,
    store_bytes: IntGauge,
    commit: CommitCounters,
}

/// The batch committer's totals, mirrored from the store on every scrape.
struct CommitCounters {
    batches: IntCounter,
    requests: IntCounter,
    writes: IntCounter,
    apply_seconds: Counter,
    flush_seconds: Counter,
}

impl CommitCounters {
    fn new(registry: &Registry) -> CommitCounters {
        let int = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("metric");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let float = |name: &str, help: &str| {
            let c = Counter::new(name, help).expect("metric");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        CommitCounters {
            batches: int(
                "issuebox_commit_batches_total",
                "Batches journaled (one journal record and, under durability = flush, one flush each)",
            ),
            requests: int(
                "issuebox_commit_requests_total",
                "Requests whose writes those batches carried",
            ),
            writes: int(
                "issuebox_commit_writes_total",
                "Keys written or removed by those batches",
            ),
            apply_seconds: float(
                "issuebox_commit_apply_seconds_total",
                "Time the applier spent writing journaled batches into the trees",
            ),
            flush_seconds: float(
                "issuebox_commit_flush_seconds_total",
                "Time spent writing and flushing journal records",
            ),
        }
    }

    fn mirror(&self, s: &crate::store::CommitStats) {
        let up = |c: &IntCounter, total: u64| c.inc_by(total.saturating_sub(c.get()));
        up(&self.batches, s.batches.load(Relaxed));
        up(&self.requests, s.requests.load(Relaxed));
        up(&self.writes, s.writes.load(Relaxed));
        let upf = |c: &Counter, nanos: u64| {
            let total = nanos as f64 / 1e9;
            if total > c.get() {
                c.inc_by(total - c.get());
            }
        };
        upf(&self.apply_seconds, s.apply_nanos.load(Relaxed));
        upf(&self.flush_seconds, s.flush_nanos.load(Relaxed));
    }
}

/// The `route` label of a request no route matched (an unknown path answers 404).
pub const UNMATCHED: &str = "unmatched";

/// The `method` label of a request method: one of seven, else `other`, so a client cannot add a
/// label value (nor a log line's text) by sending a method of its own.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "issuebox_http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "issuebox_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )
        .expect("metric");
        let entities = IntGaugeVec::new(
            Opts::new("issuebox_entities", "Entities in the store by kind"),
            &["entity"],
        )
        .expect("metric");
        let store_bytes = IntGauge::new("issuebox_store_bytes", "Bytes the store occupies on disk")
            .expect("metric");
        registry
            .register(Box::new(requests.clone()))
            .expect("register");
        registry
            .register(Box::new(latency.clone()))
            .expect("register");
        registry
            .register(Box::new(entities.clone()))
            .expect("register");
        registry
            .register(Box::new(store_bytes.clone()))
            .expect("register");
        let commit = CommitCounters::new(&registry);
        Metrics {
            commit,
            registry,
            requests,
            latency,
            entities,
            store_bytes,
        }
    }

    /// Records one finished request. `route` is the matched pattern (or [`UNMATCHED`]), never
    /// the raw path, so no identifier or number ends up in a label; `method` is bounded by
    /// [`method_label`] here as well.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method_label(method), &status.to_string()])
            .inc();
        self.latency.with_label_values(&[route]).observe(seconds);
    }

    /// Renders the text exposition, refreshing the store gauges first.
    pub fn render(
        &self,
        counts: &[(&str, u64)],
        store_bytes: u64,
        commit: &crate::store::CommitStats,
    ) -> String {
        self.commit.mirror(commit);
        for (name, n) in counts {
            self.entities.with_label_values(&[name]).set(*n as i64);
        }
        self.store_bytes.set(store_bytes as i64);
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding");
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_a_closed_set() {
        for m in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            assert_eq!(method_label(m), m);
        }
        for m in [
            "get",
            "TRACE",
            "CONNECT",
            "4000009912345678",
            &"X".repeat(500),
        ] {
            assert_eq!(method_label(m), "other");
        }
        let metrics = Metrics::new();
        metrics.observe(UNMATCHED, "4000009912345678", 404, 0.001);
        let text = metrics.render(&[], 0, &Default::default());
        assert!(
            text.contains(r#"method="other",route="unmatched",status="404""#)
                || text.contains(r#"route="unmatched",method="other""#),
            "{text}"
        );
        assert!(!text.contains("4000009912345678"));
    }
}
