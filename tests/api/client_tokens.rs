//! Integration clients' tokens: role `integration`, the `client_id` and the scopes granted.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};

use crate::helpers::{ok_json, problem, TestApp};

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

fn credentials(app: &TestApp, scope: Option<&str>) -> Value {
    let client = &app.org.client;
    let mut body = json!({
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.secret,
    });
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    body
}

#[tokio::test]
async fn a_client_token_names_the_role_the_client_and_every_scope_it_holds() {
    let app = TestApp::spawn().await;
    let body = ok_json(
        app.post("/auth/token", None, &credentials(&app, None))
            .await,
    )
    .await;
    let claims = claims(body["access_token"].as_str().unwrap_or_default());
    assert_eq!(claims["role"], "integration");
    assert_eq!(claims["client_id"], app.org.client.client_id.as_str());
    assert_eq!(claims["sub"], app.org.client.id.to_string());
    assert_eq!(
        claims["scope"],
        "referrals:read referrals:write directory:read"
    );
    assert_eq!(body["scope"], claims["scope"]);
}

#[tokio::test]
async fn a_client_may_ask_for_fewer_scopes_but_never_for_one_it_does_not_hold() {
    let app = TestApp::spawn().await;
    let narrow = credentials(&app, Some("directory:read"));
    let body = ok_json(app.post("/auth/token", None, &narrow).await).await;
    assert_eq!(body["scope"], "directory:read");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap_or_default())["scope"],
        "directory:read"
    );

    let reader = app.client_in(&app.org, &["referrals:read"]).await;
    let mut wider = credentials(&app, Some("referrals:read referrals:write"));
    wider["client_id"] = json!(reader.client_id);
    wider["client_secret"] = json!(reader.secret);
    let refused = problem(app.post("/auth/token", None, &wider).await, 400).await;
    assert_eq!(refused["error"], "invalid_scope");
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("referrals:write"));
    let unknown = credentials(&app, Some("participants:read"));
    let refused = problem(app.post("/auth/token", None, &unknown).await, 400).await;
    assert_eq!(refused["error"], "invalid_scope");
}

/// `POST /auth/token` with `form` as its body and `authorization` as its header.
async fn token_request(
    app: &TestApp,
    authorization: Option<String>,
    form: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    request.send().await.unwrap()
}

/// `Basic` with `id:secret` as given (RFC 6749 has each part form-URL-encoded first).
fn basic(id: &str, secret: &str) -> Option<String> {
    Some(format!(
        "Basic {}",
        STANDARD.encode(format!("{id}:{secret}"))
    ))
}

#[tokio::test]
async fn http_basic_client_authentication_is_accepted_with_its_parts_url_encoded() {
    let app = TestApp::spawn().await;
    let client = &app.org.client;
    let plain = basic(&client.client_id, &client.secret);
    let body = ok_json(token_request(&app, plain, "grant_type=client_credentials").await).await;
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["client_id"],
        client.client_id.as_str()
    );
    // Every character may arrive percent-encoded, and parameters the server does not know are
    // ignored; repeating the client id in the body is allowed.
    let encoded: String = client.secret.bytes().map(|b| format!("%{b:02X}")).collect();
    let form = format!(
        "grant_type=client_credentials&scope=directory%3Aread&audience=x&client_id={}",
        client.client_id
    );
    let body = ok_json(token_request(&app, basic(&client.client_id, &encoded), &form).await).await;
    assert_eq!(body["scope"], "directory:read");
}

#[tokio::test]
async fn token_requests_are_refused_with_the_oauth_error_a_client_library_expects() {
    let app = TestApp::spawn().await;
    let client = &app.org.client;
    let grant = "grant_type=client_credentials";
    // No credentials at all, and a wrong secret by Basic: 401 invalid_client, with a challenge.
    for authorization in [None, basic(&client.client_id, "guess")] {
        let response = token_request(&app, authorization, grant).await;
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Basic realm=\"tandem\""
        );
        assert_eq!(problem(response, 401).await["error"], "invalid_client");
    }
    let both = format!("{grant}&client_secret={}", client.secret);
    let unreadable = Some("Basic %%%".to_owned());
    let other_id = format!("{grant}&client_id=someone-else");
    for (authorization, form) in [
        (basic(&client.client_id, &client.secret), both.as_str()),
        (unreadable, grant),
        (basic(&client.client_id, &client.secret), other_id.as_str()),
        (
            basic(&client.client_id, &client.secret),
            "scope=directory%3Aread",
        ),
    ] {
        let refused = problem(token_request(&app, authorization, form).await, 400).await;
        assert_eq!(refused["error"], "invalid_request", "{form}: {refused}");
    }
    let long = format!("{grant}&client_id={}&client_secret=s", "c".repeat(300));
    let refused = problem(token_request(&app, None, &long).await, 400).await;
    assert_eq!(refused["error"], "invalid_request");
    let not_a_form = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(not_a_form, 400).await["error"], "invalid_request");
}

#[tokio::test]
async fn asking_for_a_scope_the_client_lacks_is_not_a_failed_guess() {
    let app = TestApp::spawn().await;
    let client = &app.org.client;
    let form = "grant_type=client_credentials&scope=participants%3Aread";
    for _ in 0..8 {
        let refused = problem(
            token_request(&app, basic(&client.client_id, &client.secret), form).await,
            400,
        )
        .await;
        assert_eq!(refused["error"], "invalid_scope");
    }
    let grant = "grant_type=client_credentials";
    ok_json(token_request(&app, basic(&client.client_id, &client.secret), grant).await).await;
}

#[tokio::test]
async fn the_authorization_server_metadata_names_the_token_endpoint_and_its_methods() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    let metadata = ok_json(response).await;
    assert_eq!(metadata["issuer"], app.url(""));
    assert_eq!(metadata["token_endpoint"], app.url("/api/v1/auth/token"));
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["client_credentials"])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!([
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post"
        ])
    );
    assert_eq!(
        metadata["scopes_supported"],
        json!([
            "referrals:read",
            "referrals:write",
            "directory:read",
            "system/Task.rs",
            "system/ServiceRequest.rs",
            "system/Patient.rs",
            "system/Task.u",
            "system/HealthcareService.rs"
        ])
    );
}
