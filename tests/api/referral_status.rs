//! Referral status: the FHIR Task moves, who makes each, and the reason and outcome rules.

use serde_json::{json, Value};

use crate::helpers::{error_fields, ok_json, problem, TestApp};

async fn sent_by_hand(app: &TestApp) -> String {
    let resource = sendable_resource(app).await;
    let created = app
        .referral(
            &app.org.coach,
            app.org.participant_id,
            resource,
            "requested",
        )
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// A resource with no client, and the participant's consent naming it.
async fn sendable_resource(app: &TestApp) -> uuid::Uuid {
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, None).await;
    app.referral_consent(org, p, None, Some(resource), &["referral_details"], 30)
        .await;
    resource
}

async fn move_to(
    app: &TestApp,
    id: &str,
    caller: &dyn crate::helpers::Caller,
    body: Value,
) -> reqwest::Response {
    app.post(&format!("/referrals/{id}/status"), Some(caller), &body)
        .await
}

#[tokio::test]
async fn staff_record_the_receivers_answers_for_a_resource_without_a_client() {
    let app = TestApp::spawn().await;
    let id = sent_by_hand(&app).await;
    let coach = &app.org.coach;
    for body in [
        json!({"status": "accepted"}),
        json!({"status": "in-progress"}),
        json!({"status": "on-hold", "reason": "waiting for a bed"}),
        json!({"status": "in-progress"}),
        json!({"status": "completed", "outcome": "got_help"}),
    ] {
        ok_json(move_to(&app, &id, coach, body).await).await;
    }
    let referral = ok_json(app.get(&format!("/referrals/{id}"), coach).await).await;
    assert_eq!(referral["status"], "completed");
    assert_eq!(referral["outcome"], "got_help");
    let moves: Vec<&str> = referral["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        moves,
        [
            "requested",
            "accepted",
            "in-progress",
            "on-hold",
            "in-progress",
            "completed"
        ]
    );
    assert_eq!(referral["history"][3]["reason"], "waiting for a bed");
    assert_eq!(referral["history"][3]["actor_id"], coach.id.to_string());
    // Final, except for entered-in-error.
    let refused = problem(
        move_to(
            &app,
            &id,
            coach,
            json!({"status": "cancelled", "reason": "x"}),
        )
        .await,
        409,
    )
    .await;
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("`entered-in-error`"));
    ok_json(move_to(&app, &id, coach, json!({"status": "entered-in-error"})).await).await;
    let refused = problem(
        move_to(&app, &id, coach, json!({"status": "requested"})).await,
        409,
    )
    .await;
    assert!(refused["detail"].as_str().unwrap().contains("final"));
}

#[tokio::test]
async fn a_forbidden_move_is_409_listing_the_allowed_next_statuses() {
    let app = TestApp::spawn().await;
    let id = sent_by_hand(&app).await;
    let refused = problem(
        move_to(
            &app,
            &id,
            &app.org.coach,
            json!({"status": "completed", "outcome": "got_help"}),
        )
        .await,
        409,
    )
    .await;
    let detail = refused["detail"].as_str().unwrap();
    for allowed in [
        "`accepted`",
        "`rejected`",
        "`cancelled`",
        "`entered-in-error`",
    ] {
        assert!(detail.contains(allowed), "{detail}");
    }
    assert!(refused["type"]
        .as_str()
        .unwrap()
        .ends_with("invalid-transition"));
}

#[tokio::test]
async fn reasons_and_outcomes_are_required_where_the_contract_says_and_refused_elsewhere() {
    let app = TestApp::spawn().await;
    let id = sent_by_hand(&app).await;
    let coach = &app.org.coach;
    for (body, field) in [
        (json!({"status": "rejected"}), "reason"),
        (json!({"status": "cancelled"}), "reason"),
        (json!({"status": "on-hold"}), "reason"),
        (
            json!({"status": "failed", "outcome": "no_capacity"}),
            "reason",
        ),
        (json!({"status": "failed", "reason": "full"}), "outcome"),
        (json!({"status": "completed"}), "outcome"),
        (
            json!({"status": "accepted", "outcome": "got_help"}),
            "outcome",
        ),
        (
            json!({"status": "completed", "outcome": "cured"}),
            "outcome",
        ),
    ] {
        let refused = problem(move_to(&app, &id, coach, body.clone()).await, 422).await;
        assert_eq!(error_fields(&refused), vec![field], "{body}");
    }
    let referral = ok_json(app.get(&format!("/referrals/{id}"), coach).await).await;
    assert_eq!(referral["status"], "requested");
    assert_eq!(referral["history"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_participant_sends_and_cancels_but_never_answers() {
    let app = TestApp::spawn().await;
    let resource = sendable_resource(&app).await;
    let me = &app.org.participant;
    let created = app
        .referral(me, app.org.participant_id, resource, "draft")
        .await;
    let id = created["id"].as_str().unwrap();
    ok_json(move_to(&app, id, me, json!({"status": "requested"})).await).await;
    problem(
        move_to(&app, id, me, json!({"status": "accepted"})).await,
        403,
    )
    .await;
    ok_json(
        move_to(
            &app,
            id,
            me,
            json!({"status": "cancelled", "reason": "found another program"}),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn with_a_linked_client_only_the_client_answers_and_staff_are_told_403() {
    let app = TestApp::spawn().await;
    let org = &app.org;
    let p = org.participant_id;
    let resource = app.referral_resource(org, Some(&org.client)).await;
    app.referral_consent(org, p, None, Some(resource), &["referral_details"], 30)
        .await;
    let created = app.referral(&org.coach, p, resource, "requested").await;
    let id = created["id"].as_str().unwrap();
    problem(
        move_to(&app, id, &org.supervisor, json!({"status": "accepted"})).await,
        403,
    )
    .await;
    let accepted =
        ok_json(move_to(&app, id, &org.client, json!({"status": "accepted"})).await).await;
    assert_eq!(
        accepted["history"][1]["actor_id"],
        org.client.id.to_string()
    );
    assert_eq!(accepted["history"][1]["actor_type"], "client");
    problem(
        move_to(
            &app,
            id,
            &org.client,
            json!({"status": "cancelled", "reason": "x"}),
        )
        .await,
        403,
    )
    .await;
    // The change was announced to nobody: the client made it itself.
    let sql = "SELECT count(*) FROM webhook_events WHERE event_type = 'referral.status_changed'";
    assert_eq!(app.count(sql).await, 0);
    ok_json(
        move_to(
            &app,
            id,
            &org.coach,
            json!({"status": "cancelled", "reason": "moved away"}),
        )
        .await,
    )
    .await;
    assert_eq!(app.count(sql).await, 1);
    let reader = app.client_in(org, &["referrals:read"]).await;
    app.sql(&format!(
        "INSERT INTO integration_client_resources VALUES ('{}', '{resource}', '{}')",
        reader.id, org.id
    ))
    .await
    .unwrap();
    let refused = problem(
        move_to(&app, id, &reader, json!({"status": "entered-in-error"})).await,
        403,
    )
    .await;
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("referrals:write"));
}
