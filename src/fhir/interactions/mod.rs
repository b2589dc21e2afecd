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

use crate::auth::scope::ApiScope;
use crate::auth::AuthClient;
use crate::db::models::referrals::{self, Referral};
use crate::db::scope::Viewer;
use crate::domain::closed_loop::view::disclosure_headers;
use crate::domain::closed_loop::Acting;
use crate::fhir::outcome::FHIR_JSON;
use crate::fhir::task::{shown_as, Names};
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

/// Reads referral `id` as the client may see it, rendered by `make` (a Task, a
/// ServiceRequest), answered with its version and the disclosure headers: 404 for a referral
/// the client cannot see, as for one that does not exist.
pub async fn read_referral<T: serde::Serialize>(
    client: AuthClient,
    id: &str,
    req: &HttpRequest,
    make: fn(&Referral, &Names, Option<String>) -> T,
    version: fn(&T) -> Option<&str>,
) -> AppResult<HttpResponse> {
    let id = resource_id(id)?;
    let base = base_url(req);
    let request_id = client.meta.request_id.clone();
    let target = client.target().id(id);
    let shown = client
        .write(target, async |conn, client, target| {
            client.require(ApiScope::ReferralsRead)?;
            let viewer = Viewer::Client(client.scope());
            let referral = referrals::find_visible(conn, viewer, id).await?;
            target.set_participant(referral.participant_id);
            let acting = Acting {
                viewer,
                request_id: &request_id,
            };
            shown_as(conn, acting, &base, vec![referral], make).await
        })
        .await?;
    let resource = shown.body.first().ok_or(AppError::NotFound)?;
    Ok(respond(resource, version(resource), &shown.consent_ids))
}
