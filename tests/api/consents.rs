//! 42 CFR part 2 consents: signing with every 2.31 element, the derived state, revocation
//! taking effect on the next request, and the `consent.revoked` events.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};
use tandem::db::models::consents::{self, InformationCategory, Recipient};
use tandem::db::models::disclosures::{self, NewDisclosure};
use tandem::db::schema::{audit_events, consents as consents_table, webhook_events};
use tandem::domain::part2;
use uuid::Uuid;

use crate::helpers::{error_fields, ids, json, ok_json, problem, send, TestApp};

fn path(participant: Uuid) -> String {
    format!("/participants/{participant}/consents")
}

fn id_of(value: &Value) -> Uuid {
    value["id"].as_str().unwrap().parse().unwrap()
}

async fn consent_count(app: &TestApp) -> i64 {
    consents_table::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn staff_sign_a_consent_that_states_the_right_to_revoke_and_the_redisclosure_notice() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let body = TestApp::consent_body(app.org.client.id);
    let response = app.post(&path(p), Some(&app.org.coach), &body).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(response.headers().contains_key("etag"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let consent = json(response).await;
    assert_eq!(
        location,
        format!("/api/v1/consents/{}", consent["id"].as_str().unwrap())
    );
    assert_eq!(consent["state"], "active");
    assert_eq!(consent["participant_id"], p.to_string());
    assert_eq!(consent["recipient_name"], "Riverside Clinic");
    assert!(consent["discloser_name"]
        .as_str()
        .is_some_and(|n| !n.is_empty()));
    assert_eq!(consent["revocation_statement"], part2::REVOCATION_STATEMENT);
    assert_eq!(consent["redisclosure_notice"], part2::REDISCLOSURE_NOTICE);
    assert!(part2::REDISCLOSURE_NOTICE.starts_with(
        "This record which has been disclosed to you is protected by Federal confidentiality rules (42 CFR part 2)."
    ));
    let read = ok_json(
        app.get(&location.replace("/api/v1", ""), &app.org.participant)
            .await,
    )
    .await;
    assert_eq!(read, consent);
}

#[tokio::test]
async fn a_participant_signs_their_own_consent_only_as_self() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let mut body = TestApp::consent_body(app.org.client.id);
    body["signer_relationship"] = json!("guardian");
    let refused = problem(
        app.post(&path(p), Some(&app.org.participant), &body).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["signer_relationship"]);
    assert_eq!(consent_count(&app).await, 0);
    body["signer_relationship"] = json!("self");
    let response = app.post(&path(p), Some(&app.org.participant), &body).await;
    assert_eq!(response.status(), 201);
    let consent = json(response).await;
    assert_eq!(consent["created_by"], app.org.participant.id.to_string());
}

#[tokio::test]
async fn the_recipient_defaults_to_the_resources_name_and_must_be_the_organizations() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let resource = app.consent_recipient_resource(&app.org).await;
    let mut body = TestApp::consent_body(app.org.client.id);
    body.as_object_mut().unwrap().remove("recipient_client_id");
    body["recipient_resource_id"] = json!(resource);
    body["discloser_name"] = json!("Tandem Peer Recovery Program");
    let consent = json(app.post(&path(p), Some(&app.org.admin), &body).await).await;
    assert_eq!(consent["recipient_name"], "Harbor Light MOUD Clinic");
    assert_eq!(consent["discloser_name"], "Tandem Peer Recovery Program");

    let elsewhere = app.consent_recipient_resource(&app.other_org).await;
    body["recipient_resource_id"] = json!(elsewhere);
    body["recipient_client_id"] = json!(app.other_org.client.id);
    let refused = problem(app.post(&path(p), Some(&app.org.admin), &body).await, 422).await;
    assert_eq!(error_fields(&refused), ["recipient_resource_id"]);
    body["recipient_resource_id"] = json!(resource);
    let refused = problem(app.post(&path(p), Some(&app.org.admin), &body).await, 422).await;
    assert_eq!(error_fields(&refused), ["recipient_client_id"]);
    assert_eq!(consent_count(&app).await, 1);
}

#[tokio::test]
async fn each_missing_element_of_42_cfr_2_31_is_named_alone_and_all_together() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let full = TestApp::consent_body(app.org.client.id);
    let single = [
        ("purpose", vec!["purpose"]),
        ("information_categories", vec!["information_categories"]),
        ("information_description", vec!["information_description"]),
        ("signed_by_name", vec!["signed_by_name"]),
        ("signer_relationship", vec!["signer_relationship"]),
        ("signed_at", vec!["signed_at"]),
        ("signature_method", vec!["signature_method"]),
        ("expires_at", vec!["expires_at", "expiration_event"]),
        (
            "recipient_client_id",
            vec![
                "recipient_resource_id",
                "recipient_client_id",
                "recipient_name",
            ],
        ),
    ];
    for (field, named) in single {
        let mut body = full.clone();
        body.as_object_mut().unwrap().remove(field);
        let refused = problem(app.post(&path(p), Some(&app.org.coach), &body).await, 422).await;
        assert_eq!(error_fields(&refused), named, "without {field}: {refused}");
    }
    let refused = problem(
        app.post(&path(p), Some(&app.org.coach), &json!({})).await,
        422,
    )
    .await;
    let mut fields = error_fields(&refused);
    fields.sort();
    assert_eq!(
        fields,
        [
            "expiration_event",
            "expires_at",
            "information_categories",
            "information_description",
            "purpose",
            "recipient_client_id",
            "recipient_name",
            "recipient_resource_id",
            "signature_method",
            "signed_at",
            "signed_by_name",
            "signer_relationship",
        ]
    );
    assert_eq!(consent_count(&app).await, 0);
}

#[tokio::test]
async fn bad_elements_are_refused_naming_each() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let mut body = TestApp::consent_body(app.org.client.id);
    body["information_categories"] = json!([]);
    body["signed_at"] = json!(Utc::now() + Duration::hours(1));
    body["expires_at"] = json!(Utc::now());
    body["purpose"] = json!("   ");
    let refused = problem(app.post(&path(p), Some(&app.org.coach), &body).await, 422).await;
    let mut fields = error_fields(&refused);
    fields.sort();
    assert_eq!(
        fields,
        [
            "expires_at",
            "information_categories",
            "purpose",
            "signed_at"
        ]
    );

    let mut body = TestApp::consent_body(app.org.client.id);
    body["information_categories"] = json!(["demographics", "favourite_colour"]);
    body["signature_method"] = json!("verbal");
    let refused = problem(app.post(&path(p), Some(&app.org.coach), &body).await, 422).await;
    let fields = error_fields(&refused);
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("information_categories")),
        "{refused}"
    );
    assert!(fields.iter().any(|f| f == "signature_method"), "{refused}");
    assert_eq!(consent_count(&app).await, 0);
}

#[tokio::test]
async fn an_expiration_event_alone_is_an_expiry() {
    let app = TestApp::spawn().await;
    let mut body = TestApp::consent_body(app.org.client.id);
    body.as_object_mut().unwrap().remove("expires_at");
    body["expiration_event"] = json!("When the referral is closed");
    let response = app
        .post(&path(app.org.participant_id), Some(&app.org.coach), &body)
        .await;
    assert_eq!(response.status(), 201);
    let consent = json(response).await;
    assert_eq!(consent["expires_at"], Value::Null);
    assert_eq!(consent["state"], "active");
}

#[tokio::test]
async fn a_consent_past_its_expiry_reads_as_expired_and_lists_filter_by_state() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let expired = id_of(&app.consent_of(p).await);
    let active = id_of(&app.consent_of(p).await);
    let revoked = id_of(&app.consent_of(p).await);
    let sql = format!(
        "UPDATE consents SET signed_at = now() - interval '2 days', \
         expires_at = now() - interval '1 day' WHERE id = '{expired}'"
    );
    app.sql(&sql).await.unwrap();
    let revoke = app
        .post(
            &format!("/consents/{revoked}/revoke"),
            Some(&app.org.coach),
            &json!({}),
        )
        .await;
    assert_eq!(revoke.status(), 200);
    let one = ok_json(
        app.get(&format!("/consents/{expired}"), &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(one["state"], "expired");
    for (state, id) in [
        ("active", active),
        ("expired", expired),
        ("revoked", revoked),
    ] {
        let page = ok_json(
            app.get(&format!("{}?state={state}", path(p)), &app.org.coach)
                .await,
        )
        .await;
        assert_eq!(ids(&page), [id.to_string()], "{state}");
    }
    let all = ok_json(app.get(&path(p), &app.org.coach).await).await;
    assert_eq!(
        ids(&all),
        [revoked, active, expired].map(|id| id.to_string())
    );
    let bad = app
        .get(&format!("{}?state=pending", path(p)), &app.org.coach)
        .await;
    problem(bad, 400).await;
}

#[tokio::test]
async fn consent_lists_page_by_keyset() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(app.consent_of(p).await["id"].as_str().unwrap().to_owned());
    }
    made.reverse();
    let first = ok_json(
        app.get(&format!("{}?limit=2", path(p)), &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(ids(&first), made[..2]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = format!("{}?limit=2&cursor={cursor}", path(p));
    let second = ok_json(app.get(&rest, &app.org.coach).await).await;
    assert_eq!(ids(&second), made[2..]);
    assert_eq!(second["next_cursor"], Value::Null);
    for bad in ["limit=0", "limit=201", "cursor=garbage"] {
        problem(
            app.get(&format!("{}?{bad}", path(p)), &app.org.coach).await,
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn a_revocation_takes_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let consent = app.consent_of(p).await;
    let id = id_of(&consent);
    let recipient = Recipient {
        client_id: Some(app.org.client.id),
        resource_id: None,
    };
    let category = InformationCategory::ReferralDetails;
    let mut conn = app.runtime_conn().await;
    let found = consents::find_active(&mut conn, p, recipient, category)
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.id), Some(id));

    let body = json!({"reason": "I no longer want the clinic to have my information"});
    let revoked = ok_json(
        app.post(
            &format!("/consents/{id}/revoke"),
            Some(&app.org.participant),
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(revoked["state"], "revoked");
    assert_eq!(revoked["revoked_by"], app.org.participant.id.to_string());
    assert_eq!(revoked["revocation_reason"], body["reason"]);
    let found = consents::find_active(&mut conn, p, recipient, category)
        .await
        .unwrap();
    assert!(found.is_none());
    let read = ok_json(app.get(&format!("/consents/{id}"), &app.org.coach).await).await;
    assert_eq!(read["state"], "revoked");
}

#[tokio::test]
async fn revoking_a_revoked_consent_is_a_conflict_that_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = id_of(&app.consent_of(app.org.participant_id).await);
    let revoke = format!("/consents/{id}/revoke");
    let first = ok_json(
        app.post(
            &revoke,
            Some(&app.org.coach),
            &json!({"reason": "asked to"}),
        )
        .await,
    )
    .await;
    let again = app
        .post(
            &revoke,
            Some(&app.org.supervisor),
            &json!({"reason": "twice"}),
        )
        .await;
    let refused = problem(again, 409).await;
    assert!(refused["type"]
        .as_str()
        .unwrap()
        .ends_with("consent-revoked"));
    let read = ok_json(app.get(&format!("/consents/{id}"), &app.org.coach).await).await;
    assert_eq!(read, first);
    let denied: i64 = audit_events::table
        .filter(audit_events::actor_id.eq(app.org.supervisor.id))
        .filter(audit_events::outcome.eq("denied"))
        .filter(audit_events::participant_id.eq(app.org.participant_id))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(denied, 1);
}

#[tokio::test]
async fn a_participant_cannot_revoke_someone_elses_consent() {
    let app = TestApp::spawn().await;
    let neighbour = app.participant_of(&app.org.coach).await;
    let id = id_of(&app.consent_of(neighbour.id).await);
    let answer = app
        .post(
            &format!("/consents/{id}/revoke"),
            Some(&app.org.participant),
            &json!({}),
        )
        .await;
    problem(answer, 404).await;
    let read = ok_json(app.get(&format!("/consents/{id}"), &app.org.coach).await).await;
    assert_eq!(read["state"], "active");
}

/// A disclosure to `client` under `consent`, as whatever discloses records one.
async fn disclose(app: &TestApp, consent: &Value, client: Uuid, referral: Option<Uuid>) {
    let mut conn = app.conn().await;
    let new = NewDisclosure {
        organization_id: app.org.id,
        participant_id: app.org.participant_id,
        recipient_client_id: Some(client),
        recipient_resource_id: None,
        recipient_name: "Riverside Clinic".into(),
        recipient_address: None,
        information_categories: vec!["demographics".into()],
        description: "Name and date of birth".into(),
        purpose: "Referral".into(),
        consent_id: Some(id_of(consent)),
        referral_id: referral,
        request_id: None,
    };
    disclosures::record(&mut conn, new).await.unwrap();
}

type EventRow = (Uuid, String, Value);

async fn events(app: &TestApp) -> Vec<EventRow> {
    webhook_events::table
        .select((
            webhook_events::client_id,
            webhook_events::event_type,
            webhook_events::data,
        ))
        .order(webhook_events::client_id)
        .load(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn revoking_tells_every_client_that_received_data_under_the_consent() {
    let app = TestApp::spawn().await;
    let consent = app.consent_of(app.org.participant_id).await;
    let id = id_of(&consent);
    let second = app.client_in(&app.org, &["referrals:read"]).await;
    let bystander = app.client_in(&app.org, &["referrals:read"]).await;
    let referral = insert_referral(&app).await;
    disclose(&app, &consent, app.org.client.id, Some(referral)).await;
    disclose(&app, &consent, app.org.client.id, Some(referral)).await;
    disclose(&app, &consent, second.id, None).await;
    let other = app.consent_of(app.org.participant_id).await;
    disclose(&app, &other, bystander.id, None).await;

    ok_json(
        app.post(
            &format!("/consents/{id}/revoke"),
            Some(&app.org.coach),
            &json!({}),
        )
        .await,
    )
    .await;
    let mut expected = vec![
        (
            app.org.client.id,
            "consent.revoked".to_owned(),
            json!({"consent_id": id, "referral_ids": [referral]}),
        ),
        (
            second.id,
            "consent.revoked".to_owned(),
            json!({"consent_id": id, "referral_ids": []}),
        ),
    ];
    expected.sort_by_key(|e| e.0);
    assert_eq!(events(&app).await, expected);
}

#[tokio::test]
async fn a_refused_revocation_queues_no_event() {
    let app = TestApp::spawn().await;
    let consent = app.consent_of(app.org.participant_id).await;
    disclose(&app, &consent, app.org.client.id, None).await;
    let revoke = format!("/consents/{}/revoke", id_of(&consent));
    problem(
        app.post(&revoke, Some(&app.org.other_coach), &json!({}))
            .await,
        404,
    )
    .await;
    assert!(events(&app).await.is_empty());
}

/// An outbound referral of the first organization's participant, written with SQL.
async fn insert_referral(app: &TestApp) -> Uuid {
    let resource = app.consent_recipient_resource(&app.org).await;
    let id = Uuid::now_v7();
    let sql = format!(
        "INSERT INTO referrals (id, organization_id, participant_id, resource_id, direction,
             reason, urgency, status)
         VALUES ('{id}', '{}', '{}', '{resource}', 'outbound', 'MOUD intake', 'routine', 'requested')",
        app.org.id, app.org.participant_id
    );
    app.sql(&sql).await.unwrap();
    id
}

#[tokio::test]
async fn signing_honours_idempotency_keys() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let body = TestApp::consent_body(app.org.client.id);
    let key = Uuid::new_v4().to_string();
    let send_with = |body: &Value| {
        let request = app.request(reqwest::Method::POST, &path(p), Some(&app.org.coach));
        send(request.header("Idempotency-Key", &key).json(body))
    };
    let first = send_with(&body).await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;
    let again = send_with(&body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await["id"], first["id"]);
    let mut other = body.clone();
    other["purpose"] = json!("Something else");
    problem(send_with(&other).await, 422).await;
    assert_eq!(consent_count(&app).await, 1);
}
