//! Action items: the concrete steps towards a goal.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::action_items;
use crate::db::scope::{self, Scope};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = action_items)]
pub struct ActionItem {
    pub id: Uuid,
    pub goal_id: Uuid,
    pub participant_id: Uuid,
    pub title: String,
    pub due_date: Option<NaiveDate>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = action_items)]
pub struct NewActionItem {
    pub id: Uuid,
    pub goal_id: Uuid,
    pub participant_id: Uuid,
    pub title: String,
    pub due_date: Option<NaiveDate>,
    pub created_by: Uuid,
}

/// Changes to an action item; `Some(None)` clears an optional field.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = action_items)]
pub struct ActionItemChanges {
    pub title: Option<String>,
    pub due_date: Option<Option<NaiveDate>>,
    pub completed_at: Option<Option<DateTime<Utc>>>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<ActionItem> {
    action_items::table
        .filter(action_items::id.eq(id))
        .filter(action_items::participant_id.eq_any(scope::participant_ids(scope)))
        .select(ActionItem::as_select())
        .first(conn)
        .await
}

/// The action item visible to `scope`, locked for a change in the current transaction.
pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<ActionItem> {
    action_items::table
        .filter(action_items::id.eq(id))
        .filter(action_items::participant_id.eq_any(scope::participant_ids(scope)))
        .select(ActionItem::as_select())
        .for_update()
        .first(conn)
        .await
}

/// The open action items of a goal the caller has already been allowed to see, oldest first,
/// at most `limit`.
pub async fn open_for_goal(
    conn: &mut AsyncPgConnection,
    goal_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<ActionItem>> {
    action_items::table
        .filter(action_items::goal_id.eq(goal_id))
        .filter(action_items::completed_at.is_null())
        .select(ActionItem::as_select())
        .order(action_items::id.asc())
        .limit(limit)
        .load(conn)
        .await
}

/// How many of a goal's action items are completed.
pub async fn count_completed(conn: &mut AsyncPgConnection, goal_id: Uuid) -> QueryResult<i64> {
    action_items::table
        .filter(action_items::goal_id.eq(goal_id))
        .filter(action_items::completed_at.is_not_null())
        .count()
        .get_result(conn)
        .await
}

/// How many of a goal's action items are open.
pub async fn count_open(conn: &mut AsyncPgConnection, goal_id: Uuid) -> QueryResult<i64> {
    action_items::table
        .filter(action_items::goal_id.eq(goal_id))
        .filter(action_items::completed_at.is_null())
        .count()
        .get_result(conn)
        .await
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewActionItem) -> QueryResult<ActionItem> {
    diesel::insert_into(action_items::table)
        .values(new)
        .returning(ActionItem::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &ActionItemChanges,
) -> QueryResult<ActionItem> {
    diesel::update(action_items::table.find(id))
        .set(changes)
        .returning(ActionItem::as_returning())
        .get_result(conn)
        .await
}
