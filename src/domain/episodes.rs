//! Episodes of care and their follow-up interviews: what opening, closing and recording
//! needs beyond a row (the organization's calendar, the dates in order, the schedule).

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::models::episode_interviews::{self, Interview, InterviewMode};
use crate::db::models::episodes::{self, EndReason, Ending, Episode, NewEpisode};
use crate::db::models::participants::{self, ParticipantStatus};
use crate::db::models::{assessments, organizations};
use crate::db::scope::Scope;
use crate::domain::follow_up::{self, EpisodeDates, Point, PointState, SUPRT};
use crate::http::error::{AppError, AppResult, ProblemType};
use crate::http::validation::Checks;

/// What a new episode says besides its participant.
pub struct Opening {
    pub started_on: NaiveDate,
    pub program: Option<String>,
    pub grant_id: Option<String>,
    pub site_id: Option<String>,
}

/// Opens an episode of a participant `scope` may see (404 otherwise): 409 when they are
/// discharged or have an open episode; 422 when it starts in the future (the organization's
/// calendar) or before their previous episode ended.
pub async fn open(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    opening: Opening,
) -> AppResult<Episode> {
    let participant = participants::lock_visible(conn, scope, participant_id).await?;
    if participant.status == ParticipantStatus::Discharged {
        return Err(AppError::conflict(
            ProblemType::ParticipantDischarged,
            "The participant is discharged; readmit them before opening an episode.",
        ));
    }
    let today = organizations::today(conn, scope.organization_id).await?;
    let mut checks = Checks::new();
    if opening.started_on > today {
        checks.add("started_on", format!("must not be after today ({today})"));
    }
    if let Some(last_end) = episodes::last_end(conn, participant_id).await? {
        if opening.started_on < last_end {
            checks.add(
                "started_on",
                format!("must not be before the previous episode ended ({last_end})"),
            );
        }
    }
    checks.finish()?;
    let new = NewEpisode {
        id: Uuid::now_v7(),
        organization_id: scope.organization_id,
        participant_id,
        started_on: opening.started_on,
        program: opening.program,
        grant_id: opening.grant_id,
        site_id: opening.site_id,
        created_by: Some(scope.user_id),
    };
    episodes::open(conn, &new).await?.ok_or_else(already_open)
}

/// Opens the first episode of a participant just made with an intake date.
pub async fn open_first(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    started_on: NaiveDate,
) -> AppResult<Episode> {
    let new = NewEpisode {
        id: Uuid::now_v7(),
        organization_id: scope.organization_id,
        participant_id,
        started_on,
        program: None,
        grant_id: None,
        site_id: None,
        created_by: Some(scope.user_id),
    };
    episodes::open(conn, &new).await?.ok_or_else(already_open)
}

fn already_open() -> AppError {
    AppError::conflict(
        ProblemType::Conflict,
        "The participant has an open episode; close it before opening another.",
    )
}

/// Closes episode `id` (`scope` must see it, 404 otherwise): 409 when it is closed already,
/// 422 unless it ends after it started and not after today.
pub async fn close(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    ending: &Ending,
) -> AppResult<Episode> {
    let current = episodes::lock_visible(conn, scope, id).await?;
    if let Some(ended_on) = current.ended_on {
        return Err(AppError::conflict(
            ProblemType::Conflict,
            format!("The episode ended on {ended_on} already."),
        ));
    }
    let today = organizations::today(conn, scope.organization_id).await?;
    let mut checks = Checks::new();
    if ending.ended_on <= current.started_on {
        let started = current.started_on;
        checks.add(
            "ended_on",
            format!("must be after the episode started ({started})"),
        );
    } else if ending.ended_on > today {
        checks.add("ended_on", format!("must not be after today ({today})"));
    }
    checks.finish()?;
    Ok(episodes::close(conn, id, ending).await?)
}

/// The schedule of `episode` today, with the interviews that satisfied its points.
pub struct Schedule {
    pub today: NaiveDate,
    pub time_zone: String,
    pub points: Vec<(Point, Option<Interview>)>,
}

pub async fn schedule(conn: &mut AsyncPgConnection, episode: &Episode) -> AppResult<Schedule> {
    let organization = organizations::find(conn, episode.organization_id).await?;
    let today = organizations::today(conn, episode.organization_id).await?;
    let interviews = episode_interviews::of_episode(conn, episode.id).await?;
    let points = points_of(episode, today, &interviews);
    Ok(Schedule {
        today,
        time_zone: organization.time_zone,
        points: points
            .into_iter()
            .map(|point| {
                let interview = interviews.iter().find(|i| i.point == point.name).cloned();
                (point, interview)
            })
            .collect(),
    })
}

fn points_of(episode: &Episode, today: NaiveDate, interviews: &[Interview]) -> Vec<Point> {
    let dates = EpisodeDates {
        started_on: episode.started_on,
        ended_on: episode.ended_on,
    };
    follow_up::schedule(SUPRT, dates, today, |name| {
        interviews
            .iter()
            .find(|interview| interview.point == name)
            .map(|interview| interview.conducted_on)
    })
}

/// What an interview records.
pub struct Recording {
    pub point: String,
    pub conducted_on: NaiveDate,
    pub conducted_by_name: Option<String>,
    pub mode: InterviewMode,
    pub declined: bool,
    pub assessment_id: Option<Uuid>,
    pub late_reason: Option<String>,
}

/// Records an interview for a point of episode `id` (`scope` must see it, 404 otherwise):
/// 422 for a point the schedule does not have, a date in the future or before the episode,
/// a date outside the point's window without `late_reason`, or an assessment that is not the
/// participant's; 409 for a point cancelled by the episode's end, or one already done.
pub async fn record_interview(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    recording: Recording,
) -> AppResult<Interview> {
    let episode = episodes::lock_visible(conn, scope, id).await?;
    let today = organizations::today(conn, scope.organization_id).await?;
    let interviews = episode_interviews::of_episode(conn, id).await?;
    let points = points_of(&episode, today, &interviews);
    let Some(point) = points.iter().find(|p| p.name == recording.point) else {
        let names: Vec<&str> = points.iter().map(|p| p.name.as_str()).collect();
        let message = format!(
            "is not a point of this episode's schedule ({})",
            names.join(", ")
        );
        return Err(AppError::invalid("point", message));
    };
    match point.state {
        PointState::Done => return Err(recorded_already(&point.name)),
        PointState::NotRequired => {
            return Err(AppError::conflict(
                ProblemType::Conflict,
                format!(
                    "The episode ended before the {} window opened: the point is not required.",
                    point.name
                ),
            ))
        }
        _ => {}
    }
    check_date(&episode, point, today, &recording)?;
    if let Some(assessment_id) = recording.assessment_id {
        let assessment = assessments::find_visible(conn, scope, assessment_id).await;
        if !assessment.is_ok_and(|a| a.participant_id == episode.participant_id) {
            return Err(AppError::invalid(
                "assessment_id",
                "is not an assessment of this participant",
            ));
        }
    }
    let interview = Interview {
        id: Uuid::now_v7(),
        organization_id: episode.organization_id,
        episode_id: episode.id,
        participant_id: episode.participant_id,
        point: recording.point,
        conducted_on: recording.conducted_on,
        conducted_by_name: recording.conducted_by_name,
        mode: recording.mode,
        declined: recording.declined,
        assessment_id: recording.assessment_id,
        late_reason: recording.late_reason,
        recorded_by: scope.user_id,
        created_at: chrono::Utc::now(),
    };
    episode_interviews::insert(conn, &interview)
        .await?
        .ok_or_else(|| recorded_already(&interview.point))
}

fn recorded_already(point: &str) -> AppError {
    AppError::conflict(
        ProblemType::Conflict,
        format!("The {point} interview of this episode is recorded already."),
    )
}

/// 422 for a date after today or before the episode started, or outside the point's window
/// without a `late_reason`.
fn check_date(
    episode: &Episode,
    point: &Point,
    today: NaiveDate,
    recording: &Recording,
) -> AppResult<()> {
    let on = recording.conducted_on;
    let mut checks = Checks::new();
    if on > today {
        checks.add("conducted_on", format!("must not be after today ({today})"));
    } else if on < episode.started_on {
        let started = episode.started_on;
        checks.add(
            "conducted_on",
            format!("must not be before the episode started ({started})"),
        );
    } else if (on < point.window_opens || on > point.window_closes)
        && recording.late_reason.is_none()
    {
        checks.add(
            "conducted_on",
            format!(
                "is outside the {} window ({} to {}); give `late_reason` to record it anyway",
                point.name, point.window_opens, point.window_closes
            ),
        );
    }
    checks.finish()
}

/// Closes the participant's open episode, if any, when they are discharged: today (the
/// organization's calendar, or the episode's start if that is later), reason `other`, the
/// discharge's reason in the note.
pub async fn close_on_discharge(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    reason: &str,
) -> AppResult<()> {
    let today = organizations::today(conn, scope.organization_id).await?;
    let note: String = format!("Discharged: {reason}").chars().take(1000).collect();
    episodes::close_open(conn, participant_id, today, EndReason::Other, &note).await?;
    Ok(())
}
