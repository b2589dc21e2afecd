//! Every forged or stale access token is refused with 401 and `WWW-Authenticate: Bearer`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{claims_for, problem, sign_token, RawToken, TestApp, JWT_SECRET};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn sign(claims: &Value, alg: Algorithm, typ: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.typ = typ.map(ToOwned::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

fn signed(claims: &Value) -> String {
    sign_token(claims, JWT_SECRET.as_bytes())
}

async fn assert_refused(app: &TestApp, token: &str) {
    let response = app.get("/me", &RawToken::new(token)).await;
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some("Bearer")
    );
    problem(response, 401).await;
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

#[tokio::test]
async fn a_well_formed_token_is_accepted_so_the_refusals_below_mean_something() {
    let app = TestApp::spawn().await;
    let user = &app.org.coach;
    let response = app
        .get("/me", &RawToken::new(signed(&claims_for(user))))
        .await;
    assert_eq!(response.status(), 200);
    // Within the 30 s leeway an expired token still works.
    let recent = RawToken::new(signed(&with(claims_for(user), "exp", json!(now() - 10))));
    assert_eq!(app.get("/me", &recent).await.status(), 200);
}

#[tokio::test]
async fn missing_and_malformed_authorization_headers_are_refused() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    problem(response, 401).await;
    for header in ["Bearer", "Basic abc", "Bearer not.a.jwt", "bearer "] {
        let response = app
            .client
            .get(app.url("/api/v1/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        problem(response, 401).await;
    }
}

#[tokio::test]
async fn alg_none_is_refused() {
    let app = TestApp::spawn().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims_for(&app.org.coach).to_string());
    assert_refused(&app, &format!("{header}.{payload}.")).await;
    assert_refused(&app, &format!("{header}.{payload}")).await;
}

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let app = TestApp::spawn().await;
    let token = signed(&claims_for(&app.org.coach));
    let parts: Vec<&str> = token.split('.').collect();
    let forged = with(claims_for(&app.org.coach), "role", json!("admin"));
    let payload = URL_SAFE_NO_PAD.encode(forged.to_string());
    assert_refused(&app, &format!("{}.{payload}.{}", parts[0], parts[2])).await;
}

#[tokio::test]
async fn another_algorithm_with_the_same_secret_is_refused() {
    let app = TestApp::spawn().await;
    let token = sign(
        &claims_for(&app.org.coach),
        Algorithm::HS512,
        Some("at+jwt"),
    );
    assert_refused(&app, &token).await;
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let app = TestApp::spawn().await;
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    let token = jsonwebtoken::encode(
        &header,
        &claims_for(&app.org.coach),
        &EncodingKey::from_secret(b"some-other-secret-some-other-secret-0000"),
    )
    .unwrap();
    assert_refused(&app, &token).await;
}

#[tokio::test]
async fn wrong_or_missing_audience_and_issuer_are_refused() {
    let app = TestApp::spawn().await;
    let base = claims_for(&app.org.coach);
    assert_refused(
        &app,
        &signed(&with(base.clone(), "aud", json!("someone-else"))),
    )
    .await;
    assert_refused(&app, &signed(&without(base.clone(), "aud"))).await;
    assert_refused(&app, &signed(&with(base.clone(), "iss", json!("evil")))).await;
    assert_refused(&app, &signed(&without(base, "iss"))).await;
}

#[tokio::test]
async fn expiry_beyond_the_leeway_and_future_nbf_are_refused() {
    let app = TestApp::spawn().await;
    let base = claims_for(&app.org.coach);
    assert_refused(&app, &signed(&with(base.clone(), "exp", json!(now() - 45)))).await;
    assert_refused(
        &app,
        &signed(&with(base.clone(), "nbf", json!(now() + 120))),
    )
    .await;
    assert_refused(&app, &signed(&without(base.clone(), "exp"))).await;
    assert_refused(&app, &signed(&without(base, "nbf"))).await;
}

#[tokio::test]
async fn string_typed_time_claims_are_refused() {
    let app = TestApp::spawn().await;
    let base = claims_for(&app.org.coach);
    let far_future = (now() + 3600).to_string();
    assert_refused(&app, &signed(&with(base.clone(), "exp", json!(far_future)))).await;
    assert_refused(&app, &signed(&with(base, "nbf", json!("0")))).await;
}

#[tokio::test]
async fn missing_or_wrong_typ_is_refused() {
    let app = TestApp::spawn().await;
    let base = claims_for(&app.org.coach);
    assert_refused(&app, &sign(&base, Algorithm::HS256, None)).await;
    assert_refused(&app, &sign(&base, Algorithm::HS256, Some("JWT"))).await;
}

#[tokio::test]
async fn missing_subject_or_a_subject_from_another_organization_is_refused() {
    let app = TestApp::spawn().await;
    let base = claims_for(&app.org.coach);
    assert_refused(&app, &signed(&without(base.clone(), "sub"))).await;
    assert_refused(
        &app,
        &signed(&with(base.clone(), "sub", json!(uuid::Uuid::now_v7()))),
    )
    .await;
    assert_refused(&app, &signed(&with(base, "org", json!(app.other_org.id)))).await;
}

#[tokio::test]
async fn a_token_claiming_a_role_the_user_does_not_have_is_refused() {
    let app = TestApp::spawn().await;
    // Correctly signed, but the claims no longer match the account.
    let base = claims_for(&app.org.coach);
    assert_refused(&app, &signed(&with(base.clone(), "role", json!("admin")))).await;
    assert_refused(&app, &signed(&with(base, "ver", json!(7)))).await;
}

#[tokio::test]
async fn a_token_living_longer_than_the_configured_lifetime_is_refused() {
    let app = TestApp::spawn().await;
    let base = claims_for(&app.org.coach);
    let issued = now() - 5;
    // Exactly the lifetime is accepted, so the refusals below are about the lifetime alone.
    let full = with(base.clone(), "exp", json!(issued + 15 * 60));
    let full = with(with(full, "iat", json!(issued)), "nbf", json!(issued));
    let response = app.get("/me", &RawToken::new(signed(&full))).await;
    assert_eq!(response.status(), 200);

    let long = with(base.clone(), "exp", json!(issued + 24 * 3600));
    assert_refused(&app, &signed(&with(long, "iat", json!(issued)))).await;
    // An `iat` in the future cannot stretch the window either.
    let later = now() + 24 * 3600;
    let future = with(base.clone(), "iat", json!(later));
    assert_refused(&app, &signed(&with(future, "exp", json!(later + 600)))).await;
    // Nor can leaving `iat` out.
    assert_refused(&app, &signed(&without(base, "iat"))).await;
}
