//! Integration clients as their admins manage them: secrets shown once, rotation, scopes,
//! deactivation and webhook URLs.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{
    error_fields, json, ok_json, problem, send, RawToken, TestApp, TestOrg, ALL_SCOPES,
};

fn new_client(resource: Uuid) -> Value {
    json!({"name": "  Riverside Clinic ", "resource_ids": [resource, resource],
           "scopes": ["referrals:read", "directory:read"],
           "webhook_url": "https://clinic.example.org/tandem-hooks"})
}

async fn token_for(app: &TestApp, client_id: &str, secret: &str) -> reqwest::Response {
    let body = json!({"grant_type": "client_credentials", "client_id": client_id,
                      "client_secret": secret});
    app.post("/auth/token", None, &body).await
}

async fn client_count(app: &TestApp, org: &TestOrg) -> usize {
    let page = ok_json(app.get("/integration-clients?limit=200", &org.admin).await).await;
    page["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn an_admin_creates_a_client_whose_secrets_are_shown_once_and_work() {
    let app = TestApp::spawn().await;
    let resource = app.resource_for_clients(&app.org).await;
    let response = app
        .post(
            "/integration-clients",
            Some(&app.org.admin),
            &new_client(resource),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(response.headers().contains_key("etag"));
    let created = json(response).await;
    assert_eq!(created["name"], "Riverside Clinic");
    assert_eq!(created["resource_ids"], json!([resource]));
    assert_eq!(
        created["scopes"],
        json!(["referrals:read", "directory:read"])
    );
    assert_eq!(created["webhook_enabled"], true);
    let secret = created["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43, "{secret}");
    let webhook_secret = created["webhook_secret"].as_str().unwrap();
    let key = STANDARD
        .decode(webhook_secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    assert_eq!(key.len(), 32);

    let path = location.trim_start_matches("/api/v1");
    let read = ok_json(app.get(path, &app.org.admin).await).await;
    let listed = ok_json(app.get("/integration-clients", &app.org.admin).await).await;
    for shown in [&read, &listed] {
        let text = shown.to_string();
        assert!(!text.contains(secret) && !text.contains(webhook_secret));
    }
    // Neither secret is a member of the client as shown (`token_endpoint_auth_methods` names
    // `client_secret_basic` as a method, which is no secret).
    for client in std::iter::once(&read).chain(listed["items"].as_array().unwrap()) {
        for member in ["client_secret", "webhook_secret", "secret_hash"] {
            assert!(client.get(member).is_none(), "{member} in {client}");
        }
    }
    assert_eq!(read["client_id"], created["client_id"]);

    let client_id = created["client_id"].as_str().unwrap();
    let token = ok_json(token_for(&app, client_id, secret).await).await;
    assert_eq!(token["scope"], "referrals:read directory:read");
}

#[tokio::test]
async fn a_replayed_create_shows_the_client_without_its_secrets() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "Clinic", "resource_ids": [], "scopes": ALL_SCOPES});
    let create = || {
        app.request(Method::POST, "/integration-clients", Some(&app.org.admin))
            .header("Idempotency-Key", "clinic-1")
            .json(&body)
    };
    let first = json(send(create()).await).await;
    assert!(first["client_secret"].is_string());
    let replay = send(create()).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay = json(replay).await;
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(replay["client_secret"], Value::Null);
    assert_eq!(replay["webhook_secret"], Value::Null);
    assert_eq!(client_count(&app, &app.org).await, 2);
}

#[tokio::test]
async fn bad_client_input_is_refused_naming_each_field_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let foreign = app.resource_for_clients(&app.other_org).await;
    let before = client_count(&app, &app.org).await;
    let cases = [
        (
            json!({"name": " ", "resource_ids": [], "scopes": []}),
            vec!["name", "scopes"],
        ),
        (
            json!({"name": "A", "resource_ids": [], "scopes": ["notes:read"]}),
            vec!["scopes"],
        ),
        (
            json!({"name": "A", "resource_ids": [foreign], "scopes": ALL_SCOPES}),
            vec!["resource_ids"],
        ),
        (
            json!({"name": "A", "resource_ids": [], "scopes": ALL_SCOPES, "id": Uuid::now_v7()}),
            vec!["id"],
        ),
    ];
    for (body, fields) in cases {
        let refused = problem(
            app.post("/integration-clients", Some(&app.org.admin), &body)
                .await,
            422,
        )
        .await;
        let named = error_fields(&refused);
        for field in fields {
            assert!(
                named.iter().any(|n| n.starts_with(field)),
                "{body}: {named:?}"
            );
        }
    }
    for url in [
        "http://clinic.example.org/hooks",
        "https://10.0.0.7/hooks",
        "https://192.168.1.20/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/hooks",
        "https://[fd00::1]/hooks",
        "https://0.0.0.0/hooks",
        "https://user:secret@clinic.example.org/hooks",
        "not a url",
    ] {
        let body =
            json!({"name": "A", "resource_ids": [], "scopes": ALL_SCOPES, "webhook_url": url});
        let refused = problem(
            app.post("/integration-clients", Some(&app.org.admin), &body)
                .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), vec!["webhook_url"], "{url}");
    }
    assert_eq!(client_count(&app, &app.org).await, before);
}

#[tokio::test]
async fn rotating_the_client_secret_ends_the_old_secret_and_its_tokens_at_once() {
    let app = TestApp::spawn().await;
    let created = app
        .integration_client_with_webhook(&app.org, "https://clinic.example.org/h")
        .await;
    let (id, client_id) = (
        created["id"].as_str().unwrap(),
        created["client_id"].as_str().unwrap(),
    );
    let old_secret = created["client_secret"].as_str().unwrap();
    let old_token = ok_json(token_for(&app, client_id, old_secret).await).await;
    let old_token = RawToken::new(old_token["access_token"].as_str().unwrap());
    problem(app.get("/me", &old_token).await, 403).await;

    let rotate = format!("/integration-clients/{id}/rotate-secret");
    let rotated = send(app.request(Method::POST, &rotate, Some(&app.org.admin))).await;
    let rotated = ok_json(rotated).await;
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, old_secret);
    assert_eq!(rotated["webhook_secret"], Value::Null);

    let unknown = problem(token_for(&app, "tc_nobody", old_secret).await, 401).await;
    let refused = problem(token_for(&app, client_id, old_secret).await, 401).await;
    assert_eq!(refused, unknown);
    problem(app.get("/me", &old_token).await, 401).await;
    ok_json(token_for(&app, client_id, new_secret).await).await;

    let webhook = ok_json(
        app.post(
            &rotate,
            Some(&app.org.admin),
            &json!({"rotate": "webhook_secret"}),
        )
        .await,
    )
    .await;
    assert!(webhook["webhook_secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    assert_ne!(webhook["webhook_secret"], created["webhook_secret"]);
    assert_eq!(webhook["client_secret"], Value::Null);
    ok_json(token_for(&app, client_id, new_secret).await).await;
    let bad = app
        .post(
            &rotate,
            Some(&app.org.admin),
            &json!({"rotate": "everything"}),
        )
        .await;
    problem(bad, 422).await;
}

#[tokio::test]
async fn deactivating_a_client_or_narrowing_its_scopes_applies_to_its_next_request() {
    let app = TestApp::spawn().await;
    let created = app
        .integration_client_with_webhook(&app.org, "https://clinic.example.org/h")
        .await;
    let (id, client_id) = (
        created["id"].as_str().unwrap(),
        created["client_id"].as_str().unwrap(),
    );
    let secret = created["client_secret"].as_str().unwrap();
    let token = ok_json(token_for(&app, client_id, secret).await).await;
    let token = RawToken::new(token["access_token"].as_str().unwrap());
    let path = format!("/integration-clients/{id}");

    let narrowed = ok_json(
        app.patch(
            &path,
            &app.org.admin,
            &json!({"scopes": ["directory:read"]}),
        )
        .await,
    )
    .await;
    assert_eq!(narrowed["scopes"], json!(["directory:read"]));
    let token_now = ok_json(token_for(&app, client_id, secret).await).await;
    assert_eq!(token_now["scope"], "directory:read");

    let off = ok_json(
        app.patch(&path, &app.org.admin, &json!({"active": false}))
            .await,
    )
    .await;
    assert_eq!(off["active"], false);
    problem(app.get("/me", &token).await, 401).await;
    problem(token_for(&app, client_id, secret).await, 401).await;
}

#[tokio::test]
async fn a_stale_if_match_changes_nothing_and_an_admin_can_disable_and_re_enable_the_endpoint() {
    let app = TestApp::spawn().await;
    let created = app
        .integration_client_with_webhook(&app.org, "https://clinic.example.org/h")
        .await;
    let path = format!("/integration-clients/{}", created["id"].as_str().unwrap());
    let read = app.get(&path, &app.org.admin).await;
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let renamed = app
        .request(Method::PATCH, &path, Some(&app.org.admin))
        .header("If-Match", &etag)
        .json(&json!({"name": "Riverside Health"}));
    assert_eq!(
        ok_json(send(renamed).await).await["name"],
        "Riverside Health"
    );
    let stale = app
        .request(Method::PATCH, &path, Some(&app.org.admin))
        .header("If-Match", &etag)
        .json(&json!({"name": "Lost update"}));
    problem(send(stale).await, 412).await;

    let off = ok_json(
        app.patch(&path, &app.org.admin, &json!({"webhook_enabled": false}))
            .await,
    )
    .await;
    assert_eq!(off["webhook_enabled"], false);
    assert!(off["webhook_disabled_at"].is_string());
    assert!(off["webhook_disabled_reason"]
        .as_str()
        .unwrap()
        .contains("administrator"));
    let on = ok_json(
        app.patch(&path, &app.org.admin, &json!({"webhook_enabled": true}))
            .await,
    )
    .await;
    assert_eq!(on["webhook_enabled"], true);
    assert_eq!(on["webhook_disabled_at"], Value::Null);
    assert_eq!(on["name"], "Riverside Health");
    let cleared = ok_json(
        app.patch(&path, &app.org.admin, &json!({"webhook_url": null}))
            .await,
    )
    .await;
    assert_eq!(cleared["webhook_url"], Value::Null);
    let bad = app
        .patch(
            &path,
            &app.org.admin,
            &json!({"webhook_url": "https://10.1.1.1/"}),
        )
        .await;
    assert_eq!(error_fields(&problem(bad, 422).await), vec!["webhook_url"]);
}

#[tokio::test]
async fn an_admin_cannot_see_or_change_another_organizations_clients() {
    let app = TestApp::spawn().await;
    let theirs = app
        .integration_client_with_webhook(&app.other_org, "https://clinic.example.org/h")
        .await;
    let path = format!("/integration-clients/{}", theirs["id"].as_str().unwrap());
    problem(app.get(&path, &app.org.admin).await, 404).await;
    problem(
        app.patch(&path, &app.org.admin, &json!({"active": false}))
            .await,
        404,
    )
    .await;
    problem(
        app.post(
            &format!("{path}/rotate-secret"),
            Some(&app.org.admin),
            &json!({}),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.get(&format!("{path}/deliveries"), &app.org.admin).await,
        404,
    )
    .await;
    let still = ok_json(app.get(&path, &app.other_org.admin).await).await;
    assert_eq!(still["active"], true);
    let listed = ok_json(app.get("/integration-clients", &app.org.admin).await).await;
    assert!(!listed.to_string().contains(theirs["id"].as_str().unwrap()));
}
