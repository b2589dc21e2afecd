use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::{exists, not};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::{AuthUser, Role};
use crate::db::schema::{pairings, participants};
use crate::pagination::{Cursor, PageRequest};

crate::text_enum! {
    /// Where a participant is in the program.
    pub enum ParticipantStatus {
        Active => "active",
        Inactive => "inactive",
        Discharged => "discharged",
    }
}

impl ParticipantStatus {
    /// The statuses a participant may move to from this one.
    pub fn allowed_next(self) -> &'static [Self] {
        match self {
            Self::Active => &[Self::Inactive, Self::Discharged],
            Self::Inactive => &[Self::Active, Self::Discharged],
            Self::Discharged => &[Self::Active],
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participants)]
pub struct Participant {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub user_id: Option<Uuid>,
    pub first_name: String,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub pronouns: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    pub recovery_pathways: Vec<String>,
    pub needs: Vec<String>,
    pub intake_date: Option<NaiveDate>,
    pub status: ParticipantStatus,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = participants)]
pub struct NewParticipant {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub pronouns: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    pub recovery_pathways: Vec<String>,
    pub needs: Vec<String>,
    pub intake_date: Option<NaiveDate>,
    pub created_by: Option<Uuid>,
}

/// Changes to a participant; `Some(None)` clears an optional field.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = participants)]
pub struct ParticipantChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub preferred_name: Option<Option<String>>,
    pub pronouns: Option<Option<String>>,
    pub date_of_birth: Option<Option<NaiveDate>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub preferred_language: Option<Option<String>>,
    pub recovery_pathways: Option<Vec<String>>,
    pub needs: Option<Vec<String>>,
    pub intake_date: Option<Option<NaiveDate>>,
    pub status: Option<ParticipantStatus>,
    pub user_id: Option<Option<Uuid>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
pub struct ParticipantFilter {
    /// Already folded (lower case, accents removed) by the database function on use.
    pub q: Option<String>,
    pub status: Option<ParticipantStatus>,
    pub unassigned: Option<bool>,
    pub coach_id: Option<Uuid>,
}

type Boxed<'a> = participants::BoxedQuery<'a, Pg>;

/// The participants `caller` may see. Every participant read starts here, so a forgotten
/// check yields an empty result, never someone else's record.
pub fn visible<'a>(caller: &AuthUser) -> Boxed<'a> {
    let query = participants::table
        .filter(participants::organization_id.eq(caller.organization_id))
        .into_boxed();
    match caller.role {
        Role::Admin | Role::Supervisor => query,
        Role::Coach => query.filter(exists(
            pairings::table
                .filter(pairings::participant_id.eq(participants::id))
                .filter(pairings::coach_id.eq(caller.id))
                .filter(pairings::status.ne("ended")),
        )),
        Role::Participant => query.filter(participants::user_id.eq(caller.id)),
    }
}

pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    caller: &AuthUser,
    id: Uuid,
) -> QueryResult<Participant> {
    visible(caller)
        .filter(participants::id.eq(id))
        .select(Participant::as_select())
        .first(conn)
        .await
}

/// Like [`find_visible`], then locks the row for an update in the current transaction and
/// returns it as it is once locked.
pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    caller: &AuthUser,
    id: Uuid,
) -> QueryResult<Participant> {
    find_visible(conn, caller, id).await?;
    participants::table
        .find(id)
        .select(Participant::as_select())
        .for_update()
        .first(conn)
        .await
}

/// A participant of the organization, locked, regardless of caseloads (for staff who may
/// act on any participant of their organization).
pub async fn lock_in_org(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Participant>> {
    participants::table
        .filter(participants::organization_id.eq(organization_id))
        .filter(participants::id.eq(id))
        .select(Participant::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &AuthUser,
    filter: &ParticipantFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Participant>> {
    let mut query = visible(caller)
        .select(Participant::as_select())
        .order(participants::id.asc())
        .limit(page.fetch_limit());
    if let Some(q) = &filter.q {
        let pattern = format!("%{}%", escape_like(q));
        query = query.filter(
            participants::search_text.like(
                diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
                    "tandem_fold(",
                )
                .bind::<diesel::sql_types::Text, _>(pattern)
                .sql(")"),
            ),
        );
    }
    if let Some(status) = filter.status {
        query = query.filter(participants::status.eq(status));
    }
    let current_pairing = pairings::table
        .filter(pairings::participant_id.eq(participants::id))
        .filter(pairings::status.ne("ended"));
    match filter.unassigned {
        Some(true) => query = query.filter(not(exists(current_pairing))),
        Some(false) => query = query.filter(exists(current_pairing)),
        None => {}
    }
    if let Some(coach_id) = filter.coach_id {
        query = query.filter(exists(
            pairings::table
                .filter(pairings::participant_id.eq(participants::id))
                .filter(pairings::coach_id.eq(coach_id))
                .filter(pairings::status.ne("ended")),
        ));
    }
    if let Some(Cursor::After(after)) = page.cursor {
        query = query.filter(participants::id.gt(after));
    }
    query.load(conn).await
}

/// `%` and `_` in a search term match themselves.
fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewParticipant,
) -> QueryResult<Participant> {
    diesel::insert_into(participants::table)
        .values(new)
        .returning(Participant::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &ParticipantChanges,
) -> QueryResult<Participant> {
    diesel::update(participants::table.find(id))
        .set(changes)
        .returning(Participant::as_returning())
        .get_result(conn)
        .await
}
