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
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::users;
use crate::error::AppError;
use crate::request_log::RequestId;
use crate::state::AppState;

/// A user's role in their organization.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Supervisor,
    Coach,
    Participant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Supervisor => "supervisor",
            Self::Coach => "coach",
            Self::Participant => "participant",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admin),
            "supervisor" => Some(Self::Supervisor),
            "coach" => Some(Self::Coach),
            "participant" => Some(Self::Participant),
            _ => None,
        }
    }
}

impl ToSql<Text, Pg> for Role {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
    }
}

impl FromSql<Text, Pg> for Role {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let raw = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        Self::parse(&raw).ok_or_else(|| format!("unknown role `{raw}`").into())
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

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let meta = RequestMeta::of(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal("state missing".into()))?;
            let token = token?;
            let claims = state.tokens.verify(&token).ok_or_else(|| {
                AppError::Unauthorized("The access token is invalid or expired.".into())
            })?;
            let mut conn = state.pool.get().await?;
            let current = users::session_state(&mut conn, claims.sub).await?;
            match current {
                Some((org, role, true, version))
                    if org == claims.org && role == claims.role && version == claims.ver =>
                {
                    Ok(Self {
                        id: claims.sub,
                        organization_id: org,
                        role,
                        meta,
                    })
                }
                _ => Err(AppError::Unauthorized(
                    "The access token is no longer valid; sign in again.".into(),
                )),
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

fn require_roles(
    req: &HttpRequest,
    payload: &mut Payload,
    allowed: &'static [Role],
) -> ExtractFuture<AuthUser> {
    let user = AuthUser::from_request(req, payload);
    Box::pin(async move {
        let user = user.await?;
        if allowed.contains(&user.role) {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
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

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let user = require_roles(req, payload, &[$(Role::$role),+]);
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
