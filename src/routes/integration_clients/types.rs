//! Request and response types of the integration-client endpoints, and their validation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::scope::ApiScope;
use crate::db::models::integration_clients::ClientRecord;
use crate::db::models::webhook_deliveries::Delivery;
use crate::http::error::AppResult;
use crate::http::limits;
use crate::http::validation::{nullable, Checks};
use crate::ops::config::Environment;
use crate::webhooks::url;

/// A new integration client (a clinic or partner system).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegrationClientRequest {
    #[schema(value_type = limits::ClientName)]
    pub name: String,
    /// The organization's resources whose referrals this client receives.
    #[schema(value_type = limits::ClientResources)]
    pub resource_ids: Vec<Uuid>,
    /// What its tokens may do; at least one.
    #[schema(min_items = 1)]
    pub scopes: Vec<ApiScope>,
    /// Where events are POSTed: `https` (plain `http` only to loopback in development), never
    /// a private, link-local or loopback address, no user name or password.
    #[schema(value_type = Option<limits::WebhookUrl>)]
    pub webhook_url: Option<String>,
}

/// Changes to a client; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIntegrationClientRequest {
    #[schema(value_type = Option<limits::ClientName>)]
    pub name: Option<String>,
    /// Replaces the linked resources.
    #[schema(value_type = Option<limits::ClientResources>)]
    pub resource_ids: Option<Vec<Uuid>>,
    /// Replaces the scopes (at least one); takes effect on the client's next request.
    #[schema(min_items = 1)]
    pub scopes: Option<Vec<ApiScope>>,
    /// `null` removes the endpoint (events are then held until one is set).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::WebhookUrl>)]
    pub webhook_url: Option<Option<String>>,
    /// `false` deactivates the client: its tokens stop working at once and it cannot get new
    /// ones; no webhooks go to it.
    pub active: Option<bool>,
    /// `true` re-enables a disabled endpoint (clearing `webhook_disabled_at` and the reason;
    /// held events are delivered with a fresh retry window); `false` disables it by hand.
    pub webhook_enabled: Option<bool>,
}

/// Which secret to replace.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// The client secret used at `POST /auth/token`; the old one and every token issued with
    /// it stop working at once.
    #[default]
    ClientSecret,
    /// The webhook signing secret; for 24 hours deliveries are signed with the old and the
    /// new one.
    WebhookSecret,
}

/// What `rotate-secret` replaces; the body may be left out (the client secret).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    #[serde(default)]
    pub rotate: SecretKind,
}

/// An integration client, without its secrets.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IntegrationClientResponse {
    pub id: Uuid,
    /// What the client sends as `client_id` to `POST /auth/token`.
    pub client_id: String,
    pub name: String,
    pub resource_ids: Vec<Uuid>,
    pub scopes: Vec<String>,
    pub active: bool,
    pub webhook_url: Option<String>,
    /// `false` once the endpoint was disabled (see `webhook_disabled_reason`); a `PATCH` with
    /// `webhook_enabled: true` turns it back on.
    pub webhook_enabled: bool,
    pub webhook_disabled_at: Option<DateTime<Utc>>,
    pub webhook_disabled_reason: Option<String>,
    /// Set for 24 hours after the webhook secret was rotated: until then deliveries are also
    /// signed with the previous secret.
    pub webhook_rotation_ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IntegrationClientResponse {
    pub fn new(client: ClientRecord, resource_ids: Vec<Uuid>) -> Self {
        Self {
            id: client.id,
            client_id: client.client_id,
            name: client.name,
            resource_ids,
            scopes: client.scopes,
            active: client.active,
            webhook_url: client.webhook_url,
            webhook_enabled: client.webhook_disabled_at.is_none(),
            webhook_disabled_at: client.webhook_disabled_at,
            webhook_disabled_reason: client.webhook_disabled_reason,
            webhook_rotation_ends_at: client
                .previous_webhook_secret_until
                .filter(|until| *until > Utc::now()),
            created_at: client.created_at,
            updated_at: client.updated_at,
        }
    }
}

/// A client with the secrets made just now. Each secret is shown in this one response and
/// never again (`null` when not made by this request, and on an idempotent replay).
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationClientSecretsResponse {
    #[serde(flatten)]
    pub client: IntegrationClientResponse,
    pub client_secret: Option<String>,
    /// `whsec_` and the base64 of 32 random bytes: the key of the webhook signatures.
    pub webhook_secret: Option<String>,
}

/// One attempt to deliver a webhook event.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    /// Pass to `…/deliveries/{delivery_id}/redeliver`.
    pub id: Uuid,
    /// The event's id (the `webhook-id` header and the body's `id`).
    pub event_id: Uuid,
    pub event_type: String,
    /// 1 for the first attempt at the event.
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    pub url: String,
    /// The endpoint's HTTP status, when it answered.
    pub response_status: Option<i32>,
    /// Why the attempt failed, when it did.
    pub error: Option<String>,
    pub duration_ms: i32,
    pub succeeded: bool,
    /// When the event is tried again; `null` once delivered or given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            attempt: d.attempt,
            attempted_at: d.attempted_at,
            url: d.url,
            response_status: d.response_status,
            error: d.error,
            duration_ms: d.duration_ms,
            succeeded: d.succeeded,
            next_attempt_at: d.next_attempt_at,
        }
    }
}

/// The event queued again.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedeliveryResponse {
    pub event_id: Uuid,
    /// `pending` until the worker has sent it.
    pub state: String,
    pub next_attempt_at: DateTime<Utc>,
}

fn check_url(checks: &mut Checks, url_text: &str, environment: Environment) {
    checks.text("webhook_url", url_text, limits::WEBHOOK_URL);
    if url_text.len() <= limits::WEBHOOK_URL.max {
        if let Err(problem) = url::check(url_text.trim(), environment) {
            checks.add("webhook_url", problem);
        }
    }
}

fn check_scopes(checks: &mut Checks, scopes: &[ApiScope]) {
    if scopes.is_empty() {
        checks.add("scopes", "name at least one scope");
    }
}

/// Scope names, deduplicated, in the order of [`ApiScope::ALL`].
pub fn scope_names(scopes: &[ApiScope]) -> Vec<String> {
    ApiScope::ALL
        .iter()
        .filter(|scope| scopes.contains(scope))
        .map(|scope| scope.as_str().to_owned())
        .collect()
}

/// Resource ids without repeats, in the order given.
pub fn distinct(ids: &[Uuid]) -> Vec<Uuid> {
    let mut seen = Vec::with_capacity(ids.len());
    for id in ids {
        if !seen.contains(id) {
            seen.push(*id);
        }
    }
    seen
}

pub fn validate_create(
    body: &CreateIntegrationClientRequest,
    environment: Environment,
) -> AppResult<()> {
    let mut checks = Checks::new();
    checks.text("name", &body.name, limits::CLIENT_NAME);
    checks.count(
        "resource_ids",
        body.resource_ids.len(),
        limits::CLIENT_RESOURCES,
    );
    check_scopes(&mut checks, &body.scopes);
    if let Some(url_text) = &body.webhook_url {
        check_url(&mut checks, url_text, environment);
    }
    checks.finish()
}

pub fn validate_update(
    body: &UpdateIntegrationClientRequest,
    environment: Environment,
) -> AppResult<()> {
    let mut checks = Checks::new();
    checks.optional_text("name", body.name.as_deref(), limits::CLIENT_NAME);
    if let Some(ids) = &body.resource_ids {
        checks.count("resource_ids", ids.len(), limits::CLIENT_RESOURCES);
    }
    if let Some(scopes) = &body.scopes {
        check_scopes(&mut checks, scopes);
    }
    if let Some(Some(url_text)) = &body.webhook_url {
        check_url(&mut checks, url_text, environment);
    }
    checks.finish()
}
