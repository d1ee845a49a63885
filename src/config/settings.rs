//! The `[server]`, `[storage]`, `[security]`, `[screening]` and `[webhooks]` sections: their
//! defaults and their ranges.

use super::{err, ConfigError};
use crate::webhooks::RetrySchedule;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    /// 0 = one worker per core.
    pub workers: usize,
    pub max_body_bytes: usize,
    /// Milliseconds a client has to send a whole request head (request line and headers);
    /// a slower client gets 408 and the connection is closed.
    pub header_timeout_ms: u64,
    /// Milliseconds a client has to send a whole request body once its head is in; a slower
    /// body answers 408 in the dialect's envelope.
    pub body_timeout_ms: u64,
    /// Requests per second each client may make to the bearer-token endpoints; 0 = no limit.
    pub rate_limit_per_second: u32,
    /// Requests a client may make at once above the steady rate (token bucket size); 0 = the
    /// per-second rate.
    pub rate_limit_burst: u32,
    /// PEM certificate chain (end-entity first). With `tls_key_file` the listener speaks TLS
    /// only; one without the other is a config error.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the chain's first certificate.
    pub tls_key_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            workers: 0,
            max_body_bytes: 65536,
            header_timeout_ms: 5000,
            body_timeout_ms: 30000,
            rate_limit_per_second: 0,
            rate_limit_burst: 0,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

impl ServerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_body_bytes == 0 {
            return err("server.max_body_bytes must be greater than 0");
        }
        if self.header_timeout_ms == 0 || self.body_timeout_ms == 0 {
            return err(
                "server.header_timeout_ms and server.body_timeout_ms must be greater than 0",
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// A 2xx is sent only after its writes are on disk (group commit).
    Flush,
    /// Leave flushing to sled's own timer.
    Os,
}

/// Which engine holds the store (contract section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The embedded store under `data_dir`; one process owns it.
    Sled,
    /// A PostgreSQL-protocol database at `postgres_url`, shared by any number of processes.
    Postgres,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub engine: Engine,
    /// The database of `engine = "postgres"` (env `ISSUEBOX_POSTGRES_URL` overrides), as a URL
    /// (`postgres://user@host:port/db`, several hosts and `target_session_attrs` accepted) or
    /// libpq's `key=value` form.
    pub postgres_url: String,
    /// Connections to the database this process keeps at most; a request holds one for its
    /// transaction.
    pub postgres_pool_size: usize,
    pub data_dir: PathBuf,
    pub durability: Durability,
    /// Seconds between two runs of the sweeper that deletes expired bearer tokens and stored
    /// responses past their retention.
    pub sweep_interval_seconds: u64,
    /// Free bytes the store's filesystem must keep: below it, requests that would write answer
    /// 503 (reads go on), so that sled never meets a full disk; 0 = no floor.
    pub min_free_bytes: u64,
    /// Requests that may wait for the store's writer at once; one more answers 503.
    pub max_pending_writes: usize,
    /// sled's page cache, in bytes: the bound of the store's share of memory.
    pub cache_bytes: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            engine: Engine::Sled,
            postgres_url: String::new(),
            postgres_pool_size: 32,
            data_dir: "data/db".into(),
            durability: Durability::Flush,
            sweep_interval_seconds: 3600,
            min_free_bytes: 64 << 20,
            max_pending_writes: 4096,
            cache_bytes: crate::store::DEFAULT_CACHE_BYTES,
        }
    }
}

impl StorageConfig {
    /// The database of `engine = "postgres"`: env `ISSUEBOX_POSTGRES_URL` over the file.
    pub fn postgres_url(&self) -> String {
        std::env::var("ISSUEBOX_POSTGRES_URL").unwrap_or_else(|_| self.postgres_url.clone())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.engine == Engine::Postgres {
            if self.postgres_url().trim().is_empty() {
                return err("storage.postgres_url (or ISSUEBOX_POSTGRES_URL) is required with storage.engine = \"postgres\"");
            }
            if let Err(e) = self.postgres_url().parse::<tokio_postgres::Config>() {
                return err(format!(
                    "storage.postgres_url is not a PostgreSQL connection string: {e}"
                ));
            }
            if self.postgres_pool_size == 0 {
                return err("storage.postgres_pool_size must be greater than 0");
            }
        }
        if self.cache_bytes < 1 << 20 {
            return err("storage.cache_bytes must be at least 1048576 (1 MiB)");
        }
        if self.max_pending_writes == 0 {
            return err("storage.max_pending_writes must be greater than 0");
        }
        if self.sweep_interval_seconds == 0 {
            return err("storage.sweep_interval_seconds must be greater than 0");
        }
        Ok(())
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    pub pan_key: String,
    pub token_ttl_seconds: u64,
    /// Live bearer tokens a client may hold; minting one more revokes its oldest.
    pub max_live_tokens: u32,
    /// Token requests (`/authentication`, `/authentication/revoke`) a second per client id and,
    /// separately, per source address; 0 = no limit.
    pub auth_rate_per_second: u32,
    /// Token requests at once above the steady rate (bucket size); 0 = the per-second rate.
    pub auth_burst: u32,
    /// Consecutive wrong secrets of a client id, or from an address, that lock it; 0 = no lockout.
    pub auth_failures_before_lockout: u32,
    /// The first lockout window; each further failure locks for twice the previous window.
    pub auth_lockout_seconds: u64,
    /// The longest lockout window.
    pub auth_lockout_max_seconds: u64,
}

impl std::fmt::Debug for SecurityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityConfig")
            .field("pan_key", &"<redacted>")
            .field("token_ttl_seconds", &self.token_ttl_seconds)
            .field("max_live_tokens", &self.max_live_tokens)
            .field("auth_rate_per_second", &self.auth_rate_per_second)
            .field("auth_burst", &self.auth_burst)
            .field(
                "auth_failures_before_lockout",
                &self.auth_failures_before_lockout,
            )
            .field("auth_lockout_seconds", &self.auth_lockout_seconds)
            .field("auth_lockout_max_seconds", &self.auth_lockout_max_seconds)
            .finish()
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            pan_key: String::new(),
            token_ttl_seconds: 86400,
            max_live_tokens: 100,
            auth_rate_per_second: 20,
            auth_burst: 40,
            auth_failures_before_lockout: 10,
            auth_lockout_seconds: 2,
            auth_lockout_max_seconds: 300,
        }
    }
}

impl SecurityConfig {
    /// The ranges of the token settings; the key is checked by [`Config::validate`](super::Config::validate), which
    /// knows
    /// the environment's override.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.token_ttl_seconds == 0 {
            return err("security.token_ttl_seconds must be greater than 0");
        }
        if self.max_live_tokens == 0 {
            return err("security.max_live_tokens must be greater than 0");
        }
        if self.auth_failures_before_lockout > 0
            && !(0 < self.auth_lockout_seconds
                && self.auth_lockout_seconds <= self.auth_lockout_max_seconds)
        {
            return err(
                "security: with a lockout, 0 < auth_lockout_seconds <= auth_lockout_max_seconds",
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreeningConfig {
    pub sdn_file: PathBuf,
    pub review_threshold: f64,
    pub decline_threshold: f64,
}

impl Default for ScreeningConfig {
    fn default() -> Self {
        ScreeningConfig {
            sdn_file: "data/ofac/sdn.csv".into(),
            review_threshold: 0.88,
            decline_threshold: 0.97,
        }
    }
}

impl ScreeningConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0 < self.review_threshold
            && self.review_threshold <= self.decline_threshold
            && self.decline_threshold <= 1.0)
        {
            return err(
                "screening thresholds must satisfy 0 < review_threshold <= decline_threshold <= 1",
            );
        }
        Ok(())
    }
}

/// The `[webhooks]` section (contract section 8): where, how patiently and how often events are
/// delivered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Hosts an endpoint URL may name: host names, `*.domain`, IP addresses, CIDR blocks,
    /// `loopback`, `*` (see [`crate::webhooks::hosts`]). Empty: no endpoint can be registered.
    pub allowed_hosts: Vec<String>,
    /// Milliseconds one attempt may take, connect to answer; slower is a failed attempt.
    pub timeout_ms: u64,
    /// Delays before each retry of a failed delivery, like `"5s"`, `"30m"`, `"2h"` (each with up
    /// to 20% jitter); past the last one the delivery is `failed`.
    pub retry_schedule: Vec<String>,
    /// Consecutive failed deliveries after which an endpoint is `disabled`.
    pub disable_after_failures: u32,
    /// Attempts in flight at once, over all endpoints.
    pub max_in_flight: usize,
    /// How often the delivery loop looks for due deliveries when nothing woke it.
    pub dispatch_interval_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allowed_hosts: vec!["loopback".into()],
            timeout_ms: 5000,
            retry_schedule: crate::webhooks::schedule::DEFAULT_SCHEDULE
                .iter()
                .map(|s| s.to_string())
                .collect(),
            disable_after_failures: 5,
            max_in_flight: 32,
            dispatch_interval_ms: 200,
        }
    }
}

impl WebhooksConfig {
    /// `retry_schedule` parsed; an error names the bad entry. Every loaded config's parses.
    pub fn schedule(&self) -> Result<RetrySchedule, ConfigError> {
        RetrySchedule::parse(&self.retry_schedule)
            .map_err(|e| ConfigError(format!("webhooks.retry_schedule{e}")))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for entry in &self.allowed_hosts {
            crate::webhooks::hosts::check_entry(entry)
                .map_err(|e| ConfigError(format!("webhooks.allowed_hosts: {e}")))?;
        }
        self.schedule()?;
        for (key, value) in [
            ("timeout_ms", self.timeout_ms),
            (
                "disable_after_failures",
                u64::from(self.disable_after_failures),
            ),
            ("max_in_flight", self.max_in_flight as u64),
            ("dispatch_interval_ms", self.dispatch_interval_ms),
        ] {
            if value == 0 {
                return err(format!("webhooks.{key} must be greater than 0"));
            }
        }
        Ok(())
    }
}
