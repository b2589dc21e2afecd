use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::idempotency_keys;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRecord {
    pub caller_id: Uuid,
    pub key: String,
    /// A keyed digest of the request (see [`crate::http::idempotency`]).
    pub fingerprint: String,
    pub location: String,
    pub created_at: DateTime<Utc>,
    /// What the first request created.
    pub resource_id: Uuid,
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    caller_id: Uuid,
    key: &str,
) -> QueryResult<Option<IdempotencyRecord>> {
    idempotency_keys::table
        .find((caller_id, key))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .await
        .optional()
}

/// Forgets keys older than `before`; keys are kept at least 24 hours.
pub async fn delete_older_than(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
        .execute(conn)
        .await
}
