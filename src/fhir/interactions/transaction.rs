//! `POST /fhir/r4` with a transaction Bundle: a clinic sends a referral (see
//! [`crate::fhir::transaction`]). It makes an inbound referral exactly as
//! `POST /inbound-referrals` does (clients with `referrals:write`); the same Task identifier
//! again, even sent concurrently, makes nothing new and answers with what the first made.

use actix_web::{post, HttpResponse};

use super::respond;
use crate::audit::{Action, Operation, ResourceType};
use crate::auth::scope::ApiScope;
use crate::auth::AuthClient;
use crate::db::models::referrals;
use crate::db::scope::Viewer;
use crate::domain::closed_loop::inbound::{self, Received};
use crate::fhir::body::FhirBody;
use crate::fhir::bundle::{transaction_response, Bundle};
use crate::fhir::transaction::{self, ENTRY_TYPES};
use crate::http::error::AppResult;

#[post("", wrap = "Operation(Action::Create, ResourceType::Referral)")]
pub async fn process_transaction(
    client: AuthClient,
    FhirBody(bundle): FhirBody<Bundle>,
) -> AppResult<HttpResponse> {
    let referral = transaction::read(bundle)?;
    let inbound = referral.inbound();
    let target = client.target();
    let (received, participant_id) = client
        .write(target, async |conn, client, target| {
            client.require(ApiScope::ReferralsWrite)?;
            let received = inbound::receive(conn, client.scope(), &inbound).await?;
            if let Received::Repeated(_) = received {
                target.action = Action::Replay;
            }
            let viewer = Viewer::Client(client.scope());
            let made = referrals::find_visible(conn, viewer, received.id()).await?;
            target.set_id(made.id);
            target.set_participant(made.participant_id);
            Ok((received, made.participant_id))
        })
        .await?;
    let status = match received {
        Received::New(_) => "201 Created",
        Received::Repeated(_) => "200 OK",
    };
    let id = received.id();
    let outcomes: Vec<(String, &str)> = referral
        .order
        .iter()
        .map(|slot| {
            let location = match ENTRY_TYPES[*slot] {
                "Patient" => format!("Patient/{participant_id}"),
                kind => format!("{kind}/{id}"),
            };
            (location, status)
        })
        .collect();
    Ok(respond(&transaction_response(&outcomes), None, &[]))
}
