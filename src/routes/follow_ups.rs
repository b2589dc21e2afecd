//! The follow-up work list: every schedule point in the caller's scope in a given state, most
//! urgent first, for a coach's or a supervisor's week.

use actix_web::{get, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType};
use crate::auth::Staff;
use crate::db::models::follow_ups::{self, DuePoint, PointFilter};
use crate::db::models::referrals;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::domain::follow_up::{rule_rows, PointState, SUPRT};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::routes::responses::{Authenticated, BadRequest, Forbidden};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_follow_ups);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListFollowUpsQuery {
    /// States to list, comma-separated (`upcoming`, `open`, `overdue`, `done`, `missed`,
    /// `not_required`); `open,overdue` when left out.
    #[param(
        pattern = r"^(upcoming|open|overdue|done|missed|not_required)(,(upcoming|open|overdue|done|missed|not_required))*$"
    )]
    pub state: Option<String>,
    /// Only points due before this date.
    pub due_before: Option<NaiveDate>,
    /// Page size.
    #[param(value_type = Option<crate::http::limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A follow-up point of a participant's episode.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpPoint {
    pub participant_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub episode_id: Uuid,
    /// `baseline`, `reassessment_6m`, `annual_<n>` or `closeout`.
    pub point: String,
    pub due: NaiveDate,
    pub window_opens: NaiveDate,
    pub window_closes: NaiveDate,
    pub state: PointState,
}

/// The follow-up points due in the caller's scope, most urgent first.
///
/// Roles: admin and supervisor (the organization's participants), coach (their current
/// caseload); participants and integration clients get 403. Ordered by urgency (`overdue`,
/// `open`, `missed`, `upcoming`, `done`, `not_required`), then by due date. States are those of
/// `GET /episodes/{id}/schedule` today, in the organization's time zone. 400 for an unknown
/// state.
#[utoipa::path(
    tag = "episodes",
    params(ListFollowUpsQuery),
    responses(
        (status = 200, description = "A page of follow-up points", body = Page<FollowUpPoint>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get("/follow-ups", wrap = "Operation(Action::List, ResourceType::Episode)")]
pub async fn list_follow_ups(
    Staff(user): Staff,
    Query(query): Query<ListFollowUpsQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let filter = PointFilter {
        states: states(query.state.as_deref())?,
        due_before: query.due_before,
        after: page.cursor.as_ref().map(after).transpose()?,
        limit: page.fetch_limit(),
        ..PointFilter::default()
    };
    let target = user.target();
    let (rows, names) = user
        .read(target, async |conn, scope, target| {
            let rows = follow_ups::points(conn, scope, &rule_rows(SUPRT), &filter).await?;
            let ids: Vec<Uuid> = page.shown(&rows).iter().map(|p| p.participant_id).collect();
            target.set_participants(ids.iter().copied());
            let names = referrals::demographics(conn, &ids).await?;
            Ok((rows, names))
        })
        .await?;
    let page = page.finish(rows, cursor_of, |point| {
        let person = names.iter().find(|d| d.id == point.participant_id);
        FollowUpPoint {
            participant_id: point.participant_id,
            first_name: person.map(|p| p.first_name.clone()).unwrap_or_default(),
            last_name: person.map(|p| p.last_name.clone()).unwrap_or_default(),
            episode_id: point.episode_id,
            state: PointState::parse(&point.state).unwrap_or(PointState::Upcoming),
            point: point.point,
            due: point.due,
            window_opens: point.window_opens,
            window_closes: point.window_closes,
        }
    });
    Ok(HttpResponse::Ok().json(page))
}

fn states(given: Option<&str>) -> AppResult<Vec<String>> {
    let given = given.unwrap_or("open,overdue");
    given
        .split(',')
        .map(|name| {
            PointState::parse(name.trim())
                .map(|state| state.as_str().to_owned())
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "Query parameter `state` has `{name}`, not a follow-up state."
                    ))
                })
        })
        .collect()
}

fn cursor_of(point: &DuePoint) -> Cursor {
    let key = format!("{}|{}|{}", point.urgency, point.due, point.point);
    Cursor::AfterKey(key, point.episode_id)
}

fn after(cursor: &Cursor) -> AppResult<(i32, NaiveDate, Uuid, String)> {
    let bad =
        || AppError::BadRequest("Query parameter `cursor` is not a cursor this API issued.".into());
    let Cursor::AfterKey(key, episode_id) = cursor else {
        return Err(bad());
    };
    let mut parts = key.splitn(3, '|');
    let urgency = parts.next().and_then(|u| u.parse().ok()).ok_or_else(bad)?;
    let due = parts.next().and_then(|d| d.parse().ok()).ok_or_else(bad)?;
    let point = parts.next().ok_or_else(bad)?.to_owned();
    Ok((urgency, due, *episode_id, point))
}
