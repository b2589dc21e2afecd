//! A participant's portal login: the account they sign in with to see their own record.

use actix_web::{post, web, HttpResponse};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::{Role, Staff};
use crate::db::models::participants;
use crate::db::models::users::{self, NewUser};
use crate::db::scope::Scope;
use crate::http::error::{AppError, AppResult, ProblemType};
use crate::http::extract::Json;
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::state::AppState;
use crate::http::validation::{normalize_email, Checks};
use crate::routes::responses::{
    Authenticated, Conflict, Forbidden, JsonBody, NotFound, TooManyRequests,
};
use crate::routes::views::{email_taken, UserResponse};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_portal_account);
}

/// The participant's portal login.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalAccountRequest {
    /// Unique across Tandem.
    #[schema(value_type = limits::Email)]
    pub email: String,
    #[schema(value_type = limits::Password)]
    pub password: String,
}

/// Create a participant's portal login.
///
/// Roles: admin, supervisor, coach (current caseload only). The new user has the role
/// `participant` and sees only their own record. 409 when the participant already has a
/// login or the email is taken.
#[utoipa::path(
    tag = "participants",
    params(("id" = Uuid, Path, description = "Participant id"), IdempotencyKey),
    request_body = PortalAccountRequest,
    responses(
        (status = 201, description = "Created; `Location` names the new user", body = UserResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict, TooManyRequests,
    ),
    security(("bearer" = []))
)]
#[post(
    "/participants/{id}/portal-account",
    wrap = "Operation(Action::Create, ResourceType::PortalAccount)"
)]
pub async fn create_portal_account(
    state: web::Data<AppState>,
    Staff(user): Staff,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<PortalAccountRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.email("email", &body.email);
    checks.password("password", &body.password);
    checks.finish()?;
    let id = id.into_inner();
    let password_hash = state.hasher.hash(body.password.clone()).await?;
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, _: &mut Target| {
        let participant = participants::lock_visible(conn, scope, id).await?;
        if participant.user_id.is_some() {
            return Err(AppError::conflict(
                ProblemType::Conflict,
                "The participant already has a portal login.",
            ));
        }
        let email = normalize_email(&body.email);
        if users::find_by_email(conn, &email).await?.is_some() {
            return Err(email_taken());
        }
        let display_name = participant.preferred_name.unwrap_or(participant.first_name);
        let login = NewUser {
            id: Uuid::now_v7(),
            organization_id: participant.organization_id,
            email: &email,
            display_name: &display_name,
            role: Role::Participant,
            password_hash: &password_hash,
        };
        let login = users::insert(conn, &login).await?;
        participants::link_login(conn, id, login.id).await?;
        Ok(UserResponse::created(login))
    };
    let show =
        async |conn: &mut AsyncPgConnection, scope: Scope, login_id: Uuid, _: &mut Target| {
            let login = participants::portal_login(conn, scope, id, login_id).await?;
            Ok(UserResponse::created(login))
        };
    let target = user.target().participant(id);
    user.create(target, &key, &body, make, show).await
}
