//! OAuth 2.0 token endpoint errors (RFC 6749 §5.2): the `error` code a stock OAuth client acts
//! on, carried as a member of the problem document beside its usual fields.

use actix_web::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::ProblemType;

/// An RFC 6749 `error` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    /// A parameter is missing, repeated, malformed, or the client authenticated twice.
    InvalidRequest,
    /// Client authentication failed: unknown client, wrong secret, inactive, or none sent.
    InvalidClient,
    /// The grant is invalid.
    InvalidGrant,
    /// The grant type is not `client_credentials`.
    UnsupportedGrantType,
    /// A requested scope is unknown or not held by the client.
    InvalidScope,
}

impl OAuthErrorCode {
    /// 401 for `invalid_client`, 400 for the rest (RFC 6749 §5.2).
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn problem_type(self) -> ProblemType {
        match self {
            Self::InvalidClient => ProblemType::Unauthorized,
            _ => ProblemType::BadRequest,
        }
    }
}

/// A refused token request: its code, and what went wrong in plain words.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub detail: String,
}
