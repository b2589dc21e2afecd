//! Inbound referrals: a clinic's integration client refers a patient to the organization.

use std::cell::{Cell, RefCell};

use actix_web::http::StatusCode;
use actix_web::{post, HttpResponse};
use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::scope::{ApiScope, Client};
use crate::auth::AuthClient;
use crate::db::models::referrals::{self, Urgency};
use crate::db::scope::Viewer;
use crate::domain::closed_loop::inbound::{self, FieldNames, Inbound, Patient, Received};
use crate::domain::closed_loop::view::{self, ReferralResponse};
use crate::domain::closed_loop::Acting;
use crate::http::error::AppResult;
use crate::http::extract::Json;
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::Created;
use crate::routes::responses::{Authenticated, Forbidden, JsonBody};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_inbound_referral);
}

/// The patient referred, as the referring system knows them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundPatient {
    #[schema(value_type = limits::PersonName)]
    pub first_name: String,
    #[schema(value_type = limits::PersonName)]
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    #[schema(value_type = Option<limits::Phone>)]
    pub phone: Option<String>,
    #[schema(value_type = Option<limits::Email>)]
    pub email: Option<String>,
    #[schema(value_type = Option<limits::LanguageTag>)]
    pub preferred_language: Option<String>,
}

/// A referral of a patient to the organization.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInboundReferralRequest {
    /// The referring system's own id of this referral: sending it again returns the referral
    /// made the first time.
    #[schema(value_type = limits::ExternalId)]
    pub external_id: String,
    pub patient: InboundPatient,
    /// Why the patient is referred.
    #[schema(value_type = limits::ReferralReason)]
    pub reason: String,
    /// Who referred them.
    #[schema(value_type = limits::ReferringProvider)]
    pub referring_provider: String,
    pub urgency: Urgency,
}

/// Refer a patient to the organization.
///
/// Roles: integration clients with `referrals:write` (users get 403). Creates the participant,
/// unassigned so that supervisors find them in their queue, and an inbound referral in
/// `requested`; answers 201 with `Location`. The same `external_id` from the same client
/// creates nothing and answers 200 with the referral made the first time, also when sent
/// concurrently. `Idempotency-Key` is honoured as on every create. The client sees the
/// patient's details in the answer only under an active consent, as on every read.
#[utoipa::path(
    tag = "referrals",
    request_body = CreateInboundReferralRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created; `Location` names the referral", body = ReferralResponse),
        (status = 200, description = "This `external_id` was sent before: the referral made then", body = ReferralResponse),
        Authenticated, JsonBody, Forbidden,
    ),
    security(("bearer" = []))
)]
#[post(
    "/inbound-referrals",
    wrap = "Operation(Action::Create, ResourceType::Referral)"
)]
pub async fn create_inbound_referral(
    client: AuthClient,
    key: IdempotencyKey,
    Json(body): Json<CreateInboundReferralRequest>,
) -> AppResult<HttpResponse> {
    body.inbound().check(&REST_FIELDS)?;
    let request_id = client.meta.request_id.clone();
    let repeated = Cell::new(false);
    let consent_ids = RefCell::new(Vec::new());
    let show = async |conn: &mut AsyncPgConnection, client: Client, id, target: &mut Target| {
        let viewer = Viewer::Client(client.scope());
        let referral = referrals::find_visible(conn, viewer, id).await?;
        target.set_participant(referral.participant_id);
        let acting = Acting {
            viewer,
            request_id: &request_id,
        };
        let shown = view::full(conn, acting, referral).await?;
        consent_ids.replace(shown.consent_ids);
        Ok(Created {
            id,
            location: format!("/api/v1/referrals/{id}"),
            body: shown.body,
        })
    };
    let inbound = body.inbound();
    let make = async |conn: &mut AsyncPgConnection, client: Client, target: &mut Target| {
        client.require(ApiScope::ReferralsWrite)?;
        let received = inbound::receive(conn, client.scope(), &inbound).await?;
        if let Received::Repeated(_) = received {
            repeated.set(true);
            target.action = Action::Replay;
        }
        show(conn, client, received.id(), target).await
    };
    let target = client.target();
    let mut response = client.create(target, &key, &body, make, &show).await?;
    // A repeated `external_id` is 200; an `Idempotency-Key` replay stays the 201 it was.
    if repeated.get() && !response.headers().contains_key("Idempotent-Replayed") {
        *response.status_mut() = StatusCode::OK;
    }
    view::disclosure_headers(&mut response, &consent_ids.borrow());
    Ok(response)
}

/// The request's names for the parts of an inbound referral.
const REST_FIELDS: FieldNames = FieldNames {
    external_id: "external_id",
    first_name: "patient.first_name",
    last_name: "patient.last_name",
    date_of_birth: "patient.date_of_birth",
    phone: "patient.phone",
    email: "patient.email",
    preferred_language: "patient.preferred_language",
    identifier: "patient",
    reason: "reason",
    referring_provider: "referring_provider",
};

impl CreateInboundReferralRequest {
    /// The referral, trimmed: stored trimmed, so looked up trimmed (surrounding spaces do not
    /// make a new `external_id`).
    fn inbound(&self) -> Inbound<'_> {
        let patient = &self.patient;
        Inbound {
            external_id: self.external_id.trim(),
            patient: Patient {
                first_name: patient.first_name.trim(),
                last_name: patient.last_name.trim(),
                date_of_birth: patient.date_of_birth,
                phone: patient.phone.as_deref().map(str::trim),
                email: patient.email.as_deref().map(str::trim),
                preferred_language: patient.preferred_language.as_deref().map(str::trim),
                identifiers: Vec::new(),
            },
            reason: self.reason.trim(),
            referring_provider: self.referring_provider.trim(),
            urgency: self.urgency,
        }
    }
}
