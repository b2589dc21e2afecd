//! Background upkeep: sealing audit events into their chains, logging the chains' heads, and
//! forgetting idempotency keys and sign-in throttles once they have served their time.

use std::time::Duration;

use chrono::Utc;

use crate::audit::{self, ChainKey, SEAL_BATCH};
use crate::db::models::{idempotency_keys, integration_clients, login_throttles};
use crate::db::Pool;

/// Runs the sealer, and prunes expired idempotency keys and stale sign-in throttles, until
/// the process ends.
pub fn spawn_background_work(pool: Pool, interval: Duration, audit_key: ChainKey) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u64 = 0;
        loop {
            ticker.tick().await;
            ticks += 1;
            let Ok(mut conn) = pool.get().await else {
                continue;
            };
            loop {
                match audit::seal_pending(&mut conn, &audit_key).await {
                    Ok(n) if n as i64 == SEAL_BATCH => continue,
                    Ok(_) => break,
                    Err(error) => {
                        log::warn!("audit sealer: {error}");
                        break;
                    }
                }
            }
            if ticks % 600 == 1 {
                let cutoff = Utc::now() - chrono::Duration::hours(48);
                if let Err(error) = idempotency_keys::delete_older_than(&mut conn, cutoff).await {
                    log::warn!("pruning idempotency keys: {error}");
                }
                let day_ago = Utc::now() - chrono::Duration::hours(24);
                if let Err(error) = login_throttles::delete_stale(&mut conn, day_ago).await {
                    log::warn!("pruning login throttles: {error}");
                }
                let expired = integration_clients::forget_expired_assertions(&mut conn, Utc::now());
                if let Err(error) = expired.await {
                    log::warn!("pruning used assertion ids: {error}");
                }
            }
        }
    });
}

/// Logs the head of every audit chain now and then every `interval` (see [`audit::log_heads`]).
pub fn spawn_head_logging(pool: Pool, interval: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let result = match pool.get().await {
                Ok(mut conn) => audit::log_heads(&mut conn).await.map_err(|e| e.to_string()),
                Err(error) => Err(error.to_string()),
            };
            if let Err(error) = result {
                log::warn!("logging audit chain heads: {error}");
            }
        }
    });
}
