//! The audit log of access to participant data (admins only).

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{
    self, Action, ChainHead, ChainKey, Operation, Outcome, ResourceType, Verification,
};
use crate::auth::Admin;
use crate::db::models::audit_events::{self, AuditEvent, AuditFilter};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::http::limits;
use crate::routes::responses::{Authenticated, BadRequest, Forbidden};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(verify_audit_events).service(list_audit_events);
}

/// One audited request.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// The user who made the request; `null` for integration clients and unknown sign-ins.
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    /// The integration client that made the request, if any.
    pub client_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    // `action` and `resource_type` are shown exactly as stored (and sealed into the chain),
    // and documented as the vocabulary that writes them.
    /// e.g. `read`, `list`, `create`, `update`, `change_status`, `reassign`, `login`.
    #[schema(value_type = Action)]
    pub action: String,
    /// e.g. `participant`, `pairing`, `caseload`, `user`, `session`.
    #[schema(value_type = ResourceType)]
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub participant_id: Option<Uuid>,
    /// Every participant a list returned (or a reassignment moved or skipped); empty for
    /// events about one object.
    pub participant_ids: Vec<Uuid>,
    /// `denied`: refused, or out of scope.
    #[schema(value_type = Outcome)]
    pub outcome: String,
    /// Matches the `X-Request-Id` of the response.
    pub request_id: String,
    pub ip: Option<String>,
}

impl From<AuditEvent> for AuditEventResponse {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_id: e.actor_id,
            actor_role: e.actor_role,
            client_id: e.client_id,
            organization_id: e.organization_id,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            participant_id: e.participant_id,
            participant_ids: e.participant_ids,
            outcome: e.outcome,
            request_id: e.request_id,
            ip: e.ip,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListAuditEventsQuery {
    pub actor_id: Option<Uuid>,
    /// Events about this participant, including list reads that returned them.
    pub participant_id: Option<Uuid>,
    pub resource_type: Option<ResourceType>,
    pub action: Option<Action>,
    pub outcome: Option<Outcome>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List the organization's audit events, newest first.
///
/// Roles: admin.
#[utoipa::path(
    tag = "audit",
    params(ListAuditEventsQuery),
    responses(
        (status = 200, description = "A page of events", body = Page<AuditEventResponse>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get(
    "/audit-events",
    wrap = "Operation(Action::List, ResourceType::AuditEvent)"
)]
pub async fn list_audit_events(
    Admin(admin): Admin,
    Query(query): Query<ListAuditEventsQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let filter = AuditFilter {
        actor_id: query.actor_id,
        participant_id: query.participant_id,
        resource_type: query.resource_type.map(ResourceType::as_str),
        action: query.action.map(Action::as_str),
        outcome: query.outcome.map(|o| o.as_str().to_owned()),
        from: query.from,
        to: query.to,
    };
    let rows = admin
        .unaudited(async |conn, scope| {
            Ok(audit_events::list(conn, scope.organization_id, &filter, &page).await?)
        })
        .await?;
    let page = page.finish(rows, |e| Cursor::After(e.id), AuditEventResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerifyAuditEventsQuery {
    /// The `head.position` of an earlier verification (or of a logged chain head); give it
    /// with `hash`.
    #[param(minimum = 0)]
    pub position: Option<i64>,
    /// The `head.hash` that went with `position`: 64 hexadecimal digits.
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    pub hash: Option<String>,
}

impl VerifyAuditEventsQuery {
    /// The earlier head to look for, if one was given; 400 when it is half given or malformed.
    fn earlier_head(self) -> AppResult<Option<ChainHead>> {
        match (self.position, self.hash) {
            (None, None) => Ok(None),
            (Some(position), Some(hash))
                if position >= 0
                    && hash.len() == 64
                    && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                Ok(Some(ChainHead {
                    position,
                    hash: hash.to_ascii_lowercase(),
                }))
            }
            _ => Err(AppError::BadRequest(
                "Query parameters `position` (0 or more) and `hash` (64 hexadecimal digits) \
                 go together."
                    .into(),
            )),
        }
    }
}

/// Verify the audit log's hash chain.
///
/// Roles: admin. Each organization's events form their own chain, each link an HMAC keyed
/// with a server key that is never stored in the database. Walks the caller's organization's
/// chain recomputing every link and reports the first event whose stored contents or link no
/// longer match, and the head of the chain. Keep that head (the server also logs every
/// chain's head periodically) and pass it back later as `position` and `hash`: `ok` is then
/// also false when that head is no longer in the chain, as when the latest events were
/// removed. Events are sealed into the chain within about a second of being written;
/// `unsealed` counts those not yet sealed.
#[utoipa::path(
    tag = "audit",
    params(VerifyAuditEventsQuery),
    responses(
        (status = 200, description = "The result of the walk", body = Verification),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get(
    "/audit-events/verify",
    wrap = "Operation(Action::Verify, ResourceType::AuditEvent)"
)]
pub async fn verify_audit_events(
    Admin(admin): Admin,
    key: web::Data<ChainKey>,
    Query(query): Query<VerifyAuditEventsQuery>,
) -> AppResult<HttpResponse> {
    let earlier = query.earlier_head()?;
    let report = admin
        .unaudited(async |conn, scope| {
            Ok(audit::verify(conn, &key, scope.organization_id, earlier.as_ref()).await?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
