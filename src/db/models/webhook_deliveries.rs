//! Every attempt to deliver a webhook event: when, where, what came back, what happens next.
//! Append-only for the service.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{integration_clients, webhook_deliveries};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub client_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// 1 for the first attempt at the event.
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    pub url: String,
    pub response_status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub succeeded: bool,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, delivery: &Delivery) -> QueryResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values(delivery)
        .execute(conn)
        .await
        .map(drop)
}

/// One page of a client's attempts, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    client_id: Uuid,
    before: Option<Uuid>,
    fetch: i64,
) -> QueryResult<Vec<Delivery>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::client_id.eq(client_id))
        .filter(webhook_deliveries::organization_id.eq(organization_id))
        .select(Delivery::as_select())
        .order(webhook_deliveries::id.desc())
        .limit(fetch)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    query.load(conn).await
}

/// Attempt `id` at an event of `client_id`, within the organization.
pub async fn find(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    client_id: Uuid,
    id: Uuid,
) -> QueryResult<Delivery> {
    webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::client_id.eq(client_id))
        .filter(webhook_deliveries::organization_id.eq(organization_id))
        .select(Delivery::as_select())
        .first(conn)
        .await
}

/// Tracks whether `client_id`'s endpoint keeps failing: a success clears the streak; a
/// failure starts it, and disables the endpoint, with `reason`, once the streak began
/// `disable_after` or longer ago. Returns whether this call disabled it.
pub async fn track_endpoint(
    conn: &mut AsyncPgConnection,
    client_id: Uuid,
    succeeded: bool,
    disable_after: chrono::Duration,
    reason: &str,
) -> QueryResult<bool> {
    use integration_clients::dsl as c;
    let now = Utc::now();
    if succeeded {
        diesel::update(c::integration_clients.find(client_id))
            .filter(c::webhook_failing_since.is_not_null())
            .set(c::webhook_failing_since.eq(None::<DateTime<Utc>>))
            .execute(conn)
            .await?;
        return Ok(false);
    }
    let since: Option<DateTime<Utc>> = diesel::update(c::integration_clients.find(client_id))
        .set(c::webhook_failing_since.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("coalesce(webhook_failing_since, now())")))
        .returning(c::webhook_failing_since)
        .get_result(conn)
        .await?;
    let expired = since.is_some_and(|since| now - since >= disable_after);
    if !expired {
        return Ok(false);
    }
    let disabled = diesel::update(c::integration_clients.find(client_id))
        .filter(c::webhook_disabled_at.is_null())
        .set((
            c::webhook_disabled_at.eq(Some(now)),
            c::webhook_disabled_reason.eq(Some(reason)),
        ))
        .execute(conn)
        .await?;
    if disabled > 0 {
        super::webhook_events::hold_or_release(conn, client_id).await?;
    }
    Ok(disabled > 0)
}
