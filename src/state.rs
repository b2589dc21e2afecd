//! What every handler shares, built once at startup.

use crate::auth::jwt::TokenKeys;
use crate::auth::password::PasswordHasher;
use crate::config::{AuthPolicy, Environment};
use crate::db::Pool;

pub struct AppState {
    pub pool: Pool,
    pub tokens: TokenKeys,
    pub hasher: PasswordHasher,
    pub environment: Environment,
    pub auth: AuthPolicy,
}
