//! Reading and polling Tasks, as the guide's Referral Recipient does, and who is refused.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::Value;

use super::{fhir, fhir_body, fhir_get, header, outcome, sent_to_clinic};
use crate::helpers::{send, RawToken, TestApp};

const TASK_PROFILE: &str =
    "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement";

/// The SDOHCC Task For Referral Management's required elements and fixed values, and the
/// Part 2 labels every Task wears.
fn assert_sdohcc_task(task: &Value) {
    assert_eq!(task["resourceType"], "Task");
    assert_eq!(task["meta"]["profile"][0], TASK_PROFILE);
    assert!(task["meta"]["versionId"].is_string(), "{task}");
    assert_eq!(task["intent"], "order");
    let code = &task["code"]["coding"][0];
    assert_eq!(code["system"], "http://hl7.org/fhir/CodeSystem/task-code");
    assert_eq!(code["code"], "fulfill");
    let statuses = [
        "draft",
        "requested",
        "accepted",
        "rejected",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    ];
    assert!(
        statuses.contains(&task["status"].as_str().unwrap()),
        "{task}"
    );
    for element in ["authoredOn", "lastModified"] {
        assert!(task[element].is_string(), "{element}: {task}");
    }
    for reference in ["focus", "for", "requester", "owner"] {
        assert!(task[reference].is_object(), "{reference}: {task}");
    }
    assert!(task["focus"]["reference"]
        .as_str()
        .unwrap()
        .starts_with("ServiceRequest/"));
    assert!(task["for"]["reference"]
        .as_str()
        .unwrap()
        .starts_with("Patient/"));
    if let Some(reason) = task.get("statusReason") {
        assert!(reason["text"].is_string(), "{task}");
    }
    let labels: Vec<(&str, &str)> = task["meta"]["security"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["system"].as_str().unwrap(), l["code"].as_str().unwrap()))
        .collect();
    let act = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    assert!(labels.contains(&(
        "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
        "R"
    )));
    assert!(labels.contains(&(act, "SUD")));
    assert!(labels.contains(&(act, "NODSCLCD")));
    let basis = &task["meta"]["security"][0]["extension"][0];
    assert_eq!(basis["valueCoding"]["code"], "42CFRPart2");
}

#[tokio::test]
async fn a_clinic_reads_its_task_as_an_sdohcc_task_with_its_version_and_labels() {
    let app = TestApp::spawn().await;
    let (id, resource) = sent_to_clinic(&app, &["demographics"]).await;
    let clinic = &app.org.client;
    let disclosed = format!(
        "SELECT count(*) FROM disclosures WHERE referral_id = '{id}' AND recipient_client_id = '{}'",
        app.org.client.id
    );
    let before = app.count(&disclosed).await;
    let response = fhir_get(&app, &format!("/Task/{id}"), clinic).await;
    let etag = header(&response, "etag").unwrap();
    assert!(header(&response, "x-redisclosure-notice").is_some());
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("no-store")
    );
    let task = fhir_body(response, 200).await;
    assert_sdohcc_task(&task);
    assert_eq!(task["id"], id.as_str());
    assert_eq!(
        etag,
        format!("W/\"{}\"", task["meta"]["versionId"].as_str().unwrap())
    );
    assert_eq!(task["status"], "requested");
    assert_eq!(
        task["owner"]["reference"],
        format!("HealthcareService/{resource}")
    );
    assert_eq!(task["requester"]["display"], "First Recovery Community");
    // The consent covers demographics: the Task names the patient, and that is a disclosure.
    assert_eq!(
        task["for"]["display"],
        "Jordan Seeded First Recovery Community"
    );
    assert_eq!(app.count(&disclosed).await, before + 1);
    let audited = format!(
        "SELECT count(*) FROM audit_events WHERE resource_id = '{id}' AND action = 'read'
         AND outcome = 'success' AND client_id = '{}'",
        app.org.client.id
    );
    assert_eq!(app.count(&audited).await, 1);
}

#[tokio::test]
async fn without_a_demographics_consent_the_task_does_not_name_the_patient() {
    let app = TestApp::spawn().await;
    let (id, _) = sent_to_clinic(&app, &[]).await;
    let response = fhir_get(&app, &format!("/Task/{id}"), &app.org.client).await;
    assert_eq!(header(&response, "x-redisclosure-notice"), None);
    let task = fhir_body(response, 200).await;
    assert_sdohcc_task(&task);
    assert!(task["for"].get("display").is_none(), "{task}");
}

#[tokio::test]
async fn the_task_is_refused_to_everyone_else() {
    let app = TestApp::spawn().await;
    let (id, _) = sent_to_clinic(&app, &["demographics"]).await;
    let path = format!("/Task/{id}");
    // Another clinic of the organization, not linked to the resource; another organization's.
    let unlinked = app.client_in(&app.org, &["referrals:read"]).await;
    let issues = outcome(fhir_get(&app, &path, &unlinked).await, 404).await;
    assert_eq!(issues[0]["code"], "not-found");
    outcome(fhir_get(&app, &path, &app.other_org.client).await, 404).await;
    // A missing id and an id that is no UUID look the same.
    outcome(
        fhir_get(
            &app,
            &format!("/Task/{}", uuid::Uuid::now_v7()),
            &app.org.client,
        )
        .await,
        404,
    )
    .await;
    outcome(
        fhir_get(&app, "/Task/not-an-id", &app.org.client).await,
        404,
    )
    .await;
    // A client without the read scope; users (even the coach who sent it).
    let writer = app.client_in(&app.org, &["referrals:write"]).await;
    app.sql(&format!(
        "INSERT INTO integration_client_resources (client_id, resource_id, organization_id)
         SELECT '{}', resource_id, organization_id FROM referrals WHERE id = '{id}'",
        writer.id
    ))
    .await
    .unwrap();
    let issues = outcome(fhir_get(&app, &path, &writer).await, 403).await;
    assert_eq!(issues[0]["code"], "forbidden");
    for user in [&app.org.coach, &app.org.admin, &app.org.participant] {
        outcome(fhir_get(&app, &path, user).await, 403).await;
    }
    // No token, or a forged one.
    let response = send(fhir(&app, Method::GET, &path, None)).await;
    assert!(header(&response, "www-authenticate").is_some());
    let issues = outcome(response, 401).await;
    assert_eq!(issues[0]["code"], "login");
    let forged = RawToken::forged(&app.org.coach);
    outcome(fhir_get(&app, &path, &forged).await, 401).await;
    let sql = format!(
        "SELECT count(*) FROM disclosures WHERE referral_id = '{id}' AND request_id IS NOT NULL
         AND description LIKE '%read with a referral%'"
    );
    assert_eq!(
        app.count(&sql).await,
        0,
        "nothing was shown to anyone refused"
    );
}

#[tokio::test]
async fn a_clinic_polls_by_last_updated_and_pages_without_losing_a_change() {
    let app = TestApp::spawn().await;
    let before = (Utc::now() - Duration::seconds(5)).to_rfc3339();
    let (first, resource) = sent_to_clinic(&app, &[]).await;
    let second = app
        .referral(
            &app.org.supervisor,
            app.org.participant_id,
            resource,
            "requested",
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let since = |at: &str| {
        let mut url = reqwest::Url::parse("http://x/Task").unwrap();
        url.query_pairs_mut()
            .append_pair("_lastUpdated", &format!("gt{at}"))
            .append_pair("_count", "1");
        format!("/Task?{}", url.query().unwrap())
    };
    let clinic = &app.org.client;
    let page = fhir_body(fhir_get(&app, &since(&before), clinic).await, 200).await;
    assert_eq!(page["resourceType"], "Bundle");
    assert_eq!(page["type"], "searchset");
    let entries = page["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["resource"]["id"], first.as_str());
    assert_eq!(entries[0]["search"]["mode"], "match");
    assert!(entries[0]["fullUrl"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/fhir/r4/Task/{first}")));
    // The first Task changes while the clinic pages: it comes again after the second.
    let moved = serde_json::json!({"status": "accepted"});
    let response = app
        .post(&format!("/referrals/{first}/status"), Some(clinic), &moved)
        .await;
    assert_eq!(response.status(), 200);
    let mut seen = vec![first.clone()];
    let mut next = next_link(&page);
    while let Some(url) = next {
        let response = send(app.client.get(&url).bearer_auth(&clinic.token)).await;
        let page = fhir_body(response, 200).await;
        for entry in page["entry"].as_array().into_iter().flatten() {
            assert_eq!(entry["resource"]["resourceType"], "Task");
            seen.push(entry["resource"]["id"].as_str().unwrap().to_owned());
        }
        next = next_link(&page);
    }
    assert_eq!(seen, [first.clone(), second.clone(), first.clone()]);
    // Polling from the last change the clinic saw finds nothing new; filters narrow.
    let task = fhir_body(fhir_get(&app, &format!("/Task/{first}"), clinic).await, 200).await;
    let last = task["meta"]["lastUpdated"].as_str().unwrap();
    let page = fhir_body(fhir_get(&app, &since(last), clinic).await, 200).await;
    assert!(page.get("entry").is_none(), "{page}");
    let path = format!("/Task?status=accepted&owner=HealthcareService/{resource}");
    let page = fhir_body(fhir_get(&app, &path, clinic).await, 200).await;
    let ids: Vec<&str> = page["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str()]);
    // Another clinic polls and finds none of them.
    let page = fhir_body(fhir_get(&app, "/Task", &app.other_org.client).await, 200).await;
    assert!(page.get("entry").is_none(), "{page}");
    let audited = "SELECT count(*) FROM audit_events WHERE action = 'list'
        AND resource_type = 'referral' AND outcome = 'success'";
    assert!(app.count(audited).await >= 5);
}

fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|link| link["relation"] == "next")
        .map(|link| link["url"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_search_the_server_cannot_do_is_refused_not_ignored() {
    let app = TestApp::spawn().await;
    for query in [
        "patient=Patient/1",
        "_count=0",
        "_count=201",
        "status=received",
        "_lastUpdated=gtyesterday",
        "_cursor=forged",
        "_format=xml",
    ] {
        let response = fhir_get(&app, &format!("/Task?{query}"), &app.org.client).await;
        let issues = outcome(response, 400).await;
        assert_eq!(issues[0]["code"], "structure", "{query}");
    }
}

#[tokio::test]
async fn the_capability_statement_is_public_and_names_the_smart_service() {
    let app = TestApp::spawn().await;
    let response = send(fhir(&app, Method::GET, "/metadata", None)).await;
    let statement = fhir_body(response, 200).await;
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    let rest = &statement["rest"][0];
    assert_eq!(
        rest["security"]["service"][0]["coding"][0]["code"],
        "SMART-on-FHIR"
    );
    let token = &rest["security"]["extension"][0]["extension"][0]["valueUri"];
    assert_eq!(token, &app.url("/api/v1/auth/token"));
    let task = rest["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Task")
        .unwrap();
    let interactions: Vec<&str> = task["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(interactions, ["read", "update", "search-type"]);
    // The OpenAPI document of the REST interface points to it.
    let document = send(app.client.get(app.url("/api/v1/openapi.json"))).await;
    let document: Value = document.json().await.unwrap();
    let description = document["info"]["description"].as_str().unwrap();
    assert!(description.contains("[`/fhir/r4/metadata`](/fhir/r4/metadata)"));
    // An unknown resource type or path is a FHIR 404 too.
    let response = fhir_get(&app, "/Observation/1", &app.org.client).await;
    outcome(response, 404).await;
}
