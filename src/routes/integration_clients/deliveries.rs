//! A client's webhook delivery attempts, and sending an event again (admins only).

use actix_web::{get, post, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::types::{DeliveryResponse, RedeliveryResponse};
use crate::audit::{Action, Operation, ResourceType};
use crate::auth::Admin;
use crate::db::models::{integration_clients, webhook_deliveries, webhook_events};
use crate::db::pagination::{Cursor, Page, PageQuery, PageRequest};
use crate::http::error::{AppError, AppResult, ProblemType};
use crate::http::extract::Query;
use crate::routes::responses::{Authenticated, BadRequest, Conflict, Forbidden, NotFound};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_webhook_deliveries)
        .service(redeliver_webhook_event);
}

/// List a client's webhook delivery attempts, newest first.
///
/// Roles: admin. Each attempt names its event, when it was made, where it went, what came
/// back (status or error), how long it took and when the event is tried next. 404 for other
/// organizations' clients.
#[utoipa::path(
    tag = "integration-clients",
    params(
        ("id" = Uuid, Path, description = "Integration client id"),
        ("limit" = inline(Option<crate::http::limits::PageSize>), Query, description = "Page size"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of attempts", body = Page<DeliveryResponse>),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/integration-clients/{id}/deliveries",
    wrap = "Operation(Action::List, ResourceType::WebhookDelivery)"
)]
pub async fn list_webhook_deliveries(
    Admin(admin): Admin,
    id: web::Path<Uuid>,
    Query(query): Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let before = match page.cursor {
        Some(Cursor::After(id)) => Some(id),
        _ => None,
    };
    let id = id.into_inner();
    let target = admin.target().id(id);
    let rows = admin
        .read(target, async |conn, scope, _| {
            let org = scope.organization_id;
            integration_clients::find_in_org(conn, org, id).await?;
            Ok(webhook_deliveries::list(conn, org, id, before, page.fetch_limit()).await?)
        })
        .await?;
    let page = page.finish(rows, |row| Cursor::After(row.id), DeliveryResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Send a delivered or failed event again.
///
/// Roles: admin. Queues the event of attempt `delivery_id` for delivery now, with a fresh
/// retry window, and answers 202: the attempt appears in the deliveries list once made. While
/// the client's endpoint is disabled the event waits until it is re-enabled. 404 for other
/// organizations' clients or an attempt of another client; 409 when the client has no
/// webhook URL.
#[utoipa::path(
    tag = "integration-clients",
    params(
        ("id" = Uuid, Path, description = "Integration client id"),
        ("delivery_id" = Uuid, Path, description = "A delivery attempt of the event"),
    ),
    responses(
        (status = 202, description = "The event is queued", body = RedeliveryResponse),
        Authenticated, BadRequest, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/integration-clients/{id}/deliveries/{delivery_id}/redeliver",
    wrap = "Operation(Action::Redeliver, ResourceType::WebhookDelivery)"
)]
pub async fn redeliver_webhook_event(
    Admin(admin): Admin,
    path: web::Path<(Uuid, Uuid)>,
) -> AppResult<HttpResponse> {
    let (id, delivery_id) = path.into_inner();
    let target = admin.target().id(delivery_id);
    let queued = admin
        .write(target, async |conn, scope, _| {
            let org = scope.organization_id;
            let client = integration_clients::lock_in_org(conn, org, id).await?;
            let delivery = webhook_deliveries::find(conn, org, id, delivery_id).await?;
            if client.webhook_url.is_none() {
                return Err(AppError::conflict(
                    ProblemType::Conflict,
                    "This client has no webhook URL; set one first.",
                ));
            }
            let (state, next_attempt_at) = webhook_events::requeue(conn, id, delivery.event_id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(RedeliveryResponse {
                event_id: delivery.event_id,
                state,
                next_attempt_at,
            })
        })
        .await?;
    Ok(HttpResponse::Accepted().json(queued))
}
