//! HTTP tests against a real Tandem over a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod docs;
mod errors;
mod helpers;
mod jwt;
mod operations;
mod users;
