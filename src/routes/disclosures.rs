//! The accounting of disclosures (45 CFR 164.528(b), which 42 CFR 2.24 and 2.25 point to):
//! every time a participant's data left the organization, to whom, what, why and under
//! which consent. Entries are written by whatever discloses (`disclosures::record`); this
//! module only reads them.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType};
use crate::auth::AuthUser;
use crate::db::models::consents::InformationCategory;
use crate::db::models::disclosures::{self, Disclosure, DisclosureFilter};
use crate::db::pagination::{Page, PageRequest};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::http::limits;
use crate::routes::responses::{Authenticated, BadRequest, Forbidden, NotFound};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_disclosures);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListDisclosuresQuery {
    /// Only disclosures at or after this time (RFC 3339; write `Z`, as a `+` reads as a space).
    pub from: Option<DateTime<Utc>>,
    /// Only disclosures at or before this time.
    pub to: Option<DateTime<Utc>>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One entry of the accounting of disclosures.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosureResponse {
    pub id: Uuid,
    pub participant_id: Uuid,
    /// When the data was disclosed.
    pub disclosed_at: DateTime<Utc>,
    /// Who received it.
    pub recipient_name: String,
    /// The recipient's address when known: as recorded, else the resource's address.
    pub recipient_address: Option<String>,
    pub recipient_client_id: Option<Uuid>,
    pub recipient_resource_id: Option<Uuid>,
    /// What kinds of information were disclosed.
    #[schema(value_type = Vec<InformationCategory>)]
    pub information_categories: Vec<String>,
    /// What was disclosed, in brief.
    pub description: String,
    /// Why.
    pub purpose: String,
    /// The consent it was disclosed under.
    pub consent_id: Option<Uuid>,
    /// The referral it was disclosed for, when there is one.
    pub referral_id: Option<Uuid>,
}

fn respond(d: Disclosure, addresses: &[(Uuid, String)]) -> DisclosureResponse {
    let resource_address = || {
        let resource = d.recipient_resource_id?;
        let found = addresses.iter().find(|(id, _)| *id == resource);
        found.map(|(_, address)| address.clone())
    };
    DisclosureResponse {
        recipient_address: d.recipient_address.clone().or_else(resource_address),
        id: d.id,
        participant_id: d.participant_id,
        disclosed_at: d.disclosed_at,
        recipient_name: d.recipient_name,
        recipient_client_id: d.recipient_client_id,
        recipient_resource_id: d.recipient_resource_id,
        information_categories: d.information_categories,
        description: d.description,
        purpose: d.purpose,
        consent_id: d.consent_id,
        referral_id: d.referral_id,
    }
}

/// The filter of a page: 400 for a cursor of another list or `from` after `to`.
fn filter_of(query: &ListDisclosuresQuery, page: &PageRequest) -> AppResult<DisclosureFilter> {
    let before = match &page.cursor {
        None => None,
        Some(cursor) => Some(disclosures::keyset(cursor).ok_or_else(|| {
            AppError::BadRequest("Query parameter `cursor` is not a cursor this API issued.".into())
        })?),
    };
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from > to {
            return Err(AppError::BadRequest(
                "Query parameter `from` must not be after `to`.".into(),
            ));
        }
    }
    Ok(DisclosureFilter {
        from: query.from,
        to: query.to,
        before,
    })
}

/// List the accounting of a participant's disclosures, newest first.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own record). Each
/// entry says when, to whom (name, and address when known), what (information categories
/// and a description), why, and under which consent (and for which referral). `from` and
/// `to` are inclusive. A participant the caller cannot see is 404; integration clients get
/// 403.
#[utoipa::path(
    tag = "consents",
    params(("id" = Uuid, Path, description = "Participant id"), ListDisclosuresQuery),
    responses(
        (status = 200, description = "A page of disclosures", body = Page<DisclosureResponse>),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/participants/{id}/disclosures",
    wrap = "Operation(Action::List, ResourceType::Disclosure)"
)]
pub async fn list_disclosures(
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<ListDisclosuresQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let filter = filter_of(&query, &page)?;
    let participant_id = id.into_inner();
    let target = user.target().participant(participant_id);
    let (rows, addresses) = user
        .read(target, async |conn, scope, target| {
            crate::db::scope::visible_participant(conn, scope, participant_id).await?;
            let limit = page.fetch_limit();
            let rows = disclosures::list(conn, participant_id, filter, limit).await?;
            let shown = page.shown(&rows);
            target.set_participants(shown.iter().map(|d| d.participant_id));
            let resources: Vec<Uuid> = shown
                .iter()
                .filter(|d| d.recipient_address.is_none())
                .filter_map(|d| d.recipient_resource_id)
                .collect();
            let addresses = disclosures::resource_addresses(conn, &resources).await?;
            Ok((rows, addresses))
        })
        .await?;
    let page = page.finish(rows, disclosures::cursor_of, |d| respond(d, &addresses));
    Ok(HttpResponse::Ok().json(page))
}
