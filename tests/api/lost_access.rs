//! A token whose account was deactivated, demoted or signed out everywhere: whatever the
//! request (a read, a change, a create, one its role was never allowed), the answer is 401,
//! nothing changes and nothing is shown.

use serde_json::json;

use crate::helpers::{json, problem, TestApp};

async fn deactivate(app: &TestApp, user: uuid::Uuid) {
    let response = app
        .patch(
            &format!("/users/{user}"),
            &app.org.admin,
            &json!({"active": false}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// Audit rows written for `actor` since the start of the test.
async fn audit_rows_of(app: &TestApp, actor: uuid::Uuid) -> i64 {
    app.count(&format!(
        "SELECT count(*) AS count FROM audit_events WHERE actor_id = '{actor}'"
    ))
    .await
}

#[tokio::test]
async fn a_deactivated_coach_reads_nothing_changes_nothing_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let participant = app.org.participant_id;
    deactivate(&app, coach.id).await;
    let before = audit_rows_of(&app, coach.id).await;

    let read = problem(
        app.get(&format!("/participants/{participant}"), coach)
            .await,
        401,
    )
    .await;
    assert!(read.get("first_name").is_none(), "{read}");
    problem(app.get("/participants", coach).await, 401).await;
    problem(
        app.patch(
            &format!("/participants/{participant}"),
            coach,
            &json!({"preferred_name": "Changed"}),
        )
        .await,
        401,
    )
    .await;
    problem(
        app.post(
            &format!("/participants/{participant}/goals"),
            Some(coach),
            &json!({"title": "Walk every morning", "domain": "physical_health"}),
        )
        .await,
        401,
    )
    .await;
    // Work the live account would be refused (404 out of scope) is a 401 as well.
    let missing = uuid::Uuid::new_v4();
    problem(
        app.get(&format!("/participants/{missing}"), coach).await,
        401,
    )
    .await;

    // Work that writes no audit row, or that counts a guess first, checks the account too.
    problem(app.get("/resources", coach).await, 401).await;
    problem(app.get("/instruments", coach).await, 401).await;
    let change =
        json!({"current_password": "wrong password here", "new_password": "another long password"});
    problem(app.post("/me/password", Some(coach), &change).await, 401).await;

    let now = json(
        app.get(&format!("/participants/{participant}"), &app.org.admin)
            .await,
    )
    .await;
    assert_ne!(now["preferred_name"], "Changed");
    assert_eq!(app.count("SELECT count(*) AS count FROM goals").await, 0);
    assert_eq!(audit_rows_of(&app, coach.id).await, before);
}

#[tokio::test]
async fn a_demoted_admins_old_token_cannot_administer() {
    let app = TestApp::spawn().await;
    let supervisor = &app.org.supervisor;
    let response = app
        .patch(
            &format!("/users/{}", supervisor.id),
            &app.org.admin,
            &json!({"role": "coach"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let users = app.count("SELECT count(*) AS count FROM users").await;

    problem(app.get("/users", supervisor).await, 401).await;
    problem(
        app.post(
            "/users",
            Some(supervisor),
            &json!({
                "email": "new@example.org",
                "display_name": "New Coach",
                "role": "coach",
                "password": "a long enough password"
            }),
        )
        .await,
        401,
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) AS count FROM users").await,
        users
    );
}

#[tokio::test]
async fn a_deactivated_participant_is_401_even_where_its_role_is_refused() {
    let app = TestApp::spawn().await;
    let participant = &app.org.participant;
    // While active, the admins' user list is 403 for a participant.
    problem(app.get("/users", participant).await, 403).await;
    deactivate(&app, participant.id).await;
    problem(app.get("/users", participant).await, 401).await;
    problem(app.get("/me", participant).await, 401).await;
    problem(app.get("/audit-events", participant).await, 401).await;
}
