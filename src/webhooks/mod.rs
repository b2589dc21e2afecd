//! Webhooks: signing ([`signing`]), which endpoints may be called ([`url`]), and the worker
//! that delivers the outbox ([`worker`]).

pub mod signing;
pub mod url;
pub mod worker;
