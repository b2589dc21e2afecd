//! Closed-loop referrals: outbound referrals to the directory, their FHIR Task status, and
//! what integration clients see of them. Inbound referrals are made in `inbound_referrals`.

mod types;

use actix_web::{get, post, web, HttpResponse};
use diesel_async::AsyncPgConnection;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::scope::ApiScope;
use crate::auth::{AuthUser, Caller};
use crate::db::models::referrals::send::Sending;
use crate::db::models::referrals::{self, Direction, NewReferral, ReferralFilter, ReferralStatus};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::scope::{Scope, Viewer};
use crate::domain::closed_loop::view::{self, ReferralResponse, ReferralSummary};
use crate::domain::closed_loop::{self, Acting, Move};
pub use crate::domain::closed_loop::{OUTCOME_REQUIRED, REASON_REQUIRED};
use crate::domain::lifecycle::REFERRAL;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::validation::Checks;
use crate::http::Created;
use crate::routes::responses::{
    Authenticated, BadRequest, Conflict, Forbidden, JsonBody, NotFound,
};
pub use types::{CreateReferralRequest, ListReferralsQuery, ReferralStatusRequest};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_referral)
        .service(list_referrals)
        .service(get_referral)
        .service(change_referral_status);
}

/// Refer a participant to a resource of the directory.
///
/// Roles: admin, supervisor, coach (current caseload), participant (themselves); integration
/// clients get 403 (they send `POST /inbound-referrals`). `status` is `draft` (the default) or
/// `requested`, which sends it: that needs an active consent of the participant covering
/// `referral_details` and naming each recipient: every integration client linked to the
/// resource (by name, or by naming the resource when the client was linked before the
/// consent was signed), or the resource itself when it has no client (409
/// `consent-required`). A given `consent_id` that is revoked, expired or names someone else
/// is 409 `consent-required` too (a revoked or expired one on a draft as well).
/// 404 when the participant is not in the caller's scope; 422 when the resource is not in the
/// organization's directory; 409 `resource-not-accepting-referrals` when it takes none now.
#[utoipa::path(
    tag = "referrals",
    request_body = CreateReferralRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created; `Location` names the referral", body = ReferralResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/referrals",
    wrap = "Operation(Action::Create, ResourceType::Referral)"
)]
pub async fn create_referral(
    user: AuthUser,
    key: IdempotencyKey,
    Json(body): Json<CreateReferralRequest>,
) -> AppResult<HttpResponse> {
    let status = body.status.unwrap_or(ReferralStatus::Draft);
    let mut checks = Checks::new();
    checks.text("reason", &body.reason, limits::REFERRAL_REASON);
    if !types::CREATE_STATUSES.contains(&status) {
        checks.add("status", "must be `draft` or `requested`");
    }
    checks.finish()?;
    let request_id = user.meta.request_id.clone();
    let show = async |conn: &mut AsyncPgConnection, scope: Scope, id: Uuid, target: &mut Target| {
        let referral = referrals::find_visible(conn, Viewer::User(scope), id).await?;
        target.set_participant(referral.participant_id);
        let acting = Acting {
            viewer: Viewer::User(scope),
            request_id: &request_id,
        };
        let shown = view::full(conn, acting, referral).await?;
        Ok(Created {
            id,
            location: format!("/api/v1/referrals/{id}"),
            body: shown.body,
        })
    };
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, _: &mut Target| {
        let acting = Acting {
            viewer: Viewer::User(scope),
            request_id: &request_id,
        };
        make_referral(conn, acting, &body, status).await
    };
    let target = user.target().participant(body.participant_id);
    user.create(target, &key, &body, make, &show).await
}

/// Inserts the referral with its first status in one statement that also checks the scope,
/// the resource and, when it is sent, the consent, and writes the disclosures and events.
/// Answers with it as a read would show it, without reading it back. When nothing was
/// written, finds out why.
async fn make_referral(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    body: &CreateReferralRequest,
    status: ReferralStatus,
) -> AppResult<Created<ReferralResponse>> {
    let Viewer::User(scope) = acting.viewer else {
        return Err(AppError::Forbidden);
    };
    let sending = status == ReferralStatus::Requested;
    let new = NewReferral {
        id: Uuid::now_v7(),
        organization_id: scope.organization_id,
        participant_id: body.participant_id,
        resource_id: Some(body.resource_id),
        direction: Direction::Outbound,
        source_client_id: None,
        external_id: None,
        referring_provider: None,
        reason: body.reason.trim().to_owned(),
        urgency: body.urgency,
        status,
        consent_id: body.consent_id,
        created_by: Some(scope.user_id),
        sent_at: sending.then(chrono::Utc::now),
    };
    let (first, entry) = REFERRAL.first(new.id, status, scope.user_id);
    let send = Sending {
        organization_id: scope.organization_id,
        participant_id: body.participant_id,
        resource_id: body.resource_id,
        given_consent: body.consent_id,
        urgency: body.urgency.as_str(),
        request_id: acting.request_id,
        at: first.at,
    };
    let made = referrals::insert_visible(
        conn,
        scope,
        &new,
        body.resource_id,
        &first,
        sending.then_some(&send),
    )
    .await?;
    let Some((referral, person)) = made else {
        return Err(closed_loop::why_not_made(conn, scope, &send, sending).await);
    };
    let id = referral.id;
    Ok(Created {
        id,
        location: format!("/api/v1/referrals/{id}"),
        body: view::made_by_user(referral, person, entry),
    })
}

/// List referrals, newest first.
///
/// Roles: admin and supervisor (the organization's), coach (their current caseload's),
/// participant (their own), integration clients with `referrals:read` (sent referrals to the
/// resources linked to them, and the inbound referrals they made; drafts never). A client sees
/// each participant's minimal demographics only under an active consent covering
/// `demographics` (otherwise `participant` is `null` and `participant_redacted` is `true`);
/// a page that shows any carries `X-Redisclosure-Notice` and `X-Consent-Id`, and each
/// participant shown is recorded as a disclosure. 403 to a client without `referrals:read`.
#[utoipa::path(
    tag = "referrals",
    params(ListReferralsQuery),
    responses(
        (status = 200, description = "A page of referrals", body = Page<ReferralSummary>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get("/referrals", wrap = "Operation(Action::List, ResourceType::Referral)")]
pub async fn list_referrals(
    caller: Caller,
    Query(query): Query<ListReferralsQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let filter = ReferralFilter {
        participant_id: query.participant_id,
        resource_id: query.resource_id,
        status: query.status,
        direction: query.direction,
    };
    let request_id = caller.meta.request_id.clone();
    let mut target = caller.target();
    target.participant_id = query.participant_id;
    let shown = caller
        .write(target, async |conn, identity, target| {
            identity.require(ApiScope::ReferralsRead)?;
            let viewer = identity.viewer();
            let mut rows = referrals::list(conn, viewer, &filter, &page).await?;
            let next = (rows.len() as i64 > page.limit).then(|| rows.remove(rows.len() - 1));
            target.set_participants(rows.iter().map(|r| r.participant_id));
            let last = rows.last().map(|r| r.id);
            let acting = Acting {
                viewer,
                request_id: &request_id,
            };
            let shown = view::summaries(conn, acting, rows).await?;
            Ok((shown, next.and(last)))
        })
        .await?;
    let (shown, last) = shown;
    let page = Page {
        items: shown.body,
        next_cursor: last.map(|id| Cursor::After(id).encode()),
    };
    let mut response = HttpResponse::Ok().json(&page);
    view::disclosure_headers(&mut response, &shown.consent_ids);
    Ok(response)
}

/// Get one referral with its full status history.
///
/// Roles: as for the list: users in scope; integration clients with `referrals:read` for a
/// sent referral to a resource linked to them or an inbound referral they made (404
/// otherwise). A client sees the participant's minimal demographics only under an active
/// consent covering `demographics`; then the response carries `X-Redisclosure-Notice` and
/// `X-Consent-Id`, and the showing is recorded as a disclosure.
#[utoipa::path(
    tag = "referrals",
    params(("id" = Uuid, Path, description = "Referral id")),
    responses(
        (status = 200, description = "The referral", body = ReferralResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/referrals/{id}",
    wrap = "Operation(Action::Read, ResourceType::Referral)"
)]
pub async fn get_referral(caller: Caller, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let request_id = caller.meta.request_id.clone();
    let target = caller.target().id(id);
    let shown = caller
        .write(target, async |conn, identity, target| {
            identity.require(ApiScope::ReferralsRead)?;
            let viewer = identity.viewer();
            let referral = referrals::find_visible(conn, viewer, id).await?;
            target.set_participant(referral.participant_id);
            let acting = Acting {
                viewer,
                request_id: &request_id,
            };
            view::full(conn, acting, referral).await
        })
        .await?;
    Ok(shown.ok())
}

/// Change a referral's status.
///
/// Roles: the sender moves `draft → requested`, cancels, or marks `entered-in-error` (outbound:
/// staff in scope and the participant themselves; inbound: the client that made it). The
/// receiver accepts, rejects, starts (`in-progress`), holds (`on-hold`), fails or completes
/// (outbound: the integration client linked to the resource, or staff in scope when no
/// client is linked; inbound: the organization's staff in scope). Clients need
/// `referrals:write`. 404 when the referral is not visible to the caller; 409 when the move is
/// not allowed from the current status (the detail lists the allowed next statuses), or
/// sending lacks an active consent (`consent-required`); 403 when the move is
/// allowed but belongs to the other side. `reason` is required for `rejected`, `cancelled`,
/// `on-hold` and `failed`; `outcome` for `completed` and `failed`, and refused otherwise (422).
#[utoipa::path(
    tag = "referrals",
    params(("id" = Uuid, Path, description = "Referral id")),
    request_body = ReferralStatusRequest,
    responses(
        (status = 200, description = "The referral after the change", body = ReferralResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/referrals/{id}/status",
    wrap = "Operation(Action::ChangeStatus, ResourceType::Referral)"
)]
pub async fn change_referral_status(
    caller: Caller,
    id: web::Path<Uuid>,
    Json(body): Json<ReferralStatusRequest>,
) -> AppResult<HttpResponse> {
    let change = Move {
        to: body.status,
        reason: body.reason.as_deref().map(str::trim),
        outcome: body.outcome,
    };
    change.check("reason", "outcome")?;
    let id = id.into_inner();
    let request_id = caller.meta.request_id.clone();
    let target = caller.target().id(id);
    let shown = caller
        .write(target, async |conn, identity, target| {
            identity.require(ApiScope::ReferralsWrite)?;
            let viewer = identity.viewer();
            let acting = Acting {
                viewer,
                request_id: &request_id,
            };
            let updated = closed_loop::change_status(conn, acting, id, &change).await?;
            target.set_participant(updated.participant_id);
            view::full(conn, acting, updated).await
        })
        .await?;
    Ok(shown.ok())
}
