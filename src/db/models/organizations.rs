use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::organizations;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Organization> {
    diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(Uuid::now_v7()),
            organizations::name.eq(name),
        ))
        .returning(Organization::as_returning())
        .get_result(conn)
        .await
}

pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    organizations::table.count().get_result(conn).await
}

/// Locks the organization's row for the current transaction (NotFound when there is none), so
/// work that fills an organization in does not run twice at once.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Uuid> {
    organizations::table
        .find(id)
        .select(organizations::id)
        .for_update()
        .first(conn)
        .await
}
