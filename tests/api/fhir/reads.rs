//! ServiceRequest, Patient and HealthcareService reads, as a referral recipient follows a
//! Task's references.

use serde_json::{json, Value};

use super::{fhir_body, fhir_get, header, outcome, sent_to_clinic};
use crate::helpers::{ok_json, TestApp};

const SR_PROFILE: &str =
    "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest";
const SDOHCC_CODES: &str =
    "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes";

#[tokio::test]
async fn the_service_request_says_what_is_asked_for_whom_and_under_which_consent() {
    let app = TestApp::spawn().await;
    let (id, resource) = sent_to_clinic(&app, &[]).await;
    let task = fhir_body(
        fhir_get(&app, &format!("/Task/{id}"), &app.org.client).await,
        200,
    )
    .await;
    let focus = task["focus"]["reference"].as_str().unwrap();
    let response = fhir_get(&app, &format!("/{focus}"), &app.org.client).await;
    assert!(header(&response, "etag").is_some());
    let request = fhir_body(response, 200).await;
    // The SDOHCC ServiceRequest's required elements.
    assert_eq!(request["resourceType"], "ServiceRequest");
    assert_eq!(request["meta"]["profile"][0], SR_PROFILE);
    assert_eq!(request["status"], "active");
    assert_eq!(request["intent"], "order");
    assert_eq!(
        request["code"]["coding"][0]["system"],
        "http://snomed.info/sct"
    );
    assert_eq!(request["code"]["text"], "Harbor MOUD Clinic");
    assert_eq!(request["subject"]["reference"], task["for"]["reference"]);
    assert_eq!(request["priority"], "routine");
    assert_eq!(request["reasonCode"][0]["text"], "needs MOUD");
    assert_eq!(
        request["performer"][0]["reference"],
        format!("HealthcareService/{resource}")
    );
    assert_eq!(request["requester"], task["requester"]);
    let categories = request["category"].as_array().unwrap();
    assert_eq!(categories[0]["coding"][0]["system"], SDOHCC_CODES);
    assert_eq!(
        categories[0]["coding"][0]["code"],
        "sdoh-category-unspecified"
    );
    assert_eq!(categories[1]["coding"][0]["code"], "moud");
    let referral = ok_json(
        app.get(&format!("/referrals/{id}"), &app.org.supervisor)
            .await,
    )
    .await;
    let consent = referral["consent_id"].as_str().unwrap();
    assert_eq!(request["supportingInfo"][0]["type"], "Consent");
    assert_eq!(
        request["supportingInfo"][0]["identifier"]["value"],
        format!("urn:uuid:{consent}")
    );
    let labels: Vec<&str> = request["meta"]["security"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["R", "SUD", "NODSCLCD"]);
    // Another clinic, or a user, cannot read it.
    let unlinked = app.client_in(&app.org, &["referrals:read"]).await;
    outcome(fhir_get(&app, &format!("/{focus}"), &unlinked).await, 404).await;
    outcome(
        fhir_get(&app, &format!("/{focus}"), &app.org.coach).await,
        403,
    )
    .await;
}

#[tokio::test]
async fn the_patient_is_read_only_under_an_active_consent_and_is_404_once_it_is_revoked() {
    let app = TestApp::spawn().await;
    let (id, _) = sent_to_clinic(&app, &[]).await;
    let clinic = &app.org.client;
    let path = format!("/Patient/{}", app.org.participant_id);
    // Referral details only: the clinic may not see who the patient is.
    let hidden = outcome(fhir_get(&app, &path, clinic).await, 404).await;
    let missing = format!("/Patient/{}", uuid::Uuid::now_v7());
    let nobody = outcome(fhir_get(&app, &missing, clinic).await, 404).await;
    assert_eq!(hidden, nobody, "a hidden patient looks like no patient");
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
    let response = fhir_get(&app, &path, clinic).await;
    assert!(header(&response, "x-redisclosure-notice").is_some());
    assert_eq!(header(&response, "x-consent-id"), Some(consent.to_string()));
    let patient = fhir_body(response, 200).await;
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["id"], app.org.participant_id.to_string());
    assert_eq!(patient["name"][0]["given"][0], "Jordan");
    assert_eq!(patient["meta"]["security"][0]["code"], "R");
    let disclosed = format!(
        "SELECT count(*) FROM disclosures WHERE consent_id = '{consent}' AND referral_id = '{id}'"
    );
    assert_eq!(app.count(&disclosed).await, 1);
    // Other clinics and users never see it.
    outcome(fhir_get(&app, &path, &app.other_org.client).await, 404).await;
    outcome(
        fhir_get(
            &app,
            &path,
            &app.client_in(&app.org, &["referrals:read"]).await,
        )
        .await,
        404,
    )
    .await;
    outcome(fhir_get(&app, &path, &app.org.supervisor).await, 403).await;
    // The participant revokes the consent: the next read is 404 again.
    let revoked = app
        .post(
            &format!("/consents/{consent}/revoke"),
            Some(&app.org.supervisor),
            &json!({}),
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let after = outcome(fhir_get(&app, &path, clinic).await, 404).await;
    assert_eq!(after, nobody);
    assert_eq!(app.count(&disclosed).await, 1);
    let denied = format!(
        "SELECT count(*) FROM audit_events WHERE participant_id = '{}' AND outcome = 'denied'
         AND resource_type = 'participant' AND client_id = '{}'",
        app.org.participant_id, clinic.id
    );
    assert!(app.count(&denied).await >= 2);
}

#[tokio::test]
async fn the_directory_is_served_as_healthcare_services() {
    let app = TestApp::spawn().await;
    let (_, resource) = sent_to_clinic(&app, &[]).await;
    let clinic = &app.org.client;
    let service = fhir_body(
        fhir_get(&app, &format!("/HealthcareService/{resource}"), clinic).await,
        200,
    )
    .await;
    assert_eq!(service["resourceType"], "HealthcareService");
    assert_eq!(service["name"], "Harbor MOUD Clinic");
    assert_eq!(service["providedBy"]["display"], "Harbor Health");
    assert!(service["meta"].get("security").is_none());
    let page = fhir_body(
        fhir_get(
            &app,
            "/HealthcareService?service-category=moud&_count=1",
            clinic,
        )
        .await,
        200,
    )
    .await;
    let ids = entry_ids(&page);
    assert_eq!(ids, [resource.to_string()]);
    let page = fhir_body(
        fhir_get(&app, "/HealthcareService?name=harbor", clinic).await,
        200,
    )
    .await;
    assert!(entry_ids(&page).contains(&resource.to_string()));
    // Another organization's clinic, a client without directory:read, a bad parameter.
    let path = format!("/HealthcareService/{resource}");
    outcome(fhir_get(&app, &path, &app.other_org.client).await, 404).await;
    let no_directory = app.client_in(&app.org, &["referrals:read"]).await;
    outcome(fhir_get(&app, &path, &no_directory).await, 403).await;
    let bad = fhir_get(&app, "/HealthcareService?service-category=spa", clinic).await;
    outcome(bad, 400).await;
}

fn entry_ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect()
}
