//! A consent names its recipients (42 CFR 2.31): one naming a resource covers only the clients
//! linked to it when it was signed, and a send relies on its consent until it commits.

use std::time::Duration;

use diesel_async::SimpleAsyncConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{ok_json, problem, TestApp};
use crate::referrals::assert_consent_required;

fn send_body(app: &TestApp, resource: Uuid) -> Value {
    json!({"participant_id": app.org.participant_id, "resource_id": resource,
        "reason": "needs MOUD", "urgency": "routine", "status": "requested"})
}

#[tokio::test]
async fn a_client_linked_after_the_consent_was_signed_is_not_covered_by_it() {
    let app = TestApp::spawn().await;
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, None).await;
    let categories = ["referral_details", "demographics"];
    let to_resource = app
        .referral_consent(org, p, None, Some(resource), &categories, 30)
        .await;
    let first = app.referral(&org.coach, p, resource, "requested").await;
    assert_eq!(first["consent_id"], to_resource.to_string());
    let first = first["id"].as_str().unwrap();

    // The clinic is linked to the resource after the participant signed.
    let path = format!("/integration-clients/{}", org.client.id);
    let body = json!({"resource_ids": [resource]});
    ok_json(app.patch(&path, &org.admin, &body).await).await;

    // It sees the referral it now receives, but not the participant.
    let seen = ok_json(app.get(&format!("/referrals/{first}"), &org.client).await).await;
    assert!(seen["participant"].is_null(), "{seen}");
    assert_eq!(seen["participant_redacted"], true);
    // A new send to it needs a consent that names it, given or not.
    let send = send_body(&app, resource);
    assert_consent_required(
        &problem(app.post("/referrals", Some(&org.coach), &send).await, 409).await,
    );
    let mut given = send.clone();
    given["consent_id"] = json!(to_resource);
    assert_consent_required(
        &problem(app.post("/referrals", Some(&org.coach), &given).await, 409).await,
    );
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, 1);

    let to_clinic = app
        .referral_consent(org, p, Some(&org.client), None, &categories, 30)
        .await;
    let second = app.referral(&org.coach, p, resource, "requested").await;
    assert_eq!(second["consent_id"], to_clinic.to_string());
    let second = second["id"].as_str().unwrap();
    let disclosed = format!(
        "SELECT count(*) FROM disclosures WHERE referral_id = '{second}'
         AND recipient_client_id = '{}' AND consent_id = '{to_clinic}'",
        org.client.id
    );
    assert_eq!(app.count(&disclosed).await, 1);
    let announced = format!(
        "SELECT count(*) FROM webhook_events WHERE client_id = '{}'
         AND data = jsonb_build_object('referral_id', '{second}'::text)",
        org.client.id
    );
    assert_eq!(app.count(&announced).await, 1);
    let seen = ok_json(app.get(&format!("/referrals/{second}"), &org.client).await).await;
    assert_eq!(seen["participant"]["first_name"], "Jordan");
}

#[tokio::test]
async fn relinking_a_client_keeps_when_it_was_first_linked() {
    let app = TestApp::spawn().await;
    let org = &app.org;
    let kept = app.referral_resource(org, Some(&org.client)).await;
    let added = app.referral_resource(org, None).await;
    let linked_at =
        "SELECT count(*) FROM integration_client_resources WHERE linked_at < now() - interval '1 hour'";
    assert_eq!(app.count(linked_at).await, 1);
    let path = format!("/integration-clients/{}", org.client.id);
    let body = json!({"resource_ids": [kept, added]});
    ok_json(app.patch(&path, &org.admin, &body).await).await;
    // The kept link is as old as before; the added one is new.
    assert_eq!(app.count(linked_at).await, 1);
    let links = format!(
        "SELECT count(*) FROM integration_client_resources WHERE client_id = '{}'",
        org.client.id
    );
    assert_eq!(app.count(&links).await, 2);
}

/// A resource linked to the clinic client, and the participant's consent naming the clinic.
async fn clinic_and_consent(app: &TestApp) -> (Uuid, Uuid) {
    let (org, p) = (&app.org, app.org.participant_id);
    let resource = app.referral_resource(org, Some(&org.client)).await;
    let consent = app
        .referral_consent(org, p, Some(&org.client), None, &["referral_details"], 30)
        .await;
    (resource, consent)
}

#[tokio::test]
async fn a_send_that_races_a_revocation_waits_for_it_and_is_refused() {
    let app = TestApp::spawn().await;
    let org = &app.org;
    let (resource, consent) = clinic_and_consent(&app).await;
    // A revocation that has changed the row and not yet committed.
    let mut revoking = app.conn().await;
    revoking
        .batch_execute(&format!(
            "BEGIN; UPDATE consents SET revoked_at = now(), revoked_by = '{}' WHERE id = '{consent}'",
            org.admin.id
        ))
        .await
        .unwrap();
    let send = send_body(&app, resource);
    let sending = app.post("/referrals", Some(&org.coach), &send);
    tokio::pin!(sending);
    // The send waits on the consent it relies on...
    let early = tokio::time::timeout(Duration::from_millis(500), &mut sending).await;
    assert!(early.is_err(), "the send did not wait for the revocation");
    revoking.batch_execute("COMMIT").await.unwrap();
    // ...and, once the revocation commits, is refused and leaves nothing behind.
    assert_consent_required(&problem(sending.await, 409).await);
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM disclosures").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM webhook_events").await, 0);
}

#[tokio::test]
async fn sends_racing_a_revocation_each_complete_or_are_refused() {
    let app = TestApp::spawn().await;
    let org = &app.org;
    let (resource, consent) = clinic_and_consent(&app).await;
    // Many sends and one revocation at once: each send completes (with its disclosure) or is
    // refused as the contract says, never with another answer.
    let body = send_body(&app, resource);
    let sends: Vec<_> = (0..6)
        .map(|_| app.post("/referrals", Some(&org.coach), &body))
        .collect();
    // Part 2 lets a patient revoke without giving a reason.
    let (path, no_reason) = (format!("/consents/{consent}/revoke"), json!({}));
    let revoke = app.post(&path, Some(&org.admin), &no_reason);
    let (answers, revoked) = tokio::join!(futures_util::future::join_all(sends), revoke);
    ok_json(revoked).await;
    let mut sent = 0;
    for answer in answers {
        match answer.status().as_u16() {
            201 => sent += 1,
            409 => assert_consent_required(&problem(answer, 409).await),
            other => panic!("a send answered {other}"),
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM referrals").await, sent);
    let disclosed = format!("SELECT count(*) FROM disclosures WHERE consent_id = '{consent}'");
    assert_eq!(app.count(&disclosed).await, sent);
}

#[tokio::test]
async fn revoking_tells_the_client_the_consent_names_even_before_it_received_anything() {
    let app = TestApp::spawn().await;
    let (org, p) = (&app.org, app.org.participant_id);
    let consent = app
        .referral_consent(org, p, Some(&org.client), None, &["referral_details"], 30)
        .await;
    let path = format!("/consents/{consent}/revoke");
    ok_json(app.post(&path, Some(&org.coach), &json!({})).await).await;
    let told = format!(
        "SELECT count(*) FROM webhook_events WHERE event_type = 'consent.revoked'
         AND client_id = '{}' AND data = jsonb_build_object(
             'consent_id', '{consent}'::text, 'referral_ids', '[]'::jsonb)",
        org.client.id
    );
    assert_eq!(app.count(&told).await, 1);
    assert_eq!(app.count("SELECT count(*) FROM webhook_events").await, 1);
}
