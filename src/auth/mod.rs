//! Who is calling: roles, the bearer-token extractor and the role guards.
//!
//! A handler states the role it needs in its signature: [`AuthUser`] answers 401 without a
//! valid token; [`Admin`], [`Supervisor`] and [`Staff`] additionally answer 403 to other roles.

pub mod jwt;
pub mod password;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use uuid::Uuid;

use crate::audit::{self, Actor, Entry, Outcome};
use crate::db::models::{integration_clients, users};
use crate::error::AppError;
use crate::request_log::RequestId;
use crate::state::AppState;
use jwt::{Claims, TokenRole};

crate::text_enum! {
    /// A user's role in their organization.
    pub enum Role {
        Admin => "admin",
        Supervisor => "supervisor",
        Coach => "coach",
        Participant => "participant",
    }
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub ip: Option<String>,
}

impl RequestMeta {
    pub fn of(req: &HttpRequest) -> Self {
        Self {
            request_id: req
                .extensions()
                .get::<RequestId>()
                .map(|id| id.0.clone())
                .unwrap_or_default(),
            ip: req.peer_addr().map(|addr| addr.ip().to_string()),
        }
    }
}

impl FromRequest for RequestMeta {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::of(req)))
    }
}

/// An authenticated user whose account is active and whose token is still current.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub role: Role,
    pub meta: RequestMeta,
}

type ExtractFuture<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// An authenticated integration client (a clinic or partner system).
#[derive(Debug, Clone)]
pub struct AuthClient {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub meta: RequestMeta,
}

/// Whoever holds a valid token: a user or an integration client.
#[derive(Debug, Clone)]
pub enum Caller {
    User(AuthUser),
    Client(AuthClient),
}

impl Caller {
    pub fn actor(&self) -> Actor {
        match self {
            Self::User(user) => Actor::from(user),
            Self::Client(client) => Actor {
                id: None,
                role: None,
                client_id: Some(client.id),
                organization_id: Some(client.organization_id),
                meta: client.meta.clone(),
            },
        }
    }
}

fn stale_token() -> AppError {
    AppError::Unauthorized("The access token is no longer valid; sign in again.".into())
}

/// Checks the token against the live account or client: active, same organization, same role,
/// same token version. Any difference means the token no longer speaks for its subject.
async fn authenticate(
    state: &AppState,
    token: &str,
    meta: RequestMeta,
) -> Result<Caller, AppError> {
    let claims: Claims = state
        .tokens
        .verify(token)
        .ok_or_else(|| AppError::Unauthorized("The access token is invalid or expired.".into()))?;
    let mut conn = state.pool.get().await?;
    if claims.role == TokenRole::IntegrationClient {
        return match integration_clients::session_state(&mut conn, claims.sub).await? {
            Some((org, true, version)) if org == claims.org && version == claims.ver => {
                Ok(Caller::Client(AuthClient {
                    id: claims.sub,
                    organization_id: org,
                    meta,
                }))
            }
            _ => Err(stale_token()),
        };
    }
    match users::session_state(&mut conn, claims.sub).await? {
        Some((org, role, true, version))
            if org == claims.org
                && TokenRole::from(role) == claims.role
                && version == claims.ver =>
        {
            Ok(Caller::User(AuthUser {
                id: claims.sub,
                organization_id: org,
                role,
                meta,
            }))
        }
        _ => Err(stale_token()),
    }
}

/// What a refused request was after, read from the matched route, for the audit log.
#[derive(Debug, Clone)]
struct Target {
    action: &'static str,
    resource_type: String,
    resource_id: Option<String>,
}

impl Target {
    fn of(req: &HttpRequest) -> Self {
        let pattern = req.match_pattern().unwrap_or_default();
        let mut segments = pattern
            .trim_start_matches("/api/v1/")
            .split('/')
            .filter(|segment| !segment.starts_with('{'));
        let collection = segments.next().unwrap_or_default();
        let resource = match segments.next_back() {
            Some("caseload") => "caseload".to_owned(),
            _ => singular(collection).replace('-', "_"),
        };
        Self {
            action: match *req.method() {
                actix_web::http::Method::GET => "read",
                actix_web::http::Method::POST => "create",
                actix_web::http::Method::DELETE => "delete",
                _ => "update",
            },
            resource_type: resource,
            resource_id: req.match_info().get("id").map(ToOwned::to_owned),
        }
    }
}

/// `coaches` → `coach`, `participants` → `participant`, `audit-events` → `audit-event`.
fn singular(collection: &str) -> &str {
    if let Some(stem) = collection.strip_suffix("ches") {
        &collection[..stem.len() + 2]
    } else {
        collection.strip_suffix('s').unwrap_or(collection)
    }
}

/// Records a request refused for its role, then returns the 403.
async fn refuse(state: &AppState, caller: &Caller, target: Target) -> AppError {
    let participant_id = (target.resource_type == "participant")
        .then(|| {
            target
                .resource_id
                .as_deref()
                .and_then(|id| Uuid::parse_str(id).ok())
        })
        .flatten();
    let entry = Entry {
        action: target.action,
        resource_type: &target.resource_type,
        resource_id: target.resource_id.clone(),
        participant_id,
        outcome: Outcome::Denied,
    };
    let recorded = match state.pool.get().await {
        Ok(mut conn) => audit::record(&mut conn, &caller.actor(), entry)
            .await
            .map_err(AppError::from),
        Err(error) => Err(AppError::from(error)),
    };
    match recorded {
        Ok(()) => AppError::Forbidden,
        Err(error) => AppError::Unavailable(format!("audit write failed: {error}")),
    }
}

fn caller_future(req: &HttpRequest) -> ExtractFuture<(Caller, web::Data<AppState>)> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let token = bearer_token(req);
    let meta = RequestMeta::of(req);
    Box::pin(async move {
        let state = state.ok_or_else(|| AppError::Internal("state missing".into()))?;
        let caller = authenticate(&state, &token?, meta).await?;
        Ok((caller, state))
    })
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = caller_future(req);
        Box::pin(async move { caller.await.map(|(caller, _)| caller) })
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        require_roles(
            req,
            &[
                Role::Admin,
                Role::Supervisor,
                Role::Coach,
                Role::Participant,
            ],
        )
    }
}

impl FromRequest for AuthClient {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = caller_future(req);
        let target = Target::of(req);
        Box::pin(async move {
            match caller.await? {
                (Caller::Client(client), _) => Ok(client),
                (caller, state) => Err(refuse(&state, &caller, target).await),
            }
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, AppError> {
    let missing = || AppError::Unauthorized("A bearer access token is required.".into());
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim().to_owned())
}

/// A user whose role is in `allowed`; anyone else with a valid token gets an audited 403.
fn require_roles(req: &HttpRequest, allowed: &'static [Role]) -> ExtractFuture<AuthUser> {
    let caller = caller_future(req);
    let target = Target::of(req);
    Box::pin(async move {
        match caller.await? {
            (Caller::User(user), _) if allowed.contains(&user.role) => Ok(user),
            (caller, state) => Err(refuse(&state, &caller, target).await),
        }
    })
}

macro_rules! role_guard {
    ($(#[$doc:meta])* $name:ident => [$($role:ident),+]) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub AuthUser);

        impl FromRequest for $name {
            type Error = AppError;
            type Future = ExtractFuture<Self>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let user = require_roles(req, &[$(Role::$role),+]);
                Box::pin(async move { user.await.map($name) })
            }
        }
    };
}

role_guard!(
    /// A program administrator.
    Admin => [Admin]
);
role_guard!(
    /// A supervisor or an administrator.
    Supervisor => [Admin, Supervisor]
);
role_guard!(
    /// Any staff member: administrator, supervisor or coach.
    Staff => [Admin, Supervisor, Coach]
);

#[cfg(test)]
mod tests {
    use super::singular;

    #[test]
    fn collections_name_their_resource_type() {
        assert_eq!(singular("coaches"), "coach");
        assert_eq!(singular("participants"), "participant");
        assert_eq!(singular("audit-events"), "audit-event");
        assert_eq!(singular("me"), "me");
    }
}
