//! Outbound referrals: creating drafts and sending them under a consent.

use serde_json::json;

use crate::helpers::{error_fields, ok_json, problem, TestApp};

#[tokio::test]
async fn a_coach_creates_a_draft_that_sends_nothing() {
    let app = TestApp::spawn().await;
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, Some(&org.client)).await;
    let body = json!({"participant_id": p, "resource_id": resource, "reason": "needs MOUD", "urgency": "urgent"});
    let response = app.post("/referrals", Some(&org.coach), &body).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(response.headers().contains_key("etag"));
    let created = crate::helpers::json(response).await;
    assert_eq!(
        location,
        format!("/api/v1/referrals/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["status"], "draft");
    assert_eq!(created["direction"], "outbound");
    assert_eq!(created["history"][0]["to"], "draft");
    assert_eq!(created["history"][0]["actor_type"], "user");
    assert_eq!(created["participant"]["first_name"], "Jordan");
    assert_eq!(app.count("SELECT count(*) FROM disclosures").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM webhook_events").await, 0);
}

#[tokio::test]
async fn sending_to_a_linked_resource_without_consent_is_409_consent_required() {
    let app = TestApp::spawn().await;
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, Some(&org.client)).await;
    let body = json!({"participant_id": p, "resource_id": resource, "reason": "needs MOUD",
        "urgency": "routine", "status": "requested"});
    let refused = problem(app.post("/referrals", Some(&org.coach), &body).await, 409).await;
    assert!(refused["type"]
        .as_str()
        .unwrap()
        .ends_with("consent-required"));
    // A consent that does not cover referral details is not enough either.
    app.referral_consent(org, p, Some(&org.client), None, &["demographics"], 30)
        .await;
    problem_409(&app, &body).await;
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, 0);
}

async fn problem_409(app: &TestApp, body: &serde_json::Value) {
    problem(
        app.post("/referrals", Some(&app.org.coach), body).await,
        409,
    )
    .await;
}

#[tokio::test]
async fn sending_under_a_consent_records_the_disclosure_and_queues_the_event() {
    let app = TestApp::spawn().await;
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, Some(&org.client)).await;
    let consent = app
        .referral_consent(org, p, Some(&org.client), None, &["referral_details"], 30)
        .await;
    let created = app
        .referral(&org.participant, p, resource, "requested")
        .await;
    assert_eq!(created["status"], "requested");
    assert_eq!(created["consent_id"], consent.to_string());
    assert!(created["sent_at"].is_string());
    let id = created["id"].as_str().unwrap();
    let sql = format!("SELECT count(*) FROM disclosures WHERE referral_id = '{id}' AND consent_id = '{consent}'
        AND recipient_client_id = '{}' AND recipient_address LIKE '12 Pier Road%' AND purpose = 'treatment referral'", org.client.id);
    assert_eq!(app.count(&sql).await, 1);
    let sql = format!(
        "SELECT count(*) FROM webhook_events WHERE event_type = 'referral.created'
        AND client_id = '{}' AND data->>'referral_id' = '{id}'",
        org.client.id
    );
    assert_eq!(app.count(&sql).await, 1);
}

#[tokio::test]
async fn an_expired_or_revoked_consent_is_409_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, Some(&org.client)).await;
    let expired = app
        .referral_consent(org, p, Some(&org.client), None, &["referral_details"], -1)
        .await;
    let revoked = app
        .referral_consent(org, p, Some(&org.client), None, &["referral_details"], 30)
        .await;
    app.sql(&format!(
        "UPDATE consents SET revoked_at = now(), revoked_by = '{}' WHERE id = '{revoked}'",
        org.admin.id
    ))
    .await
    .unwrap();
    for (state, consent) in [("expired", expired), ("revoked", revoked)] {
        let body = json!({"participant_id": p, "resource_id": resource, "reason": "needs MOUD",
            "urgency": "routine", "status": "requested", "consent_id": consent});
        let refused = problem(app.post("/referrals", Some(&org.coach), &body).await, 409).await;
        assert!(refused["type"]
            .as_str()
            .unwrap()
            .ends_with("/consent-required"));
        // The given consent was read: the detail names its state.
        let detail = refused["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("is {state}")), "{detail}");
    }
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, 0);
}

#[tokio::test]
async fn a_resource_without_a_client_needs_no_consent_and_one_that_takes_no_referrals_is_409() {
    let app = TestApp::spawn().await;
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, None).await;
    let created = app.referral(&org.coach, p, resource, "requested").await;
    assert_eq!(created["status"], "requested");
    app.sql(&format!(
        "UPDATE resources SET accepts_referrals = false WHERE id = '{resource}'"
    ))
    .await
    .unwrap();
    let body =
        json!({"participant_id": p, "resource_id": resource, "reason": "x", "urgency": "routine"});
    let refused = problem(app.post("/referrals", Some(&org.coach), &body).await, 409).await;
    assert!(refused["type"]
        .as_str()
        .unwrap()
        .ends_with("resource-not-accepting-referrals"));
}

#[tokio::test]
async fn bad_referral_bodies_are_422_naming_each_field() {
    let app = TestApp::spawn().await;
    let (org, p) = (&app.org, app.org.participant_id);
    let other_resource = app.referral_resource(&app.other_org, None).await;
    let body = json!({"participant_id": p, "resource_id": other_resource, "reason": " ",
        "urgency": "routine", "status": "accepted"});
    let refused = problem(app.post("/referrals", Some(&org.coach), &body).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["reason", "status"]);
    let body = json!({"participant_id": p, "resource_id": other_resource, "reason": "x", "urgency": "routine"});
    let refused = problem(app.post("/referrals", Some(&org.coach), &body).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["resource_id"]);
    let body = json!({"participant_id": p, "resource_id": other_resource, "reason": "x", "urgency": "soon", "id": p});
    let refused = problem(app.post("/referrals", Some(&org.coach), &body).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["id", "urgency"]);
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, 0);
}

#[tokio::test]
async fn lists_are_newest_first_paginated_and_filtered() {
    let app = TestApp::spawn().await;
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, None).await;
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(app.referral(&org.coach, p, resource, "draft").await["id"].clone());
    }
    let page = ok_json(app.get("/referrals?limit=2", &org.coach).await).await;
    assert_eq!(page["items"][0]["id"], made[2]);
    assert_eq!(page["items"][1]["id"], made[1]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = ok_json(
        app.get(&format!("/referrals?limit=2&cursor={cursor}"), &org.coach)
            .await,
    )
    .await;
    assert_eq!(page["items"][0]["id"], made[0]);
    assert!(page["next_cursor"].is_null());
    let page = ok_json(
        app.get("/referrals?direction=inbound&status=draft", &org.coach)
            .await,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    for bad in [
        "status=sent",
        "direction=sideways",
        "limit=0",
        "limit=201",
        "cursor=x",
    ] {
        problem(app.get(&format!("/referrals?{bad}"), &org.coach).await, 400).await;
    }
    let page = ok_json(app.get("/referrals", &org.other_coach).await).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
}
