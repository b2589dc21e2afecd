//! One error type for every handler, rendered as RFC 9457 `application/problem+json`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

use super::oauth::{OAuthError, OAuthErrorCode};
pub use super::problem::ProblemType;
use super::problem::BLANK;

/// Seconds a client should wait before retrying after a 503.
const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// One field that failed validation.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON path of the field, e.g. `email` or `answers[3]`.
    pub field: String,
    /// What is wrong with it, in plain words.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document. Every 4xx and 5xx response has this body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/validation-failed`.
    #[serde(rename = "type")]
    #[schema(value_type = ProblemType)]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599, example = 404)]
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The fields that failed validation (422 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// The OAuth 2.0 error code (RFC 6749 §5.2; `POST /auth/token` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<OAuthErrorCode>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden")]
    Forbidden,
    /// An integration client's token lacks the scope the operation needs.
    #[error("missing scope {0}")]
    MissingScope(&'static str),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<String> },
    /// 409, of one of the conflict kinds of [`ProblemType`].
    #[error("conflict ({}): {detail}", problem.slug())]
    Conflict {
        problem: ProblemType,
        detail: String,
    },
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// A refused `POST /auth/token`, with its OAuth error code.
    #[error("oauth {:?}: {}", .0.code, .0.detail)]
    OAuth(OAuthError),
    #[error("too many requests")]
    TooManyRequests { retry_after: u64, detail: String },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// 401 for a token whose account was deactivated, or whose role, organization or token
    /// version changed, since it was issued.
    pub fn stale_token() -> Self {
        Self::Unauthorized("The access token is no longer valid; sign in again.".into())
    }

    /// 409 of the kind `problem` (one whose status is 409), saying how in `detail`.
    pub fn conflict(problem: ProblemType, detail: impl Into<String>) -> Self {
        Self::Conflict {
            problem,
            detail: detail.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The kind of problem and the detail of this one.
    fn parts(&self) -> (ProblemType, String) {
        match self {
            Self::BadRequest(detail) => (ProblemType::BadRequest, detail.clone()),
            Self::Unauthorized(detail) => (ProblemType::Unauthorized, detail.clone()),
            Self::Forbidden => (
                ProblemType::Forbidden,
                "Your role may not use this operation.".into(),
            ),
            Self::MissingScope(scope) => (
                ProblemType::InsufficientScope,
                format!("This operation needs the `{scope}` scope, which the client's token does not carry."),
            ),
            Self::NotFound => (
                ProblemType::NotFound,
                "The requested resource does not exist.".into(),
            ),
            Self::MethodNotAllowed { allow } => (
                ProblemType::MethodNotAllowed,
                format!("This resource supports: {}.", allow.join(", ")),
            ),
            Self::Conflict { problem, detail } => (*problem, detail.clone()),
            Self::OAuth(error) => (error.code.problem_type(), error.detail.clone()),
            Self::PreconditionFailed => (
                ProblemType::PreconditionFailed,
                "The resource has changed since the version named in If-Match.".into(),
            ),
            Self::PayloadTooLarge => (
                ProblemType::PayloadTooLarge,
                "The request body exceeds the 1 MiB limit.".into(),
            ),
            Self::UnsupportedMediaType => (
                ProblemType::UnsupportedMediaType,
                "The request body must be sent with Content-Type: application/json.".into(),
            ),
            Self::Validation(errors) => (
                ProblemType::ValidationFailed,
                match errors.as_slice() {
                    [one] => format!("{}: {}", one.field, one.message),
                    _ => format!("{} fields are invalid.", errors.len()),
                },
            ),
            Self::TooManyRequests { detail, .. } => (ProblemType::TooManyRequests, detail.clone()),
            Self::Unavailable(_) => (
                ProblemType::ServiceUnavailable,
                "The database is unavailable; try again shortly.".into(),
            ),
            Self::Internal(_) => (
                ProblemType::InternalError,
                "An unexpected error occurred.".into(),
            ),
        }
    }

    /// The problem document for this error, without `instance`.
    pub fn problem(&self) -> Problem {
        let (kind, detail) = self.parts();
        Problem {
            problem_type: kind.uri(),
            title: kind.title().into(),
            status: self.status_code().as_u16(),
            detail,
            instance: None,
            errors: match self {
                Self::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
            error: match self {
                Self::OAuth(error) => Some(error.code),
                _ => None,
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::MissingScope(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::OAuth(error) => error.code.status(),
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => log::error!("internal error: {cause}"),
            Self::Unavailable(cause) => log::warn!("database unavailable: {cause}"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        match self {
            Self::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::OAuth(error) if error.code == OAuthErrorCode::InvalidClient => {
                response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"tandem\""));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            Self::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER.to_string()));
            }
            _ => {}
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        response.body(body)
    }
}

impl From<DieselError> for AppError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation => {
                    log::info!("unique violation on {:?}", info.constraint_name());
                    Self::conflict(
                        ProblemType::Conflict,
                        "A record with these values already exists.",
                    )
                }
                DatabaseErrorKind::ForeignKeyViolation => {
                    log::info!("foreign key violation on {:?}", info.constraint_name());
                    Self::Validation(vec![FieldError::new(
                        foreign_key_field(info.constraint_name()),
                        "refers to a record that does not exist",
                    )])
                }
                DatabaseErrorKind::CheckViolation => {
                    log::info!("check violation on {:?}", info.constraint_name());
                    Self::Validation(vec![FieldError::new(
                        info.column_name().unwrap_or("body"),
                        "is not an allowed value",
                    )])
                }
                DatabaseErrorKind::SerializationFailure => {
                    Self::Unavailable(format!("serialization failure: {}", info.message()))
                }
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                    Self::Unavailable(info.message().to_owned())
                }
                _ if is_unavailable_message(info.message()) => {
                    Self::Unavailable(info.message().to_owned())
                }
                _ => Self::Internal(format!("database error: {}", info.message())),
            },
            DieselError::BrokenTransactionManager => {
                Self::Unavailable("broken transaction manager".into())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Errors the server reports while it is shutting down, restarting or cancelling a slow query,
/// and those of a connection the server is gone from.
fn is_unavailable_message(message: &str) -> bool {
    const MARKERS: [&str; 7] = [
        "canceling statement due to statement timeout",
        "terminating connection",
        "the database system is",
        "connection closed",
        "server closed the connection",
        "connection reset",
        "connection refused",
    ];
    let message = message.to_ascii_lowercase();
    MARKERS.iter().any(|marker| message.contains(marker))
}

/// Constraint names follow `<table>_<column>_fkey`; report the column.
fn foreign_key_field(constraint: Option<&str>) -> String {
    constraint
        .and_then(|name| name.strip_suffix("_fkey"))
        .and_then(|name| name.split_once('_').map(|(_, column)| column.to_owned()))
        .unwrap_or_else(|| "body".into())
}

impl From<crate::db::pagination::InvalidPage> for AppError {
    fn from(error: crate::db::pagination::InvalidPage) -> Self {
        Self::BadRequest(error.0)
    }
}

impl From<crate::db::PoolError> for AppError {
    fn from(error: crate::db::PoolError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<crate::auth::password::HashingError> for AppError {
    fn from(error: crate::auth::password::HashingError) -> Self {
        match error {
            crate::auth::password::HashingError::Busy => Self::TooManyRequests {
                retry_after: 1,
                detail: "Too many sign-ins are being processed; try again shortly.".into(),
            },
            other => Self::Internal(other.to_string()),
        }
    }
}

/// A problem document for a status alone, for framework rejections that carry no detail.
pub fn generic_problem(status: StatusCode) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    let problem = Problem {
        problem_type: BLANK.into(),
        title: title.into(),
        status: status.as_u16(),
        detail: format!("{title}."),
        instance: None,
        errors: None,
        error: None,
    };
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ))
        .body(serde_json::to_vec(&problem).unwrap_or_default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
