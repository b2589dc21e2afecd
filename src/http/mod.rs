//! The web layer: request extractors, the problem types every error renders as, response
//! conventions (`ETag`, `If-Match`, `201` with `Location`), field validation and limits,
//! idempotent creates, the request log and the OpenAPI document's assembly.
//!
//! It may use `db` and `auth`'s token types; it knows nothing of routes or domain rules.

pub mod conventions;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod limits;
pub mod oauth;
pub mod openapi;
pub mod problem;
pub mod request_log;
pub mod state;
pub mod validation;

pub use conventions::{etag_of, header_parameter, ok, Created, IfMatch};
