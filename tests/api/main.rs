//! HTTP tests against a real Tandem over a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod auth;
mod cli;
mod coaches;
mod db_roles;
mod deployment;
mod docs;
mod errors;
mod factories;
mod helpers;
mod idempotency;
mod instances;
mod jwt;
mod limits;
mod operations;
mod pairings;
mod participants;
mod refusals;
mod schema;
mod session_notes;
mod session_notes_caseload;
mod throttles;
mod users;
mod validation_errors;
