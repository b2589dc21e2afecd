//! Participants: the people in recovery whom coaches support.

mod requests;

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::{AuthUser, Role, Staff};
use crate::db::models::pairings::PairingStatus;
use crate::db::models::participants::{
    self, CurrentPairing, Participant, ParticipantFilter, ParticipantStatus,
};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::scope::Scope;
use crate::domain::lifecycle::{self, Change, ParticipantHistoryEntry, PARTICIPANT};
use crate::domain::{caseload, episodes};
use crate::http::error::AppResult;
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::validation::{self, Checks};
use crate::http::{self, Created, IfMatch};
use crate::routes::responses::{
    Authenticated, BadRequest, Conflict, Forbidden, JsonBody, NotFound, PreconditionFailed,
};

use requests::{new_participant, validate_create, validate_update};
pub use requests::{
    CreateParticipantRequest, ListParticipantsQuery, ParticipantStatusRequest,
    UpdateParticipantRequest,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_participant)
        .service(list_participants)
        .service(get_participant)
        .service(update_participant)
        .service(change_participant_status);
}

/// A participant as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub pronouns: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A language tag such as `en` or `es`.
    pub preferred_language: Option<String>,
    /// Recovery pathways, e.g. `twelve_step`, `smart_recovery`, `moud`, `faith_based`,
    /// `harm_reduction`, `natural`.
    pub recovery_pathways: Vec<String>,
    /// Stated needs, matched against coaches' lived experience and specialties, e.g.
    /// `opioids`, `alcohol`, `homelessness`, `incarceration`, `parenting`, `housing`.
    pub needs: Vec<String>,
    pub intake_date: Option<NaiveDate>,
    pub status: ParticipantStatus,
    /// Whether the participant has a portal login.
    pub has_portal_account: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Participant> for ParticipantResponse {
    fn from(p: Participant) -> Self {
        Self {
            id: p.id,
            organization_id: p.organization_id,
            first_name: p.first_name,
            last_name: p.last_name,
            preferred_name: p.preferred_name,
            pronouns: p.pronouns,
            date_of_birth: p.date_of_birth,
            email: p.email,
            phone: p.phone,
            preferred_language: p.preferred_language,
            recovery_pathways: p.recovery_pathways,
            needs: p.needs,
            intake_date: p.intake_date,
            status: p.status,
            has_portal_account: p.user_id.is_some(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// One participant with their current pairing and status history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantDetail {
    #[serde(flatten)]
    pub participant: ParticipantResponse,
    pub current_pairing: Option<CurrentPairing>,
    /// Status changes, oldest first.
    pub history: Vec<ParticipantHistoryEntry>,
}

fn location(id: Uuid) -> String {
    format!("/api/v1/participants/{id}")
}

/// A participant visible to `scope`, as a single-participant response shows them.
async fn show(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> AppResult<ParticipantDetail> {
    let (participant, current_pairing, history) =
        participants::find_visible(conn, scope, id).await?;
    Ok(ParticipantDetail {
        participant: participant.into(),
        current_pairing,
        history: lifecycle::history_from_json(history)?,
    })
}

/// A participant the caller has just changed, as the response shows them (the change may
/// have taken them out of the caller's scope, as a discharge does).
async fn detail(
    conn: &mut AsyncPgConnection,
    participant: Participant,
) -> AppResult<ParticipantDetail> {
    let current_pairing = participants::current_pairing(conn, participant.id).await?;
    let history = lifecycle::history(conn, participant.id).await?;
    Ok(ParticipantDetail {
        participant: participant.into(),
        current_pairing,
        history,
    })
}

/// Create a participant.
///
/// Roles: admin, supervisor, coach. A coach who creates a participant is paired with them
/// (status `active`) in the same transaction; 409 when the coach's caseload is full.
/// Participants created by admins and supervisors join the unassigned queue. With an
/// `intake_date`, the participant's first episode of care opens on that date.
#[utoipa::path(
    tag = "participants",
    request_body = CreateParticipantRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created; `Location` names the participant", body = ParticipantDetail),
        Authenticated, JsonBody, Forbidden, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/participants",
    wrap = "Operation(Action::Create, ResourceType::Participant)"
)]
pub async fn create_participant(
    Staff(user): Staff,
    key: IdempotencyKey,
    Json(body): Json<CreateParticipantRequest>,
) -> AppResult<HttpResponse> {
    validate_create(&body)?;
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, target: &mut Target| {
        let participant = participants::insert(conn, &new_participant(scope, &body)).await?;
        if let Some(intake) = body.intake_date {
            episodes::open_first(conn, scope, participant.id, intake).await?;
        }
        if scope.role == Role::Coach {
            let reason = Some("created by their coach");
            let (id, coach) = (participant.id, scope.user_id);
            caseload::pair(conn, scope, id, coach, PairingStatus::Active, reason).await?;
        }
        created(conn, scope, participant.id, target).await
    };
    let target = user.target();
    user.create(target, &key, &body, make, created).await
}

/// The created (or replayed) participant, read back through the caller's scope.
async fn created(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    target: &mut Target,
) -> AppResult<Created<ParticipantDetail>> {
    target.set_participant(id);
    Ok(Created {
        id,
        location: location(id),
        body: show(conn, scope, id).await?,
    })
}

/// List participants in the caller's scope, oldest first.
///
/// Roles: admin and supervisor (the whole organization), coach (participants currently paired
/// with them), participant (their own record).
#[utoipa::path(
    tag = "participants",
    params(ListParticipantsQuery),
    responses(
        (status = 200, description = "A page of participants", body = Page<ParticipantResponse>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get(
    "/participants",
    wrap = "Operation(Action::List, ResourceType::Participant)"
)]
pub async fn list_participants(
    user: AuthUser,
    Query(query): Query<ListParticipantsQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    validation::query_text("q", query.q.as_deref(), limits::SEARCH)?;
    let filter = ParticipantFilter {
        q: query
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty()),
        status: query.status,
        unassigned: query.unassigned,
        coach_id: query.coach_id,
    };
    let target = user.target();
    let rows = user
        .read(target, async |conn, scope, target| {
            let rows = participants::list(conn, scope, &filter, &page).await?;
            target.set_participants(page.shown(&rows).iter().map(|p| p.id));
            Ok(rows)
        })
        .await?;
    let page = page.finish(rows, |p| Cursor::After(p.id), ParticipantResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Get one participant with their current pairing and status history.
///
/// Roles: admin, supervisor, coach (current caseload only), participant (themselves).
/// Anything else is 404.
#[utoipa::path(
    tag = "participants",
    params(("id" = Uuid, Path, description = "Participant id")),
    responses(
        (status = 200, description = "The participant; `ETag` identifies this version", body = ParticipantDetail),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/participants/{id}",
    wrap = "Operation(Action::Read, ResourceType::Participant)"
)]
pub async fn get_participant(user: AuthUser, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id).participant(id);
    let participant = user
        .read(target, async |conn, scope, _| show(conn, scope, id).await)
        .await?;
    Ok(http::ok(&participant))
}

/// Update a participant's details.
///
/// Roles: admin, supervisor, coach (current caseload only). Send `If-Match` with the `ETag`
/// you read to avoid overwriting someone else's change.
#[utoipa::path(
    tag = "participants",
    params(("id" = Uuid, Path, description = "Participant id"), IfMatch),
    request_body = UpdateParticipantRequest,
    responses(
        (status = 200, description = "The updated participant", body = ParticipantDetail),
        Authenticated, JsonBody, Forbidden, NotFound, PreconditionFailed,
    ),
    security(("bearer" = []))
)]
#[patch(
    "/participants/{id}",
    wrap = "Operation(Action::Update, ResourceType::Participant)"
)]
pub async fn update_participant(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<UpdateParticipantRequest>,
) -> AppResult<HttpResponse> {
    let changes = validate_update(body)?;
    let id = id.into_inner();
    let target = user.target().id(id).participant(id);
    let updated = user
        .write(target, async |conn, scope, _| {
            let current = participants::lock_visible(conn, scope, id).await?;
            if if_match.is_set() {
                if_match.check(&detail(conn, current).await?)?;
            }
            let updated = participants::update(conn, id, &changes).await?;
            detail(conn, updated).await
        })
        .await?;
    Ok(http::ok(&updated))
}

/// Change a participant's status.
///
/// Roles: admin, supervisor, coach (current caseload only). Allowed moves: `active →
/// inactive | discharged`, `inactive → active | discharged`, `discharged → active`
/// (readmission); 409 otherwise, naming the allowed ones. Discharge ends the current pairing
/// and closes the open episode of care (today, reason `other`, the reason in its note).
/// A reason is always required.
#[utoipa::path(
    tag = "participants",
    params(("id" = Uuid, Path, description = "Participant id")),
    request_body = ParticipantStatusRequest,
    responses(
        (status = 200, description = "The participant after the change, with its history", body = ParticipantDetail),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/participants/{id}/status",
    wrap = "Operation(Action::ChangeStatus, ResourceType::Participant)"
)]
pub async fn change_participant_status(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    Json(body): Json<ParticipantStatusRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.reason("reason", Some(&body.reason), true);
    checks.finish()?;
    let id = id.into_inner();
    let target = user.target().id(id).participant(id);
    let updated = user
        .write(target, async |conn, scope, _| {
            let current = participants::lock_visible(conn, scope, id).await?;
            let change = Change {
                subject_id: id,
                from: Some(current.status),
                to: body.status,
                reason: Some(&body.reason),
                actor_id: scope.user_id,
            };
            PARTICIPANT.record(conn, change).await?;
            if body.status == ParticipantStatus::Discharged {
                caseload::end_current_pairing(conn, scope, id, &body.reason).await?;
                episodes::close_on_discharge(conn, scope, id, body.reason.trim()).await?;
            }
            let updated = participants::set_status(conn, id, body.status).await?;
            detail(conn, updated).await
        })
        .await?;
    Ok(http::ok(&updated))
}
