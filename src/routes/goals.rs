//! Goals: the recovery plan a participant works on with their coach, with its status,
//! action items ([`action_items`]) and progress log ([`progress`]).
//!
//! Who may do what: staff in scope (admins and supervisors of the organization, the coach of
//! the participant's current pairing) do everything; a participant reads their own goals,
//! sets new ones and logs progress on them, and every other change is 403 to them.
//! Integration clients never see goals (403). Anyone else is 404.

mod action_items;
mod progress;
mod requests;
mod views;

use actix_web::{get, patch, post, web, HttpResponse};
use diesel_async::AsyncPgConnection;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::{AuthUser, Staff};
use crate::db::models::goals::{self, Goal, GoalFilter};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::scope::Scope;
use crate::domain::lifecycle::{Change, GOAL};
use crate::http::error::{AppError, AppResult, ProblemType};
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::{self, Created, IfMatch};
use crate::routes::responses::{
    Authenticated, BadRequest, Conflict, Forbidden, JsonBody, NotFound, PreconditionFailed,
};

use requests::{new_goal, validate_create, validate_status, validate_update};
pub use requests::{
    CreateActionItemRequest, CreateGoalRequest, CreateProgressRequest, GoalStatusRequest,
    ListGoalsQuery, UpdateActionItemRequest, UpdateGoalRequest, REASON_REQUIRED,
};
pub use views::{ActionItemResponse, GoalResponse, GoalSummary, ProgressEntryResponse};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_goal)
        .service(list_goals)
        .service(get_goal)
        .service(update_goal)
        .service(change_goal_status)
        .service(action_items::create_action_item)
        .service(action_items::get_action_item)
        .service(action_items::update_action_item)
        .service(progress::create_progress_entry)
        .service(progress::list_progress_entries)
        .service(progress::get_progress_entry);
}

fn location(id: Uuid) -> String {
    format!("/api/v1/goals/{id}")
}

/// 409 when the goal is achieved or abandoned: it takes no new action items or progress.
fn ensure_open(goal: &Goal) -> AppResult<()> {
    if goal.status.is_closed() {
        return Err(AppError::conflict(
            ProblemType::GoalClosed,
            format!(
                "The goal is `{}`; its action items and progress log are closed.",
                goal.status
            ),
        ));
    }
    Ok(())
}

/// Set a goal for a participant.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own record). The
/// goal starts `active`. A participant the caller cannot see is 404.
#[utoipa::path(
    tag = "goals",
    params(("id" = Uuid, Path, description = "Participant id"), IdempotencyKey),
    request_body = CreateGoalRequest,
    responses(
        (status = 201, description = "Created; `Location` names the goal", body = GoalResponse),
        Authenticated, JsonBody, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[post(
    "/participants/{id}/goals",
    wrap = "Operation(Action::Create, ResourceType::Goal)"
)]
pub async fn create_goal(
    user: AuthUser,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<CreateGoalRequest>,
) -> AppResult<HttpResponse> {
    validate_create(&body)?;
    let participant_id = id.into_inner();
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, _: &mut Target| {
        let new = new_goal(scope, participant_id, &body);
        let (first, entry) = GOAL.first(new.id, new.status, scope.user_id);
        let goal = goals::insert_visible(conn, scope, &new, &first).await?;
        Ok(Created {
            id: goal.id,
            location: location(goal.id),
            body: views::new(goal, entry),
        })
    };
    let target = user.target().participant(participant_id);
    user.create(target, &key, &body, make, created).await
}

/// The created (or replayed) goal, read back through the caller's scope.
async fn created(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    target: &mut Target,
) -> AppResult<Created<GoalResponse>> {
    let goal = goals::find_visible(conn, scope, id).await?;
    target.set_participant(goal.participant_id);
    Ok(Created {
        id,
        location: location(id),
        body: views::show(conn, goal).await?,
    })
}

/// List a participant's goals, oldest first.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own record). A
/// participant the caller cannot see is 404. An unknown `status` or `domain` is 400.
#[utoipa::path(
    tag = "goals",
    params(("id" = Uuid, Path, description = "Participant id"), ListGoalsQuery),
    responses(
        (status = 200, description = "A page of goals", body = Page<GoalSummary>),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/participants/{id}/goals",
    wrap = "Operation(Action::List, ResourceType::Goal)"
)]
pub async fn list_goals(
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<ListGoalsQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let filter = GoalFilter {
        status: query.status,
        domain: query.domain,
    };
    let participant_id = id.into_inner();
    let target = user.target().participant(participant_id);
    let rows = user
        .read(target, async |conn, scope, target| {
            crate::db::scope::visible_participant(conn, scope, participant_id).await?;
            let rows = goals::list(conn, scope, participant_id, &filter, &page).await?;
            target.set_participants(page.shown(&rows).iter().map(|r| r.goal.participant_id));
            Ok(rows)
        })
        .await?;
    let page = page.finish(rows, |r| Cursor::After(r.goal.id), GoalSummary::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Get one goal with its open action items, latest progress and status history.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own goals).
/// Anything else is 404.
#[utoipa::path(
    tag = "goals",
    params(("id" = Uuid, Path, description = "Goal id")),
    responses(
        (status = 200, description = "The goal; `ETag` identifies this version", body = GoalResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get("/goals/{id}", wrap = "Operation(Action::Read, ResourceType::Goal)")]
pub async fn get_goal(user: AuthUser, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let goal = user
        .read(target, async |conn, scope, target| {
            let goal = goals::find_visible(conn, scope, id).await?;
            target.set_participant(goal.participant_id);
            views::show(conn, goal).await
        })
        .await?;
    Ok(http::ok(&goal))
}

/// Update a goal's title, description, domain or target date.
///
/// Roles: admin, supervisor, coach (current caseload); participants may not (403). Works on
/// closed goals too, to correct their wording. Send `If-Match` with the `ETag` you read to get
/// 412 instead of overwriting a change.
#[utoipa::path(
    tag = "goals",
    params(("id" = Uuid, Path, description = "Goal id"), IfMatch),
    request_body = UpdateGoalRequest,
    responses(
        (status = 200, description = "The updated goal", body = GoalResponse),
        Authenticated, JsonBody, Forbidden, NotFound, PreconditionFailed,
    ),
    security(("bearer" = []))
)]
#[patch("/goals/{id}", wrap = "Operation(Action::Update, ResourceType::Goal)")]
pub async fn update_goal(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<UpdateGoalRequest>,
) -> AppResult<HttpResponse> {
    let changes = validate_update(body)?;
    let id = id.into_inner();
    let target = user.target().id(id);
    let updated = user
        .write(target, async |conn, scope, target| {
            let current = goals::lock_visible(conn, scope, id).await?;
            target.set_participant(current.participant_id);
            if if_match.is_set() {
                if_match.check(&views::show(conn, current).await?)?;
            }
            let updated = goals::update(conn, id, &changes).await?;
            views::show(conn, updated).await
        })
        .await?;
    Ok(http::ok(&updated))
}

/// Change a goal's status.
///
/// Roles: admin, supervisor, coach (current caseload); participants may not (403). Allowed
/// moves: `active ↔ paused`, `active | paused → achieved | abandoned`; `achieved` and
/// `abandoned` are final. 409 for any other move, naming the allowed ones. Abandoning needs a
/// reason.
#[utoipa::path(
    tag = "goals",
    params(("id" = Uuid, Path, description = "Goal id")),
    request_body = GoalStatusRequest,
    responses(
        (status = 200, description = "The goal after the change, with its history", body = GoalResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/goals/{id}/status",
    wrap = "Operation(Action::ChangeStatus, ResourceType::Goal)"
)]
pub async fn change_goal_status(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    Json(body): Json<GoalStatusRequest>,
) -> AppResult<HttpResponse> {
    validate_status(&body)?;
    let id = id.into_inner();
    let target = user.target().id(id);
    let updated = user
        .write(target, async |conn, scope, target| {
            let current = goals::lock_visible(conn, scope, id).await?;
            target.set_participant(current.participant_id);
            let change = Change {
                subject_id: id,
                from: Some(current.status),
                to: body.status,
                reason: body.reason.as_deref(),
                actor_id: scope.user_id,
            };
            GOAL.record(conn, change).await?;
            let updated = goals::set_status(conn, id, body.status).await?;
            views::show(conn, updated).await
        })
        .await?;
    Ok(http::ok(&updated))
}

#[cfg(test)]
mod tests {
    use crate::db::models::goals::GoalStatus;

    #[test]
    fn only_open_goals_take_new_work() {
        let open = [GoalStatus::Active, GoalStatus::Paused];
        assert!(open.iter().all(|s| !s.is_closed()));
        assert!(GoalStatus::Achieved.is_closed() && GoalStatus::Abandoned.is_closed());
    }
}
