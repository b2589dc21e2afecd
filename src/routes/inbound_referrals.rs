//! Inbound referrals: a clinic's integration client refers a patient to the organization.

use std::cell::{Cell, RefCell};

use actix_web::http::StatusCode;
use actix_web::{post, HttpResponse};
use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::scope::{ApiScope, Client};
use crate::auth::AuthClient;
use crate::db::models::participants::{self, NewParticipant};
use crate::db::models::referrals::{self, Direction, NewReferral, ReferralStatus, Urgency};
use crate::db::scope::Viewer;
use crate::domain::closed_loop::view::{self, ReferralResponse};
use crate::domain::closed_loop::Acting;
use crate::domain::lifecycle::{Change, REFERRAL};
use crate::http::error::AppResult;
use crate::http::extract::Json;
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::validation::Checks;
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
    validate(&body)?;
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
    let make = async |conn: &mut AsyncPgConnection, client: Client, target: &mut Target| {
        client.require(ApiScope::ReferralsWrite)?;
        // Stored trimmed, so looked up trimmed: surrounding spaces do not make a new id.
        let external_id = body.external_id.trim();
        referrals::lock_external_id(conn, client.client_id, external_id).await?;
        let id = match referrals::find_external(conn, client.client_id, external_id).await? {
            Some(earlier) => {
                repeated.set(true);
                target.action = Action::Replay;
                earlier.id
            }
            None => make_inbound(conn, client, &body).await?,
        };
        show(conn, client, id, target).await
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

fn validate(body: &CreateInboundReferralRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    checks.text("external_id", body.external_id.trim(), limits::EXTERNAL_ID);
    let patient = &body.patient;
    checks.text(
        "patient.first_name",
        patient.first_name.trim(),
        limits::PERSON_NAME,
    );
    checks.text(
        "patient.last_name",
        patient.last_name.trim(),
        limits::PERSON_NAME,
    );
    if let Some(date) = patient.date_of_birth {
        checks.past_date("patient.date_of_birth", date);
    }
    if let Some(phone) = &patient.phone {
        checks.phone("patient.phone", phone.trim());
    }
    if let Some(email) = &patient.email {
        checks.email("patient.email", email.trim());
    }
    if let Some(language) = &patient.preferred_language {
        checks.language("patient.preferred_language", language.trim());
    }
    checks.text("reason", body.reason.trim(), limits::REFERRAL_REASON);
    let provider = body.referring_provider.trim();
    checks.text("referring_provider", provider, limits::REFERRING_PROVIDER);
    checks.finish()
}

/// The unassigned participant and their inbound referral, `requested`.
async fn make_inbound(
    conn: &mut AsyncPgConnection,
    client: Client,
    body: &CreateInboundReferralRequest,
) -> AppResult<Uuid> {
    let patient = &body.patient;
    let trimmed = |value: &Option<String>| value.as_deref().map(|v| v.trim().to_owned());
    let participant = participants::insert(
        conn,
        &NewParticipant {
            id: Uuid::now_v7(),
            organization_id: client.organization_id,
            first_name: patient.first_name.trim().to_owned(),
            last_name: patient.last_name.trim().to_owned(),
            preferred_name: None,
            pronouns: None,
            date_of_birth: patient.date_of_birth,
            email: trimmed(&patient.email),
            phone: trimmed(&patient.phone),
            preferred_language: trimmed(&patient.preferred_language),
            recovery_pathways: Vec::new(),
            needs: Vec::new(),
            intake_date: None,
            created_by: None,
        },
    )
    .await?;
    let referral = referrals::insert(
        conn,
        &NewReferral {
            id: Uuid::now_v7(),
            organization_id: client.organization_id,
            participant_id: participant.id,
            resource_id: None,
            direction: Direction::Inbound,
            source_client_id: Some(client.client_id),
            external_id: Some(body.external_id.trim().to_owned()),
            referring_provider: Some(body.referring_provider.trim().to_owned()),
            reason: body.reason.trim().to_owned(),
            urgency: body.urgency,
            status: ReferralStatus::Requested,
            consent_id: None,
            created_by: None,
            sent_at: Some(chrono::Utc::now()),
        },
    )
    .await?;
    let first = Change {
        subject_id: referral.id,
        from: None,
        to: ReferralStatus::Requested,
        reason: None,
        actor_id: client.client_id,
    };
    REFERRAL.record(conn, first).await?;
    Ok(referral.id)
}
