//! A receiver moving a Task with `PUT`: the referral's own state machine, versions, and what
//! the receiver may not change.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use super::{expressions, fhir, fhir_body, fhir_get, header, outcome, sent_to_clinic};
use crate::helpers::{ok_json, send, Caller, TestApp};

async fn put(
    app: &TestApp,
    id: &str,
    caller: &dyn Caller,
    if_match: Option<&str>,
    task: &Value,
) -> Response {
    let mut request = fhir(app, Method::PUT, &format!("/Task/{id}"), Some(caller))
        .header("content-type", "application/fhir+json")
        .body(task.to_string());
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    send(request).await
}

/// The Task and its `ETag`.
async fn read(app: &TestApp, id: &str) -> (Value, String) {
    let response = fhir_get(app, &format!("/Task/{id}"), &app.org.client).await;
    let etag = header(&response, "etag").unwrap();
    (fhir_body(response, 200).await, etag)
}

fn outcome_output(app: &TestApp, code: &str) -> Value {
    json!([{
        "type": {"coding": [{"system": app.url("/fhir/r4/CodeSystem/task-output"),
                             "code": "referral-outcome"}]},
        "valueCodeableConcept": {"coding": [{
            "system": app.url("/fhir/r4/CodeSystem/referral-outcome"), "code": code}]},
    }])
}

#[tokio::test]
async fn the_receiver_moves_the_task_and_a_stale_version_is_refused() {
    let app = TestApp::spawn().await;
    let (id, resource) = sent_to_clinic(&app, &["demographics"]).await;
    // A second clinic linked to the resource after the referral went out.
    let listener = app.client_in(&app.org, &["referrals:read"]).await;
    app.sql(&format!(
        "INSERT INTO integration_client_resources (client_id, resource_id, organization_id)
         VALUES ('{}', '{resource}', '{}')",
        listener.id, app.org.id
    ))
    .await
    .unwrap();
    let (mut task, etag) = read(&app, &id).await;
    task["status"] = json!("accepted");
    let response = put(&app, &id, &app.org.client, Some(&etag), &task).await;
    let new_etag = header(&response, "etag").unwrap();
    let accepted = fhir_body(response, 200).await;
    assert_eq!(accepted["status"], "accepted");
    assert_ne!(new_etag, etag);
    assert_ne!(accepted["meta"]["versionId"], task["meta"]["versionId"]);
    // The same change on the version it was read at: 412, and nothing moves.
    task["status"] = json!("in-progress");
    let issues = outcome(
        put(&app, &id, &app.org.client, Some(&etag), &task).await,
        412,
    )
    .await;
    assert_eq!(issues[0]["code"], "conflict");
    // On the current version it goes through, as the REST status change would.
    let mut current = accepted.clone();
    current["status"] = json!("completed");
    current["output"] = outcome_output(&app, "got_help");
    let done = fhir_body(
        put(&app, &id, &app.org.client, Some(&new_etag), &current).await,
        200,
    )
    .await;
    assert_eq!(done["status"], "completed");
    let stated = &done["output"][0]["valueCodeableConcept"]["coding"][0];
    assert_eq!(stated["code"], "got_help");
    assert_eq!(
        stated["system"],
        app.url("/fhir/r4/CodeSystem/referral-outcome")
    );
    let referral = ok_json(
        app.get(&format!("/referrals/{id}"), &app.org.supervisor)
            .await,
    )
    .await;
    assert_eq!(referral["status"], "completed");
    assert_eq!(referral["outcome"], "got_help");
    let moves: Vec<&str> = referral["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["to"].as_str().unwrap())
        .collect();
    assert_eq!(moves, ["requested", "accepted", "completed"]);
    assert_eq!(referral["history"][1]["actor_type"], "client");
    // Webhooks go to the other clients that hear of the referral, as for a REST move.
    let heard = |client: uuid::Uuid| {
        format!(
            "SELECT count(*) FROM webhook_events WHERE event_type = 'referral.status_changed'
             AND client_id = '{client}' AND data->>'referral_id' = '{id}'"
        )
    };
    assert_eq!(app.count(&heard(app.org.client.id)).await, 0);
    assert_eq!(
        app.count(&heard(listener.id)).await,
        2,
        "accepted, completed"
    );
    // From completed it may not move: the state machine's 409, as an OperationOutcome.
    let mut again = done.clone();
    again["status"] = json!("in-progress");
    again.as_object_mut().unwrap().remove("output");
    let issues = outcome(put(&app, &id, &app.org.client, None, &again).await, 409).await;
    assert_eq!(issues[0]["code"], "business-rule");
    // Sending it back unchanged changes nothing.
    let same = fhir_body(put(&app, &id, &app.org.client, None, &done).await, 200).await;
    assert_eq!(same["meta"]["versionId"], done["meta"]["versionId"]);
}

#[tokio::test]
async fn the_receiver_may_change_only_the_status_its_reason_and_output() {
    let app = TestApp::spawn().await;
    let (id, _) = sent_to_clinic(&app, &[]).await;
    let (task, etag) = read(&app, &id).await;
    let mut changed = task.clone();
    changed["status"] = json!("accepted");
    changed["intent"] = json!("plan");
    changed["owner"] =
        json!({"reference": "HealthcareService/0194a5b6-0000-7000-8000-000000000000"});
    changed["note"] = json!([{"text": "moved"}]);
    let issues = outcome(
        put(&app, &id, &app.org.client, Some(&etag), &changed).await,
        422,
    )
    .await;
    assert_eq!(
        expressions(&issues),
        ["Task.intent", "Task.note", "Task.owner"]
    );
    // A rejection needs a reason, a completion an outcome: named by their Task elements.
    let mut rejected = task.clone();
    rejected["status"] = json!("rejected");
    let issues = outcome(put(&app, &id, &app.org.client, None, &rejected).await, 422).await;
    assert_eq!(expressions(&issues), ["Task.statusReason"]);
    rejected["statusReason"] = json!({"text": "No capacity this month"});
    let done = fhir_body(put(&app, &id, &app.org.client, None, &rejected).await, 200).await;
    assert_eq!(done["status"], "rejected");
    assert_eq!(done["statusReason"]["text"], "No capacity this month");
    let (_, after) = read(&app, &id).await;
    assert_ne!(after, etag);
}

#[tokio::test]
async fn a_body_that_is_not_a_task_changes_nothing() {
    let app = TestApp::spawn().await;
    let (id, _) = sent_to_clinic(&app, &[]).await;
    let (task, _) = read(&app, &id).await;
    let clinic = &app.org.client;
    let mut unknown = task.clone();
    unknown["status"] = json!("accepted");
    unknown["fulfilmentNote"] = json!("x");
    let issues = outcome(put(&app, &id, clinic, None, &unknown).await, 422).await;
    assert_eq!(expressions(&issues), ["Task.fulfilmentNote"]);
    let mut wrong_type = task.clone();
    wrong_type["resourceType"] = json!("ServiceRequest");
    let issues = outcome(put(&app, &id, clinic, None, &wrong_type).await, 422).await;
    assert_eq!(expressions(&issues), ["Task.resourceType"]);
    let mut other_id = task.clone();
    other_id["id"] = json!(uuid::Uuid::now_v7().to_string());
    outcome(put(&app, &id, clinic, None, &other_id).await, 422).await;
    let mut bad_status = task.clone();
    bad_status["status"] = json!("received");
    let issues = outcome(put(&app, &id, clinic, None, &bad_status).await, 422).await;
    assert_eq!(expressions(&issues), ["Task.status"]);
    let not_json = fhir(&app, Method::PUT, &format!("/Task/{id}"), Some(clinic))
        .header("content-type", "application/fhir+json")
        .body("{not json");
    outcome(send(not_json).await, 400).await;
    let as_text = fhir(&app, Method::PUT, &format!("/Task/{id}"), Some(clinic))
        .header("content-type", "text/plain")
        .body(task.to_string());
    outcome(send(as_text).await, 415).await;
    // Users and clients that are not a side of the referral are refused.
    let mut accepted = task.clone();
    accepted["status"] = json!("accepted");
    let unlinked = app
        .client_in(&app.org, &["referrals:read", "referrals:write"])
        .await;
    outcome(put(&app, &id, &unlinked, None, &accepted).await, 404).await;
    outcome(
        put(&app, &id, &app.org.supervisor, None, &accepted).await,
        403,
    )
    .await;
    let reader = app.client_in(&app.org, &["referrals:read"]).await;
    outcome(put(&app, &id, &reader, None, &accepted).await, 403).await;
    let (after, _) = read(&app, &id).await;
    assert_eq!(after["status"], "requested");
    assert_eq!(after["meta"]["versionId"], task["meta"]["versionId"]);
}
