//! Assessments of recovery capital (BARC-10 and any other instrument of
//! `crate::domain::instruments`): submitting one, a participant's list with their baseline, latest and
//! change, and a single assessment.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::{AuthUser, Role};
use crate::db::models::assessments::{self, Assessment, NewAssessment, SubmittedBy};
use crate::db::pagination::PageRequest;
use crate::db::scope::Scope;
use crate::domain::instruments::{self, Instrument, BARC_10};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::validation::Checks;
use crate::http::{self, Created};
use crate::routes::responses::{Authenticated, BadRequest, Forbidden, JsonBody, NotFound};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_assessment)
        .service(list_assessments)
        .service(get_assessment);
}

/// How far in the future `taken_at` may be, for clients whose clocks run ahead.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// A completed instrument.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAssessmentRequest {
    /// The `id` of an instrument from `GET /instruments`, e.g. `barc-10`.
    #[schema(value_type = limits::InstrumentId, example = "barc-10")]
    pub instrument: String,
    /// One answer per item, in item order, each on the instrument's scale (BARC-10: ten
    /// answers, each 1 to 6).
    #[schema(example = json!([5, 4, 3, 5, 6, 4, 4, 5, 5, 3]))]
    pub answers: Vec<i64>,
    /// When the assessment was taken; now when omitted. Not in the future (up to 5 minutes of
    /// clock skew is allowed).
    pub taken_at: Option<DateTime<Utc>>,
}

/// A stored assessment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentResponse {
    pub id: Uuid,
    pub participant_id: Uuid,
    /// The instrument's `id`.
    pub instrument: String,
    /// The answers as given, in item order.
    pub answers: Vec<i32>,
    /// The sum of the answers (BARC-10: 10 to 60).
    pub total: i32,
    /// Whether `total` reaches the instrument's published cut-off.
    pub meets_cutoff: bool,
    /// The instrument's cut-off (BARC-10: 47, the level associated with sustained remission).
    pub cutoff: i32,
    pub taken_at: DateTime<Utc>,
    /// `participant` when the participant submitted it through the portal, else `staff`.
    pub submitted_by: SubmittedBy,
    /// The user who submitted it.
    pub submitted_by_user_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A page of one participant's assessments of one instrument, newest taken first, with a
/// summary over all of them (not just this page).
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentList {
    pub items: Vec<AssessmentResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// The instrument listed and summarised.
    pub instrument: String,
    /// The instrument's cut-off.
    pub cutoff: i32,
    /// The total of the first assessment taken; `null` when there is none.
    pub baseline_total: Option<i32>,
    pub baseline_taken_at: Option<DateTime<Utc>>,
    /// The total of the latest assessment taken; `null` when there is none.
    pub latest_total: Option<i32>,
    pub latest_taken_at: Option<DateTime<Utc>>,
    /// `latest_total − baseline_total` (0 with a single assessment); `null` when there is none.
    pub change: Option<i32>,
    /// Whether the latest total reaches the cut-off; `null` when there is none.
    pub latest_meets_cutoff: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListAssessmentsQuery {
    /// The instrument to list and summarise; `barc-10` when omitted. 400 for an unknown one.
    #[param(value_type = Option<limits::InstrumentId>, inline)]
    pub instrument: Option<String>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn respond(instrument: &Instrument, a: Assessment) -> AssessmentResponse {
    AssessmentResponse {
        id: a.id,
        participant_id: a.participant_id,
        meets_cutoff: instrument.meets_cutoff(a.total),
        cutoff: instrument.cutoff.total,
        instrument: a.instrument,
        answers: a.answers,
        total: a.total,
        taken_at: a.taken_at,
        submitted_by: a.submitted_by,
        submitted_by_user_id: a.submitted_by_user_id,
        created_at: a.created_at,
    }
}

/// A stored assessment as responses show it; its instrument is always one of the catalogue.
fn show(a: Assessment) -> AppResult<AssessmentResponse> {
    let instrument = instruments::find(&a.instrument)
        .ok_or_else(|| AppError::Internal(format!("assessment {} of unknown instrument", a.id)))?;
    Ok(respond(instrument, a))
}

/// A valid submission: its instrument, answers and when it was taken.
struct Submission {
    instrument: &'static Instrument,
    answers: Vec<i32>,
    taken_at: DateTime<Utc>,
}

fn validate_create(body: &CreateAssessmentRequest, now: DateTime<Utc>) -> AppResult<Submission> {
    let mut checks = Checks::new();
    let instrument = instruments::find(body.instrument.trim());
    match instrument {
        Some(instrument) => instrument.check_answers(&mut checks, "answers", &body.answers),
        None => match limits::INSTRUMENT_ID.check(body.instrument.trim()) {
            Err(message) => checks.add("instrument", message),
            Ok(()) => checks.add(
                "instrument",
                format!("must be one of {}", instruments::known_ids()),
            ),
        },
    }
    let taken_at = body.taken_at.unwrap_or(now);
    if taken_at > now + CLOCK_SKEW {
        checks.add("taken_at", "must not be in the future");
    }
    checks.finish()?;
    let instrument = instrument.ok_or_else(|| AppError::invalid("instrument", "unknown"))?;
    // In range once checked, so the conversion cannot fail.
    let answers = body.answers.iter().map(|&a| a as i32).collect();
    Ok(Submission {
        instrument,
        answers,
        taken_at,
    })
}

/// Submit an assessment for a participant.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own record).
/// The total is computed from the answers; `submitted_by` records whether the participant or
/// a staff member submitted it. 422 names each invalid field: `instrument` when unknown,
/// `answers` when there are not exactly as many as the instrument has items, `answers[i]`
/// (0-based) for an answer off the scale, `taken_at` in the future. A participant outside the
/// caller's scope is 404; integration clients get 403.
#[utoipa::path(
    tag = "assessments",
    params(("id" = Uuid, Path, description = "Participant id"), IdempotencyKey),
    request_body = CreateAssessmentRequest,
    responses(
        (status = 201, description = "Created; `Location` names the assessment", body = AssessmentResponse),
        Authenticated, JsonBody, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[post(
    "/participants/{id}/assessments",
    wrap = "Operation(Action::Create, ResourceType::Assessment)"
)]
pub async fn create_assessment(
    user: AuthUser,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<CreateAssessmentRequest>,
) -> AppResult<HttpResponse> {
    let participant_id = id.into_inner();
    let submission = validate_create(&body, Utc::now())?;
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, target: &mut Target| {
        crate::db::scope::visible_participant(conn, scope, participant_id).await?;
        let organization_id = scope.organization_id;
        let new = NewAssessment {
            id: Uuid::now_v7(),
            organization_id,
            participant_id,
            instrument: submission.instrument.id,
            answers: &submission.answers,
            total: submission.instrument.score(&submission.answers),
            taken_at: submission.taken_at,
            submitted_by: match scope.role {
                Role::Participant => SubmittedBy::Participant,
                _ => SubmittedBy::Staff,
            },
            submitted_by_user_id: scope.user_id,
        };
        let id = assessments::insert(conn, &new).await?;
        created(conn, scope, id, target).await
    };
    let target = user.target().participant(participant_id);
    user.create(target, &key, &body, make, created).await
}

/// The created (or replayed) assessment, read back through the caller's scope.
async fn created(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    target: &mut Target,
) -> AppResult<Created<AssessmentResponse>> {
    let assessment = assessments::find_visible(conn, scope, id).await?;
    target.set_participant(assessment.participant_id);
    Ok(Created {
        id,
        location: format!("/api/v1/assessments/{id}"),
        body: show(assessment)?,
    })
}

/// The instrument a list names, BARC-10 by default.
fn listed_instrument(id: Option<&str>) -> AppResult<&'static Instrument> {
    match id {
        None => Ok(&BARC_10),
        Some(id) => instruments::find(id).ok_or_else(|| {
            AppError::BadRequest(format!(
                "Query parameter `instrument` must be one of {}.",
                instruments::known_ids()
            ))
        }),
    }
}

/// Where the page starts, from the cursor (400 for a cursor of another list).
fn page_start(page: &PageRequest) -> AppResult<Option<(DateTime<Utc>, Uuid)>> {
    match &page.cursor {
        None => Ok(None),
        Some(cursor) => assessments::keyset(cursor).map(Some).ok_or_else(|| {
            AppError::BadRequest("Query parameter `cursor` is not a cursor this API issued.".into())
        }),
    }
}

/// List a participant's assessments of one instrument, newest taken first, with their
/// baseline, latest total and change.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own record).
/// One instrument at a time (`instrument`, default `barc-10`), so totals are comparable:
/// `baseline_total` is the first assessment taken, `latest_total` the latest, `change` the
/// difference, all computed over every assessment of that instrument, not just this page.
/// A participant outside the caller's scope is 404; integration clients get 403.
#[utoipa::path(
    tag = "assessments",
    params(("id" = Uuid, Path, description = "Participant id"), ListAssessmentsQuery),
    responses(
        (status = 200, description = "A page of assessments with the summary", body = AssessmentList),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/participants/{id}/assessments",
    wrap = "Operation(Action::List, ResourceType::Assessment)"
)]
pub async fn list_assessments(
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<ListAssessmentsQuery>,
) -> AppResult<HttpResponse> {
    let participant_id = id.into_inner();
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let start = page_start(&page)?;
    let instrument = listed_instrument(query.instrument.as_deref())?;
    let target = user.target().participant(participant_id);
    let (rows, ends) = user
        .read(target, async |conn, scope, target| {
            crate::db::scope::visible_participant(conn, scope, participant_id).await?;
            let (id, limit) = (instrument.id, page.fetch_limit());
            let rows = assessments::list(conn, participant_id, id, start, limit).await?;
            target.set_participants(page.shown(&rows).first().map(|a| a.participant_id));
            let ends = assessments::first_and_latest(conn, participant_id, id).await?;
            Ok((rows, ends))
        })
        .await?;
    let page = page.finish(rows, assessments::cursor_of, |a| respond(instrument, a));
    let (baseline, latest) = ends.unzip();
    Ok(HttpResponse::Ok().json(AssessmentList {
        items: page.items,
        next_cursor: page.next_cursor,
        instrument: instrument.id.to_owned(),
        cutoff: instrument.cutoff.total,
        baseline_total: baseline.as_ref().map(|a| a.total),
        baseline_taken_at: baseline.as_ref().map(|a| a.taken_at),
        latest_total: latest.as_ref().map(|a| a.total),
        latest_taken_at: latest.as_ref().map(|a| a.taken_at),
        change: baseline
            .zip(latest.as_ref())
            .map(|(b, l)| l.total - b.total),
        latest_meets_cutoff: latest.map(|a| instrument.meets_cutoff(a.total)),
    }))
}

/// Get one assessment.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own). Anything
/// else is 404; integration clients get 403. Assessments never change once stored.
#[utoipa::path(
    tag = "assessments",
    params(("id" = Uuid, Path, description = "Assessment id")),
    responses(
        (status = 200, description = "The assessment; `ETag` identifies this version", body = AssessmentResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/assessments/{id}",
    wrap = "Operation(Action::Read, ResourceType::Assessment)"
)]
pub async fn get_assessment(user: AuthUser, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let assessment = user
        .read(target, async |conn, scope, target| {
            let assessment = assessments::find_visible(conn, scope, id).await?;
            target.set_participant(assessment.participant_id);
            show(assessment)
        })
        .await?;
    Ok(http::ok(&assessment))
}
