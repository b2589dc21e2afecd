//! One referral through its whole loop, through the API only: a directory resource and a
//! clinic client with a webhook endpoint, the participant's consent, the referral sent,
//! accepted and completed by the clinic, the webhooks received, the accounting of
//! disclosures, the consent revoked and the participant redacted for the clinic.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{created_json, ok_json, RawToken, TestApp, ALL_SCOPES};
use crate::receiver::{spawn_with_worker, Receiver};

/// A resource of the first organization and a clinic client linked to it, whose webhooks go
/// to `receiver`: `(resource id, clinic row id, clinic token)`.
async fn clinic(app: &TestApp, receiver: &Receiver) -> (Uuid, Uuid, RawToken) {
    let resource = json!({"name": "Harbor MOUD Clinic", "organization_name": "Harbor Health",
        "categories": ["moud"], "accepts_referrals": true});
    let resource = created_json(
        app.post("/resources", Some(&app.org.admin), &resource)
            .await,
    )
    .await;
    let client = json!({"name": "Harbor Health EHR", "resource_ids": [resource["id"]],
        "scopes": ALL_SCOPES, "webhook_url": receiver.url});
    let client = created_json(
        app.post("/integration-clients", Some(&app.org.admin), &client)
            .await,
    )
    .await;
    let credentials = json!({"grant_type": "client_credentials",
        "client_id": client["client_id"], "client_secret": client["client_secret"]});
    let token = ok_json(app.post("/auth/token", None, &credentials).await).await;
    (
        id_of(&resource),
        id_of(&client),
        RawToken::new(token["access_token"].as_str().unwrap_or_default()),
    )
}

fn id_of(value: &Value) -> Uuid {
    value["id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_default()
}

/// The types of the events the receiver got, in order.
async fn event_types(receiver: &Receiver, count: usize) -> Vec<String> {
    let received = receiver.wait_for(count).await;
    received
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap_or_default())
        .inspect(crate::docs::assert_event_matches_document)
        .map(|body| body["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_referral_goes_round_the_whole_loop() {
    let app = spawn_with_worker(&[]).await;
    let receiver = Receiver::start();
    let (resource, clinic_id, clinic) = clinic(&app, &receiver).await;
    let (p, participant) = (app.org.participant_id, &app.org.participant);
    let consent_path = format!("/participants/{p}/consents");
    let body = TestApp::consent_body(clinic_id);
    let consent = app.post(&consent_path, Some(participant), &body).await;
    let consent = id_of(&created_json(consent).await);

    let id = id_of(&app.referral(&app.org.coach, p, resource, "requested").await);
    let status = format!("/referrals/{id}/status");
    let accepted = app
        .post(&status, Some(&clinic), &json!({"status": "accepted"}))
        .await;
    assert!(accepted.headers().contains_key("x-redisclosure-notice"));
    let shown = ok_json(accepted).await;
    assert!(shown["participant"]["last_name"]
        .as_str()
        .is_some_and(|n| n.starts_with("Seeded")));
    let done = json!({"status": "completed", "outcome": "got_help"});
    let completed = ok_json(app.post(&status, Some(&clinic), &done).await).await;
    assert_eq!(
        (completed["status"].as_str(), completed["outcome"].as_str()),
        (Some("completed"), Some("got_help"))
    );
    // The clinic heard of the referral; its own moves are not echoed back to it.
    assert_eq!(event_types(&receiver, 1).await, ["referral.created"]);

    let accounting = ok_json(
        app.get(&format!("/participants/{p}/disclosures"), participant)
            .await,
    )
    .await;
    let entries = accounting["items"].as_array().cloned().unwrap_or_default();
    let sent = entries
        .iter()
        .filter(|e| e["referral_id"] == id.to_string());
    assert!(
        sent.clone().count() >= 2,
        "the referral sent and the clinic's reads: {accounting}"
    );
    assert!(sent.clone().all(|e| e["consent_id"] == consent.to_string()
        && e["recipient_client_id"] == clinic_id.to_string()));

    let revoke = json!({"reason": "I found another program"});
    ok_json(
        app.post(
            &format!("/consents/{consent}/revoke"),
            Some(participant),
            &revoke,
        )
        .await,
    )
    .await;
    assert_eq!(
        event_types(&receiver, 2).await,
        ["referral.created", "consent.revoked"]
    );
    let response = app.get(&format!("/referrals/{id}"), &clinic).await;
    assert!(response.headers().get("x-redisclosure-notice").is_none());
    let redacted = ok_json(response).await;
    assert_eq!(redacted["status"], "completed");
    assert!(redacted["participant"].is_null());
    assert_eq!(redacted["participant_redacted"], true);
}
