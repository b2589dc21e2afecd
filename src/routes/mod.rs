//! HTTP handlers, one module per resource. May use everything below them (`domain`, `audit`,
//! `auth`, `http`, `db`, `webhooks`); a route module never uses another, except the shared
//! `responses` and `views`.

pub mod assessments;
pub mod audit_events;
pub mod auth;
pub mod coaches;
pub mod episodes;
pub mod fallback;
pub mod follow_ups;
pub mod goals;
pub mod group_sessions;
pub mod health;
pub mod inbound_referrals;
pub mod instruments;
pub mod integration_clients;
pub mod match_suggestions;
pub mod me;
pub mod oauth;
pub mod organization;
pub mod pairings;
pub mod participants;
pub mod portal_accounts;
pub mod referrals;
pub mod resources;
pub mod responses;
pub mod session_notes;
pub mod users;
pub mod views;

pub mod consents;
pub mod disclosures;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

/// Every documented route. Used both by the server and by [`crate::http::openapi::document`].
pub fn configure_documented(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz);
    oauth::configure_well_known(cfg);
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            // Everything under /api/v1 may carry participant data: never cache it.
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .configure(configure_api)
            .default_service(web::to(fallback::not_found_or_wrong_method)),
    );
}

/// Everything under `/api/v1`.
pub fn configure_api(cfg: &mut ServiceConfig) {
    cfg.service(health::get_openapi);
    auth::configure(cfg);
    oauth::configure(cfg);
    me::configure(cfg);
    users::configure(cfg);
    participants::configure(cfg);
    episodes::configure(cfg);
    follow_ups::configure(cfg);
    organization::configure(cfg);
    portal_accounts::configure(cfg);
    match_suggestions::configure(cfg);
    coaches::configure(cfg);
    pairings::configure(cfg);
    audit_events::configure(cfg);
    instruments::configure(cfg);
    assessments::configure(cfg);
    group_sessions::configure(cfg);
    goals::configure(cfg);
    session_notes::configure(cfg);
    resources::configure(cfg);
    consents::configure(cfg);
    disclosures::configure(cfg);
    referrals::configure(cfg);
    inbound_referrals::configure(cfg);
    integration_clients::configure(cfg);
}
