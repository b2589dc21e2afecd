//! Tandem: a case-management API for peer recovery support.

pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod caseload;
pub mod config;
pub mod db;
pub mod embedded_pg;
pub mod error;
pub mod extract;
pub mod http;
pub mod idempotency;
pub mod instruments;
pub mod lifecycle;
pub mod limits;
pub mod local_db;
pub mod maintenance;
pub mod matching;
pub mod openapi;
pub mod pagination;
pub mod request_log;
pub mod routes;
pub mod startup;
pub mod state;
pub mod unit_of_work;
pub mod validation;
pub mod webhooks;
