//! Episodes of care: each enrolment of a participant, from its start to its end. A
//! participant has at most one open episode (a unique index, so two racing opens cannot both
//! succeed).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::episodes;
use crate::db::scope::{self, Scope};

crate::text_enum! {
    /// Why an episode ended.
    pub enum EndReason {
        Completed => "completed",
        Disengaged => "disengaged",
        Transferred => "transferred",
        Incarcerated => "incarcerated",
        Deceased => "deceased",
        Other => "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = episodes)]
pub struct Episode {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<EndReason>,
    pub end_note: Option<String>,
    pub program: Option<String>,
    pub grant_id: Option<String>,
    pub site_id: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = episodes)]
pub struct NewEpisode {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub started_on: NaiveDate,
    pub program: Option<String>,
    pub grant_id: Option<String>,
    pub site_id: Option<String>,
    pub created_by: Option<Uuid>,
}

/// How an episode ends.
#[derive(Debug, Clone)]
pub struct Ending {
    pub ended_on: NaiveDate,
    pub reason: EndReason,
    pub note: Option<String>,
}

/// Opens `new`; `None` when the participant has an open episode already.
pub async fn open(conn: &mut AsyncPgConnection, new: &NewEpisode) -> QueryResult<Option<Episode>> {
    let inserted = diesel::insert_into(episodes::table)
        .values(new)
        .returning(Episode::as_returning())
        .get_result(conn)
        .await;
    match inserted {
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
            if info.constraint_name() == Some("episodes_one_open_idx") =>
        {
            Ok(None)
        }
        other => other.map(Some),
    }
}

pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<Episode> {
    episodes::table
        .filter(episodes::id.eq(id))
        .filter(episodes::participant_id.eq_any(scope::participant_ids(scope)))
        .select(Episode::as_select())
        .first(conn)
        .await
}

pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<Episode> {
    episodes::table
        .filter(episodes::id.eq(id))
        .filter(episodes::participant_id.eq_any(scope::participant_ids(scope)))
        .select(Episode::as_select())
        .for_update()
        .first(conn)
        .await
}

/// A page of the participant's episodes, latest start first (`before`: after this episode
/// of the page before).
pub async fn list(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    before: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<Episode>> {
    let mut query = episodes::table
        .filter(episodes::participant_id.eq(participant_id))
        .select(Episode::as_select())
        .order((episodes::started_on.desc(), episodes::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((started_on, id)) = before {
        query = query.filter(
            episodes::started_on
                .lt(started_on)
                .or(episodes::started_on.eq(started_on).and(episodes::id.lt(id))),
        );
    }
    query.load(conn).await
}

/// The latest end of the participant's closed episodes, if any.
pub async fn last_end(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
) -> QueryResult<Option<NaiveDate>> {
    episodes::table
        .filter(episodes::participant_id.eq(participant_id))
        .select(diesel::dsl::max(episodes::ended_on))
        .get_result(conn)
        .await
}

/// Ends episode `id`.
pub async fn close(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    ending: &Ending,
) -> QueryResult<Episode> {
    diesel::update(episodes::table.find(id))
        .set((
            episodes::ended_on.eq(ending.ended_on),
            episodes::end_reason.eq(ending.reason),
            episodes::end_note.eq(&ending.note),
            episodes::updated_at.eq(Utc::now()),
        ))
        .returning(Episode::as_returning())
        .get_result(conn)
        .await
}

/// Ends the participant's open episode, if they have one, on `ended_on` or its start if that
/// is later (an episode cannot end before it starts).
pub async fn close_open(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    ended_on: NaiveDate,
    reason: EndReason,
    note: &str,
) -> QueryResult<Option<Episode>> {
    let open: Option<Episode> = episodes::table
        .filter(episodes::participant_id.eq(participant_id))
        .filter(episodes::ended_on.is_null())
        .select(Episode::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some(open) = open else {
        return Ok(None);
    };
    let ending = Ending {
        ended_on: ended_on.max(open.started_on),
        reason,
        note: Some(note.to_owned()),
    };
    close(conn, open.id, &ending).await.map(Some)
}
