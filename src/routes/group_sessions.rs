//! Group sessions: groups run by the organization's staff, and who attended them.
//!
//! A session's attendance list names participants, so who sees which entries is part of the
//! query ([`group_attendance::visible_attendees`]): supervisors, admins and the session's
//! facilitators see every entry; any other coach sees only the participants on their own
//! current caseload, and the response says so (`attendance_visible`). A participant's own
//! record (`GET /participants/{id}/group-attendance`) lists the sessions with that
//! participant's status alone.

mod attendance;
mod types;

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use diesel_async::AsyncPgConnection;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::Staff;
use crate::db::models::group_attendance;
use crate::db::models::group_sessions::{
    self, After, GroupSessionFilter, NewGroupSession, WithFacilitators,
};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::scope::Scope;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::{self, Created};
use crate::routes::responses::{Authenticated, BadRequest, Forbidden, JsonBody, NotFound};

pub use types::{
    AttendanceEntry, AttendanceList, AttendanceVisibility, AttendeeResponse,
    CreateGroupSessionRequest, GroupAttendanceResponse, GroupSessionResponse, GroupSessionSummary,
    ListGroupAttendanceQuery, ListGroupSessionsQuery,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_group_session)
        .service(list_group_sessions)
        .service(get_group_session)
        .service(attendance::set_group_attendance)
        .service(attendance::list_group_attendance);
}

/// The session as `scope` may see it, naming in the audit row every participant shown.
async fn show(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    (session, facilitators): WithFacilitators,
    target: &mut Target,
) -> AppResult<GroupSessionResponse> {
    let attendees = group_attendance::visible_attendees(conn, scope, session.id).await?;
    target.set_participants(attendees.iter().map(|a| a.participant_id));
    Ok(GroupSessionResponse::new(
        scope,
        session,
        facilitators,
        attendees,
    ))
}

/// The cursor of a list ordered by time, newest first, then by id.
fn time_cursor(at: DateTime<Utc>, id: Uuid) -> Cursor {
    Cursor::AfterKey(at.to_rfc3339_opts(SecondsFormat::Micros, true), id)
}

/// Where the page starts, from a cursor made by [`time_cursor`] (400 for any other).
fn after(page: &PageRequest) -> AppResult<After> {
    let bad =
        || AppError::BadRequest("Query parameter `cursor` is not a cursor this API issued.".into());
    match &page.cursor {
        None => Ok(None),
        Some(Cursor::AfterKey(at, id)) => DateTime::parse_from_rfc3339(at)
            .map(|at| Some((at.with_timezone(&Utc), *id)))
            .map_err(|_| bad()),
        Some(Cursor::After(_)) => Err(bad()),
    }
}

/// Record a group session that took place.
///
/// Roles: admin, supervisor, coach (of the organization); participants and integration
/// clients get 403. `kind` is one of `peer_support`, `recovery_skills`, `mutual_aid`,
/// `wellness`, `family`, `other`. `occurred_at` may be at most 5 minutes in the future (a
/// session is recorded once it has started) and not before 2000-01-01. `facilitator_ids` names
/// at least one active coach, supervisor or admin of the organization, each once; 422 names
/// each entry that is not (`facilitator_ids[2]`). The session starts with an empty attendance
/// list: set it with `PUT /group-sessions/{id}/attendance`.
#[utoipa::path(
    tag = "group-sessions",
    request_body = CreateGroupSessionRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created; `Location` names the session", body = GroupSessionResponse),
        Authenticated, JsonBody, Forbidden,
    ),
    security(("bearer" = []))
)]
#[post(
    "/group-sessions",
    wrap = "Operation(Action::Create, ResourceType::GroupSession)"
)]
pub async fn create_group_session(
    Staff(user): Staff,
    key: IdempotencyKey,
    Json(body): Json<CreateGroupSessionRequest>,
) -> AppResult<HttpResponse> {
    types::validate_create(&body)?;
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, target: &mut Target| {
        let ids = &body.facilitator_ids;
        let eligible =
            group_sessions::eligible_facilitators(conn, scope.organization_id, ids).await?;
        let message = "is not an active coach, supervisor or admin of this organization";
        let field = |index| format!("facilitator_ids[{index}]");
        types::unknown_ids(ids.iter().copied(), &eligible, field, message)?;
        let new = NewGroupSession {
            id: Uuid::now_v7(),
            organization_id: scope.organization_id,
            title: body.title.trim(),
            kind: body.kind,
            occurred_at: body.occurred_at,
            duration_minutes: i32::try_from(body.duration_minutes).unwrap_or(i32::MAX),
            summary: body.summary.as_deref().map(str::trim),
            created_by: scope.user_id,
        };
        let id = group_sessions::insert(conn, &new, ids).await?;
        target.set_id(id);
        created(conn, scope, id, target).await
    };
    let target = user.target();
    user.create(target, &key, &body, make, created).await
}

/// The created (or replayed) session, read back through the caller's scope.
async fn created(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    target: &mut Target,
) -> AppResult<Created<GroupSessionResponse>> {
    let session = group_sessions::find_visible(conn, scope, id).await?;
    Ok(Created {
        id,
        location: format!("/api/v1/group-sessions/{id}"),
        body: show(conn, scope, session, target).await?,
    })
}

/// List the organization's group sessions, newest first (`occurred_at`, then id).
///
/// Roles: admin, supervisor, coach (of the organization); participants and integration
/// clients get 403 (a participant reads their own record at
/// `GET /participants/{id}/group-attendance`). Items carry no attendance: read one session
/// for the entries the caller may see.
#[utoipa::path(
    tag = "group-sessions",
    params(ListGroupSessionsQuery),
    responses(
        (status = 200, description = "A page of sessions", body = Page<GroupSessionSummary>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get(
    "/group-sessions",
    wrap = "Operation(Action::List, ResourceType::GroupSession)"
)]
pub async fn list_group_sessions(
    Staff(user): Staff,
    Query(query): Query<ListGroupSessionsQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let after = after(&page)?;
    let filter = GroupSessionFilter {
        kind: query.kind,
        facilitator_id: query.facilitator_id,
    };
    let fetch = page.fetch_limit();
    let target = user.target();
    let rows = user
        .read(target, async |conn, scope, _| {
            Ok(group_sessions::list(conn, scope, &filter, after, fetch).await?)
        })
        .await?;
    let cursor = |(s, _): &WithFacilitators| time_cursor(s.occurred_at, s.id);
    let page = page.finish(rows, cursor, GroupSessionSummary::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Get one group session with the part of its attendance list the caller may see.
///
/// Roles: admin, supervisor, coach (of the organization); participants and integration
/// clients get 403; another organization's session is 404. Supervisors, admins and the
/// session's facilitators see every entry (`attendance_visible: all`). Any other coach sees
/// only the entries of participants on their current caseload (`attendance_visible:
/// caseload`), so a coach never learns that someone outside their caseload attended.
#[utoipa::path(
    tag = "group-sessions",
    params(("id" = Uuid, Path, description = "Group session id")),
    responses(
        (status = 200, description = "The session; `ETag` identifies this version", body = GroupSessionResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/group-sessions/{id}",
    wrap = "Operation(Action::Read, ResourceType::GroupSession)"
)]
pub async fn get_group_session(Staff(user): Staff, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let session = user
        .read(target, async |conn, scope, target| {
            let session = group_sessions::find_visible(conn, scope, id).await?;
            show(conn, scope, session, target).await
        })
        .await?;
    Ok(http::ok(&session))
}
