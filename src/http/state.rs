//! What every handler shares, built once at startup.

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
}
