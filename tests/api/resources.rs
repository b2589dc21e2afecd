//! The community-resource directory: create, read, update, search and filter.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{error_fields, ids, json, ok_json, problem, send, Caller, TestApp, TestUser};

fn harbor() -> Value {
    json!({
        "name": "Harbor Light Recovery Community Center",
        "organization_name": "Harbor Light Collective",
        "description": "Peer-run drop-in center with all-recovery meetings and coffee.",
        "categories": ["recovery_community_center", "mutual_aid"],
        "email": "Hello@HarborLight.example",
        "phone": "(555) 010-2000",
        "url": "https://harborlight.example/center",
        "address_1": "12 Wharf Street",
        "city": "Port Alder",
        "state_province": "ME",
        "postal_code": "04101",
        "country": "us",
        "languages": ["EN", "es"],
        "schedule_description": "Weekdays 9-5",
    })
}

async fn create(app: &TestApp, caller: &TestUser, body: &Value) -> Response {
    app.post("/resources", Some(caller), body).await
}

/// Creates a resource as the first organization's supervisor; returns it.
pub async fn resource(app: &TestApp, body: Value) -> Value {
    let response = create(app, &app.org.supervisor, &body).await;
    let status = response.status();
    let created = json(response).await;
    assert_eq!(status, 201, "{created}");
    created
}

fn named(name: &str, description: &str) -> Value {
    json!({"name": name, "organization_name": "Test Org", "description": description})
}

async fn list(app: &TestApp, query: &str, caller: &dyn Caller) -> Value {
    ok_json(app.get(&format!("/resources{query}"), caller).await).await
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_supervisor_adds_a_resource_that_every_role_can_read() {
    let app = TestApp::spawn().await;
    let response = create(&app, &app.org.supervisor, &harbor()).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(response.headers().contains_key("etag"));
    let created = json(response).await;
    assert_eq!(
        location,
        format!("/api/v1/resources/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["status"], "active");
    assert_eq!(created["accepts_referrals"], true);
    assert_eq!(created["email"], "hello@harborlight.example");
    assert_eq!(created["country"], "US");
    assert_eq!(created["languages"], json!(["en", "es"]));
    assert_eq!(created["organization_id"], json!(app.org.id));
    let path = location.trim_start_matches("/api/v1");
    for reader in [&app.org.admin, &app.org.coach, &app.org.participant] {
        let response = app.get(path, reader).await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert!(response.headers().contains_key("etag"));
        assert_eq!(ok_json(response).await, created);
    }
}

#[tokio::test]
async fn a_patch_with_a_stale_etag_is_412_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let created = resource(&app, harbor()).await;
    let path = format!("/resources/{}", created["id"].as_str().unwrap());
    let read = app.get(&path, &app.org.admin).await;
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let patch = |tag: String, body: Value| {
        send(
            app.request(Method::PATCH, &path, Some(&app.org.admin))
                .header("If-Match", tag)
                .json(&body),
        )
    };
    let body = json!({"status": "temporarily closed", "phone": null, "categories": ["food"]});
    let updated = ok_json(patch(etag.clone(), body).await).await;
    assert_eq!(updated["status"], "temporarily closed");
    assert_eq!(updated["phone"], Value::Null);
    assert_eq!(updated["categories"], json!(["food"]));
    assert_eq!(updated["name"], created["name"]);
    problem(patch(etag, json!({"name": "Overwritten"})).await, 412).await;
    assert_eq!(ok_json(app.get(&path, &app.org.admin).await).await, updated);
}

#[tokio::test]
async fn invalid_fields_are_each_named_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let mut body = harbor();
    body["name"] = json!("a".repeat(201));
    body["email"] = json!("not an email");
    body["url"] = json!("ftp://files.example");
    body["country"] = json!("USA");
    body["languages"] = json!(["en", "not a tag"]);
    body["verified_at"] = json!("2999-01-01T00:00:00Z");
    let refused = problem(create(&app, &app.org.supervisor, &body).await, 422).await;
    let mut fields = error_fields(&refused);
    fields.sort();
    assert_eq!(
        fields,
        [
            "country",
            "email",
            "languages[1]",
            "name",
            "url",
            "verified_at"
        ]
    );
    for (field, value) in [
        ("status", json!("closed")),
        ("categories", json!(["food", "bingo"])),
    ] {
        let mut body = harbor();
        body[field] = value;
        let refused = problem(create(&app, &app.org.supervisor, &body).await, 422).await;
        assert!(error_fields(&refused)[0].starts_with(field), "{refused}");
    }
    let mut body = harbor();
    body["organization_id"] = json!(app.other_org.id);
    let refused = problem(create(&app, &app.org.supervisor, &body).await, 422).await;
    assert_eq!(error_fields(&refused), ["organization_id"]);
    assert_eq!(list(&app, "", &app.org.admin).await["items"], json!([]));
}

#[tokio::test]
async fn an_invalid_patch_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let created = resource(&app, harbor()).await;
    let path = format!("/resources/{}", created["id"].as_str().unwrap());
    let body = json!({"name": " ", "url": "not a url", "status": "gone"});
    let refused = problem(app.patch(&path, &app.org.admin, &body).await, 422).await;
    assert!(
        error_fields(&refused).contains(&"status".to_owned()),
        "{refused}"
    );
    let body = json!({"name": " ", "url": "not a url"});
    let refused = problem(app.patch(&path, &app.org.admin, &body).await, 422).await;
    assert_eq!(error_fields(&refused), ["name", "url"]);
    assert_eq!(ok_json(app.get(&path, &app.org.admin).await).await, created);
}

#[tokio::test]
async fn coaches_and_participants_may_not_add_or_change_resources_and_are_audited() {
    let app = TestApp::spawn().await;
    let created = resource(&app, harbor()).await;
    let path = format!("/resources/{}", created["id"].as_str().unwrap());
    for caller in [&app.org.coach, &app.org.participant] {
        problem(create(&app, caller, &harbor()).await, 403).await;
        let body = json!({"name": "Renamed"});
        problem(app.patch(&path, caller, &body).await, 403).await;
        let query = format!("/audit-events?actor_id={}&outcome=denied", caller.id);
        let events = ok_json(app.get(&query, &app.org.admin).await).await;
        let events = events["items"].as_array().unwrap().clone();
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(events.iter().all(|e| e["resource_type"] == "resource"));
    }
    assert_eq!(ok_json(app.get(&path, &app.org.admin).await).await, created);
    assert_eq!(
        list(&app, "", &app.org.admin).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn writes_are_audited_as_resource_events() {
    let app = TestApp::spawn().await;
    let created = resource(&app, harbor()).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/resources/{id}");
    ok_json(
        app.patch(&path, &app.org.admin, &json!({"city": "Bayside"}))
            .await,
    )
    .await;
    let events = ok_json(
        app.get("/audit-events?resource_type=resource", &app.org.admin)
            .await,
    )
    .await;
    let actions: Vec<(&str, &str)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["resource_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("create", id)) && actions.contains(&("update", id)),
        "{actions:?}"
    );
}

#[tokio::test]
async fn another_organization_never_sees_or_changes_a_resource() {
    let app = TestApp::spawn().await;
    let created = resource(&app, harbor()).await;
    let id = created["id"].as_str().unwrap();
    let other = &app.other_org;
    for caller in [
        &other.admin,
        &other.supervisor,
        &other.coach,
        &other.participant,
    ] {
        problem(app.get(&format!("/resources/{id}"), caller).await, 404).await;
        problem(app.get(&format!("/hsds/services/{id}"), caller).await, 404).await;
        for query in ["", "?q=harbor", "?category=mutual_aid"] {
            assert_eq!(list(&app, query, caller).await["items"], json!([]));
        }
    }
    for caller in [&other.admin, &other.supervisor] {
        let body = json!({"name": "Taken over"});
        problem(
            app.patch(&format!("/resources/{id}"), caller, &body).await,
            404,
        )
        .await;
    }
    let path = format!("/resources/{id}");
    assert_eq!(ok_json(app.get(&path, &app.org.admin).await).await, created);
}

#[tokio::test]
async fn a_better_name_match_ranks_first_and_accents_do_not_matter() {
    let app = TestApp::spawn().await;
    resource(
        &app,
        named("Riverbend Food Pantry", "Also near the clinic on Elm."),
    )
    .await;
    resource(
        &app,
        named("Clínica Esperanza", "Buprenorphine and counseling."),
    )
    .await;
    let page = list(&app, "?q=clinic", &app.org.coach).await;
    assert_eq!(names(&page), ["Clínica Esperanza", "Riverbend Food Pantry"]);
    let page = list(&app, "?q=CL%C3%8DNICA%20esperanza", &app.org.coach).await;
    assert_eq!(names(&page), ["Clínica Esperanza"]);
    let page = list(&app, "?q=bupre", &app.org.participant).await;
    assert_eq!(names(&page), ["Clínica Esperanza"]);
    assert_eq!(
        list(&app, "?q=methadone", &app.org.coach).await["items"],
        json!([])
    );
}

#[tokio::test]
async fn a_search_of_punctuation_alone_finds_nothing_and_is_not_an_error() {
    let app = TestApp::spawn().await;
    resource(&app, named("Harbor", "O'Brien's place")).await;
    for q in [
        "%21%21%21",
        "%27",
        "%5C",
        "%26%7C%3A*",
        "o%27brien%27s%20%5C%20%25",
    ] {
        let response = app.get(&format!("/resources?q={q}"), &app.org.admin).await;
        assert_eq!(response.status(), 200, "q={q}");
    }
    let page = list(&app, "?q=o%27brien", &app.org.admin).await;
    assert_eq!(names(&page), ["Harbor"]);
}

#[tokio::test]
async fn each_filter_keeps_only_matching_resources() {
    let app = TestApp::spawn().await;
    let mut spanish = named("Centro Latino", "");
    spanish["languages"] = json!(["es"]);
    spanish["categories"] = json!(["food"]);
    spanish["postal_code"] = json!("04102");
    spanish["accepts_referrals"] = json!(false);
    resource(&app, spanish).await;
    let mut english = named("Harbor Housing", "");
    english["languages"] = json!(["en"]);
    english["categories"] = json!(["housing"]);
    english["postal_code"] = json!("04101");
    resource(&app, english).await;
    let cases = [
        ("?language=es", "Centro Latino"),
        ("?language=ES", "Centro Latino"),
        ("?category=housing", "Harbor Housing"),
        ("?postal_code=04102", "Centro Latino"),
        ("?accepts_referrals=true", "Harbor Housing"),
        (
            "?accepts_referrals=false&language=es&category=food",
            "Centro Latino",
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            names(&list(&app, query, &app.org.coach).await),
            [expected],
            "{query}"
        );
    }
    assert_eq!(
        list(&app, "?category=legal", &app.org.coach).await["items"],
        json!([])
    );
}

#[tokio::test]
async fn malformed_filters_are_400_naming_the_parameter() {
    let app = TestApp::spawn().await;
    for (query, parameter) in [
        ("category=bingo", "category"),
        ("language=not%20a%20tag", "language"),
        ("accepts_referrals=maybe", "accepts_referrals"),
        ("postal_code=", "postal_code"),
        ("colour=red", "colour"),
    ] {
        for base in ["/resources", "/hsds/services"] {
            assert_400_naming(&app, &format!("{base}?{query}"), parameter).await;
        }
    }
    // Each list's own paging: a cursor for `/resources`, page numbers for HSDS.
    for (path, parameter) in [
        ("/resources?limit=0", "limit"),
        ("/resources?cursor=garbage", "cursor"),
        ("/resources?page=2", "page"),
        ("/hsds/services?page=0", "page"),
        ("/hsds/services?page=x", "page"),
        ("/hsds/services?per_page=201", "per_page"),
        ("/hsds/services?limit=1", "limit"),
        ("/hsds/services?cursor=abc", "cursor"),
    ] {
        assert_400_naming(&app, path, parameter).await;
    }
}

async fn assert_400_naming(app: &TestApp, path: &str, parameter: &str) {
    let refused = problem(app.get(path, &app.org.admin).await, 400).await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("`{parameter}`")),
        "{path}: {detail}"
    );
}

/// Walks every page of `query` at two per page; returns the ids in order.
async fn walk(app: &TestApp, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = list(app, &format!("?limit=2{query}{after}"), &app.org.coach).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn pages_cover_every_resource_once_with_and_without_a_search() {
    let app = TestApp::spawn().await;
    let mut all = Vec::new();
    for (name, description) in [
        ("Recovery Café", "recovery meals"),
        ("Recovery Housing North", "recovery homes"),
        ("Job Ladder", "employment after recovery"),
        ("Legal Aid Desk", "expungement"),
        ("Recovery Ride", ""),
        ("Recovery Circle", "recovery recovery meetings"),
    ] {
        all.push(
            resource(&app, named(name, description)).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(walk(&app, "").await, all);
    let searched = walk(&app, "&q=recovery").await;
    let whole = ids(&list(&app, "?q=recovery", &app.org.coach).await);
    assert_eq!(searched, whole, "pages follow the ranked order");
    let mut sorted = searched.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 5, "no duplicates, no gaps: {searched:?}");
    assert!(!searched.contains(&all[3]));
}

#[tokio::test]
async fn a_client_with_directory_read_reads_only_its_own_organizations_directory() {
    let app = TestApp::spawn().await;
    let created = resource(&app, harbor()).await;
    let id = created["id"].as_str().unwrap();
    let client = app.client_in(&app.org, &["directory:read"]).await;
    assert_eq!(ids(&list(&app, "", &client).await), [id]);
    assert_eq!(
        ok_json(app.get(&format!("/resources/{id}"), &client).await).await,
        created
    );
    let service = ok_json(app.get(&format!("/hsds/services/{id}"), &client).await).await;
    assert_eq!(service["id"], id);
    let outsider = app.client_in(&app.other_org, &["directory:read"]).await;
    assert_eq!(list(&app, "?q=harbor", &outsider).await["items"], json!([]));
    let hsds = ok_json(app.get("/hsds/services", &outsider).await).await;
    assert_eq!(hsds["contents"], json!([]));
    assert_eq!(hsds["total_items"], 0);
    problem(app.get(&format!("/resources/{id}"), &outsider).await, 404).await;
    problem(
        app.get(&format!("/hsds/services/{id}"), &outsider).await,
        404,
    )
    .await;
    problem(app.post("/resources", Some(&client), &harbor()).await, 403).await;
    problem(
        app.patch(&format!("/resources/{id}"), &client, &json!({"name": "X"}))
            .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn a_client_without_directory_read_gets_an_audited_403_naming_the_scope() {
    let app = TestApp::spawn().await;
    let created = resource(&app, harbor()).await;
    let id = created["id"].as_str().unwrap();
    let client = app.client_in(&app.org, &["referrals:read"]).await;
    let paths = [
        "/resources".to_owned(),
        format!("/resources/{id}"),
        "/hsds/services".to_owned(),
        format!("/hsds/services/{id}"),
    ];
    for path in &paths {
        let refused = problem(app.get(path, &client).await, 403).await;
        assert!(
            refused["detail"]
                .as_str()
                .unwrap()
                .contains("directory:read"),
            "{path}: {refused}"
        );
    }
    let query = "/audit-events?outcome=denied&resource_type=resource";
    let events = ok_json(app.get(query, &app.org.admin).await).await;
    let by_client = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["client_id"] == json!(client.id))
        .count();
    assert_eq!(by_client, paths.len());
}

/// The plan PostgreSQL chooses for `query`, as the app's runtime role sees it.
async fn plan(app: &TestApp, query: &str) -> String {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let lines: Vec<Line> = diesel::sql_query(format!("EXPLAIN (COSTS OFF) {query}"))
        .load(&mut app.runtime_conn().await)
        .await
        .unwrap();
    lines
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn searches_and_filters_read_their_indexes() {
    let app = TestApp::spawn().await;
    let (org, other) = (app.org.id, app.other_org.id);
    let seed = format!(
        "INSERT INTO resources (id, organization_id, name, organization_name, description,
                                categories, languages, postal_code)
             SELECT gen_random_uuid(), CASE WHEN n % 2 = 0 THEN '{org}'::uuid ELSE '{other}'::uuid END,
                    'Service ' || n || ' ' || md5(n::text), 'Org ' || n % 50,
                    'About ' || md5((n * 7)::text), ARRAY['food'], ARRAY['en'],
                    lpad((n % 100)::text, 5, '0')
             FROM generate_series(1, 20000) n;
         ANALYZE resources;"
    );
    app.sql(&seed).await.unwrap();
    let document = "tandem_resource_document(name, organization_name, description)";
    let search = format!(
        "SELECT id, ts_rank({document}, tandem_resource_query('bupre')) AS rank FROM resources
         WHERE organization_id = '{org}' AND {document} @@ tandem_resource_query('bupre')
         ORDER BY rank DESC, id LIMIT 51"
    );
    let seen = plan(&app, &search).await;
    assert!(seen.contains("resources_search_idx"), "{seen}");
    let by_postal_code = format!(
        "SELECT id FROM resources WHERE organization_id = '{org}' AND postal_code = '00042'
         ORDER BY id LIMIT 51"
    );
    let seen = plan(&app, &by_postal_code).await;
    assert!(
        seen.contains("resources_postal_code_idx") && !seen.contains("Sort"),
        "{seen}"
    );
    let in_order =
        format!("SELECT id FROM resources WHERE organization_id = '{org}' ORDER BY id LIMIT 51");
    let seen = plan(&app, &in_order).await;
    assert!(
        seen.contains("resources_organization_idx") && !seen.contains("Sort"),
        "{seen}"
    );
}
