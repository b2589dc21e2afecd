//! The outbox of webhook events: one row per event and receiving client, written in the
//! transaction of the change it reports, so an event exists exactly when its change does.
//! The webhook worker delivers what is due.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::webhook_events;

crate::text_enum! {
    /// What happened.
    pub enum EventType {
        ReferralCreated => "referral.created",
        ReferralStatusChanged => "referral.status_changed",
        ConsentRevoked => "consent.revoked",
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_events)]
struct NewEvent<'a> {
    id: Uuid,
    organization_id: Uuid,
    client_id: Uuid,
    event_type: EventType,
    occurred_at: DateTime<Utc>,
    data: &'a serde_json::Value,
}

/// Queues `event_type` for each of `client_ids`, with `data` (ids only, never participant
/// details). Call it inside the transaction of the change. Returns the event ids, in the order
/// of `client_ids`.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    client_ids: &[Uuid],
    event_type: EventType,
    data: &serde_json::Value,
) -> QueryResult<Vec<Uuid>> {
    if client_ids.is_empty() {
        return Ok(Vec::new());
    }
    let occurred_at = Utc::now();
    let rows: Vec<NewEvent> = client_ids
        .iter()
        .map(|&client_id| NewEvent {
            id: Uuid::now_v7(),
            organization_id,
            client_id,
            event_type,
            occurred_at,
            data,
        })
        .collect();
    let ids = rows.iter().map(|row| row.id).collect();
    diesel::insert_into(webhook_events::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok(ids)
}
