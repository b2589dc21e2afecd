//! Follow-up interviews: one per point of an episode's schedule (a unique key, so a second
//! for the same point fails however requests race).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::episode_interviews;

crate::text_enum! {
    /// How an interview was held.
    pub enum InterviewMode {
        InPerson => "in_person",
        Phone => "phone",
        Video => "video",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = episode_interviews)]
pub struct Interview {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub episode_id: Uuid,
    pub participant_id: Uuid,
    pub point: String,
    pub conducted_on: NaiveDate,
    pub conducted_by_name: Option<String>,
    pub mode: InterviewMode,
    pub declined: bool,
    pub assessment_id: Option<Uuid>,
    pub late_reason: Option<String>,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Records `interview`; `None` when its point has one already.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    interview: &Interview,
) -> QueryResult<Option<Interview>> {
    let inserted = diesel::insert_into(episode_interviews::table)
        .values(interview)
        .returning(Interview::as_returning())
        .get_result(conn)
        .await;
    match inserted {
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
        other => other.map(Some),
    }
}

/// The interviews of episode `episode_id`, oldest first.
pub async fn of_episode(
    conn: &mut AsyncPgConnection,
    episode_id: Uuid,
) -> QueryResult<Vec<Interview>> {
    episode_interviews::table
        .filter(episode_interviews::episode_id.eq(episode_id))
        .order(episode_interviews::conducted_on)
        .select(Interview::as_select())
        .load(conn)
        .await
}
