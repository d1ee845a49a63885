//! `config.toml`: server, storage, security, screening, webhooks, clients and the product
//! catalog.
//!
//! Parsing refuses unknown keys (serde `deny_unknown_fields`, whose message names the key);
//! [`Config::validate`] then checks every code, reference and range, so that past load a
//! program, product or plan code is known to be well formed and every cross-reference resolves.
//!
//! Here: the [`Config`] type, loading and validation as a whole. The sections are in their own
//! files: server, storage, security, screening and webhooks settings (`settings.rs`), API
//! clients and their scopes (`clients.rs`), programs and their catalog (`catalog.rs`).

use serde::Deserialize;

pub use crate::domain::catalog::{AccountType, ProductRules, WalletKind, WalletUsage};
pub use crate::domain::rules::parse_ymd;
use std::path::Path;

mod catalog;
mod clients;
mod settings;
#[cfg(test)]
mod tests;

pub use catalog::{is_valid_code, DevicePlan, Product, Program, PromotionPlan, WalletPlan};
pub use clients::{ClientConfig, Scope};
pub use settings::{
    Durability, Engine, ScreeningConfig, SecurityConfig, ServerConfig, StorageConfig,
    WebhooksConfig,
};

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
    #[serde(default)]
    pub webhooks: WebhooksConfig,
    pub clients: Vec<ClientConfig>,
    pub programs: Vec<Program>,
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
        self.server.validate()?;
        self.security.validate()?;
        self.storage.validate()?;
        crate::vault::Vault::from_hex_key(&self.pan_key())
            .map_err(|e| ConfigError(format!("security.pan_key: {e}")))?;
        self.screening.validate()?;
        self.webhooks.validate()?;
        self.validate_programs()?;
        self.validate_clients()
    }
}
