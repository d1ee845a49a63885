//! Client credentials and bearer tokens.
//!
//! A token is 32 random bytes (base64url); the store keeps only its SHA-256, so tokens survive a
//! restart without a usable token resting on disk. Secrets are compared in constant time.
//!
//! - **Bounded**: a client holds at most `security.max_live_tokens` live tokens. Minting one
//!   more revokes the client's oldest (and deletes its expired ones) in the same store commit,
//!   through the client's token list (`idx_tokens_by_client`, kept in step by the store).
//! - **Revocable** (RFC 7009): [`revoke_token`] deletes a token of the asking client from the
//!   store and from the [`TokenCache`]; a token of another client is left alone and answered as
//!   if unknown.
//! - **Bound to the secret**: each grant carries a keyed fingerprint of the client's secret when
//!   it was minted ([`secret_fingerprint`]: HMAC-SHA-256 under a key derived from `pan_key`, so
//!   the store holds nothing that tests a guessed secret without the key). A grant whose
//!   fingerprint is not that of the secret in the config is refused, so changing a client's
//!   secret (and restarting) kills every token minted under the old one.
//! - **Legacy grants**: grants stored by a version before fingerprints have no fingerprint
//!   (`store::decode_grant` reads that layout as `secret_fingerprint: None`). They are accepted
//!   until they expire (at most `token_ttl_seconds` after the upgrade), as the contract keeps a
//!   token valid across restarts; they were never in a client's token list, so they do not count
//!   towards `max_live_tokens`. They can be revoked, and the sweeper deletes them once expired.
//!   Changing `pan_key` changes every fingerprint, so it also kills every current-layout token.

use super::Ctx;
use crate::config::{ClientConfig, Scope};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::model::{now, TokenGrant};
use crate::store::Reader;
use crate::vault::Vault;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why credentials were refused.
#[derive(Debug, PartialEq)]
pub enum AuthFailure {
    /// Missing, malformed, unknown or expired.
    Unrecognised,
    /// A valid client used outside its programs or scopes.
    OutOfScope,
    /// The store could not be read (503 with Retry-After, never 401).
    Store(DomainError),
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

/// The store key of a token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Grants already read from the store and found good, by token hash, so that authenticating a
/// request does not read the store each time; expiry is checked at every use. A revocation
/// removes its grants ([`TokenCache::forget`]) after its commit, and a grant read from the
/// store is put in only if no revocation happened since the read began, so a revoked grant
/// never comes back.
#[derive(Default)]
pub struct TokenCache {
    inner: parking_lot::RwLock<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    grants: std::collections::HashMap<[u8; 32], TokenGrant>,
    /// Bumped by every [`TokenCache::forget`].
    generation: u64,
}

/// Grants kept at most; the cache starts over when full.
const MAX_CACHED_TOKENS: usize = 10_000;

impl TokenCache {
    fn get(&self, hash: &[u8; 32]) -> Option<TokenGrant> {
        self.inner.read().grants.get(hash).cloned()
    }

    fn generation(&self) -> u64 {
        self.inner.read().generation
    }

    /// Caches a grant read from the store after [`generation`](Self::generation) answered
    /// `seen`, unless a revocation came in between.
    fn put(&self, seen: u64, hash: [u8; 32], grant: TokenGrant) {
        let mut c = self.inner.write();
        if c.generation != seen {
            return;
        }
        if c.grants.len() >= MAX_CACHED_TOKENS {
            c.grants.clear();
        }
        c.grants.insert(hash, grant);
    }

    /// Drops revoked grants.
    pub fn forget(&self, hashes: &[[u8; 32]]) {
        if hashes.is_empty() {
            return;
        }
        let mut c = self.inner.write();
        c.generation += 1;
        for h in hashes {
            c.grants.remove(h);
        }
    }
}

/// The keyed fingerprint of a client secret stored with each grant: HMAC-SHA-256 under the
/// vault's lookup key (derived from `pan_key` with HKDF), domain-separated from card numbers
/// and SSNs.
pub fn secret_fingerprint(vault: &Vault, secret: &str) -> [u8; 32] {
    vault.fingerprint(b"client-secret", secret)
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

/// Issues a bearer token to an authenticated client. In the same commit it deletes the
/// client's expired tokens and, when it already holds `max_live_tokens` live ones, revokes the
/// oldest.
pub async fn issue_token(ctx: &Ctx, client: &ClientConfig) -> DomainResult<IssuedToken> {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let ttl = ctx.config.security.token_ttl_seconds;
    let at = now();
    let grant = TokenGrant {
        client_id: client.id.clone(),
        expires_at: at + ttl as i64,
        secret_fingerprint: Some(secret_fingerprint(&ctx.vault, &client.secret)),
    };
    let hash = token_hash(&token);
    let max = ctx.config.security.max_live_tokens as usize;
    let gone = ctx
        .store
        .commit(|tx| {
            let list = tx.client_tokens(&client.id)?;
            let live = list.iter().filter(|t| t.expires_at > at).count();
            let mut excess = (live + 1).saturating_sub(max);
            let mut gone = Vec::new();
            // Oldest first: the list is in minting order.
            for t in &list {
                let expired = t.expires_at <= at;
                if expired || excess > 0 {
                    if !expired {
                        excess -= 1;
                    }
                    tx.remove_token(&t.hash)?;
                    gone.push(t.hash);
                }
            }
            tx.put_token(&hash, &grant)?;
            Ok(gone)
        })
        .await?;
    ctx.tokens.forget(&gone);
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

/// Revokes `token` if it is one of `client`'s (RFC 7009): deletes it from the store and the
/// cache. Answers whether it did; an unknown, already revoked or another client's token changes
/// nothing (and the caller answers alike).
pub async fn revoke_token(ctx: &Ctx, client: &ClientConfig, token: &str) -> DomainResult<bool> {
    if token.is_empty() || token.len() > 128 {
        return Ok(false);
    }
    let hash = token_hash(token);
    let revoked = ctx
        .store
        .commit(|tx| match tx.token(&hash)? {
            Some(g) if ct_eq(&g.client_id, &client.id) => {
                tx.remove_token(&hash)?;
                Ok(true)
            }
            _ => Ok(false),
        })
        .await?;
    if revoked {
        ctx.tokens.forget(&[hash]);
    }
    Ok(revoked)
}

/// Resolves a bearer token to its client and checks the scope.
pub fn authenticate(ctx: &Ctx, token: &str, scope: Scope) -> Result<ClientConfig, AuthFailure> {
    if token.is_empty() || token.len() > 128 {
        return Err(AuthFailure::Unrecognised);
    }
    let hash = token_hash(token);
    // A store shared by several processes may see a token revoked by another one: no cache.
    let cached = if ctx.store.is_shared() {
        None
    } else {
        ctx.tokens.get(&hash)
    };
    let grant = match cached {
        Some(g) => g,
        None => {
            let seen = ctx.tokens.generation();
            let g = ctx
                .store
                .token(&hash)
                .map_err(AuthFailure::Store)?
                .ok_or(AuthFailure::Unrecognised)?;
            // A grant minted under another secret than the config's is dead.
            if let Some(fp) = &g.secret_fingerprint {
                let client = ctx
                    .config
                    .client(&g.client_id)
                    .ok_or(AuthFailure::Unrecognised)?;
                let current = secret_fingerprint(&ctx.vault, &client.secret);
                if !bool::from(fp.ct_eq(&current)) {
                    return Err(AuthFailure::Unrecognised);
                }
            }
            if !ctx.store.is_shared() {
                ctx.tokens.put(seen, hash, g.clone());
            }
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
    if !client.has_scope(scope) {
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
