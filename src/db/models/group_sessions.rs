//! Group sessions (peer support groups, skills classes…) and their facilitators. Who attended
//! is in [`super::group_attendance`].

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::fragment::Fragment;
use crate::db::models::users::Role;
use crate::db::schema::{group_session_facilitators, group_sessions, users};
use crate::db::scope::Scope;

crate::text_enum! {
    /// What kind of group it was.
    pub enum GroupKind {
        PeerSupport => "peer_support",
        RecoverySkills => "recovery_skills",
        MutualAid => "mutual_aid",
        Wellness => "wellness",
        Family => "family",
        Other => "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = group_sessions)]
pub struct GroupSession {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub title: String,
    pub kind: GroupKind,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub summary: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A session with its facilitators' user ids (ordered by id).
pub type WithFacilitators = (GroupSession, Vec<Uuid>);

#[derive(Debug, Insertable)]
#[diesel(table_name = group_sessions)]
pub struct NewGroupSession<'a> {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub title: &'a str,
    pub kind: GroupKind,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub summary: Option<&'a str>,
    pub created_by: Uuid,
}

#[derive(Debug, Default)]
pub struct GroupSessionFilter {
    pub kind: Option<GroupKind>,
    pub facilitator_id: Option<Uuid>,
}

/// Where a page of sessions, newest first, starts: strictly after this `(occurred_at, id)`.
pub type After = Option<(DateTime<Utc>, Uuid)>;

/// The facilitators of the session in the row, selected beside it.
fn facilitator_ids() -> Fragment<Array<diesel::sql_types::Uuid>> {
    Fragment::new(
        "ARRAY(SELECT f.user_id FROM group_session_facilitators f \
         WHERE f.group_session_id = group_sessions.id ORDER BY f.user_id)",
    )
}

/// Group sessions `scope` may see: the organization's, for its staff; none for anyone else.
fn visible<'a>(scope: Scope) -> group_sessions::BoxedQuery<'a, Pg> {
    let query = group_sessions::table
        .filter(group_sessions::organization_id.eq(scope.organization_id))
        .into_boxed();
    match scope.role {
        Role::Admin | Role::Supervisor | Role::Coach => query,
        Role::Participant => query.filter(Fragment::<Bool>::new("false")),
    }
}

/// Inserts the session and its facilitators.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewGroupSession<'_>,
    facilitators: &[Uuid],
) -> QueryResult<Uuid> {
    let id = diesel::insert_into(group_sessions::table)
        .values(new)
        .returning(group_sessions::id)
        .get_result(conn)
        .await?;
    let rows: Vec<_> = facilitators
        .iter()
        .map(|user_id| {
            (
                group_session_facilitators::group_session_id.eq(id),
                group_session_facilitators::user_id.eq(*user_id),
            )
        })
        .collect();
    diesel::insert_into(group_session_facilitators::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(id)
}

/// Those of `ids` who may facilitate a group of the organization: its active coaches,
/// supervisors and admins.
pub async fn eligible_facilitators(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    users::table
        .filter(users::organization_id.eq(organization_id))
        .filter(users::id.eq_any(ids))
        .filter(users::active.eq(true))
        .filter(users::role.eq_any([Role::Admin, Role::Supervisor, Role::Coach]))
        .select(users::id)
        .load(conn)
        .await
}

pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<WithFacilitators> {
    visible(scope)
        .filter(group_sessions::id.eq(id))
        .select((GroupSession::as_select(), facilitator_ids()))
        .first(conn)
        .await
}

/// Whether `scope`'s user facilitates the session `id` (false when there is no such session,
/// so the answer says nothing about whether it exists).
pub async fn facilitates(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        group_session_facilitators::table
            .filter(group_session_facilitators::group_session_id.eq(id))
            .filter(group_session_facilitators::user_id.eq(scope.user_id)),
    ))
    .get_result(conn)
    .await
}

/// The session, locked for the current transaction, so changes to its attendance take turns.
/// For staff of its organization (`NotFound` for anyone else).
pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<WithFacilitators> {
    if scope.role == Role::Participant {
        return Err(diesel::result::Error::NotFound);
    }
    group_sessions::table
        .filter(group_sessions::organization_id.eq(scope.organization_id))
        .filter(group_sessions::id.eq(id))
        .select((GroupSession::as_select(), facilitator_ids()))
        .for_update()
        .first(conn)
        .await
}

/// A page of the sessions `scope` may see, newest first (`occurred_at`, then id).
pub async fn list(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    filter: &GroupSessionFilter,
    after: After,
    fetch_limit: i64,
) -> QueryResult<Vec<WithFacilitators>> {
    let mut query = visible(scope)
        .select((GroupSession::as_select(), facilitator_ids()))
        .order((
            group_sessions::occurred_at.desc(),
            group_sessions::id.desc(),
        ))
        .limit(fetch_limit);
    if let Some(kind) = filter.kind {
        query = query.filter(group_sessions::kind.eq(kind));
    }
    if let Some(user_id) = filter.facilitator_id {
        query = query.filter(
            group_sessions::id.eq_any(
                group_session_facilitators::table
                    .filter(group_session_facilitators::user_id.eq(user_id))
                    .select(group_session_facilitators::group_session_id),
            ),
        );
    }
    if let Some((at, id)) = after {
        // `occurred_at <= at` bounds the index scan; the rest breaks ties by id.
        query = query.filter(group_sessions::occurred_at.le(at)).filter(
            group_sessions::occurred_at
                .lt(at)
                .or(group_sessions::id.lt(id)),
        );
    }
    query.load(conn).await
}
