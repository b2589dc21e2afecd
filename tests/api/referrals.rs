//! Outbound referrals: creating drafts and sending them under a consent.

use serde_json::json;

use crate::helpers::{created_json, error_fields, ok_json, problem, TestApp};

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

/// Asserts that creating `body` as the coach is 409 `consent-required`.
async fn problem_409(app: &TestApp, body: &serde_json::Value) {
    let refused = problem(
        app.post("/referrals", Some(&app.org.coach), body).await,
        409,
    )
    .await;
    assert_consent_required(&refused);
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
async fn a_resource_without_a_client_needs_a_consent_naming_it_and_one_that_takes_no_referrals_is_409(
) {
    let app = TestApp::spawn().await;
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, None).await;
    let send = json!({"participant_id": p, "resource_id": resource, "reason": "needs MOUD",
        "urgency": "routine", "status": "requested"});
    // None at all; one naming another resource; one naming it without referral details.
    problem_409(&app, &send).await;
    let elsewhere = app.referral_resource(org, None).await;
    let other = app
        .referral_consent(org, p, None, Some(elsewhere), &["referral_details"], 30)
        .await;
    problem_409(&app, &send).await;
    let mut naming_other = send.clone();
    naming_other["consent_id"] = json!(other);
    problem_409(&app, &naming_other).await;
    app.referral_consent(org, p, None, Some(resource), &["demographics"], 30)
        .await;
    problem_409(&app, &send).await;
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM disclosures").await, 0);

    let consent = app
        .referral_consent(org, p, None, Some(resource), &["referral_details"], 30)
        .await;
    let created = app.referral(&org.coach, p, resource, "requested").await;
    assert_eq!(created["status"], "requested");
    assert_eq!(created["consent_id"], consent.to_string());
    let disclosed = format!(
        "SELECT count(*) FROM disclosures WHERE consent_id = '{consent}'
         AND recipient_resource_id = '{resource}' AND recipient_client_id IS NULL
         AND recipient_name = 'Harbor MOUD Clinic (Harbor Health)'
         AND recipient_address = '12 Pier Road, Portland, ME, 04101'
         AND information_categories = '{{referral_details}}'"
    );
    assert_eq!(app.count(&disclosed).await, 1);
    assert_eq!(app.count("SELECT count(*) FROM webhook_events").await, 0);

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

/// A draft of the first organization's participant to a resource linked to its clinic client,
/// made by the coach with `consent_id` when given: its id.
async fn draft_to_clinic(app: &TestApp, consent_id: Option<&str>) -> String {
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, Some(&org.client)).await;
    let body = json!({"participant_id": p, "resource_id": resource, "reason": "needs MOUD",
        "urgency": "routine", "consent_id": consent_id});
    let draft = created_json(app.post("/referrals", Some(&org.coach), &body).await).await;
    assert_eq!(draft["status"], "draft");
    draft["id"].as_str().unwrap().to_owned()
}

/// `POST /referrals/{id}/status` to `requested`, as the participant's coach.
async fn send_draft(app: &TestApp, id: &str) -> reqwest::Response {
    let path = format!("/referrals/{id}/status");
    app.post(&path, Some(&app.org.coach), &json!({"status": "requested"}))
        .await
}

/// A consent of the first organization's participant naming its clinic client and covering
/// referral details, signed through the API: its id.
async fn clinic_consent(app: &TestApp) -> String {
    let consent = app.consent_of(app.org.participant_id).await;
    assert_eq!(consent["state"], "active");
    consent["id"].as_str().unwrap().to_owned()
}

async fn revoke(app: &TestApp, consent: &str) {
    let path = format!("/consents/{consent}/revoke");
    let body = json!({"reason": "changed my mind"});
    let revoked = ok_json(app.post(&path, Some(&app.org.coach), &body).await).await;
    assert_eq!(revoked["state"], "revoked");
}

/// Asserts a refused send left the draft as it was: still a draft with one history entry,
/// never sent, under `consent_id` (or none), invisible to the clinic, with no disclosure in
/// the participant's accounting and no referral event queued for any client.
async fn assert_still_unsent(app: &TestApp, id: &str, consent_id: Option<&str>) {
    let org = &app.org;
    let draft = ok_json(app.get(&format!("/referrals/{id}"), &org.coach).await).await;
    assert_eq!(draft["status"], "draft", "{draft}");
    assert_eq!(draft["history"].as_array().unwrap().len(), 1, "{draft}");
    assert!(draft["sent_at"].is_null(), "{draft}");
    assert_eq!(draft["consent_id"].as_str(), consent_id, "{draft}");
    problem(app.get(&format!("/referrals/{id}"), &org.client).await, 404).await;
    let path = format!("/participants/{}/disclosures", org.participant_id);
    let accounting = ok_json(app.get(&path, &org.coach).await).await;
    assert_eq!(accounting["items"], json!([]), "{accounting}");
    let events = format!(
        "SELECT count(*) FROM webhook_events
         WHERE event_type LIKE 'referral.%' OR data->>'referral_id' = '{id}'"
    );
    assert_eq!(app.count(&events).await, 0);
}

pub fn assert_consent_required(refused: &serde_json::Value) {
    assert!(
        refused["type"]
            .as_str()
            .unwrap()
            .ends_with("/consent-required"),
        "{refused}"
    );
    assert_eq!(refused["title"], "Conflict");
}

#[tokio::test]
async fn sending_a_draft_to_a_linked_resource_without_consent_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = draft_to_clinic(&app, None).await;
    let refused = problem(send_draft(&app, &id).await, 409).await;
    assert_consent_required(&refused);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("referral details"),
        "{refused}"
    );
    assert_still_unsent(&app, &id, None).await;
    // A consent naming the clinic that does not cover referral details is not enough either.
    let (org, p) = (&app.org, app.org.participant_id);
    app.referral_consent(org, p, Some(&org.client), None, &["demographics"], 30)
        .await;
    assert_consent_required(&problem(send_draft(&app, &id).await, 409).await);
    assert_still_unsent(&app, &id, None).await;
}

#[tokio::test]
async fn sending_a_draft_whose_only_consent_was_revoked_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let consent = clinic_consent(&app).await;
    let id = draft_to_clinic(&app, None).await;
    revoke(&app, &consent).await;
    assert_consent_required(&problem(send_draft(&app, &id).await, 409).await);
    assert_still_unsent(&app, &id, None).await;
}

#[tokio::test]
async fn sending_a_draft_that_names_a_consent_revoked_since_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let consent = clinic_consent(&app).await;
    let id = draft_to_clinic(&app, Some(&consent)).await;
    revoke(&app, &consent).await;
    let refused = problem(send_draft(&app, &id).await, 409).await;
    assert_consent_required(&refused);
    assert!(
        refused["detail"].as_str().unwrap().contains("is revoked"),
        "{refused}"
    );
    assert_still_unsent(&app, &id, Some(&consent)).await;
    // The draft is sent under the consent it names, so a newer one does not stand in for it.
    clinic_consent(&app).await;
    assert_consent_required(&problem(send_draft(&app, &id).await, 409).await);
    assert_still_unsent(&app, &id, Some(&consent)).await;
}

#[tokio::test]
async fn sending_a_draft_under_an_active_consent_discloses_it_and_queues_the_event() {
    let app = TestApp::spawn().await;
    let org = &app.org;
    let consent = clinic_consent(&app).await;
    let id = draft_to_clinic(&app, None).await;
    let sent = ok_json(send_draft(&app, &id).await).await;
    assert_eq!(sent["status"], "requested");
    assert_eq!(sent["consent_id"], consent);
    assert!(sent["sent_at"].is_string(), "{sent}");
    let moves: Vec<&str> = sent["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(moves, ["draft", "requested"]);
    let path = format!("/participants/{}/disclosures", org.participant_id);
    let accounting = ok_json(app.get(&path, &org.coach).await).await;
    let entries = accounting["items"].as_array().unwrap();
    let sending: Vec<&serde_json::Value> =
        entries.iter().filter(|e| e["referral_id"] == id).collect();
    assert_eq!(sending.len(), 1, "{accounting}");
    assert_eq!(sending[0]["consent_id"], consent);
    assert_eq!(sending[0]["recipient_client_id"], org.client.id.to_string());
    let events = format!(
        "SELECT count(*) FROM webhook_events WHERE event_type = 'referral.created'
         AND client_id = '{}' AND data->>'referral_id' = '{id}'",
        org.client.id
    );
    assert_eq!(app.count(&events).await, 1);
    ok_json(app.get(&format!("/referrals/{id}"), &org.client).await).await;
}
