//! One referral through its whole loop: consent, sent, accepted and completed by the clinic,
//! events queued, disclosures listed, consent revoked, participant redacted for the clinic.

use serde_json::json;

use crate::helpers::{ok_json, TestApp};

#[tokio::test]
async fn a_referral_goes_round_the_whole_loop() {
    let app = TestApp::spawn().await;
    let (org, p, clinic) = (&app.org, app.org.participant_id, &app.org.client);
    let resource = app.referral_resource(org, Some(clinic)).await;
    let consent = app
        .referral_consent(
            org,
            p,
            Some(clinic),
            Some(resource),
            &["referral_details", "demographics"],
            90,
        )
        .await;
    let created = app.referral(&org.coach, p, resource, "requested").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/referrals/{id}/status");
    let accepted = ok_json(
        app.post(&path, Some(clinic), &json!({"status": "accepted"}))
            .await,
    )
    .await;
    assert!(accepted["participant"]["last_name"]
        .as_str()
        .unwrap()
        .starts_with("Seeded"));
    let done = json!({"status": "completed", "outcome": "got_help"});
    let completed = ok_json(app.post(&path, Some(clinic), &done).await).await;
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["outcome"], "got_help");
    let coach_view = ok_json(app.get(&format!("/referrals/{id}"), &org.coach).await).await;
    let moves: Vec<&str> = coach_view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(moves, ["requested", "accepted", "completed"]);
    // Events: the clinic heard of the referral; its own moves were not echoed back to it.
    let events = format!("SELECT count(*) FROM webhook_events WHERE client_id = '{}' AND data->>'referral_id' = '{id}'", clinic.id);
    assert_eq!(app.count(&events).await, 1);
    // The accounting lists the referral sent and each read of the participant by the clinic.
    let sent = format!("SELECT count(*) FROM disclosures WHERE participant_id = '{p}' AND consent_id = '{consent}' AND 'referral_details' = ANY(information_categories)");
    assert_eq!(app.count(&sent).await, 1);
    let read = format!("SELECT count(*) FROM disclosures WHERE participant_id = '{p}' AND information_categories = '{{demographics}}'");
    assert_eq!(app.count(&read).await, 2);
    // Revoked: the clinic still sees the referral, not the participant.
    app.sql(&format!(
        "UPDATE consents SET revoked_at = now() WHERE id = '{consent}'"
    ))
    .await
    .unwrap();
    let response = app.get(&format!("/referrals/{id}"), clinic).await;
    assert!(response.headers().get("x-redisclosure-notice").is_none());
    let redacted = ok_json(response).await;
    assert_eq!(redacted["status"], "completed");
    assert!(redacted["participant"].is_null());
    assert_eq!(redacted["participant_redacted"], true);
    assert_eq!(app.count(&read).await, 2);
}
