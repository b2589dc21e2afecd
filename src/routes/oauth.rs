//! OAuth 2.0 for integration clients: the client-credentials token endpoint (RFC 6749 §4.4),
//! which takes the client's secret by HTTP Basic (`client_secret_basic`, what OAuth libraries
//! send by default) or in the body (`client_secret_post`), or a JWT the client signed
//! (`private_key_jwt`, SMART Backend Services: [`assertion`]); and its metadata (RFC 8414 and
//! SMART's `smart-configuration`).

mod assertion;
mod metadata;

pub use metadata::configure_fhir_discovery;

use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::{self, Action, Actor, Outcome, ResourceType, Target};
use crate::auth::client_secret;
use crate::auth::jwt::{ClientClaims, ACCESS_TOKEN_SECONDS};
use crate::auth::scope::Grants;
use crate::auth::throttle::{Attempt, Key};
use crate::db::models::integration_clients::{self, IntegrationClient};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::FormOrJson;
use crate::http::limits;
use crate::http::oauth::{OAuthError, OAuthErrorCode};
use crate::http::request_log::RequestMeta;
use crate::http::state::AppState;
use crate::routes::responses::{TooManyRequests, Unavailable};

/// The token endpoint, under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(client_token);
}

/// The metadata documents, at the server's root.
pub fn configure_well_known(cfg: &mut ServiceConfig) {
    cfg.service(metadata::authorization_server_metadata)
        .service(metadata::smart_configuration);
}

const TOKEN_PATH: &str = "/api/v1/auth/token";
const CLIENT_CREDENTIALS: &str = "client_credentials";

/// OAuth 2.0 client credentials, as `application/x-www-form-urlencoded` (or JSON). Parameters
/// it does not know are ignored, as RFC 6749 §3.2 requires.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClientTokenRequest {
    /// Must be `client_credentials`.
    #[schema(example = "client_credentials")]
    pub grant_type: Option<String>,
    /// With `client_secret_post`; with HTTP Basic it may be repeated here, and must then be the
    /// same.
    #[schema(value_type = Option<limits::Credential>)]
    pub client_id: Option<String>,
    /// With `client_secret_post` only: a request authenticating both ways is refused.
    #[schema(value_type = Option<limits::Credential>)]
    pub client_secret: Option<String>,
    /// With `private_key_jwt`: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    #[schema(example = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")]
    pub client_assertion_type: Option<String>,
    /// With `private_key_jwt`: a JWT signed RS384 or ES384 by a key of the client's registered
    /// set (named by `kid`), with `iss` and `sub` the `client_id`, `aud` this endpoint's URL,
    /// `exp` at most 5 minutes ahead and a `jti` never used before.
    #[schema(value_type = Option<limits::Assertion>)]
    pub client_assertion: Option<String>,
    /// The scopes wanted, space-separated (`referrals:read referrals:write directory:read`);
    /// without it the token carries every scope the client holds. Asking for a scope the
    /// client does not hold is `invalid_scope`.
    #[schema(value_type = Option<limits::OauthScope>)]
    pub scope: Option<String>,
}

/// An access token for an integration client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientTokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// The scopes the token carries, space-separated.
    pub scope: String,
}

/// Get an access token for an integration client (OAuth 2.0 client credentials).
///
/// Roles: integration clients, authenticated by their `client_id` and `client_secret`: by HTTP
/// Basic (`client_secret_basic`, each part form-URL-encoded as RFC 6749 §2.3.1 says) or in the
/// body (`client_secret_post`), never both; or, as SMART Backend Services has it, by a JWT
/// they signed (`private_key_jwt`: `client_assertion_type` and `client_assertion`, RS384 or
/// ES384, checked against the client's registered `jwks` or `jwks_url`; `iss` = `sub` =
/// `client_id`, `aud` = this endpoint's URL, `exp` at most 5 minutes ahead, a `jti` never
/// used before). A token got with an assertion lives 300 seconds, one got with a secret 15
/// minutes. `scope` takes Tandem's scopes or SMART system scopes (`system/Task.rs`,
/// `system/ServiceRequest.rs`, `system/Patient.rs` → `referrals:read`; `system/Task.u` →
/// `referrals:write`; `system/HealthcareService.rs` → `directory:read`). The token carries the role `integration`, the
/// `client_id` and the granted `scope`; operations outside those scopes, and user-only
/// endpoints, answer it with 403. Refusals follow RFC 6749 §5.2 and name the OAuth `error` in
/// the problem document: 400 `invalid_request` (a missing or malformed parameter, or two
/// ways of authenticating), 400 `unsupported_grant_type`, 401 `invalid_client` (with
/// `WWW-Authenticate: Basic`), 400 `invalid_scope` (a scope the client does not hold: the
/// secret was right, so it is not counted as a failed guess). Every attempt is audited.
/// Wrong secrets for one `client_id` lock it as failed sign-ins lock an email, and count
/// towards the address's limit on sign-ins; a locked client or address gets 429 with
/// `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body(content = ClientTokenRequest, content_type = "application/x-www-form-urlencoded", description = "Also accepted as `application/json`"),
    params(("Authorization" = Option<String>, Header, description = "`Basic` and the base64 of `<client_id>:<client_secret>`, each form-URL-encoded")),
    responses(
        (status = 200, description = "A token", body = ClientTokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type` or `invalid_scope` (the problem's `error`)", body = crate::http::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`: the client could not be authenticated", body = crate::http::error::Problem, content_type = "application/problem+json"),
        Unavailable, TooManyRequests,
    ),
    security()
)]
#[post("/auth/token")]
pub async fn client_token(
    state: web::Data<AppState>,
    meta: RequestMeta,
    request: HttpRequest,
    body: Result<FormOrJson<ClientTokenRequest>, AppError>,
) -> AppResult<HttpResponse> {
    let body =
        body.map_err(|error| refused(OAuthErrorCode::InvalidRequest, error.problem().detail))?;
    let FormOrJson(body) = body;
    if body.client_assertion.is_some() || body.client_assertion_type.is_some() {
        return assertion::token(&state, meta, &request, &body).await;
    }
    let credentials = credentials(&request, &body)?;
    let mut conn = state.pool.get().await?;
    let key = Key::Client(&credentials.client_id);
    let attempt = Attempt::admit(&mut conn, &state.auth, key, &meta).await?;
    let client = integration_clients::find_by_client_id(&mut conn, &credentials.client_id).await?;
    let attempt = TokenAttempt::new(attempt, client.as_ref(), meta);
    let Some(client) = client.filter(|client| client.active).filter(|client| {
        client
            .secret_hash
            .as_deref()
            .is_some_and(|hash| same_digest(hash, &client_secret::hash(&credentials.secret)))
    }) else {
        let detail = "The client credentials are invalid.";
        return Err(attempt.refuse(&mut conn, detail).await);
    };
    // The secret is right: whatever the scope, this was no guess.
    attempt
        .token(
            &state,
            &mut conn,
            &client,
            body.scope.as_deref(),
            ACCESS_TOKEN_SECONDS,
        )
        .await
}

/// A token request admitted by the throttle: its attempt, and who and what its audit row
/// names (the client when `client_id` names one, else an anonymous caller).
struct TokenAttempt {
    attempt: Attempt,
    actor: Actor,
    target: Target,
}

impl TokenAttempt {
    fn new(attempt: Attempt, client: Option<&IntegrationClient>, meta: RequestMeta) -> Self {
        let mut target = Target::new(Action::ClientCredentials, ResourceType::Session);
        let actor = match client {
            Some(client) => {
                target.resource_id = Some(client.id.to_string());
                Actor::client(client.id, client.organization_id, meta)
            }
            None => Actor {
                id: None,
                role: None,
                client_id: None,
                organization_id: None,
                meta,
                session: None,
            },
        };
        Self {
            attempt,
            actor,
            target,
        }
    }

    /// The client could not be authenticated: audits the refusal, counts it as a failed guess
    /// (recording a lock it starts), and returns the `invalid_client` error with `detail`.
    async fn refuse(self, conn: &mut AsyncPgConnection, detail: impl Into<String>) -> AppError {
        let Self {
            attempt,
            actor,
            target,
        } = self;
        if let Err(error) = audit::record(conn, &actor, &target, Outcome::Denied).await {
            return error;
        }
        let resource = target.resource_id.clone();
        match attempt
            .failed(conn, &actor, target.resource_type, resource)
            .await
        {
            Ok(()) => refused(OAuthErrorCode::InvalidClient, detail),
            Err(error) => error,
        }
    }

    /// The client proved who it is: clears the attempt and audits the request (denied when a `requested` scope is one the
    /// client lacks: `invalid_scope`, not a failed guess), then answers with a token for
    /// `lifetime` seconds.
    async fn token(
        self,
        state: &AppState,
        conn: &mut AsyncPgConnection,
        client: &IntegrationClient,
        requested: Option<&str>,
        lifetime: i64,
    ) -> AppResult<HttpResponse> {
        let held = Grants::from_names(client.scopes.iter().map(String::as_str));
        let granted = held.granted(requested);
        let outcome = match granted {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Denied,
        };
        let Self {
            attempt,
            actor,
            target,
        } = self;
        conn.transaction(async move |conn| {
            attempt.succeeded(conn).await?;
            audit::record(conn, &actor, &target, outcome).await
        })
        .await?;
        let granted =
            granted.map_err(|error| refused(OAuthErrorCode::InvalidScope, scope_detail(error)))?;
        token_response(state, client, granted, requested, lifetime)
    }
}

/// A client's id and secret, from HTTP Basic or the body.
struct Credentials {
    client_id: String,
    secret: String,
}

/// The credentials the request authenticates with, checked for shape: `invalid_request` for a
/// missing or wrong `grant_type`, a malformed `Authorization`, or both ways at once;
/// `invalid_client` when there are none.
fn credentials(request: &HttpRequest, body: &ClientTokenRequest) -> AppResult<Credentials> {
    check_grant(body)?;
    let basic = basic_credentials(request)?;
    let credentials = match (basic, &body.client_secret) {
        (Some(_), Some(_)) => {
            return Err(refused(
                OAuthErrorCode::InvalidRequest,
                "Authenticate by HTTP Basic or by `client_secret` in the body, not both.",
            ))
        }
        (Some(basic), None) => {
            if body
                .client_id
                .as_ref()
                .is_some_and(|id| *id != basic.client_id)
            {
                return Err(refused(
                    OAuthErrorCode::InvalidRequest,
                    "`client_id` differs from the one in `Authorization`.",
                ));
            }
            basic
        }
        (None, Some(secret)) => Credentials {
            client_id: body.client_id.clone().unwrap_or_default(),
            secret: secret.clone(),
        },
        (None, None) => {
            return Err(refused(
                OAuthErrorCode::InvalidClient,
                "Send the client's credentials by HTTP Basic or as `client_id` and \
                 `client_secret`.",
            ))
        }
    };
    for (name, value) in [
        ("client_id", &credentials.client_id),
        ("client_secret", &credentials.secret),
    ] {
        if let Err(message) = limits::CREDENTIAL.check(value) {
            return Err(refused(
                OAuthErrorCode::InvalidRequest,
                format!("`{name}` {message}."),
            ));
        }
    }
    check_scope(body)?;
    Ok(credentials)
}

/// `invalid_request` without a `grant_type`, `unsupported_grant_type` for another one.
fn check_grant(body: &ClientTokenRequest) -> AppResult<()> {
    match body.grant_type.as_deref() {
        Some(CLIENT_CREDENTIALS) => Ok(()),
        None => Err(refused(
            OAuthErrorCode::InvalidRequest,
            "`grant_type` is required.",
        )),
        Some(_) => Err(refused(
            OAuthErrorCode::UnsupportedGrantType,
            "The only grant type is `client_credentials`.",
        )),
    }
}

/// `invalid_request` for a `scope` past its limit.
fn check_scope(body: &ClientTokenRequest) -> AppResult<()> {
    match body
        .scope
        .as_deref()
        .map(|scope| limits::OAUTH_SCOPE.check(scope))
    {
        Some(Err(message)) => Err(refused(
            OAuthErrorCode::InvalidRequest,
            format!("`scope` {message}."),
        )),
        _ => Ok(()),
    }
}

/// `Authorization: Basic …` as RFC 6749 §2.3.1 has clients send it: the base64 of the
/// form-URL-encoded id, a colon, and the form-URL-encoded secret. `None` without the header
/// (or with another scheme); `invalid_request` when it cannot be read.
fn basic_credentials(request: &HttpRequest) -> AppResult<Option<Credentials>> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        refused(
            OAuthErrorCode::InvalidRequest,
            "The `Authorization` header is not valid HTTP Basic.",
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |part: &str| -> String {
        form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Ok(Some(Credentials {
        client_id: unescape(id),
        secret: unescape(secret),
    }))
}

fn refused(code: OAuthErrorCode, detail: impl Into<String>) -> AppError {
    AppError::OAuth(OAuthError {
        code,
        detail: detail.into(),
    })
}

/// The detail of a scope refusal, from the error naming the scope.
fn scope_detail(error: AppError) -> String {
    match error {
        AppError::Validation(errors) => errors
            .into_iter()
            .map(|e| e.message)
            .collect::<Vec<_>>()
            .join(" "),
        other => other.problem().detail,
    }
}

/// Constant-time comparison of two digests.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed access token for `client` carrying `granted`, valid for `lifetime` seconds. The
/// answer's `scope` is what was `requested` (every scope of it was granted, in the client's
/// own words, SMART's included), or the granted names when nothing was asked for.
fn token_response(
    state: &AppState,
    client: &IntegrationClient,
    granted: Grants,
    requested: Option<&str>,
    lifetime: i64,
) -> AppResult<HttpResponse> {
    let names = granted.names().join(" ");
    let scope = requested
        .map(|r| r.split_ascii_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| names.clone());
    let claims = ClientClaims {
        client_id: &client.client_id,
        scope: &names,
    };
    let access_token = state
        .tokens
        .issue_client(
            client.id,
            client.organization_id,
            client.token_version,
            claims,
            lifetime,
        )
        .map_err(|error| AppError::Internal(format!("signing a token: {error}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ClientTokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: lifetime,
            scope,
        }))
}
