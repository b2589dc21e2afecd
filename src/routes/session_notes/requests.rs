//! What clients send to the session-note operations, and the rules it must meet.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::session_notes::{
    NewSessionNote, NoteFilter, SessionNoteChanges, SessionType, Visibility,
};
use crate::db::scope::Scope;
use crate::http::error::{AppError, AppResult};
use crate::http::limits;
use crate::http::validation::{nullable, Checks};

/// How far ahead of the server's clock `occurred_at` may be: clocks of the devices notes are
/// written on drift.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// A new session note.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionNoteRequest {
    pub session_type: SessionType,
    /// When the session took place; not in the future (5 minutes of clock skew allowed).
    pub occurred_at: DateTime<Utc>,
    #[schema(value_type = limits::SessionMinutes)]
    pub duration_minutes: i64,
    /// What happened, in a few lines.
    #[schema(value_type = limits::NoteSummary)]
    pub summary: String,
    /// The full note.
    #[schema(value_type = Option<limits::NoteBody>)]
    pub body: Option<String>,
    /// Who may read it; `care_team` when omitted.
    pub visibility: Option<Visibility>,
    /// Goals of this participant the session worked on.
    #[serde(default)]
    #[schema(value_type = limits::NoteGoals)]
    pub goal_ids: Vec<Uuid>,
    /// 1 (very low) to 5 (very good).
    #[schema(value_type = Option<limits::Mood>)]
    pub mood: Option<i64>,
    /// 0 (none) to 10 (overwhelming).
    #[schema(value_type = Option<limits::Craving>)]
    pub craving: Option<i64>,
    /// What is to happen next.
    #[schema(value_type = Option<limits::FollowUp>)]
    pub follow_up: Option<String>,
    /// When the follow-up is due.
    pub follow_up_due: Option<NaiveDate>,
}

/// Changes to an unsigned note; omitted fields stay, `null` clears an optional field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSessionNoteRequest {
    pub session_type: Option<SessionType>,
    /// Not in the future (5 minutes of clock skew allowed).
    pub occurred_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<limits::SessionMinutes>)]
    pub duration_minutes: Option<i64>,
    #[schema(value_type = Option<limits::NoteSummary>)]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::NoteBody>)]
    pub body: Option<Option<String>>,
    pub visibility: Option<Visibility>,
    /// Replaces the note's goals.
    #[schema(value_type = Option<limits::NoteGoals>)]
    pub goal_ids: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::Mood>)]
    pub mood: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::Craving>)]
    pub craving: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::FollowUp>)]
    pub follow_up: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub follow_up_due: Option<Option<NaiveDate>>,
}

/// An amendment to a signed note.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAmendmentRequest {
    /// What is added or corrected.
    #[schema(value_type = limits::NoteBody)]
    pub body: String,
    /// Why the signed note needed it.
    #[schema(value_type = limits::Reason)]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListSessionNotesQuery {
    /// Only sessions at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only sessions at or before this time (RFC 3339); not before `from`.
    pub to: Option<DateTime<Utc>>,
    pub session_type: Option<SessionType>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListSessionNotesQuery {
    /// The filter, or 400 when `from` is after `to`.
    pub fn filter(&self) -> AppResult<NoteFilter> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(AppError::BadRequest(
                    "Query parameter `from` must not be after `to`.".into(),
                ));
            }
        }
        Ok(NoteFilter {
            from: self.from,
            to: self.to,
            session_type: self.session_type,
        })
    }
}

fn check_occurred_at(checks: &mut Checks, occurred_at: DateTime<Utc>) {
    if occurred_at > Utc::now() + CLOCK_SKEW {
        checks.add("occurred_at", "must not be in the future");
    }
}

fn check_goals(checks: &mut Checks, goal_ids: &[Uuid]) {
    checks.count("goal_ids", goal_ids.len(), limits::NOTE_GOALS);
}

fn trimmed(text: &str) -> String {
    text.trim().to_owned()
}

/// The row of a new note (checked by [`validate_create`]).
pub fn new_note(
    scope: Scope,
    participant_id: Uuid,
    body: &CreateSessionNoteRequest,
) -> NewSessionNote {
    NewSessionNote {
        id: Uuid::now_v7(),
        organization_id: scope.organization_id,
        participant_id,
        author_id: scope.user_id,
        session_type: body.session_type,
        occurred_at: body.occurred_at,
        duration_minutes: body.duration_minutes as i32,
        summary: trimmed(&body.summary),
        body: body.body.as_deref().map(trimmed),
        visibility: body.visibility.unwrap_or(Visibility::CareTeam),
        goal_ids: body.goal_ids.clone(),
        mood: body.mood.map(|m| m as i32),
        craving: body.craving.map(|c| c as i32),
        follow_up: body.follow_up.as_deref().map(trimmed),
        follow_up_due: body.follow_up_due,
    }
}

pub fn validate_create(body: &CreateSessionNoteRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    check_occurred_at(&mut checks, body.occurred_at);
    checks.range(
        "duration_minutes",
        body.duration_minutes,
        limits::SESSION_MINUTES,
    );
    checks.text("summary", &body.summary, limits::NOTE_SUMMARY);
    checks.optional_text("body", body.body.as_deref(), limits::NOTE_BODY);
    check_goals(&mut checks, &body.goal_ids);
    if let Some(mood) = body.mood {
        checks.range("mood", mood, limits::MOOD);
    }
    if let Some(craving) = body.craving {
        checks.range("craving", craving, limits::CRAVING);
    }
    checks.optional_text("follow_up", body.follow_up.as_deref(), limits::FOLLOW_UP);
    checks.finish()
}

/// Checks a change (422 naming every bad field) and builds it.
pub fn validate_update(body: UpdateSessionNoteRequest) -> AppResult<SessionNoteChanges> {
    let mut checks = Checks::new();
    if let Some(occurred_at) = body.occurred_at {
        check_occurred_at(&mut checks, occurred_at);
    }
    if let Some(minutes) = body.duration_minutes {
        checks.range("duration_minutes", minutes, limits::SESSION_MINUTES);
    }
    checks.optional_text("summary", body.summary.as_deref(), limits::NOTE_SUMMARY);
    checks.optional_text(
        "body",
        body.body.as_ref().and_then(|b| b.as_deref()),
        limits::NOTE_BODY,
    );
    if let Some(goal_ids) = &body.goal_ids {
        check_goals(&mut checks, goal_ids);
    }
    if let Some(Some(mood)) = body.mood {
        checks.range("mood", mood, limits::MOOD);
    }
    if let Some(Some(craving)) = body.craving {
        checks.range("craving", craving, limits::CRAVING);
    }
    let follow_up = body.follow_up.as_ref().and_then(|f| f.as_deref());
    checks.optional_text("follow_up", follow_up, limits::FOLLOW_UP);
    checks.finish()?;
    let text = |value: Option<Option<String>>| value.map(|v| v.as_deref().map(trimmed));
    let number = |value: Option<Option<i64>>| value.map(|v| v.map(|n| n as i32));
    Ok(SessionNoteChanges {
        session_type: body.session_type,
        occurred_at: body.occurred_at,
        duration_minutes: body.duration_minutes.map(|m| m as i32),
        summary: body.summary.as_deref().map(trimmed),
        body: text(body.body),
        visibility: body.visibility,
        goal_ids: body.goal_ids,
        mood: number(body.mood),
        craving: number(body.craving),
        follow_up: text(body.follow_up),
        follow_up_due: body.follow_up_due,
        updated_at: Some(Utc::now()),
    })
}

pub fn validate_amendment(body: &CreateAmendmentRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    checks.text("body", &body.body, limits::NOTE_BODY);
    checks.reason("reason", Some(&body.reason), true);
    checks.finish()
}
