use chrono::{DateTime, NaiveDate, Utc};
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
    /// The IANA time zone its calendar dates are counted in (`UTC` unless set).
    pub time_zone: String,
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

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Organization> {
    organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)
        .await
}

/// Sets the organization's time zone, once PostgreSQL's time zone database knows the name
/// (`None` when it does not).
pub async fn set_time_zone(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    time_zone: &str,
) -> QueryResult<Option<Organization>> {
    let known: bool = diesel::select(diesel::dsl::exists(
        pg_timezone_names::table.filter(pg_timezone_names::name.eq(time_zone)),
    ))
    .get_result(conn)
    .await?;
    if !known {
        return Ok(None);
    }
    diesel::update(organizations::table.find(id))
        .set(organizations::time_zone.eq(time_zone))
        .returning(Organization::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The calendar date now in the organization's time zone: what "today" is for its follow-up
/// schedules.
pub async fn today(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<NaiveDate> {
    diesel::sql_query(
        "SELECT (now() AT TIME ZONE time_zone)::date AS today FROM organizations WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .get_result::<Today>(conn)
    .await
    .map(|row| row.today)
}

#[derive(QueryableByName)]
struct Today {
    #[diesel(sql_type = diesel::sql_types::Date)]
    today: NaiveDate,
}

diesel::table! {
    /// PostgreSQL's view of the time zones it knows.
    pg_timezone_names (name) {
        name -> Text,
    }
}
