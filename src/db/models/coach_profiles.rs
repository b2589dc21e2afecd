use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::fragment::Fragment;
use crate::db::models::users::Role;
use crate::db::pagination::{Cursor, PageRequest};
use crate::db::schema::{coach_profiles, pairings, users};
use crate::db::scope::{pairing_is_current, Scope};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = coach_profiles)]
pub struct CoachProfile {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub max_caseload: i32,
    pub languages: Vec<String>,
    pub specialties: Vec<String>,
    pub lived_experience: Vec<String>,
    pub recovery_pathways: Vec<String>,
    pub bio: Option<String>,
    pub accepting_new: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A coach: profile, account and current caseload size.
#[derive(Debug, Clone)]
pub struct Coach {
    pub profile: CoachProfile,
    pub display_name: String,
    pub email: String,
    pub active: bool,
    pub current_caseload: i64,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = coach_profiles)]
pub struct CoachProfileChanges {
    pub max_caseload: Option<i32>,
    pub languages: Option<Vec<String>>,
    pub specialties: Option<Vec<String>>,
    pub lived_experience: Option<Vec<String>>,
    pub recovery_pathways: Option<Vec<String>>,
    pub bio: Option<Option<String>>,
    pub accepting_new: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
pub struct CoachFilter {
    pub accepting_new: Option<bool>,
    pub language: Option<String>,
    pub active: Option<bool>,
}

/// Creates the profile of a coach if it does not exist yet.
pub async fn ensure(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    organization_id: Uuid,
) -> QueryResult<usize> {
    diesel::insert_into(coach_profiles::table)
        .values((
            coach_profiles::user_id.eq(user_id),
            coach_profiles::organization_id.eq(organization_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
}

type CoachRow = (CoachProfile, String, String, bool, i64);

fn current_caseload() -> Fragment<diesel::sql_types::BigInt> {
    Fragment::new(
        "(SELECT count(*) FROM pairings p WHERE p.coach_id = coach_profiles.user_id AND p.status <> 'ended')",
    )
}

fn into_coach((profile, display_name, email, active, current_caseload): CoachRow) -> Coach {
    Coach {
        profile,
        display_name,
        email,
        active,
        current_caseload,
    }
}

/// Coaches of an organization: users whose role is coach.
pub async fn list(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: &CoachFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Coach>> {
    let mut query = coach_profiles::table
        .inner_join(users::table)
        .filter(coach_profiles::organization_id.eq(organization_id))
        .filter(users::role.eq(Role::Coach))
        .select((
            CoachProfile::as_select(),
            users::display_name,
            users::email,
            users::active,
            current_caseload(),
        ))
        .order(coach_profiles::user_id.asc())
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(accepting) = filter.accepting_new {
        query = query.filter(coach_profiles::accepting_new.eq(accepting));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(language) = &filter.language {
        query = query.filter(coach_profiles::languages.contains(vec![language.clone()]));
    }
    if let Some(Cursor::After(after)) = page.cursor {
        query = query.filter(coach_profiles::user_id.gt(after));
    }
    let rows: Vec<CoachRow> = query.load(conn).await?;
    Ok(rows.into_iter().map(into_coach).collect())
}

/// One coach of the organization (users whose role is no longer coach are not coaches).
pub async fn find(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Coach> {
    let row: CoachRow = coach_profiles::table
        .inner_join(users::table)
        .filter(coach_profiles::organization_id.eq(organization_id))
        .filter(coach_profiles::user_id.eq(user_id))
        .filter(users::role.eq(Role::Coach))
        .select((
            CoachProfile::as_select(),
            users::display_name,
            users::email,
            users::active,
            current_caseload(),
        ))
        .first(conn)
        .await?;
    Ok(into_coach(row))
}

/// A coach `scope` may see: any of the organization's for admins and supervisors, only
/// themselves for coaches.
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    user_id: Uuid,
) -> QueryResult<Coach> {
    find(conn, scope.organization_id, visible_id(scope, user_id)).await
}

/// Like [`find_visible`], locking the profile for the rest of the transaction first.
pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    user_id: Uuid,
) -> QueryResult<Coach> {
    let user_id = visible_id(scope, user_id);
    lock(conn, scope.organization_id, user_id)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    find(conn, scope.organization_id, user_id).await
}

/// The coach id a query may ask for: a coach asking for another coach asks for nobody (the
/// nil id matches no row), so the query answers "not found".
fn visible_id(scope: Scope, coach_id: Uuid) -> Uuid {
    if scope.is_supervisor() || scope.user_id == coach_id {
        coach_id
    } else {
        Uuid::nil()
    }
}

/// Locks a coach's profile for the rest of the transaction and tells whether the coach's
/// account is active. Every addition to a coach's caseload takes this lock first, so
/// capacity checks cannot race.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<(CoachProfile, bool)>> {
    coach_profiles::table
        .inner_join(users::table)
        .filter(coach_profiles::organization_id.eq(organization_id))
        .filter(coach_profiles::user_id.eq(user_id))
        .filter(users::role.eq(Role::Coach))
        .select((CoachProfile::as_select(), users::active))
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn count_current(conn: &mut AsyncPgConnection, coach_id: Uuid) -> QueryResult<i64> {
    pairings::table
        .filter(pairings::coach_id.eq(coach_id))
        .filter(pairing_is_current())
        .count()
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    changes: &CoachProfileChanges,
) -> QueryResult<usize> {
    diesel::update(coach_profiles::table.find(user_id))
        .set(changes)
        .execute(conn)
        .await
}

/// Every coach of the organization who could take a new participant now.
pub async fn with_capacity(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> QueryResult<Vec<Coach>> {
    let rows: Vec<CoachRow> = coach_profiles::table
        .inner_join(users::table)
        .filter(coach_profiles::organization_id.eq(organization_id))
        .filter(users::role.eq(Role::Coach))
        .filter(users::active.eq(true))
        .filter(coach_profiles::accepting_new.eq(true))
        .select((
            CoachProfile::as_select(),
            users::display_name,
            users::email,
            users::active,
            current_caseload(),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(into_coach)
        .filter(|coach| coach.current_caseload < i64::from(coach.profile.max_caseload))
        .collect())
}
