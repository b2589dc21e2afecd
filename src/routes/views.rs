//! What the handlers of several resources answer with: a user account is returned by `/users`,
//! `/me`, sign-in and a participant's portal account alike, and the two that create accounts
//! refuse a taken email the same way.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::users::{Role, User};
use crate::http::error::{AppError, ProblemType};
use crate::http::Created;

/// A user account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Inactive users cannot sign in; their tokens stop working at once.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            organization_id: user.organization_id,
            email: user.email,
            display_name: user.display_name,
            role: user.role,
            active: user.active,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

impl UserResponse {
    /// A created account, answered where it is read.
    pub fn created(user: User) -> Created<Self> {
        Created {
            id: user.id,
            location: format!("/api/v1/users/{}", user.id),
            body: Self::from(user),
        }
    }
}

/// 409: another login has the email.
pub fn email_taken() -> AppError {
    AppError::conflict(
        ProblemType::Conflict,
        "A user with this email already exists.",
    )
}
