use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::users::Role;
use crate::db::models::{goals, session_notes};
use crate::db::pagination::{Cursor, PageRequest};
use crate::db::schema::{pairings, participants};
use crate::db::scope::{self, pairing_is_current, Scope};

crate::text_enum! {
    /// A pairing's state: proposed, active and paused pairings are *current*.
    pub enum PairingStatus {
        Proposed => "proposed",
        Active => "active",
        Paused => "paused",
        Ended => "ended",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pairings)]
pub struct Pairing {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub coach_id: Uuid,
    pub status: PairingStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct PairingFilter {
    pub participant_id: Option<Uuid>,
    pub coach_id: Option<Uuid>,
    pub status: Option<PairingStatus>,
}

type Boxed<'a> = pairings::BoxedQuery<'a, Pg>;

/// The pairings `scope` may see: the organization's for admins and supervisors, their own
/// current ones for coaches, their own for participants.
pub fn visible<'a>(scope: Scope) -> Boxed<'a> {
    let query = pairings::table
        .filter(pairings::organization_id.eq(scope.organization_id))
        .into_boxed();
    match scope.role {
        Role::Admin | Role::Supervisor => query,
        Role::Coach => query
            .filter(pairings::coach_id.eq(scope.user_id))
            .filter(pairing_is_current()),
        Role::Participant => {
            query.filter(pairings::participant_id.eq_any(scope::participant_ids(scope)))
        }
    }
}

pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<Pairing> {
    visible(scope)
        .filter(pairings::id.eq(id))
        .select(Pairing::as_select())
        .first(conn)
        .await
}

pub async fn lock_in_org(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Pairing> {
    pairings::table
        .filter(pairings::organization_id.eq(organization_id))
        .filter(pairings::id.eq(id))
        .select(Pairing::as_select())
        .for_update()
        .first(conn)
        .await
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    filter: &PairingFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Pairing>> {
    let mut query = visible(scope)
        .select(Pairing::as_select())
        .order(pairings::id.asc())
        .limit(page.fetch_limit());
    if let Some(participant_id) = filter.participant_id {
        query = query.filter(pairings::participant_id.eq(participant_id));
    }
    if let Some(coach_id) = filter.coach_id {
        query = query.filter(pairings::coach_id.eq(coach_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(pairings::status.eq(status));
    }
    if let Some(Cursor::After(after)) = page.cursor {
        query = query.filter(pairings::id.gt(after));
    }
    query.load(conn).await
}

/// The participant's current pairing, locked.
pub async fn lock_current_for_participant(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
) -> QueryResult<Option<Pairing>> {
    pairings::table
        .filter(pairings::participant_id.eq(participant_id))
        .filter(pairing_is_current())
        .select(Pairing::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// A coach's current pairings, locked, optionally only those of the listed participants.
pub async fn lock_current_for_coach(
    conn: &mut AsyncPgConnection,
    coach_id: Uuid,
    participant_ids: Option<&[Uuid]>,
) -> QueryResult<Vec<Pairing>> {
    let current: Vec<Pairing> = pairings::table
        .filter(pairings::coach_id.eq(coach_id))
        .filter(pairing_is_current())
        .select(Pairing::as_select())
        .order(pairings::id.asc())
        .for_update()
        .load(conn)
        .await?;
    Ok(match participant_ids {
        Some(ids) => current
            .into_iter()
            .filter(|pairing| ids.contains(&pairing.participant_id))
            .collect(),
        None => current,
    })
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    participant_id: Uuid,
    coach_id: Uuid,
    status: PairingStatus,
    created_by: Uuid,
) -> QueryResult<Pairing> {
    let now = Utc::now();
    diesel::insert_into(pairings::table)
        .values((
            pairings::id.eq(Uuid::now_v7()),
            pairings::organization_id.eq(organization_id),
            pairings::participant_id.eq(participant_id),
            pairings::coach_id.eq(coach_id),
            pairings::status.eq(status),
            pairings::started_at.eq((status == PairingStatus::Active).then_some(now)),
            pairings::created_by.eq(created_by),
        ))
        .returning(Pairing::as_returning())
        .get_result(conn)
        .await
}

pub async fn set_status(
    conn: &mut AsyncPgConnection,
    pairing: &Pairing,
    status: PairingStatus,
) -> QueryResult<Pairing> {
    let now = Utc::now();
    let started_at = match (pairing.started_at, status) {
        (None, PairingStatus::Active) => Some(now),
        (existing, _) => existing,
    };
    let ended_at = (status == PairingStatus::Ended).then_some(now);
    diesel::update(pairings::table.find(pairing.id))
        .set((
            pairings::status.eq(status),
            pairings::started_at.eq(started_at),
            pairings::ended_at.eq(ended_at),
            pairings::updated_at.eq(now),
        ))
        .returning(Pairing::as_returning())
        .get_result(conn)
        .await
}

/// A row of a coach's caseload: the pairing and who it is with.
#[derive(Debug, Clone, Queryable)]
pub struct CaseloadRow {
    pub pairing: Pairing,
    pub first_name: String,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub next_follow_up_due: Option<chrono::NaiveDate>,
    pub open_goal_count: i64,
}

/// A coach's current pairings with the participants' names and contact dates, by pairing id:
/// only participants `scope` may see; with `no_contact_since`, only those whose last contact
/// (or, never contacted, whose pairing) is older.
pub async fn caseload(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    coach_id: Uuid,
    no_contact_since: Option<DateTime<Utc>>,
    page: &PageRequest,
) -> QueryResult<Vec<CaseloadRow>> {
    let mut query = pairings::table
        .inner_join(participants::table)
        .filter(pairings::organization_id.eq(scope.organization_id))
        .filter(pairings::coach_id.eq(coach_id))
        .filter(pairing_is_current())
        .filter(participants::id.eq_any(scope::participant_ids(scope)))
        .select((
            Pairing::as_select(),
            participants::first_name,
            participants::last_name,
            participants::preferred_name,
            session_notes::last_contact_at(),
            session_notes::next_follow_up_due(),
            goals::open_goal_count(),
        ))
        .order(pairings::id.asc())
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(since) = no_contact_since {
        query = query.filter(session_notes::contact_or_paired_at().lt(since));
    }
    if let Some(Cursor::After(after)) = page.cursor {
        query = query.filter(pairings::id.gt(after));
    }
    query.load(conn).await
}
