//! The directory as Open Referral HSDS 3.0 services, and `Idempotency-Key` on its creates.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_fields, ids, json, ok_json, problem, send, TestApp};
use crate::resources::resource;

pub fn clinic() -> Value {
    json!({
        "name": "Bayside MOUD Clinic",
        "organization_name": "Bayside Health Cooperative",
        "description": "Buprenorphine and methadone, same-day starts.",
        "status": "active",
        "categories": ["moud", "harm_reduction"],
        "email": "intake@bayside.example",
        "phone": "555-010-3000",
        "url": "https://bayside.example",
        "address_1": "400 Shore Road",
        "address_2": "Suite 2",
        "city": "Port Alder",
        "state_province": "ME",
        "postal_code": "04103",
        "country": "US",
        "languages": ["en", "es"],
        "eligibility_description": "Adults 18 and over",
        "schedule_description": "Mon-Sat 7am-3pm",
        "verified_at": "2026-11-01T12:00:00Z",
    })
}

#[tokio::test]
async fn a_resource_reads_as_a_fully_nested_hsds_service() {
    let app = TestApp::spawn().await;
    let created = resource(&app, clinic()).await;
    let id = created["id"].as_str().unwrap();
    let response = app
        .get(&format!("/hsds/services/{id}"), &app.org.coach)
        .await;
    assert!(response.headers().contains_key("etag"));
    let service = ok_json(response).await;
    assert_eq!(service["id"], id);
    assert_eq!(service["name"], "Bayside MOUD Clinic");
    assert_eq!(service["status"], "active");
    assert_eq!(service["assured_date"], "2026-11-01");
    assert_eq!(
        service["organization"]["name"],
        "Bayside Health Cooperative"
    );
    assert_eq!(service["organization_id"], service["organization"]["id"]);
    assert_eq!(service["phones"][0]["number"], "555-010-3000");
    assert_eq!(service["schedules"][0]["description"], "Mon-Sat 7am-3pm");
    let location = &service["service_at_locations"][0]["location"];
    assert_eq!(location["location_type"], "physical");
    let address = &location["addresses"][0];
    assert_eq!(address["address_1"], "400 Shore Road");
    assert_eq!(address["address_2"], "Suite 2");
    assert_eq!(address["postal_code"], "04103");
    assert_eq!(address["country"], "US");
    assert_eq!(address["address_type"], "physical");
    assert_eq!(address["location_id"], location["id"]);
    let codes: Vec<&Value> = service["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["code"])
        .collect();
    assert_eq!(codes, [&json!("en"), &json!("es")]);
    assert_eq!(service["languages"][1]["name"], "Spanish");
    let term = &service["attributes"][0]["taxonomy_term"];
    assert_eq!(term["code"], "moud");
    assert_eq!(term["taxonomy"], "Tandem recovery resource categories");
    assert_eq!(term["taxonomy_detail"]["id"], term["taxonomy_id"]);
    assert_eq!(service["attributes"][0]["taxonomy_term_id"], term["id"]);
    assert_eq!(service["attributes"][0]["link_id"], id);
    let again = ok_json(
        app.get(&format!("/hsds/services/{id}"), &app.org.admin)
            .await,
    )
    .await;
    assert_eq!(again, service, "nested ids are stable");
}

#[tokio::test]
async fn a_service_without_a_full_address_has_no_location() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "Warmline", "organization_name": "Peer Line", "phone": "555 0100"});
    let created = resource(&app, body).await;
    let path = format!("/hsds/services/{}", created["id"].as_str().unwrap());
    let service = ok_json(app.get(&path, &app.org.participant).await).await;
    assert_eq!(service["service_at_locations"], json!([]));
    assert_eq!(service["attributes"], json!([]));
    assert_eq!(service["phones"][0]["number"], "555 0100");
}

/// The `id`s of an HSDS page's `contents`, in order.
fn service_ids(page: &Value) -> Vec<String> {
    let contents = page["contents"]
        .as_array()
        .unwrap_or_else(|| panic!("not an HSDS page: {page}"));
    contents
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_hsds_list_has_the_directorys_filters_and_pages() {
    let app = TestApp::spawn().await;
    let first = resource(&app, clinic()).await;
    let mut other = clinic();
    other["name"] = json!("Eastside Syringe Services");
    other["categories"] = json!(["harm_reduction"]);
    let second = resource(&app, other).await;
    // HSDS's numbered pages, as an Open Referral client asks for them.
    let page = ok_json(
        app.get("/hsds/services?page=1&per_page=1", &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(service_ids(&page), [first["id"].as_str().unwrap()]);
    let envelope = |page: &Value| {
        let field = |name: &str| page[name].clone();
        json!([
            field("total_items"),
            field("total_pages"),
            field("page_number"),
            field("size"),
            field("first_page"),
            field("last_page"),
            field("empty")
        ])
    };
    assert_eq!(envelope(&page), json!([2, 2, 1, 1, true, false, false]));
    let next = ok_json(
        app.get("/hsds/services?page=2&per_page=1", &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(service_ids(&next), [second["id"].as_str().unwrap()]);
    assert_eq!(envelope(&next), json!([2, 2, 2, 1, false, true, false]));
    let past = ok_json(
        app.get("/hsds/services?page=3&per_page=1", &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(envelope(&past), json!([2, 2, 3, 1, false, true, true]));
    let default = ok_json(app.get("/hsds/services", &app.org.coach).await).await;
    assert_eq!(envelope(&default), json!([2, 1, 1, 50, true, true, false]));
    assert_eq!(service_ids(&default).len(), 2);
    let moud = ok_json(
        app.get("/hsds/services?category=moud", &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(service_ids(&moud), [first["id"].as_str().unwrap()]);
    assert_eq!(moud["total_items"], 1);
    let search = ok_json(app.get("/hsds/services?q=syringe", &app.org.coach).await).await;
    assert_eq!(service_ids(&search), [second["id"].as_str().unwrap()]);
    let outside = ok_json(app.get("/hsds/services", &app.other_org.admin).await).await;
    assert_eq!(envelope(&outside), json!([0, 0, 1, 50, true, true, true]));
    assert_eq!(outside["contents"], json!([]));
}

#[tokio::test]
async fn a_repeated_create_with_the_same_key_replays_and_another_body_is_422() {
    let app = TestApp::spawn().await;
    let post = |body: Value| {
        send(
            app.request(Method::POST, "/resources", Some(&app.org.supervisor))
                .header("Idempotency-Key", "directory-1")
                .json(&body),
        )
    };
    let first = post(clinic()).await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;
    let replay = post(clinic()).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(json(replay).await, first);
    let mut changed = clinic();
    changed["name"] = json!("Another clinic");
    let refused = problem(post(changed).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["Idempotency-Key"]);
    let all = ok_json(app.get("/resources", &app.org.admin).await).await;
    assert_eq!(ids(&all), [first["id"].as_str().unwrap()]);
}
