//! Verification: walks an organization's chain recomputing every keyed link, and checks that a
//! head taken earlier (from a verification or from the log) is still in the chain.

use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::chain::{link_hash, ChainKey, GENESIS};
use crate::db::models::audit_events;

/// A point of a chain: a link's position (0 for the empty chain) and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChainHead {
    pub position: i64,
    /// 64 lowercase hexadecimal digits.
    pub hash: String,
}

impl ChainHead {
    fn genesis() -> Self {
        Self {
            position: 0,
            hash: GENESIS.to_owned(),
        }
    }
}

/// Result of walking an organization's chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// True when every sealed event still matches its link and, when an earlier head was
    /// given, that head is still in the chain.
    pub ok: bool,
    /// How many sealed events were checked.
    pub checked: i64,
    /// The first event whose contents or link do not match, if any.
    pub first_broken_id: Option<Uuid>,
    /// The last link that verified (position 0 for an empty chain). Keep it, and pass it back
    /// later as `position` and `hash`: if events up to it are removed, that verification fails.
    pub head: ChainHead,
    /// Whether the earlier head given as `position` and `hash` is still in the chain; `null`
    /// when none was given.
    pub earlier_head_found: Option<bool>,
    /// Events recorded but not yet sealed into the chain (they are sealed within seconds).
    pub unsealed: i64,
}

/// Walks an organization's chain in order, recomputing every link, and looks for `earlier`.
pub async fn verify(
    conn: &mut AsyncPgConnection,
    key: &ChainKey,
    organization_id: Uuid,
    earlier: Option<&ChainHead>,
) -> diesel::QueryResult<Verification> {
    // Counted before the walk, so an event sealed meanwhile is checked rather than missed:
    // `unsealed: 0` means every event recorded before the call was checked.
    let unsealed = audit_events::count_unsealed(conn, organization_id).await?;
    let mut checked = 0;
    let mut head = ChainHead::genesis();
    let mut first_broken_id = None;
    'walk: loop {
        let page = audit_events::chain_page(conn, organization_id, head.position, 5000).await?;
        if page.is_empty() {
            break;
        }
        for (link, event) in page {
            let expected = link_hash(key, organization_id, link.position, &head.hash, &event);
            if link.position != head.position + 1
                || link.prev_hash != head.hash
                || expected != link.hash
            {
                first_broken_id = Some(event.id);
                break 'walk;
            }
            checked += 1;
            head = ChainHead {
                position: link.position,
                hash: link.hash,
            };
        }
    }
    let earlier_head_found = match earlier {
        None => None,
        Some(earlier) if earlier.position == 0 => Some(earlier.hash == GENESIS),
        Some(earlier) => Some(
            audit_events::link_at(conn, organization_id, earlier.position)
                .await?
                .is_some_and(|link| link.hash == earlier.hash),
        ),
    };
    Ok(Verification {
        ok: first_broken_id.is_none() && earlier_head_found != Some(false),
        checked,
        first_broken_id,
        head,
        earlier_head_found,
        unsealed,
    })
}
