//! Session notes and their amendments, and who may read them.
//!
//! Every read goes through [`visible`]: the caller's participants (`scope::participant_ids`)
//! and, among their notes, the visibility tiers the caller's role may read.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::fragment::Fragment;
use crate::db::models::goals;
use crate::db::models::users::Role;
use crate::db::pagination::PageRequest;
use crate::db::schema::{
    goals as goals_table, participants, session_note_amendments, session_notes, users,
};
use crate::db::scope::{self, Scope};

crate::text_enum! {
    /// What kind of session the note records.
    pub enum SessionType {
        Individual => "individual",
        Group => "group",
        Phone => "phone",
        Video => "video",
        Text => "text",
        Outreach => "outreach",
        CareCoordination => "care_coordination",
        Discharge => "discharge",
    }
}

crate::text_enum! {
    /// Who may read a note. `care_team`: its author, the participant's current coach,
    /// supervisors and admins. `participant`: the same and the participant. `restricted`:
    /// its author and supervisors only.
    pub enum Visibility {
        CareTeam => "care_team",
        Participant => "participant",
        Restricted => "restricted",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = session_notes)]
pub struct SessionNote {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub author_id: Uuid,
    pub session_type: SessionType,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub summary: String,
    pub body: Option<String>,
    pub visibility: Visibility,
    pub goal_ids: Vec<Uuid>,
    pub mood: Option<i32>,
    pub craving: Option<i32>,
    pub follow_up: Option<String>,
    pub follow_up_due: Option<NaiveDate>,
    pub signed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = session_notes)]
pub struct NewSessionNote {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub author_id: Uuid,
    pub session_type: SessionType,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub summary: String,
    pub body: Option<String>,
    pub visibility: Visibility,
    pub goal_ids: Vec<Uuid>,
    pub mood: Option<i32>,
    pub craving: Option<i32>,
    pub follow_up: Option<String>,
    pub follow_up_due: Option<NaiveDate>,
}

/// Changes to an unsigned note; `Some(None)` clears an optional field.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = session_notes)]
pub struct SessionNoteChanges {
    pub session_type: Option<SessionType>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    pub summary: Option<String>,
    pub body: Option<Option<String>>,
    pub visibility: Option<Visibility>,
    pub goal_ids: Option<Vec<Uuid>>,
    pub mood: Option<Option<i32>>,
    pub craving: Option<Option<i32>>,
    pub follow_up: Option<Option<String>>,
    pub follow_up_due: Option<Option<NaiveDate>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// An amendment with its author's name.
#[derive(Debug, Clone, Queryable)]
pub struct Amendment {
    pub id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    pub body: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct NoteFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub session_type: Option<SessionType>,
}

/// Where the previous page of a list ended: the last note's `occurred_at` and id.
#[derive(Debug, Clone, Copy)]
pub struct After {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
}

type Boxed<'a> = session_notes::BoxedQuery<'a, Pg>;

/// The notes `scope` may read: notes of the caller's participants (so a former coach reads
/// none, not even their own), among them their own notes and the tiers their role reads.
/// Integration clients never reach this: their tokens are refused before any note query.
pub fn visible<'a>(scope: Scope) -> Boxed<'a> {
    let query = session_notes::table
        .filter(session_notes::organization_id.eq(scope.organization_id))
        .filter(session_notes::participant_id.eq_any(scope::participant_ids(scope)))
        .into_boxed();
    let own = session_notes::author_id.eq(scope.user_id);
    match scope.role {
        Role::Supervisor => query,
        Role::Admin | Role::Coach => query.filter(not_restricted().or(own)),
        Role::Participant => query.filter(shared_with_participant()),
    }
}

/// Literals, so the planner sees the constants (see `scope::pairing_is_current`).
fn not_restricted() -> Fragment<Bool> {
    Fragment::new("session_notes.visibility <> 'restricted'")
}

fn shared_with_participant() -> Fragment<Bool> {
    Fragment::new("session_notes.visibility = 'participant'")
}

pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<SessionNote> {
    visible(scope)
        .filter(session_notes::id.eq(id))
        .select(SessionNote::as_select())
        .first(conn)
        .await
}

/// The note visible to `scope`, locked for a change in the current transaction and read as
/// it is once locked. (A boxed query cannot lock, so the row is locked by id within the
/// organization first, then read through the scope; a note the caller cannot see is
/// `NotFound` either way.)
pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<SessionNote> {
    session_notes::table
        .filter(session_notes::id.eq(id))
        .filter(session_notes::organization_id.eq(scope.organization_id))
        .select(session_notes::id)
        .for_update()
        .first::<Uuid>(conn)
        .await?;
    find_visible(conn, scope, id).await
}

/// One participant's notes visible to `scope`, newest first (`occurred_at`, then id).
pub async fn list(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    filter: &NoteFilter,
    page: &PageRequest,
    after: Option<After>,
) -> QueryResult<Vec<SessionNote>> {
    let mut query = visible(scope)
        .filter(session_notes::participant_id.eq(participant_id))
        .select(SessionNote::as_select())
        .order((session_notes::occurred_at.desc(), session_notes::id.desc()))
        .limit(page.fetch_limit());
    if let Some(from) = filter.from {
        query = query.filter(session_notes::occurred_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(session_notes::occurred_at.le(to));
    }
    if let Some(session_type) = filter.session_type {
        query = query.filter(session_notes::session_type.eq(session_type));
    }
    if let Some(after) = after {
        // `occurred_at <= x` bounds the index scan; the rest breaks ties by id.
        query = query
            .filter(session_notes::occurred_at.le(after.occurred_at))
            .filter(
                session_notes::occurred_at
                    .lt(after.occurred_at)
                    .or(session_notes::id.lt(after.id)),
            );
    }
    query.load(conn).await
}

/// Inserts `new` in one statement, only for a participant `scope` may see, and only when
/// every one of its `goal_ids` is a goal of that participant: `NotFound` (nothing inserted)
/// otherwise. The scope check is the insert's own `SELECT … FROM participants WHERE …`.
pub async fn insert_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    new: &NewSessionNote,
) -> QueryResult<SessionNote> {
    use diesel::sql_types::{Array, Int4, Text, Uuid as SqlUuid};
    let mut participant =
        scope::participants(scope).filter(participants::id.eq(new.participant_id));
    let goal_count = new.goal_ids.iter().collect::<HashSet<_>>().len();
    if goal_count > 0 {
        let of_participant = goals_table::table
            .filter(goals_table::participant_id.eq(new.participant_id))
            .filter(goals_table::id.eq_any(&new.goal_ids))
            .count()
            .single_value();
        participant = participant.filter(of_participant.eq(goal_count as i64));
    }
    let values = participant.select((
        new.id.into_sql::<SqlUuid>(),
        participants::organization_id,
        participants::id,
        new.author_id.into_sql::<SqlUuid>(),
        new.session_type.into_sql::<Text>(),
        new.occurred_at.into_sql::<Timestamptz>(),
        new.duration_minutes.into_sql::<Int4>(),
        (&new.summary).into_sql::<Text>(),
        (&new.body).into_sql::<Nullable<Text>>(),
        new.visibility.into_sql::<Text>(),
        (&new.goal_ids).into_sql::<Array<SqlUuid>>(),
        new.mood.into_sql::<Nullable<Int4>>(),
        new.craving.into_sql::<Nullable<Int4>>(),
        (&new.follow_up).into_sql::<Nullable<Text>>(),
        new.follow_up_due.into_sql::<Nullable<Date>>(),
    ));
    diesel::insert_into(session_notes::table)
        .values(values)
        .into_columns((
            session_notes::id,
            session_notes::organization_id,
            session_notes::participant_id,
            session_notes::author_id,
            session_notes::session_type,
            session_notes::occurred_at,
            session_notes::duration_minutes,
            session_notes::summary,
            session_notes::body,
            session_notes::visibility,
            session_notes::goal_ids,
            session_notes::mood,
            session_notes::craving,
            session_notes::follow_up,
            session_notes::follow_up_due,
        ))
        .returning(SessionNote::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &SessionNoteChanges,
) -> QueryResult<SessionNote> {
    diesel::update(session_notes::table.find(id))
        .set(changes)
        .returning(SessionNote::as_returning())
        .get_result(conn)
        .await
}

/// Signs (locks) a note.
pub async fn sign(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<SessionNote> {
    let now = Utc::now();
    diesel::update(session_notes::table.find(id))
        .set((
            session_notes::signed_at.eq(now),
            session_notes::updated_at.eq(now),
        ))
        .returning(SessionNote::as_returning())
        .get_result(conn)
        .await
}

/// The amendments of a note the caller has been allowed to see, oldest first.
pub async fn amendments(
    conn: &mut AsyncPgConnection,
    note_id: Uuid,
) -> QueryResult<Vec<Amendment>> {
    session_note_amendments::table
        .inner_join(users::table)
        .filter(session_note_amendments::note_id.eq(note_id))
        .order((
            session_note_amendments::created_at.asc(),
            session_note_amendments::id.asc(),
        ))
        .select((
            session_note_amendments::id,
            session_note_amendments::author_id,
            users::display_name,
            session_note_amendments::body,
            session_note_amendments::reason,
            session_note_amendments::created_at,
        ))
        .load(conn)
        .await
}

pub async fn add_amendment(
    conn: &mut AsyncPgConnection,
    note_id: Uuid,
    author_id: Uuid,
    body: &str,
    reason: &str,
) -> QueryResult<Uuid> {
    diesel::insert_into(session_note_amendments::table)
        .values((
            session_note_amendments::id.eq(Uuid::now_v7()),
            session_note_amendments::note_id.eq(note_id),
            session_note_amendments::author_id.eq(author_id),
            session_note_amendments::body.eq(body),
            session_note_amendments::reason.eq(reason),
        ))
        .returning(session_note_amendments::id)
        .get_result(conn)
        .await
}

/// The note an amendment belongs to.
pub async fn note_of_amendment(
    conn: &mut AsyncPgConnection,
    amendment_id: Uuid,
) -> QueryResult<Uuid> {
    session_note_amendments::table
        .find(amendment_id)
        .select(session_note_amendments::note_id)
        .first(conn)
        .await
}

/// The ids of `goal_ids` that are not goals of the participant (a note may only name the
/// participant's own goals).
pub async fn foreign_goals(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    goal_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    goals::not_of_participant(conn, participant_id, goal_ids).await
}

/// When a participant was last in a session, over all their notes (whatever the tier: a
/// restricted session is still contact), for a query over `participants`.
pub fn last_contact_at() -> Fragment<Nullable<Timestamptz>> {
    Fragment::new(
        "greatest((SELECT max(n.occurred_at) FROM session_notes n \
         WHERE n.participant_id = participants.id), \
         tandem_last_group_contact(participants.id))",
    )
}

/// The earliest `follow_up_due` of a participant's notes that is today (UTC) or later.
pub fn next_follow_up_due() -> Fragment<Nullable<Date>> {
    Fragment::new(
        "(SELECT min(n.follow_up_due) FROM session_notes n \
         WHERE n.participant_id = participants.id \
         AND n.follow_up_due >= (now() AT TIME ZONE 'UTC')::date)",
    )
}

/// The last contact, or when the pairing was made for a participant never contacted: what
/// `no_contact_days` compares, for a query over `participants` joined with `pairings`.
pub fn contact_or_paired_at() -> Fragment<Timestamptz> {
    Fragment::new(
        "coalesce(greatest((SELECT max(n.occurred_at) FROM session_notes n \
         WHERE n.participant_id = participants.id), \
         tandem_last_group_contact(participants.id)), pairings.created_at)",
    )
}
