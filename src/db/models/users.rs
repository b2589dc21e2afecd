use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::users;
use crate::pagination::{Cursor, PageRequest};

crate::text_enum! {
    /// A user's role in their organization.
    pub enum Role {
        Admin => "admin",
        Supervisor => "supervisor",
        Coach => "coach",
        Participant => "participant",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub active: bool,
    pub token_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

/// The fields an admin may change. `token_version` is bumped by the caller when needed.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub token_version: Option<i32>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Filters for listing users.
#[derive(Debug, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new_user: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new_user)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// `email` must already be normalised (see [`crate::validation::normalize_email`]).
pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// A user of `organization_id`; users of other organizations are invisible.
pub async fn find_in_org(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<User> {
    users::table
        .filter(users::id.eq(id))
        .filter(users::organization_id.eq(organization_id))
        .select(User::as_select())
        .first(conn)
        .await
}

/// Like [`find_in_org`], but locks the row for an update in the current transaction.
pub async fn lock_in_org(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<User> {
    users::table
        .filter(users::id.eq(id))
        .filter(users::organization_id.eq(organization_id))
        .select(User::as_select())
        .for_update()
        .first(conn)
        .await
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: &UserFilter,
    page: &PageRequest,
) -> QueryResult<Vec<User>> {
    let mut query = users::table
        .filter(users::organization_id.eq(organization_id))
        .select(User::as_select())
        .order(users::id.asc())
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(Cursor::After(after)) = page.cursor {
        query = query.filter(users::id.gt(after));
    }
    query.load(conn).await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &UserChanges,
) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set(changes)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// The live state of a token's subject, checked on every authenticated request.
pub async fn session_state(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<(Uuid, Role, bool, i32)>> {
    users::table
        .find(id)
        .select((
            users::organization_id,
            users::role,
            users::active,
            users::token_version,
        ))
        .first(conn)
        .await
        .optional()
}
