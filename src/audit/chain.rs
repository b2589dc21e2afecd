//! The hash chains: a background sealer links unsealed events into one chain per organization,
//! and verification walks a chain recomputing every link.

use std::collections::hash_map::Entry as Slot;
use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::audit_events::{self, AuditEvent, ChainLink};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
pub const SEAL_BATCH: i64 = 1000;

/// The link hash of `event` after `prev_hash`.
pub fn link_hash(prev_hash: &str, event: &AuditEvent) -> String {
    let canonical = serde_json::json!([
        event.id,
        event.at.timestamp_micros(),
        event.actor_id,
        event.actor_role,
        event.client_id,
        event.organization_id,
        event.action,
        event.resource_type,
        event.resource_id,
        event.participant_id,
        event.outcome,
        event.request_id,
        event.ip,
    ]);
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// The chain an event belongs to: its organization's, or the nil chain.
fn chain_of(event: &AuditEvent) -> Uuid {
    event.organization_id.unwrap_or(Uuid::nil())
}

/// Seals one batch of pending events; returns how many were linked (0 when another
/// instance holds the sealer lock or nothing is pending).
pub async fn seal_pending(conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
    conn.transaction(async |conn| {
        if !audit_events::try_lock_sealer(conn).await? {
            return Ok(0);
        }
        let pending = audit_events::unsealed(conn, SEAL_BATCH).await?;
        let mut heads: HashMap<Uuid, (i64, String)> = HashMap::new();
        let mut links = Vec::with_capacity(pending.len());
        for event in &pending {
            let chain_id = chain_of(event);
            if let Slot::Vacant(slot) = heads.entry(chain_id) {
                let head = audit_events::last_link(conn, chain_id)
                    .await?
                    .map(|link| (link.position, link.hash))
                    .unwrap_or((0, GENESIS.to_owned()));
                slot.insert(head);
            }
            let Some((position, prev_hash)) = heads.get_mut(&chain_id) else {
                continue;
            };
            *position += 1;
            let hash = link_hash(prev_hash, event);
            links.push(ChainLink {
                chain_id,
                position: *position,
                event_seq: event.seq,
                prev_hash: std::mem::replace(prev_hash, hash.clone()),
                hash,
            });
        }
        if links.is_empty() {
            return Ok(0);
        }
        audit_events::append_links(conn, &links).await
    })
    .await
}

/// Result of walking an organization's chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// True when every sealed event still matches its link.
    pub ok: bool,
    /// How many sealed events were checked.
    pub checked: i64,
    /// The first event whose contents or link do not match, if any.
    pub first_broken_id: Option<Uuid>,
    /// Events recorded but not yet sealed into the chain (they are sealed within seconds).
    pub unsealed: i64,
}

/// Walks an organization's chain in order, recomputing every link.
pub async fn verify(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> diesel::QueryResult<Verification> {
    let mut checked = 0;
    let mut after = 0;
    let mut prev_hash = GENESIS.to_owned();
    let mut first_broken_id = None;
    'walk: loop {
        let page = audit_events::chain_page(conn, organization_id, after, 5000).await?;
        if page.is_empty() {
            break;
        }
        for (link, event) in page {
            if link.prev_hash != prev_hash || link_hash(&prev_hash, &event) != link.hash {
                first_broken_id = Some(event.id);
                break 'walk;
            }
            checked += 1;
            after = link.position;
            prev_hash = link.hash;
        }
    }
    Ok(Verification {
        ok: first_broken_id.is_none(),
        checked,
        first_broken_id,
        unsealed: audit_events::count_unsealed(conn, organization_id).await?,
    })
}
