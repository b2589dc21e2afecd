//! What integration clients see: only their referrals, the participant only under an active
//! consent, with the redisclosure notice, and never notes or goals.

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{ok_json, problem, TestApp};

/// A referral to a resource linked to the org's clinic, sent under a referral-details consent.
async fn sent_to_clinic(app: &TestApp) -> (String, Uuid) {
    let org = &app.org;
    let resource = app.referral_resource(org, Some(&org.client)).await;
    app.referral_consent(
        org,
        org.participant_id,
        Some(&org.client),
        None,
        &["referral_details"],
        30,
    )
    .await;
    let created = app
        .referral(&org.coach, org.participant_id, resource, "requested")
        .await;
    (created["id"].as_str().unwrap().to_owned(), resource)
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_client_sees_the_participant_only_under_a_demographics_consent() {
    let app = TestApp::spawn().await;
    let (id, _) = sent_to_clinic(&app).await;
    let clinic = &app.org.client;
    let response = app.get(&format!("/referrals/{id}"), clinic).await;
    assert_eq!(header(&response, "x-redisclosure-notice"), None);
    let seen: Value = ok_json(response).await;
    assert!(seen["participant"].is_null());
    assert_eq!(seen["participant_redacted"], true);
    let consent = app
        .referral_consent(
            &app.org,
            app.org.participant_id,
            Some(clinic),
            None,
            &["demographics"],
            30,
        )
        .await;
    let response = app.get(&format!("/referrals/{id}"), clinic).await;
    assert!(header(&response, "x-redisclosure-notice")
        .unwrap()
        .contains("42 CFR part 2"));
    assert_eq!(header(&response, "x-consent-id"), Some(consent.to_string()));
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("no-store")
    );
    let seen = ok_json(response).await;
    assert_eq!(seen["participant"]["first_name"], "Jordan");
    assert_eq!(seen["participant_redacted"], false);
    let sql = format!(
        "SELECT count(*) FROM disclosures WHERE consent_id = '{consent}'
        AND information_categories = '{{demographics}}' AND request_id IS NOT NULL"
    );
    assert_eq!(app.count(&sql).await, 1);
    // The list discloses too, and says so.
    let response = app.get("/referrals", clinic).await;
    assert_eq!(header(&response, "x-consent-id"), Some(consent.to_string()));
    assert_eq!(app.count(&sql).await, 2);
    // Expiry hides the participant again, on the next request.
    app.sql(&format!(
        "UPDATE consents SET expires_at = now() - interval '1 second' WHERE id = '{consent}'"
    ))
    .await
    .unwrap();
    let response = app.get(&format!("/referrals/{id}"), clinic).await;
    assert_eq!(header(&response, "x-consent-id"), None);
    assert!(ok_json(response).await["participant"].is_null());
}

#[tokio::test]
async fn a_client_never_sees_drafts_other_clients_referrals_or_other_resources() {
    let app = TestApp::spawn().await;
    let org = &app.org;
    let (id, resource) = sent_to_clinic(&app).await;
    let draft = app
        .referral(&org.coach, org.participant_id, resource, "draft")
        .await;
    let draft = draft["id"].as_str().unwrap();
    problem(
        app.get(&format!("/referrals/{draft}"), &org.client).await,
        404,
    )
    .await;
    let other = app
        .client_in(org, &["referrals:read", "referrals:write"])
        .await;
    problem(app.get(&format!("/referrals/{id}"), &other).await, 404).await;
    problem(
        app.get(&format!("/referrals/{id}"), &app.other_org.client)
            .await,
        404,
    )
    .await;
    let listed = ok_json(app.get("/referrals", &org.client).await).await;
    let ids = crate::helpers::ids(&listed);
    assert_eq!(ids, vec![id.clone()]);
    let listed = ok_json(app.get("/referrals", &other).await).await;
    assert!(crate::helpers::ids(&listed).is_empty());
}

#[tokio::test]
async fn a_client_without_referrals_read_is_403_naming_the_scope() {
    let app = TestApp::spawn().await;
    let (id, _) = sent_to_clinic(&app).await;
    let directory_only = app.client_in(&app.org, &["directory:read"]).await;
    for path in [format!("/referrals/{id}"), "/referrals".to_owned()] {
        let refused = problem(app.get(&path, &directory_only).await, 403).await;
        assert!(refused["type"]
            .as_str()
            .unwrap()
            .ends_with("insufficient-scope"));
        assert!(refused["detail"]
            .as_str()
            .unwrap()
            .contains("referrals:read"));
    }
}

#[tokio::test]
async fn a_clinic_client_reading_notes_or_goals_is_403() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    for path in [
        format!("/participants/{p}/goals"),
        format!("/participants/{p}/session-notes"),
        format!("/participants/{p}"),
    ] {
        problem(app.get(&path, &app.org.client).await, 403).await;
    }
}
