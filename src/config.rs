//! `config.toml`: server, storage, security, screening, clients and the product catalog.
//!
//! Parsing refuses unknown keys (serde `deny_unknown_fields`, whose message names the key);
//! [`Config::validate`] then checks every code, reference and range, so that past load a
//! program, product or plan code is known to be well formed and every cross-reference resolves.

use serde::Deserialize;

pub use crate::domain::catalog::{AccountType, ProductRules, WalletKind, WalletUsage};
pub use crate::domain::rules::parse_ymd;
use std::path::{Path, PathBuf};
use time::Date;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub security: SecurityConfig,
    #[serde(default)]
    pub screening: ScreeningConfig,
    pub clients: Vec<ClientConfig>,
    pub programs: Vec<Program>,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// A 2xx is sent only after its writes are on disk (group commit).
    Flush,
    /// Leave flushing to sled's own timer.
    Os,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
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
            data_dir: "data/db".into(),
            durability: Durability::Flush,
            sweep_interval_seconds: 3600,
            min_free_bytes: 64 << 20,
            max_pending_writes: 4096,
            cache_bytes: crate::store::DEFAULT_CACHE_BYTES,
        }
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

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub id: String,
    pub secret: String,
    /// Program codes this client may use; `"*"` = all.
    pub programs: Vec<String>,
    pub scopes: Vec<Scope>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("programs", &self.programs)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl ClientConfig {
    pub fn may_use_program(&self, program: &str) -> bool {
        self.programs.iter().any(|p| p == "*" || p == program)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Baas,
    Device,
    Sandbox,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Baas => "baas",
            Scope::Device => "device",
            Scope::Sandbox => "sandbox",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub code: String,
    pub name: String,
    pub bin: String,
    pub pan_length: usize,
    #[serde(default)]
    pub products: Vec<Product>,
    #[serde(default)]
    pub device_plans: Vec<DevicePlan>,
    #[serde(default)]
    pub wallet_plans: Vec<WalletPlan>,
    #[serde(default)]
    pub promotion_plans: Vec<PromotionPlan>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub code: String,
    pub name: String,
    pub account_type: AccountType,
    #[serde(default)]
    pub instant_issue: bool,
    #[serde(default)]
    pub instant_issue_physical_card: bool,
    #[serde(default)]
    pub upgrade_to: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePlan {
    pub code: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletPlan {
    pub code: String,
    pub currency: String,
    pub usage: WalletUsage,
    pub kind: WalletKind,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionPlan {
    pub code: String,
    #[serde(deserialize_with = "de_date")]
    pub effective: Date,
    /// Inclusive.
    #[serde(deserialize_with = "de_date")]
    pub end: Date,
    /// Plans it may be used with; empty = all of the program's.
    #[serde(default)]
    pub wallet_plans: Vec<String>,
}

impl PromotionPlan {
    pub fn valid_on(&self, day: Date) -> bool {
        self.effective <= day && day <= self.end
    }
    pub fn allows_plan(&self, plan: &str) -> bool {
        self.wallet_plans.is_empty() || self.wallet_plans.iter().any(|p| p == plan)
    }
}

fn de_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let s = String::deserialize(d)?;
    parse_ymd(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a YYYY-MM-DD date")))
}

impl Product {
    /// What enrollment validation needs of this product.
    pub fn rules(&self) -> ProductRules {
        ProductRules {
            instant_issue: self.instant_issue,
            instant_issue_physical_card: self.instant_issue_physical_card,
        }
    }
}

impl Program {
    /// The validation rules of product `code` of this program, if it has one.
    pub fn product_rules(&self, code: &str) -> Option<ProductRules> {
        self.product(code).map(Product::rules)
    }

    pub fn product(&self, code: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.code == code)
    }
    pub fn wallet_plan(&self, code: &str) -> Option<&WalletPlan> {
        self.wallet_plans.iter().find(|p| p.code == code)
    }
    pub fn promotion_plan(&self, code: &str) -> Option<&PromotionPlan> {
        self.promotion_plans.iter().find(|p| p.code == code)
    }
    pub fn has_device_plan(&self, code: &str) -> bool {
        self.device_plans.iter().any(|p| p.code == code)
    }
}

/// Why a configuration was refused.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// Config codes (program, product, plan): 1-10 characters of `[A-Z0-9]`.
pub fn is_valid_code(code: &str) -> bool {
    (1..=10).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn check_code(what: &str, code: &str) -> Result<(), ConfigError> {
    if is_valid_code(code) {
        Ok(())
    } else {
        err(format!(
            "{what} code `{code}` must be 1-10 characters of A-Z and 0-9"
        ))
    }
}

fn check_unique<'a>(what: &str, codes: impl Iterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for c in codes {
        if !seen.insert(c) {
            return err(format!("{what} code `{c}` appears twice"));
        }
    }
    Ok(())
}

/// The development key shipped in the sandbox config; [`Config::pan_key`] warns when it is used.
pub const SANDBOX_PAN_KEY: &str =
    "6973737565626f782d73616e64626f782d6b65792d6e6f742d73656372657421";

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        let config = Config::parse(&text)?;
        Ok(config)
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The effective card-number key: env `ISSUEBOX_PAN_KEY` over the file.
    pub fn pan_key(&self) -> String {
        std::env::var("ISSUEBOX_PAN_KEY").unwrap_or_else(|_| self.security.pan_key.clone())
    }

    pub fn program(&self, code: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.code == code)
    }

    pub fn client(&self, id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.id == id)
    }

    /// Checks every code, range and cross-reference, and that the TLS certificate and key (when
    /// set) load and belong together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::tls::server_config(&self.server)?;
        if self.server.max_body_bytes == 0 {
            return err("server.max_body_bytes must be greater than 0");
        }
        if self.server.header_timeout_ms == 0 || self.server.body_timeout_ms == 0 {
            return err(
                "server.header_timeout_ms and server.body_timeout_ms must be greater than 0",
            );
        }
        if self.security.token_ttl_seconds == 0 {
            return err("security.token_ttl_seconds must be greater than 0");
        }
        if self.security.max_live_tokens == 0 {
            return err("security.max_live_tokens must be greater than 0");
        }
        let sec = &self.security;
        if sec.auth_failures_before_lockout > 0
            && !(0 < sec.auth_lockout_seconds
                && sec.auth_lockout_seconds <= sec.auth_lockout_max_seconds)
        {
            return err(
                "security: with a lockout, 0 < auth_lockout_seconds <= auth_lockout_max_seconds",
            );
        }
        if self.storage.cache_bytes < 1 << 20 {
            return err("storage.cache_bytes must be at least 1048576 (1 MiB)");
        }
        if self.storage.max_pending_writes == 0 {
            return err("storage.max_pending_writes must be greater than 0");
        }
        if self.storage.sweep_interval_seconds == 0 {
            return err("storage.sweep_interval_seconds must be greater than 0");
        }
        crate::vault::Vault::from_hex_key(&self.pan_key())
            .map_err(|e| ConfigError(format!("security.pan_key: {e}")))?;
        let s = &self.screening;
        if !(0.0 < s.review_threshold
            && s.review_threshold <= s.decline_threshold
            && s.decline_threshold <= 1.0)
        {
            return err(
                "screening thresholds must satisfy 0 < review_threshold <= decline_threshold <= 1",
            );
        }
        if self.programs.is_empty() {
            return err("at least one [[programs]] entry is required");
        }
        check_unique("program", self.programs.iter().map(|p| p.code.as_str()))?;
        for p in &self.programs {
            self.validate_program(p)?;
        }
        if self.clients.is_empty() {
            return err("at least one [[clients]] entry is required");
        }
        let mut ids = std::collections::HashSet::new();
        for c in &self.clients {
            if c.id.is_empty() || c.id.contains(':') {
                return err(format!(
                    "client id `{}` must be non-empty and without ':'",
                    c.id
                ));
            }
            if !ids.insert(c.id.as_str()) {
                return err(format!("client id `{}` appears twice", c.id));
            }
            if c.secret.len() < 8 {
                return err(format!(
                    "client `{}`: secret must be at least 8 characters",
                    c.id
                ));
            }
            for p in &c.programs {
                if p != "*" && self.program(p).is_none() {
                    return err(format!("client `{}`: unknown program `{p}`", c.id));
                }
            }
        }
        Ok(())
    }

    fn validate_program(&self, p: &Program) -> Result<(), ConfigError> {
        check_code("program", &p.code)?;
        if !(6..=8).contains(&p.bin.len()) || !p.bin.bytes().all(|b| b.is_ascii_digit()) {
            return err(format!("program `{}`: bin must be 6-8 digits", p.code));
        }
        if !(15..=19).contains(&p.pan_length) {
            return err(format!("program `{}`: pan_length must be 15-19", p.code));
        }
        check_unique("product", p.products.iter().map(|x| x.code.as_str()))?;
        check_unique(
            "device plan",
            p.device_plans.iter().map(|x| x.code.as_str()),
        )?;
        check_unique(
            "wallet plan",
            p.wallet_plans.iter().map(|x| x.code.as_str()),
        )?;
        check_unique(
            "promotion plan",
            p.promotion_plans.iter().map(|x| x.code.as_str()),
        )?;
        for prod in &p.products {
            check_code("product", &prod.code)?;
            for target in &prod.upgrade_to {
                if p.product(target).is_none() || target == &prod.code {
                    return err(format!(
                        "product `{}`: upgrade_to names `{target}`, not another product of program `{}`",
                        prod.code, p.code
                    ));
                }
            }
        }
        for dp in &p.device_plans {
            check_code("device plan", &dp.code)?;
        }
        for wp in &p.wallet_plans {
            check_code("wallet plan", &wp.code)?;
            if wp.currency.len() != 3 || !wp.currency.bytes().all(|b| b.is_ascii_uppercase()) {
                return err(format!(
                    "wallet plan `{}`: currency must be an ISO 4217 alpha code",
                    wp.code
                ));
            }
        }
        for pp in &p.promotion_plans {
            check_code("promotion plan", &pp.code)?;
            if pp.end < pp.effective {
                return err(format!(
                    "promotion plan `{}`: end is before effective",
                    pp.code
                ));
            }
            for wp in &pp.wallet_plans {
                if p.wallet_plan(wp).is_none() {
                    return err(format!(
                        "promotion plan `{}`: unknown wallet plan `{wp}`",
                        pp.code
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../config.toml");

    #[test]
    fn shipped_config_is_valid_and_a_useful_sandbox() {
        let c = Config::parse(SHIPPED).unwrap();
        let p = &c.programs[0];
        let gpr: Vec<_> = p
            .products
            .iter()
            .filter(|x| x.account_type == AccountType::Gpr)
            .collect();
        assert!(gpr.iter().any(|x| x.instant_issue));
        assert!(gpr.iter().any(|x| !x.instant_issue));
        assert!(p
            .products
            .iter()
            .any(|x| x.account_type == AccountType::Dda));
        assert!(!p.device_plans.is_empty());
        let today = time::OffsetDateTime::now_utc().date();
        assert!(p.promotion_plans.iter().any(|x| x.valid_on(today)));
        assert!(p.promotion_plans.iter().any(|x| !x.valid_on(today)));
        let same = p.wallet_plans.iter().enumerate().any(|(i, a)| {
            p.wallet_plans[i + 1..].iter().any(|b| {
                (a.currency.as_str(), a.usage, a.kind) == (b.currency.as_str(), b.usage, b.kind)
            })
        });
        assert!(same, "two wallet plans of one characteristic");
        assert!(c.client("sandbox").is_some());
        // The token endpoints are guarded out of the box.
        let s = &c.security;
        assert!(s.auth_rate_per_second > 0 && s.auth_failures_before_lockout > 0);
        assert_eq!(s.max_live_tokens, 100);
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = SHIPPED.replace("workers = 0", "workers = 0\nworkerz = 3");
        let e = Config::parse(&text).unwrap_err().to_string();
        assert!(e.contains("workerz"), "{e}");
        let text = SHIPPED.replace("bin = \"40000099\"", "bin = \"40000099\"\ncolour = \"red\"");
        let e = Config::parse(&text).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn bad_codes_are_refused_at_load() {
        for (from, to, needle) in [
            ("code = \"SANDBOX\"", "code = \"sandbox\"", "sandbox"),
            (
                "code = \"SANDBOX\"",
                "code = \"SANDBOXPROGRAM\"",
                "SANDBOXPROGRAM",
            ),
            ("code = \"GPR100\"", "code = \"GPR-100\"", "GPR-100"),
            ("code = \"WUSD\"", "code = \"\"", "wallet plan"),
            ("code = \"DP01\"", "code = \"DP 01\"", "DP 01"),
            ("code = \"PROMO1\"", "code = \"PROMOTION_1\"", "PROMOTION_1"),
        ] {
            let text = SHIPPED.replacen(from, to, 1);
            assert_ne!(text, SHIPPED, "{from}");
            let e = Config::parse(&text).unwrap_err().to_string();
            assert!(e.contains(needle), "{from} -> {e}");
        }
    }

    #[test]
    fn ranges_and_references_are_checked() {
        for (from, to) in [
            ("bin = \"40000099\"", "bin = \"4000\""),
            ("pan_length = 16", "pan_length = 20"),
            ("upgrade_to = [\"DDA100\"]", "upgrade_to = [\"NOPE\"]"),
            ("review_threshold = 0.88", "review_threshold = 0.99"),
            ("durability = \"flush\"", "durability = \"sometimes\""),
            ("pan_key = \"", "pan_key = \"00"),
            ("header_timeout_ms = 5000", "header_timeout_ms = 0"),
            ("rate_limit_per_second = 0", "rate_limit_per_second = -1"),
            ("max_live_tokens = 100", "max_live_tokens = 0"),
            ("auth_lockout_seconds = 2", "auth_lockout_seconds = 0"),
            (
                "auth_lockout_max_seconds = 300",
                "auth_lockout_max_seconds = 1",
            ),
            (
                "sweep_interval_seconds = 3600",
                "sweep_interval_seconds = 0",
            ),
        ] {
            let text = SHIPPED.replacen(from, to, 1);
            assert_ne!(text, SHIPPED, "{from}");
            assert!(Config::parse(&text).is_err(), "{to} accepted");
        }
    }

    #[test]
    fn tls_files_come_in_pairs_and_are_read_at_load() {
        let c = Config::parse(SHIPPED).unwrap();
        assert!(c.server.tls_cert_file.is_none() && c.server.tls_key_file.is_none());
        for (lines, needle) in [
            (
                "tls_cert_file = \"c.pem\"",
                "server.tls_key_file is missing",
            ),
            (
                "tls_key_file = \"k.pem\"",
                "server.tls_cert_file is missing",
            ),
            (
                "tls_cert_file = \"/nonexistent/c.pem\"\ntls_key_file = \"k.pem\"",
                "/nonexistent/c.pem: cannot read",
            ),
        ] {
            let text = SHIPPED.replacen("[storage]", &format!("{lines}\n[storage]"), 1);
            let e = Config::parse(&text).unwrap_err().to_string();
            assert!(e.contains(needle), "{lines}: {e}");
        }
    }

    #[test]
    fn strict_dates() {
        assert!(parse_ymd("1990-01-31").is_some());
        assert!(parse_ymd("1990-02-30").is_none());
        assert!(parse_ymd("1990-1-31").is_none());
        assert!(parse_ymd("31/01/1990").is_none());
    }
}
