//! Builds the HTTP server: the one place routes are mounted.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpRequest, HttpServer};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::audit::{AuditWriter, ChainKey};
use crate::auth::jwt::TokenKeys;
use crate::auth::key_sets::KeySets;
use crate::auth::password::PasswordHasher;
use crate::db;
use crate::http::error::{self, AppError};
use crate::http::idempotency::FingerprintKey;
use crate::http::state::AppState;
use crate::http::{openapi, request_log};
use crate::ops::config::Settings;
use crate::ops::maintenance;
use crate::routes::fallback::{self, RouteTable};
use crate::routes::{self, health};
use crate::webhooks::worker::{self, WorkerHandle};

pub const OPENAPI_URL: &str = "/api/v1/openapi.json";

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {0}: {1}")]
    Bind(std::net::SocketAddr, std::io::Error),
    #[error("cannot build the database pool: {0}")]
    Pool(String),
    #[error("password hashing is unavailable: {0}")]
    Hashing(String),
    #[error("TANDEM_JWT_SECRET is not set")]
    MissingSecret,
    #[error("TANDEM_AUDIT_KEY is not set")]
    MissingAuditKey,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("cannot build the webhook client: {0}")]
    Webhooks(String),
    #[error("cannot build the key set client: {0}")]
    KeySets(String),
}

/// Connections for background work: the audit chain's sealer and the webhook worker.
const BACKGROUND_POOL: usize = 4;

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    webhooks: Option<WorkerHandle>,
}

impl Application {
    /// Binds `settings.bind` (port 0 picks a free port) and prepares the server on `database_url`.
    pub async fn build(settings: &Settings, database_url: &str) -> Result<Self, StartupError> {
        let secret = settings
            .jwt_secret
            .as_deref()
            .ok_or(StartupError::MissingSecret)?;
        let audit_key = settings
            .audit_key
            .as_deref()
            .map(ChainKey::new)
            .ok_or(StartupError::MissingAuditKey)?;
        let hasher =
            PasswordHasher::new().map_err(|error| StartupError::Hashing(error.to_string()))?;
        let workers = settings.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        // Each HTTP worker has a pool of its own: a connection's driver runs on the worker that
        // opened it, so a connection shared between workers would wake the other worker's
        // thread on every statement.
        let per_worker = settings.database_pool_size.div_ceil(workers).max(1);
        let key_sets = std::sync::Arc::new(
            KeySets::new(settings.environment).map_err(|e| StartupError::KeySets(e.to_string()))?,
        );
        let states = (0..workers)
            .map(|_| {
                let pool = db::build_pool(database_url, per_worker).map_err(StartupError::Pool)?;
                let audit_writer = if settings.audit_batching {
                    let own = db::build_pool(database_url, crate::audit::batch::IN_FLIGHT)
                        .map_err(StartupError::Pool)?;
                    Some(AuditWriter::new(own))
                } else {
                    None
                };
                Ok(web::Data::new(AppState {
                    pool,
                    audit_writer,
                    tokens: TokenKeys::new(secret, &settings.jwt_issuer, &settings.jwt_audience),
                    hasher: hasher.clone(),
                    environment: settings.environment,
                    auth: settings.auth,
                    key_sets: key_sets.clone(),
                    public_url: settings.public_url.clone(),
                }))
            })
            .collect::<Result<Vec<_>, StartupError>>()?;
        let next_state = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // Background work (sealing the audit chain, webhooks) has a small pool of its own.
        let pool = db::build_pool(
            database_url,
            settings.database_pool_size.min(BACKGROUND_POOL),
        )
        .map_err(StartupError::Pool)?;
        let fingerprint_key = web::Data::new(FingerprintKey::derive(secret));
        let listener =
            TcpListener::bind(settings.bind).map_err(|e| StartupError::Bind(settings.bind, e))?;
        let port = listener.local_addr()?.port();
        let document = openapi::document();
        let routes = web::Data::new(RouteTable::from_openapi(&document));
        let spec = web::Data::new(health::OpenApiJson(openapi::document_json()));
        maintenance::spawn_background_work(pool.clone(), Duration::from_secs(1), audit_key.clone());
        let webhooks = start_webhooks(settings, &pool)?;
        maintenance::spawn_head_logging(pool, settings.audit_head_log_interval);
        let audit_key = web::Data::new(audit_key);
        let docs = settings.docs;
        let server = HttpServer::new(move || {
            let turn = next_state.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let state = states[turn % states.len()].clone();
            App::new()
                .wrap(ErrorHandlers::new().default_handler(problem_for_framework_errors))
                .wrap(from_fn(request_log::log_request))
                .app_data(state)
                .app_data(fingerprint_key.clone())
                .app_data(audit_key.clone())
                .app_data(routes.clone())
                .app_data(spec.clone())
                .app_data(web::PathConfig::default().error_handler(path_error))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .into_utoipa_app()
                .configure(routes::configure_documented)
                .into_app()
                .configure(|config| {
                    crate::fhir::configure(config, routes::oauth::configure_fhir_discovery)
                })
                .configure(|config| swagger_ui(config, docs))
                .default_service(web::to(fallback::not_found_or_wrong_method))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .workers(workers);
        Ok(Self {
            port,
            server: server.run(),
            webhooks,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM, then finishes in-flight requests and returns.
    /// Then stops the webhook worker once its attempts in flight are recorded.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some(webhooks) = self.webhooks {
            webhooks.stop().await;
        }
        served
    }
}

/// The webhook worker, unless turned off (`TANDEM_WEBHOOK_WORKER=off`).
fn start_webhooks(
    settings: &Settings,
    pool: &db::Pool,
) -> Result<Option<WorkerHandle>, StartupError> {
    if !settings.webhooks.worker {
        return Ok(None);
    }
    worker::spawn(
        pool.clone(),
        settings.webhooks.clone(),
        settings.environment,
    )
    .map(Some)
    .map_err(|error| StartupError::Webhooks(error.to_string()))
}

/// Swagger UI at `/docs`, unless turned off (`TANDEM_DOCS=off`): then `/docs` is an unknown
/// route like any other. The OpenAPI document itself stays at [`OPENAPI_URL`].
fn swagger_ui(config: &mut web::ServiceConfig, enabled: bool) {
    if enabled {
        config.service(web::redirect("/docs", "/docs/")).service(
            SwaggerUi::new("/docs/{_:.*}")
                .config(SwaggerConfig::new([OPENAPI_URL]).persist_authorization(true)),
        );
    }
}

/// A path that does not parse may belong to a more literal route under another method
/// (`GET /pairings/reassign` reached `GET /pairings/{id}`): then it is a 405, not a 400.
fn path_error(_: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    let allowed = req
        .app_data::<web::Data<RouteTable>>()
        .and_then(|routes| routes.allowed(req.path()));
    match allowed {
        Some(allow) if !allow.iter().any(|method| method == req.method().as_str()) => {
            AppError::MethodNotAllowed { allow }.into()
        }
        _ => AppError::BadRequest("A path parameter is malformed; ids are UUIDs.".into()).into(),
    }
}

fn query_error(_: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    AppError::BadRequest("The query string is malformed.".into()).into()
}

/// Gives any error response that is not yet a problem document (actix's own rejections) one.
fn problem_for_framework_errors<B>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Problem documents, and the FHIR interface's OperationOutcomes, are answers already.
    let is_answer = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| {
            let value = value.as_bytes();
            value.starts_with(b"application/problem+json")
                || value.starts_with(b"application/fhir+json")
        });
    if is_answer {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let (request, _) = response.into_parts();
    let replacement = error::generic_problem(status);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, replacement).map_into_right_body(),
    ))
}
