//! Coach profiles: capacity, languages, lived experience, and caseloads.

use actix_web::{get, patch, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType};
use crate::auth::{Role, Staff, Supervisor};
use crate::db::models::coach_profiles::{self, Coach, CoachFilter, CoachProfileChanges};
use crate::db::models::pairings::{self, CaseloadRow, PairingStatus};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::domain::follow_up::{self, PointState};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Json, Query};
use crate::http::limits;
use crate::http::validation::{self, nullable, Checks};
use crate::http::{self, IfMatch};
use crate::routes::responses::{
    Authenticated, BadRequest, Forbidden, JsonBody, NotFound, PreconditionFailed,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_coaches)
        .service(get_coach)
        .service(update_coach)
        .service(get_caseload);
}

/// A coach's profile. Addressed by the coach's user id.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoachResponse {
    /// The coach's user id.
    pub id: Uuid,
    pub display_name: String,
    pub email: String,
    /// Whether the coach's account is active.
    pub active: bool,
    /// The most current pairings (proposed, active or paused) this coach may hold.
    pub max_caseload: i32,
    /// Current pairings now.
    pub current_caseload: i64,
    /// Language tags such as `en`, `es`.
    pub languages: Vec<String>,
    /// e.g. `housing`, `employment`, `family_reunification`.
    pub specialties: Vec<String>,
    /// e.g. `opioids`, `alcohol`, `stimulants`, `incarceration`, `homelessness`, `veteran`,
    /// `lgbtq`, `parenting`.
    pub lived_experience: Vec<String>,
    /// e.g. `twelve_step`, `smart_recovery`, `moud`, `faith_based`, `harm_reduction`, `natural`.
    pub recovery_pathways: Vec<String>,
    pub bio: Option<String>,
    /// Whether the coach takes new participants (match suggestions skip those who do not).
    pub accepting_new: bool,
    pub updated_at: DateTime<Utc>,
}

impl From<Coach> for CoachResponse {
    fn from(coach: Coach) -> Self {
        let profile = coach.profile;
        Self {
            id: profile.user_id,
            display_name: coach.display_name,
            email: coach.email,
            active: coach.active,
            max_caseload: profile.max_caseload,
            current_caseload: coach.current_caseload,
            languages: profile.languages,
            specialties: profile.specialties,
            lived_experience: profile.lived_experience,
            recovery_pathways: profile.recovery_pathways,
            bio: profile.bio,
            accepting_new: profile.accepting_new,
            updated_at: profile.updated_at,
        }
    }
}

/// Changes to a coach profile; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCoachRequest {
    /// Admins and supervisors only. Lowering it below the current caseload keeps existing
    /// pairings but admits no new ones.
    #[schema(value_type = Option<limits::Caseload>)]
    pub max_caseload: Option<i32>,
    #[schema(value_type = Option<limits::Languages>)]
    pub languages: Option<Vec<String>>,
    /// e.g. `housing`, `employment`, `family_reunification`.
    #[schema(value_type = Option<limits::Tags>)]
    pub specialties: Option<Vec<String>>,
    /// e.g. `opioids`, `alcohol`, `incarceration`, `veteran`, `parenting`.
    #[schema(value_type = Option<limits::Tags>)]
    pub lived_experience: Option<Vec<String>>,
    /// e.g. `twelve_step`, `smart_recovery`, `moud`, `harm_reduction`.
    #[schema(value_type = Option<limits::Tags>)]
    pub recovery_pathways: Option<Vec<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::Bio>)]
    pub bio: Option<Option<String>>,
    pub accepting_new: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListCoachesQuery {
    pub accepting_new: Option<bool>,
    /// Only coaches who speak this language tag.
    #[param(value_type = Option<limits::LanguageTag>, inline)]
    pub language: Option<String>,
    /// Only coaches whose accounts are active (`true`) or inactive (`false`).
    pub active: Option<bool>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One participant on a coach's caseload.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseloadEntry {
    pub participant_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub preferred_name: Option<String>,
    pub pairing_id: Uuid,
    pub pairing_status: PairingStatus,
    pub paired_since: DateTime<Utc>,
    /// The participant's latest contact: when their latest session note says the session
    /// happened (any author, any visibility: only the date is shown) or the latest group
    /// session they attended (`present`), whichever is later; `null` when there is none.
    pub last_contact_at: Option<DateTime<Utc>>,
    /// Whole days since `last_contact_at`; `null` when the participant was never contacted.
    pub days_since_contact: Option<i64>,
    /// The participant's goals that are active or paused.
    pub open_goal_count: i64,
    /// The earliest `follow_up_due` of the participant's session notes that is today (UTC) or
    /// later; `null` when none is.
    pub next_follow_up_due: Option<chrono::NaiveDate>,
    /// The next follow-up interview of their episodes of care to act on: an overdue point,
    /// else an open one, else the next upcoming (see `GET /episodes/{id}/schedule`); `null`
    /// when there is none.
    pub next_point: Option<NextPoint>,
}

/// A participant's next follow-up point.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextPoint {
    pub episode_id: Uuid,
    pub point: String,
    pub due: chrono::NaiveDate,
    pub state: PointState,
}

impl From<CaseloadRow> for CaseloadEntry {
    fn from(row: CaseloadRow) -> Self {
        Self {
            participant_id: row.pairing.participant_id,
            first_name: row.first_name,
            last_name: row.last_name,
            preferred_name: row.preferred_name,
            pairing_id: row.pairing.id,
            pairing_status: row.pairing.status,
            paired_since: row.pairing.created_at,
            last_contact_at: row.last_contact_at,
            days_since_contact: row
                .last_contact_at
                .map(|at| (Utc::now() - at).num_days().max(0)),
            open_goal_count: row.open_goal_count,
            next_follow_up_due: row.next_follow_up_due,
            next_point: None,
        }
    }
}

/// List the organization's coaches with their capacity.
///
/// Roles: admin, supervisor.
#[utoipa::path(
    tag = "coaches",
    params(ListCoachesQuery),
    responses(
        (status = 200, description = "A page of coaches", body = Page<CoachResponse>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get("/coaches", wrap = "Operation(Action::List, ResourceType::Coach)")]
pub async fn list_coaches(
    Supervisor(user): Supervisor,
    Query(query): Query<ListCoachesQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    validation::query_language(query.language.as_deref())?;
    let filter = CoachFilter {
        accepting_new: query.accepting_new,
        language: query.language,
        active: query.active,
    };
    let target = user.target();
    let rows = user
        .read(target, async |conn, scope, _| {
            Ok(coach_profiles::list(conn, scope.organization_id, &filter, &page).await?)
        })
        .await?;
    let page = page.finish(
        rows,
        |c| Cursor::After(c.profile.user_id),
        CoachResponse::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Get a coach's profile.
///
/// Roles: admin, supervisor, coach (their own profile; other coaches are 404).
#[utoipa::path(
    tag = "coaches",
    params(("id" = Uuid, Path, description = "The coach's user id")),
    responses(
        (status = 200, description = "The coach; `ETag` identifies this version", body = CoachResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get("/coaches/{id}", wrap = "Operation(Action::Read, ResourceType::Coach)")]
pub async fn get_coach(Staff(user): Staff, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let coach = user
        .read(target, async |conn, scope, _| {
            Ok(coach_profiles::find_visible(conn, scope, id).await?)
        })
        .await?;
    Ok(http::ok(&CoachResponse::from(coach)))
}

/// Update a coach's profile.
///
/// Roles: admin, supervisor (any coach of the organization), coach (their own profile,
/// except `max_caseload`).
#[utoipa::path(
    tag = "coaches",
    params(
        ("id" = Uuid, Path, description = "The coach's user id"),
        IfMatch
    ),
    request_body = UpdateCoachRequest,
    responses(
        (status = 200, description = "The updated profile", body = CoachResponse),
        Authenticated, JsonBody, Forbidden, NotFound, PreconditionFailed,
    ),
    security(("bearer" = []))
)]
#[patch(
    "/coaches/{id}",
    wrap = "Operation(Action::Update, ResourceType::Coach)"
)]
pub async fn update_coach(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<UpdateCoachRequest>,
) -> AppResult<HttpResponse> {
    let changes = validate_update(user.scope.role, body)?;
    let id = id.into_inner();
    let target = user.target().id(id);
    let updated = user
        .write(target, async |conn, scope, _| {
            let current = coach_profiles::lock_visible(conn, scope, id).await?;
            if_match.check(&CoachResponse::from(current))?;
            coach_profiles::update(conn, id, &changes).await?;
            Ok(coach_profiles::find_visible(conn, scope, id).await?)
        })
        .await?;
    Ok(http::ok(&CoachResponse::from(updated)))
}

fn validate_update(role: Role, body: UpdateCoachRequest) -> AppResult<CoachProfileChanges> {
    let mut checks = Checks::new();
    if let Some(max) = body.max_caseload {
        if role == Role::Coach {
            checks.add(
                "max_caseload",
                "only admins and supervisors may change a coach's capacity",
            );
        } else {
            checks.range("max_caseload", max.into(), limits::CASELOAD);
        }
    }
    if let Some(languages) = &body.languages {
        checks.languages("languages", languages);
    }
    for (field, tags) in [
        ("specialties", &body.specialties),
        ("lived_experience", &body.lived_experience),
        ("recovery_pathways", &body.recovery_pathways),
    ] {
        if let Some(tags) = tags {
            checks.tags(field, tags);
        }
    }
    if let Some(Some(bio)) = &body.bio {
        checks.text("bio", bio, limits::BIO);
    }
    checks.finish()?;
    Ok(CoachProfileChanges {
        max_caseload: body.max_caseload,
        languages: body.languages,
        specialties: body.specialties,
        lived_experience: body.lived_experience,
        recovery_pathways: body.recovery_pathways,
        bio: body.bio.map(|bio| bio.map(|b| b.trim().to_owned())),
        accepting_new: body.accepting_new,
        updated_at: Some(Utc::now()),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseloadQuery {
    /// Only participants with no session note in this many days (counted back from now);
    /// participants never contacted count from when their pairing was made.
    #[param(value_type = Option<limits::NoContactDays>, inline)]
    pub no_contact_days: Option<i64>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A coach's current participants, with their last contact, next follow-up and next point of
/// their follow-up schedule.
///
/// Roles: admin, supervisor, coach (their own caseload; other coaches' are 404).
/// `no_contact_days=N` keeps only participants with no session note in the last N days.
#[utoipa::path(
    tag = "coaches",
    params(
        ("id" = Uuid, Path, description = "The coach's user id"),
        CaseloadQuery,
    ),
    responses(
        (status = 200, description = "A page of the caseload", body = Page<CaseloadEntry>),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/coaches/{id}/caseload",
    wrap = "Operation(Action::Read, ResourceType::Caseload)"
)]
pub async fn get_caseload(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    Query(query): Query<CaseloadQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let since = no_contact_since(query.no_contact_days)?;
    let id = id.into_inner();
    let target = user.target().id(id);
    let rows = user
        .read(target, async |conn, scope, target| {
            coach_profiles::find_visible(conn, scope, id).await?;
            let rows = pairings::caseload(conn, scope, id, since, &page).await?;
            let ids: Vec<Uuid> = page
                .shown(&rows)
                .iter()
                .map(|r| r.pairing.participant_id)
                .collect();
            target.set_participants(ids.iter().copied());
            let next = follow_up::next_points(conn, scope, ids).await?;
            Ok((rows, next))
        })
        .await?;
    let (rows, next) = rows;
    let page = page.finish(
        rows,
        |row| Cursor::After(row.pairing.id),
        |row| {
            let point = next.get(&row.pairing.participant_id);
            CaseloadEntry {
                next_point: point.map(|p| NextPoint {
                    episode_id: p.episode_id,
                    state: PointState::parse(&p.state).unwrap_or(PointState::Upcoming),
                    point: p.point.clone(),
                    due: p.due,
                }),
                ..CaseloadEntry::from(row)
            }
        },
    );
    Ok(HttpResponse::Ok().json(page))
}

/// The time before which a participant's last contact counts as none in `days` days.
fn no_contact_since(days: Option<i64>) -> AppResult<Option<DateTime<Utc>>> {
    let Some(days) = days else { return Ok(None) };
    if let Err(message) = limits::NO_CONTACT_DAYS.check(days) {
        return Err(AppError::BadRequest(format!(
            "Query parameter `no_contact_days` {message}."
        )));
    }
    Ok(Some(Utc::now() - chrono::Duration::days(days)))
}
