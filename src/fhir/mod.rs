//! The FHIR R4 interface at `/fhir/r4`, for clinic systems: closed-loop referrals as the HL7
//! SDOH Clinical Care guide shapes them (Task, ServiceRequest, Patient, HealthcareService),
//! over the same rules as the REST interface. May use what `routes` may (`domain`, `audit`,
//! `auth`, `http`, `db`); never `routes`.
//!
//! Answers are `application/fhir+json` and errors `OperationOutcome` ([`outcome`]). The
//! interface is described by its CapabilityStatement (`GET /fhir/r4/metadata`), not by the
//! OpenAPI document, which links to it.

pub mod body;
pub mod bundle;
pub mod datatypes;
pub mod healthcare_service;
pub mod interactions;
pub mod labels;
pub mod outcome;
pub mod patient;
pub mod service_request;
pub mod task;
pub mod transaction;

use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{http::header, web};

/// Where the interface lives.
pub const BASE_PATH: &str = "/fhir/r4";

/// The `/fhir/r4` scope. `discovery` adds the SMART configuration under it (SMART clients
/// read it at `<FHIR base>/.well-known/smart-configuration`); the sign-in it describes is the
/// REST interface's.
pub fn configure(cfg: &mut web::ServiceConfig, discovery: fn(&mut web::ServiceConfig)) {
    cfg.service(
        web::scope(BASE_PATH)
            .wrap(from_fn(outcome::fhir_responses))
            // Participant data: never cached. The CapabilityStatement is public and the same
            // for everyone, but costs nothing to fetch again.
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .configure(discovery)
            .service(interactions::metadata::capability_statement)
            .service(interactions::transaction::process_transaction)
            .service(interactions::task::search_tasks)
            .service(interactions::task::read_task)
            .service(interactions::task::update_task)
            .service(interactions::service_request::read_service_request)
            .service(interactions::patient::read_patient)
            .service(interactions::healthcare_service::search_healthcare_services)
            .service(interactions::healthcare_service::read_healthcare_service)
            .default_service(web::to(outcome::unknown_interaction)),
    );
}
