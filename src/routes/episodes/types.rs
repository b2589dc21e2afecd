//! Request and response types of the episode endpoints.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::episode_interviews::{Interview, InterviewMode};
use crate::db::models::episodes::{EndReason, Episode};
use crate::domain::follow_up::PointState;
use crate::http::limits;

/// A new episode of care.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"started_on": "2026-12-01", "program": "Peer Recovery Support", "grant_id": "TI-086523"}))]
pub struct OpenEpisodeRequest {
    /// The day the participant enrolled: not in the future (the organization's calendar),
    /// and not before the end of their previous episode.
    pub started_on: NaiveDate,
    #[schema(value_type = Option<limits::Program>)]
    pub program: Option<String>,
    #[schema(value_type = Option<limits::GrantId>)]
    pub grant_id: Option<String>,
    #[schema(value_type = Option<limits::SiteId>)]
    pub site_id: Option<String>,
}

/// How an episode ends.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ended_on": "2027-06-01", "reason": "completed"}))]
pub struct CloseEpisodeRequest {
    /// After `started_on`, and not in the future.
    pub ended_on: NaiveDate,
    pub reason: EndReason,
    #[schema(value_type = Option<limits::Reason>)]
    pub note: Option<String>,
}

/// A follow-up interview.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"point": "baseline", "conducted_on": "2026-12-03", "mode": "in_person"}))]
pub struct RecordInterviewRequest {
    /// A point of the episode's schedule (`baseline`, `reassessment_6m`, `annual_<n>`,
    /// `closeout`).
    pub point: String,
    /// Within the point's window, unless `late_reason` says why not; not in the future.
    pub conducted_on: NaiveDate,
    #[schema(value_type = Option<limits::DisplayName>)]
    pub conducted_by_name: Option<String>,
    pub mode: InterviewMode,
    /// The participant declined the interview: the point still counts as done.
    #[serde(default)]
    pub declined: bool,
    /// The participant's assessment (e.g. BARC-10) taken at the interview.
    pub assessment_id: Option<Uuid>,
    /// Why the interview falls outside the point's window.
    #[schema(value_type = Option<limits::Reason>)]
    pub late_reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEpisodesQuery {
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An episode of care.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpisodeResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub started_on: NaiveDate,
    /// `null` while the episode is open.
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<EndReason>,
    pub end_note: Option<String>,
    pub program: Option<String>,
    pub grant_id: Option<String>,
    pub site_id: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Episode> for EpisodeResponse {
    fn from(e: Episode) -> Self {
        Self {
            id: e.id,
            organization_id: e.organization_id,
            participant_id: e.participant_id,
            started_on: e.started_on,
            ended_on: e.ended_on,
            end_reason: e.end_reason,
            end_note: e.end_note,
            program: e.program,
            grant_id: e.grant_id,
            site_id: e.site_id,
            created_by: e.created_by,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A follow-up interview.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InterviewResponse {
    pub id: Uuid,
    pub episode_id: Uuid,
    pub participant_id: Uuid,
    pub point: String,
    pub conducted_on: NaiveDate,
    pub conducted_by_name: Option<String>,
    pub mode: InterviewMode,
    pub declined: bool,
    pub assessment_id: Option<Uuid>,
    pub late_reason: Option<String>,
    /// The user who recorded it.
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<Interview> for InterviewResponse {
    fn from(i: Interview) -> Self {
        Self {
            id: i.id,
            episode_id: i.episode_id,
            participant_id: i.participant_id,
            point: i.point,
            conducted_on: i.conducted_on,
            conducted_by_name: i.conducted_by_name,
            mode: i.mode,
            declined: i.declined,
            assessment_id: i.assessment_id,
            late_reason: i.late_reason,
            recorded_by: i.recorded_by,
            created_at: i.created_at,
        }
    }
}

/// One follow-up point of a schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulePoint {
    /// `baseline`, `reassessment_6m`, `annual_<n>` or `closeout`.
    pub point: String,
    pub due: NaiveDate,
    pub window_opens: NaiveDate,
    pub window_closes: NaiveDate,
    pub state: PointState,
    /// The interview that satisfied it, once `done`.
    pub interview: Option<InterviewResponse>,
}

/// An episode's follow-up schedule, as of `today`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleResponse {
    pub episode_id: Uuid,
    /// Today's date in the organization's time zone: what the states are counted on.
    pub today: NaiveDate,
    /// The organization's time zone (IANA).
    pub time_zone: String,
    pub points: Vec<SchedulePoint>,
}
