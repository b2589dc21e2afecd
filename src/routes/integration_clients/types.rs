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
    /// Where the client publishes the public keys it signs `private_key_jwt` assertions with
    /// (SMART Backend Services): `https`, under the same rules as `webhook_url`. Fetched
    /// when needed and kept as long as its `Cache-Control` allows.
    #[schema(value_type = Option<limits::WebhookUrl>)]
    pub jwks_url: Option<String>,
    /// The public keys themselves, registered inline (used instead of `jwks_url` when both
    /// are set).
    pub jwks: Option<PublicKeySet>,
    /// `private_key_jwt`: the client signs in with its key set only and gets no secret (SMART
    /// Backend Services does not intend shared secrets for backend apps); needs `jwks` or
    /// `jwks_url`. Otherwise (the default) it gets a secret too.
    pub token_endpoint_auth_method: Option<AuthMethod>,
}

/// How a client authenticates at `POST /auth/token` (RFC 7591's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Its secret by HTTP Basic.
    ClientSecretBasic,
    /// Its secret in the body.
    ClientSecretPost,
    /// A JWT it signs with a key of its registered set.
    PrivateKeyJwt,
}

/// A JSON Web Key Set (RFC 7517) of public keys: RSA keys of at least 2048 bits (for RS384)
/// or P-384 keys (for ES384), each with a distinct `kid`, and no private part.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicKeySet {
    #[schema(value_type = Vec<Object>, min_items = 1, max_items = 10)]
    pub keys: Vec<serde_json::Value>,
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
    /// `null` removes the key set URL.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::WebhookUrl>)]
    pub jwks_url: Option<Option<String>>,
    /// Replaces the inline key set (to rotate keys, register the new key beside the old one,
    /// switch, then remove the old); `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    pub jwks: Option<Option<PublicKeySet>>,
    /// `private_key_jwt` removes the client's secret (it needs a key set): from then on it
    /// signs in with signed assertions only, and tokens got with the secret end. A new secret
    /// comes from `rotate-secret`.
    pub token_endpoint_auth_method: Option<AuthMethod>,
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
    /// Where the client's public keys are fetched from, for `private_key_jwt`.
    pub jwks_url: Option<String>,
    /// The client's public keys registered inline, for `private_key_jwt`.
    pub jwks: Option<PublicKeySet>,
    /// How it may authenticate now: with its secret (when it has one), with a signed
    /// assertion (when it has a key set).
    pub token_endpoint_auth_methods: Vec<AuthMethod>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IntegrationClientResponse {
    pub fn new(client: ClientRecord, resource_ids: Vec<Uuid>) -> Self {
        let methods = auth_methods(&client);
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
            token_endpoint_auth_methods: methods,
            jwks_url: client.jwks_url,
            jwks: client
                .jwks
                .and_then(|keys| serde_json::from_value(keys).ok()),
            created_at: client.created_at,
            updated_at: client.updated_at,
        }
    }
}

/// The ways `client` may authenticate at the token endpoint.
fn auth_methods(client: &ClientRecord) -> Vec<AuthMethod> {
    let mut methods = Vec::new();
    if client.has_secret {
        methods.extend([AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost]);
    }
    if client.jwks.is_some() || client.jwks_url.is_some() {
        methods.push(AuthMethod::PrivateKeyJwt);
    }
    methods
}

/// A client with the secrets made just now. Each secret is shown in this one response and
/// never again (`null` when not made by this request, on an idempotent replay, and for a
/// client created with `private_key_jwt`, which has no client secret).
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
    if let Some(url_text) = &body.jwks_url {
        check_jwks_url(&mut checks, url_text, environment);
    }
    if let Some(keys) = &body.jwks {
        check_jwks(&mut checks, keys);
    }
    let keyless = body.jwks.is_none() && body.jwks_url.is_none();
    if body.token_endpoint_auth_method == Some(AuthMethod::PrivateKeyJwt) && keyless {
        checks.add(
            "token_endpoint_auth_method",
            "`private_key_jwt` needs `jwks` or `jwks_url`",
        );
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
    if let Some(Some(url_text)) = &body.jwks_url {
        check_jwks_url(&mut checks, url_text, environment);
    }
    if let Some(Some(keys)) = &body.jwks {
        check_jwks(&mut checks, keys);
    }
    checks.finish()
}

fn check_jwks_url(checks: &mut Checks, url_text: &str, environment: Environment) {
    checks.text("jwks_url", url_text, limits::JWKS_URL);
    if url_text.len() <= limits::JWKS_URL.max {
        if let Err(problem) = url::check(url_text.trim(), environment) {
            checks.add("jwks_url", problem);
        }
    }
}

/// The members of a JWK that only a private key has.
const PRIVATE_MEMBERS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

/// Each key of `keys`: a public RSA key of 2048 bits or more, or a public P-384 key, with a
/// `kid` no other key has.
fn check_jwks(checks: &mut Checks, keys: &PublicKeySet) {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
    checks.count("jwks.keys", keys.keys.len(), limits::JWKS_KEYS);
    if keys.keys.is_empty() {
        checks.add("jwks.keys", "name at least one key");
    }
    let mut kids = Vec::new();
    for (index, raw) in keys.keys.iter().enumerate() {
        let field = format!("jwks.keys[{index}]");
        if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| raw.get(**m).is_some()) {
            let message =
                format!("holds a private key part (`{member}`): register the public key only");
            checks.add(&field, &message);
            continue;
        }
        let Ok(key) = serde_json::from_value::<Jwk>(raw.clone()) else {
            checks.add(&field, "is not a JSON Web Key");
            continue;
        };
        let usable = match &key.algorithm {
            AlgorithmParameters::RSA(rsa) => rsa_bits(&rsa.n) >= 2048,
            AlgorithmParameters::EllipticCurve(ec) => ec.curve == EllipticCurve::P384,
            _ => false,
        };
        if !usable {
            checks.add(
                &field,
                "must be an RSA key of 2048 bits or more, or a P-384 key",
            );
        }
        match key
            .common
            .key_id
            .filter(|kid| !kid.is_empty() && kid.len() <= 200)
        {
            None => checks.add(&format!("{field}.kid"), "is required (1 to 200 characters)"),
            Some(kid) if kids.contains(&kid) => {
                checks.add(&format!("{field}.kid"), "is the `kid` of another key")
            }
            Some(kid) => kids.push(kid),
        }
    }
}

/// The size of an RSA modulus given as unpadded base64url, in bits (0 when unreadable).
fn rsa_bits(n: &str) -> usize {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let bytes = URL_SAFE_NO_PAD
        .decode(n.trim_end_matches('='))
        .unwrap_or_default();
    let leading = bytes.iter().take_while(|b| **b == 0).count();
    match bytes.get(leading) {
        Some(first) => (bytes.len() - leading - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}
