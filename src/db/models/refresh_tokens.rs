use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::refresh_tokens;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the family's sign-in happened; the family's lifetime runs from here.
    pub family_started_at: DateTime<Utc>,
}

/// A refresh token to store (its id and `created_at` are given here and by the database).
#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub family_started_at: DateTime<Utc>,
    pub token_hash: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    token: &NewRefreshToken<'_>,
) -> QueryResult<RefreshToken> {
    diesel::insert_into(refresh_tokens::table)
        .values((refresh_tokens::id.eq(Uuid::now_v7()), token))
        .returning(RefreshToken::as_returning())
        .get_result(conn)
        .await
}

/// Finds a token by its hash and locks it, so two concurrent refreshes cannot both rotate it.
pub async fn lock_by_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &str,
) -> QueryResult<Option<RefreshToken>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshToken::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn mark_used(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::used_at.eq(Utc::now()))
        .execute(conn)
        .await
}

pub async fn revoke_family(conn: &mut AsyncPgConnection, family_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await
}

pub async fn revoke_all_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await
}
