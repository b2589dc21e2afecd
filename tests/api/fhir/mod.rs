//! The FHIR R4 interface, tested as a clinic system built to FHIR R4 and the HL7 SDOH Clinical
//! Care guide would use it. Every FHIR body the server answers is also written to
//! `target/fhir-responses/`, where CI validates each one with an independent FHIR R4 validator
//! (`.ci/fhir_validate.py`).

mod clinic_workflow;
mod guide_examples;
mod reads;
mod task_updates;
mod tasks;
pub mod transactions;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{send, Caller, TestApp};

/// Where FHIR responses are kept for the validator.
pub const CAPTURED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/fhir-responses");

/// A request to a path under `/fhir/r4`, as `caller` when given.
pub fn fhir(
    app: &TestApp,
    method: Method,
    path: &str,
    caller: Option<&dyn Caller>,
) -> RequestBuilder {
    let request = app
        .client
        .request(method, app.url(&format!("/fhir/r4{path}")));
    match caller {
        Some(caller) => request.bearer_auth(caller.token()),
        None => request,
    }
}

pub async fn fhir_get(app: &TestApp, path: &str, caller: &dyn Caller) -> Response {
    send(fhir(app, Method::GET, path, Some(caller))).await
}

/// Asserts `status` and the FHIR media type, keeps the body for the validator and returns it.
pub async fn fhir_body(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let content_type = header(&response, "content-type").unwrap_or_default();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "expected {status}, got {actual}: {text}");
    assert!(
        content_type.starts_with("application/fhir+json"),
        "{content_type}: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    keep(&body);
    body
}

/// Asserts an `OperationOutcome` with `status` and returns its issues.
pub async fn outcome(response: Response, status: u16) -> Vec<Value> {
    let body = fhir_body(response, status).await;
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    let issues = body["issue"].as_array().cloned().unwrap_or_default();
    assert!(!issues.is_empty(), "{body}");
    for issue in &issues {
        assert_eq!(issue["severity"], "error", "{body}");
        assert!(issue["code"].is_string(), "{body}");
    }
    issues
}

/// The `expression`s an outcome names.
pub fn expressions(issues: &[Value]) -> Vec<String> {
    issues
        .iter()
        .flat_map(|issue| issue["expression"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e.as_str().map(ToOwned::to_owned))
        .collect()
}

/// Writes `body` to [`CAPTURED`] for the validator.
pub fn keep(body: &Value) {
    std::fs::create_dir_all(CAPTURED).unwrap();
    let path = format!("{CAPTURED}/{}.json", Uuid::now_v7());
    std::fs::write(path, serde_json::to_vec_pretty(body).unwrap()).unwrap();
}

pub fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// A referral to a resource linked to the organization's clinic client, sent under a consent
/// to that client covering `categories` (with `referral_details`): its id and the resource.
pub async fn sent_to_clinic(app: &TestApp, categories: &[&str]) -> (String, Uuid) {
    let org = &app.org;
    let resource = app.referral_resource(org, Some(&org.client)).await;
    let mut covered = vec!["referral_details"];
    covered.extend_from_slice(categories);
    app.referral_consent(
        org,
        org.participant_id,
        Some(&org.client),
        None,
        &covered,
        30,
    )
    .await;
    let created = app
        .referral(&org.coach, org.participant_id, resource, "requested")
        .await;
    (created["id"].as_str().unwrap().to_owned(), resource)
}
