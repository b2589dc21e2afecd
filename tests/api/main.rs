//! HTTP tests against a real Tandem over a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod assessments;
mod audit;
mod auth;
mod cli;
mod client_tokens;
mod coaches;
mod db_roles;
mod deployment;
mod docs;
mod errors;
mod factories;
mod goals;
mod group_sessions;
mod helpers;
mod hsds;
mod idempotency;
mod instances;
mod jwt;
mod limits;
mod operations;
mod pairings;
mod participants;
mod refusals;
mod resources;
mod schema;
mod session_notes;
mod session_notes_caseload;
mod throttles;
mod users;
mod validation_errors;

mod consents;
mod disclosures;
