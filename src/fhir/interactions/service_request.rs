//! `GET /fhir/r4/ServiceRequest/{id}`: the request a referral's Task is about, read as the
//! Task is (integration clients with `referrals:read`, the same referrals visible, the same
//! consent decision).

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::read_referral;
use crate::audit::{Action, Operation, ResourceType};
use crate::auth::AuthClient;
use crate::fhir::service_request::service_request;
use crate::http::error::AppResult;

#[get(
    "/ServiceRequest/{id}",
    wrap = "Operation(Action::Read, ResourceType::Referral)"
)]
pub async fn read_service_request(
    client: AuthClient,
    id: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    read_referral(client, &id, &req, service_request, |request| {
        request.meta.as_ref()?.version_id.as_deref()
    })
    .await
}
