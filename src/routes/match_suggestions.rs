//! Ranked coach suggestions for a participant.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType};
use crate::auth::Supervisor;
use crate::db::models::{coach_profiles, participants};
use crate::db::pagination::Page;
use crate::domain::matching::{self, Seeker};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::http::limits;
use crate::routes::responses::{Authenticated, BadRequest, Forbidden, NotFound};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_match_suggestions);
}

/// A coach who could take the participant, with the score and the reasons behind it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchSuggestion {
    pub coach_id: Uuid,
    pub display_name: String,
    /// 0 to 120; see the operation's description for how it is made.
    #[schema(maximum = 120, example = 65)]
    pub score: u32,
    /// The parts of the score in words, e.g. "speaks Spanish", "also on a MOUD pathway",
    /// "12 of 25 places free".
    pub reasons: Vec<String>,
    pub free_places: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MatchSuggestionsQuery {
    /// How many suggestions.
    #[param(value_type = Option<limits::Suggestions>, inline)]
    pub limit: Option<i64>,
}

/// Suggest coaches for a participant, best first.
///
/// Roles: admin, supervisor.
///
/// Only active coaches who are `accepting_new` and under their `max_caseload` are ranked.
/// The score is the sum of:
///
/// | part | points |
/// |---|---|
/// | the coach speaks the participant's `preferred_language` | 30 |
/// | each recovery pathway the two share | 15 (at most 30) |
/// | each of the participant's `needs` in the coach's `lived_experience` | 10 (at most 30) |
/// | each of the participant's `needs` in the coach's `specialties` | 5 (at most 10) |
/// | free places: 20 × free ÷ `max_caseload`, rounded down | 0 to 20 |
///
/// Ties go to the coach with more free places. Each part that scored appears in `reasons`.
/// The list is not paginated: `next_cursor` is always `null`.
#[utoipa::path(
    tag = "participants",
    params(("id" = Uuid, Path, description = "Participant id"), MatchSuggestionsQuery),
    responses(
        (status = 200, description = "Coaches with capacity, best first", body = Page<MatchSuggestion>),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/participants/{id}/match-suggestions",
    wrap = "Operation(Action::Match, ResourceType::Participant)"
)]
pub async fn list_match_suggestions(
    Supervisor(user): Supervisor,
    id: web::Path<Uuid>,
    Query(query): Query<MatchSuggestionsQuery>,
) -> AppResult<HttpResponse> {
    let limit = query.limit.unwrap_or(limits::DEFAULT_SUGGESTIONS);
    if let Err(message) = limits::SUGGESTIONS.check(limit) {
        return Err(AppError::BadRequest(format!(
            "Query parameter `limit` {message}."
        )));
    }
    let id = id.into_inner();
    let target = user.target().id(id).participant(id);
    let (participant, coaches) = user
        .read(target, async |conn, scope, _| {
            let (participant, ..) = participants::find_visible(conn, scope, id).await?;
            let coaches = coach_profiles::with_capacity(conn, scope.organization_id).await?;
            Ok((participant, coaches))
        })
        .await?;
    let seeker = Seeker {
        preferred_language: participant.preferred_language.as_deref(),
        recovery_pathways: &participant.recovery_pathways,
        needs: &participant.needs,
    };
    let items = matching::rank(&seeker, coaches)
        .into_iter()
        .take(limit as usize)
        .map(|s| MatchSuggestion {
            coach_id: s.coach_id,
            display_name: s.display_name,
            score: s.score,
            reasons: s.reasons,
            free_places: s.free_places,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}
