//! Sandbox kits: pre-printed card kits for instant issue. A kit is loaded `available`, becomes
//! `reserved` while an OFAC-pending enrollment holds it, and `assigned` once its card is issued.

use super::cards::{mint_from, Premint};
use super::outbox::Outbox;
use super::Ctx;
use crate::config::ClientConfig;
use crate::domain::error::{DomainError as E, DomainResult};
use crate::domain::event::{EventType, Subjects};
use crate::domain::model::*;
use crate::domain::rules::{holds_card_number, is_mapping_identifier};
use crate::store::Reader;
use crate::wire::sandbox::{kit_view, KitIn, KitView, LoadKits, LoadedKits};

/// Kits loaded in one request at most.
pub const MAX_KITS_PER_LOAD: usize = 1000;

fn is_pack_id(s: &str) -> bool {
    (10..=24).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The program of a sandbox path: outside the client's programs → 401 whether it exists or not
/// (so a scoped client learns nothing of other programs), unknown → 404.
pub fn sandbox_program<'a>(
    ctx: &'a Ctx,
    client: &ClientConfig,
    code: &str,
) -> DomainResult<&'a crate::config::Program> {
    super::auth::check_program(client, code)?;
    ctx.config.program(code).ok_or(E::NotFound("program"))
}

/// Loads kits, all or none.
pub async fn load(
    ctx: &Ctx,
    client: &ClientConfig,
    program: &str,
    req: LoadKits,
) -> DomainResult<LoadedKits> {
    let program = sandbox_program(ctx, client, program)?;
    let req_generated = req.generate.is_some();
    let wanted: Vec<KitIn> = match (req.packages, req.generate) {
        (Some(p), None) => p,
        (None, Some(g)) => {
            if !(1..=MAX_KITS_PER_LOAD).contains(&g.count) {
                return Err(E::Invalid(format!(
                    "generate.count must be 1-{MAX_KITS_PER_LOAD}"
                )));
            }
            if g.prefix.is_empty() || g.prefix.len() > 40 || !is_mapping_identifier(&g.prefix) {
                return Err(E::Invalid(
                    "generate.prefix must be 1-40 characters of [A-Za-z0-9_-]".into(),
                ));
            }
            (1..=g.count)
                .map(|i| KitIn {
                    mapping_identifier: format!("{}{i:07}", g.prefix),
                    product_code: g.product_code.clone(),
                    pack_id: None,
                })
                .collect()
        }
        _ => {
            return Err(E::Invalid(
                "give exactly one of `packages` and `generate`".into(),
            ))
        }
    };
    if wanted.is_empty() || wanted.len() > MAX_KITS_PER_LOAD {
        return Err(E::Invalid(format!(
            "packages must hold 1-{MAX_KITS_PER_LOAD} kits"
        )));
    }
    let generated = req_generated;
    for (i, k) in wanted.iter().enumerate() {
        if !is_mapping_identifier(&k.mapping_identifier) {
            return Err(E::Invalid(format!(
                "packages[{i}].mappingIdentifier must be 1-64 characters of [A-Za-z0-9_-]"
            )));
        }
        if holds_card_number(&k.mapping_identifier) {
            return Err(E::Invalid(if generated {
                "generate.prefix with the kit numbers after it must not hold a card number".into()
            } else {
                format!("packages[{i}].mappingIdentifier must not hold a card number")
            }));
        }
        if program.product(&k.product_code).is_none() {
            return Err(E::Invalid(format!(
                "packages[{i}].productCode is not a product of this program"
            )));
        }
        if let Some(p) = &k.pack_id {
            if !is_pack_id(p) || holds_card_number(p) {
                return Err(E::Invalid(format!(
                    "packages[{i}].packID must be 10-24 characters of [A-Za-z0-9_-] and must not hold a card number"
                )));
            }
        }
    }
    let at = now();
    let pack_ids: Vec<String> = wanted
        .iter()
        .map(|k| {
            k.pack_id
                .clone()
                .unwrap_or_else(crate::domain::ids::new_pack_id)
        })
        .collect();
    let premint = Premint::new(ctx, program, 0);
    let loaded = ctx
        .store
        .commit(|tx| {
            let mut numbers = premint.numbers();
            let mut seen_map = std::collections::HashSet::new();
            let mut seen_pack = std::collections::HashSet::new();
            let mut loaded = Vec::with_capacity(wanted.len());
            for (k, pack_id) in wanted.iter().zip(&pack_ids) {
                if !seen_map.insert(&k.mapping_identifier)
                    || tx.kit(&program.code, &k.mapping_identifier)?.is_some()
                {
                    return Err(E::Conflict(format!(
                        "mappingIdentifier {} is already loaded",
                        k.mapping_identifier
                    ))
                    .into());
                }
                if !seen_pack.insert(pack_id) || tx.pack_owner(&program.code, pack_id)?.is_some() {
                    return Err(E::Conflict(format!("packID {pack_id} is already in use")).into());
                }
                let (number, pan) = mint_from(ctx, tx, &mut numbers)?;
                let kit = Kit {
                    mapping_id: k.mapping_identifier.clone(),
                    program: program.code.clone(),
                    product: k.product_code.clone(),
                    pack_id: pack_id.clone(),
                    pan,
                    status: KitStatus::Available,
                    card_id: None,
                    reserved_for: None,
                    created_at: at,
                };
                tx.insert_kit(&kit)?;
                loaded.push(KitView {
                    number: Some(number),
                    ..kit_view(&kit)
                });
            }
            let mut out = Outbox::new(&program.code, None);
            out.push(
                EventType::KitLoaded,
                Subjects::default(),
                kits_loaded_data(&loaded),
            );
            out.write(tx)?;
            Ok(loaded)
        })
        .await?;
    Ok(LoadedKits { packages: loaded })
}

/// A kit by mapping identifier.
pub fn get(
    ctx: &Ctx,
    client: &ClientConfig,
    program: &str,
    mapping_id: &str,
) -> DomainResult<KitView> {
    let program = sandbox_program(ctx, client, program)?;
    let kit = ctx
        .store
        .kit(&program.code, mapping_id)?
        .ok_or(E::NotFound("package"))?;
    Ok(kit_view(&kit))
}

/// `kit.loaded`'s data: how many kits one load brought, and which (never their numbers).
fn kits_loaded_data(loaded: &[KitView]) -> Vec<u8> {
    let kits: Vec<_> = loaded
        .iter()
        .map(|k| {
            serde_json::json!({
                "mappingIdentifier": k.mapping_identifier,
                "packID": k.pack_id,
                "productCode": k.product_code,
                "status": k.status,
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "count": loaded.len(), "packages": kits }))
        .expect("JSON values serialise")
}
