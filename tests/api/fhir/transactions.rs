//! A clinic sending a referral as a FHIR transaction Bundle (Patient, ServiceRequest, Task),
//! as the HL7 SDOH Clinical Care guide's referral senders do.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use super::{expressions, fhir, fhir_body, fhir_get, outcome};
use crate::helpers::{ok_json, send, Caller, TestApp};

const MRN_SYSTEM: &str = "https://riverside.example.org/mrn";

/// The bundle a clinic's EHR would send, with `external_id` as the Task's identifier.
pub fn referral_bundle(external_id: &str) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:6b0e5d4e-0c1a-4f5e-9b39-2f7a1f0d0001",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{
                        "type": {"coding": [{
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR"}]},
                        "system": MRN_SYSTEM, "value": "MRN-0042"}],
                    "name": [{"family": "Okafor", "given": ["Ada"]}],
                    "birthDate": "1988-04-12",
                    "telecom": [{"system": "phone", "value": "+1 207 555 0142"}],
                    "communication": [{"language": {"coding": [{
                        "system": "urn:ietf:bcp:47", "code": "en"}]}}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:6b0e5d4e-0c1a-4f5e-9b39-2f7a1f0d0002",
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]},
                    "subject": {"reference": "urn:uuid:6b0e5d4e-0c1a-4f5e-9b39-2f7a1f0d0001"},
                    "priority": "urgent",
                    "reasonCode": [{"text": "Peer support after an overdose"}],
                    "requester": {"display": "Dr. Lena Park, Riverside ED"},
                },
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
            {
                "fullUrl": "urn:uuid:6b0e5d4e-0c1a-4f5e-9b39-2f7a1f0d0003",
                "resource": {
                    "resourceType": "Task",
                    "identifier": [{"system": "https://riverside.example.org/referrals",
                                    "value": external_id}],
                    "status": "requested",
                    "intent": "order",
                    "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code",
                                         "code": "fulfill"}]},
                    "focus": {"reference": "urn:uuid:6b0e5d4e-0c1a-4f5e-9b39-2f7a1f0d0002"},
                    "for": {"reference": "urn:uuid:6b0e5d4e-0c1a-4f5e-9b39-2f7a1f0d0001"},
                    "authoredOn": "2026-12-08T09:00:00Z",
                },
                "request": {"method": "POST", "url": "Task"},
            },
        ],
    })
}

async fn post_bundle(app: &TestApp, caller: &dyn Caller, bundle: &Value) -> Response {
    let request = fhir(app, Method::POST, "", Some(caller))
        .header("content-type", "application/fhir+json")
        .body(bundle.to_string());
    send(request).await
}

fn locations(response: &Value) -> Vec<(String, String)> {
    response["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let r = &e["response"];
            (
                r["status"].as_str().unwrap().to_owned(),
                r["location"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_referral_bundle_makes_an_inbound_referral_and_keeps_the_mrn() {
    let app = TestApp::spawn().await;
    let clinic = &app.org.client;
    let answer = fhir_body(
        post_bundle(&app, clinic, &referral_bundle("RX-1")).await,
        200,
    )
    .await;
    assert_eq!(answer["type"], "transaction-response");
    let made = locations(&answer);
    assert!(
        made.iter().all(|(status, _)| status == "201 Created"),
        "{made:?}"
    );
    let task_id = made[2].1.strip_prefix("Task/").unwrap().to_owned();
    let patient_id = made[0].1.strip_prefix("Patient/").unwrap().to_owned();
    assert_eq!(made[1].1, format!("ServiceRequest/{task_id}"));
    // Exactly what POST /inbound-referrals makes: in the supervisors' queue, requested.
    let referral = ok_json(
        app.get(&format!("/referrals/{task_id}"), &app.org.supervisor)
            .await,
    )
    .await;
    assert_eq!(referral["direction"], "inbound");
    assert_eq!(referral["status"], "requested");
    assert_eq!(referral["external_id"], "RX-1");
    assert_eq!(referral["urgency"], "urgent");
    assert_eq!(referral["reason"], "Peer support after an overdose");
    assert_eq!(
        referral["referring_provider"],
        "Dr. Lena Park, Riverside ED"
    );
    assert_eq!(referral["participant"]["first_name"], "Ada");
    assert_eq!(referral["participant"]["date_of_birth"], "1988-04-12");
    assert_eq!(referral["participant_id"], patient_id.as_str());
    // The clinic reads its Task, identified by its own id.
    let task = fhir_body(
        fhir_get(&app, &format!("/Task/{task_id}"), clinic).await,
        200,
    )
    .await;
    assert_eq!(task["identifier"][0]["value"], "RX-1");
    assert_eq!(task["requester"]["display"], "Riverside Clinic");
    // Once a consent discloses the patient to it, the Patient carries its MRN.
    app.referral_consent(
        &app.org,
        patient_id.parse().unwrap(),
        Some(clinic),
        None,
        &["demographics"],
        30,
    )
    .await;
    let patient = fhir_body(
        fhir_get(&app, &format!("/Patient/{patient_id}"), clinic).await,
        200,
    )
    .await;
    assert_eq!(patient["identifier"][0]["system"], MRN_SYSTEM);
    assert_eq!(patient["identifier"][0]["value"], "MRN-0042");
    assert_eq!(patient["identifier"][0]["type"]["coding"][0]["code"], "MR");
    // Another clinic is not shown this clinic's identifiers, nor the patient.
    outcome(
        fhir_get(
            &app,
            &format!("/Patient/{patient_id}"),
            &app.other_org.client,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn the_same_bundle_sent_twice_at_once_makes_one_referral() {
    let app = TestApp::spawn().await;
    let clinic = &app.org.client;
    let bundle = referral_bundle("RX-2");
    let (first, second) = tokio::join!(
        post_bundle(&app, clinic, &bundle),
        post_bundle(&app, clinic, &bundle)
    );
    let (first, second) = (fhir_body(first, 200).await, fhir_body(second, 200).await);
    let (first, second) = (locations(&first), locations(&second));
    let statuses = [first[0].0.as_str(), second[0].0.as_str()];
    assert!(
        statuses.contains(&"201 Created") && statuses.contains(&"200 OK"),
        "{statuses:?}"
    );
    let places = |made: &[(String, String)]| made.iter().map(|m| m.1.clone()).collect::<Vec<_>>();
    assert_eq!(places(&first), places(&second));
    let sql = "SELECT count(*) FROM referrals WHERE external_id = 'RX-2'";
    assert_eq!(app.count(sql).await, 1);
    let sql = "SELECT count(*) FROM participant_identifiers WHERE value = 'MRN-0042'";
    assert_eq!(app.count(sql).await, 1);
}

#[tokio::test]
async fn a_bundle_that_is_not_a_referral_changes_nothing() {
    let app = TestApp::spawn().await;
    let clinic = &app.org.client;
    let people = "SELECT count(*) FROM participants";
    let before = app.count(people).await;
    // (where, what, its value): each makes the bundle wrong in one element.
    let cases = [
        ("", "type", json!("batch"), "Bundle.type"),
        ("", "entry", json!([null]), "Bundle.entry[0]"),
        (
            "/entry/0/resource",
            "nickname",
            json!("Ace"),
            "Bundle.entry[0].resource.nickname",
        ),
        (
            "/entry/0/resource/name/0",
            "family",
            json!(""),
            "Bundle.entry[0].resource.name.family",
        ),
        (
            "/entry/0/resource",
            "birthDate",
            json!("1988-04"),
            "Bundle.entry[0].resource.birthDate",
        ),
        (
            "/entry/2/resource",
            "status",
            json!("accepted"),
            "Bundle.entry[2].resource.status",
        ),
        (
            "/entry/2/resource/focus",
            "reference",
            json!("ServiceRequest/1"),
            "Bundle.entry[2].resource.focus",
        ),
        (
            "/entry/2/resource",
            "identifier",
            json!([]),
            "Bundle.entry[2].resource.identifier",
        ),
        (
            "/entry/1/resource",
            "priority",
            json!("whenever"),
            "Bundle.entry[1].resource.priority",
        ),
        (
            "/entry/1/request",
            "method",
            json!("PUT"),
            "Bundle.entry[1].request",
        ),
    ];
    for (parent, key, value, element) in cases {
        let mut bundle = referral_bundle("RX-3");
        bundle.pointer_mut(parent).unwrap()[key] = value;
        let issues = outcome(post_bundle(&app, clinic, &bundle).await, 422).await;
        assert!(
            expressions(&issues).contains(&element.to_owned()),
            "{element}: {issues:?}"
        );
    }
    let no_task = {
        let mut bundle = referral_bundle("RX-3");
        bundle["entry"].as_array_mut().unwrap().truncate(2);
        bundle
    };
    let issues = outcome(post_bundle(&app, clinic, &no_task).await, 422).await;
    assert_eq!(expressions(&issues), ["Bundle.entry"]);
    // Not a Bundle, not JSON; users and clients without referrals:write.
    let issues = outcome(
        post_bundle(&app, clinic, &json!({"resourceType": "Task"})).await,
        422,
    )
    .await;
    assert_eq!(expressions(&issues), ["Bundle.resourceType"]);
    let garbage = fhir(&app, Method::POST, "", Some(clinic))
        .header("content-type", "application/fhir+json")
        .body("<Bundle/>");
    outcome(send(garbage).await, 400).await;
    let bundle = referral_bundle("RX-3");
    outcome(post_bundle(&app, &app.org.supervisor, &bundle).await, 403).await;
    let reader = app.client_in(&app.org, &["referrals:read"]).await;
    outcome(post_bundle(&app, &reader, &bundle).await, 403).await;
    assert_eq!(app.count(people).await, before);
    assert_eq!(
        app.count("SELECT count(*) FROM participant_identifiers")
            .await,
        0
    );
}
