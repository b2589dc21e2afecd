//! Integration clients (clinic and partner systems) of the caller's organization, their
//! secrets and their webhook endpoint (admins only). Deliveries are in [`deliveries`].

mod deliveries;
mod types;

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::{client_secret, Admin};
use crate::db::models::integration_clients::{self, ClientChanges, ClientRecord, NewClient};
use crate::db::models::webhook_events;
use crate::db::pagination::{Cursor, Page, PageQuery, PageRequest};
use crate::db::scope::Scope;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Json, OptionalJson, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::state::AppState;
use crate::http::{self, Created, IfMatch};
use crate::routes::responses::{
    Authenticated, BadRequest, Forbidden, JsonBody, NotFound, PreconditionFailed,
};
use crate::webhooks::signing;
pub use types::*;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_integration_client)
        .service(list_integration_clients)
        .service(get_integration_client)
        .service(update_integration_client)
        .service(rotate_integration_client_secret);
    deliveries::configure(cfg);
}

fn location(id: Uuid) -> String {
    format!("/api/v1/integration-clients/{id}")
}

/// Clients with their linked resources, as admins see them.
async fn with_resources(
    conn: &mut AsyncPgConnection,
    clients: Vec<ClientRecord>,
) -> AppResult<Vec<IntegrationClientResponse>> {
    let ids: Vec<Uuid> = clients.iter().map(|client| client.id).collect();
    let links = integration_clients::resource_links(conn, &ids).await?;
    Ok(clients
        .into_iter()
        .map(|client| {
            let resources = links
                .iter()
                .filter(|(client_id, _)| *client_id == client.id)
                .map(|(_, resource_id)| *resource_id)
                .collect();
            IntegrationClientResponse::new(client, resources)
        })
        .collect())
}

/// Client `id` of the caller's organization (404 otherwise).
async fn load(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> AppResult<IntegrationClientResponse> {
    let client = integration_clients::find_in_org(conn, scope.organization_id, id).await?;
    let mut shown = with_resources(conn, vec![client]).await?;
    shown
        .pop()
        .ok_or_else(|| AppError::Internal("a client vanished".into()))
}

/// 422 naming `resource_ids` unless every one is a resource of the organization.
async fn check_resources(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    resource_ids: &[Uuid],
) -> AppResult<()> {
    let foreign =
        integration_clients::foreign_resources(conn, scope.organization_id, resource_ids).await?;
    match foreign.first() {
        None => Ok(()),
        Some(id) => Err(AppError::invalid(
            "resource_ids",
            format!("{id} is not a resource of this organization"),
        )),
    }
}

/// Create an integration client.
///
/// Roles: admin. The answer carries `client_secret` and `webhook_secret` this once; they are
/// never shown again (an idempotent replay shows the client without them: rotate them if the
/// first answer was lost). 422 when a resource is not the organization's, a scope is unknown,
/// the webhook or key set URL may not be called, or `jwks` holds a key that cannot sign
/// assertions (a private part, an RSA key under 2048 bits, another curve than P-384, a
/// missing or repeated `kid`).
#[utoipa::path(
    tag = "integration-clients",
    request_body = CreateIntegrationClientRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created; `Location` names the client", body = IntegrationClientSecretsResponse),
        Authenticated, JsonBody, Forbidden,
    ),
    security(("bearer" = []))
)]
#[post(
    "/integration-clients",
    wrap = "Operation(Action::Create, ResourceType::IntegrationClient)"
)]
pub async fn create_integration_client(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    key: IdempotencyKey,
    Json(body): Json<CreateIntegrationClientRequest>,
) -> AppResult<HttpResponse> {
    validate_create(&body, state.environment)?;
    let keys_only = body.token_endpoint_auth_method == Some(AuthMethod::PrivateKeyJwt);
    let secret = (!keys_only).then(client_secret::generate);
    let webhook_secret = signing::new_secret();
    let resource_ids = distinct(&body.resource_ids);
    let jwks = body
        .jwks
        .as_ref()
        .and_then(|keys| serde_json::to_value(keys).ok());
    let secret_hash = secret.as_deref().map(client_secret::hash);
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, _: &mut Target| {
        check_resources(conn, scope, &resource_ids).await?;
        let id = Uuid::now_v7();
        let new = NewClient {
            id,
            organization_id: scope.organization_id,
            name: body.name.trim(),
            client_id: &format!("tc_{}", id.simple()),
            secret_hash: secret_hash.as_deref(),
            scopes: &scope_names(&body.scopes),
            webhook_url: body.webhook_url.as_deref().map(str::trim),
            webhook_secret: &webhook_secret,
            jwks_url: body.jwks_url.as_deref().map(str::trim),
            jwks: jwks.as_ref(),
            created_by: scope.user_id,
        };
        integration_clients::insert(conn, &new).await?;
        let client = integration_clients::find_in_org(conn, scope.organization_id, id).await?;
        integration_clients::set_resources(conn, &client, &resource_ids).await?;
        created(conn, scope, id, Some((secret.as_deref(), &webhook_secret))).await
    };
    // A replay never shows the secrets again: this request's were never stored.
    let show = async |conn: &mut AsyncPgConnection, scope: Scope, id: Uuid, _: &mut Target| {
        created(conn, scope, id, None).await
    };
    let target = admin.target();
    admin.create(target, &key, &body, make, show).await
}

/// The client `id`, with the secrets a create made (`None` on a replay).
async fn created(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    secrets: Option<(Option<&str>, &str)>,
) -> AppResult<Created<IntegrationClientSecretsResponse>> {
    Ok(Created {
        id,
        location: location(id),
        body: IntegrationClientSecretsResponse {
            client: load(conn, scope, id).await?,
            client_secret: secrets.and_then(|(client, _)| client.map(str::to_owned)),
            webhook_secret: secrets.map(|(_, webhook)| webhook.to_owned()),
        },
    })
}

/// List the organization's integration clients, oldest first.
///
/// Roles: admin. Secrets are never shown.
#[utoipa::path(
    tag = "integration-clients",
    params(
        ("limit" = inline(Option<crate::http::limits::PageSize>), Query, description = "Page size"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of clients", body = Page<IntegrationClientResponse>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get(
    "/integration-clients",
    wrap = "Operation(Action::List, ResourceType::IntegrationClient)"
)]
pub async fn list_integration_clients(
    Admin(admin): Admin,
    Query(query): Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let after = match page.cursor {
        Some(Cursor::After(id)) => Some(id),
        _ => None,
    };
    let target = admin.target();
    let rows = admin
        .read(target, async |conn, scope, _| {
            let rows =
                integration_clients::list(conn, scope.organization_id, after, page.fetch_limit())
                    .await?;
            with_resources(conn, rows).await
        })
        .await?;
    let page = page.finish(rows, |client| Cursor::After(client.id), |client| client);
    Ok(HttpResponse::Ok().json(page))
}

/// Get one integration client.
///
/// Roles: admin. Clients of other organizations are 404. Secrets are never shown.
#[utoipa::path(
    tag = "integration-clients",
    params(("id" = Uuid, Path, description = "Integration client id")),
    responses(
        (status = 200, description = "The client; `ETag` identifies this version", body = IntegrationClientResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/integration-clients/{id}",
    wrap = "Operation(Action::Read, ResourceType::IntegrationClient)"
)]
pub async fn get_integration_client(
    Admin(admin): Admin,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = admin.target().id(id);
    let client = admin
        .read(target, async |conn, scope, _| load(conn, scope, id).await)
        .await?;
    Ok(http::ok(&client))
}

/// Change a client's name, resources, scopes, webhook endpoint, key set or active flag, or
/// re-enable its disabled endpoint.
///
/// Roles: admin. Deactivating a client ends its tokens at once; new scopes apply from its
/// next request. `jwks` or `jwks_url` lets it sign in with a signed assertion
/// (`private_key_jwt`) beside its secret; rotate keys by registering the new one beside the
/// old, then removing the old. `webhook_enabled: true` clears `webhook_disabled_at` and the reason and
/// delivers the events held meanwhile, each with a fresh retry window. 404 for other
/// organizations' clients; 422 as for a create; 412 on a stale `If-Match`.
#[utoipa::path(
    tag = "integration-clients",
    params(("id" = Uuid, Path, description = "Integration client id"), IfMatch),
    request_body = UpdateIntegrationClientRequest,
    responses(
        (status = 200, description = "The updated client", body = IntegrationClientResponse),
        Authenticated, JsonBody, Forbidden, NotFound, PreconditionFailed,
    ),
    security(("bearer" = []))
)]
#[patch(
    "/integration-clients/{id}",
    wrap = "Operation(Action::Update, ResourceType::IntegrationClient)"
)]
pub async fn update_integration_client(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<UpdateIntegrationClientRequest>,
) -> AppResult<HttpResponse> {
    validate_update(&body, state.environment)?;
    let id = id.into_inner();
    let target = admin.target().id(id);
    let updated = admin
        .write(target, async |conn, scope, _| {
            let current = integration_clients::lock_in_org(conn, scope.organization_id, id).await?;
            if_match.check(&load(conn, scope, id).await?)?;
            if let Some(resource_ids) = &body.resource_ids {
                let resource_ids = distinct(resource_ids);
                check_resources(conn, scope, &resource_ids).await?;
                integration_clients::set_resources(conn, &current, &resource_ids).await?;
            }
            let changes = plan_update(&current, &body);
            let updated = integration_clients::update(conn, id, &changes).await?;
            check_sign_in(&updated, &body)?;
            webhook_events::hold_or_release(conn, id).await?;
            load(conn, scope, id).await
        })
        .await?;
    Ok(http::ok(&updated))
}

/// 422 (and the update rolled back) when the client would be left with no way to sign in, or
/// asks for a secret it does not have.
fn check_sign_in(updated: &ClientRecord, body: &UpdateIntegrationClientRequest) -> AppResult<()> {
    let field = "token_endpoint_auth_method";
    let keys = updated.jwks.is_some() || updated.jwks_url.is_some();
    match body.token_endpoint_auth_method {
        Some(AuthMethod::PrivateKeyJwt) if !keys => Err(AppError::invalid(
            field,
            "`private_key_jwt` needs `jwks` or `jwks_url`",
        )),
        Some(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
            if !updated.has_secret =>
        {
            Err(AppError::invalid(
                field,
                "the client has no secret: get one with `rotate-secret`",
            ))
        }
        _ if !keys && !updated.has_secret => Err(AppError::invalid(
            "jwks",
            "a client without a secret needs `jwks` or `jwks_url` to sign in",
        )),
        _ => Ok(()),
    }
}

/// The column changes of an update; a deactivation bumps the token version, and so does
/// removing the secret (`private_key_jwt`).
fn plan_update(current: &ClientRecord, body: &UpdateIntegrationClientRequest) -> ClientChanges {
    let now = Utc::now();
    let keys_only = body.token_endpoint_auth_method == Some(AuthMethod::PrivateKeyJwt);
    let ends_tokens = (body.active == Some(false) && current.active) || keys_only;
    let mut changes = ClientChanges {
        name: body.name.as_ref().map(|name| name.trim().to_owned()),
        scopes: body.scopes.as_deref().map(scope_names),
        active: body.active,
        token_version: ends_tokens.then_some(current.token_version + 1),
        webhook_url: body
            .webhook_url
            .as_ref()
            .map(|url| url.as_ref().map(|url| url.trim().to_owned())),
        jwks_url: body
            .jwks_url
            .as_ref()
            .map(|url| url.as_ref().map(|url| url.trim().to_owned())),
        jwks: body.jwks.as_ref().map(|keys| {
            keys.as_ref()
                .and_then(|keys| serde_json::to_value(keys).ok())
        }),
        secret_hash: keys_only.then_some(None),
        updated_at: Some(now),
        ..ClientChanges::default()
    };
    match body.webhook_enabled {
        Some(true) => {
            changes.webhook_disabled_at = Some(None);
            changes.webhook_disabled_reason = Some(None);
            changes.webhook_failing_since = Some(None);
        }
        Some(false) if current.webhook_disabled_at.is_none() => {
            changes.webhook_disabled_at = Some(Some(now));
            changes.webhook_disabled_reason = Some(Some("Disabled by an administrator.".into()));
        }
        _ => {}
    }
    changes
}

/// Replace a client's secret.
///
/// Roles: admin. `{"rotate": "client_secret"}` (the default; the body may be left out)
/// replaces the client secret (or gives one to a client that signed in with its key set only):
/// the old secret and every token issued before stop working at once. `{"rotate": "webhook_secret"}` replaces the webhook signing secret and keeps the old
/// one valid for 24 hours (`webhook_rotation_ends_at`): until then every delivery
/// carries a signature with each, the new one first, in `webhook-signature` (space-separated)
/// and `X-Tandem-Signature` (a second `v1=`), so a receiver can switch without dropping an
/// event. Rotating again within the 24 hours drops the oldest secret. The new secret is shown
/// in this answer only. 404 for other organizations' clients.
#[utoipa::path(
    tag = "integration-clients",
    params(("id" = Uuid, Path, description = "Integration client id")),
    request_body(content = Option<RotateSecretRequest>, description = "Optional; defaults to the client secret"),
    responses(
        (status = 200, description = "The client with the one new secret", body = IntegrationClientSecretsResponse),
        Authenticated, JsonBody, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[post(
    "/integration-clients/{id}/rotate-secret",
    wrap = "Operation(Action::RotateSecret, ResourceType::IntegrationClient)"
)]
pub async fn rotate_integration_client_secret(
    Admin(admin): Admin,
    id: web::Path<Uuid>,
    OptionalJson(request): OptionalJson<RotateSecretRequest>,
) -> AppResult<HttpResponse> {
    let request = request.unwrap_or_default();
    let id = id.into_inner();
    let target = admin.target().id(id);
    let rotated = admin
        .write(target, async |conn, scope, _| {
            let current = integration_clients::lock_in_org(conn, scope.organization_id, id).await?;
            let secret = match request.rotate {
                SecretKind::ClientSecret => {
                    let (secret, changes) = new_client_secret(&current);
                    integration_clients::update(conn, id, &changes).await?;
                    secret
                }
                SecretKind::WebhookSecret => {
                    let secret = signing::new_secret();
                    let keep_until = Utc::now() + signing::ROTATED_SECRET_VALID;
                    integration_clients::rotate_webhook_secret(conn, id, &secret, keep_until)
                        .await?;
                    secret
                }
            };
            let client = load(conn, scope, id).await?;
            let (client_secret, webhook_secret) = match request.rotate {
                SecretKind::ClientSecret => (Some(secret), None),
                SecretKind::WebhookSecret => (None, Some(secret)),
            };
            Ok(IntegrationClientSecretsResponse {
                client,
                client_secret,
                webhook_secret,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(rotated))
}

/// A new client secret and the change that stores it (ending every token issued before).
fn new_client_secret(current: &ClientRecord) -> (String, ClientChanges) {
    let secret = client_secret::generate();
    let changes = ClientChanges {
        secret_hash: Some(Some(client_secret::hash(&secret))),
        token_version: Some(current.token_version + 1),
        updated_at: Some(Utc::now()),
        ..ClientChanges::default()
    };
    (secret, changes)
}
