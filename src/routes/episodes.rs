//! Episodes of care, their follow-up schedule and interviews (SUPRT/GPRA windows). Staff in
//! scope only: admins and supervisors of the organization, coaches for their current
//! caseload; participants and integration clients get 403.

mod types;

use actix_web::{get, post, web, HttpResponse};
use diesel_async::AsyncPgConnection;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::Staff;
use crate::db::models::episodes::{self, Ending};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::scope::{visible_participant, Scope};
use crate::domain::episodes::{self as domain, Opening, Recording};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::validation::Checks;
use crate::http::{self, limits, Created};
use crate::routes::responses::{
    Authenticated, BadRequest, Conflict, Forbidden, JsonBody, NotFound,
};
pub use types::{
    CloseEpisodeRequest, EpisodeResponse, InterviewResponse, ListEpisodesQuery, OpenEpisodeRequest,
    RecordInterviewRequest, SchedulePoint, ScheduleResponse,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(open_episode)
        .service(list_episodes)
        .service(get_episode)
        .service(close_episode)
        .service(get_episode_schedule)
        .service(record_interview);
}

/// Open an episode of care: a participant's (re-)enrolment, which starts a new follow-up
/// schedule.
///
/// Roles: admin, supervisor, coach (current caseload). A participant the caller cannot see is
/// 404. 409 when the participant has an open episode (also when two requests race) or is
/// discharged; 422 when `started_on` is after today in the organization's time zone, or
/// before their previous episode ended.
#[utoipa::path(
    tag = "episodes",
    params(("id" = Uuid, Path, description = "Participant id"), IdempotencyKey),
    request_body = OpenEpisodeRequest,
    responses(
        (status = 201, description = "Opened; `Location` names the episode", body = EpisodeResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/participants/{id}/episodes",
    wrap = "Operation(Action::Create, ResourceType::Episode)"
)]
pub async fn open_episode(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<OpenEpisodeRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.optional_text("program", body.program.as_deref(), limits::PROGRAM);
    checks.optional_text("grant_id", body.grant_id.as_deref(), limits::GRANT_ID);
    checks.optional_text("site_id", body.site_id.as_deref(), limits::SITE_ID);
    checks.finish()?;
    let participant_id = id.into_inner();
    let trimmed = |value: &Option<String>| value.as_deref().map(|v| v.trim().to_owned());
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, target: &mut Target| {
        let opening = Opening {
            started_on: body.started_on,
            program: trimmed(&body.program),
            grant_id: trimmed(&body.grant_id),
            site_id: trimmed(&body.site_id),
        };
        let episode = domain::open(conn, scope, participant_id, opening).await?;
        target.set_id(episode.id);
        Ok(created(episode))
    };
    let show = async |conn: &mut AsyncPgConnection, scope: Scope, id, target: &mut Target| {
        let episode = episodes::find_visible(conn, scope, id).await?;
        target.set_participant(episode.participant_id);
        Ok(created(episode))
    };
    let target = user.target().participant(participant_id);
    user.create(target, &key, &body, make, show).await
}

fn created(episode: episodes::Episode) -> Created<EpisodeResponse> {
    let id = episode.id;
    Created {
        id,
        location: format!("/api/v1/episodes/{id}"),
        body: EpisodeResponse::from(episode),
    }
}

/// List a participant's episodes, latest start first.
///
/// Roles: admin, supervisor, coach (current caseload). A participant the caller cannot see
/// is 404.
#[utoipa::path(
    tag = "episodes",
    params(("id" = Uuid, Path, description = "Participant id"), ListEpisodesQuery),
    responses(
        (status = 200, description = "A page of episodes", body = Page<EpisodeResponse>),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/participants/{id}/episodes",
    wrap = "Operation(Action::List, ResourceType::Episode)"
)]
pub async fn list_episodes(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    Query(query): Query<ListEpisodesQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let before = match &page.cursor {
        None => None,
        Some(Cursor::AfterKey(day, id)) => Some((day.parse().map_err(|_| bad_cursor())?, *id)),
        Some(Cursor::After(_)) => return Err(bad_cursor()),
    };
    let participant_id = id.into_inner();
    let target = user.target().participant(participant_id);
    let rows = user
        .read(target, async |conn, scope, _| {
            visible_participant(conn, scope, participant_id).await?;
            let limit = page.fetch_limit();
            Ok(episodes::list(conn, participant_id, before, limit).await?)
        })
        .await?;
    let page = page.finish(
        rows,
        |e| Cursor::AfterKey(e.started_on.to_string(), e.id),
        EpisodeResponse::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

fn bad_cursor() -> AppError {
    AppError::BadRequest("Query parameter `cursor` is not a cursor this API issued.".into())
}

/// Get one episode.
///
/// Roles: admin, supervisor, coach (current caseload); anything else in scope is 404.
#[utoipa::path(
    tag = "episodes",
    params(("id" = Uuid, Path, description = "Episode id")),
    responses(
        (status = 200, description = "The episode", body = EpisodeResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/episodes/{id}",
    wrap = "Operation(Action::Read, ResourceType::Episode)"
)]
pub async fn get_episode(Staff(user): Staff, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let episode = user
        .read(target, async |conn, scope, target| {
            let episode = episodes::find_visible(conn, scope, id).await?;
            target.set_participant(episode.participant_id);
            Ok(EpisodeResponse::from(episode))
        })
        .await?;
    Ok(http::ok(&episode))
}

/// Close an episode.
///
/// Roles: admin, supervisor, coach (current caseload). 409 when it is closed already; 422
/// unless `ended_on` is after `started_on` and not after today (the organization's time
/// zone). Points whose window had not opened by `ended_on` become `not_required`; the
/// closeout point opens. Discharging the participant closes their open episode too.
#[utoipa::path(
    tag = "episodes",
    params(("id" = Uuid, Path, description = "Episode id")),
    request_body = CloseEpisodeRequest,
    responses(
        (status = 200, description = "The episode, closed", body = EpisodeResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/episodes/{id}/close",
    wrap = "Operation(Action::ChangeStatus, ResourceType::Episode)"
)]
pub async fn close_episode(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    Json(body): Json<CloseEpisodeRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.optional_text("note", body.note.as_deref(), limits::REASON);
    checks.finish()?;
    let ending = Ending {
        ended_on: body.ended_on,
        reason: body.reason,
        note: body.note.as_deref().map(|n| n.trim().to_owned()),
    };
    let id = id.into_inner();
    let target = user.target().id(id);
    let closed = user
        .write(target, async |conn, scope, target| {
            let episode = episodes::find_visible(conn, scope, id).await?;
            target.set_participant(episode.participant_id);
            let closed = domain::close(conn, scope, id, &ending).await?;
            Ok(EpisodeResponse::from(closed))
        })
        .await?;
    Ok(http::ok(&closed))
}

/// The episode's follow-up schedule: each point's due date, window and state today.
///
/// Roles: admin, supervisor, coach (current caseload). Points: `baseline` (within 30 days of
/// the start), `reassessment_6m` (180 days after the baseline interview, ±30 days),
/// `annual_<n>` (each anniversary of the baseline interview, ±30 days) and, once the episode
/// has ended, `closeout` (within 30 days after the end); until the baseline interview is done
/// the start stands in for it. States: `done` (an interview is recorded), `not_required` (the
/// episode ended before the window opened), `upcoming`, `open` (the window is open and the
/// due date not passed), `overdue` (past due, window still open), `missed` (the window closed).
/// Dates are calendar dates in the organization's time zone; `today` is the date there now.
/// Points are listed up to the first one whose window opens after today (or after the end).
#[utoipa::path(
    tag = "episodes",
    params(("id" = Uuid, Path, description = "Episode id")),
    responses(
        (status = 200, description = "The schedule", body = ScheduleResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/episodes/{id}/schedule",
    wrap = "Operation(Action::Read, ResourceType::Episode)"
)]
pub async fn get_episode_schedule(
    Staff(user): Staff,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let schedule = user
        .read(target, async |conn, scope, target| {
            let episode = episodes::find_visible(conn, scope, id).await?;
            target.set_participant(episode.participant_id);
            let schedule = domain::schedule(conn, &episode).await?;
            Ok(ScheduleResponse {
                episode_id: id,
                today: schedule.today,
                time_zone: schedule.time_zone,
                points: schedule
                    .points
                    .into_iter()
                    .map(|(point, interview)| SchedulePoint {
                        point: point.name,
                        due: point.due,
                        window_opens: point.window_opens,
                        window_closes: point.window_closes,
                        state: point.state,
                        interview: interview.map(InterviewResponse::from),
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(schedule))
}

/// Record a follow-up interview for a point of the episode's schedule.
///
/// Roles: admin, supervisor, coach (current caseload). One interview per point: 409 for a
/// second, and for a point the episode's end made `not_required`. 422 for a point the
/// schedule does not have, a `conducted_on` after today or before the episode started, or
/// outside the point's window without `late_reason`, and for an `assessment_id` that is not
/// the participant's. `declined: true` records that the participant declined; the point
/// still counts as done.
#[utoipa::path(
    tag = "episodes",
    params(("id" = Uuid, Path, description = "Episode id"), IdempotencyKey),
    request_body = RecordInterviewRequest,
    responses(
        (status = 201, description = "Recorded", body = InterviewResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/episodes/{id}/interviews",
    wrap = "Operation(Action::Create, ResourceType::FollowUpInterview)"
)]
pub async fn record_interview(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<RecordInterviewRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    let name = body.conducted_by_name.as_deref();
    checks.optional_text("conducted_by_name", name, limits::DISPLAY_NAME);
    checks.optional_text("late_reason", body.late_reason.as_deref(), limits::REASON);
    checks.finish()?;
    let episode_id = id.into_inner();
    let trimmed = |value: &Option<String>| value.as_deref().map(|v| v.trim().to_owned());
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, target: &mut Target| {
        let recording = Recording {
            point: body.point.trim().to_owned(),
            conducted_on: body.conducted_on,
            conducted_by_name: trimmed(&body.conducted_by_name),
            mode: body.mode,
            declined: body.declined,
            assessment_id: body.assessment_id,
            late_reason: trimmed(&body.late_reason),
        };
        let interview = domain::record_interview(conn, scope, episode_id, recording).await?;
        target.set_id(interview.id);
        target.set_participant(interview.participant_id);
        Ok(interview_created(interview))
    };
    let show = async |conn: &mut AsyncPgConnection, scope: Scope, id, target: &mut Target| {
        let episode = episodes::find_visible(conn, scope, episode_id).await?;
        target.set_participant(episode.participant_id);
        let interviews =
            crate::db::models::episode_interviews::of_episode(conn, episode_id).await?;
        let interview = interviews
            .into_iter()
            .find(|i| i.id == id)
            .ok_or(AppError::NotFound)?;
        Ok(interview_created(interview))
    };
    let target = user.target();
    user.create(target, &key, &body, make, show).await
}

fn interview_created(
    interview: crate::db::models::episode_interviews::Interview,
) -> Created<InterviewResponse> {
    let (id, episode_id) = (interview.id, interview.episode_id);
    Created {
        id,
        location: format!("/api/v1/episodes/{episode_id}/schedule"),
        body: InterviewResponse::from(interview),
    }
}
