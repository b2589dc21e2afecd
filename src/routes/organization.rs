//! The caller's organization: its name and settings. Its time zone decides what "today" is for
//! follow-up schedules.

use actix_web::{get, patch, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType};
use crate::auth::{Admin, Staff};
use crate::db::models::organizations::{self, Organization};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::http::validation::Checks;
use crate::http::{self, limits};
use crate::routes::responses::{Authenticated, BadRequest, Forbidden, JsonBody};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_organization).service(update_organization);
}

/// The caller's organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationResponse {
    pub id: Uuid,
    pub name: String,
    /// The IANA time zone its calendar dates are counted in (`UTC` unless set).
    pub time_zone: String,
    /// Today's date in that time zone.
    pub today: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// A change of settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"time_zone": "America/New_York"}))]
pub struct UpdateOrganizationRequest {
    /// An IANA time zone name, e.g. `America/Chicago`.
    #[schema(value_type = limits::TimeZone)]
    pub time_zone: String,
}

fn response(organization: Organization, today: NaiveDate) -> OrganizationResponse {
    OrganizationResponse {
        id: organization.id,
        name: organization.name,
        time_zone: organization.time_zone,
        today,
        created_at: organization.created_at,
    }
}

/// Get the caller's organization and its settings.
///
/// Roles: admin, supervisor, coach; participants and integration clients get 403.
#[utoipa::path(
    tag = "organization",
    responses(
        (status = 200, description = "The organization", body = OrganizationResponse),
        Authenticated, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get(
    "/organization",
    wrap = "Operation(Action::Read, ResourceType::Organization)"
)]
pub async fn get_organization(Staff(user): Staff) -> AppResult<HttpResponse> {
    let shown = user
        .unaudited(async |conn, scope| {
            let organization = organizations::find(conn, scope.organization_id).await?;
            let today = organizations::today(conn, scope.organization_id).await?;
            Ok(response(organization, today))
        })
        .await?;
    Ok(http::ok(&shown))
}

/// Change the organization's settings: its time zone.
///
/// Roles: admin; everyone else gets 403. 422 when `time_zone` is not an IANA name
/// PostgreSQL knows (e.g. `America/Denver`, `Europe/Dublin`, `UTC`). Follow-up schedules count
/// "today" in the new zone from the next request.
#[utoipa::path(
    tag = "organization",
    request_body = UpdateOrganizationRequest,
    responses(
        (status = 200, description = "The organization", body = OrganizationResponse),
        Authenticated, JsonBody, Forbidden, BadRequest,
    ),
    security(("bearer" = []))
)]
#[patch(
    "/organization",
    wrap = "Operation(Action::Update, ResourceType::Organization)"
)]
pub async fn update_organization(
    Admin(user): Admin,
    Json(body): Json<UpdateOrganizationRequest>,
) -> AppResult<HttpResponse> {
    let time_zone = body.time_zone.trim().to_owned();
    let mut checks = Checks::new();
    checks.text("time_zone", &time_zone, limits::TIME_ZONE);
    checks.finish()?;
    let target = user.target();
    let updated = user
        .write(target, async |conn, scope, target| {
            target.set_id(scope.organization_id);
            let updated = organizations::set_time_zone(conn, scope.organization_id, &time_zone)
                .await?
                .ok_or_else(|| AppError::invalid("time_zone", "is not an IANA time zone name"))?;
            let today = organizations::today(conn, scope.organization_id).await?;
            Ok(response(updated, today))
        })
        .await?;
    Ok(http::ok(&updated))
}
