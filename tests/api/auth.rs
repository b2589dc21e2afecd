use serde_json::{json, Value};

use crate::helpers::{
    error_fields, json, ok_json, problem, test_settings_with, RawToken, TestApp, PASSWORD,
};

#[tokio::test]
async fn login_with_good_credentials_returns_a_token_pair_and_the_user() {
    let app = TestApp::spawn().await;
    let response = app.login(&app.org.coach.email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.len() > 32));
    assert_eq!(body["user"]["email"], app.org.coach.email.as_str());
    assert_eq!(body["user"]["role"], "coach");
    assert!(body["user"].get("password_hash").is_none());

    let token = RawToken::new(body["access_token"].as_str().unwrap());
    let me = ok_json(app.get("/me", &token).await).await;
    assert_eq!(me["id"], app.org.coach.id.to_string());
}

#[tokio::test]
async fn login_email_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let response = app
        .login(&app.org.coach.email.to_uppercase(), PASSWORD)
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = TestApp::spawn().await;
    let wrong_password = app
        .login(&app.org.coach.email, "not the password at all")
        .await;
    assert_eq!(
        wrong_password.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    let wrong_password = problem(wrong_password, 401).await;
    let unknown_email = problem(app.login("nobody@example.org", PASSWORD).await, 401).await;
    assert_eq!(wrong_password, unknown_email);
}

#[tokio::test]
async fn a_deactivated_account_cannot_sign_in() {
    let app = TestApp::spawn().await;
    app.sql(&format!(
        "UPDATE users SET active = false WHERE id = '{}'",
        app.org.coach.id
    ))
    .await
    .unwrap();
    problem(app.login(&app.org.coach.email, PASSWORD).await, 401).await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        problem(
            app.login(&app.org.coach.email, "wrong password!!").await,
            401,
        )
        .await;
    }
    let locked = app.login(&app.org.coach.email, PASSWORD).await;
    let retry_after: u64 = locked
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=30).contains(&retry_after));
    problem(locked, 429).await;
    // Other accounts are unaffected.
    assert_eq!(
        app.login(&app.org.admin.email, PASSWORD).await.status(),
        200
    );
}

#[tokio::test]
async fn unknown_emails_lock_the_same_way_so_locking_reveals_nothing() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        problem(
            app.login("ghost@example.org", "wrong password!!").await,
            401,
        )
        .await;
    }
    problem(app.login("ghost@example.org", PASSWORD).await, 429).await;
}

#[tokio::test]
async fn a_lock_expires_and_success_clears_the_count() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        app.login(&app.org.coach.email, "wrong password!!").await;
    }
    app.sql("UPDATE login_throttles SET locked_until = now() - interval '1 second'")
        .await
        .unwrap();
    assert_eq!(
        app.login(&app.org.coach.email, PASSWORD).await.status(),
        200
    );
    let mut conn = app.conn().await;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let rows: i64 = tandem::db::schema::login_throttles::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post("/auth/refresh", None, &json!({"refresh_token": token}))
        .await
}

#[tokio::test]
async fn refresh_rotates_and_reusing_a_used_token_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let first = json(app.login(&app.org.coach.email, PASSWORD).await).await;
    let first_refresh = first["refresh_token"].as_str().unwrap().to_owned();

    let second = refresh(&app, &first_refresh).await;
    assert_eq!(second.status(), 200);
    let second = json(second).await;
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first_refresh, second_refresh);
    assert!(second["access_token"].is_string());

    // The first token was already used: presenting it again is theft, and ends the family.
    problem(refresh(&app, &first_refresh).await, 401).await;
    problem(refresh(&app, &second_refresh).await, 401).await;
}

#[tokio::test]
async fn garbage_refresh_tokens_are_refused() {
    let app = TestApp::spawn().await;
    problem(refresh(&app, "rt_not-a-token").await, 401).await;
    problem(app.post("/auth/refresh", None, &json!({})).await, 422).await;
}

#[tokio::test]
async fn logout_revokes_the_family() {
    let app = TestApp::spawn().await;
    let pair = json(app.login(&app.org.coach.email, PASSWORD).await).await;
    let token = pair["refresh_token"].as_str().unwrap();
    let rotated = json(refresh(&app, token).await).await;
    let current = rotated["refresh_token"].as_str().unwrap();

    let response = app
        .post("/auth/logout", None, &json!({"refresh_token": current}))
        .await;
    assert_eq!(response.status(), 204);
    problem(refresh(&app, current).await, 401).await;
}

#[tokio::test]
async fn logins_are_audited_whether_they_succeed_or_fail() {
    let app = TestApp::spawn().await;
    app.login(&app.org.coach.email, PASSWORD).await;
    app.login(&app.org.coach.email, "wrong password!!").await;
    app.login("ghost@example.org", "wrong password!!").await;

    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use tandem::db::schema::audit_events::dsl::*;
    let mut conn = app.conn().await;
    let rows: Vec<(Option<uuid::Uuid>, String)> = audit_events
        .filter(action.eq("login"))
        .order(seq.asc())
        .select((actor_id, outcome))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (Some(app.org.coach.id), "success".to_owned()),
            (Some(app.org.coach.id), "denied".to_owned()),
            (None, "denied".to_owned()),
        ]
    );
}

async fn change_password(app: &TestApp, access: &RawToken, body: &Value) -> reqwest::Response {
    app.post("/me/password", Some(access), body).await
}

async fn signed_in_coach(app: &TestApp) -> (RawToken, String) {
    let pair = json(app.login(&app.org.coach.email, PASSWORD).await).await;
    let access = RawToken::new(pair["access_token"].as_str().unwrap());
    (access, pair["refresh_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_a_long_new_one() {
    let app = TestApp::spawn().await;
    let (access, _) = signed_in_coach(&app).await;
    let wrong =
        json!({"current_password": "not it at all", "new_password": "a brand new passphrase"});
    let body = problem(change_password(&app, &access, &wrong).await, 422).await;
    assert_eq!(error_fields(&body), vec!["current_password"]);
    let short = json!({"current_password": PASSWORD, "new_password": "short"});
    let body = problem(change_password(&app, &access, &short).await, 422).await;
    assert_eq!(error_fields(&body), vec!["new_password"]);
    // Neither attempt changed anything.
    assert_eq!(app.get("/me", &access).await.status(), 200);
    assert_eq!(
        app.login(&app.org.coach.email, PASSWORD).await.status(),
        200
    );
}

#[tokio::test]
async fn changing_the_password_ends_every_session() {
    let app = TestApp::spawn().await;
    let (access, refresh_token) = signed_in_coach(&app).await;
    let change = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
    let changed = change_password(&app, &access, &change).await;
    assert_eq!(changed.status(), 204);

    problem(app.get("/me", &access).await, 401).await;
    problem(refresh(&app, &refresh_token).await, 401).await;
    problem(app.login(&app.org.coach.email, PASSWORD).await, 401).await;
    assert_eq!(
        app.login(&app.org.coach.email, "a brand new passphrase")
            .await
            .status(),
        200
    );
}

/// A client token obtained the way a clinic gets one: form-encoded client credentials.
async fn client_credentials(app: &TestApp) -> reqwest::Response {
    let client = &app.org.client;
    app.client
        .post(app.url("/api/v1/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            client.client_id, client.secret
        ))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn integration_clients_get_tokens_by_client_credentials() {
    let app = TestApp::spawn().await;
    let client = &app.org.client;
    let form = client_credentials(&app).await;
    assert_eq!(form.status(), 200);
    let body = json(form).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["scope"],
        "referrals:read referrals:write directory:read"
    );
    assert!(body["access_token"].is_string());
    let as_json = app
        .post("/auth/token", None, &json!({"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": client.secret}))
        .await;
    assert_eq!(as_json.status(), 200);
}

#[tokio::test]
async fn a_client_token_is_valid_but_no_user_endpoint_accepts_it() {
    let app = TestApp::spawn().await;
    let body = ok_json(client_credentials(&app).await).await;
    let token = RawToken::new(body["access_token"].as_str().unwrap());
    problem(app.get("/me", &token).await, 403).await;
    let password = json!({"current_password": "x", "new_password": "a long enough password"});
    problem(change_password(&app, &token, &password).await, 403).await;
}

#[tokio::test]
async fn a_wrong_client_secret_or_grant_type_is_refused() {
    let app = TestApp::spawn().await;
    let client = &app.org.client;
    let wrong = app
        .post("/auth/token", None, &json!({"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "guess"}))
        .await;
    assert_eq!(problem(wrong, 401).await["error"], "invalid_client");
    let grant = app
        .post("/auth/token", None, &json!({"grant_type": "password", "client_id": client.client_id, "client_secret": client.secret}))
        .await;
    let body = problem(grant, 400).await;
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn a_deactivated_client_is_refused_on_its_next_request() {
    let app = TestApp::spawn().await;
    let body = ok_json(client_credentials(&app).await).await;
    let token = RawToken::new(body["access_token"].as_str().unwrap());
    app.sql(&format!(
        "UPDATE integration_clients SET active = false WHERE id = '{}'",
        app.org.client.id
    ))
    .await
    .unwrap();
    problem(app.get("/me", &token).await, 401).await;
}

/// Moves the timestamps of `user`'s refresh tokens: when their family began and when each was
/// issued, `started` and `issued` ago.
async fn age_sessions(
    app: &TestApp,
    user: uuid::Uuid,
    started: chrono::Duration,
    issued: chrono::Duration,
) {
    app.sql(&format!(
        "UPDATE refresh_tokens SET family_started_at = now() - interval '{} seconds', \
         created_at = now() - interval '{} seconds' WHERE user_id = '{user}'",
        started.num_seconds(),
        issued.num_seconds()
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn a_session_older_than_its_lifetime_cannot_be_refreshed_however_often_it_is_used() {
    let app = TestApp::spawn().await;
    let lifetime =
        chrono::Duration::from_std(test_settings_with(&[]).auth.refresh_lifetime).unwrap();
    let hour = chrono::Duration::hours(1);
    let (_, token) = signed_in_coach(&app).await;
    // Just inside the lifetime, and used an hour ago: still good.
    age_sessions(&app, app.org.coach.id, lifetime - hour, hour).await;
    let rotated = ok_json(refresh(&app, &token).await).await;
    let token = rotated["refresh_token"].as_str().unwrap();
    // Past the lifetime, though the last refresh was recent.
    age_sessions(&app, app.org.coach.id, lifetime + hour, hour).await;
    problem(refresh(&app, token).await, 401).await;
}

#[tokio::test]
async fn a_session_left_idle_too_long_cannot_be_refreshed() {
    let app = TestApp::spawn().await;
    let idle = chrono::Duration::from_std(test_settings_with(&[]).auth.refresh_idle).unwrap();
    let hour = chrono::Duration::hours(1);
    let (_, token) = signed_in_coach(&app).await;
    age_sessions(&app, app.org.coach.id, idle - hour, idle - hour).await;
    let rotated = ok_json(refresh(&app, &token).await).await;
    let token = rotated["refresh_token"].as_str().unwrap();
    age_sessions(&app, app.org.coach.id, idle + hour, idle + hour).await;
    problem(refresh(&app, token).await, 401).await;
}

#[tokio::test]
async fn reusing_a_refresh_token_is_audited() {
    let app = TestApp::spawn().await;
    let (_, first) = signed_in_coach(&app).await;
    ok_json(refresh(&app, &first).await).await;
    problem(refresh(&app, &first).await, 401).await;

    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use tandem::db::schema::audit_events::dsl::*;
    let rows: Vec<(Option<uuid::Uuid>, Option<uuid::Uuid>, String)> = audit_events
        .filter(action.eq("refresh_reuse"))
        .select((actor_id, organization_id, outcome))
        .load(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![(
            Some(app.org.coach.id),
            Some(app.org.id),
            "denied".to_owned()
        )]
    );
}
