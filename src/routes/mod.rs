//! HTTP handlers, one module per resource.

pub mod audit_events;
pub mod auth;
pub mod coaches;
pub mod fallback;
pub mod health;
pub mod history;
pub mod match_suggestions;
pub mod me;
pub mod pairings;
pub mod participants;
pub mod users;

use utoipa_actix_web::service_config::ServiceConfig;

/// Everything under `/api/v1`.
pub fn configure_api(cfg: &mut ServiceConfig) {
    cfg.service(health::get_openapi);
    auth::configure(cfg);
    me::configure(cfg);
    users::configure(cfg);
    participants::configure(cfg);
    match_suggestions::configure(cfg);
    coaches::configure(cfg);
    pairings::configure(cfg);
    audit_events::configure(cfg);
}
