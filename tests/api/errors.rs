//! The framework's own failures answer with problem+json too.

use reqwest::Method;

use crate::helpers::{error_fields, json, problem, send, TestApp};

#[tokio::test]
async fn malformed_json_is_a_400_without_parser_details() {
    let app = TestApp::spawn().await;
    let response = send(
        app.request(Method::POST, "/auth/login", None)
            .header("content-type", "application/json")
            .body("{\"email\": "),
    )
    .await;
    let body = problem(response, 400).await;
    let text = body.to_string();
    assert!(!text.contains("line") && !text.contains("column") && !text.contains("EOF"));
}

#[tokio::test]
async fn a_missing_or_wrong_content_type_is_a_415() {
    let app = TestApp::spawn().await;
    let body = r#"{"email":"a@example.org","password":"x"}"#;
    let plain = send(
        app.request(Method::POST, "/auth/login", None)
            .header("content-type", "text/plain")
            .body(body),
    )
    .await;
    problem(plain, 415).await;
    let none = send(app.request(Method::POST, "/auth/login", None).body(body)).await;
    problem(none, 415).await;
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413() {
    let app = TestApp::spawn().await;
    let huge = format!(
        r#"{{"email":"{}","password":"x"}}"#,
        "a".repeat(1024 * 1024 + 10)
    );
    let response = send(
        app.request(Method::POST, "/auth/login", None)
            .header("content-type", "application/json")
            .body(huge),
    )
    .await;
    problem(response, 413).await;
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let app = TestApp::spawn().await;
    problem(
        send(app.client.get(app.url("/api/v1/nothing-here"))).await,
        404,
    )
    .await;
    problem(send(app.client.get(app.url("/nothing-here"))).await, 404).await;

    let response = send(app.client.delete(app.url("/api/v1/users"))).await;
    assert_eq!(response.headers()["allow"], "GET, POST");
    problem(response, 405).await;

    let id = uuid::Uuid::now_v7();
    let response = send(app.client.put(app.url(&format!("/api/v1/users/{id}")))).await;
    assert_eq!(response.headers()["allow"], "GET, PATCH");
    problem(response, 405).await;

    // A literal route wins over a parameter in the same place.
    let response = send(
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/pairings/reassign")),
    )
    .await;
    assert_eq!(response.headers()["allow"], "POST");
    problem(response, 405).await;

    let response = app.get("/pairings/reassign", &app.org.supervisor).await;
    assert_eq!(response.headers()["allow"], "POST");
    problem(response, 405).await;

    let response = send(app.client.post(app.url("/healthz"))).await;
    assert_eq!(response.headers()["allow"], "GET");
    problem(response, 405).await;
}

#[tokio::test]
async fn a_malformed_path_parameter_is_a_400() {
    let app = TestApp::spawn().await;
    problem(app.get("/users/12345", &app.org.admin).await, 400).await;
}

#[tokio::test]
async fn nul_bytes_in_bodies_and_queries_are_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/users",
            Some(&app.org.admin),
            &serde_json::json!({"email": "a@example.org", "display_name": "A\u{0}B", "role": "coach", "password": "a long enough password"}),
        )
        .await;
    let body = problem(response, 422).await;
    assert_eq!(error_fields(&body), vec!["display_name"]);
    problem(app.get("/users?cursor=%00", &app.org.admin).await, 400).await;
}

#[tokio::test]
async fn an_empty_cursor_is_the_first_page() {
    let app = TestApp::spawn().await;
    let first = json(app.get("/users?limit=2", &app.org.admin).await).await;
    let empty = app.get("/users?limit=2&cursor=", &app.org.admin).await;
    assert_eq!(empty.status(), 200);
    assert_eq!(json(empty).await["items"], first["items"]);
}

#[tokio::test]
async fn wrong_types_and_unknown_fields_name_the_field() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/auth/login",
            None,
            &serde_json::json!({"email": 5, "password": "x"}),
        )
        .await;
    let body = problem(response, 422).await;
    assert_eq!(error_fields(&body), vec!["email"]);
    assert!(!body.to_string().contains("invalid type"));

    let response = app
        .post(
            "/auth/login",
            None,
            &serde_json::json!({"email": "a@example.org", "password": "x", "role": "admin"}),
        )
        .await;
    let body = problem(response, 422).await;
    assert_eq!(error_fields(&body), vec!["role"]);

    let response = app
        .post(
            "/auth/login",
            None,
            &serde_json::json!({"email": "a@example.org"}),
        )
        .await;
    let body = problem(response, 422).await;
    assert_eq!(error_fields(&body), vec!["password"]);

    let response = app
        .post("/auth/login", None, &serde_json::json!([1, 2]))
        .await;
    problem(response, 422).await;
}

#[tokio::test]
async fn api_responses_are_never_cached_and_carry_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.get("/me", &app.org.coach).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-request-id"].len(), 32);
    let response = send(app.client.get(app.url("/api/v1/nothing"))).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
}
