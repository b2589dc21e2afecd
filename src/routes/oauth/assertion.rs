//! The token endpoint's `private_key_jwt` path: a client authenticates with a JWT it signed
//! (SMART Backend Services). The key set is the client's inline `jwks` or the one at its
//! `jwks_url` (fetched, cached, fetched again at most once a minute for an unknown `kid`);
//! the assertion's `jti` is remembered until it expires, so a replay is refused on every
//! instance. Failures count as failed guesses, like wrong secrets, and are audited.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;
use jsonwebtoken::jwk::JwkSet;

use super::{check_grant, check_scope, refused, ClientTokenRequest, TokenAttempt, TOKEN_PATH};
use crate::auth::assertion::{self, KeyChoice, Refused, Unverified, ASSERTION_TYPE};
use crate::auth::key_sets::Freshness;
use crate::auth::throttle::{Attempt, Key};
use crate::db::models::integration_clients::{self, IntegrationClient};
use crate::http::error::AppResult;
use crate::http::limits;
use crate::http::oauth::OAuthErrorCode;
use crate::http::request_log::RequestMeta;
use crate::http::state::AppState;

/// The longest a token got with an assertion lives, in seconds.
pub const TOKEN_LIFETIME: i64 = 300;

pub(super) async fn token(
    state: &AppState,
    meta: RequestMeta,
    request: &HttpRequest,
    body: &ClientTokenRequest,
) -> AppResult<HttpResponse> {
    check_grant(body)?;
    let (assertion_type, jwt) = (&body.client_assertion_type, &body.client_assertion);
    if assertion_type.as_deref() != Some(ASSERTION_TYPE) {
        let detail = format!("`client_assertion_type` must be `{ASSERTION_TYPE}`.");
        return Err(refused(OAuthErrorCode::InvalidRequest, detail));
    }
    let Some(jwt) = jwt else {
        let detail = "`client_assertion` is required with `client_assertion_type`.";
        return Err(refused(OAuthErrorCode::InvalidRequest, detail));
    };
    if request.headers().contains_key(header::AUTHORIZATION) || body.client_secret.is_some() {
        let detail = "Authenticate by one method: a signed assertion, or a secret.";
        return Err(refused(OAuthErrorCode::InvalidRequest, detail));
    }
    if let Err(message) = limits::ASSERTION.check(jwt) {
        let detail = format!("`client_assertion` {message}.");
        return Err(refused(OAuthErrorCode::InvalidRequest, detail));
    }
    check_scope(body)?;
    let unverified = assertion::read(jwt)
        .map_err(|refusal| refused(OAuthErrorCode::InvalidClient, refusal.0))?;
    let client_id = &unverified.client_id;
    if body.client_id.as_ref().is_some_and(|id| id != client_id) {
        let detail = "`client_id` differs from the `iss` of `client_assertion`.";
        return Err(refused(OAuthErrorCode::InvalidClient, detail));
    }
    if let Err(message) = limits::CREDENTIAL.check(client_id) {
        let detail = format!("The `iss` of `client_assertion` {message}.");
        return Err(refused(OAuthErrorCode::InvalidRequest, detail));
    }
    let audience = format!("{}{TOKEN_PATH}", state.base_url(request));
    let mut conn = state.pool.get().await?;
    let attempt = Attempt::admit(&mut conn, &state.auth, Key::Client(client_id), &meta).await?;
    let client = integration_clients::find_by_client_id(&mut conn, client_id).await?;
    let attempt = TokenAttempt::new(attempt, client.as_ref(), meta);
    let checked = match client.filter(|client| client.active) {
        Some(client) => check(state, &mut conn, &client, jwt, &unverified, &audience)
            .await
            .map(|()| client),
        None => Err(Refused("No active client has this `client_id`.".into())),
    };
    let client = match checked {
        Ok(client) => client,
        Err(refusal) => return Err(attempt.refuse(&mut conn, refusal.0).await),
    };
    attempt
        .token(
            state,
            &mut conn,
            &client,
            body.scope.as_deref(),
            TOKEN_LIFETIME,
        )
        .await
}

/// Verifies `jwt` with the client's keys and remembers its `jti` (a replay is refused).
async fn check(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    client: &IntegrationClient,
    jwt: &str,
    unverified: &Unverified,
    audience: &str,
) -> Result<(), Refused> {
    let alg = unverified.algorithm()?;
    let keys = key_set(state, client, unverified, alg).await?;
    let key = match assertion::choose(&keys, alg, unverified.kid.as_deref()) {
        KeyChoice::Found(key) => key,
        KeyChoice::Missing => {
            return Err(Refused(format!(
                "No registered {} key has the `kid` {}.",
                key_type(alg),
                unverified
                    .kid
                    .as_deref()
                    .map_or("(none given)".into(), |k| format!("`{k}`"))
            )))
        }
        KeyChoice::Ambiguous => {
            let detail = "Several registered keys match the assertion: name one with `kid`.";
            return Err(Refused(detail.into()));
        }
    };
    let verified = assertion::verify(jwt, unverified, key, audience)?;
    let fresh = integration_clients::remember_assertion(
        conn,
        client.id,
        &verified.jti,
        verified.expires_at,
    )
    .await
    .map_err(|error| {
        log::warn!("remembering an assertion's jti: {error}");
        Refused("The assertion could not be checked for replay; try again.".into())
    })?;
    match fresh {
        true => Ok(()),
        false => Err(Refused(
            "This `client_assertion` (its `jti`) was used before.".into(),
        )),
    }
}

fn key_type(alg: jsonwebtoken::Algorithm) -> &'static str {
    match alg {
        jsonwebtoken::Algorithm::ES384 => "P-384",
        _ => "RSA",
    }
}

/// The client's key set: inline, or fetched from its URL (again, when the cached set lacks
/// the assertion's key and was not fetched within the last minute).
async fn key_set(
    state: &AppState,
    client: &IntegrationClient,
    unverified: &Unverified,
    alg: jsonwebtoken::Algorithm,
) -> Result<Arc<JwkSet>, Refused> {
    if let Some(inline) = &client.jwks {
        let keys: JwkSet = serde_json::from_value(inline.clone())
            .map_err(|_| Refused("The client's registered `jwks` cannot be read.".into()))?;
        return Ok(Arc::new(keys));
    }
    let Some(url) = &client.jwks_url else {
        let detail =
            "This client has no key set: register `jwks` or `jwks_url` to use private_key_jwt.";
        return Err(Refused(detail.into()));
    };
    let unavailable = |error: crate::auth::key_sets::Unavailable| Refused(error.0);
    let keys = state
        .key_sets
        .get(client.id, url, Freshness::Cached)
        .await
        .map_err(unavailable)?;
    if let KeyChoice::Missing = assertion::choose(&keys, alg, unverified.kid.as_deref()) {
        return state
            .key_sets
            .get(client.id, url, Freshness::MissingKey)
            .await
            .map_err(unavailable);
    }
    Ok(keys)
}
