//! A session's attendance list, and one participant's attendance record.

use actix_web::{get, put, web, HttpResponse};
use uuid::Uuid;

use super::types::{self, AttendanceEntry, AttendanceList};
use super::{after, show, time_cursor, GroupAttendanceResponse, GroupSessionResponse};
use super::{ListGroupAttendanceQuery, WithFacilitators};
use crate::audit::{Action, Operation, ResourceType};
use crate::auth::{AuthUser, Staff};
use crate::db::models::group_attendance::{self, AttendanceRecord};
use crate::db::models::group_sessions;
use crate::db::pagination::{Page, PageRequest};
use crate::http;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Json, Query};
use crate::routes::responses::{Authenticated, BadRequest, Forbidden, JsonBody, NotFound};

/// Replace a group session's attendance list.
///
/// Roles: the session's facilitators, supervisors and admins. Any other coach gets 403 (they
/// may read the organization's sessions but not set who attended), whether or not the session
/// exists; participants and integration clients get 403; for supervisors and admins another
/// organization's session is 404. The body is the whole
/// new list: entries left out are removed, in one transaction. Each `participant_id` is named
/// once and must be a participant the caller may add: for supervisors and admins any of the
/// organization's; for a facilitating coach one on their current caseload, or one already on
/// the list (a coach cannot add someone else's participant, which would show them that
/// person's name and record a contact on another caseload). 422 names each entry that is not
/// (`[2].participant_id`), with the same words whether that participant exists or not. The
/// answer is the session with its full list.
#[utoipa::path(
    tag = "group-sessions",
    params(("id" = Uuid, Path, description = "Group session id")),
    request_body = AttendanceList,
    responses(
        (status = 200, description = "The session with its new attendance list", body = GroupSessionResponse),
        Authenticated, JsonBody, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[put(
    "/group-sessions/{id}/attendance",
    wrap = "Operation(Action::SetAttendance, ResourceType::GroupSession)"
)]
pub async fn set_group_attendance(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    Json(body): Json<Vec<AttendanceEntry>>,
) -> AppResult<HttpResponse> {
    let entries = types::validate_attendance(&body)?;
    let id = id.into_inner();
    let target = user.target().id(id);
    let session = user
        .write(target, async |conn, scope, target| {
            // Checked by id first, so a coach's 403 is the same whether the session exists.
            if !scope.is_supervisor() && !group_sessions::facilitates(conn, scope, id).await? {
                return Err(AppError::Forbidden);
            }
            let (session, facilitators): WithFacilitators =
                group_sessions::lock_visible(conn, scope, id).await?;
            let ids: Vec<Uuid> = entries.iter().map(|(id, _)| *id).collect();
            let known = group_attendance::may_list(conn, scope, id, &ids).await?;
            // The same words whether the participant exists elsewhere or not at all.
            let message = match scope.is_supervisor() {
                true => "is not a participant of this organization",
                false => "is not a participant on your caseload or already on this list",
            };
            let field = |index| format!("[{index}].participant_id");
            types::unknown_ids(ids.iter().copied(), &known, field, message)?;
            let removed =
                group_attendance::replace(conn, &session, &entries, scope.user_id).await?;
            let shown = show(conn, scope, (session, facilitators), target).await?;
            target.set_participants(ids.into_iter().chain(removed));
            Ok(shown)
        })
        .await?;
    Ok(http::ok(&session))
}

/// List the group sessions a participant is on the attendance list of, newest first.
///
/// Roles: admin, supervisor, coach (current caseload only), participant (their own record);
/// integration clients get 403; anyone else, a former coach included, gets 404. Each item is
/// the session's title, kind, time and length with this participant's own status: never the
/// other attendees, their number, or the session's summary.
#[utoipa::path(
    tag = "group-sessions",
    params(("id" = Uuid, Path, description = "Participant id"), ListGroupAttendanceQuery),
    responses(
        (status = 200, description = "A page of the participant's attendance", body = Page<GroupAttendanceResponse>),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/participants/{id}/group-attendance",
    wrap = "Operation(Action::List, ResourceType::GroupAttendance)"
)]
pub async fn list_group_attendance(
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<ListGroupAttendanceQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let after = after(&page)?;
    let id = id.into_inner();
    let target = user.target().participant(id);
    let fetch = page.fetch_limit();
    let rows = user
        .read(target, async |conn, scope, target| {
            crate::db::scope::visible_participant(conn, scope, id).await?;
            let rows = group_attendance::of_participant(conn, scope, id, after, fetch).await?;
            target.set_participants([id]);
            Ok(rows)
        })
        .await?;
    let cursor = |r: &AttendanceRecord| time_cursor(r.occurred_at, r.group_session_id);
    let page = page.finish(rows, cursor, GroupAttendanceResponse::from);
    Ok(HttpResponse::Ok().json(page))
}
