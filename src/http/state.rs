//! What every handler shares, built once at startup.

use crate::audit::AuditWriter;
use crate::auth::jwt::TokenKeys;
use crate::auth::password::PasswordHasher;
use crate::db::Pool;
use crate::ops::config::{AuthPolicy, Environment};

pub struct AppState {
    pub pool: Pool,
    pub tokens: TokenKeys,
    pub hasher: PasswordHasher,
    pub environment: Environment,
    pub auth: AuthPolicy,
    /// The worker's writer of read rows; `None` writes each on the read's own connection.
    pub audit_writer: Option<AuditWriter>,
}
