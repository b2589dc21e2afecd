use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::pagination::{Cursor, PageRequest};
use crate::db::schema::users;

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

/// `email` must already be normalised (see [`crate::http::validation::normalize_email`]).
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

/// What an access token says of its user. It speaks for them only while the account is
/// active and still has this organization, role and token version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub role: Role,
    pub token_version: i32,
}

/// The accounts `session` still speaks for: its user's, or none.
pub fn live(session: Session) -> users::BoxedQuery<'static, diesel::pg::Pg> {
    users::table
        .filter(users::id.eq(session.user_id))
        .filter(users::organization_id.eq(session.organization_id))
        .filter(users::role.eq(session.role))
        .filter(users::active)
        .filter(users::token_version.eq(session.token_version))
        .into_boxed()
}

/// Whether `session` still speaks for its user.
pub async fn is_live(conn: &mut AsyncPgConnection, session: Session) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(live(session)))
        .get_result(conn)
        .await
}
