//! A 422 names every field that is wrong: missing, of the wrong type, or unknown.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};
use tandem::db::schema::{pairings, participants, users};

use crate::helpers::{error_fields, problem, TestApp};

/// Rows in the tables a refused create might have written to.
async fn row_counts(app: &TestApp) -> (i64, i64, i64) {
    let mut conn = app.conn().await;
    let participants = participants::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    let users = users::table.count().get_result(&mut conn).await.unwrap();
    let pairings = pairings::table.count().get_result(&mut conn).await.unwrap();
    (participants, users, pairings)
}

/// The 422 answering `body` posted to `path` (by an admin for `/users`, else a supervisor),
/// after checking that nothing was stored.
async fn refusal(app: &TestApp, path: &str, body: &Value) -> Value {
    let before = row_counts(app).await;
    let caller = if path == "/users" {
        &app.org.admin
    } else {
        &app.org.supervisor
    };
    let body = problem(app.post(path, Some(caller), body).await, 422).await;
    assert_eq!(row_counts(app).await, before, "something was stored");
    body
}

/// The sorted field names of [`refusal`]'s `errors`.
async fn refused_fields(app: &TestApp, path: &str, body: &Value) -> Vec<String> {
    let body = refusal(app, path, body).await;
    let errors = body["errors"].as_array().unwrap();
    assert!(errors.iter().all(|e| e["message"].is_string()), "{body}");
    let mut fields = error_fields(&body);
    fields.sort();
    fields
}

#[tokio::test]
async fn an_empty_participant_lists_every_required_field() {
    let app = TestApp::spawn().await;
    let fields = refused_fields(&app, "/participants", &json!({})).await;
    assert_eq!(fields, vec!["first_name", "last_name"]);
}

#[tokio::test]
async fn two_wrong_types_are_both_named() {
    let app = TestApp::spawn().await;
    let body = json!({"first_name": 5, "last_name": true});
    let fields = refused_fields(&app, "/participants", &body).await;
    assert_eq!(fields, vec!["first_name", "last_name"]);
}

#[tokio::test]
async fn wrong_types_missing_and_unknown_fields_are_named_together() {
    let app = TestApp::spawn().await;
    let body = json!({"first_name": ["Ana"], "date_of_birth": 7, "id": "x", "status": "active"});
    let refused = refusal(&app, "/participants", &body).await;
    let mut errors: Vec<(String, String)> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].to_string(), e["message"].to_string()))
        .collect();
    errors.sort();
    let expected = [
        ("date_of_birth", "has the wrong type"),
        ("first_name", "must be a string"),
        ("id", "is not a known field"),
        ("last_name", "is required"),
        ("status", "is not a known field"),
    ]
    .map(|(field, message)| (json!(field).to_string(), json!(message).to_string()));
    assert_eq!(errors, expected);
    assert_eq!(refused["detail"], "5 fields are invalid.");
}

#[tokio::test]
async fn an_empty_user_lists_every_required_field() {
    let app = TestApp::spawn().await;
    let fields = refused_fields(&app, "/users", &json!({})).await;
    assert_eq!(fields, vec!["display_name", "email", "password", "role"]);
    let body = json!({"email": "a@example.org", "role": "chief"});
    let fields = refused_fields(&app, "/users", &body).await;
    assert_eq!(fields, vec!["display_name", "password", "role"]);
}

#[tokio::test]
async fn an_empty_pairing_lists_every_required_field() {
    let app = TestApp::spawn().await;
    let fields = refused_fields(&app, "/pairings", &json!({})).await;
    assert_eq!(fields, vec!["coach_id", "participant_id"]);
    let body = json!({"participant_id": "not-a-uuid", "status": 3});
    let fields = refused_fields(&app, "/pairings", &body).await;
    assert_eq!(fields, vec!["coach_id", "participant_id", "status"]);
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused_as_a_whole() {
    let app = TestApp::spawn().await;
    let fields = refused_fields(&app, "/participants", &json!([1, 2])).await;
    assert_eq!(fields, vec!["body"]);
}
