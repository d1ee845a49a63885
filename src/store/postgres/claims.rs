//! Claims of requests in flight on the SQL engine (see [`crate::store::claims`]): rows of the
//! `claims` table that every process sees, taken with one statement, renewed while their
//! request runs, and given back by holder (one statement), in the request's committing
//! transaction or when the claim is dropped.

use super::conn::{Object, Pool};
use super::engine::PgStore;
use super::sql;
use super::tx::unstorable;
use crate::domain::error::DomainResult;
use crate::domain::model::{now, ResponseKey, StoredResponse};
use crate::store::{codec, storage_err};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// A claim not renewed for this long was left by a process that died (or lost the database): it
/// may be taken again. Its holder renews it every [`CLAIM_RENEWAL`] while the request runs, so
/// a live request keeps it however long it takes, and a SIGKILLed process's claims free within
/// seconds instead of locking its clients' requestIds and SSNs out (4091) for a minute.
pub(super) const STALE_CLAIM_SECONDS: i64 = 10;
/// How often a process renews the claims of its requests in flight.
const CLAIM_RENEWAL: Duration = Duration::from_secs(2);
/// Renews this process's live claims (`holder = ANY(…)`), so that they never look stale.
const RENEW_CLAIMS: &str =
    "UPDATE claims SET claimed_at = $1 WHERE kind = 'inflight' AND holder = ANY($2)";

impl PgStore {
    /// Claims every key for this request across all processes, or none when any is held; with
    /// `then_read`, reads that stored response once the claim is taken, in the same round trip
    /// (the read is sent behind the claim's statement and runs after it, as if sent after it).
    pub fn claim(
        &self,
        keys: Vec<Vec<u8>>,
        then_read: Option<&ResponseKey>,
    ) -> DomainResult<Option<(PgClaim, Option<StoredResponse>)>> {
        let holder: String = {
            let mut rng = rand::thread_rng();
            (0..16)
                .map(|_| char::from(b'a' + rng.gen_range(0..26u8)))
                .collect()
        };
        let now = now();
        let client = self.client()?;
        let mut sorted = keys;
        sorted.sort();
        sorted.dedup();
        let read = then_read.filter(|k| !unstorable(&[&k.client, &k.program, &k.request_id]));
        let got = client
            .drive(async {
                let stale = now - STALE_CLAIM_SECONDS;
                let claim = client.prepare_cached(sql::CLAIM).await?;
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                    [&"inflight", &sorted, &holder, &now, &stale];
                let claimed = client.query(&claim, &params);
                let (rows, stored) = match read {
                    None => (claimed.await?, None),
                    Some(k) => {
                        let response = client.prepare_cached(sql::RESPONSE).await?;
                        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
                            [&k.client, &k.program, &k.request_id];
                        let stored = client.query_opt(&response, &params);
                        let (rows, row) = futures_util::future::try_join(claimed, stored).await?;
                        (rows, row)
                    }
                };
                if rows.len() == sorted.len() {
                    return Ok(Some(stored));
                }
                // Some key is held: give back the ones this statement took.
                if !rows.is_empty() {
                    let release = client.prepare_cached(sql::RELEASE_HOLDER).await?;
                    client.execute(&release, &[&"inflight", &holder]).await?;
                }
                Ok::<_, tokio_postgres::Error>(None)
            })
            .map_err(|e| storage_err(format!("postgres claim: {e}")))?;
        let Some(row) = got else {
            return Ok(None);
        };
        let stored = match row {
            Some(r) => Some(codec::decode(r.get::<_, &[u8]>(0)).map_err(storage_err)?),
            None => None,
        };
        self.inner.held.lock().insert(holder.clone());
        let claim = PgClaim {
            store: self.clone(),
            holder,
            released: Default::default(),
        };
        Ok(Some((claim, stored)))
    }
}

pub(super) type Held = Arc<parking_lot::Mutex<std::collections::HashSet<String>>>;

/// Every [`CLAIM_RENEWAL`], stamps the claims of this process's requests in flight with the
/// time, for as long as the store lives (the task ends with its runtime). A renewal that fails
/// (the database gone) is simply tried again at the next tick.
pub(super) async fn renew_claims(pool: Pool, held: Held) {
    loop {
        tokio::time::sleep(CLAIM_RENEWAL).await;
        let holders: Vec<String> = held.lock().iter().cloned().collect();
        if holders.is_empty() {
            continue;
        }
        if let Ok(client) = pool.get().await {
            // Off the runtime's thread: a statement blocks its thread while it waits (see
            // `super::conn`), and this runtime's thread keeps the pool's timers.
            let _ = tokio::task::spawn_blocking(move || {
                client.drive(client.execute(RENEW_CLAIMS, &[&now(), &holders]))
            })
            .await;
        }
    }
}

/// Deletes a request's claims on `client`; false when the database could not be reached.
fn release(client: &Object, holder: &str) -> bool {
    client
        .drive(async {
            let stmt = client.prepare_cached(sql::RELEASE_HOLDER).await?;
            client.execute(&stmt, &[&"inflight", &holder]).await
        })
        .is_ok()
}

/// Keys held by one request until dropped.
pub struct PgClaim {
    store: PgStore,
    holder: String,
    /// Set once a committed transaction deleted the claim's rows
    /// ([`super::tx::PgTx::release_claim`]): dropping it then asks nothing of the database.
    released: std::sync::atomic::AtomicBool,
}

impl PgClaim {
    /// Who holds the claim's keys, for [`super::tx::PgTx::release_claim`].
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Says that a committed transaction released the claim.
    pub fn released_by_commit(&self) {
        self.released
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for PgClaim {
    /// Released before the request answers, so that the client's next request finds its keys
    /// free. A release that fails (the database gone) is tried again in the background until
    /// the database is back, so that the client's re-sent request is not locked out (4091) once
    /// it is; the claim is no longer renewed, so at worst it goes stale.
    fn drop(&mut self) {
        self.store.inner.held.lock().remove(&self.holder);
        if self.released.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let holder = self.holder.clone();
        if let Ok(client) = self.store.client() {
            if release(&client, &holder) {
                return;
            }
        }
        let pool = self.store.inner.pool.clone();
        let rt = self.store.inner.rt.as_ref();
        rt.expect("the runtime lives as long as the store")
            .spawn(async move {
                let give_up = tokio::time::Instant::now()
                    + Duration::from_secs(2 * STALE_CLAIM_SECONDS as u64);
                while tokio::time::Instant::now() < give_up {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    let Ok(client) = pool.get().await else {
                        continue;
                    };
                    // Off the runtime's thread, as the renewal (see `renew_claims`).
                    let holder = holder.clone();
                    let done = tokio::task::spawn_blocking(move || release(&client, &holder));
                    if done.await.unwrap_or(false) {
                        return;
                    }
                }
            });
    }
}
