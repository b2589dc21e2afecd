//! Inbound referrals from clinics: the participant lands in the unassigned queue, and one
//! external id makes one referral however often and however concurrently it is sent.

use serde_json::{json, Value};

use crate::helpers::{error_fields, json as read_json, ok_json, problem, TestApp};

fn inbound(external_id: &str) -> Value {
    json!({"external_id": external_id, "reason": "opioid use disorder, wants peer support",
        "referring_provider": "Dr. Rivera", "urgency": "urgent",
        "patient": {"first_name": "Sam", "last_name": "Okafor", "date_of_birth": "1990-04-02",
            "phone": "+1 207 555 0100", "preferred_language": "en"}})
}

#[tokio::test]
async fn an_inbound_referral_creates_an_unassigned_participant_in_requested() {
    let app = TestApp::spawn().await;
    let clinic = &app.org.client;
    let response = app
        .post("/inbound-referrals", Some(clinic), &inbound("ext-1"))
        .await;
    assert_eq!(response.status(), 201);
    assert!(response.headers().contains_key("location"));
    let created = read_json(response).await;
    assert_eq!(created["status"], "requested");
    assert_eq!(created["direction"], "inbound");
    assert_eq!(created["source_client_id"], clinic.id.to_string());
    assert_eq!(created["history"][0]["actor_type"], "client");
    // No consent names the clinic: its own answer shows no participant details.
    assert_eq!(created["participant_redacted"], true);
    let queue = ok_json(
        app.get("/participants?unassigned=true", &app.org.supervisor)
            .await,
    )
    .await;
    assert!(queue
        .to_string()
        .contains(created["participant_id"].as_str().unwrap()));
    // Staff see the patient and accept it.
    let id = created["id"].as_str().unwrap();
    let seen = ok_json(
        app.get(&format!("/referrals/{id}"), &app.org.supervisor)
            .await,
    )
    .await;
    assert_eq!(seen["participant"]["last_name"], "Okafor");
    ok_json(
        app.post(
            &format!("/referrals/{id}/status"),
            Some(&app.org.supervisor),
            &json!({"status": "accepted"}),
        )
        .await,
    )
    .await;
    let sql = format!("SELECT count(*) FROM webhook_events WHERE event_type = 'referral.status_changed' AND client_id = '{}'", clinic.id);
    assert_eq!(app.count(&sql).await, 1);
}

#[tokio::test]
async fn the_same_external_id_returns_the_original_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let clinic = &app.org.client;
    let first = read_json(
        app.post("/inbound-referrals", Some(clinic), &inbound("ext-2"))
            .await,
    )
    .await;
    let response = app
        .post("/inbound-referrals", Some(clinic), &inbound("ext-2"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(read_json(response).await["id"], first["id"]);
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, 1);
    // Another client's same external id is its own referral.
    let other = app
        .client_in(&app.org, &["referrals:write", "referrals:read"])
        .await;
    let response = app
        .post("/inbound-referrals", Some(&other), &inbound("ext-2"))
        .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn an_external_id_with_surrounding_spaces_is_the_same_id() {
    let app = TestApp::spawn().await;
    let clinic = &app.org.client;
    let first = read_json(
        app.post("/inbound-referrals", Some(clinic), &inbound("ext-3"))
            .await,
    )
    .await;
    assert_eq!(first["external_id"], "ext-3");
    let response = app
        .post("/inbound-referrals", Some(clinic), &inbound("  ext-3 "))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(read_json(response).await["id"], first["id"]);
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, 1);
}

#[tokio::test]
async fn eight_concurrent_posts_of_one_external_id_make_one_participant_and_one_referral() {
    let app = TestApp::spawn().await;
    let before = app.count("SELECT count(*) FROM participants").await;
    let body = inbound("ext-3");
    let posts = (0..8).map(|_| app.post("/inbound-referrals", Some(&app.org.client), &body));
    let responses = futures_util::future::join_all(posts).await;
    let mut ids = Vec::new();
    for response in responses {
        assert!([200, 201].contains(&response.status().as_u16()));
        ids.push(read_json(response).await["id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM participants").await,
        before + 1
    );
}

#[tokio::test]
async fn bad_inbound_bodies_are_422_and_users_and_scopeless_clients_are_403() {
    let app = TestApp::spawn().await;
    let mut body = inbound(" ");
    body["patient"]["phone"] = json!("call me");
    body["patient"]["date_of_birth"] = json!("2999-01-01");
    let problem_body = problem(
        app.post("/inbound-referrals", Some(&app.org.client), &body)
            .await,
        422,
    )
    .await;
    assert_eq!(
        error_fields(&problem_body),
        vec!["external_id", "patient.date_of_birth", "patient.phone"]
    );
    problem(
        app.post(
            "/inbound-referrals",
            Some(&app.org.supervisor),
            &inbound("x"),
        )
        .await,
        403,
    )
    .await;
    let reader = app.client_in(&app.org, &["referrals:read"]).await;
    let refused = problem(
        app.post("/inbound-referrals", Some(&reader), &inbound("x"))
            .await,
        403,
    )
    .await;
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("referrals:write"));
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, 0);
}
