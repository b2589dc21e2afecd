//! Pairings of coaches with participants, their lifecycle and caseload moves.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::{AuthUser, Supervisor};
use crate::db::models::pairings::{self, Pairing, PairingFilter, PairingStatus};
use crate::db::models::participants::{self, ParticipantStatus};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::scope::Scope;
use crate::domain::caseload::{self, ReassignResponse, Reassignment};
use crate::domain::lifecycle::{self, PairingHistoryEntry};
use crate::http::error::{AppError, AppResult, ProblemType};
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::validation::Checks;
use crate::http::{self, Created};
use crate::routes::responses::{
    Authenticated, BadRequest, Conflict, Forbidden, JsonBody, NotFound,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(reassign_pairings)
        .service(create_pairing)
        .service(list_pairings)
        .service(get_pairing)
        .service(change_pairing_status);
}

/// A coach–participant pairing with its status history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PairingResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub coach_id: Uuid,
    pub status: PairingStatus,
    /// When the pairing first became active.
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Status changes, oldest first.
    pub history: Vec<PairingHistoryEntry>,
}

/// A pairing as listed (without history).
#[derive(Debug, Serialize, ToSchema)]
pub struct PairingSummary {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub coach_id: Uuid,
    pub status: PairingStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Pairing> for PairingSummary {
    fn from(p: Pairing) -> Self {
        Self {
            id: p.id,
            participant_id: p.participant_id,
            coach_id: p.coach_id,
            status: p.status,
            started_at: p.started_at,
            ended_at: p.ended_at,
            created_at: p.created_at,
        }
    }
}

/// A new pairing.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePairingRequest {
    pub participant_id: Uuid,
    /// The user id of a coach of the organization.
    pub coach_id: Uuid,
    /// `proposed` or `active` (the default).
    pub status: Option<PairingStatus>,
    /// Why.
    #[schema(value_type = Option<limits::Reason>)]
    pub reason: Option<String>,
}

/// The moves that need a `reason` (also stated in the document).
pub const REASON_REQUIRED: &[PairingStatus] = &[PairingStatus::Ended];

/// A status change with its reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "active"}))]
pub struct PairingStatusRequest {
    pub status: PairingStatus,
    /// Why; required when ending a pairing.
    #[schema(value_type = Option<limits::Reason>)]
    pub reason: Option<String>,
}

/// Moving a coach's caseload, or part of it, to another coach.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    pub from_coach_id: Uuid,
    pub to_coach_id: Uuid,
    /// Only these participants; all of the coach's current participants when omitted.
    #[schema(value_type = Option<limits::ParticipantIds>)]
    pub participant_ids: Option<Vec<Uuid>>,
    /// Why. Recorded on every pairing ended and created.
    #[schema(value_type = limits::Reason)]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListPairingsQuery {
    pub participant_id: Option<Uuid>,
    pub coach_id: Option<Uuid>,
    pub status: Option<PairingStatus>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

async fn respond(conn: &mut AsyncPgConnection, p: Pairing) -> AppResult<PairingResponse> {
    let history = lifecycle::history(conn, p.id).await?;
    Ok(PairingResponse {
        id: p.id,
        organization_id: p.organization_id,
        participant_id: p.participant_id,
        coach_id: p.coach_id,
        status: p.status,
        started_at: p.started_at,
        ended_at: p.ended_at,
        created_by: p.created_by,
        created_at: p.created_at,
        updated_at: p.updated_at,
        history,
    })
}

/// Pair a participant with a coach.
///
/// Roles: admin, supervisor. 409 when the participant already has a current pairing, is
/// discharged, or the coach's caseload is full; 422 when either id is not of this organization.
#[utoipa::path(
    tag = "pairings",
    request_body = CreatePairingRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created; `Location` names the pairing", body = PairingResponse),
        Authenticated, JsonBody, Forbidden, Conflict,
    ),
    security(("bearer" = []))
)]
#[post("/pairings", wrap = "Operation(Action::Create, ResourceType::Pairing)")]
pub async fn create_pairing(
    Supervisor(user): Supervisor,
    key: IdempotencyKey,
    Json(body): Json<CreatePairingRequest>,
) -> AppResult<HttpResponse> {
    let status = body.status.unwrap_or(PairingStatus::Active);
    let mut checks = Checks::new();
    if !matches!(status, PairingStatus::Proposed | PairingStatus::Active) {
        checks.add("status", "must be `proposed` or `active`");
    }
    checks.reason("reason", body.reason.as_deref(), false);
    checks.finish()?;
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, target: &mut Target| {
        let participant_id = body.participant_id;
        let participant = participants::lock_visible(conn, scope, participant_id)
            .await
            .map_err(|error| match AppError::from(error) {
                AppError::NotFound => AppError::invalid(
                    "participant_id",
                    "is not a participant of this organization",
                ),
                other => other,
            })?;
        if participant.status == ParticipantStatus::Discharged {
            return Err(AppError::conflict(
                ProblemType::ParticipantDischarged,
                "The participant is discharged; readmit them before pairing.",
            ));
        }
        let reason = body.reason.as_deref();
        let pairing =
            caseload::pair(conn, scope, participant_id, body.coach_id, status, reason).await?;
        created(conn, scope, pairing.id, target).await
    };
    let target = user.target().participant(body.participant_id);
    user.create(target, &key, &body, make, created).await
}

/// The created (or replayed) pairing, read back through the caller's scope.
async fn created(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    target: &mut Target,
) -> AppResult<Created<PairingResponse>> {
    let pairing = pairings::find_visible(conn, scope, id).await?;
    target.set_participant(pairing.participant_id);
    Ok(Created {
        id,
        location: format!("/api/v1/pairings/{id}"),
        body: respond(conn, pairing).await?,
    })
}

/// List pairings in the caller's scope, oldest first.
///
/// Roles: admin and supervisor (the organization's), coach (their current pairings),
/// participant (their own).
#[utoipa::path(
    tag = "pairings",
    params(ListPairingsQuery),
    responses(
        (status = 200, description = "A page of pairings", body = Page<PairingSummary>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get("/pairings", wrap = "Operation(Action::List, ResourceType::Pairing)")]
pub async fn list_pairings(
    user: AuthUser,
    Query(query): Query<ListPairingsQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let filter = PairingFilter {
        participant_id: query.participant_id,
        coach_id: query.coach_id,
        status: query.status,
    };
    let mut target = user.target();
    target.participant_id = query.participant_id;
    let rows = user
        .read(target, async |conn, scope, target| {
            let rows = pairings::list(conn, scope, &filter, &page).await?;
            target.set_participants(page.shown(&rows).iter().map(|p| p.participant_id));
            Ok(rows)
        })
        .await?;
    let page = page.finish(rows, |p| Cursor::After(p.id), PairingSummary::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Get one pairing with its history.
///
/// Roles: admin, supervisor, coach (their current pairings), participant (their own).
#[utoipa::path(
    tag = "pairings",
    params(("id" = Uuid, Path, description = "Pairing id")),
    responses(
        (status = 200, description = "The pairing", body = PairingResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/pairings/{id}",
    wrap = "Operation(Action::Read, ResourceType::Pairing)"
)]
pub async fn get_pairing(user: AuthUser, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let pairing = user
        .read(target, async |conn, scope, target| {
            let pairing = pairings::find_visible(conn, scope, id).await?;
            target.set_participant(pairing.participant_id);
            respond(conn, pairing).await
        })
        .await?;
    Ok(http::ok(&pairing))
}

/// Change a pairing's status.
///
/// Roles: admin, supervisor. Allowed moves: `proposed → active | ended`, `active → paused |
/// ended`, `paused → active | ended`; `ended` is final and needs a reason. 409 for any other
/// move, naming the allowed ones.
#[utoipa::path(
    tag = "pairings",
    params(("id" = Uuid, Path, description = "Pairing id")),
    request_body = PairingStatusRequest,
    responses(
        (status = 200, description = "The pairing after the change", body = PairingResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/pairings/{id}/status",
    wrap = "Operation(Action::ChangeStatus, ResourceType::Pairing)"
)]
pub async fn change_pairing_status(
    Supervisor(user): Supervisor,
    id: web::Path<Uuid>,
    Json(body): Json<PairingStatusRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    let ending = REASON_REQUIRED.contains(&body.status);
    checks.reason("reason", body.reason.as_deref(), ending);
    checks.finish()?;
    let id = id.into_inner();
    let target = user.target().id(id);
    let updated = user
        .write(target, async |conn, scope, target| {
            let current = pairings::lock_in_org(conn, scope.organization_id, id).await?;
            target.set_participant(current.participant_id);
            let reason = body.reason.as_deref();
            let updated =
                caseload::move_pairing(conn, scope, &current, body.status, reason).await?;
            respond(conn, updated).await
        })
        .await?;
    Ok(http::ok(&updated))
}

/// Move a coach's caseload to another coach in one transaction.
///
/// Roles: admin, supervisor. Moves every current pairing of `from_coach_id` (or only those of
/// `participant_ids`) to `to_coach_id` while the target has places: each old pairing is ended
/// and a new one with the same status is created, both with `reason`. Participants that
/// cannot move are listed in `skipped` with why. A coach outside the organization is 404.
#[utoipa::path(
    tag = "pairings",
    request_body = ReassignRequest,
    responses(
        (status = 200, description = "What moved and what did not", body = ReassignResponse),
        Authenticated, JsonBody, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[post(
    "/pairings/reassign",
    wrap = "Operation(Action::Reassign, ResourceType::Caseload)"
)]
pub async fn reassign_pairings(
    Supervisor(user): Supervisor,
    Json(body): Json<ReassignRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.reason("reason", Some(&body.reason), true);
    if body.from_coach_id == body.to_coach_id {
        checks.add("to_coach_id", "must differ from from_coach_id");
    }
    if let Some(ids) = &body.participant_ids {
        checks.count("participant_ids", ids.len(), limits::PARTICIPANT_IDS);
    }
    checks.finish()?;
    let request = Reassignment {
        from_coach_id: body.from_coach_id,
        to_coach_id: body.to_coach_id,
        participant_ids: body.participant_ids.as_deref(),
        reason: body.reason.trim(),
    };
    let target = user.target().id(body.from_coach_id);
    let outcome = user
        .write(target, async |conn, scope, target| {
            let outcome = caseload::reassign(conn, scope, &request).await?;
            target.set_participants(outcome.participant_ids());
            Ok(outcome)
        })
        .await?;
    Ok(HttpResponse::Ok().json(outcome))
}
