//! What clients send to the group-session operations and what they get back, and the rules a
//! request must meet.

use std::borrow::Cow;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;

use crate::db::models::group_attendance::{AttendanceRecord, AttendanceStatus, Attendee};
use crate::db::models::group_sessions::{GroupKind, GroupSession};
use crate::db::scope::Scope;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::limits;
use crate::http::validation::Checks;

/// How far in the future `occurred_at` may be, for clocks that run a little ahead.
pub const CLOCK_LEEWAY_MINUTES: i64 = 5;

/// A group session that took place.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupSessionRequest {
    /// What the group is called, e.g. "Tuesday evening peer support".
    #[schema(value_type = limits::GroupTitle)]
    pub title: String,
    pub kind: GroupKind,
    /// When it started: not more than 5 minutes in the future and not before 2000-01-01.
    /// Tandem records groups that have taken place; schedule them elsewhere.
    pub occurred_at: DateTime<Utc>,
    /// How long it lasted, in minutes.
    #[schema(value_type = limits::GroupDuration)]
    pub duration_minutes: i64,
    /// User ids of the organization's active coaches, supervisors or admins who ran it: at
    /// least one, each once.
    #[schema(value_type = limits::Facilitators)]
    pub facilitator_ids: Vec<Uuid>,
    /// What the group covered. Every staff member of the organization can read it: describe
    /// the group, not individual attendees.
    #[schema(value_type = Option<limits::GroupSummary>)]
    pub summary: Option<String>,
}

/// One entry of an attendance list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceEntry {
    /// A participant of the organization.
    pub participant_id: Uuid,
    pub status: AttendanceStatus,
}

/// The whole attendance list of a session, replacing the previous one.
pub struct AttendanceList;

impl PartialSchema for AttendanceList {
    fn schema() -> RefOr<Schema> {
        let list = limits::ATTENDANCE;
        let description = format!("Each participant at most once. {}", list.describe());
        ArrayBuilder::new()
            .items(Ref::from_schema_name(AttendanceEntry::name()))
            .max_items(Some(list.max))
            .unique_items(true)
            .description(Some(description))
            .build()
            .into()
    }
}

impl ToSchema for AttendanceList {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AttendanceList")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((AttendanceEntry::name().into(), AttendanceEntry::schema()));
        <AttendanceEntry as ToSchema>::schemas(schemas);
    }
}

/// Which entries of the attendance list the caller is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttendanceVisibility {
    /// Every entry: the caller is a supervisor, an admin or a facilitator of the session.
    All,
    /// Only the participants on the caller's current caseload.
    Caseload,
}

/// An entry of a session's attendance list.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendeeResponse {
    pub participant_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub status: AttendanceStatus,
    /// When this entry was last recorded.
    pub recorded_at: DateTime<Utc>,
}

impl From<Attendee> for AttendeeResponse {
    fn from(a: Attendee) -> Self {
        Self {
            participant_id: a.participant_id,
            first_name: a.first_name,
            last_name: a.last_name,
            preferred_name: a.preferred_name,
            status: a.status,
            recorded_at: a.recorded_at,
        }
    }
}

/// A group session with the part of its attendance list the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupSessionResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub title: String,
    pub kind: GroupKind,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub summary: Option<String>,
    /// The staff who ran it, by user id.
    pub facilitator_ids: Vec<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether `attendance` is the whole list (`all`) or only the caller's caseload.
    pub attendance_visible: AttendanceVisibility,
    /// By participant id.
    pub attendance: Vec<AttendeeResponse>,
}

impl GroupSessionResponse {
    pub fn new(
        scope: Scope,
        session: GroupSession,
        facilitator_ids: Vec<Uuid>,
        attendees: Vec<Attendee>,
    ) -> Self {
        let everything = scope.is_supervisor() || facilitator_ids.contains(&scope.user_id);
        Self {
            id: session.id,
            organization_id: session.organization_id,
            title: session.title,
            kind: session.kind,
            occurred_at: session.occurred_at,
            duration_minutes: session.duration_minutes,
            summary: session.summary,
            facilitator_ids,
            created_by: session.created_by,
            created_at: session.created_at,
            updated_at: session.updated_at,
            attendance_visible: if everything {
                AttendanceVisibility::All
            } else {
                AttendanceVisibility::Caseload
            },
            attendance: attendees.into_iter().map(Into::into).collect(),
        }
    }
}

/// A group session as listed: no attendance.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupSessionSummary {
    pub id: Uuid,
    pub title: String,
    pub kind: GroupKind,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub facilitator_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<(GroupSession, Vec<Uuid>)> for GroupSessionSummary {
    fn from((s, facilitator_ids): (GroupSession, Vec<Uuid>)) -> Self {
        Self {
            id: s.id,
            title: s.title,
            kind: s.kind,
            occurred_at: s.occurred_at,
            duration_minutes: s.duration_minutes,
            facilitator_ids,
            created_at: s.created_at,
        }
    }
}

/// A session on one participant's attendance record, with that participant's own status.
/// It never names other attendees or how many there were.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupAttendanceResponse {
    pub group_session_id: Uuid,
    pub title: String,
    pub kind: GroupKind,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: i32,
    /// This participant's status.
    pub status: AttendanceStatus,
}

impl From<AttendanceRecord> for GroupAttendanceResponse {
    fn from(r: AttendanceRecord) -> Self {
        Self {
            group_session_id: r.group_session_id,
            title: r.title,
            kind: r.kind,
            occurred_at: r.occurred_at,
            duration_minutes: r.duration_minutes,
            status: r.status,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListGroupSessionsQuery {
    pub kind: Option<GroupKind>,
    /// Only sessions this user facilitated.
    pub facilitator_id: Option<Uuid>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListGroupAttendanceQuery {
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Checks a new session's fields (every problem at once); the facilitators' accounts are
/// checked against the database afterwards.
pub fn validate_create(body: &CreateGroupSessionRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    checks.text("title", &body.title, limits::GROUP_TITLE);
    checks.optional_text("summary", body.summary.as_deref(), limits::GROUP_SUMMARY);
    checks.range(
        "duration_minutes",
        body.duration_minutes,
        limits::GROUP_DURATION,
    );
    let latest = Utc::now() + Duration::minutes(CLOCK_LEEWAY_MINUTES);
    let earliest = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
    if body.occurred_at > latest {
        checks.add("occurred_at", "must not be in the future");
    } else if earliest.is_some_and(|earliest| body.occurred_at < earliest) {
        checks.add("occurred_at", "must not be before 2000-01-01");
    }
    let ids = &body.facilitator_ids;
    if ids.is_empty() {
        checks.add("facilitator_ids", "must name at least one facilitator");
    } else if ids.len() > limits::FACILITATORS.max {
        checks.count("facilitator_ids", ids.len(), limits::FACILITATORS);
    } else {
        for index in repeated(ids.iter()) {
            checks.add(
                format!("facilitator_ids[{index}]").as_str(),
                "is named twice",
            );
        }
    }
    checks.finish()
}

/// Checks an attendance list's length and that it names each participant once.
pub fn validate_attendance(
    entries: &[AttendanceEntry],
) -> AppResult<Vec<(Uuid, AttendanceStatus)>> {
    let mut checks = Checks::new();
    checks.count("body", entries.len(), limits::ATTENDANCE);
    if entries.len() <= limits::ATTENDANCE.max {
        for index in repeated(entries.iter().map(|e| &e.participant_id)) {
            let field = format!("[{index}].participant_id");
            checks.add(&field, "names a participant already on the list");
        }
    }
    checks.finish()?;
    Ok(entries
        .iter()
        .map(|e| (e.participant_id, e.status))
        .collect())
}

/// The indexes of entries equal to an earlier one.
fn repeated<'a>(ids: impl Iterator<Item = &'a Uuid>) -> Vec<usize> {
    let mut seen = std::collections::HashSet::new();
    ids.enumerate()
        .filter(|(_, id)| !seen.insert(**id))
        .map(|(index, _)| index)
        .collect()
}

/// A 422 naming each `field_of(index)` whose id is not among `known`.
pub fn unknown_ids(
    ids: impl Iterator<Item = Uuid>,
    known: &[Uuid],
    field_of: impl Fn(usize) -> String,
    message: &str,
) -> AppResult<()> {
    let errors: Vec<FieldError> = ids
        .enumerate()
        .filter(|(_, id)| !known.contains(id))
        .map(|(index, _)| FieldError::new(field_of(index), message))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}
