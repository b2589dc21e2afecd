use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::pairings::PairingStatus;
use crate::db::models::status_changes;
use crate::db::models::users::User;
use crate::db::pagination::{Cursor, PageRequest};
use crate::db::schema::{pairings, participants, users};
use crate::db::scope::{self, pairing_is_current, Scope};

crate::text_enum! {
    /// Where a participant is in the program.
    pub enum ParticipantStatus {
        Active => "active",
        Inactive => "inactive",
        Discharged => "discharged",
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

/// The participant's current pairing, if any.
#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct CurrentPairing {
    pub pairing_id: Uuid,
    pub coach_id: Uuid,
    pub status: PairingStatus,
    pub coach_display_name: String,
}

/// A participant visible to `scope`, with their current pairing and coach and their status
/// history (see `status_changes::history_json!`), in one query.
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<(Participant, Option<CurrentPairing>, serde_json::Value)> {
    participants::table
        .left_join(
            pairings::table.on(pairings::participant_id
                .eq(participants::id)
                .and(pairing_is_current())),
        )
        .left_join(users::table.on(users::id.eq(pairings::coach_id)))
        .filter(participants::id.eq(id))
        .filter(participants::id.eq_any(scope::participant_ids(scope)))
        .select((
            Participant::as_select(),
            (
                pairings::id,
                pairings::coach_id,
                pairings::status,
                users::display_name,
            )
                .nullable(),
            status_changes::history_json!("participants.id"),
        ))
        .first(conn)
        .await
}

/// The current pairing of a participant the caller has already been allowed to see.
pub async fn current_pairing(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
) -> QueryResult<Option<CurrentPairing>> {
    pairings::table
        .inner_join(users::table.on(users::id.eq(pairings::coach_id)))
        .filter(pairings::participant_id.eq(participant_id))
        .filter(pairing_is_current())
        .select((
            pairings::id,
            pairings::coach_id,
            pairings::status,
            users::display_name,
        ))
        .first(conn)
        .await
        .optional()
}

/// The participant visible to `scope`, locked for an update in the current transaction and
/// returned as it is once locked.
pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<Participant> {
    participants::table
        .filter(participants::id.eq(id))
        .filter(participants::id.eq_any(scope::participant_ids(scope)))
        .select(Participant::as_select())
        .for_update()
        .first(conn)
        .await
}

diesel::define_sql_function! {
    /// Lower case without accents, as `participants.search_text` is stored (see the migration).
    fn tandem_fold(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    filter: &ParticipantFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Participant>> {
    let mut query = scope::participants(scope)
        .select(Participant::as_select())
        .order(participants::id.asc())
        .limit(page.fetch_limit());
    if let Some(q) = &filter.q {
        let pattern = format!("%{}%", escape_like(q));
        query = query.filter(participants::search_text.like(tandem_fold(pattern).nullable()));
    }
    if let Some(status) = filter.status {
        query = query.filter(participants::status.eq(status));
    }
    let paired = pairings::table
        .filter(pairings::participant_id.eq(participants::id))
        .filter(pairing_is_current());
    match filter.unassigned {
        Some(true) => query = query.filter(not(exists(paired))),
        Some(false) => query = query.filter(exists(paired)),
        None => {}
    }
    if let Some(coach_id) = filter.coach_id {
        query = query.filter(exists(
            pairings::table
                .filter(pairings::participant_id.eq(participants::id))
                .filter(pairings::coach_id.eq(coach_id))
                .filter(pairing_is_current()),
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

pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: ParticipantStatus,
) -> QueryResult<Participant> {
    let changes = ParticipantChanges {
        status: Some(status),
        updated_at: Some(Utc::now()),
        ..ParticipantChanges::default()
    };
    update(conn, id, &changes).await
}

/// Links the participant to their portal login.
pub async fn link_login(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user_id: Uuid,
) -> QueryResult<Participant> {
    let changes = ParticipantChanges {
        user_id: Some(Some(user_id)),
        updated_at: Some(Utc::now()),
        ..ParticipantChanges::default()
    };
    update(conn, id, &changes).await
}

/// The portal login of a participant visible to `scope`.
pub async fn portal_login(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    id: Uuid,
) -> QueryResult<User> {
    users::table
        .inner_join(participants::table.on(participants::user_id.eq(users::id.nullable())))
        .filter(users::id.eq(id))
        .filter(participants::id.eq(participant_id))
        .filter(participants::id.eq_any(scope::participant_ids(scope)))
        .select(User::as_select())
        .first(conn)
        .await
}
