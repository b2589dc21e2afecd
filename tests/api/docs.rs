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
            let secured = is_secured(operation);
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

/// Whether `operation` needs a token: a `security` list with a non-empty requirement.
pub fn is_secured(operation: &serde_json::Value) -> bool {
    operation["security"]
        .as_array()
        .is_some_and(|requirements| {
            requirements
                .iter()
                .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
        })
}

fn document() -> serde_json::Value {
    serde_json::from_str(&tandem::http::openapi::document_json()).unwrap()
}

/// Each operation of the document, as `(method, path, operation)`.
fn operations(document: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    found
}

#[test]
fn every_operation_states_its_security_and_the_public_ones_say_none() {
    let public: Vec<String> = operations(&document())
        .into_iter()
        .filter(|(method, path, operation)| {
            let security = operation["security"].as_array();
            assert!(security.is_some(), "{method} {path} states no security");
            !is_secured(operation)
        })
        .map(|(method, path, operation)| {
            assert_eq!(
                operation["security"],
                serde_json::json!([]),
                "{method} {path}"
            );
            format!("{method} {path}")
        })
        .collect();
    let mut expected = vec![
        "get /.well-known/oauth-authorization-server",
        "get /.well-known/smart-configuration",
        "post /api/v1/auth/login",
        "post /api/v1/auth/logout",
        "post /api/v1/auth/refresh",
        "post /api/v1/auth/token",
        "get /api/v1/openapi.json",
        "get /healthz",
        "get /readyz",
    ];
    expected.sort();
    let mut public = public;
    public.sort();
    assert_eq!(public, expected);
}

#[test]
fn every_tag_used_is_declared_with_a_description_and_every_declared_tag_is_used() {
    let document = document();
    let declared: Vec<&str> = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| {
            let name = tag["name"].as_str().unwrap();
            let description = tag["description"].as_str().unwrap_or_default();
            assert!(description.len() > 10, "tag {name} has no description");
            name
        })
        .collect();
    let mut used = std::collections::BTreeSet::new();
    for (method, path, operation) in operations(&document) {
        for tag in operation["tags"].as_array().unwrap() {
            let tag = tag.as_str().unwrap().to_owned();
            assert!(
                declared.contains(&tag.as_str()),
                "{method} {path}: tag {tag} undeclared"
            );
            used.insert(tag);
        }
    }
    assert_eq!(
        used.len(),
        declared.len(),
        "declared but unused: {declared:?} vs {used:?}"
    );
    // In the order an admin meets them: signing in first, operations last.
    assert_eq!(declared.first(), Some(&"auth"));
    assert_eq!(declared.last(), Some(&"operations"));
    assert!(document["servers"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
}

#[test]
fn lists_refer_to_their_item_schemas() {
    let document = document();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let pages: Vec<_> = schemas.keys().filter(|k| k.starts_with("Page_")).collect();
    assert!(pages.len() > 10);
    for page in pages {
        let items = &schemas[page]["properties"]["items"]["items"];
        let item = page.trim_start_matches("Page_");
        assert_eq!(
            items["$ref"],
            format!("#/components/schemas/{item}"),
            "{page} inlines its items"
        );
    }
}

#[test]
fn status_change_examples_are_moves_the_server_allows() {
    use tandem::domain::lifecycle::{GOAL, PAIRING, REFERRAL};
    fn targets<S: Copy + Into<&'static str>>(moves: &[(S, &'static [S])]) -> Vec<&'static str> {
        moves
            .iter()
            .flat_map(|(_, next)| next.iter().map(|s| (*s).into()))
            .collect()
    }
    let document = document();
    let schemas = &document["components"]["schemas"];
    for (schema, allowed) in [
        ("GoalStatusRequest", targets(GOAL.moves)),
        ("PairingStatusRequest", targets(PAIRING.moves)),
        ("ReferralStatusRequest", targets(REFERRAL.moves)),
    ] {
        let example = schemas[schema]["example"]["status"].as_str();
        assert!(
            example.is_some_and(|status| allowed.contains(&status)),
            "{schema}'s example {example:?} is not a move the server allows"
        );
    }
    // Swagger UI makes up a value from the bounds where a number has no example: a problem's
    // status is a real one.
    assert_eq!(schemas["Problem"]["properties"]["status"]["example"], 404);
}

#[test]
fn the_webhooks_section_describes_every_event() {
    use tandem::db::models::webhook_events::EventType;
    let document = document();
    for event in EventType::ALL {
        let operation = &document["webhooks"][event.as_str()]["post"];
        let schema = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{} is not described", event.as_str()));
        let name = schema.trim_start_matches("#/components/schemas/");
        let body = &document["components"]["schemas"][name];
        assert_eq!(
            body["properties"]["type"]["enum"],
            serde_json::json!([event.as_str()])
        );
        let headers: Vec<&str> = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            headers,
            [
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "X-Tandem-Signature"
            ]
        );
    }
}

/// Asserts that `body`, a delivered webhook event, is what the document's `webhooks` section
/// says an event of its type is.
pub fn assert_event_matches_document(body: &serde_json::Value) {
    let document = document();
    let event = body["type"].as_str().unwrap_or_default();
    let reference = document["webhooks"][event]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("the document describes no event {event}"));
    let name = reference.trim_start_matches("#/components/schemas/");
    let schema = &document["components"]["schemas"][name];
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap();
    let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{body} against {name}: {errors:?}");
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
