//! One module per table: the row types and the queries that read and write them.

pub mod audit_events;
pub mod idempotency_keys;
pub mod login_throttles;
pub mod organizations;
pub mod refresh_tokens;
pub mod users;
