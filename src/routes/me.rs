//! The caller's own account.

use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::AuthUser;
use crate::db::models::refresh_tokens;
use crate::db::models::users::{self, UserChanges};
use crate::error::{AppError, AppResult, Problem};
use crate::extract::Json;
use crate::http;
use crate::routes::users::UserResponse;
use crate::state::AppState;
use crate::validation::Checks;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_me).service(change_password);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
}

/// The signed-in user.
///
/// Roles: admin, supervisor, coach, participant.
#[utoipa::path(
    tag = "me",
    responses(
        (status = 200, description = "The caller's account", body = UserResponse),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Integration clients have no account here", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/me")]
pub async fn get_me(state: web::Data<AppState>, user: AuthUser) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let me = users::find_in_org(&mut conn, user.organization_id, user.id).await?;
    Ok(http::ok(&UserResponse::from(me)))
}

/// Change the caller's password.
///
/// Roles: admin, supervisor, coach, participant. Ends every session of the account, this one included: sign in again
/// with the new password.
#[utoipa::path(
    tag = "me",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed; all sessions ended"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Integration clients have no password here", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Current password wrong, or new password too short or long", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Password hashing is saturated; retry shortly", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    Json(body): Json<ChangePasswordRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.password("new_password", &body.new_password);
    checks.finish()?;
    let mut conn = state.pool.get().await?;
    let me = users::find_in_org(&mut conn, user.organization_id, user.id).await?;
    let verified = state
        .hasher
        .verify(body.current_password, Some(me.password_hash.clone()))
        .await?;
    if !verified {
        return Err(AppError::invalid("current_password", "is incorrect"));
    }
    let new_hash = state.hasher.hash(body.new_password).await?;
    conn.transaction(async move |conn| {
        let current = users::lock_in_org(conn, user.organization_id, user.id).await?;
        let changes = UserChanges {
            password_hash: Some(new_hash),
            token_version: Some(current.token_version + 1),
            updated_at: Some(Utc::now()),
            ..UserChanges::default()
        };
        users::update(conn, user.id, &changes).await?;
        refresh_tokens::revoke_all_for_user(conn, user.id).await?;
        Ok::<_, AppError>(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
