//! Sign-in, token refresh with rotation, and sign-out.

use actix_web::{post, web, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{self, Actor, Outcome, Target};
use crate::auth::jwt::ACCESS_TOKEN_SECONDS;
use crate::db::models::users::User;
use crate::db::models::{integration_clients, login_throttles, refresh_tokens, users};
use crate::error::{AppError, AppResult};
use crate::extract::{FormOrJson, Json};
use crate::limits;
use crate::request_log::RequestMeta;
use crate::routes::responses::{BadCredentials, JsonBody, TooManyRequests, Unavailable};
use crate::routes::users::UserResponse;
use crate::state::AppState;
use crate::validation::Checks;

/// Refresh tokens live this long unless rotated or revoked first.
const REFRESH_TOKEN_DAYS: i64 = 30;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(client_token);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(value_type = limits::Email)]
    pub email: String,
    #[schema(value_type = limits::Credential)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[schema(value_type = limits::Credential)]
    pub refresh_token: String,
}

impl RefreshRequest {
    fn check(&self) -> AppResult<()> {
        let mut checks = Checks::new();
        checks.credential("refresh_token", &self.refresh_token);
        checks.finish()
    }
}

/// A fresh token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single use: exchange it at `/auth/refresh` for a new pair.
    pub refresh_token: String,
    pub user: UserResponse,
}

fn unauthorized_login() -> AppError {
    AppError::Unauthorized("The email or password is incorrect.".into())
}

fn invalid_refresh() -> AppError {
    AppError::Unauthorized("The refresh token is invalid, expired or revoked.".into())
}

/// Sign in with email and password.
///
/// Roles: anyone. A wrong email and a wrong password get the same answer. Repeated failures
/// for one email lock it for 30 seconds, then twice as long after each further failure (at
/// most 15 minutes); a locked email gets 429 with `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        BadCredentials, Unavailable, JsonBody, TooManyRequests,
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Json(body): Json<LoginRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.text("email", &body.email, limits::EMAIL);
    checks.credential("password", &body.password);
    checks.finish()?;
    let email = crate::validation::normalize_email(&body.email);
    let mut conn = state.pool.get().await?;
    if let Some(until) = login_throttles::locked_until(&mut conn, &email).await? {
        return Err(locked(until));
    }
    let user = users::find_by_email(&mut conn, &email).await?;
    let hash = user
        .as_ref()
        .filter(|user| user.active)
        .map(|user| user.password_hash.clone());
    let verified = state.hasher.verify(body.password, hash).await?;
    let actor = login_actor(user.as_ref(), meta);
    let Some(user) = user.filter(|_| verified) else {
        login_throttles::record_failure(&mut conn, &email).await?;
        audit_login(&mut conn, &actor, Outcome::Denied).await?;
        return Err(unauthorized_login());
    };
    login_throttles::clear(&mut conn, &email).await?;
    let tokens = conn
        .transaction(async move |conn| {
            audit_login(conn, &actor, Outcome::Success).await?;
            issue_pair(conn, &state, user, Uuid::now_v7()).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(tokens))
}

fn locked(until: chrono::DateTime<Utc>) -> AppError {
    AppError::TooManyRequests {
        retry_after: (until - Utc::now()).num_seconds().max(1) as u64,
        detail: "Too many failed sign-ins for this account; try again later.".into(),
    }
}

fn login_actor(user: Option<&User>, meta: RequestMeta) -> Actor {
    Actor {
        id: user.map(|user| user.id),
        role: user.map(|user| user.role),
        client_id: None,
        organization_id: user.map(|user| user.organization_id),
        meta,
    }
}

async fn audit_login(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    outcome: Outcome,
) -> AppResult<()> {
    let mut target = Target::new("login", "session");
    target.resource_id = actor.id.map(|id| id.to_string());
    audit::record(conn, actor, &target, outcome).await
}

/// Issues an access token and a refresh token in `family`.
async fn issue_pair(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: User,
    family: Uuid,
) -> AppResult<TokenResponse> {
    let refresh_token = new_refresh_token();
    refresh_tokens::insert(
        conn,
        user.id,
        family,
        &hash_token(&refresh_token),
        Utc::now() + Duration::days(REFRESH_TOKEN_DAYS),
    )
    .await?;
    let access_token = state
        .tokens
        .issue(user.id, user.organization_id, user.role, user.token_version)
        .map_err(|error| AppError::Internal(format!("signing a token: {error}")))?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token,
        user: UserResponse::from(user),
    })
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("rt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

enum Rotation {
    Issued(Box<TokenResponse>),
    Refused,
}

/// Exchange a refresh token for a new pair.
///
/// Roles: anyone holding a refresh token. Each refresh token works once; presenting one that
/// was already used revokes its whole family, so a stolen token and every token issued after
/// it stop working.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the presented token is now used", body = TokenResponse),
        BadCredentials, Unavailable, JsonBody,
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    Json(body): Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    body.check()?;
    let mut conn = state.pool.get().await?;
    let state = state.into_inner();
    let rotation = conn
        .transaction(async move |conn| {
            let Some(token) =
                refresh_tokens::lock_by_hash(conn, &hash_token(&body.refresh_token)).await?
            else {
                return Ok(Rotation::Refused);
            };
            if token.revoked_at.is_some() || token.expires_at <= Utc::now() {
                return Ok(Rotation::Refused);
            }
            if token.used_at.is_some() {
                // Reuse: someone holds a copy. End the whole family.
                refresh_tokens::revoke_family(conn, token.family_id).await?;
                return Ok(Rotation::Refused);
            }
            let Some(user) = users::find(conn, token.user_id).await?.filter(|u| u.active) else {
                return Ok(Rotation::Refused);
            };
            refresh_tokens::mark_used(conn, token.id).await?;
            let pair = issue_pair(conn, &state, user, token.family_id).await?;
            Ok::<_, AppError>(Rotation::Issued(Box::new(pair)))
        })
        .await?;
    match rotation {
        Rotation::Issued(pair) => Ok(HttpResponse::Ok().json(pair)),
        Rotation::Refused => Err(invalid_refresh()),
    }
}

/// Sign out: revokes the refresh token's whole family.
///
/// Roles: anyone holding a refresh token. Unknown tokens are accepted silently.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out"),
        Unavailable, JsonBody,
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    Json(body): Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    body.check()?;
    let mut conn = state.pool.get().await?;
    conn.transaction(async move |conn| {
        if let Some(token) =
            refresh_tokens::lock_by_hash(conn, &hash_token(&body.refresh_token)).await?
        {
            refresh_tokens::revoke_family(conn, token.family_id).await?;
        }
        Ok::<_, AppError>(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The only OAuth 2.0 grant Tandem issues tokens for.
#[derive(Debug, Deserialize, ToSchema)]
pub enum GrantType {
    #[serde(rename = "client_credentials")]
    ClientCredentials,
}

/// OAuth 2.0 client credentials, as JSON or `application/x-www-form-urlencoded`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientTokenRequest {
    pub grant_type: GrantType,
    #[schema(value_type = limits::Credential)]
    pub client_id: String,
    #[schema(value_type = limits::Credential)]
    pub client_secret: String,
    /// Ignored: a client always receives all of its scopes.
    #[schema(value_type = Option<limits::OauthScope>)]
    pub scope: Option<String>,
}

/// An access token for an integration client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientTokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// The client's scopes, space-separated.
    pub scope: String,
}

/// Constant-time comparison of two digests.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Get an access token for an integration client (OAuth 2.0 client credentials).
///
/// Roles: integration clients (by `client_id` and `client_secret`). The token carries the
/// role `integration_client`; user endpoints answer it with 403.
#[utoipa::path(
    tag = "auth",
    request_body(content = ClientTokenRequest, content_type = "application/x-www-form-urlencoded", description = "Also accepted as `application/json`"),
    responses(
        (status = 200, description = "A token", body = ClientTokenResponse),
        BadCredentials, Unavailable, JsonBody,
    )
)]
#[post("/auth/token")]
pub async fn client_token(
    state: web::Data<AppState>,
    FormOrJson(body): FormOrJson<ClientTokenRequest>,
) -> AppResult<HttpResponse> {
    let GrantType::ClientCredentials = body.grant_type;
    let mut checks = Checks::new();
    checks.credential("client_id", &body.client_id);
    checks.credential("client_secret", &body.client_secret);
    checks.optional_text("scope", body.scope.as_deref(), limits::OAUTH_SCOPE);
    checks.finish()?;
    let mut conn = state.pool.get().await?;
    let client = integration_clients::find_by_client_id(&mut conn, &body.client_id)
        .await?
        .filter(|client| client.active)
        .filter(|client| same_digest(&client.secret_hash, &hash_token(&body.client_secret)))
        .ok_or_else(|| AppError::Unauthorized("The client credentials are invalid.".into()))?;
    let access_token = state
        .tokens
        .issue(
            client.id,
            client.organization_id,
            crate::auth::jwt::TokenRole::IntegrationClient,
            client.token_version,
        )
        .map_err(|error| AppError::Internal(format!("signing a token: {error}")))?;
    Ok(HttpResponse::Ok().json(ClientTokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ACCESS_TOKEN_SECONDS,
        scope: client.scopes.join(" "),
    }))
}

/// The stored form of a client secret.
pub fn hash_client_secret(secret: &str) -> String {
    hash_token(secret)
}
