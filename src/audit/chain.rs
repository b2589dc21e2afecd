//! The hash chains: a background sealer links unsealed events into one chain per organization,
//! and verification walks a chain recomputing every link.

use std::collections::hash_map::Entry as Slot;
use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::audit_events::{self, AuditEvent, ChainLink, SealGap};

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
///
/// Pending events are those above the chains' head (the highest seq sealed) and those that
/// committed into a gap: seqs the sealer passed over because their transaction had not
/// committed, or never will. Gaps are watched until no transaction that could fill them is
/// still open, so an event that commits late is sealed late, never skipped, and with nothing
/// pending a tick reads one index entry and an empty table, however long the chains are.
pub async fn seal_pending(conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
    conn.transaction(async |conn| {
        if !audit_events::try_lock_sealer(conn).await? {
            return Ok(0);
        }
        // Read before looking into the gaps: a transaction missing from it has ended, so the
        // look below sees whatever it committed.
        let settled_before = if audit_events::has_gaps(conn).await? {
            Some(audit_events::oldest_open_transaction(conn).await?)
        } else {
            None
        };
        let mut pending = match settled_before {
            Some(_) => audit_events::filled_gaps(conn, SEAL_BATCH).await?,
            None => Vec::new(),
        };
        let late = pending.len() as i64;
        let head = audit_events::sealed_through(conn).await?;
        let fresh = audit_events::after(conn, head, SEAL_BATCH - late).await?;
        let gaps = gaps_above(head, &fresh);
        pending.extend(fresh);
        let sealed = append_to_chains(conn, &pending).await?;
        if !gaps.is_empty() {
            audit_events::record_gaps(conn, &gaps).await?;
        }
        // After a full batch of late events more may wait in the gaps: keep them a tick longer.
        if let Some(settled_before) = settled_before {
            if late < SEAL_BATCH {
                audit_events::forget_gaps_seen_before(conn, settled_before).await?;
            }
        }
        Ok(sealed)
    })
    .await
}

/// The runs of seqs above `head` that `events` (ascending, all above `head`) skip.
fn gaps_above(head: i64, events: &[AuditEvent]) -> Vec<SealGap> {
    let mut gaps = Vec::new();
    let mut expected = head + 1;
    for event in events {
        if event.seq > expected {
            gaps.push(SealGap {
                first_seq: expected,
                last_seq: event.seq - 1,
            });
        }
        expected = event.seq + 1;
    }
    gaps
}

/// Links `events`, in order, after the last link of each one's chain.
async fn append_to_chains(
    conn: &mut AsyncPgConnection,
    events: &[AuditEvent],
) -> diesel::QueryResult<usize> {
    let mut heads: HashMap<Uuid, (i64, String)> = HashMap::new();
    let mut links = Vec::with_capacity(events.len());
    for event in events {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64) -> AuditEvent {
        AuditEvent {
            seq,
            id: Uuid::nil(),
            at: chrono::Utc::now(),
            actor_id: None,
            actor_role: None,
            client_id: None,
            organization_id: None,
            action: "read".into(),
            resource_type: "participant".into(),
            resource_id: None,
            participant_id: None,
            outcome: "success".into(),
            request_id: String::new(),
            ip: None,
        }
    }

    fn gap(first_seq: i64, last_seq: i64) -> SealGap {
        SealGap {
            first_seq,
            last_seq,
        }
    }

    #[test]
    fn contiguous_events_leave_no_gap() {
        let events: Vec<_> = (11..=14).map(event).collect();
        assert_eq!(gaps_above(10, &events), vec![]);
        assert_eq!(gaps_above(10, &[]), vec![]);
    }

    #[test]
    fn skipped_seqs_become_gaps_between_the_head_and_the_last_event() {
        let events: Vec<_> = [13, 14, 16, 20].into_iter().map(event).collect();
        assert_eq!(
            gaps_above(10, &events),
            vec![gap(11, 12), gap(15, 15), gap(17, 19)]
        );
    }

    #[test]
    fn an_empty_chain_has_its_head_at_zero() {
        assert_eq!(gaps_above(0, &[event(2)]), vec![gap(1, 1)]);
    }
}
