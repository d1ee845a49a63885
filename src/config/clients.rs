//! `[[clients]]`: API clients, the programs they may use and their scopes.

use super::{err, Config, ConfigError};
use serde::Deserialize;

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

    /// Whether the client holds `scope`: `sandbox` includes `events`.
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
            || (scope == Scope::Events && self.scopes.contains(&Scope::Sandbox))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Baas,
    Device,
    Sandbox,
    /// Reading events and managing webhook endpoints (`sandbox` includes it).
    Events,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Baas => "baas",
            Scope::Device => "device",
            Scope::Sandbox => "sandbox",
            Scope::Events => "events",
        }
    }
}

impl Config {
    /// At least one client; ids unique and without `:`; secrets long enough; programs known.
    pub(super) fn validate_clients(&self) -> Result<(), ConfigError> {
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
}
