//! The progress log of a goal: dated notes, each with an optional percentage. Append-only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::pagination::{Cursor, PageRequest};
use crate::db::schema::goal_progress;
use crate::db::scope::{self, Scope};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = goal_progress)]
pub struct ProgressEntry {
    pub id: Uuid,
    pub goal_id: Uuid,
    pub participant_id: Uuid,
    pub note: String,
    pub percent_complete: Option<i32>,
    pub author_id: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = goal_progress)]
pub struct NewProgressEntry {
    pub id: Uuid,
    pub goal_id: Uuid,
    pub participant_id: Uuid,
    pub note: String,
    pub percent_complete: Option<i32>,
    pub author_id: Uuid,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewProgressEntry,
) -> QueryResult<ProgressEntry> {
    diesel::insert_into(goal_progress::table)
        .values(new)
        .returning(ProgressEntry::as_returning())
        .get_result(conn)
        .await
}

/// One entry of a goal, visible to `scope`.
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    goal_id: Uuid,
    id: Uuid,
) -> QueryResult<ProgressEntry> {
    goal_progress::table
        .filter(goal_progress::id.eq(id))
        .filter(goal_progress::goal_id.eq(goal_id))
        .filter(goal_progress::participant_id.eq_any(scope::participant_ids(scope)))
        .select(ProgressEntry::as_select())
        .first(conn)
        .await
}

/// The entries of a goal of `participant_id` visible to `scope`, newest first. Naming the
/// participant lets the planner read the goal's index in order instead of sorting its log.
pub async fn list(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    goal_id: Uuid,
    page: &PageRequest,
) -> QueryResult<Vec<ProgressEntry>> {
    let mut query = goal_progress::table
        .filter(goal_progress::goal_id.eq(goal_id))
        .filter(goal_progress::participant_id.eq(participant_id))
        .filter(goal_progress::participant_id.eq_any(scope::participant_ids(scope)))
        .select(ProgressEntry::as_select())
        .order(goal_progress::id.desc())
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(Cursor::After(after)) = page.cursor {
        query = query.filter(goal_progress::id.lt(after));
    }
    query.load(conn).await
}

/// The newest entry of a goal the caller has already been allowed to see.
pub async fn latest(
    conn: &mut AsyncPgConnection,
    goal_id: Uuid,
) -> QueryResult<Option<ProgressEntry>> {
    goal_progress::table
        .filter(goal_progress::goal_id.eq(goal_id))
        .select(ProgressEntry::as_select())
        .order(goal_progress::id.desc())
        .first(conn)
        .await
        .optional()
}
