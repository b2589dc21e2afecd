//! `GET /fhir/r4/ServiceRequest/{id}`: the request a referral's Task is about, read as the
//! Task is (integration clients with `referrals:read`, the same referrals visible, the same
//! consent decision).

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::{base_url, resource_id, respond};
use crate::audit::{Action, Operation, ResourceType};
use crate::auth::scope::ApiScope;
use crate::auth::AuthClient;
use crate::db::models::referrals;
use crate::db::scope::Viewer;
use crate::domain::closed_loop::Acting;
use crate::fhir::service_request::service_request;
use crate::fhir::task::shown_as;
use crate::http::error::{AppError, AppResult};

#[get(
    "/ServiceRequest/{id}",
    wrap = "Operation(Action::Read, ResourceType::Referral)"
)]
pub async fn read_service_request(
    client: AuthClient,
    id: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = resource_id(&id)?;
    let base = base_url(&req);
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
            shown_as(conn, acting, &base, vec![referral], service_request).await
        })
        .await?;
    let request = shown.body.first().ok_or(AppError::NotFound)?;
    let version = request.meta.as_ref().and_then(|m| m.version_id.as_deref());
    Ok(respond(request, version, &shown.consent_ids))
}
