//! Pairings of coaches with participants, their lifecycle and caseload moves.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{self, Target};
use crate::auth::{AuthUser, Supervisor};
use crate::db::models::coach_profiles;
use crate::db::models::pairings::{self, Pairing, PairingFilter, PairingStatus};
use crate::db::models::participants::{self, ParticipantStatus};
use crate::db::models::status_changes::{self, NewStatusChange};
use crate::error::{AppError, AppResult, Problem};
use crate::extract::{Json, Query};
use crate::http;
use crate::idempotency::{self, CreateOutcome, Created, IdempotencyKey};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::routes::history::{check_transition, HistoryEntry};
use crate::state::AppState;
use crate::validation::Checks;

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
    pub history: Vec<HistoryEntry>,
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

async fn respond(conn: &mut AsyncPgConnection, p: Pairing) -> AppResult<PairingResponse> {
    let history = status_changes::for_subject(conn, p.id)
        .await?
        .into_iter()
        .map(HistoryEntry::from)
        .collect();
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

/// A new pairing.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePairingRequest {
    pub participant_id: Uuid,
    /// The user id of a coach of the organization.
    pub coach_id: Uuid,
    /// `proposed` or `active` (the default).
    pub status: Option<PairingStatus>,
    /// Why; up to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: Option<String>,
}

/// A status change with its reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairingStatusRequest {
    pub status: PairingStatus,
    /// Required when ending a pairing; up to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: Option<String>,
}

/// Moving a coach's caseload, or part of it, to another coach.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    pub from_coach_id: Uuid,
    pub to_coach_id: Uuid,
    /// Only these participants; all of the coach's current participants when omitted.
    #[schema(max_items = 500)]
    pub participant_ids: Option<Vec<Uuid>>,
    /// Why; 1 to 1000 characters. Recorded on every pairing ended and created.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// A participant moved to the new coach.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovedParticipant {
    pub participant_id: Uuid,
    /// The ended pairing with the previous coach.
    pub from_pairing_id: Uuid,
    /// The new pairing, with the same status the old one had.
    pub to_pairing_id: Uuid,
}

/// A participant left where they were, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedParticipant {
    pub participant_id: Uuid,
    /// `target at capacity` or `not current` (no current pairing with `from_coach_id`).
    pub why: String,
}

/// What a reassignment did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReassignResponse {
    pub moved: Vec<MovedParticipant>,
    pub skipped: Vec<SkippedParticipant>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListPairingsQuery {
    pub participant_id: Option<Uuid>,
    pub coach_id: Option<Uuid>,
    pub status: Option<PairingStatus>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn caseload_full(max: i32) -> AppError {
    AppError::Conflict {
        slug: "caseload-full",
        detail: format!("The coach's caseload is full ({max} of {max} places taken)."),
    }
}

/// Pairs a participant with a coach: locks the coach (so capacity checks serialise per
/// coach), checks capacity and the one-current-pairing rule, inserts and records history.
/// The partial unique index backs the one-current rule if two coaches race for one participant.
pub async fn pair(
    conn: &mut AsyncPgConnection,
    actor: &AuthUser,
    participant_id: Uuid,
    coach_id: Uuid,
    status: PairingStatus,
    reason: Option<&str>,
) -> AppResult<Pairing> {
    let coach = match coach_profiles::lock(conn, actor.organization_id, coach_id).await? {
        Some((coach, true)) => coach,
        _ => {
            return Err(AppError::invalid(
                "coach_id",
                "is not an active coach of this organization",
            ))
        }
    };
    if coach_profiles::count_current(conn, coach_id).await? >= i64::from(coach.max_caseload) {
        return Err(caseload_full(coach.max_caseload));
    }
    if pairings::lock_current_for_participant(conn, participant_id)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict {
            slug: "already-paired",
            detail: "The participant already has a current pairing; end or reassign it first."
                .into(),
        });
    }
    let pairing = pairings::insert(
        conn,
        actor.organization_id,
        participant_id,
        coach_id,
        status,
        actor.id,
    )
    .await
    .map_err(|error| match AppError::from(error) {
        AppError::Conflict { .. } => AppError::Conflict {
            slug: "already-paired",
            detail: "The participant already has a current pairing.".into(),
        },
        other => other,
    })?;
    record_change(conn, actor, pairing.id, None, status, reason).await?;
    Ok(pairing)
}

/// Moves a pairing to `next` and records the change.
pub async fn move_pairing(
    conn: &mut AsyncPgConnection,
    actor: &AuthUser,
    pairing: &Pairing,
    next: PairingStatus,
    reason: Option<&str>,
) -> AppResult<Pairing> {
    let updated = pairings::set_status(conn, pairing, next).await?;
    record_change(conn, actor, pairing.id, Some(pairing.status), next, reason).await?;
    Ok(updated)
}

async fn record_change(
    conn: &mut AsyncPgConnection,
    actor: &AuthUser,
    pairing_id: Uuid,
    from: Option<PairingStatus>,
    to: PairingStatus,
    reason: Option<&str>,
) -> AppResult<()> {
    status_changes::insert(
        conn,
        NewStatusChange {
            subject_type: "pairing",
            subject_id: pairing_id,
            from_status: from.map(PairingStatus::as_str),
            to_status: to.as_str(),
            reason: reason.map(str::trim),
            actor_id: Some(actor.id),
        },
    )
    .await?;
    Ok(())
}

/// Pair a participant with a coach.
///
/// Roles: admin, supervisor. 409 when the participant already has a current pairing, is
/// discharged, or the coach's caseload is full; 422 when either id is not of this organization.
#[utoipa::path(
    tag = "pairings",
    request_body = CreatePairingRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response when repeated with the same body")),
    responses(
        (status = 201, description = "Created; `Location` names the pairing", body = PairingResponse),
        (status = 400, description = "Malformed JSON or header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and supervisors make pairings", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already paired, discharged, or caseload full", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown participant or coach, or invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/pairings")]
pub async fn create_pairing(
    state: web::Data<AppState>,
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
    let target = Target::new("create", "pairing").participant(body.participant_id);
    let actor = user.clone();
    let mut conn = state.pool.get().await?;
    let result = conn
        .transaction(async move |conn| {
            if let Some(replay) = idempotency::replay_if_seen(conn, user.id, &key, &body).await? {
                // A replay shows the pairing again: audit it as a read.
                audit::success(conn, &user, &Target::new("replay", "pairing")).await?;
                return Ok(replay);
            }
            let participant =
                participants::lock_in_org(conn, user.organization_id, body.participant_id)
                    .await?
                    .ok_or_else(|| {
                        AppError::invalid(
                            "participant_id",
                            "is not a participant of this organization",
                        )
                    })?;
            if participant.status == ParticipantStatus::Discharged {
                return Err(AppError::Conflict {
                    slug: "participant-discharged",
                    detail: "The participant is discharged; readmit them before pairing.".into(),
                });
            }
            let pairing = pair(
                conn,
                &user,
                participant.id,
                body.coach_id,
                status,
                body.reason.as_deref(),
            )
            .await?;
            let target = Target::new("create", "pairing")
                .id(pairing.id)
                .participant(participant.id);
            audit::success(conn, &user, &target).await?;
            let created = Created::new(
                format!("/api/v1/pairings/{}", pairing.id),
                &respond(conn, pairing).await?,
            )?;
            idempotency::remember(conn, user.id, &key, &body, &created).await?;
            Ok::<_, AppError>(CreateOutcome::Created(created))
        })
        .await;
    let outcome = audit::refused(&mut conn, &actor, &target, result).await?;
    Ok(outcome.into_response())
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
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Integration clients may not list pairings", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/pairings")]
pub async fn list_pairings(
    state: web::Data<AppState>,
    user: AuthUser,
    Query(query): Query<ListPairingsQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let filter = PairingFilter {
        participant_id: query.participant_id,
        coach_id: query.coach_id,
        status: query.status,
    };
    let mut conn = state.pool.get().await?;
    let rows = pairings::list(&mut conn, &user, &filter, &page).await?;
    let mut target = Target::new("list", "pairing");
    target.participant_id = query.participant_id;
    audit::success(&mut conn, &user, &target).await?;
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
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Integration clients may not read pairings", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pairing in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/pairings/{id}")]
pub async fn get_pairing(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let mut conn = state.pool.get().await?;
    let found = pairings::find_visible(&mut conn, &user, id).await;
    let mut target = Target::new("read", "pairing").id(id);
    target.participant_id = found.as_ref().ok().map(|p| p.participant_id);
    let pairing = audit::read(&mut conn, &user, &target, found).await?;
    Ok(http::ok(&respond(&mut conn, pairing).await?))
}

/// Change a pairing's status.
///
/// Roles: admin, supervisor. Allowed moves: `proposed → active | ended`, `active → paused |
/// ended`, `paused → active | ended`; `ended` is final and needs a reason.
#[utoipa::path(
    tag = "pairings",
    params(("id" = Uuid, Path, description = "Pairing id")),
    request_body = PairingStatusRequest,
    responses(
        (status = 200, description = "The pairing after the change", body = PairingResponse),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and supervisors change pairings", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pairing in the organization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The move is not allowed from the current status; `detail` names the allowed ones", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status, or ending without a reason", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/pairings/{id}/status")]
pub async fn change_pairing_status(
    state: web::Data<AppState>,
    Supervisor(user): Supervisor,
    id: web::Path<Uuid>,
    Json(body): Json<PairingStatusRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.reason(
        "reason",
        body.reason.as_deref(),
        body.status == PairingStatus::Ended,
    );
    checks.finish()?;
    let id = id.into_inner();
    let target = Target::new("change_status", "pairing").id(id);
    let actor = user.clone();
    let mut conn = state.pool.get().await?;
    let result = conn
        .transaction(async move |conn| {
            let current = pairings::lock_in_org(conn, user.organization_id, id).await?;
            let allowed = current.status.allowed_next();
            check_transition(
                current.status.as_str(),
                body.status.as_str(),
                allowed.contains(&body.status),
                allowed.iter().map(|s| s.as_str()),
            )?;
            let updated =
                move_pairing(conn, &user, &current, body.status, body.reason.as_deref()).await?;
            let target = Target::new("change_status", "pairing")
                .id(id)
                .participant(current.participant_id);
            audit::success(conn, &user, &target).await?;
            respond(conn, updated).await
        })
        .await;
    let updated = audit::refused(&mut conn, &actor, &target, result).await?;
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
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and supervisors reassign", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Either coach is not an active coach of the organization", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (same coach twice, missing reason)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/pairings/reassign")]
pub async fn reassign_pairings(
    state: web::Data<AppState>,
    Supervisor(user): Supervisor,
    Json(body): Json<ReassignRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.reason("reason", Some(&body.reason), true);
    if body.from_coach_id == body.to_coach_id {
        checks.add("to_coach_id", "must differ from from_coach_id");
    }
    if body
        .participant_ids
        .as_ref()
        .is_some_and(|ids| ids.len() > 500)
    {
        checks.add("participant_ids", "must list at most 500 participants");
    }
    checks.finish()?;
    let target = Target::new("reassign", "caseload").id(body.from_coach_id);
    let (actor, logged) = (user.clone(), target.clone());
    let mut conn = state.pool.get().await?;
    let result = conn
        .transaction(async move |conn| {
            let outcome = reassign(conn, &user, &body).await?;
            audit::success(conn, &user, &logged).await?;
            Ok::<_, AppError>(outcome)
        })
        .await;
    let outcome = audit::refused(&mut conn, &actor, &target, result).await?;
    Ok(HttpResponse::Ok().json(outcome))
}

async fn reassign(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    body: &ReassignRequest,
) -> AppResult<ReassignResponse> {
    // Lock both coaches in id order, so opposite reassignments cannot deadlock.
    let (first, second) = if body.from_coach_id < body.to_coach_id {
        (body.from_coach_id, body.to_coach_id)
    } else {
        (body.to_coach_id, body.from_coach_id)
    };
    let mut target = None;
    for coach in [first, second] {
        let (profile, active) = coach_profiles::lock(conn, user.organization_id, coach)
            .await?
            .ok_or(AppError::NotFound)?;
        if coach == body.to_coach_id {
            // The previous coach may have left; the new one must be able to take people on.
            if !active {
                return Err(AppError::NotFound);
            }
            target = Some(profile);
        }
    }
    let target = target.ok_or(AppError::NotFound)?;
    let current =
        pairings::lock_current_for_coach(conn, body.from_coach_id, body.participant_ids.as_deref())
            .await?;
    let taken = coach_profiles::count_current(conn, body.to_coach_id).await?;
    let mut places = (i64::from(target.max_caseload) - taken).max(0);
    let mut outcome = ReassignResponse {
        moved: Vec::new(),
        skipped: Vec::new(),
    };
    if let Some(ids) = &body.participant_ids {
        for id in ids {
            if !current.iter().any(|p| p.participant_id == *id)
                && !outcome.skipped.iter().any(|s| s.participant_id == *id)
            {
                outcome.skipped.push(SkippedParticipant {
                    participant_id: *id,
                    why: "not current".into(),
                });
            }
        }
    }
    for pairing in current {
        if places == 0 {
            outcome.skipped.push(SkippedParticipant {
                participant_id: pairing.participant_id,
                why: "target at capacity".into(),
            });
            continue;
        }
        move_pairing(
            conn,
            user,
            &pairing,
            PairingStatus::Ended,
            Some(&body.reason),
        )
        .await?;
        let new = pairings::insert(
            conn,
            user.organization_id,
            pairing.participant_id,
            body.to_coach_id,
            pairing.status,
            user.id,
        )
        .await?;
        record_change(conn, user, new.id, None, pairing.status, Some(&body.reason)).await?;
        places -= 1;
        outcome.moved.push(MovedParticipant {
            participant_id: pairing.participant_id,
            from_pairing_id: pairing.id,
            to_pairing_id: new.id,
        });
    }
    Ok(outcome)
}
