//! `/hsds/services` against the official HSDS 3.0.1 `service` schema (Draft 2020-12, formats
//! asserted), kept with its licence in `tests/fixtures/hsds-3.0.1/`: every service of the
//! seeded directory, a sparse one and a fully filled one.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::helpers::{ok_json, TestApp};
use crate::hsds::clinic;
use crate::resources::resource;

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/hsds-3.0.1/service.json"
        );
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    })
}

/// Asserts that `service` is a valid HSDS 3.0.1 service, listing every error otherwise.
fn assert_valid(service: &Value) {
    let errors: Vec<String> = validator()
        .iter_errors(service)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{}:\n{}",
        service["name"],
        errors.join("\n")
    );
}

/// Every service of the organization's directory, page by page.
async fn all_services(app: &TestApp) -> Vec<Value> {
    let mut services = Vec::new();
    for number in 1.. {
        let path = format!("/hsds/services?page={number}&per_page=10");
        let page = ok_json(app.get(&path, &app.org.coach).await).await;
        services.extend(page["contents"].as_array().unwrap().iter().cloned());
        if page["last_page"] == true {
            assert_eq!(services.len() as u64, page["total_items"].as_u64().unwrap());
            break;
        }
    }
    services
}

#[tokio::test]
async fn every_seeded_service_validates_against_the_official_schema() {
    let app = TestApp::spawn().await;
    let added = tandem::ops::directory_seed::seed(&mut app.conn().await, app.org.id)
        .await
        .unwrap();
    let services = all_services(&app).await;
    assert_eq!(services.len(), added);
    assert_eq!(added, tandem::ops::directory_seed::RESOURCES.len());
    for service in &services {
        assert_valid(service);
    }
}

#[tokio::test]
async fn a_sparse_and_a_fully_filled_service_validate_with_absent_values_left_out() {
    let app = TestApp::spawn().await;
    let sparse = resource(
        &app,
        json!({"name": "Corner Meeting", "organization_name": "Neighbours"}),
    )
    .await;
    let mut filled = clinic();
    filled["status"] = json!("temporarily closed");
    filled["languages"] = json!(["en", "de", "nl", "ase", "zh-Hant"]);
    let full = resource(&app, filled).await;
    for id in [&sparse["id"], &full["id"]] {
        let path = format!("/hsds/services/{}", id.as_str().unwrap());
        assert_valid(&ok_json(app.get(&path, &app.org.coach).await).await);
    }
    let path = format!("/hsds/services/{}", sparse["id"].as_str().unwrap());
    let service = ok_json(app.get(&path, &app.org.coach).await).await;
    for absent in ["url", "email", "eligibility_description", "assured_date"] {
        assert!(
            service.get(absent).is_none(),
            "{absent} is present: {service}"
        );
    }
    let path = format!("/hsds/services/{}", full["id"].as_str().unwrap());
    let service = ok_json(app.get(&path, &app.org.coach).await).await;
    let names: Vec<&str> = service["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|language| language["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "English",
            "German",
            "Dutch",
            "American Sign Language",
            "Chinese"
        ]
    );
}
