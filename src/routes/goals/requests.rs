//! What clients send to the goal operations, and the rules it must meet.

use chrono::{Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::action_items::{ActionItem, ActionItemChanges, NewActionItem};
use crate::db::models::goals::{Goal, GoalChanges, GoalDomain, GoalStatus, NewGoal};
use crate::db::scope::Scope;
use crate::http::error::AppResult;
use crate::http::limits;
use crate::http::validation::{nullable, Checks};

/// A new goal of the participant named in the path.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGoalRequest {
    /// What the participant is working towards.
    #[schema(value_type = limits::GoalTitle)]
    pub title: String,
    #[schema(value_type = Option<limits::GoalDescription>)]
    pub description: Option<String>,
    pub domain: GoalDomain,
    /// When the participant hopes to get there: not in the past, at most 100 years ahead.
    pub target_date: Option<NaiveDate>,
}

/// Changes to a goal; omitted fields stay, `null` clears `description` or `target_date`.
/// Status changes go through `POST /goals/{id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGoalRequest {
    /// Cannot be `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = limits::GoalTitle, required = false)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::GoalDescription>)]
    pub description: Option<Option<String>>,
    /// Cannot be `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = GoalDomain, required = false)]
    pub domain: Option<Option<GoalDomain>>,
    /// Not in the past, at most 100 years ahead.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub target_date: Option<Option<NaiveDate>>,
}

/// The moves that need a `reason` (also stated in the document).
pub const REASON_REQUIRED: &[GoalStatus] = &[GoalStatus::Abandoned];

/// A status change with its reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "achieved"}))]
pub struct GoalStatusRequest {
    pub status: GoalStatus,
    /// Why; required when abandoning a goal.
    #[schema(value_type = Option<limits::Reason>)]
    pub reason: Option<String>,
}

/// A new action item on the goal named in the path.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateActionItemRequest {
    #[schema(value_type = limits::GoalTitle)]
    pub title: String,
    /// Not in the past, at most 100 years ahead.
    pub due_date: Option<NaiveDate>,
}

/// Changes to an action item; omitted fields stay, `null` clears `due_date`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateActionItemRequest {
    /// Cannot be `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = limits::GoalTitle, required = false)]
    pub title: Option<Option<String>>,
    /// Not in the past, at most 100 years ahead.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_date: Option<Option<NaiveDate>>,
    /// `true` marks it done (recording `completed_at` the first time); `false` reopens it and
    /// clears `completed_at`.
    pub completed: Option<bool>,
}

/// A new entry of the goal's progress log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProgressRequest {
    /// What happened.
    #[schema(value_type = limits::ProgressNote)]
    pub note: String,
    /// How complete the goal is now, in percent.
    #[schema(value_type = Option<limits::PercentComplete>)]
    pub percent_complete: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListGoalsQuery {
    /// Only goals with this status.
    pub status: Option<GoalStatus>,
    /// Only goals in this domain.
    pub domain: Option<GoalDomain>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A target or due date: not before yesterday (so a date that is today anywhere on earth is
/// accepted) and at most [`limits::PLAN_YEARS_AHEAD`] years ahead.
fn plan_date(checks: &mut Checks, field: &str, date: NaiveDate) {
    let today = Utc::now().date_naive();
    let earliest = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    let months = Months::new(12 * limits::PLAN_YEARS_AHEAD.unsigned_abs());
    let latest = today.checked_add_months(months).unwrap_or(NaiveDate::MAX);
    if date < earliest {
        checks.add(field, "must not be in the past");
    } else if date > latest {
        let years = limits::PLAN_YEARS_AHEAD;
        checks.add(field, format!("must be at most {years} years ahead"));
    }
}

/// A field that may be changed but never cleared: `Some(None)` is refused.
fn not_null<T>(checks: &mut Checks, field: &str, value: &Option<Option<T>>) {
    if matches!(value, Some(None)) {
        checks.add(field, "must not be null");
    }
}

fn trimmed(value: &str) -> String {
    value.trim().to_owned()
}

pub(super) fn validate_create(body: &CreateGoalRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    checks.text("title", &body.title, limits::GOAL_TITLE);
    let description = body.description.as_deref();
    checks.optional_text("description", description, limits::GOAL_DESCRIPTION);
    if let Some(date) = body.target_date {
        plan_date(&mut checks, "target_date", date);
    }
    checks.finish()
}

pub(super) fn new_goal(scope: Scope, participant_id: Uuid, body: &CreateGoalRequest) -> NewGoal {
    NewGoal {
        id: Uuid::now_v7(),
        organization_id: scope.organization_id,
        participant_id,
        title: trimmed(&body.title),
        description: body.description.as_deref().map(trimmed),
        domain: body.domain,
        target_date: body.target_date,
        status: GoalStatus::Active,
        created_by: scope.user_id,
    }
}

pub(super) fn validate_update(body: UpdateGoalRequest) -> AppResult<GoalChanges> {
    let mut checks = Checks::new();
    not_null(&mut checks, "title", &body.title);
    not_null(&mut checks, "domain", &body.domain);
    let title = body.title.clone().flatten();
    checks.optional_text("title", title.as_deref(), limits::GOAL_TITLE);
    let description = body.description.clone().flatten();
    checks.optional_text(
        "description",
        description.as_deref(),
        limits::GOAL_DESCRIPTION,
    );
    if let Some(Some(date)) = body.target_date {
        plan_date(&mut checks, "target_date", date);
    }
    checks.finish()?;
    Ok(GoalChanges {
        title: title.as_deref().map(trimmed),
        description: body.description.map(|d| d.as_deref().map(trimmed)),
        domain: body.domain.flatten(),
        target_date: body.target_date,
        updated_at: Some(Utc::now()),
        ..GoalChanges::default()
    })
}

pub(super) fn validate_status(body: &GoalStatusRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    let abandoning = REASON_REQUIRED.contains(&body.status);
    checks.reason("reason", body.reason.as_deref(), abandoning);
    checks.finish()
}

pub(super) fn validate_action_item(body: &CreateActionItemRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    checks.text("title", &body.title, limits::GOAL_TITLE);
    if let Some(date) = body.due_date {
        plan_date(&mut checks, "due_date", date);
    }
    checks.finish()
}

pub(super) fn new_action_item(
    scope: Scope,
    goal: &Goal,
    body: &CreateActionItemRequest,
) -> NewActionItem {
    NewActionItem {
        id: Uuid::now_v7(),
        goal_id: goal.id,
        participant_id: goal.participant_id,
        title: trimmed(&body.title),
        due_date: body.due_date,
        created_by: scope.user_id,
    }
}

pub(super) fn validate_action_item_update(body: &UpdateActionItemRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    not_null(&mut checks, "title", &body.title);
    let title = body.title.as_ref().and_then(|t| t.as_deref());
    checks.optional_text("title", title, limits::GOAL_TITLE);
    if let Some(Some(date)) = body.due_date {
        plan_date(&mut checks, "due_date", date);
    }
    checks.finish()
}

/// The changes `body` makes to `item`: completing keeps the first completion time,
/// reopening clears it.
pub(super) fn action_item_changes(
    item: &ActionItem,
    body: &UpdateActionItemRequest,
) -> ActionItemChanges {
    let now = Utc::now();
    let completed_at = body
        .completed
        .map(|completed| match (completed, item.completed_at) {
            (true, Some(at)) => Some(at),
            (true, None) => Some(now),
            (false, _) => None,
        });
    ActionItemChanges {
        title: body.title.as_ref().and_then(|t| t.as_deref()).map(trimmed),
        due_date: body.due_date,
        completed_at,
        updated_at: Some(now),
    }
}

pub(super) fn validate_progress(body: &CreateProgressRequest) -> AppResult<Option<i32>> {
    let mut checks = Checks::new();
    checks.text("note", &body.note, limits::PROGRESS_NOTE);
    if let Some(percent) = body.percent_complete {
        checks.range("percent_complete", percent, limits::PERCENT_COMPLETE);
    }
    checks.finish()?;
    // In range, so it fits.
    Ok(body.percent_complete.and_then(|p| i32::try_from(p).ok()))
}
