//! The caller's own account.

use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::{Action, Operation, ResourceType};
use crate::auth::throttle::Attempt;
use crate::auth::AuthUser;
use crate::db::models::refresh_tokens;
use crate::db::models::users::{self, UserChanges};
use crate::http;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::http::limits;
use crate::http::state::AppState;
use crate::http::validation::Checks;
use crate::routes::responses::{Authenticated, Forbidden, JsonBody, TooManyRequests};
use crate::routes::views::UserResponse;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_me).service(change_password);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(value_type = limits::Credential)]
    pub current_password: String,
    #[schema(value_type = limits::Password)]
    pub new_password: String,
}

/// The signed-in user.
///
/// Roles: admin, supervisor, coach, participant.
#[utoipa::path(
    tag = "me",
    responses(
        (status = 200, description = "The caller's account", body = UserResponse),
        Authenticated, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get("/me", wrap = "Operation(Action::Read, ResourceType::User)")]
pub async fn get_me(user: AuthUser) -> AppResult<HttpResponse> {
    let target = user.target().id(user.scope.user_id);
    let me = user
        .read(target, async |conn, scope, _| {
            Ok(users::find_in_org(conn, scope.organization_id, scope.user_id).await?)
        })
        .await?;
    Ok(http::ok(&UserResponse::from(me)))
}

/// Change the caller's password.
///
/// Roles: admin, supervisor, coach, participant. Ends every session of the account, this one
/// included: sign in again with the new password. A wrong `current_password` is a 422; after
/// five the account's password changes are locked as failed sign-ins lock an email (429 with
/// `Retry-After`). Every attempt is audited.
#[utoipa::path(
    tag = "me",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed; all sessions ended"),
        Authenticated, JsonBody, Forbidden, TooManyRequests,
    ),
    security(("bearer" = []))
)]
#[post(
    "/me/password",
    wrap = "Operation(Action::ChangePassword, ResourceType::User)"
)]
pub async fn change_password(
    state: web::Data<AppState>,
    mut user: AuthUser,
    Json(body): Json<ChangePasswordRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.credential("current_password", &body.current_password);
    checks.password("new_password", &body.new_password);
    checks.finish()?;
    // Counted before the unit of work, so a wrong guess stays counted when it is rolled back.
    let attempt = user
        .before(async |conn, scope| Attempt::admit_user(conn, scope.user_id).await)
        .await?;
    let target = user.target().id(user.scope.user_id);
    user.write(target, async |conn, scope, _| {
        let attempt = attempt?;
        let me = users::lock_in_org(conn, scope.organization_id, scope.user_id).await?;
        let current = body.current_password.clone();
        let verified = state.hasher.verify(current, Some(me.password_hash)).await?;
        if !verified {
            return Err(AppError::invalid("current_password", "is incorrect"));
        }
        let changes = UserChanges {
            password_hash: Some(state.hasher.hash(body.new_password.clone()).await?),
            token_version: Some(me.token_version + 1),
            updated_at: Some(Utc::now()),
            ..UserChanges::default()
        };
        users::update(conn, scope.user_id, &changes).await?;
        refresh_tokens::revoke_all_for_user(conn, scope.user_id).await?;
        attempt.succeeded(conn).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
