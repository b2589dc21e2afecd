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
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    diesel::insert_into(webhook_events::table)
        .values(&rows)
        .execute(conn)
        .await?;
    diesel::sql_query(format!(
        "UPDATE webhook_events e SET state = 'held' FROM integration_clients c
         WHERE e.id = ANY($1) AND c.id = e.client_id AND NOT ({CAN_RECEIVE})"
    ))
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
    .execute(conn)
    .await?;
    Ok(ids)
}

/// Whether client `c` can receive webhooks now: active, with an endpoint and a secret, and the
/// endpoint not disabled.
pub(crate) const CAN_RECEIVE: &str = "c.active AND c.webhook_url IS NOT NULL \
    AND c.webhook_secret IS NOT NULL AND c.webhook_disabled_at IS NULL";

/// Holds `client_id`'s pending events while it cannot receive them, and releases its held
/// events, each with a fresh retry window from now, once it can. Call it after anything that
/// changes whether the client can receive: its endpoint, its secret, disabling or re-enabling
/// the endpoint, deactivating or reactivating the client.
pub async fn hold_or_release(conn: &mut AsyncPgConnection, client_id: Uuid) -> QueryResult<usize> {
    diesel::sql_query(format!(
        "UPDATE webhook_events e
         SET state = CASE WHEN {CAN_RECEIVE} THEN 'pending' ELSE 'held' END,
             next_attempt_at = CASE WHEN {CAN_RECEIVE} THEN now() ELSE e.next_attempt_at END,
             requeued_at = CASE WHEN {CAN_RECEIVE} THEN now() ELSE e.requeued_at END
         FROM integration_clients c
         WHERE c.id = $1 AND e.client_id = c.id
           AND e.state = CASE WHEN {CAN_RECEIVE} THEN 'held' ELSE 'pending' END"
    ))
    .bind::<diesel::sql_types::Uuid, _>(client_id)
    .execute(conn)
    .await
}

/// A due event, claimed by one worker, with where and how to send it.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedEvent {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub organization_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub client_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub event_type: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub occurred_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub data: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
    /// When the retry window started: the event, or its latest redelivery.
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub window_start: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub url: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub secret: String,
    /// The secret rotated away, while it is still valid for signing.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub previous_secret: Option<String>,
}

/// Claims up to `batch` due events of clients whose endpoint is set, enabled and active, by
/// moving their next attempt `lease` ahead: another worker skips them (`SKIP LOCKED` while
/// this runs, the lease after), and a worker that dies leaves them due again once it ends.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    batch: i64,
    lease: std::time::Duration,
) -> QueryResult<Vec<ClaimedEvent>> {
    diesel::sql_query(
        "WITH due AS (
            SELECT e.id FROM webhook_events e
            JOIN integration_clients c ON c.id = e.client_id
            WHERE e.state = 'pending' AND e.next_attempt_at <= now()
              AND c.active AND c.webhook_url IS NOT NULL AND c.webhook_secret IS NOT NULL
              AND c.webhook_disabled_at IS NULL
            ORDER BY e.next_attempt_at
            LIMIT $1
            FOR UPDATE OF e SKIP LOCKED
        )
        UPDATE webhook_events e
        SET next_attempt_at = now() + make_interval(secs => $2)
        FROM due, integration_clients c
        WHERE e.id = due.id AND c.id = e.client_id
        RETURNING e.id, e.organization_id, e.client_id, e.event_type, e.occurred_at, e.data,
                  e.attempts, coalesce(e.requeued_at, e.occurred_at) AS window_start,
                  c.webhook_url AS url, c.webhook_secret AS secret,
                  CASE WHEN c.previous_webhook_secret_until > now()
                       THEN c.previous_webhook_secret END AS previous_secret",
    )
    .bind::<diesel::sql_types::BigInt, _>(batch)
    .bind::<diesel::sql_types::Double, _>(lease.as_secs_f64())
    .load(conn)
    .await
}

/// What became of an attempt.
#[derive(Debug, Clone, Copy)]
pub enum Settled {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
}

/// Records the outcome of attempt number `attempt` of event `id`.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    attempt: i32,
    settled: Settled,
) -> QueryResult<()> {
    let now = Utc::now();
    let (state, next, delivered_at) = match settled {
        Settled::Delivered => ("delivered", now, Some(now)),
        Settled::RetryAt(at) => ("pending", at, None),
        Settled::Failed => ("failed", now, None),
    };
    diesel::update(webhook_events::table.find(id))
        .set((
            webhook_events::state.eq(state),
            webhook_events::attempts.eq(attempt),
            webhook_events::next_attempt_at.eq(next),
            webhook_events::delivered_at.eq(delivered_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Queues event `id` of `client_id` again now, with a fresh retry window; `None` when the
/// event is not the client's.
pub async fn requeue(
    conn: &mut AsyncPgConnection,
    client_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<(String, DateTime<Utc>)>> {
    let now = Utc::now();
    diesel::update(
        webhook_events::table
            .find(id)
            .filter(webhook_events::client_id.eq(client_id)),
    )
    .set((
        webhook_events::state.eq("pending"),
        webhook_events::next_attempt_at.eq(now),
        webhook_events::requeued_at.eq(now),
    ))
    .returning((webhook_events::state, webhook_events::next_attempt_at))
    .get_result(conn)
    .await
    .optional()
}
