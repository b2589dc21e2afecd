//! Who is calling: roles, the bearer-token extractor and the role guards, client scopes.
//! May use `audit` (refusals are audited), `db`, `http` and its settings in `ops::config`;
//! never `routes` or `domain`.
//!
//! A handler states the role it needs in its signature: [`AuthUser`] answers 401 without a
//! valid token; [`Admin`], [`Supervisor`] and [`Staff`] additionally answer 403 to other roles.
//! The extracted user carries the request's one database connection and runs the handler's
//! work as an audited unit ([`AuthUser::read`], [`AuthUser::write`], [`AuthUser::create`]).

pub mod assertion;
pub mod client_secret;
pub mod jwt;
pub mod key_sets;
pub mod password;
pub mod scope;
pub mod throttle;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::audit::unit_of_work;
use crate::audit::{self, Actor, Operation, Outcome, ResourceType, Target};
use crate::db::models::integration_clients;
use crate::db::models::users::{self, Session};
use crate::db::scope::Scope;
use crate::db::PooledConnection;
use crate::http::error::{AppError, AppResult};
use crate::http::idempotency::IdempotencyKey;
use crate::http::request_log::RequestMeta;
use crate::http::state::AppState;
use crate::http::Created;
use jwt::{Claims, TokenRole};
use scope::{Client, Grants, Identity};

pub use crate::db::models::users::Role;

/// Whoever a request runs for: a user ([`Scope`]), an integration client ([`Client`]), or
/// either ([`Identity`]).
pub trait Principal: Copy {
    fn actor(self, meta: RequestMeta) -> Actor;

    /// A client needs `scope` (403 otherwise); users pass, their role decides.
    fn require_scope(self, _scope: scope::ApiScope) -> AppResult<()> {
        Ok(())
    }

    /// The organization the caller acts in.
    fn organization_id(self) -> Uuid;
}

impl Principal for Scope {
    fn actor(self, meta: RequestMeta) -> Actor {
        Actor::user(self, meta)
    }

    fn organization_id(self) -> Uuid {
        self.organization_id
    }
}

impl Principal for Client {
    fn actor(self, meta: RequestMeta) -> Actor {
        Actor::client(self.client_id, self.organization_id, meta)
    }

    fn require_scope(self, scope: scope::ApiScope) -> AppResult<()> {
        self.require(scope)
    }

    fn organization_id(self) -> Uuid {
        self.organization_id
    }
}

impl Principal for Identity {
    fn actor(self, meta: RequestMeta) -> Actor {
        match self {
            Self::User(scope) => scope.actor(meta),
            Self::Client(client) => client.actor(meta),
        }
    }

    fn require_scope(self, scope: scope::ApiScope) -> AppResult<()> {
        self.require(scope)
    }

    fn organization_id(self) -> Uuid {
        Identity::organization_id(self)
    }
}

/// A caller with a valid token, and the one database connection the request uses.
///
/// A client's token is checked against the live client when it is extracted. A user's is
/// checked by the statement that writes the unit of work's audit row, which writes it only
/// while the token still speaks for the account (so the check costs no round trip of its
/// own); a write's changes are then rolled back. Work outside a unit ([`Self::before`],
/// [`Self::unaudited`]) checks it first. Either way nothing is shown or changed for a token
/// whose account was deactivated or changed since it was issued: it gets 401.
pub struct Authenticated<S: Principal> {
    pub scope: S,
    pub meta: RequestMeta,
    conn: PooledConnection,
    /// A user's token, not yet checked against the account.
    unchecked: Option<Session>,
    /// What the route declares it does.
    operation: Operation,
    /// The worker's state: its writer of read rows.
    state: web::Data<AppState>,
}

/// A signed-in user of any role.
pub type AuthUser = Authenticated<Scope>;
/// An integration client (machine to machine).
pub type AuthClient = Authenticated<Client>;
/// A signed-in user of any role, or an integration client: for operations open to both. A
/// client's scopes are checked with [`Identity::require`] inside the unit of work.
pub type Caller = Authenticated<Identity>;

impl<S: Principal> Authenticated<S> {
    pub fn actor(&self) -> Actor {
        Actor {
            session: self.unchecked,
            ..self.scope.actor(self.meta.clone())
        }
    }

    /// The audit target of the operation the route declares, to name the object and the
    /// participant on: `user.target().id(id)`.
    pub fn target(&self) -> Target {
        Target::of(self.operation)
    }

    /// Checks a user's token against the live account, once: 401 if it no longer speaks for it.
    async fn check_session(&mut self) -> AppResult<()> {
        if let Some(session) = self.unchecked {
            if !users::is_live(&mut self.conn, session).await? {
                return Err(AppError::stale_token());
            }
            self.unchecked = None;
        }
        Ok(())
    }

    /// Runs `step` on the request's connection ahead of its unit of work and outside any
    /// transaction, so what it writes stays even when the unit of work is rolled back: a
    /// throttle counting a guess before the guess is checked.
    pub async fn before<T>(
        &mut self,
        step: impl AsyncFnOnce(&mut AsyncPgConnection, S) -> T,
    ) -> AppResult<T> {
        self.check_session().await?;
        Ok(step(&mut self.conn, self.scope).await)
    }

    /// Runs `work`, which changes nothing, as the request's audited unit of work (see
    /// [`unit_of_work::read`]).
    pub async fn read<T>(
        self,
        target: Target,
        work: impl AsyncFnOnce(&mut AsyncPgConnection, S, &mut Target) -> AppResult<T>,
    ) -> AppResult<T> {
        let (actor, scope) = (self.actor(), self.scope);
        let writer = self.state.audit_writer.as_ref();
        unit_of_work::read(self.conn, writer, &actor, target, async |conn, target| {
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
        self.check_session().await?;
        work(&mut self.conn, self.scope).await
    }

    /// Reads the caller's organization's directory. The directory is not participant data,
    /// so reads are not audited; a client without `directory:read` gets a 403 that is audited
    /// as `target`, like any refusal.
    pub async fn read_directory<T>(
        self,
        target: Target,
        work: impl AsyncFnOnce(&mut AsyncPgConnection, Uuid) -> AppResult<T>,
    ) -> AppResult<T> {
        if let Err(refused) = self.scope.require_scope(scope::ApiScope::DirectoryRead) {
            return self.read(target, async |_, _, _| Err(refused)).await;
        }
        self.unaudited(async |conn, caller| work(conn, caller.organization_id()).await)
            .await
    }

    /// Runs an idempotent create as the request's unit of work (see [`unit_of_work::create`]).
    pub async fn create<T: Serialize>(
        mut self,
        target: Target,
        key: &IdempotencyKey,
        body: &impl Serialize,
        make: impl AsyncFnOnce(&mut AsyncPgConnection, S, &mut Target) -> AppResult<Created<T>>,
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

/// Verifies the token and checks out the connection the whole request uses. A client's token
/// is checked here against the live client: active, same organization, same token version,
/// scopes narrowed to what the client still holds. A user's comes back as the [`Session`]
/// it claims, for the unit of work to check.
async fn authenticate(
    state: &AppState,
    token: &str,
) -> Result<(Identity, Option<Session>, PooledConnection), AppError> {
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
                let client = Client {
                    organization_id: live.organization_id,
                    client_id: claims.sub,
                    grants: token_grants & live_grants,
                };
                Ok((Identity::Client(client), None, conn))
            }
            _ => Err(AppError::stale_token()),
        };
    }
    let role = claims.role.user_role().ok_or_else(AppError::stale_token)?;
    let session = Session {
        user_id: claims.sub,
        organization_id: claims.org,
        role,
        token_version: claims.ver,
    };
    let scope = Scope {
        organization_id: claims.org,
        user_id: claims.sub,
        role,
    };
    Ok((Identity::User(scope), Some(session), conn))
}

/// What a refused request was after, for the audit log: the operation its route declares, and
/// the id its path names. Under `/participants/{id}` that id is the participant's, so it is the
/// object itself only for an operation on the participant.
fn route_target(operation: Operation, path_id: Option<Uuid>, of_participant: bool) -> Target {
    let mut target = Target::of(operation);
    if let Some(id) = path_id {
        if of_participant {
            target.set_participant(id);
        }
        if !of_participant || target.resource_type == ResourceType::Participant {
            target.set_id(id);
        }
    }
    target
}

/// Records a request refused for its role, then returns the 403 (401 if the token no longer
/// speaks for its user).
async fn refuse(conn: &mut AsyncPgConnection, actor: Actor, target: Target) -> AppError {
    match audit::record(conn, &actor, &target, Outcome::Denied).await {
        Ok(()) => AppError::Forbidden,
        Err(error) => error,
    }
}

/// The caller when `admit` accepts them; anyone else with a valid token gets an audited 403.
fn require<S: Principal + 'static>(
    req: &HttpRequest,
    admit: impl FnOnce(Identity) -> Option<S> + 'static,
) -> ExtractFuture<Authenticated<S>> {
    let Some(operation) = Operation::of(req) else {
        let undeclared = format!(
            "{} {} declares no audit operation",
            req.method(),
            req.path()
        );
        return Box::pin(std::future::ready(Err(AppError::Internal(undeclared))));
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let token = bearer_token(req);
    let meta = RequestMeta::of(req);
    let path_id = req
        .match_info()
        .get("id")
        .and_then(|id| Uuid::parse_str(id).ok());
    let of_participant = req.path().starts_with("/api/v1/participants/");
    Box::pin(async move {
        let state = state.ok_or_else(|| AppError::Internal("state missing".into()))?;
        let (identity, unchecked, mut conn) = authenticate(&state, &token?).await?;
        match admit(identity) {
            Some(scope) => Ok(Authenticated {
                scope,
                meta,
                conn,
                unchecked,
                operation,
                state,
            }),
            None => {
                let actor = Actor {
                    session: unchecked,
                    ..identity.actor(meta)
                };
                let target = route_target(operation, path_id, of_participant);
                Err(refuse(&mut conn, actor, target).await)
            }
        }
    })
}

/// A user whose role is in `allowed`.
fn require_roles(req: &HttpRequest, allowed: &'static [Role]) -> ExtractFuture<AuthUser> {
    require(req, move |identity| match identity {
        Identity::User(scope) if allowed.contains(&scope.role) => Some(scope),
        _ => None,
    })
}

impl FromRequest for AuthClient {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        require(req, |identity| match identity {
            Identity::Client(client) => Some(client),
            Identity::User(_) => None,
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
