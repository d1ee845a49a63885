//! Client credentials and bearer tokens.
//!
//! A token is 32 random bytes (base64url); the store keeps only its SHA-256, so tokens survive a
//! restart without a usable token resting on disk. Secrets are compared in constant time.

use super::Ctx;
use crate::config::{ClientConfig, Scope};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::model::{now, TokenGrant};
use crate::store::Reader;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why credentials were refused.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// Missing, malformed, unknown or expired.
    Unrecognised,
    /// A valid client used outside its programs or scopes.
    OutOfScope,
}

pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
    pub scope: String,
}

fn ct_eq(a: &str, b: &str) -> bool {
    // Hash first so the comparison is constant-time regardless of lengths.
    let ha = Sha256::digest(a.as_bytes());
    let hb = Sha256::digest(b.as_bytes());
    ha.ct_eq(&hb).into()
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Grants already read from the store, by token hash, so that authenticating a request does not
/// read the store each time. Tokens are never revoked before they expire, so a cached grant is
/// exactly the stored one; expiry is checked at every use.
#[derive(Default)]
pub struct TokenCache {
    grants: parking_lot::RwLock<std::collections::HashMap<[u8; 32], TokenGrant>>,
}

/// Grants kept at most; the cache starts over when full.
const MAX_CACHED_TOKENS: usize = 10_000;

impl TokenCache {
    fn get(&self, hash: &[u8; 32]) -> Option<TokenGrant> {
        self.grants.read().get(hash).cloned()
    }

    fn put(&self, hash: [u8; 32], grant: TokenGrant) {
        let mut g = self.grants.write();
        if g.len() >= MAX_CACHED_TOKENS {
            g.clear();
        }
        g.insert(hash, grant);
    }
}

/// Checks client credentials, looking at every client so the time taken does not tell which
/// ids exist.
pub fn check_client<'a>(
    ctx: &'a Ctx,
    id: &str,
    secret: &str,
) -> Result<&'a ClientConfig, AuthFailure> {
    let mut found = None;
    for c in &ctx.config.clients {
        let id_ok = ct_eq(&c.id, id);
        let secret_ok = ct_eq(&c.secret, secret);
        if id_ok && secret_ok {
            found = Some(c);
        }
    }
    found.ok_or(AuthFailure::Unrecognised)
}

/// Issues a bearer token to an authenticated client.
pub async fn issue_token(ctx: &Ctx, client: &ClientConfig) -> DomainResult<IssuedToken> {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let ttl = ctx.config.security.token_ttl_seconds;
    let grant = TokenGrant {
        client_id: client.id.clone(),
        expires_at: now() + ttl as i64,
    };
    let hash = token_hash(&token);
    ctx.store.commit(|tx| tx.put_token(&hash, &grant)).await?;
    Ok(IssuedToken {
        access_token: token,
        expires_in: ttl,
        scope: client
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    })
}

/// Resolves a bearer token to its client and checks the scope.
pub fn authenticate(ctx: &Ctx, token: &str, scope: Scope) -> Result<ClientConfig, AuthFailure> {
    if token.is_empty() || token.len() > 128 {
        return Err(AuthFailure::Unrecognised);
    }
    let hash = token_hash(token);
    let grant = match ctx.tokens.get(&hash) {
        Some(g) => g,
        None => {
            let g = ctx
                .store
                .token(&hash)
                .map_err(|_| AuthFailure::Unrecognised)?
                .ok_or(AuthFailure::Unrecognised)?;
            ctx.tokens.put(hash, g.clone());
            g
        }
    };
    if grant.expires_at <= now() {
        return Err(AuthFailure::Unrecognised);
    }
    let client = ctx
        .config
        .client(&grant.client_id)
        .ok_or(AuthFailure::Unrecognised)?;
    if !client.scopes.contains(&scope) {
        return Err(AuthFailure::OutOfScope);
    }
    Ok(client.clone())
}

/// A client may act on a program only when its config lists it (or `*`).
pub fn check_program(client: &ClientConfig, program: &str) -> DomainResult<()> {
    if client.may_use_program(program) {
        Ok(())
    } else {
        Err(DomainError::OutOfScope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison_is_still_equality() {
        assert!(ct_eq("sandbox-secret", "sandbox-secret"));
        assert!(!ct_eq("sandbox-secret", "sandbox-secreT"));
        assert!(!ct_eq("a", ""));
    }
}
