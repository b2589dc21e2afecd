//! Liveness, readiness and the OpenAPI document.

use actix_web::{get, web, HttpResponse};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;
use crate::routes::responses::Unavailable;

/// Health status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    pub status: &'static str,
}

/// The process is up.
///
/// Roles: none (no token needed).
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Up", body = Health)),
    security()
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database is reachable.
///
/// Roles: none (no token needed).
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        Unavailable,
    ),
    security()
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    diesel::sql_query("SELECT 1")
        .execute(&mut conn)
        .await
        .map_err(|error| AppError::Unavailable(error.to_string()))?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}

/// The serialized OpenAPI document, built once at startup.
pub struct OpenApiJson(pub String);

/// This API's OpenAPI 3.1 document.
///
/// Roles: none (no token needed).
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)),
    security()
)]
#[get("/openapi.json")]
pub async fn get_openapi(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.0.clone())
}
