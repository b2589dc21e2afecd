//! Written consents to disclose under 42 CFR part 2: signing, reading with the state derived
//! at the moment of the request, and revoking (which tells every integration client that
//! received data under the consent).
//!
//! Who may do what: staff in scope (admins and supervisors of the organization, the coach of
//! the participant's current pairing) and the participant for their own record sign, read and
//! revoke. Integration clients get 403. Anyone else is 404.

mod requests;

use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::AuthUser;
use crate::db::models::consents::{self, Consent, ConsentState, NewConsent};
use crate::db::models::disclosures;
use crate::db::models::webhook_events::{self, EventType};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::scope::Scope;
use crate::http::error::{AppError, AppResult, ProblemType};
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::{self, Created};
use crate::routes::responses::{
    Authenticated, BadRequest, Conflict, Forbidden, JsonBody, NotFound,
};

use requests::{validate_create, validate_revoke, ValidConsent};
pub use requests::{
    ConsentResponse, CreateConsentRequest, ListConsentsQuery, RevokeConsentRequest,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_consent)
        .service(list_consents)
        .service(get_consent)
        .service(revoke_consent);
}

/// The recipient's name: as given, else the named resource's or client's, each of which must
/// be the organization's (422 naming the field otherwise).
async fn recipient_name(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    consent: &ValidConsent,
) -> AppResult<String> {
    let mut found = None;
    if let Some(id) = consent.recipient_resource_id {
        let name = consents::resource_name(conn, organization_id, id).await?;
        found = Some(name.ok_or_else(|| {
            AppError::invalid("recipient_resource_id", "no such resource in the directory")
        })?);
    }
    if let Some(id) = consent.recipient_client_id {
        let name = consents::client_name(conn, organization_id, id).await?;
        let name = name.ok_or_else(|| {
            AppError::invalid("recipient_client_id", "no such integration client")
        })?;
        found = found.or(Some(name));
    }
    Ok(consent.recipient_name.clone().or(found).unwrap_or_default())
}

async fn new_consent(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    consent: &ValidConsent,
) -> AppResult<NewConsent> {
    let recipient_name = recipient_name(conn, scope.organization_id, consent).await?;
    let discloser_name = match &consent.discloser_name {
        Some(name) => name.clone(),
        None => consents::organization_name(conn, scope.organization_id).await?,
    };
    Ok(NewConsent {
        id: Uuid::now_v7(),
        organization_id: scope.organization_id,
        participant_id,
        discloser_name,
        recipient_resource_id: consent.recipient_resource_id,
        recipient_client_id: consent.recipient_client_id,
        recipient_name,
        purpose: consent.purpose.clone(),
        information_categories: consent.information_categories.clone(),
        information_description: consent.information_description.clone(),
        expires_at: consent.expires_at,
        expiration_event: consent.expiration_event.clone(),
        signed_by_name: consent.signed_by_name.clone(),
        signer_relationship: consent.signer_relationship.as_str().to_owned(),
        signed_at: consent.signed_at,
        signature_method: consent.signature_method.as_str().to_owned(),
        created_by: scope.user_id,
    })
}

/// Record a participant's written consent to disclose (42 CFR 2.31).
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own record, signed
/// as `self`). Integration clients get 403; a participant the caller cannot see is 404.
/// Every element of 42 CFR 2.31 is required, and one 422 names each missing or invalid one:
/// the recipient (`recipient_resource_id`, `recipient_client_id` or `recipient_name`; a named
/// resource or client must be the organization's), `purpose`, `information_categories`,
/// `information_description`, the expiry (`expires_at` after `signed_at`, or
/// `expiration_event`), `signed_by_name`, `signer_relationship`, `signed_at` (not in the
/// future) and `signature_method`. Who discloses (`discloser_name`) is the organization
/// unless given. The response states the right to revoke and the redisclosure notice.
#[utoipa::path(
    tag = "consents",
    params(("id" = Uuid, Path, description = "Participant id"), IdempotencyKey),
    request_body = CreateConsentRequest,
    responses(
        (status = 201, description = "Created; `Location` names the consent", body = ConsentResponse),
        Authenticated, JsonBody, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[post(
    "/participants/{id}/consents",
    wrap = "Operation(Action::Create, ResourceType::Consent)"
)]
pub async fn create_consent(
    user: AuthUser,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<CreateConsentRequest>,
) -> AppResult<HttpResponse> {
    let consent = validate_create(&body, user.scope.role)?;
    let participant_id = id.into_inner();
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, target: &mut Target| {
        crate::db::scope::visible_participant(conn, scope, participant_id).await?;
        let new = new_consent(conn, scope, participant_id, &consent).await?;
        let id = consents::insert(conn, &new).await?;
        created(conn, scope, id, target).await
    };
    let target = user.target().participant(participant_id);
    user.create(target, &key, &body, make, created).await
}

/// The created (or replayed) consent, read back through the caller's scope.
async fn created(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    target: &mut Target,
) -> AppResult<Created<ConsentResponse>> {
    let consent = consents::find_visible(conn, scope, id).await?;
    target.set_participant(consent.participant_id);
    Ok(Created {
        id,
        location: format!("/api/v1/consents/{id}"),
        body: ConsentResponse::from(consent),
    })
}

/// List a participant's consents, newest first, each with its state now.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own record).
/// `state` keeps the consents in that state at the moment of the request. A participant the
/// caller cannot see is 404; integration clients get 403.
#[utoipa::path(
    tag = "consents",
    params(("id" = Uuid, Path, description = "Participant id"), ListConsentsQuery),
    responses(
        (status = 200, description = "A page of consents", body = Page<ConsentResponse>),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/participants/{id}/consents",
    wrap = "Operation(Action::List, ResourceType::Consent)"
)]
pub async fn list_consents(
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<ListConsentsQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let before = match page.cursor {
        None => None,
        Some(Cursor::After(id)) => Some(id),
        Some(Cursor::AfterKey(..)) => {
            return Err(AppError::BadRequest(
                "Query parameter `cursor` is not a cursor this API issued.".into(),
            ))
        }
    };
    let participant_id = id.into_inner();
    let target = user.target().participant(participant_id);
    let rows = user
        .read(target, async |conn, scope, target| {
            crate::db::scope::visible_participant(conn, scope, participant_id).await?;
            let limit = page.fetch_limit();
            let rows = consents::list(conn, participant_id, query.state, before, limit).await?;
            target.set_participants(page.shown(&rows).iter().map(|c| c.participant_id));
            Ok(rows)
        })
        .await?;
    let now = Utc::now();
    let page = page.finish(
        rows,
        |c| Cursor::After(c.id),
        |c| ConsentResponse::at(c, now),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get one consent with its state now.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own). Anything
/// else is 404; integration clients get 403.
#[utoipa::path(
    tag = "consents",
    params(("id" = Uuid, Path, description = "Consent id")),
    responses(
        (status = 200, description = "The consent; `ETag` identifies this version", body = ConsentResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/consents/{id}",
    wrap = "Operation(Action::Read, ResourceType::Consent)"
)]
pub async fn get_consent(user: AuthUser, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let consent = user
        .read(target, async |conn, scope, target| {
            let consent = consents::find_visible(conn, scope, id).await?;
            target.set_participant(consent.participant_id);
            Ok(ConsentResponse::from(consent))
        })
        .await?;
    Ok(http::ok(&consent))
}

/// Revoke a consent.
///
/// Roles: admin, supervisor, coach (current caseload) record a revocation; a participant
/// revokes their own. Anything else is 404; integration clients get 403. It takes effect at
/// once: the next request that would disclose under it finds no active consent. The
/// integration client the consent names, and every one that received data under it, is sent
/// a `consent.revoked` event (`{consent_id, referral_ids}`: the referrals it received data
/// for). Revoking a revoked consent is 409. No reason is needed.
#[utoipa::path(
    tag = "consents",
    params(("id" = Uuid, Path, description = "Consent id")),
    request_body = RevokeConsentRequest,
    responses(
        (status = 200, description = "The consent, now `revoked`", body = ConsentResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/consents/{id}/revoke",
    wrap = "Operation(Action::Revoke, ResourceType::Consent)"
)]
pub async fn revoke_consent(
    user: AuthUser,
    id: web::Path<Uuid>,
    Json(body): Json<RevokeConsentRequest>,
) -> AppResult<HttpResponse> {
    let reason = validate_revoke(&body)?;
    let id = id.into_inner();
    let target = user.target().id(id);
    let revoked = user
        .write(target, async |conn, scope, target| {
            let current = consents::lock_visible(conn, scope, id).await?;
            target.set_participant(current.participant_id);
            if current.state_at(Utc::now()) == ConsentState::Revoked {
                return Err(AppError::conflict(
                    ProblemType::ConsentRevoked,
                    "The consent is already revoked.",
                ));
            }
            let revoked = consents::revoke(conn, id, scope.user_id, reason.as_deref()).await?;
            tell_recipients(conn, &revoked).await?;
            Ok(ConsentResponse::from(revoked))
        })
        .await?;
    Ok(http::ok(&revoked))
}

/// Queues `consent.revoked` for the client the consent names (even one that has received
/// nothing yet) and every client that received data under it, naming the consent and the
/// referrals that client received it for: ids it already holds, so the event discloses
/// nothing new.
async fn tell_recipients(conn: &mut AsyncPgConnection, consent: &Consent) -> AppResult<()> {
    let mut recipients = disclosures::recipients_of_consent(conn, consent.id).await?;
    if let Some(named) = consent.recipient_client_id {
        if !recipients.iter().any(|(client, _)| *client == named) {
            recipients.push((named, Vec::new()));
        }
    }
    for (client_id, referral_ids) in recipients {
        let data = json!({"consent_id": consent.id, "referral_ids": referral_ids});
        let event = EventType::ConsentRevoked;
        webhook_events::publish(conn, consent.organization_id, &[client_id], event, &data).await?;
    }
    Ok(())
}
