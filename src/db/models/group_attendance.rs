//! Who attended a group session: one row per participant on its attendance list.
//!
//! # A participant's latest attended group
//!
//! Attending a group (status `present`) counts as contact with the participant. The latest
//! such time is [`tandem_last_group_contact`], a SQL function of the migration that any query
//! can call on a participant id, e.g. beside a caseload row:
//!
//! ```text
//! .select((Pairing::as_select(), tandem_last_group_contact(participants::id)))
//! ```
//!
//! It reads one entry of the partial index `group_attendance_present_idx`
//! (`(participant_id, occurred_at DESC) WHERE status = 'present'`), so it stays cheap per
//! row. [`last_present_at`] is the same for one participant. Attendance is only recorded for
//! sessions that have taken place (`occurred_at` is never in the future), so the time is
//! always a past contact.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::group_sessions::{After, GroupKind, GroupSession};
use crate::db::schema::participants;
use crate::db::schema::{group_attendance, group_session_facilitators, group_sessions};
use crate::db::scope::{self, Scope};

crate::text_enum! {
    /// Whether the participant came: `present`, `absent` (expected, did not come) or
    /// `excused` (let the group know).
    pub enum AttendanceStatus {
        Present => "present",
        Absent => "absent",
        Excused => "excused",
    }
}

diesel::define_sql_function! {
    /// When the participant last attended a group session (`present`), or NULL.
    fn tandem_last_group_contact(
        participant: diesel::sql_types::Uuid,
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>;
}

/// When `participant_id` last attended a group session (`present`), if ever. The caller
/// has already been allowed to see the participant.
pub async fn last_present_at(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
) -> QueryResult<Option<DateTime<Utc>>> {
    diesel::select(tandem_last_group_contact(participant_id))
        .get_result(conn)
        .await
}

/// An entry of a session's attendance list, with the participant's names.
#[derive(Debug, Clone, Queryable)]
pub struct Attendee {
    pub participant_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub status: AttendanceStatus,
    pub recorded_at: DateTime<Utc>,
}

/// The entries of a session's attendance list that `scope` may see: all of them for
/// supervisors, admins and the session's facilitators; for anyone else only the participants
/// in their scope (a coach's current caseload). By participant id.
pub async fn visible_attendees(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    session_id: Uuid,
) -> QueryResult<Vec<Attendee>> {
    let facilitates = diesel::dsl::exists(
        group_session_facilitators::table
            .filter(group_session_facilitators::group_session_id.eq(session_id))
            .filter(group_session_facilitators::user_id.eq(scope.user_id)),
    );
    group_attendance::table
        .inner_join(participants::table)
        .filter(group_attendance::group_session_id.eq(session_id))
        .filter(group_attendance::organization_id.eq(scope.organization_id))
        .filter(
            group_attendance::participant_id
                .eq_any(scope::participant_ids(scope))
                .or(facilitates),
        )
        .select((
            group_attendance::participant_id,
            participants::first_name,
            participants::last_name,
            participants::preferred_name,
            group_attendance::status,
            group_attendance::recorded_at,
        ))
        .order(group_attendance::participant_id.asc())
        .load(conn)
        .await
}

/// Those of `ids` that `scope` may have on the session's list: participants it may see (for
/// supervisors and admins, the organization's), and those already on the list, who may stay
/// (a facilitator keeps the entries a supervisor added for someone else's caseload).
pub async fn may_list(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    session_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    scope::participant_ids(scope)
        .filter(participants::id.eq_any(ids))
        .union(
            group_attendance::table
                .filter(group_attendance::group_session_id.eq(session_id))
                .filter(group_attendance::participant_id.eq_any(ids))
                .select(group_attendance::participant_id),
        )
        .load(conn)
        .await
}

/// Replaces the session's attendance list with `entries`; returns the participants whose
/// entries were removed. Run it in the transaction that locked the session.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    session: &GroupSession,
    entries: &[(Uuid, AttendanceStatus)],
    recorded_by: Uuid,
) -> QueryResult<Vec<Uuid>> {
    let removed: Vec<Uuid> = diesel::delete(
        group_attendance::table.filter(group_attendance::group_session_id.eq(session.id)),
    )
    .returning(group_attendance::participant_id)
    .get_results(conn)
    .await?;
    let rows: Vec<_> = entries
        .iter()
        .map(|(participant_id, status)| {
            (
                group_attendance::group_session_id.eq(session.id),
                group_attendance::participant_id.eq(*participant_id),
                group_attendance::organization_id.eq(session.organization_id),
                group_attendance::occurred_at.eq(session.occurred_at),
                group_attendance::status.eq(*status),
                group_attendance::recorded_by.eq(recorded_by),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(group_attendance::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(removed
        .into_iter()
        .filter(|id| !entries.iter().any(|(kept, _)| kept == id))
        .collect())
}

/// One session on a participant's attendance record: the session and their own status only.
#[derive(Debug, Clone, Queryable)]
pub struct AttendanceRecord {
    pub group_session_id: Uuid,
    pub title: String,
    pub kind: GroupKind,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub status: AttendanceStatus,
}

/// A page of the sessions the participant is on the attendance list of, newest first
/// (`occurred_at`, then session id), read from `group_attendance_participant_idx`.
pub async fn of_participant(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    after: After,
    fetch_limit: i64,
) -> QueryResult<Vec<AttendanceRecord>> {
    let mut query = group_attendance::table
        .inner_join(group_sessions::table)
        .filter(group_attendance::participant_id.eq(participant_id))
        .filter(group_attendance::participant_id.eq_any(scope::participant_ids(scope)))
        .filter(group_attendance::organization_id.eq(scope.organization_id))
        .select((
            group_attendance::group_session_id,
            group_sessions::title,
            group_sessions::kind,
            group_attendance::occurred_at,
            group_sessions::duration_minutes,
            group_attendance::status,
        ))
        .order((
            group_attendance::occurred_at.desc(),
            group_attendance::group_session_id.desc(),
        ))
        .limit(fetch_limit)
        .into_boxed();
    if let Some((at, id)) = after {
        // `occurred_at <= at` bounds the index scan; the rest breaks ties by session id.
        query = query.filter(group_attendance::occurred_at.le(at)).filter(
            group_attendance::occurred_at
                .lt(at)
                .or(group_attendance::group_session_id.lt(id)),
        );
    }
    query.load(conn).await
}
