//! Goals: the recovery plan a participant works on with their coach.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::fragment::Fragment;
use crate::db::models::status_changes::{self, NewStatusChange};
use crate::db::pagination::{Cursor, PageRequest};
use crate::db::schema::{goals, participants};
use crate::db::scope::{self, Scope};
use crate::db::with::with;

crate::text_enum! {
    /// Where a goal stands: `active` and `paused` goals are open; `achieved` and `abandoned`
    /// are final.
    pub enum GoalStatus {
        Active => "active",
        Paused => "paused",
        Achieved => "achieved",
        Abandoned => "abandoned",
    }
}

impl GoalStatus {
    /// Achieved and abandoned goals take no new action items or progress.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Achieved | Self::Abandoned)
    }
}

crate::text_enum! {
    /// The life area a goal belongs to (the domains of recovery capital).
    pub enum GoalDomain {
        SubstanceUse => "substance_use",
        PhysicalHealth => "physical_health",
        MentalHealth => "mental_health",
        Housing => "housing",
        EmploymentEducation => "employment_education",
        RelationshipsFamily => "relationships_family",
        Legal => "legal",
        Finances => "finances",
        CommunityParticipation => "community_participation",
        PurposeSpirituality => "purpose_spirituality",
        Other => "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = goals)]
pub struct Goal {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub domain: GoalDomain,
    pub target_date: Option<NaiveDate>,
    pub status: GoalStatus,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = goals)]
pub struct NewGoal {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub domain: GoalDomain,
    pub target_date: Option<NaiveDate>,
    pub status: GoalStatus,
    pub created_by: Uuid,
}

/// Changes to a goal; `Some(None)` clears an optional field.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = goals)]
pub struct GoalChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub domain: Option<GoalDomain>,
    pub target_date: Option<Option<NaiveDate>>,
    pub status: Option<GoalStatus>,
    pub closed_at: Option<Option<DateTime<Utc>>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
pub struct GoalFilter {
    pub status: Option<GoalStatus>,
    pub domain: Option<GoalDomain>,
}

/// A goal as listed, with how many action items are open and the latest percentage reported.
#[derive(Debug, Clone, Queryable)]
pub struct GoalRow {
    pub goal: Goal,
    pub open_action_items: i64,
    pub percent_complete: Option<i32>,
}

/// How many of a participant's goals are open (active or paused), for a query over
/// `participants`.
pub fn open_goal_count() -> Fragment<BigInt> {
    Fragment::new(
        "(SELECT count(*) FROM goals g WHERE g.participant_id = participants.id \
         AND g.status IN ('active', 'paused'))",
    )
}

/// The ids among `goal_ids` that are not goals of `participant_id`.
pub async fn not_of_participant(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    goal_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    if goal_ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Uuid> = goals::table
        .filter(goals::participant_id.eq(participant_id))
        .filter(goals::id.eq_any(goal_ids))
        .select(goals::id)
        .load(conn)
        .await?;
    Ok(goal_ids
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .collect())
}

fn open_action_items() -> Fragment<BigInt> {
    Fragment::new(
        "(SELECT count(*) FROM action_items a \
         WHERE a.goal_id = goals.id AND a.completed_at IS NULL)",
    )
}

fn latest_percent_complete() -> Fragment<Nullable<Integer>> {
    Fragment::new(
        "(SELECT p.percent_complete FROM goal_progress p \
         WHERE p.goal_id = goals.id AND p.percent_complete IS NOT NULL \
         ORDER BY p.id DESC LIMIT 1)",
    )
}

pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<Goal> {
    goals::table
        .filter(goals::id.eq(id))
        .filter(goals::participant_id.eq_any(scope::participant_ids(scope)))
        .select(Goal::as_select())
        .first(conn)
        .await
}

/// The goal visible to `scope`, locked for a change in the current transaction.
pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<Goal> {
    goals::table
        .filter(goals::id.eq(id))
        .filter(goals::participant_id.eq_any(scope::participant_ids(scope)))
        .select(Goal::as_select())
        .for_update()
        .first(conn)
        .await
}

/// One participant's goals visible to `scope`, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    filter: &GoalFilter,
    page: &PageRequest,
) -> QueryResult<Vec<GoalRow>> {
    let mut query = goals::table
        .filter(goals::participant_id.eq(participant_id))
        .filter(goals::participant_id.eq_any(scope::participant_ids(scope)))
        .select((
            Goal::as_select(),
            open_action_items(),
            latest_percent_complete(),
        ))
        .order(goals::id.asc())
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(goals::status.eq(status));
    }
    if let Some(domain) = filter.domain {
        query = query.filter(goals::domain.eq(domain));
    }
    if let Some(Cursor::After(after)) = page.cursor {
        query = query.filter(goals::id.gt(after));
    }
    query.load(conn).await
}

/// Inserts `new` with its first status `first`, in one statement, only for a participant
/// `scope` may see: `NotFound` otherwise (the status row is then written, but the caller's
/// unit of work rolls the refusal back).
pub async fn insert_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    new: &NewGoal,
    first: &NewStatusChange<'_>,
) -> QueryResult<Goal> {
    use diesel::sql_types::{Date, Text, Uuid as SqlUuid};
    let participant = scope::participants(scope).filter(participants::id.eq(new.participant_id));
    let values = participant.select((
        new.id.into_sql::<SqlUuid>(),
        participants::organization_id,
        participants::id,
        (&new.title).into_sql::<Text>(),
        (&new.description).into_sql::<Nullable<Text>>(),
        new.domain.into_sql::<Text>(),
        new.target_date.into_sql::<Nullable<Date>>(),
        new.status.into_sql::<Text>(),
        new.created_by.into_sql::<SqlUuid>(),
    ));
    let goal = diesel::insert_into(goals::table)
        .values(values)
        .into_columns((
            goals::id,
            goals::organization_id,
            goals::participant_id,
            goals::title,
            goals::description,
            goals::domain,
            goals::target_date,
            goals::status,
            goals::created_by,
        ))
        .returning(Goal::as_returning());
    let history = status_changes::insert_of(first);
    with("history", history, goal).get_result(conn).await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &GoalChanges,
) -> QueryResult<Goal> {
    diesel::update(goals::table.find(id))
        .set(changes)
        .returning(Goal::as_returning())
        .get_result(conn)
        .await
}

/// Sets the status, and `closed_at` when the goal is achieved or abandoned.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: GoalStatus,
) -> QueryResult<Goal> {
    let now = Utc::now();
    let changes = GoalChanges {
        status: Some(status),
        closed_at: Some(status.is_closed().then_some(now)),
        updated_at: Some(now),
        ..GoalChanges::default()
    };
    update(conn, id, &changes).await
}
