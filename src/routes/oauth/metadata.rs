//! How clients find out how to get a token: the OAuth 2.0 authorization server metadata (RFC
//! 8414) and SMART's `/.well-known/smart-configuration`, both at the server's root; the SMART
//! configuration also under the FHIR base, where SMART clients look for it.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::{CLIENT_CREDENTIALS, TOKEN_PATH};
use crate::auth::scope::{ApiScope, SMART_SCOPES};
use crate::http::state::AppState;

/// How a client may authenticate at the token endpoint.
const AUTH_METHODS: [&str; 3] = [
    "private_key_jwt",
    "client_secret_basic",
    "client_secret_post",
];
/// What a `private_key_jwt` assertion may be signed with.
const SIGNING_ALGORITHMS: [&str; 2] = ["RS384", "ES384"];

/// OAuth 2.0 authorization server metadata (RFC 8414).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationServerMetadata {
    /// This server's base URL: `TANDEM_PUBLIC_URL`, or as the request reached it.
    pub issuer: String,
    pub token_endpoint: String,
    pub grant_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// The algorithms a `private_key_jwt` assertion may be signed with.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// Tandem's scopes, then the SMART system scopes that stand for them.
    pub scopes_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
}

/// SMART App Launch's configuration document, as SMART Backend Services reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmartConfiguration {
    #[serde(flatten)]
    pub oauth: AuthorizationServerMetadata,
    /// `client-confidential-asymmetric` (a signed assertion) and
    /// `client-confidential-symmetric` (a secret).
    pub capabilities: Vec<String>,
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn metadata(state: &AppState, request: &HttpRequest) -> AuthorizationServerMetadata {
    let issuer = state.base_url(request);
    let tandem = ApiScope::ALL.iter().map(|s| s.as_str());
    let smart = SMART_SCOPES.iter().map(|(name, _)| *name);
    AuthorizationServerMetadata {
        token_endpoint: format!("{issuer}{TOKEN_PATH}"),
        issuer,
        grant_types_supported: owned(&[CLIENT_CREDENTIALS]),
        token_endpoint_auth_methods_supported: owned(&AUTH_METHODS),
        token_endpoint_auth_signing_alg_values_supported: owned(&SIGNING_ALGORITHMS),
        scopes_supported: tandem.chain(smart).map(str::to_owned).collect(),
        response_types_supported: Vec::new(),
    }
}

/// How to get a token: the token endpoint, its grant, client authentication methods and
/// signing algorithms, and the scopes (RFC 8414).
///
/// Roles: none (no token needed). URLs start with `TANDEM_PUBLIC_URL`, or without it with
/// the address the request reached (its `Host`, and `X-Forwarded-Proto`/`Forwarded` behind
/// a proxy).
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "The metadata", body = AuthorizationServerMetadata)),
    security()
)]
#[get("/.well-known/oauth-authorization-server")]
pub async fn authorization_server_metadata(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> HttpResponse {
    HttpResponse::Ok().json(metadata(&state, &request))
}

/// SMART configuration: what SMART Backend Services clients read to find the token endpoint
/// and how to authenticate there.
///
/// Roles: none (no token needed). The same endpoint, methods, algorithms and scopes as
/// `/.well-known/oauth-authorization-server`, with SMART's `capabilities`.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "The configuration", body = SmartConfiguration)),
    security()
)]
#[get("/.well-known/smart-configuration")]
pub async fn smart_configuration(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    smart_configuration_document(state, request).await
}

/// The SMART configuration also where SMART says clients look for it: under the FHIR base
/// (`/fhir/r4/.well-known/smart-configuration`).
pub fn configure_fhir_discovery(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/smart-configuration",
        web::get().to(smart_configuration_document),
    );
}

async fn smart_configuration_document(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> HttpResponse {
    HttpResponse::Ok().json(SmartConfiguration {
        oauth: metadata(&state, &request),
        capabilities: owned(&[
            "client-confidential-asymmetric",
            "client-confidential-symmetric",
        ]),
    })
}
