//! A clinic system written only against SMART Backend Services and FHIR R4 (the HL7 SDOH
//! Clinical Care guide's Referral Recipient and Referral Sender): it discovers the token
//! endpoint, signs in with its key, polls its Tasks, follows their references, moves one, and
//! sends a referral. Only the organization's side (registering the clinic's key set, a
//! coach's referral and the participant's consent) uses Tandem's own API.

use chrono::Utc;
use jsonwebtoken::Header;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{fhir_body, sent_to_clinic, transactions::referral_bundle};
use crate::helpers::{send, RawToken, TestApp};
use crate::smart_backend::{ec_signer, register};

#[tokio::test]
async fn a_smart_backend_clinic_polls_moves_reads_and_sends_referrals() {
    let app = TestApp::spawn().await;
    let key = ec_signer("clinic-2026");
    register(&app, &[&key]).await;
    let started = Utc::now().to_rfc3339();
    let (referral, _) = sent_to_clinic(&app, &["demographics"]).await;

    // SMART discovery, then a token by signed assertion (RFC 7523, SMART Backend Services).
    let fhir_base = app.url("/fhir/r4");
    let config: Value = send(
        app.client
            .get(format!("{fhir_base}/.well-known/smart-configuration")),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(config["capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("client-confidential-asymmetric")));
    let token_endpoint = config["token_endpoint"].as_str().unwrap();
    let client_id = &app.org.client.client_id;
    let claims = json!({
        "iss": client_id, "sub": client_id, "aud": token_endpoint,
        "exp": Utc::now().timestamp() + 240, "jti": Uuid::new_v4().to_string(),
    });
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    let assertion = jsonwebtoken::encode(&header, &claims, &key.key).unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        (
            "scope",
            "system/Task.rs system/Task.u system/ServiceRequest.rs system/Patient.rs",
        ),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let token: Value = send(app.client.post(token_endpoint).form(&form))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "Bearer", "{token}");
    let clinic = RawToken::new(token["access_token"].as_str().unwrap());
    let get = |url: String| {
        send(
            app.client
                .get(url)
                .bearer_auth(&clinic.0)
                .header("accept", "application/fhir+json"),
        )
    };

    // The CapabilityStatement says what to poll with.
    let statement = fhir_body(
        send(app.client.get(format!("{fhir_base}/metadata"))).await,
        200,
    )
    .await;
    let task = statement["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Task")
        .unwrap();
    assert!(task["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "_lastUpdated"));

    // Poll for new requested Tasks, and follow what a Task names.
    let url = reqwest::Url::parse_with_params(
        &format!("{fhir_base}/Task"),
        &[
            ("_lastUpdated", format!("gt{started}")),
            ("status", "requested".into()),
        ],
    )
    .unwrap();
    let found = fhir_body(get(url.to_string()).await, 200).await;
    let entry = &found["entry"][0];
    let task = &entry["resource"];
    assert_eq!(task["id"], referral.as_str());
    let request = fhir_body(
        get(format!(
            "{fhir_base}/{}",
            task["focus"]["reference"].as_str().unwrap()
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(request["resourceType"], "ServiceRequest");
    let patient = fhir_body(
        get(format!(
            "{fhir_base}/{}",
            task["for"]["reference"].as_str().unwrap()
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(patient["resourceType"], "Patient");

    // Accept it, on the version read.
    let read = get(entry["fullUrl"].as_str().unwrap().to_owned()).await;
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let mut accepted = fhir_body(read, 200).await;
    accepted["status"] = json!("accepted");
    let response = send(
        app.client
            .request(Method::PUT, entry["fullUrl"].as_str().unwrap())
            .bearer_auth(&clinic.0)
            .header("content-type", "application/fhir+json")
            .header("if-match", etag)
            .body(accepted.to_string()),
    )
    .await;
    assert_eq!(fhir_body(response, 200).await["status"], "accepted");

    // Send a referral of its own.
    let response = send(
        app.client
            .post(&fhir_base)
            .bearer_auth(&clinic.0)
            .header("content-type", "application/fhir+json")
            .body(referral_bundle("EHR-REF-77").to_string()),
    )
    .await;
    let answer = fhir_body(response, 200).await;
    assert_eq!(answer["type"], "transaction-response");
    assert_eq!(answer["entry"][2]["response"]["status"], "201 Created");
}
