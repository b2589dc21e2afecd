//! Participants: the people in recovery whom coaches support.

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{self, Target};
use crate::auth::{AuthUser, Role, Staff};
use crate::db::models::pairings::{self, Pairing, PairingStatus};
use crate::db::models::participants::{
    self, NewParticipant, Participant, ParticipantChanges, ParticipantFilter, ParticipantStatus,
};
use crate::db::models::status_changes::{self, NewStatusChange};
use crate::db::models::users::{self, NewUser};
use crate::error::{AppError, AppResult, Problem};
use crate::extract::{Json, Query};
use crate::http::{self, IfMatch};
use crate::idempotency::{self, CreateOutcome, Created, IdempotencyKey};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::routes::history::HistoryEntry;
use crate::state::AppState;
use crate::validation::{nullable, Checks};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_participant)
        .service(list_participants)
        .service(get_participant)
        .service(update_participant)
        .service(change_participant_status)
        .service(create_portal_account);
}

const MAX_NAME: usize = 100;
const MAX_PRONOUNS: usize = 50;

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

/// The participant's current pairing, if any.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentPairing {
    pub pairing_id: Uuid,
    pub coach_id: Uuid,
    pub coach_display_name: String,
    pub status: PairingStatus,
}

/// One participant with their current pairing and status history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantDetail {
    #[serde(flatten)]
    pub participant: ParticipantResponse,
    pub current_pairing: Option<CurrentPairing>,
    /// Status changes, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// A new participant. When a coach creates one, they are paired with that coach at once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateParticipantRequest {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: String,
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: String,
    /// Up to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub preferred_name: Option<String>,
    /// Up to 50 characters.
    #[schema(min_length = 1, max_length = 50)]
    pub pronouns: Option<String>,
    /// Not in the future.
    pub date_of_birth: Option<NaiveDate>,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Digits, spaces and `+ - ( ) x`; 3 to 40 characters.
    #[schema(min_length = 3, max_length = 40)]
    pub phone: Option<String>,
    /// A language tag such as `en`, `es` or `pt-BR`.
    #[schema(min_length = 2, max_length = 35)]
    pub preferred_language: Option<String>,
    /// At most 20 tags of lower-case letters, digits and underscores (at most 40 each).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub recovery_pathways: Vec<String>,
    /// At most 20 tags of lower-case letters, digits and underscores (at most 40 each).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub needs: Vec<String>,
    /// Not in the future.
    pub intake_date: Option<NaiveDate>,
}

/// Changes to a participant; omitted fields stay, `null` clears an optional field.
/// Status changes go through `POST /participants/{id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateParticipantRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub preferred_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub pronouns: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub date_of_birth: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub preferred_language: Option<Option<String>>,
    #[schema(max_items = 20)]
    pub recovery_pathways: Option<Vec<String>>,
    #[schema(max_items = 20)]
    pub needs: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub intake_date: Option<Option<NaiveDate>>,
}

/// A status change with its reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantStatusRequest {
    /// `active`, `inactive` or `discharged`.
    pub status: ParticipantStatus,
    /// Why; 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParticipantsQuery {
    /// Matches first, last or preferred name, ignoring case and accents.
    pub q: Option<String>,
    pub status: Option<ParticipantStatus>,
    /// `true`: only participants with no current pairing (the supervisors' queue).
    pub unassigned: Option<bool>,
    /// Only participants currently paired with this coach.
    pub coach_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn check_details(
    checks: &mut Checks,
    preferred_name: Option<&str>,
    pronouns: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
    language: Option<&str>,
) {
    checks.optional_text("preferred_name", preferred_name, MAX_NAME);
    checks.optional_text("pronouns", pronouns, MAX_PRONOUNS);
    if let Some(email) = email {
        checks.email("email", email);
    }
    if let Some(phone) = phone {
        checks.phone("phone", phone);
    }
    if let Some(language) = language {
        checks.language("preferred_language", language);
    }
}

fn check_dates(checks: &mut Checks, birth: Option<NaiveDate>, intake: Option<NaiveDate>) {
    if let Some(date) = birth {
        checks.past_date("date_of_birth", date);
    }
    if let Some(date) = intake {
        checks.past_date("intake_date", date);
    }
}

fn validate_create(body: &CreateParticipantRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    checks.text("first_name", &body.first_name, MAX_NAME);
    checks.text("last_name", &body.last_name, MAX_NAME);
    check_details(
        &mut checks,
        body.preferred_name.as_deref(),
        body.pronouns.as_deref(),
        body.email.as_deref(),
        body.phone.as_deref(),
        body.preferred_language.as_deref(),
    );
    check_dates(&mut checks, body.date_of_birth, body.intake_date);
    checks.tags("recovery_pathways", &body.recovery_pathways);
    checks.tags("needs", &body.needs);
    checks.finish()
}

fn trimmed(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim().to_owned())
}

fn location(id: Uuid) -> String {
    format!("/api/v1/participants/{id}")
}

/// Loads what a single-participant response shows besides the record itself.
pub async fn detail(
    conn: &mut AsyncPgConnection,
    participant: Participant,
) -> AppResult<ParticipantDetail> {
    let current = pairings::current_for_participant(conn, participant.id).await?;
    let current_pairing = match current {
        Some(pairing) => Some(CurrentPairing {
            pairing_id: pairing.id,
            coach_id: pairing.coach_id,
            coach_display_name: pairings::coach_name(conn, pairing.coach_id).await?,
            status: pairing.status,
        }),
        None => None,
    };
    let history = status_changes::for_subject(conn, participant.id)
        .await?
        .into_iter()
        .map(HistoryEntry::from)
        .collect();
    Ok(ParticipantDetail {
        participant: ParticipantResponse::from(participant),
        current_pairing,
        history,
    })
}

/// Create a participant.
///
/// Roles: admin, supervisor, coach. A coach who creates a participant is paired with them
/// (status `active`) in the same transaction; 409 when the coach's caseload is full.
/// Participants created by admins and supervisors join the unassigned queue.
#[utoipa::path(
    tag = "participants",
    request_body = CreateParticipantRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response when repeated with the same body")),
    responses(
        (status = 201, description = "Created; `Location` names the participant", body = ParticipantDetail),
        (status = 400, description = "Malformed JSON or header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Participants and integration clients may not create participants", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The creating coach's caseload is full", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or an idempotency key reused with another body", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/participants")]
pub async fn create_participant(
    state: web::Data<AppState>,
    Staff(user): Staff,
    key: IdempotencyKey,
    Json(body): Json<CreateParticipantRequest>,
) -> AppResult<HttpResponse> {
    validate_create(&body)?;
    let mut conn = state.pool.get().await?;
    let target = Target::new("create", "participant");
    let actor = user.clone();
    let result = conn
        .transaction(async move |conn| {
            if let Some(replay) = idempotency::replay_if_seen(conn, user.id, &key, &body).await? {
                // A replay shows the participant again: audit it as a read.
                audit::success(conn, &user, &Target::new("replay", "participant")).await?;
                return Ok(replay);
            }
            let participant = participants::insert(conn, &new_participant(&user, &body)).await?;
            if user.role == Role::Coach {
                pair_with_creating_coach(conn, &user, participant.id).await?;
            }
            let target = Target::new("create", "participant")
                .id(participant.id)
                .participant(participant.id);
            audit::success(conn, &user, &target).await?;
            let created =
                Created::new(location(participant.id), &detail(conn, participant).await?)?;
            idempotency::remember(conn, user.id, &key, &body, &created).await?;
            Ok::<_, AppError>(CreateOutcome::Created(created))
        })
        .await;
    let outcome = audit::refused(&mut conn, &actor, &target, result).await?;
    Ok(outcome.into_response())
}

fn new_participant(user: &AuthUser, body: &CreateParticipantRequest) -> NewParticipant {
    NewParticipant {
        id: Uuid::now_v7(),
        organization_id: user.organization_id,
        first_name: body.first_name.trim().to_owned(),
        last_name: body.last_name.trim().to_owned(),
        preferred_name: trimmed(&body.preferred_name),
        pronouns: trimmed(&body.pronouns),
        date_of_birth: body.date_of_birth,
        email: body
            .email
            .as_deref()
            .map(crate::validation::normalize_email),
        phone: trimmed(&body.phone),
        preferred_language: trimmed(&body.preferred_language),
        recovery_pathways: body.recovery_pathways.clone(),
        needs: body.needs.clone(),
        intake_date: body.intake_date,
        created_by: Some(user.id),
    }
}

async fn pair_with_creating_coach(
    conn: &mut AsyncPgConnection,
    coach: &AuthUser,
    participant_id: Uuid,
) -> AppResult<Pairing> {
    crate::routes::pairings::pair(
        conn,
        coach,
        participant_id,
        coach.id,
        PairingStatus::Active,
        Some("created by their coach"),
    )
    .await
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
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Integration clients may not list participants", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/participants")]
pub async fn list_participants(
    state: web::Data<AppState>,
    user: AuthUser,
    Query(query): Query<ListParticipantsQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(AppError::BadRequest(
            "Query parameter `q` must be at most 100 characters.".into(),
        ));
    }
    let filter = ParticipantFilter {
        q: query
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty()),
        status: query.status,
        unassigned: query.unassigned,
        coach_id: query.coach_id,
    };
    let mut conn = state.pool.get().await?;
    let rows = participants::list(&mut conn, &user, &filter, &page).await?;
    audit::success(&mut conn, &user, &Target::new("list", "participant")).await?;
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
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Integration clients may not read participants here", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/participants/{id}")]
pub async fn get_participant(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let found = participants::find_visible(&mut conn, &user, id).await;
    let target = Target::new("read", "participant").id(id).participant(id);
    let participant = audit::read(&mut conn, &user, &target, found).await?;
    Ok(http::ok(&detail(&mut conn, participant).await?))
}

/// Update a participant's details.
///
/// Roles: admin, supervisor, coach (current caseload only). Send `If-Match` with the `ETag`
/// you read to avoid overwriting someone else's change.
#[utoipa::path(
    tag = "participants",
    params(
        ("id" = Uuid, Path, description = "Participant id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` this change is based on")
    ),
    request_body = UpdateParticipantRequest,
    responses(
        (status = 200, description = "The updated participant", body = ParticipantDetail),
        (status = 400, description = "Malformed JSON, id or header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Participants and integration clients may not edit records", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` does not match the current version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/participants/{id}")]
pub async fn update_participant(
    state: web::Data<AppState>,
    Staff(user): Staff,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<UpdateParticipantRequest>,
) -> AppResult<HttpResponse> {
    let changes = validate_update(body)?;
    let id = id.into_inner();
    let target = Target::new("update", "participant").id(id).participant(id);
    let (actor, logged) = (user.clone(), target.clone());
    let mut conn = state.pool.get().await?;
    let result = conn
        .transaction(async move |conn| {
            let current = participants::lock_visible(conn, &user, id).await?;
            if_match.check(&detail(conn, current).await?)?;
            let updated = participants::update(conn, id, &changes).await?;
            audit::success(conn, &user, &logged).await?;
            detail(conn, updated).await
        })
        .await;
    let updated = audit::refused(&mut conn, &actor, &target, result).await?;
    Ok(http::ok(&updated))
}

fn validate_update(body: UpdateParticipantRequest) -> AppResult<ParticipantChanges> {
    let mut checks = Checks::new();
    if let Some(name) = &body.first_name {
        checks.text("first_name", name, MAX_NAME);
    }
    if let Some(name) = &body.last_name {
        checks.text("last_name", name, MAX_NAME);
    }
    check_details(
        &mut checks,
        body.preferred_name.as_ref().and_then(|v| v.as_deref()),
        body.pronouns.as_ref().and_then(|v| v.as_deref()),
        body.email.as_ref().and_then(|v| v.as_deref()),
        body.phone.as_ref().and_then(|v| v.as_deref()),
        body.preferred_language.as_ref().and_then(|v| v.as_deref()),
    );
    check_dates(
        &mut checks,
        body.date_of_birth.flatten(),
        body.intake_date.flatten(),
    );
    if let Some(tags) = &body.recovery_pathways {
        checks.tags("recovery_pathways", tags);
    }
    if let Some(tags) = &body.needs {
        checks.tags("needs", tags);
    }
    checks.finish()?;
    let clean = |value: Option<Option<String>>| value.map(|inner| trimmed(&inner));
    Ok(ParticipantChanges {
        first_name: body.first_name.map(|v| v.trim().to_owned()),
        last_name: body.last_name.map(|v| v.trim().to_owned()),
        preferred_name: clean(body.preferred_name),
        pronouns: clean(body.pronouns),
        date_of_birth: body.date_of_birth,
        email: body
            .email
            .map(|inner| inner.as_deref().map(crate::validation::normalize_email)),
        phone: clean(body.phone),
        preferred_language: clean(body.preferred_language),
        recovery_pathways: body.recovery_pathways,
        needs: body.needs,
        intake_date: body.intake_date,
        updated_at: Some(Utc::now()),
        ..ParticipantChanges::default()
    })
}

/// Change a participant's status.
///
/// Roles: admin, supervisor, coach (current caseload only). Allowed moves: `active →
/// inactive | discharged`, `inactive → active | discharged`, `discharged → active`
/// (readmission). Discharge ends the current pairing. A reason is always required.
#[utoipa::path(
    tag = "participants",
    params(("id" = Uuid, Path, description = "Participant id")),
    request_body = ParticipantStatusRequest,
    responses(
        (status = 200, description = "The participant after the change, with its history", body = ParticipantDetail),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Participants and integration clients may not change status", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The move is not allowed from the current status; `detail` names the allowed ones", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid status or missing reason", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/participants/{id}/status")]
pub async fn change_participant_status(
    state: web::Data<AppState>,
    Staff(user): Staff,
    id: web::Path<Uuid>,
    Json(body): Json<ParticipantStatusRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.reason("reason", Some(&body.reason), true);
    checks.finish()?;
    let id = id.into_inner();
    let target = Target::new("change_status", "participant")
        .id(id)
        .participant(id);
    let (actor, logged) = (user.clone(), target.clone());
    let mut conn = state.pool.get().await?;
    let result = conn
        .transaction(async move |conn| {
            let current = participants::lock_visible(conn, &user, id).await?;
            let next = body.status;
            crate::routes::history::check_transition(
                current.status.as_str(),
                next.as_str(),
                current.status.allowed_next().contains(&next),
                current.status.allowed_next().iter().map(|s| s.as_str()),
            )?;
            if next == ParticipantStatus::Discharged {
                end_current_pairing(conn, &user, id, &body.reason).await?;
            }
            let changes = ParticipantChanges {
                status: Some(next),
                updated_at: Some(Utc::now()),
                ..ParticipantChanges::default()
            };
            let updated = participants::update(conn, id, &changes).await?;
            status_changes::insert(
                conn,
                NewStatusChange {
                    subject_type: "participant",
                    subject_id: id,
                    from_status: Some(current.status.as_str()),
                    to_status: next.as_str(),
                    reason: Some(body.reason.trim()),
                    actor_id: Some(user.id),
                },
            )
            .await?;
            audit::success(conn, &user, &logged).await?;
            detail(conn, updated).await
        })
        .await;
    let updated = audit::refused(&mut conn, &actor, &target, result).await?;
    Ok(http::ok(&updated))
}

async fn end_current_pairing(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    participant_id: Uuid,
    reason: &str,
) -> AppResult<()> {
    if let Some(pairing) = pairings::lock_current_for_participant(conn, participant_id).await? {
        crate::routes::pairings::move_pairing(
            conn,
            user,
            &pairing,
            PairingStatus::Ended,
            Some(reason),
        )
        .await?;
    }
    Ok(())
}

/// The participant's portal login.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalAccountRequest {
    /// Unique across Tandem.
    #[schema(max_length = 254)]
    pub email: String,
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

/// Create a participant's portal login.
///
/// Roles: admin, supervisor, coach (current caseload only). The new user has the role
/// `participant` and sees only their own record. 409 when the participant already has a
/// login or the email is taken.
#[utoipa::path(
    tag = "participants",
    params(
        ("id" = Uuid, Path, description = "Participant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response when repeated with the same body")
    ),
    request_body = PortalAccountRequest,
    responses(
        (status = 201, description = "Created; `Location` names the new user", body = crate::routes::users::UserResponse),
        (status = 400, description = "Malformed JSON, id or header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Participants and integration clients may not create logins", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The participant already has a login, or the email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Password hashing is saturated; retry after `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/participants/{id}/portal-account")]
pub async fn create_portal_account(
    state: web::Data<AppState>,
    Staff(user): Staff,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<PortalAccountRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.email("email", &body.email);
    checks.password("password", &body.password);
    checks.finish()?;
    let id = id.into_inner();
    let password_hash = state.hasher.hash(body.password.clone()).await?;
    let target = Target::new("create_portal_account", "participant")
        .id(id)
        .participant(id);
    let (actor, logged) = (user.clone(), target.clone());
    let mut conn = state.pool.get().await?;
    let result = conn
        .transaction(async move |conn| {
            if let Some(replay) = idempotency::replay_if_seen(conn, user.id, &key, &body).await? {
                audit::success(
                    conn,
                    &user,
                    &Target::new("replay", "participant").id(id).participant(id),
                )
                .await?;
                return Ok(replay);
            }
            let participant = participants::lock_visible(conn, &user, id).await?;
            if participant.user_id.is_some() {
                return Err(AppError::conflict(
                    "The participant already has a portal login.",
                ));
            }
            let email = crate::validation::normalize_email(&body.email);
            if users::find_by_email(conn, &email).await?.is_some() {
                return Err(AppError::conflict("A user with this email already exists."));
            }
            let display_name = participant
                .preferred_name
                .clone()
                .unwrap_or_else(|| participant.first_name.clone());
            let login = users::insert(
                conn,
                &NewUser {
                    id: Uuid::now_v7(),
                    organization_id: participant.organization_id,
                    email: &email,
                    display_name: &display_name,
                    role: Role::Participant,
                    password_hash: &password_hash,
                },
            )
            .await?;
            let link = ParticipantChanges {
                user_id: Some(Some(login.id)),
                updated_at: Some(Utc::now()),
                ..ParticipantChanges::default()
            };
            participants::update(conn, id, &link).await?;
            audit::success(conn, &user, &logged).await?;
            let created = Created::new(
                format!("/api/v1/users/{}", login.id),
                &crate::routes::users::UserResponse::from(login),
            )?;
            idempotency::remember(conn, user.id, &key, &body, &created).await?;
            Ok::<_, AppError>(CreateOutcome::Created(created))
        })
        .await;
    let outcome = audit::refused(&mut conn, &actor, &target, result).await?;
    Ok(outcome.into_response())
}
