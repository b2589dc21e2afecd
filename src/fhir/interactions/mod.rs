//! The FHIR interactions, one module per resource type, and what they share: the server's base
//! URL, ids, and the answer with its version and disclosure headers.

pub mod healthcare_service;
pub mod metadata;
pub mod patient;
pub mod service_request;
pub mod task;
pub mod transaction;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::closed_loop::view::disclosure_headers;
use crate::fhir::outcome::FHIR_JSON;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;

/// The URL clients reach the server at (see [`AppState::base_url`]).
pub fn base_url(req: &HttpRequest) -> String {
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.base_url(req),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// A resource id from the URL: one that is not a UUID names nothing here (404).
pub fn resource_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

/// 200 with `body`, its version as a weak `ETag` when it has one, and the redisclosure notice
/// when participant data went out under a consent.
pub fn respond<T: Serialize>(
    body: &T,
    version: Option<&str>,
    consent_ids: &[Uuid],
) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CONTENT_TYPE, FHIR_JSON));
    if let Some(version) = version {
        response.insert_header((header::ETAG, format!("W/\"{version}\"")));
    }
    let mut response = response.body(serde_json::to_vec(body).unwrap_or_default());
    disclosure_headers(&mut response, consent_ids);
    response
}
