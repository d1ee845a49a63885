//! `issuebox verify`: an offline walk of the whole store.
//!
//! Every record must decode; every entity must have its index entries and every index entry its
//! entity; every counter must equal the number of records; cross-references (account -> user,
//! card -> account, wallet -> card) must resolve. Events run gap-free up to the store's sequence,
//! each id naming its sequence; every pending delivery is in the due index and every due entry
//! names a pending delivery; a pending delivery's endpoint exists.

use super::{kit_key, Reads, SledStore, TreeId};
use crate::domain::error::DomainResult;
use crate::domain::model::*;
use crate::store::verify::Report;
use crate::store::{Counted, IndexedToken, Owner};
use std::collections::{HashMap, HashSet};

fn all<T: serde::de::DeserializeOwned>(
    store: &SledStore,
    t: TreeId,
    problems: &mut Vec<String>,
) -> Vec<(Vec<u8>, T)> {
    let mut out = Vec::new();
    for r in store.scan::<T>(t) {
        match r {
            Ok(kv) => out.push(kv),
            Err(e) => problems.push(format!("{}: undecodable record: {e}", t.name())),
        }
    }
    out
}

fn id(k: &[u8]) -> String {
    String::from_utf8_lossy(k).into_owned()
}

/// Every record and index entry of the store, read once.
struct Contents {
    users: Vec<(Vec<u8>, User)>,
    accounts: Vec<(Vec<u8>, Account)>,
    devices: Vec<(Vec<u8>, Card)>,
    wallets: Vec<(Vec<u8>, Wallet)>,
    kits: Vec<(Vec<u8>, Kit)>,
    responses: Vec<(Vec<u8>, StoredResponse)>,
    reviews: Vec<(Vec<u8>, Review)>,
    aliases: Vec<(Vec<u8>, Vec<String>)>,
    packs: Vec<(Vec<u8>, Owner)>,
    numbers: Vec<(Vec<u8>, Owner)>,
    by_card: Vec<(Vec<u8>, Vec<String>)>,
    ssns: Vec<(Vec<u8>, String)>,
    tokens: Vec<(Vec<u8>, TokenGrant)>,
    token_lists: Vec<(Vec<u8>, Vec<IndexedToken>)>,
}

impl Contents {
    /// Reads every tree; an undecodable record is a problem, and is left out.
    fn read(store: &SledStore, p: &mut Vec<String>) -> Contents {
        Contents {
            users: all(store, TreeId::Users, p),
            accounts: all(store, TreeId::Accounts, p),
            devices: all(store, TreeId::Cards, p),
            wallets: all(store, TreeId::Wallets, p),
            kits: all(store, TreeId::Kits, p),
            responses: all(store, TreeId::StoredResponses, p),
            reviews: all(store, TreeId::Reviews, p),
            aliases: all(store, TreeId::IdxAlias, p),
            packs: all(store, TreeId::IdxPack, p),
            numbers: all(store, TreeId::IdxNumber, p),
            by_card: all(store, TreeId::IdxWalletsByCard, p),
            ssns: all(store, TreeId::IdxSsn, p),
            tokens: token_grants(store, p),
            token_lists: all(store, TreeId::IdxTokensByClient, p),
        }
    }

    fn card_ids(&self) -> HashSet<&str> {
        self.devices.iter().map(|(_, d)| d.id.as_str()).collect()
    }
}

/// Walks the store and reports every inconsistency.
pub fn verify(store: &SledStore) -> DomainResult<Report> {
    let mut p = Vec::new();
    let c = Contents::read(store, &mut p);
    check_users(store, &c, &mut p)?;
    check_accounts(store, &c, &mut p)?;
    check_cards(store, &c, &mut p)?;
    check_kits_and_owners(store, &c, &mut p)?;
    check_wallets(store, &c, &mut p)?;
    check_reviews(store, &c, &mut p)?;
    check_tokens(&c.tokens, &c.token_lists, &mut p);
    let mut counts = check_counts(store, &c, &mut p)?;
    counts.extend(check_events(store, &mut p)?);
    Ok(Report {
        counts,
        problems: p,
    })
}

/// Users against their SSN lookup and accounts; the legacy SSN index against users.
fn check_users(store: &SledStore, c: &Contents, p: &mut Vec<String>) -> DomainResult<()> {
    for (k, u) in &c.users {
        if id(k) != u.id {
            p.push(format!("user key {} holds user {}", id(k), u.id));
        }
        match store.user_by_ssn(&u.program, &u.ssn_fingerprint)? {
            Some(x) if x.id == u.id => {}
            _ => p.push(format!(
                "user {} is not found by its SSN (its id is not derived from it, nor indexed)",
                u.id
            )),
        }
        for a in &u.account_ids {
            if store.account(a)?.is_none() {
                p.push(format!("user {} lists missing account {a}", u.id));
            }
        }
    }
    for (k, uid) in &c.ssns {
        match store.user(uid)? {
            Some(u) if super::ssn_key(&u.program, &u.ssn_fingerprint) == *k => {}
            _ => p.push(format!("SSN index entry points at missing user {uid}")),
        }
    }
    Ok(())
}

/// Accounts against their user and cards.
fn check_accounts(store: &SledStore, c: &Contents, p: &mut Vec<String>) -> DomainResult<()> {
    for (_, a) in &c.accounts {
        match store.user(&a.user_id)? {
            Some(u) if u.account_ids.contains(&a.id) => {}
            _ => p.push(format!(
                "account {} not listed by its user {}",
                a.id, a.user_id
            )),
        }
        for d in &a.card_ids {
            match store.card(d)? {
                Some(dev) if dev.account_id.as_deref() == Some(&a.id) => {}
                _ => p.push(format!(
                    "account {} lists card {d} that is not its own",
                    a.id
                )),
            }
        }
    }
    Ok(())
}

/// Cards against their number, pack ID and alias lookups and their account; alias entries
/// against cards.
fn check_cards(store: &SledStore, c: &Contents, p: &mut Vec<String>) -> DomainResult<()> {
    for (k, d) in &c.devices {
        if id(k) != d.id {
            p.push(format!("device key {} holds device {}", id(k), d.id));
        }
        if store.number_owner(&d.pan.fingerprint)? != Some(Owner::Card(d.id.clone())) {
            p.push(format!(
                "card {} is not found by its number (its id is not derived from it, nor indexed)",
                d.id
            ));
        }
        if let Some(pack) = &d.pack_id {
            if store.pack_owner(&d.program, pack)? != Some(Owner::Card(d.id.clone())) {
                p.push(format!("card {} has no pack ID index entry", d.id));
            }
        }
        if let Some(alias) = &d.alias {
            if !store.alias_cards(alias)?.contains(&d.id) {
                p.push(format!("card {} has no alias index entry", d.id));
            }
        }
        if let Some(a) = &d.account_id {
            match store.account(a)? {
                Some(acc) if acc.card_ids.contains(&d.id) => {}
                _ => p.push(format!(
                    "card {} names account {a} that does not list it",
                    d.id
                )),
            }
        }
    }
    for (k, ids) in &c.aliases {
        for d in ids {
            match store.card(d)? {
                Some(dev) if dev.alias.as_deref().map(str::as_bytes) == Some(k.as_slice()) => {}
                _ => p.push(format!(
                    "alias index entry {} -> {d} has no such card",
                    id(k)
                )),
            }
        }
    }
    Ok(())
}

/// Kits against their pack ID and number entries; every such entry against its card or kit.
fn check_kits_and_owners(store: &SledStore, c: &Contents, p: &mut Vec<String>) -> DomainResult<()> {
    let card_ids = c.card_ids();
    let mut kit_by_key: HashMap<Vec<u8>, &Kit> = HashMap::new();
    for (k, kit) in &c.kits {
        kit_by_key.insert(k.clone(), kit);
        let expected = match (kit.status, &kit.card_id) {
            (KitStatus::Assigned, Some(dev)) => Owner::Card(dev.clone()),
            (KitStatus::Assigned, None) => {
                p.push(format!("kit {} assigned without a card", kit.mapping_id));
                continue;
            }
            _ => Owner::Kit {
                program: kit.program.clone(),
                mapping_id: kit.mapping_id.clone(),
            },
        };
        if store.pack_owner(&kit.program, &kit.pack_id)?.as_ref() != Some(&expected) {
            p.push(format!("kit {} has no pack ID index entry", kit.mapping_id));
        }
        if store.number_owner(&kit.pan.fingerprint)?.as_ref() != Some(&expected) {
            p.push(format!(
                "kit {} has no card-number index entry",
                kit.mapping_id
            ));
        }
    }
    for (tree, entries) in [("pack ID", &c.packs), ("card-number", &c.numbers)] {
        for (k, owner) in entries.iter() {
            let ok = match owner {
                Owner::Card(d) => card_ids.contains(d.as_str()),
                Owner::Kit {
                    program,
                    mapping_id,
                } => kit_by_key.contains_key(&kit_key(program, mapping_id)),
            };
            if !ok {
                p.push(format!(
                    "{tree} index entry {} points at a missing {owner:?}",
                    hex::encode(&k[..k.len().min(8)])
                ));
            }
        }
    }
    Ok(())
}

/// Wallets against their card and the wallets-by-card index, both ways.
fn check_wallets(store: &SledStore, c: &Contents, p: &mut Vec<String>) -> DomainResult<()> {
    let card_ids = c.card_ids();
    let mut listed: HashSet<&str> = HashSet::new();
    for (k, ids) in &c.by_card {
        if !card_ids.contains(id(k).as_str()) {
            p.push(format!(
                "wallet index lists wallets of missing card {}",
                id(k)
            ));
        }
        for w in ids {
            listed.insert(w.as_str());
        }
    }
    for (_, w) in &c.wallets {
        if !card_ids.contains(w.card_id.as_str()) {
            p.push(format!(
                "wallet {} belongs to missing card {}",
                w.id, w.card_id
            ));
        }
        if !store.wallet_ids(&w.card_id)?.contains(&w.id) {
            p.push(format!(
                "wallet {} has no wallets-by-card index entry",
                w.id
            ));
        }
    }
    let wallet_ids: HashSet<&str> = c.wallets.iter().map(|(_, w)| w.id.as_str()).collect();
    for w in listed {
        if !wallet_ids.contains(w) {
            p.push(format!("wallets-by-card index lists missing wallet {w}"));
        }
    }
    Ok(())
}

/// Reviews against their user.
fn check_reviews(store: &SledStore, c: &Contents, p: &mut Vec<String>) -> DomainResult<()> {
    for (_, r) in &c.reviews {
        if store.user(&r.user_id)?.is_none() {
            p.push(format!("review of missing user {}", r.user_id));
        }
    }
    Ok(())
}

/// The counters against the trees; answers the counts by tree (tokens included).
fn check_counts(
    store: &SledStore,
    c: &Contents,
    p: &mut Vec<String>,
) -> DomainResult<Vec<(&'static str, u64)>> {
    let actual = [
        (Counted::Users, c.users.len()),
        (Counted::Accounts, c.accounts.len()),
        (Counted::Cards, c.devices.len()),
        (Counted::Wallets, c.wallets.len()),
        (Counted::Kits, c.kits.len()),
        (Counted::StoredResponses, c.responses.len()),
        (Counted::Reviews, c.reviews.len()),
    ];
    let mut counts = Vec::new();
    for (c, n) in actual {
        let stored = store.count(c)?;
        if stored != n as u64 {
            p.push(format!(
                "{} counter says {stored}, the tree holds {n}",
                c.name()
            ));
        }
        counts.push((c.name(), n as u64));
    }
    counts.push((TreeId::Tokens.name(), c.tokens.len() as u64));
    Ok(counts)
}

/// Every token grant, legacy ones included; an undecodable one is a problem.
fn token_grants(store: &SledStore, problems: &mut Vec<String>) -> Vec<(Vec<u8>, TokenGrant)> {
    let mut out = Vec::new();
    for r in store.token_grants() {
        match r {
            Ok(kv) => out.push(kv),
            Err(e) => problems.push(format!("tokens: undecodable record: {e}")),
        }
    }
    out
}

/// Every token of the current layout is listed under its client with its expiry, and every
/// listed token exists and is that client's. Grants of the legacy layout (stored before
/// fingerprints) were never listed and need not be.
fn check_tokens(
    tokens: &[(Vec<u8>, TokenGrant)],
    lists: &[(Vec<u8>, Vec<IndexedToken>)],
    p: &mut Vec<String>,
) {
    let short = |h: &[u8]| hex::encode(&h[..h.len().min(8)]);
    let mut listed: HashMap<&[u8], (String, i64)> = HashMap::new();
    for (k, list) in lists {
        let client = id(k);
        if list.is_empty() {
            p.push(format!("token list of client {client} is empty"));
        }
        for t in list {
            if listed
                .insert(&t.hash[..], (client.clone(), t.expires_at))
                .is_some()
            {
                p.push(format!("token {} is listed twice", short(&t.hash)));
            }
        }
    }
    let stored: HashSet<&[u8]> = tokens.iter().map(|(k, _)| k.as_slice()).collect();
    for (k, g) in tokens {
        match listed.get(k.as_slice()) {
            Some((c, exp)) if *c == g.client_id && *exp == g.expires_at => {}
            Some((c, _)) => p.push(format!(
                "token {} of client {} is listed under client {c} or with another expiry",
                short(k),
                g.client_id
            )),
            None if g.secret_fingerprint.is_some() => p.push(format!(
                "token {} of client {} is not in its client's token list",
                short(k),
                g.client_id
            )),
            None => {}
        }
    }
    for (h, (c, _)) in &listed {
        if !stored.contains(h) {
            p.push(format!(
                "token list of client {c} names missing token {}",
                short(h)
            ));
        }
    }
}

/// Events: each group under its first sequence, the sequence gap-free from the first event kept
/// to the store's last, each id naming its sequence; the fan-out cursor not past the last.
/// Webhook endpoints against their list; deliveries against the due index, both ways, and a
/// pending delivery's endpoint. Answers the counts of events, endpoints and deliveries.
fn check_events(store: &SledStore, p: &mut Vec<String>) -> DomainResult<Vec<(&'static str, u64)>> {
    use super::events::{delivery_key, parse_delivery_key};
    use super::EventReads;
    use crate::domain::event::sequence_of_id;
    use crate::domain::webhook::{Delivery, DeliveryStatus, Webhook};

    let mut next: Option<u64> = None;
    let mut events = 0u64;
    let mut groups = Vec::new();
    for r in store.scan_raw(TreeId::Events) {
        match r.and_then(|(k, v)| Ok((k, super::events::group(&v)?))) {
            Ok(kv) => groups.push(kv),
            Err(e) => p.push(format!("events: undecodable record: {e}")),
        }
    }
    for (k, group) in groups {
        let key = <[u8; 8]>::try_from(k.as_slice()).map(u64::from_be_bytes);
        if key.ok() != group.first().map(|e| e.sequence) {
            p.push(format!(
                "events: the group under key {} does not start there",
                hex::encode(&k)
            ));
        }
        for e in &group {
            match next {
                Some(n) if e.sequence > n => p.push(format!(
                    "events: sequences {n} to {} are missing",
                    e.sequence - 1
                )),
                Some(n) if e.sequence < n => p.push(format!(
                    "events: event {} comes after event {}",
                    e.sequence,
                    n - 1
                )),
                _ => {}
            }
            if sequence_of_id(&e.id) != Some(e.sequence) {
                p.push(format!(
                    "event {}: id {} names another sequence",
                    e.sequence, e.id
                ));
            }
            next = Some(e.sequence + 1);
            events += 1;
        }
    }
    let last = store.last_event_sequence()?;
    if let Some(n) = next {
        if n - 1 != last {
            p.push(format!(
                "events: the store's sequence is {last}, its last event {}",
                n - 1
            ));
        }
    }
    let cursor = store.fanout_cursor()?;
    if cursor > last {
        p.push(format!(
            "the fan-out cursor {cursor} is past the last event {last}"
        ));
    }

    let webhooks = all::<Webhook>(store, TreeId::Webhooks, p);
    let listed = store.webhook_ids()?;
    let mut seen: HashSet<&str> = HashSet::new();
    for id in &listed {
        if !seen.insert(id) {
            p.push(format!("webhook {id} is listed twice"));
        }
    }
    let mut endpoints: HashSet<&str> = HashSet::new();
    for (k, w) in &webhooks {
        if id(k) != w.id {
            p.push(format!("webhook key {} holds webhook {}", id(k), w.id));
        }
        if !seen.contains(w.id.as_str()) {
            p.push(format!("webhook {} is not in the list of endpoints", w.id));
        }
        endpoints.insert(w.id.as_str());
    }
    for id in &listed {
        if !endpoints.contains(id.as_str()) {
            p.push(format!("the list of endpoints names missing webhook {id}"));
        }
    }

    let deliveries = all::<Delivery>(store, TreeId::Deliveries, p);
    let mut due: HashMap<(String, u64), u64> = HashMap::new();
    for entry in store.due_index() {
        match entry {
            Err(e) => p.push(e),
            Ok((at, wh, seq)) => {
                if due.insert((wh.clone(), seq), at).is_some() {
                    p.push(format!("delivery {wh}/{seq} is in the due index twice"));
                }
            }
        }
    }
    let mut pending: HashSet<(String, u64)> = HashSet::new();
    for (k, d) in &deliveries {
        let name = format!("delivery {}/{}", d.webhook_id, d.event_sequence);
        if *k != delivery_key(&d.webhook_id, d.event_sequence) {
            let at = parse_delivery_key(k).map(|(w, s)| format!("{w}/{s}"));
            p.push(format!(
                "{name} is stored under {}",
                at.unwrap_or_else(|| hex::encode(k))
            ));
        }
        if sequence_of_id(&d.event_id) != Some(d.event_sequence) {
            p.push(format!(
                "{name}: event id {} names another event",
                d.event_id
            ));
        }
        if d.status != DeliveryStatus::Pending {
            continue;
        }
        let key = (d.webhook_id.clone(), d.event_sequence);
        match due.get(&key) {
            Some(at) if *at == d.next_attempt_ms.max(0) as u64 => {}
            Some(at) => p.push(format!(
                "{name} is due at {} but listed in the due index at {at}",
                d.next_attempt_ms
            )),
            None => p.push(format!("{name} is pending but not in the due index")),
        }
        if !endpoints.contains(d.webhook_id.as_str()) {
            p.push(format!("{name} is pending for a missing endpoint"));
        }
        pending.insert(key);
    }
    for (wh, seq) in due.keys() {
        if !pending.contains(&(wh.clone(), *seq)) {
            p.push(format!(
                "the due index lists delivery {wh}/{seq}, which is not pending"
            ));
        }
    }
    Ok(vec![
        ("events", events),
        ("webhooks", webhooks.len() as u64),
        ("deliveries", deliveries.len() as u64),
    ])
}
