use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::pagination::Cursor;
use crate::db::schema::assessments;
use crate::db::scope::{self, Scope};

crate::text_enum! {
    /// Who submitted an assessment: the participant themselves or a staff member.
    pub enum SubmittedBy {
        Participant => "participant",
        Staff => "staff",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = assessments)]
pub struct Assessment {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub instrument: String,
    pub answers: Vec<i32>,
    pub total: i32,
    pub taken_at: DateTime<Utc>,
    pub submitted_by: SubmittedBy,
    pub submitted_by_user_id: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = assessments)]
pub struct NewAssessment<'a> {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub instrument: &'a str,
    pub answers: &'a [i32],
    pub total: i32,
    pub taken_at: DateTime<Utc>,
    pub submitted_by: SubmittedBy,
    pub submitted_by_user_id: Uuid,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewAssessment<'_>) -> QueryResult<Uuid> {
    diesel::insert_into(assessments::table)
        .values(new)
        .returning(assessments::id)
        .get_result(conn)
        .await
}

/// An assessment of a participant visible to `scope`.
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<Assessment> {
    assessments::table
        .filter(assessments::id.eq(id))
        .filter(assessments::participant_id.eq_any(scope::participant_ids(scope)))
        .select(Assessment::as_select())
        .first(conn)
        .await
}

/// A page of one participant's assessments of `instrument`, newest taken first. The caller
/// has already found the participant in its scope.
pub async fn list(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    instrument: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<Assessment>> {
    let mut query = assessments::table
        .filter(assessments::participant_id.eq(participant_id))
        .filter(assessments::instrument.eq(instrument.to_owned()))
        .select(Assessment::as_select())
        .order((assessments::taken_at.desc(), assessments::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((taken_at, after)) = after {
        // A row comparison, so the index on (…, taken_at DESC, id DESC) is read from there.
        query = query.filter(
            sql::<Bool>("(assessments.taken_at, assessments.id) < (")
                .bind::<Timestamptz, _>(taken_at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(after)
                .sql(")"),
        );
    }
    query.load(conn).await
}

/// The keyset cursor of a listed assessment.
pub fn cursor_of(assessment: &Assessment) -> Cursor {
    Cursor::AfterKey(assessment.taken_at.to_rfc3339(), assessment.id)
}

/// Where a page starting after `cursor` begins, or `None` when the cursor is not one of
/// [`cursor_of`].
pub fn keyset(cursor: &Cursor) -> Option<(DateTime<Utc>, Uuid)> {
    match cursor {
        Cursor::AfterKey(key, id) => DateTime::parse_from_rfc3339(key)
            .ok()
            .map(|at| (at.with_timezone(&Utc), *id)),
        Cursor::After(_) => None,
    }
}

/// `(total, taken_at)` of the participant's first and latest assessment of `instrument`, by
/// `taken_at` (then id), over all of them.
pub async fn first_and_latest(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    instrument: &str,
) -> QueryResult<Option<(Assessment, Assessment)>> {
    let of_participant = || {
        assessments::table
            .filter(assessments::participant_id.eq(participant_id))
            .filter(assessments::instrument.eq(instrument.to_owned()))
            .select(Assessment::as_select())
    };
    let first = of_participant()
        .order((assessments::taken_at.asc(), assessments::id.asc()))
        .first(conn)
        .await
        .optional()?;
    let latest = of_participant()
        .order((assessments::taken_at.desc(), assessments::id.desc()))
        .first(conn)
        .await
        .optional()?;
    Ok(first.zip(latest))
}
