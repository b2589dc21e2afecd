//! Integration clients' tokens: role `integration`, the `client_id` and the scopes granted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{error_fields, ok_json, problem, TestApp};

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
    let refused = problem(app.post("/auth/token", None, &wider).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["scope"]);
    let unknown = credentials(&app, Some("participants:read"));
    problem(app.post("/auth/token", None, &unknown).await, 422).await;
}
