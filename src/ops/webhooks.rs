//! Webhook endpoints (contract section 8): create (the secret shown once), list, get, patch,
//! delete (its pending deliveries cancelled), rotate the secret (the old one signs beside the new
//! for a day), and send a `webhook.test` event. A client sees and changes only its own
//! endpoints, for its own programs.

use super::outbox::Outbox;
use super::Ctx;
use crate::config::ClientConfig;
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::event::{EventType, Subjects};
use crate::domain::model::now;
use crate::domain::webhook::{DeliveryStatus, Webhook, WebhookSecret, WebhookStatus};
use crate::store::{Reader, Tx, TxResult};
use crate::webhooks::Secret;
use crate::wire::webhooks::{NewWebhook, WebhookPatch};

/// How long a rotated-out secret keeps signing beside its successor.
pub const ROTATED_SECRET_SECS: i64 = 24 * 3600;
/// Endpoints one client may have.
pub const MAX_PER_CLIENT: usize = 16;
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 256;
const MAX_TYPES: usize = 32;

fn invalid(field: &str, why: impl std::fmt::Display) -> E {
    E::Invalid(format!("{field}: {why}"))
}

fn check_url(ctx: &Ctx, url: &str) -> DomainResult<String> {
    if url.len() > MAX_URL {
        return Err(invalid("url", format!("at most {MAX_URL} characters")));
    }
    crate::webhooks::check_url(url, &ctx.config.webhooks.allowed_hosts)
        .map_err(|why| invalid("url", why))?;
    Ok(url.to_string())
}

/// `["*"]` is every type (stored as none); otherwise known types, each once.
fn check_types(types: &[String]) -> DomainResult<Vec<EventType>> {
    if types.is_empty() || types.len() > MAX_TYPES {
        return Err(invalid(
            "eventTypes",
            format!("give [\"*\"] or 1 to {MAX_TYPES} event types"),
        ));
    }
    if types.iter().any(|t| t == "*") {
        if types.len() > 1 {
            return Err(invalid("eventTypes", "\"*\" stands alone"));
        }
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for t in types {
        let kind = EventType::parse(t)
            .ok_or_else(|| invalid("eventTypes", format!("{t:?} is not an event type")))?;
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    Ok(out)
}

fn check_description(d: &Option<String>) -> DomainResult<()> {
    match d {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(invalid(
            "description",
            format!("at most {MAX_DESCRIPTION} characters"),
        )),
        _ => Ok(()),
    }
}

/// The programs an endpoint listens to: those given (each a program of the configuration and
/// of the client: else 400 / 401), or every program of the client.
fn check_programs(
    ctx: &Ctx,
    client: &ClientConfig,
    given: &Option<Vec<String>>,
) -> DomainResult<Vec<String>> {
    let Some(given) = given else {
        return Ok(ctx
            .config
            .programs
            .iter()
            .map(|p| p.code.clone())
            .filter(|p| client.may_use_program(p))
            .collect());
    };
    if given.is_empty() {
        return Err(invalid(
            "programCodes",
            "name at least one program, or leave it out",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for p in given {
        if ctx.config.program(p).is_none() {
            return Err(invalid("programCodes", format!("{p:?} names no program")));
        }
        super::auth::check_program(client, p)?;
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// The client's endpoint `id`, read in the transaction: 404 for another client's.
fn owned(tx: &Tx, client: &ClientConfig, id: &str) -> TxResult<Webhook> {
    Ok(tx
        .webhook(id)?
        .filter(|w| w.client == client.id)
        .ok_or(E::NotFound("webhook"))?)
}

/// Creates an endpoint; answers it and its secret (`whsec_…`), shown this once.
pub async fn create(
    ctx: &Ctx,
    client: &ClientConfig,
    req: &NewWebhook,
) -> DomainResult<(Webhook, String)> {
    let url = check_url(ctx, &req.url)?;
    let event_types = check_types(&req.event_types)?;
    let program_codes = check_programs(ctx, client, &req.program_codes)?;
    check_description(&req.description)?;
    let secret = Secret::generate();
    let id = format!("wh_{}", crate::domain::ids::new_id());
    let at = now();
    // The endpoint receives the events after the last one now: every event committed before
    // this request is numbered first (the SQL engine numbers after commit).
    ctx.store.number_events()?;
    let hook = ctx
        .store
        .commit(|tx| {
            // Taken first: on the SQL engine this waits for a fan-out under way, so that the
            // endpoint's first event is exactly the one after the last event now.
            tx.fanout_cursor()?;
            let mine = tx
                .webhook_ids()?
                .iter()
                .map(|i| tx.webhook(i))
                .collect::<TxResult<Vec<_>>>()?
                .into_iter()
                .flatten()
                .filter(|w| w.client == client.id)
                .count();
            if mine >= MAX_PER_CLIENT {
                return Err(E::Conflict(format!(
                    "a client may have at most {MAX_PER_CLIENT} webhook endpoints"
                ))
                .into());
            }
            let w = Webhook {
                id: id.clone(),
                client: client.id.clone(),
                url: url.clone(),
                event_types: event_types.clone(),
                program_codes: program_codes.clone(),
                status: WebhookStatus::Enabled,
                description: req.description.clone(),
                secrets: vec![WebhookSecret {
                    key: secret.as_bytes().to_vec(),
                    expires_at: None,
                }],
                after_sequence: tx.last_event_sequence()?,
                consecutive_failures: 0,
                created_at: at,
                updated_at: at,
            };
            tx.put_webhook(&w, true)?;
            Ok(w)
        })
        .await?;
    Ok((hook, secret.to_whsec()))
}

/// The client's endpoints, oldest first.
pub fn list(ctx: &Ctx, client: &ClientConfig) -> DomainResult<Vec<Webhook>> {
    Ok(ctx
        .store
        .webhooks()?
        .into_iter()
        .filter(|w| w.client == client.id)
        .collect())
}

pub fn get(ctx: &Ctx, client: &ClientConfig, id: &str) -> DomainResult<Webhook> {
    ctx.store
        .webhook(id)?
        .filter(|w| w.client == client.id)
        .ok_or(E::NotFound("webhook"))
}

/// Changes what the patch gives. Enabling an endpoint makes its pending deliveries due now.
pub async fn patch(
    ctx: &Ctx,
    client: &ClientConfig,
    id: &str,
    p: &WebhookPatch,
) -> DomainResult<Webhook> {
    let url = p.url.as_deref().map(|u| check_url(ctx, u)).transpose()?;
    let types = p.event_types.as_deref().map(check_types).transpose()?;
    let status = match p.status.as_deref() {
        None => None,
        Some("enabled") => Some(WebhookStatus::Enabled),
        Some("disabled") => Some(WebhookStatus::Disabled),
        Some(_) => return Err(invalid("status", "must be enabled or disabled")),
    };
    check_description(&p.description)?;
    let at = now();
    let (hook, enabled) = ctx
        .store
        .commit(|tx| {
            let mut w = owned(tx, client, id)?;
            let was = w.status;
            if let Some(u) = &url {
                w.url = u.clone();
            }
            if let Some(t) = &types {
                w.event_types = t.clone();
            }
            if let Some(s) = status {
                w.status = s;
                if s == WebhookStatus::Enabled {
                    w.consecutive_failures = 0;
                }
            }
            if p.description.is_some() {
                w.description = p.description.clone();
            }
            w.updated_at = at;
            tx.put_webhook(&w, false)?;
            let enabled = was == WebhookStatus::Disabled && w.status == WebhookStatus::Enabled;
            Ok((w, enabled))
        })
        .await?;
    if enabled {
        super::deliveries::due_now(ctx, id, DeliveryStatus::Pending, None).await?;
    }
    Ok(hook)
}

/// Deletes an endpoint; its pending deliveries are cancelled.
pub async fn delete(ctx: &Ctx, client: &ClientConfig, id: &str) -> DomainResult<()> {
    ctx.store
        .commit(|tx| {
            owned(tx, client, id)?;
            tx.remove_webhook(id)
        })
        .await?;
    super::deliveries::cancel_pending(ctx, id).await
}

/// A new secret; the old one keeps signing beside it for [`ROTATED_SECRET_SECS`].
pub async fn rotate_secret(
    ctx: &Ctx,
    client: &ClientConfig,
    id: &str,
) -> DomainResult<(Webhook, String)> {
    let secret = Secret::generate();
    let at = now();
    let hook = ctx
        .store
        .commit(|tx| {
            let mut w = owned(tx, client, id)?;
            let mut secrets = vec![WebhookSecret {
                key: secret.as_bytes().to_vec(),
                expires_at: None,
            }];
            for s in w.live_secrets(at) {
                secrets.push(WebhookSecret {
                    key: s.key.clone(),
                    expires_at: Some(s.expires_at.unwrap_or(at + ROTATED_SECRET_SECS)),
                });
            }
            w.secrets = secrets;
            w.updated_at = at;
            tx.put_webhook(&w, false)?;
            Ok(w)
        })
        .await?;
    Ok((hook, secret.to_whsec()))
}

/// Writes a `webhook.test` event for this endpoint only (the fan-out gives it to the endpoint
/// its data names).
pub async fn send_test(ctx: &Ctx, client: &ClientConfig, id: &str) -> DomainResult<Webhook> {
    ctx.store
        .commit(|tx| {
            let w = owned(tx, client, id)?;
            if w.status == WebhookStatus::Disabled {
                return Err(E::Conflict("the endpoint is disabled; enable it first".into()).into());
            }
            let program = w
                .program_codes
                .first()
                .cloned()
                .ok_or(E::Conflict("the endpoint listens to no program".into()))?;
            let mut out = Outbox::new(&program, None);
            out.push(
                EventType::WebhookTest,
                Subjects::default(),
                test_data(&w.id),
            );
            out.write(tx)?;
            Ok(w)
        })
        .await
}

/// `webhook.test`'s data: the endpoint it is for.
pub fn test_data(webhook_id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "webhookId": webhook_id,
        "message": "a test event, sent to this endpoint only",
    }))
    .expect("JSON values serialise")
}

/// The endpoint a `webhook.test` event is for.
pub fn test_target(data: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(data).ok()?;
    v.get("webhookId")?.as_str().map(str::to_string)
}
