//! The OpenAPI document is complete, served, and matches the committed copy.

use crate::helpers::{json, send, TestApp};

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json")
}

#[tokio::test]
async fn the_committed_openapi_document_matches_the_code() {
    let generated = tandem::http::openapi::document_json();
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    // Updating rewrites the file but still fails over a stale one, so a run with the variable
    // set (say, left in a CI environment) never passes without comparing.
    if std::env::var_os("TANDEM_UPDATE_OPENAPI").is_some() && committed != generated {
        std::fs::write(committed_path(), &generated).unwrap();
        panic!(
            "openapi/openapi.json was out of date and has been rewritten; review the change \
             and run the test again"
        );
    }
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `TANDEM_UPDATE_OPENAPI=1 cargo test the_committed_openapi` \
         or `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let app = TestApp::spawn().await;
    let response = send(app.client.get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(response.status(), 200);
    let served = json(response).await;
    let generated: serde_json::Value =
        serde_json::from_str(&tandem::http::openapi::document_json()).unwrap();
    assert_eq!(served, generated);
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[tokio::test]
async fn every_operation_names_its_roles_and_documents_its_errors() {
    let document: serde_json::Value =
        serde_json::from_str(&tandem::http::openapi::document_json()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v1/users/{id}"));
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let description = operation["description"].as_str().unwrap_or_default();
            assert!(
                description.contains("Roles:"),
                "{method} {path} does not name its roles"
            );
            assert!(operation["operationId"].is_string());
            let responses = operation["responses"].as_object().unwrap();
            let secured = operation.get("security").is_some();
            if secured {
                // Every secured operation refuses a missing token (401) and some caller by
                // role, at least integration clients (403), and needs the database (503).
                for status in ["401", "403", "503"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not problem+json"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn swagger_ui_is_served_at_docs_and_points_at_the_document() {
    let app = TestApp::spawn().await;
    let redirect = send(app.client.get(app.url("/docs"))).await;
    assert!(redirect.status().is_redirection());
    let page = send(app.client.get(app.url("/docs/"))).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let config = send(app.client.get(app.url("/docs/swagger-initializer.js"))).await;
    assert_eq!(config.status(), 200);
    assert!(config
        .text()
        .await
        .unwrap()
        .contains("/api/v1/openapi.json"));
}

#[test]
fn docker_compose_is_valid_yaml_with_a_database_and_the_service() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docker-compose.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let compose: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let services = &compose["services"];
    assert!(services["postgres"]["image"]
        .as_str()
        .unwrap()
        .starts_with("postgres:16"));
    assert!(services["postgres"]["healthcheck"].is_mapping());
    let tandem = &services["tandem"];
    assert!(tandem["build"].is_mapping() || tandem["build"].is_string());
    assert!(tandem["healthcheck"].is_mapping());
    let environment = serde_yaml::to_string(&tandem["environment"]).unwrap();
    assert!(environment.contains("DATABASE_URL"));
    assert!(compose["volumes"].is_mapping());
}

#[test]
fn documented_enum_values_are_the_ones_sent_and_accepted() {
    use tandem::audit::{Action, ResourceType};
    use tandem::auth::Role;
    use tandem::db::models::pairings::PairingStatus;
    use tandem::db::models::participants::ParticipantStatus;
    let document: serde_json::Value =
        serde_json::from_str(&tandem::http::openapi::document_json()).unwrap();
    let values = |name: &str| document["components"]["schemas"][name]["enum"].clone();
    let json = |all: Vec<&str>| serde_json::json!(all);
    assert_eq!(
        values("Role"),
        json(Role::ALL.iter().map(|r| r.as_str()).collect())
    );
    assert_eq!(
        values("ParticipantStatus"),
        json(ParticipantStatus::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(
        values("PairingStatus"),
        json(PairingStatus::ALL.iter().map(|s| s.as_str()).collect())
    );
    assert_eq!(serde_json::to_value(Role::Coach).unwrap(), "coach");
    assert_eq!(
        values("Action"),
        json(Action::ALL.iter().map(|a| a.as_str()).collect())
    );
    assert_eq!(
        values("ResourceType"),
        json(ResourceType::ALL.iter().map(|r| r.as_str()).collect())
    );
}
