//! Tandem: a case-management API for peer recovery support.
//!
//! Arrows go down: `ops` wires everything; `routes` (the REST handlers) and `fhir` (the FHIR
//! interface) use `domain`, `audit`, `auth` and `http`; `domain` uses `db`; `db` uses nothing above it. `crypto` uses nothing.

pub mod audit;
pub mod auth;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod fhir;
pub mod http;
pub mod ops;
pub mod routes;
pub mod webhooks;
