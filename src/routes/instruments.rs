//! The catalogue of assessment instruments.

use actix_web::{get, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::{Action, Operation, ResourceType};
use crate::auth::AuthUser;
use crate::db::pagination::Page;
use crate::domain::instruments::{self, Instrument};
use crate::http::error::AppResult;
use crate::routes::responses::{Authenticated, Forbidden};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_instruments);
}

/// List the assessment instruments, with their items, answer scale, total range and cut-off.
///
/// Roles: admin, supervisor, coach, participant. Integration clients get 403: their scopes
/// cover referrals and the directory, and assessments are never theirs to see. The catalogue
/// is the same for every organization and is returned whole (`next_cursor` is always `null`).
/// Submit an assessment with `POST /participants/{id}/assessments`, naming an instrument's `id`
/// and one answer per item, in item order.
#[utoipa::path(
    tag = "assessments",
    responses(
        (status = 200, description = "Every instrument", body = Page<Instrument>),
        Authenticated, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get(
    "/instruments",
    wrap = "Operation(Action::List, ResourceType::Instrument)"
)]
pub async fn list_instruments(user: AuthUser) -> AppResult<HttpResponse> {
    // Reference data, the same for everyone: nothing about a participant is read, so no
    // audit row; `unaudited` still refuses a token whose account has changed.
    let page = user
        .unaudited(async |_, _| {
            Ok(Page {
                items: instruments::ALL.to_vec(),
                next_cursor: None,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
