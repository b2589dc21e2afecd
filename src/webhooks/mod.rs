//! Webhooks: signing ([`signing`]), which endpoints may be called ([`url`]), and the worker
//! that delivers the outbox ([`worker`]). May use `db`, `crypto` and `ops::config`'s webhook
//! settings; never `routes`.

pub mod signing;
pub mod url;
pub mod worker;
