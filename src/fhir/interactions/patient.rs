//! `GET /fhir/r4/Patient/{id}`: the participant of a referral the client can see, only while
//! an active consent discloses their demographics to it (the same decision as the REST
//! referral reads, recorded as a disclosure). Otherwise 404, the same answer as for an id that
//! does not exist, so a client cannot tell a participant it may not see from no one.

use actix_web::{get, web, HttpResponse};

use super::{resource_id, respond};
use crate::audit::{Action, Operation, ResourceType};
use crate::auth::scope::ApiScope;
use crate::auth::AuthClient;
use crate::db::models::{participant_identifiers, referrals};
use crate::db::scope::Viewer;
use crate::domain::closed_loop::view;
use crate::domain::closed_loop::Acting;
use crate::fhir::patient::patient;
use crate::http::error::{AppError, AppResult};

/// How many of the participant's referrals are tried for a consent that names the client.
const REFERRALS_TRIED: i64 = 20;

#[get(
    "/Patient/{id}",
    wrap = "Operation(Action::Read, ResourceType::Participant)"
)]
pub async fn read_patient(client: AuthClient, id: web::Path<String>) -> AppResult<HttpResponse> {
    let id = resource_id(&id)?;
    let request_id = client.meta.request_id.clone();
    let target = client.target().id(id).participant(id);
    let (shown, consent_ids) = client
        .write(target, async |conn, client, _| {
            client.require(ApiScope::ReferralsRead)?;
            let viewer = Viewer::Client(client.scope());
            let rows = referrals::of_participant(conn, viewer, id, REFERRALS_TRIED).await?;
            let acting = Acting {
                viewer,
                request_id: &request_id,
            };
            let seen = view::summaries(conn, acting, rows).await?;
            let details = seen
                .body
                .into_iter()
                .find_map(|summary| summary.participant)
                .ok_or(AppError::NotFound)?;
            let identifiers =
                participant_identifiers::of_client(conn, id, client.client_id).await?;
            Ok((patient(id, &details, &identifiers), seen.consent_ids))
        })
        .await?;
    Ok(respond(&shown, None, &consent_ids))
}
