//! Action items: the steps towards a goal. Staff in scope add and change them; the
//! participant reads them.

use actix_web::{get, patch, post, web, HttpResponse};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::requests::{
    action_item_changes, new_action_item, validate_action_item, validate_action_item_update,
};
use super::views::ActionItemResponse;
use super::{ensure_open, CreateActionItemRequest, UpdateActionItemRequest};
use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::{AuthUser, Staff};
use crate::db::models::action_items;
use crate::db::models::goals;
use crate::db::scope::Scope;
use crate::http::error::{AppError, AppResult, ProblemType};
use crate::http::extract::Json;
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::{self, Created, IfMatch};
use crate::routes::responses::{
    Authenticated, BadRequest, Conflict, Forbidden, JsonBody, NotFound, PreconditionFailed,
};

/// Add an action item to a goal.
///
/// Roles: admin, supervisor, coach (current caseload); participants may not (403). 409 when
/// the goal is achieved or abandoned, or already has the most open action items allowed.
#[utoipa::path(
    tag = "goals",
    params(("id" = Uuid, Path, description = "Goal id"), IdempotencyKey),
    request_body = CreateActionItemRequest,
    responses(
        (status = 201, description = "Created; `Location` names the action item", body = ActionItemResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/goals/{id}/action-items",
    wrap = "Operation(Action::Create, ResourceType::ActionItem)"
)]
pub async fn create_action_item(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<CreateActionItemRequest>,
) -> AppResult<HttpResponse> {
    validate_action_item(&body)?;
    let goal_id = id.into_inner();
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, target: &mut Target| {
        // The goal's lock serialises concurrent additions, so the count holds.
        let goal = goals::lock_visible(conn, scope, goal_id).await?;
        target.set_participant(goal.participant_id);
        ensure_open(&goal)?;
        let most = limits::OPEN_ACTION_ITEMS.max;
        if action_items::count_open(conn, goal_id).await? >= most as i64 {
            return Err(AppError::conflict(
                ProblemType::TooManyActionItems,
                format!("A goal holds at most {most} open action items."),
            ));
        }
        let item = action_items::insert(conn, &new_action_item(scope, &goal, &body)).await?;
        Ok(created(item))
    };
    let show = async |conn: &mut AsyncPgConnection, scope: Scope, id: Uuid, target: &mut Target| {
        let item = action_items::find_visible(conn, scope, id).await?;
        target.set_participant(item.participant_id);
        Ok(created(item))
    };
    let target = user.target();
    user.create(target, &key, &body, make, show).await
}

fn created(item: action_items::ActionItem) -> Created<ActionItemResponse> {
    Created {
        id: item.id,
        location: format!("/api/v1/action-items/{}", item.id),
        body: ActionItemResponse::from(item),
    }
}

/// Get one action item.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own). Anything else
/// is 404.
#[utoipa::path(
    tag = "goals",
    params(("id" = Uuid, Path, description = "Action item id")),
    responses(
        (status = 200, description = "The action item; `ETag` identifies this version", body = ActionItemResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/action-items/{id}",
    wrap = "Operation(Action::Read, ResourceType::ActionItem)"
)]
pub async fn get_action_item(user: AuthUser, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let item = user
        .read(target, async |conn, scope, target| {
            let item = action_items::find_visible(conn, scope, id).await?;
            target.set_participant(item.participant_id);
            Ok(item)
        })
        .await?;
    Ok(http::ok(&ActionItemResponse::from(item)))
}

/// Change an action item: its title, its due date, or whether it is completed.
///
/// Roles: admin, supervisor, coach (current caseload); participants may not (403).
/// `completed: true` records `completed_at`; `false` clears it. 409 when the goal is achieved
/// or abandoned. Send `If-Match` with the `ETag` you read to get 412 instead of overwriting a
/// change.
#[utoipa::path(
    tag = "goals",
    params(("id" = Uuid, Path, description = "Action item id"), IfMatch),
    request_body = UpdateActionItemRequest,
    responses(
        (status = 200, description = "The updated action item", body = ActionItemResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict, PreconditionFailed,
    ),
    security(("bearer" = []))
)]
#[patch(
    "/action-items/{id}",
    wrap = "Operation(Action::Update, ResourceType::ActionItem)"
)]
pub async fn update_action_item(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<UpdateActionItemRequest>,
) -> AppResult<HttpResponse> {
    validate_action_item_update(&body)?;
    let id = id.into_inner();
    let target = user.target().id(id);
    let updated = user
        .write(target, async |conn, scope, target| {
            let item = action_items::lock_visible(conn, scope, id).await?;
            target.set_participant(item.participant_id);
            ensure_open(&goals::find_visible(conn, scope, item.goal_id).await?)?;
            if_match.check(&ActionItemResponse::from(item.clone()))?;
            let changes = action_item_changes(&item, &body);
            Ok(action_items::update(conn, id, &changes).await?)
        })
        .await?;
    Ok(http::ok(&ActionItemResponse::from(updated)))
}
