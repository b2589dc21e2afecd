//! What the goal operations answer with.

use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::action_items::{self, ActionItem};
use crate::db::models::goal_progress::{self, ProgressEntry};
use crate::db::models::goals::{Goal, GoalDomain, GoalRow, GoalStatus};
use crate::domain::lifecycle::{self, GoalHistoryEntry};
use crate::http::error::AppResult;
use crate::http::limits;

/// A goal with its open action items, its latest progress entry and its status history.
#[derive(Debug, Serialize, ToSchema)]
pub struct GoalResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub domain: GoalDomain,
    pub target_date: Option<NaiveDate>,
    pub status: GoalStatus,
    /// When the goal was achieved or abandoned; `null` while it is open.
    pub closed_at: Option<DateTime<Utc>>,
    /// Who set the goal: a staff member or the participant.
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The action items not yet completed, oldest first.
    pub open_action_items: Vec<ActionItemResponse>,
    /// How many action items have been completed.
    pub completed_action_item_count: i64,
    /// The newest entry of the progress log; `null` when there is none.
    pub latest_progress: Option<ProgressEntryResponse>,
    /// Status changes, oldest first.
    pub history: Vec<GoalHistoryEntry>,
}

/// A goal as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct GoalSummary {
    pub id: Uuid,
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
    /// Action items not yet completed.
    pub open_action_item_count: i64,
    /// The newest percentage reported in the progress log; `null` when none was.
    pub percent_complete: Option<i32>,
}

impl From<GoalRow> for GoalSummary {
    fn from(row: GoalRow) -> Self {
        let g = row.goal;
        Self {
            id: g.id,
            participant_id: g.participant_id,
            title: g.title,
            description: g.description,
            domain: g.domain,
            target_date: g.target_date,
            status: g.status,
            closed_at: g.closed_at,
            created_by: g.created_by,
            created_at: g.created_at,
            updated_at: g.updated_at,
            open_action_item_count: row.open_action_items,
            percent_complete: row.percent_complete,
        }
    }
}

/// A step towards a goal.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionItemResponse {
    pub id: Uuid,
    pub goal_id: Uuid,
    pub participant_id: Uuid,
    pub title: String,
    pub due_date: Option<NaiveDate>,
    pub completed: bool,
    /// When it was marked completed; `null` while it is open.
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ActionItem> for ActionItemResponse {
    fn from(item: ActionItem) -> Self {
        Self {
            id: item.id,
            goal_id: item.goal_id,
            participant_id: item.participant_id,
            title: item.title,
            due_date: item.due_date,
            completed: item.completed_at.is_some(),
            completed_at: item.completed_at,
            created_by: item.created_by,
            created_at: item.created_at,
            updated_at: item.updated_at,
        }
    }
}

/// One entry of a goal's progress log.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressEntryResponse {
    pub id: Uuid,
    pub goal_id: Uuid,
    pub participant_id: Uuid,
    pub note: String,
    /// How complete the goal is, 0 to 100, when the author said.
    pub percent_complete: Option<i32>,
    /// Who wrote it: a staff member or the participant.
    pub author_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<ProgressEntry> for ProgressEntryResponse {
    fn from(entry: ProgressEntry) -> Self {
        Self {
            id: entry.id,
            goal_id: entry.goal_id,
            participant_id: entry.participant_id,
            note: entry.note,
            percent_complete: entry.percent_complete,
            author_id: entry.author_id,
            created_at: entry.created_at,
        }
    }
}

/// A goal the caller has been allowed to see, as a single-goal response shows it.
pub async fn show(conn: &mut AsyncPgConnection, g: Goal) -> AppResult<GoalResponse> {
    let open_limit = limits::OPEN_ACTION_ITEMS.max as i64;
    let open = action_items::open_for_goal(conn, g.id, open_limit).await?;
    let completed = action_items::count_completed(conn, g.id).await?;
    let latest = goal_progress::latest(conn, g.id).await?;
    let history = lifecycle::history(conn, g.id).await?;
    Ok(response(g, open, completed, latest, history))
}

/// A goal just set, with the one status it has had: as [`show`] would read it, without
/// asking for the action items and progress a new goal cannot have.
pub fn new(g: Goal, first: GoalHistoryEntry) -> GoalResponse {
    response(g, Vec::new(), 0, None, vec![first])
}

fn response(
    g: Goal,
    open: Vec<ActionItem>,
    completed: i64,
    latest: Option<ProgressEntry>,
    history: Vec<GoalHistoryEntry>,
) -> GoalResponse {
    GoalResponse {
        id: g.id,
        organization_id: g.organization_id,
        participant_id: g.participant_id,
        title: g.title,
        description: g.description,
        domain: g.domain,
        target_date: g.target_date,
        status: g.status,
        closed_at: g.closed_at,
        created_by: g.created_by,
        created_at: g.created_at,
        updated_at: g.updated_at,
        open_action_items: open.into_iter().map(ActionItemResponse::from).collect(),
        completed_action_item_count: completed,
        latest_progress: latest.map(ProgressEntryResponse::from),
        history,
    }
}
