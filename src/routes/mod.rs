//! HTTP handlers, one module per resource.

pub mod auth;
pub mod fallback;
pub mod health;
pub mod me;
pub mod users;

use utoipa_actix_web::service_config::ServiceConfig;

/// Everything under `/api/v1`.
pub fn configure_api(cfg: &mut ServiceConfig) {
    cfg.service(health::get_openapi);
    auth::configure(cfg);
    me::configure(cfg);
    users::configure(cfg);
}
