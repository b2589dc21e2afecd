//! The progress log of a goal: staff in scope and the participant add entries and read them.

use actix_web::{get, post, web, HttpResponse};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::requests::validate_progress;
use super::views::ProgressEntryResponse;
use super::{ensure_open, CreateProgressRequest};
use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::AuthUser;
use crate::db::models::goal_progress::{self, NewProgressEntry};
use crate::db::models::goals;
use crate::db::pagination::{Cursor, Page, PageQuery, PageRequest};
use crate::db::scope::Scope;
use crate::http::error::AppResult;
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::{self, Created};
use crate::routes::responses::{
    Authenticated, BadRequest, Conflict, Forbidden, JsonBody, NotFound,
};

/// Log progress on a goal.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own goals). 409 when
/// the goal is achieved or abandoned.
#[utoipa::path(
    tag = "goals",
    params(("id" = Uuid, Path, description = "Goal id"), IdempotencyKey),
    request_body = CreateProgressRequest,
    responses(
        (status = 201, description = "Created; `Location` names the entry", body = ProgressEntryResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/goals/{id}/progress",
    wrap = "Operation(Action::Create, ResourceType::GoalProgress)"
)]
pub async fn create_progress_entry(
    user: AuthUser,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<CreateProgressRequest>,
) -> AppResult<HttpResponse> {
    let percent_complete = validate_progress(&body)?;
    let goal_id = id.into_inner();
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, target: &mut Target| {
        // Locked, so the goal cannot close while the entry is written.
        let goal = goals::lock_visible(conn, scope, goal_id).await?;
        target.set_participant(goal.participant_id);
        ensure_open(&goal)?;
        let entry = NewProgressEntry {
            id: Uuid::now_v7(),
            goal_id,
            participant_id: goal.participant_id,
            note: body.note.trim().to_owned(),
            percent_complete,
            author_id: scope.user_id,
        };
        Ok(created(goal_progress::insert(conn, &entry).await?))
    };
    let show = async |conn: &mut AsyncPgConnection, scope: Scope, id: Uuid, target: &mut Target| {
        let entry = goal_progress::find_visible(conn, scope, goal_id, id).await?;
        target.set_participant(entry.participant_id);
        Ok(created(entry))
    };
    let target = user.target();
    user.create(target, &key, &body, make, show).await
}

/// A goal's progress log, newest first.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own goals). A goal
/// the caller cannot see is 404.
#[utoipa::path(
    tag = "goals",
    params(
        ("id" = Uuid, Path, description = "Goal id"),
        ("limit" = inline(Option<limits::PageSize>), Query, description = "Page size"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of progress entries", body = Page<ProgressEntryResponse>),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/goals/{id}/progress",
    wrap = "Operation(Action::List, ResourceType::GoalProgress)"
)]
pub async fn list_progress_entries(
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let goal_id = id.into_inner();
    let target = user.target().id(goal_id);
    let rows = user
        .read(target, async |conn, scope, target| {
            let goal = goals::find_visible(conn, scope, goal_id).await?;
            target.set_participant(goal.participant_id);
            let rows =
                goal_progress::list(conn, scope, goal.participant_id, goal_id, &page).await?;
            target.set_participants(page.shown(&rows).iter().map(|e| e.participant_id));
            Ok(rows)
        })
        .await?;
    let page = page.finish(rows, |e| Cursor::After(e.id), ProgressEntryResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// One entry of a goal's progress log.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own goals).
/// Anything else is 404.
#[utoipa::path(
    tag = "goals",
    params(
        ("id" = Uuid, Path, description = "Goal id"),
        ("entry_id" = Uuid, Path, description = "Progress entry id"),
    ),
    responses(
        (status = 200, description = "The entry; `ETag` identifies this version", body = ProgressEntryResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/goals/{id}/progress/{entry_id}",
    wrap = "Operation(Action::Read, ResourceType::GoalProgress)"
)]
pub async fn get_progress_entry(
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> AppResult<HttpResponse> {
    let (goal_id, id) = path.into_inner();
    let target = user.target().id(id);
    let entry = user
        .read(target, async |conn, scope, target| {
            let entry = goal_progress::find_visible(conn, scope, goal_id, id).await?;
            target.set_participant(entry.participant_id);
            Ok(entry)
        })
        .await?;
    Ok(http::ok(&ProgressEntryResponse::from(entry)))
}

fn created(entry: goal_progress::ProgressEntry) -> Created<ProgressEntryResponse> {
    Created {
        id: entry.id,
        location: format!("/api/v1/goals/{}/progress/{}", entry.goal_id, entry.id),
        body: ProgressEntryResponse::from(entry),
    }
}
