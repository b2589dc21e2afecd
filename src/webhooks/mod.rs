//! Webhooks: what each event delivers ([`events`]), signing ([`signing`]), which endpoints may be called ([`url`]), and the worker
//! that delivers the outbox ([`worker`]). May use `db`, `crypto` and `ops::config`'s webhook
//! settings; never `routes`.

pub mod events;
pub mod signing;
pub mod url;
pub mod worker;
