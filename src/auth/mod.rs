//! Who is calling: roles, the bearer-token extractor and the role guards.
//!
//! A handler states the role it needs in its signature: [`AuthUser`] answers 401 without a
//! valid token; [`Admin`], [`Supervisor`] and [`Staff`] additionally answer 403 to other roles.
//! The extracted user carries the request's one database connection and runs the handler's
//! work as an audited unit ([`AuthUser::read`], [`AuthUser::write`], [`AuthUser::create`]).

pub mod client_secret;
pub mod jwt;
pub mod password;
pub mod throttle;

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Actor, Outcome, Target};
use crate::db::models::{integration_clients, users};
use crate::db::scope::{ClientScope, Grants, Scope, Viewer};
use crate::db::PooledConnection;
use crate::error::{AppError, AppResult};
use crate::http::Created;
use crate::idempotency::IdempotencyKey;
use crate::request_log::RequestMeta;
use crate::state::AppState;
use crate::unit_of_work;
use jwt::{Claims, TokenRole};

pub use crate::db::models::users::Role;

/// Whoever a request runs for: a user ([`Scope`]), an integration client ([`ClientScope`]),
/// or either ([`Viewer`]).
pub trait Principal: Copy {
    fn actor(self, meta: RequestMeta) -> Actor;
}

impl Principal for Scope {
    fn actor(self, meta: RequestMeta) -> Actor {
        Actor::user(self, meta)
    }
}

impl Principal for ClientScope {
    fn actor(self, meta: RequestMeta) -> Actor {
        Actor::client(self.client_id, self.organization_id, meta)
    }
}

impl Principal for Viewer {
    fn actor(self, meta: RequestMeta) -> Actor {
        match self {
            Self::User(scope) => scope.actor(meta),
            Self::Client(client) => client.actor(meta),
        }
    }
}

/// A caller whose account or client is active and whose token is still current, with the one
/// database connection the request uses.
pub struct Authenticated<S: Principal> {
    pub scope: S,
    pub meta: RequestMeta,
    conn: PooledConnection,
}

/// A signed-in user of any role.
pub type AuthUser = Authenticated<Scope>;
/// An integration client (machine to machine).
pub type AuthClient = Authenticated<ClientScope>;
/// A signed-in user of any role, or an integration client: for operations open to both. A
/// client's scopes are checked with [`Viewer::require`] inside the unit of work.
pub type Caller = Authenticated<Viewer>;

impl<S: Principal> Authenticated<S> {
    pub fn actor(&self) -> Actor {
        self.scope.actor(self.meta.clone())
    }

    /// Runs `step` on the request's connection ahead of its unit of work and outside any
    /// transaction, so what it writes stays even when the unit of work is rolled back: a
    /// throttle counting a guess before the guess is checked.
    pub async fn before<T>(&mut self, step: impl AsyncFnOnce(&mut AsyncPgConnection, S) -> T) -> T {
        step(&mut self.conn, self.scope).await
    }

    /// Runs `work`, which changes nothing, as the request's audited unit of work (see
    /// [`unit_of_work::read`]).
    pub async fn read<T>(
        mut self,
        target: Target,
        work: impl AsyncFnOnce(&mut AsyncPgConnection, S, &mut Target) -> AppResult<T>,
    ) -> AppResult<T> {
        let (actor, scope) = (self.actor(), self.scope);
        unit_of_work::read(&mut self.conn, &actor, target, async |conn, target| {
            work(conn, scope, target).await
        })
        .await
    }

    /// Runs `work` as the request's audited transaction (see [`unit_of_work::write`]).
    pub async fn write<T>(
        mut self,
        target: Target,
        work: impl AsyncFnOnce(&mut AsyncPgConnection, S, &mut Target) -> AppResult<T>,
    ) -> AppResult<T> {
        let (actor, scope) = (self.actor(), self.scope);
        unit_of_work::write(&mut self.conn, &actor, target, async |conn, target| {
            work(conn, scope, target).await
        })
        .await
    }

    /// Runs `work` on the request's connection without writing an audit row: only for data
    /// about neither participants nor users, such as the audit log itself.
    pub async fn unaudited<T>(
        mut self,
        work: impl AsyncFnOnce(&mut AsyncPgConnection, S) -> AppResult<T>,
    ) -> AppResult<T> {
        work(&mut self.conn, self.scope).await
    }

    /// Runs an idempotent create as the request's unit of work (see [`unit_of_work::create`]).
    pub async fn create<T: Serialize>(
        mut self,
        target: Target,
        key: &IdempotencyKey,
        body: &impl Serialize,
        make: impl AsyncFnOnce(&mut AsyncPgConnection, S, &mut Target) -> AppResult<Uuid>,
        show: impl AsyncFnOnce(&mut AsyncPgConnection, S, Uuid, &mut Target) -> AppResult<Created<T>>,
    ) -> AppResult<HttpResponse> {
        let (actor, scope) = (self.actor(), self.scope);
        unit_of_work::create(
            &mut self.conn,
            &actor,
            target,
            key,
            body,
            async |conn, target| make(conn, scope, target).await,
            async |conn, id, target| show(conn, scope, id, target).await,
        )
        .await
    }
}

type ExtractFuture<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

fn stale_token() -> AppError {
    AppError::Unauthorized("The access token is no longer valid; sign in again.".into())
}

/// Checks the token against the live account or client: active, same organization, same role,
/// same token version. Any difference means the token no longer speaks for its subject. The
/// connection checked out here is the one the whole request uses.
async fn authenticate(
    state: &AppState,
    token: &str,
) -> Result<(Viewer, PooledConnection), AppError> {
    let claims: Claims = state
        .tokens
        .verify(token)
        .ok_or_else(|| AppError::Unauthorized("The access token is invalid or expired.".into()))?;
    let mut conn = state.pool.get().await?;
    if claims.role == TokenRole::Integration {
        return match integration_clients::session_state(&mut conn, claims.sub).await? {
            Some(live)
                if live.organization_id == claims.org && live.token_version == claims.ver =>
            {
                let token_grants =
                    Grants::from_names(claims.scope.as_deref().unwrap_or_default().split(' '));
                let live_grants = Grants::from_names(live.scopes.iter().map(String::as_str));
                let client = ClientScope {
                    organization_id: live.organization_id,
                    client_id: claims.sub,
                    grants: token_grants.intersect(live_grants),
                };
                Ok((Viewer::Client(client), conn))
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
            let scope = Scope {
                organization_id: org,
                user_id: claims.sub,
                role,
            };
            Ok((Viewer::User(scope), conn))
        }
        _ => Err(stale_token()),
    }
}

/// What a refused request was after, read from the matched route, for the audit log.
fn route_target(req: &HttpRequest) -> Target {
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
    let resource_id = req.match_info().get("id").map(ToOwned::to_owned);
    let participant_id = (resource == "participant")
        .then(|| {
            resource_id
                .as_deref()
                .and_then(|id| Uuid::parse_str(id).ok())
        })
        .flatten();
    Target {
        action: match *req.method() {
            actix_web::http::Method::GET => "read",
            actix_web::http::Method::POST => "create",
            actix_web::http::Method::DELETE => "delete",
            _ => "update",
        },
        resource_type: Cow::Owned(resource),
        resource_id,
        participant_id,
        participant_ids: Vec::new(),
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
async fn refuse(
    conn: &mut AsyncPgConnection,
    identity: Viewer,
    meta: RequestMeta,
    target: Target,
) -> AppError {
    match audit::record(conn, &identity.actor(meta), &target, Outcome::Denied).await {
        Ok(()) => AppError::Forbidden,
        Err(error) => error,
    }
}

/// The caller when `admit` accepts them; anyone else with a valid token gets an audited 403.
fn require<S: Principal + 'static>(
    req: &HttpRequest,
    admit: impl FnOnce(Viewer) -> Option<S> + 'static,
) -> ExtractFuture<Authenticated<S>> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let token = bearer_token(req);
    let meta = RequestMeta::of(req);
    let target = route_target(req);
    Box::pin(async move {
        let state = state.ok_or_else(|| AppError::Internal("state missing".into()))?;
        let (identity, mut conn) = authenticate(&state, &token?).await?;
        match admit(identity) {
            Some(scope) => Ok(Authenticated { scope, meta, conn }),
            None => Err(refuse(&mut conn, identity, meta, target).await),
        }
    })
}

/// A user whose role is in `allowed`.
fn require_roles(req: &HttpRequest, allowed: &'static [Role]) -> ExtractFuture<AuthUser> {
    require(req, move |identity| match identity {
        Viewer::User(scope) if allowed.contains(&scope.role) => Some(scope),
        _ => None,
    })
}

impl FromRequest for AuthClient {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        require(req, |identity| match identity {
            Viewer::Client(client) => Some(client),
            Viewer::User(_) => None,
        })
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        require(req, Some)
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

macro_rules! role_guard {
    ($(#[$doc:meta])* $name:ident => [$($role:ident),+]) => {
        $(#[$doc])*
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
