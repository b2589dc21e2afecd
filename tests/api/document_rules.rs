//! Rules the document states so that every request it allows is one the server accepts, each
//! also enforced: found by fuzzing the API against its own document (`.ci/schemathesis`).

use serde_json::{json, Value};
use tandem::http::limits;

use crate::helpers::{error_fields, json, ok_json, problem, send, TestApp};

async fn document(app: &TestApp) -> Value {
    json(send(app.client.get(app.url("/api/v1/openapi.json"))).await).await
}

fn schema<'a>(document: &'a Value, name: &str) -> &'a Value {
    &document["components"]["schemas"][name]
}

fn query_parameter<'a>(document: &'a Value, path: &str, name: &str) -> &'a Value {
    let parameters = document["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap();
    &parameters.iter().find(|p| p["name"] == name).unwrap()["schema"]
}

#[tokio::test]
async fn a_whole_number_written_with_a_fraction_is_that_integer() {
    let app = TestApp::spawn().await;
    let path = format!("/coaches/{}", app.org.coach.id);
    let body = ok_json(
        app.patch(&path, &app.org.admin, &json!({"max_caseload": 7.0}))
            .await,
    )
    .await;
    assert_eq!(body["max_caseload"], 7);
    let response = app
        .patch(&path, &app.org.admin, &json!({"max_caseload": 7.5}))
        .await;
    assert_eq!(
        error_fields(&problem(response, 422).await),
        vec!["max_caseload"]
    );
}

#[tokio::test]
async fn tags_and_language_tags_follow_the_pattern_the_document_states() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let tags = &schema(&doc, "Tags")["items"];
    assert_eq!(tags["pattern"], limits::TAG_PATTERN);
    let language = query_parameter(&doc, "/api/v1/resources", "language");
    assert_eq!(language["pattern"], limits::LANGUAGE_TAG_PATTERN);

    let path = format!("/coaches/{}", app.org.coach.id);
    let refused = app
        .patch(&path, &app.org.admin, &json!({"specialties": ["0_first"]}))
        .await;
    let body = problem(refused, 422).await;
    assert_eq!(error_fields(&body), vec!["specialties[0]"]);
    let accepted = app
        .patch(&path, &app.org.admin, &json!({"specialties": ["a_0"]}))
        .await;
    assert_eq!(ok_json(accepted).await["specialties"], json!(["a_0"]));
    problem(app.get("/resources?language=00", &app.org.admin).await, 400).await;
    problem(
        app.get("/coaches?language=.%C3%A9", &app.org.admin).await,
        400,
    )
    .await;
    assert_eq!(
        app.get("/coaches?language=es", &app.org.admin)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get("/resources?language=pt-BR", &app.org.admin)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_reason_is_required_exactly_where_the_document_says() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let rule = &schema(&doc, "GoalStatusRequest")["allOf"][0];
    assert_eq!(
        rule["if"]["properties"]["status"]["enum"],
        json!(["abandoned"])
    );
    assert_eq!(rule["then"]["required"], json!(["reason"]));
    let rule = &schema(&doc, "PairingStatusRequest")["allOf"][0];
    assert_eq!(rule["if"]["properties"]["status"]["enum"], json!(["ended"]));
    let rules = &schema(&doc, "ReferralStatusRequest")["allOf"];
    assert_eq!(
        rules[0]["if"]["properties"]["status"]["enum"],
        json!(["rejected", "cancelled", "on-hold", "failed"])
    );
    assert_eq!(rules[1]["then"]["required"], json!(["outcome"]));

    let goal = app.goal_of(app.org.participant_id).await;
    let path = format!("/goals/{}/status", goal["id"].as_str().unwrap());
    let response = app
        .post(&path, Some(&app.org.admin), &json!({"status": "abandoned"}))
        .await;
    assert_eq!(error_fields(&problem(response, 422).await), vec!["reason"]);
    let response = app
        .post(&path, Some(&app.org.admin), &json!({"status": "paused"}))
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn lists_that_must_not_be_empty_say_so() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let scopes = &schema(&doc, "CreateIntegrationClientRequest")["properties"]["scopes"];
    assert_eq!(scopes["minItems"], 1);
    assert_eq!(schema(&doc, "Facilitators")["minItems"], 1);
    assert_eq!(schema(&doc, "InformationCategories")["minItems"], 1);
    let body = json!({"name": "Clinic", "resource_ids": [], "scopes": []});
    let response = app
        .post("/integration-clients", Some(&app.org.admin), &body)
        .await;
    assert_eq!(error_fields(&problem(response, 422).await), vec!["scopes"]);
}

#[tokio::test]
async fn an_email_field_is_documented_as_an_email() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert_eq!(schema(&doc, "Email")["format"], "email");
    let body = json!({"email": "", "display_name": "A", "role": "coach", "password": "a long enough password"});
    let response = app.post("/users", Some(&app.org.admin), &body).await;
    assert_eq!(error_fields(&problem(response, 422).await), vec!["email"]);
}

#[tokio::test]
async fn query_parameters_state_the_values_they_take() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let limit = query_parameter(&doc, "/api/v1/integration-clients", "limit");
    assert_eq!(
        (&limit["minimum"], &limit["maximum"]),
        (&json!(1), &json!(200))
    );
    let outcome = query_parameter(&doc, "/api/v1/audit-events", "outcome");
    assert_eq!(outcome["$ref"], "#/components/schemas/Outcome");
    assert_eq!(
        schema(&doc, "Outcome")["enum"],
        json!(["success", "denied"])
    );
    let path = "/api/v1/participants/{id}/assessments";
    let instrument = query_parameter(&doc, path, "instrument");
    assert_eq!(instrument["enum"], json!(limits::INSTRUMENT_IDS));

    let admin = &app.org.admin;
    problem(app.get("/integration-clients?limit=0", admin).await, 400).await;
    problem(app.get("/audit-events?outcome=maybe", admin).await, 400).await;
    assert_eq!(
        app.get("/audit-events?outcome=denied", admin)
            .await
            .status(),
        200
    );
    let path = format!("/participants/{}/assessments", app.org.participant_id);
    problem(
        app.get(&format!("{path}?instrument=phq-9"), admin).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn a_role_given_here_is_one_the_document_lists() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert_eq!(
        schema(&doc, "StaffRole")["enum"],
        json!(["admin", "supervisor", "coach"])
    );
    let path = format!("/users/{}", app.org.coach.id);
    let response = app
        .patch(&path, &app.org.admin, &json!({"role": "participant"}))
        .await;
    assert_eq!(error_fields(&problem(response, 422).await), vec!["role"]);
}

#[tokio::test]
async fn a_null_body_is_a_body_left_out() {
    let app = TestApp::spawn().await;
    let client = app
        .integration_client_with_webhook(&app.org, "https://example.org/hook")
        .await;
    let path = format!(
        "/integration-clients/{}/rotate-secret",
        client["id"].as_str().unwrap()
    );
    let response = send(
        app.request(reqwest::Method::POST, &path, Some(&app.org.admin))
            .header("content-type", "application/json")
            .body("null"),
    )
    .await;
    let body = ok_json(response).await;
    assert!(body["client_secret"].is_string());
    assert!(body["webhook_secret"].is_null());
}

#[tokio::test]
async fn phones_urls_create_statuses_and_answers_are_stated_as_checked() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert_eq!(schema(&doc, "Phone")["pattern"], limits::PHONE_PATTERN);
    assert_eq!(schema(&doc, "Url")["pattern"], limits::URL_PATTERN);
    assert_eq!(
        schema(&doc, "WebhookUrl")["pattern"],
        limits::WEBHOOK_URL_PATTERN
    );
    assert_eq!(
        schema(&doc, "CreateStatus")["enum"],
        json!(["draft", "requested"])
    );
    let answers =
        &schema(&doc, "CreateAssessmentRequest")["allOf"][0]["then"]["properties"]["answers"];
    assert_eq!(
        (&answers["minItems"], &answers["maxItems"]),
        (&json!(10), &json!(10))
    );

    let path = format!("/participants/{}", app.org.participant_id);
    let response = app
        .patch(&path, &app.org.admin, &json!({"phone": "+-()"}))
        .await;
    assert_eq!(error_fields(&problem(response, 422).await), vec!["phone"]);
    let body = json!({"name": "Clinic", "resource_ids": [], "scopes": ["directory:read"], "webhook_url": "0000"});
    let response = app
        .post("/integration-clients", Some(&app.org.admin), &body)
        .await;
    assert_eq!(
        error_fields(&problem(response, 422).await),
        vec!["webhook_url"]
    );
    let path = format!("/participants/{}/assessments", app.org.participant_id);
    let body = json!({"instrument": "barc-10", "answers": [1, 2, 3]});
    let response = app.post(&path, Some(&app.org.admin), &body).await;
    assert_eq!(error_fields(&problem(response, 422).await), vec!["answers"]);
}

#[tokio::test]
async fn a_field_that_cannot_be_cleared_is_not_documented_as_nullable() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let title = &schema(&doc, "UpdateGoalRequest")["properties"]["title"];
    assert_eq!(title["$ref"], "#/components/schemas/GoalTitle");
    assert_eq!(schema(&doc, "Country")["pattern"], "^[A-Za-z]{2}$");
    let goal = app.goal_of(app.org.participant_id).await;
    let path = format!("/goals/{}", goal["id"].as_str().unwrap());
    let response = app
        .patch(&path, &app.org.admin, &json!({"title": null}))
        .await;
    assert_eq!(error_fields(&problem(response, 422).await), vec!["title"]);
}

#[tokio::test]
async fn a_participant_login_keeps_its_role_as_a_conflict() {
    let app = TestApp::spawn().await;
    let participant = app.participant_of(&app.org.coach).await;
    let login = app.portal_user_of(&participant).await;
    let path = format!("/users/{}", login.id);
    let response = app
        .patch(&path, &app.org.admin, &json!({"role": "supervisor"}))
        .await;
    problem(response, 409).await;
    let user = ok_json(app.get(&path, &app.org.admin).await).await;
    assert_eq!(user["role"], "participant");
}

#[tokio::test]
async fn a_required_text_is_documented_as_not_blank_and_a_blank_one_is_refused() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    for name in [
        "ResourceName",
        "PersonName",
        "GoalTitle",
        "Reason",
        "NoteBody",
    ] {
        assert_eq!(
            schema(&doc, name)["pattern"],
            limits::NOT_BLANK_PATTERN,
            "{name}"
        );
    }
    assert!(schema(&doc, "Password").get("pattern").is_none());

    for blank in ["\u{b}", " \t\r\n", "\u{85}\u{a0}\u{3000}"] {
        let body = json!({"name": blank, "organization_name": "Harbor Health"});
        let response = app.post("/resources", Some(&app.org.admin), &body).await;
        assert_eq!(error_fields(&problem(response, 422).await), vec!["name"]);
    }
    let body = json!({"name": "\u{b} Harbor Clinic ", "organization_name": "Harbor Health"});
    let response = app.post("/resources", Some(&app.org.admin), &body).await;
    assert_eq!(response.status(), 201);
    assert_eq!(json(response).await["name"], "Harbor Clinic");
}
