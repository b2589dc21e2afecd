//! What every handler shares, built once at startup.

use std::sync::Arc;

use actix_web::HttpRequest;

use crate::audit::AuditWriter;
use crate::auth::jwt::TokenKeys;
use crate::auth::key_sets::KeySets;
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
    /// Integration clients' fetched key sets, shared by every worker.
    pub key_sets: Arc<KeySets>,
    /// `TANDEM_PUBLIC_URL`, when set.
    pub public_url: Option<String>,
}

impl AppState {
    /// The URL clients reach this server at: `TANDEM_PUBLIC_URL`, or the address `request`
    /// reached (its `Host`, or a proxy's `Forwarded` headers), with no trailing slash.
    pub fn base_url(&self, request: &HttpRequest) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => {
                let info = request.connection_info();
                format!("{}://{}", info.scheme(), info.host())
            }
        }
    }
}
