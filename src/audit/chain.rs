//! The hash chains: a background sealer links unsealed events into one chain per organization.
//! Each link is an HMAC-SHA256 keyed with the audit key, which is configuration and never in
//! the database, so whoever can write the tables still cannot forge or rebuild a link.

use std::collections::hash_map::Entry as Slot;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::crypto::hmac_sha256;
use crate::db::models::audit_events::{self, AuditEvent, ChainLink, SealGap};

/// The `prev_hash` of a chain's first link, and the hash of an empty chain's head.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
pub const SEAL_BATCH: i64 = 1000;

/// The key of the chains' links (`TANDEM_AUDIT_KEY`). Every instance must use the same key.
#[derive(Clone)]
pub struct ChainKey(Arc<[u8]>);

impl ChainKey {
    pub fn new(key: &[u8]) -> Self {
        Self(key.into())
    }
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

/// The link hash of `event` at `position` of chain `chain_id`, after `prev_hash`.
pub fn link_hash(
    key: &ChainKey,
    chain_id: Uuid,
    position: i64,
    prev_hash: &str,
    event: &AuditEvent,
) -> String {
    let canonical = serde_json::json!([
        chain_id,
        position,
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
        event.participant_ids,
        event.outcome,
        event.request_id,
        event.ip,
    ]);
    let canonical = canonical.to_string();
    let parts: [&[u8]; 3] = [prev_hash.as_bytes(), b"\n", canonical.as_bytes()];
    hex::encode(hmac_sha256(&key.0, &parts))
}

/// The chain an event belongs to: its organization's, or the nil chain.
pub fn chain_of(event: &AuditEvent) -> Uuid {
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
pub async fn seal_pending(
    conn: &mut AsyncPgConnection,
    key: &ChainKey,
) -> diesel::QueryResult<usize> {
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
        let sealed = append_to_chains(conn, key, &pending).await?;
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

/// Logs the head of every chain at info, one line each, so an external log store keeps
/// anchors to verify against later (`GET /audit-events/verify?position=&hash=`):
///
/// `audit chain head: chain=<organization id> position=<n> hash=<64 hex digits>`
///
/// (chain `00000000-…` holds events outside any organization, such as unknown sign-ins).
pub async fn log_heads(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    for head in audit_events::chain_heads(conn).await? {
        log::info!(
            "audit chain head: chain={} position={} hash={}",
            head.chain_id,
            head.position,
            head.hash
        );
    }
    Ok(())
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
    key: &ChainKey,
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
        let hash = link_hash(key, chain_id, *position, prev_hash, event);
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
            participant_ids: Vec::new(),
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
    fn a_link_depends_on_the_key_the_chain_and_the_position() {
        let key = ChainKey::new(b"one key");
        let (chain, genesis, event) = (Uuid::nil(), GENESIS, event(1));
        let hash = link_hash(&key, chain, 1, genesis, &event);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, link_hash(&key, chain, 1, genesis, &event));
        let other_key = ChainKey::new(b"another key");
        assert_ne!(hash, link_hash(&other_key, chain, 1, genesis, &event));
        assert_ne!(hash, link_hash(&key, chain, 2, genesis, &event));
        assert_ne!(hash, link_hash(&key, Uuid::max(), 1, genesis, &event));
        let mut listed = event.clone();
        listed.participant_ids = vec![Uuid::max()];
        assert_ne!(hash, link_hash(&key, chain, 1, genesis, &listed));
        assert_eq!(format!("{key:?}"), "ChainKey(<redacted>)");
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
