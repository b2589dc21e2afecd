//! Sign-in, token refresh with rotation, and sign-out.

use actix_web::{post, web, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{self, Action, Actor, Outcome, ResourceType, Target};
use crate::auth::jwt::ACCESS_TOKEN_SECONDS;
use crate::auth::throttle::{Attempt, Key};
use crate::db::models::users::User;
use crate::db::models::{refresh_tokens, users};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::http::limits;
use crate::http::request_log::RequestMeta;
use crate::http::state::AppState;
use crate::http::validation::Checks;
use crate::routes::responses::{BadCredentials, JsonBody, TooManyRequests, Unavailable};
use crate::routes::views::UserResponse;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login).service(refresh).service(logout);
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
/// Roles: anyone. A wrong email and a wrong password get the same answer. Failures for one
/// email lock it after the fifth for 30 seconds, then twice as long after each further failure
/// (at most 15 minutes); failures from one address are limited over all emails together. A
/// locked email or address gets 429 with `Retry-After`, whatever the password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        BadCredentials, Unavailable, JsonBody, TooManyRequests,
    ),
    security()
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
    let email = crate::http::validation::normalize_email(&body.email);
    let mut conn = state.pool.get().await?;
    let attempt = Attempt::admit(&mut conn, &state.auth, Key::Email(&email), &meta).await?;
    let user = users::find_by_email(&mut conn, &email).await?;
    let hash = user
        .as_ref()
        .filter(|user| user.active)
        .map(|user| user.password_hash.clone());
    // Back to the pool while hashing: a burst of sign-ins must not hold every connection.
    drop(conn);
    let verified = state.hasher.verify(body.password, hash).await?;
    let mut conn = state.pool.get().await?;
    let actor = login_actor(user.as_ref(), meta);
    let Some(user) = user.filter(|_| verified) else {
        audit_login(&mut conn, &actor, Outcome::Denied).await?;
        let account = actor.id.map(|id| id.to_string());
        attempt
            .failed(&mut conn, &actor, ResourceType::Session, account)
            .await?;
        return Err(unauthorized_login());
    };
    let tokens = conn
        .transaction(async move |conn| {
            attempt.succeeded(conn).await?;
            audit_login(conn, &actor, Outcome::Success).await?;
            issue_pair(conn, &state, user, Family::new()).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(tokens))
}

fn login_actor(user: Option<&User>, meta: RequestMeta) -> Actor {
    Actor {
        id: user.map(|user| user.id),
        role: user.map(|user| user.role),
        client_id: None,
        organization_id: user.map(|user| user.organization_id),
        meta,
        session: None,
    }
}

async fn audit_login(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    outcome: Outcome,
) -> AppResult<()> {
    let mut target = Target::new(Action::Login, ResourceType::Session);
    target.resource_id = actor.id.map(|id| id.to_string());
    audit::record(conn, actor, &target, outcome).await
}

/// A refresh-token family: the tokens descending from one sign-in.
struct Family {
    id: Uuid,
    started_at: DateTime<Utc>,
}

impl Family {
    /// The family of a sign-in happening now.
    fn new() -> Self {
        Self {
            id: Uuid::now_v7(),
            started_at: Utc::now(),
        }
    }
}

/// Issues an access token and a refresh token in `family`. The refresh token expires when it
/// has gone unused for the idle limit, or when the family's lifetime ends, whichever is first.
async fn issue_pair(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: User,
    family: Family,
) -> AppResult<TokenResponse> {
    let refresh_token = new_refresh_token();
    let now = Utc::now();
    let expires_at = (now + lifetime(state.auth.refresh_idle)?)
        .min(family.started_at + lifetime(state.auth.refresh_lifetime)?);
    let token = refresh_tokens::NewRefreshToken {
        user_id: user.id,
        family_id: family.id,
        family_started_at: family.started_at,
        token_hash: &hash_token(&refresh_token),
        expires_at,
    };
    refresh_tokens::insert(conn, &token).await?;
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

/// A configured lifetime as a span of time (the configuration bounds it, so this holds).
fn lifetime(span: std::time::Duration) -> AppResult<Duration> {
    Duration::from_std(span).map_err(|error| AppError::Internal(format!("a lifetime: {error}")))
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
/// it stop working, and the reuse is audited. A family ends 30 days after its sign-in however
/// often it is refreshed, and earlier when its current token goes unused for 7 days (both
/// configurable).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the presented token is now used", body = TokenResponse),
        BadCredentials, Unavailable, JsonBody,
    ),
    security()
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    meta: RequestMeta,
    Json(body): Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    body.check()?;
    let mut conn = state.pool.get().await?;
    let state = state.into_inner();
    let hash = hash_token(&body.refresh_token);
    let rotation = conn
        .transaction(async move |conn| rotate(conn, &state, &hash, meta).await)
        .await?;
    match rotation {
        Rotation::Issued(pair) => Ok(HttpResponse::Ok().json(pair)),
        Rotation::Refused => Err(invalid_refresh()),
    }
}

/// Rotates the refresh token whose hash is `hash`, in the caller's transaction.
async fn rotate(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    hash: &str,
    meta: RequestMeta,
) -> AppResult<Rotation> {
    let Some(token) = refresh_tokens::lock_by_hash(conn, hash).await? else {
        return Ok(Rotation::Refused);
    };
    if token.revoked_at.is_some() {
        return Ok(Rotation::Refused);
    }
    if token.used_at.is_some() {
        // Reuse: someone holds a copy. End the whole family, and say so in the audit log.
        refresh_tokens::revoke_family(conn, token.family_id).await?;
        let user = users::find(conn, token.user_id).await?;
        let mut actor = login_actor(user.as_ref(), meta);
        actor.id = Some(token.user_id);
        let mut target = Target::new(Action::RefreshReuse, ResourceType::Session);
        target.resource_id = Some(token.family_id.to_string());
        audit::record(conn, &actor, &target, Outcome::Denied).await?;
        return Ok(Rotation::Refused);
    }
    let now = Utc::now();
    let live = token.expires_at > now
        && token.created_at + lifetime(state.auth.refresh_idle)? > now
        && token.family_started_at + lifetime(state.auth.refresh_lifetime)? > now;
    if !live {
        return Ok(Rotation::Refused);
    }
    let Some(user) = users::find(conn, token.user_id).await?.filter(|u| u.active) else {
        return Ok(Rotation::Refused);
    };
    refresh_tokens::mark_used(conn, token.id).await?;
    let family = Family {
        id: token.family_id,
        started_at: token.family_started_at,
    };
    let pair = issue_pair(conn, state, user, family).await?;
    Ok(Rotation::Issued(Box::new(pair)))
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
    ),
    security()
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

/// The stored form of a client secret ([`crate::auth::client_secret::hash`], the same digest
/// as [`hash_token`]).
pub fn hash_client_secret(secret: &str) -> String {
    crate::auth::client_secret::hash(secret)
}
