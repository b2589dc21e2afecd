//! Guessing limits hold under concurrency: sign-in per email and per address, password changes
//! per user, client credentials per client.

use futures_util::future::join_all;
use reqwest::Response;
use serde_json::json;

use crate::helpers::{problem, test_settings_with, RawToken, TestApp, PASSWORD};

const WRONG: &str = "wrong password!!";

/// The `Retry-After` seconds of a 429, failing the test when the response is anything else.
async fn retry_after(response: Response) -> u64 {
    let seconds = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    problem(response, 429).await;
    let seconds = seconds.expect("a 429 carries Retry-After");
    assert!(seconds >= 1, "Retry-After {seconds}");
    seconds
}

/// Splits responses into those with `status` and the rest, which must all be 429s with
/// `Retry-After`; returns how many had `status`.
async fn count_then_throttled(responses: Vec<Response>, status: u16) -> usize {
    let mut evaluated = 0;
    for response in responses {
        if response.status().as_u16() == status {
            evaluated += 1;
            problem(response, status).await;
        } else {
            retry_after(response).await;
        }
    }
    evaluated
}

async fn audit_outcomes(app: &TestApp, wanted_action: &str) -> Vec<(Option<uuid::Uuid>, String)> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use tandem::db::schema::audit_events::dsl::*;
    let rows: Vec<(Option<uuid::Uuid>, Option<uuid::Uuid>, String)> = audit_events
        .filter(action.eq(wanted_action))
        .order(seq.asc())
        .select((client_id, actor_id, outcome))
        .load(&mut app.conn().await)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(client, actor, result)| (client.or(actor), result))
        .collect()
}

fn count(rows: &[(Option<uuid::Uuid>, String)], wanted: &str) -> usize {
    rows.iter().filter(|(_, outcome)| outcome == wanted).count()
}

#[tokio::test]
async fn twenty_concurrent_wrong_passwords_get_at_most_five_evaluations() {
    let app = TestApp::spawn().await;
    let email = &app.org.coach.email;
    let responses = join_all((0..20).map(|_| app.login(email, WRONG))).await;
    let evaluated = count_then_throttled(responses, 401).await;
    assert!(
        (1..=5).contains(&evaluated),
        "{evaluated} of 20 concurrent guesses were evaluated"
    );
    // The lock's start is in the audit log once, naming the account; the 15 or more requests
    // it refused wrote nothing.
    assert_eq!(
        audit_outcomes(&app, "lock").await,
        [(Some(app.org.coach.id), "denied".to_owned())]
    );
    assert_eq!(audit_outcomes(&app, "login").await.len(), evaluated);
    // The lock is temporary: once it has run out, the right password works.
    app.sql("UPDATE login_throttles SET locked_until = now() - interval '1 second'")
        .await
        .unwrap();
    assert_eq!(app.login(email, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn the_right_password_after_eleven_concurrent_wrong_ones_is_locked_out() {
    let app = TestApp::spawn().await;
    let email = &app.org.coach.email;
    let responses = join_all((0..11).map(|_| app.login(email, WRONG))).await;
    let evaluated = count_then_throttled(responses, 401).await;
    assert!(evaluated <= 5, "{evaluated} of 11 guesses were evaluated");
    let retry = retry_after(app.login(email, PASSWORD).await).await;
    assert!(retry <= 30, "Retry-After {retry}");
}

#[tokio::test]
async fn one_address_guessing_across_many_emails_is_slowed() {
    let app = TestApp::spawn().await;
    let limit = test_settings_with(&[]).auth.address_limit;
    let emails: Vec<String> = (0..limit)
        .map(|n| format!("sprayed-{n}@example.org"))
        .collect();
    let responses = join_all(emails.iter().map(|email| app.login(email, WRONG))).await;
    // One guess per email: no email lock is involved, every guess was evaluated.
    assert_eq!(count_then_throttled(responses, 401).await, limit as usize);

    let retry = retry_after(app.login("one-more@example.org", WRONG).await).await;
    assert!(retry <= test_settings_with(&[]).auth.address_window.as_secs());
    // The address is slowed as a whole, whatever it tries next.
    retry_after(app.login(&app.org.admin.email, PASSWORD).await).await;
    // One `lock` row, with no actor, however many requests the address lock refuses.
    assert_eq!(
        audit_outcomes(&app, "lock").await,
        [(None, "denied".to_owned())]
    );
    // Once the window has passed, the address may sign in again.
    app.sql("UPDATE address_throttles SET window_started_at = now() - interval '1 day'")
        .await
        .unwrap();
    crate::helpers::ok_json(app.login(&app.org.admin.email, PASSWORD).await).await;
}

#[tokio::test]
async fn successful_sign_ins_do_not_use_up_the_address_limit() {
    let app = TestApp::spawn().await;
    let limit = test_settings_with(&[]).auth.address_limit;
    for _ in 0..limit + 2 {
        assert_eq!(
            app.login(&app.org.admin.email, PASSWORD).await.status(),
            200
        );
    }
}

async fn change_password(app: &TestApp, access: &RawToken, current: &str) -> Response {
    let body = json!({"current_password": current, "new_password": "a brand new passphrase"});
    app.post("/me/password", Some(access), &body).await
}

#[tokio::test]
async fn password_change_guesses_are_throttled_and_audited() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let access = RawToken::new(coach.token.clone());
    let responses = join_all((0..12).map(|_| change_password(&app, &access, WRONG))).await;
    let evaluated = count_then_throttled(responses, 422).await;
    assert!(
        (1..=5).contains(&evaluated),
        "{evaluated} of 12 guesses at the current password were evaluated"
    );
    // Locked, even for the right password.
    retry_after(change_password(&app, &access, PASSWORD).await).await;
    let rows = audit_outcomes(&app, "change_password").await;
    assert_eq!(count(&rows, "denied"), 13);
    assert!(rows.iter().all(|(who, _)| *who == Some(coach.id)));

    app.sql("UPDATE login_throttles SET locked_until = now() - interval '1 second'")
        .await
        .unwrap();
    assert_eq!(change_password(&app, &access, PASSWORD).await.status(), 204);
    let rows = audit_outcomes(&app, "change_password").await;
    assert_eq!(rows.last(), Some(&(Some(coach.id), "success".to_owned())));
    // Sign-in for the same account was never locked by any of this.
    assert_eq!(
        app.login(&coach.email, "a brand new passphrase")
            .await
            .status(),
        200
    );
}

async fn client_token(app: &TestApp, client_id: &str, secret: &str) -> Response {
    let body = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret});
    app.post("/auth/token", None, &body).await
}

#[tokio::test]
async fn client_secret_guesses_are_throttled_per_client_and_audited() {
    let app = TestApp::spawn().await;
    let client = &app.org.client;
    let responses = join_all((0..12).map(|_| client_token(&app, &client.client_id, "guess"))).await;
    let evaluated = count_then_throttled(responses, 401).await;
    assert!(
        (1..=5).contains(&evaluated),
        "{evaluated} of 12 guesses at a client secret were evaluated"
    );
    retry_after(client_token(&app, &client.client_id, &client.secret).await).await;
    // Another client is not affected.
    let other = &app.other_org.client;
    assert_eq!(
        client_token(&app, &other.client_id, &other.secret)
            .await
            .status(),
        200
    );

    app.sql("UPDATE login_throttles SET locked_until = now() - interval '1 second'")
        .await
        .unwrap();
    assert_eq!(
        client_token(&app, &client.client_id, &client.secret)
            .await
            .status(),
        200
    );
    problem(client_token(&app, "no-such-client", "guess").await, 401).await;

    let rows = audit_outcomes(&app, "client_credentials").await;
    let mine: Vec<_> = rows
        .iter()
        .filter(|(who, _)| *who == Some(client.id))
        .collect();
    assert_eq!(mine.len(), evaluated + 1);
    assert_eq!(mine.last().map(|(_, o)| o.as_str()), Some("success"));
    assert_eq!(count(&rows, "success"), 2);
    assert_eq!(count(&rows, "denied"), evaluated + 1, "{rows:?}");
    assert_eq!(
        audit_outcomes(&app, "lock").await,
        [(Some(client.id), "denied".to_owned())]
    );
}

fn random_text(length: usize) -> String {
    (0..length)
        .map(|n| char::from(b'a' + (uuid::Uuid::new_v4().as_bytes()[n % 16] % 26)))
        .collect()
}

#[tokio::test]
async fn an_overlong_email_or_client_id_is_refused_before_anything_is_stored() {
    let app = TestApp::spawn().await;
    let email = format!("{}@example.org", random_text(3000));
    let status = app.login(&email, WRONG).await.status().as_u16();
    assert!(status == 401 || status == 422, "got {status}");
    let status = client_token(&app, &random_text(3000), "guess")
        .await
        .status()
        .as_u16();
    // RFC 6749: a malformed parameter is 400 `invalid_request`.
    assert!(status == 401 || status == 400, "got {status}");
    let long_email = format!("{}@example.org", random_text(243));
    assert_eq!(long_email.len(), 255);
    let status = app.login(&long_email, WRONG).await.status().as_u16();
    assert!(status == 401 || status == 422, "got {status}");

    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let rows: i64 = tandem::db::schema::login_throttles::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}
