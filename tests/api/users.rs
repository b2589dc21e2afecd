use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_fields, ids, json, ok_json, problem, send, TestApp};

fn new_user(email: &str) -> Value {
    json!({
        "email": email,
        "display_name": "Rosa Diaz",
        "role": "coach",
        "password": "a long enough password"
    })
}

#[tokio::test]
async fn an_admin_creates_a_user_who_can_then_sign_in() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/users",
            Some(&app.org.admin),
            &new_user("Rosa@Example.org"),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(response.headers().contains_key("etag"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(response).await;
    assert_eq!(
        location,
        format!("/api/v1/users/{}", body["id"].as_str().unwrap())
    );
    assert_eq!(body["email"], "rosa@example.org");
    assert_eq!(body["role"], "coach");
    assert_eq!(body["active"], true);
    assert_eq!(body["organization_id"], app.org.id.to_string());
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());

    let fetched = app
        .get(&location.replace("/api/v1", ""), &app.org.admin)
        .await;
    assert_eq!(fetched.status(), 200);
    assert_eq!(json(fetched).await, body);
    assert_eq!(
        app.login("rosa@example.org", "a long enough password")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn only_admins_may_manage_users() {
    let app = TestApp::spawn().await;
    let target = format!("/users/{}", app.org.coach.id);
    let callers: [&dyn crate::helpers::Caller; 4] = [
        &app.org.supervisor,
        &app.org.coach,
        &app.org.participant,
        &app.org.client,
    ];
    for caller in callers {
        problem(
            app.post("/users", Some(caller), &new_user("x@example.org"))
                .await,
            403,
        )
        .await;
        problem(app.get("/users", caller).await, 403).await;
        problem(app.get(&target, caller).await, 403).await;
        problem(
            app.patch(&target, caller, &json!({"display_name": "X"}))
                .await,
            403,
        )
        .await;
    }
    problem(
        app.post("/users", None, &new_user("x@example.org")).await,
        401,
    )
    .await;
    let listed = json(app.get("/users", &app.org.admin).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn an_admin_of_another_organization_sees_404_identical_to_a_missing_user() {
    let app = TestApp::spawn().await;
    let outsider = &app.other_org.admin;
    let existing = problem(
        app.get(&format!("/users/{}", app.org.coach.id), outsider)
            .await,
        404,
    )
    .await;
    let missing = problem(
        app.get(&format!("/users/{}", uuid::Uuid::now_v7()), outsider)
            .await,
        404,
    )
    .await;
    assert_eq!(existing, missing);
    problem(
        app.patch(
            &format!("/users/{}", app.org.coach.id),
            outsider,
            &json!({"active": false}),
        )
        .await,
        404,
    )
    .await;
    let listed = json(app.get("/users", outsider).await).await;
    let organizations: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["organization_id"].as_str().unwrap())
        .collect();
    let other_org = app.other_org.id.to_string();
    assert_eq!(organizations, vec![other_org.as_str(); 5]);
}

#[tokio::test]
async fn invalid_users_are_refused_naming_each_field_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let body = json!({"email": "nope", "display_name": "", "role": "coach", "password": "short"});
    let problem_body = problem(app.post("/users", Some(&app.org.admin), &body).await, 422).await;
    let mut fields = error_fields(&problem_body);
    fields.sort();
    assert_eq!(fields, vec!["display_name", "email", "password"]);

    let participant = json!({"email": "p@example.org", "display_name": "P", "role": "participant", "password": "a long enough password"});
    let body = problem(
        app.post("/users", Some(&app.org.admin), &participant).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["role"]);

    let bad_role = json!({"email": "p@example.org", "display_name": "P", "role": "wizard", "password": "a long enough password"});
    let body = problem(
        app.post("/users", Some(&app.org.admin), &bad_role).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["role"]);

    let mut smuggled = new_user("sneaky@example.org");
    smuggled["organization_id"] = json!(app.other_org.id);
    let body = problem(
        app.post("/users", Some(&app.org.admin), &smuggled).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["organization_id"]);

    let listed = json(app.get("/users", &app.org.admin).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 5);
}

async fn count_users(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    tandem::db::schema::users::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_even_across_organizations_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let listed = ids(&ok_json(app.get("/users", &app.org.admin).await).await);
    let total = count_users(&app).await;
    let body = new_user(&app.other_org.coach.email.to_uppercase());
    problem(app.post("/users", Some(&app.org.admin), &body).await, 409).await;
    let same_org = new_user(&app.org.coach.email);
    problem(
        app.post("/users", Some(&app.org.admin), &same_org).await,
        409,
    )
    .await;
    assert_eq!(
        ids(&ok_json(app.get("/users", &app.org.admin).await).await),
        listed
    );
    assert_eq!(count_users(&app).await, total);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_response_and_rejects_a_different_body() {
    let app = TestApp::spawn().await;
    let create = |body: Value| {
        app.request(Method::POST, "/users", Some(&app.org.admin))
            .header("Idempotency-Key", "create-rosa-1")
            .json(&body)
    };
    let first = send(create(new_user("rosa@example.org"))).await;
    assert_eq!(first.status(), 201);
    let first_location = first.headers()["location"].clone();
    let first_body = json(first).await;

    let again = send(create(new_user("rosa@example.org"))).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], first_location);
    assert_eq!(json(again).await, first_body);

    let different = send(create(new_user("other@example.org"))).await;
    let body = problem(different, 422).await;
    assert_eq!(error_fields(&body), vec!["Idempotency-Key"]);

    // The key belongs to its caller: another admin using it creates normally.
    let other = send(
        app.request(Method::POST, "/users", Some(&app.other_org.admin))
            .header("Idempotency-Key", "create-rosa-1")
            .json(&new_user("third@example.org")),
    )
    .await;
    assert_eq!(other.status(), 201);
    assert!(other.headers().get("idempotent-replayed").is_none());

    let listed = json(app.get("/users", &app.org.admin).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn users_are_listed_in_pages_filtered_by_role() {
    let app = TestApp::spawn().await;
    for n in 0..5 {
        let response = app
            .post(
                "/users",
                Some(&app.org.admin),
                &new_user(&format!("c{n}@example.org")),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/users?role=coach&limit=2&cursor={c}"),
            None => "/users?role=coach&limit=2".to_owned(),
        };
        let page = json(app.get(&path, &app.org.admin).await).await;
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["role"], "coach");
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "ids ascend and never repeat");
}

#[tokio::test]
async fn the_active_filter_separates_deactivated_users() {
    let app = TestApp::spawn().await;
    let gone = app.org.other_coach.id.to_string();
    ok_json(
        app.patch(
            &format!("/users/{gone}"),
            &app.org.admin,
            &json!({"active": false}),
        )
        .await,
    )
    .await;
    let inactive = ok_json(app.get("/users?active=false", &app.org.admin).await).await;
    assert_eq!(ids(&inactive), vec![gone.clone()]);
    let active = ids(&ok_json(app.get("/users?active=true", &app.org.admin).await).await);
    assert_eq!(active.len(), 4);
    assert!(!active.contains(&gone));
}

#[tokio::test]
async fn bad_user_list_parameters_are_400() {
    let app = TestApp::spawn().await;
    problem(app.get("/users?limit=0", &app.org.admin).await, 400).await;
    problem(app.get("/users?limit=201", &app.org.admin).await, 400).await;
    problem(app.get("/users?limit=ten", &app.org.admin).await, 400).await;
    problem(app.get("/users?cursor=garbage", &app.org.admin).await, 400).await;
    problem(app.get("/users?role=wizard", &app.org.admin).await, 400).await;
    problem(app.get("/users?colour=blue", &app.org.admin).await, 400).await;
}

#[tokio::test]
async fn a_patch_with_a_stale_if_match_gets_412_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let path = format!("/users/{}", app.org.coach.id);
    let current = app.get(&path, &app.org.admin).await;
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();

    let renamed = send(
        app.request(Method::PATCH, &path, Some(&app.org.admin))
            .header("If-Match", &etag)
            .json(&json!({"display_name": "Coach Carter"})),
    )
    .await;
    assert_eq!(renamed.status(), 200);
    assert_ne!(renamed.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(json(renamed).await["display_name"], "Coach Carter");

    let stale = send(
        app.request(Method::PATCH, &path, Some(&app.org.admin))
            .header("If-Match", &etag)
            .json(&json!({"display_name": "Someone Else"})),
    )
    .await;
    problem(stale, 412).await;
    let now = json(app.get(&path, &app.org.admin).await).await;
    assert_eq!(now["display_name"], "Coach Carter");
}

#[tokio::test]
async fn a_deactivated_user_is_refused_on_the_very_next_request() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/me", &app.org.coach).await.status(), 200);
    let response = app
        .patch(
            &format!("/users/{}", app.org.coach.id),
            &app.org.admin,
            &json!({"active": false}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["active"], false);
    problem(app.get("/me", &app.org.coach).await, 401).await;
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let response = app
        .patch(
            &format!("/users/{}", app.org.supervisor.id),
            &app.org.admin,
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    // The old token says supervisor: it no longer describes the account.
    problem(app.get("/me", &app.org.supervisor).await, 401).await;
}

#[tokio::test]
async fn admins_cannot_demote_or_deactivate_themselves() {
    let app = TestApp::spawn().await;
    let path = format!("/users/{}", app.org.admin.id);
    problem(
        app.patch(&path, &app.org.admin, &json!({"active": false}))
            .await,
        409,
    )
    .await;
    problem(
        app.patch(&path, &app.org.admin, &json!({"role": "coach"}))
            .await,
        409,
    )
    .await;
    assert_eq!(app.get("/me", &app.org.admin).await.status(), 200);
}

#[tokio::test]
async fn user_patches_reject_unknown_and_invalid_fields() {
    let app = TestApp::spawn().await;
    let path = format!("/users/{}", app.org.coach.id);
    let body = problem(
        app.patch(&path, &app.org.admin, &json!({"email": "x@example.org"}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["email"]);
    let body = problem(
        app.patch(&path, &app.org.admin, &json!({"display_name": "  "}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["display_name"]);
    let body = problem(
        app.patch(&path, &app.org.admin, &json!({"active": "yes"}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["active"]);
    problem(
        app.patch("/users/not-a-uuid", &app.org.admin, &json!({}))
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn a_coach_with_a_caseload_keeps_the_role_until_it_is_reassigned() {
    let app = TestApp::spawn().await;
    let path = format!("/users/{}", app.org.coach.id);
    problem(
        app.patch(&path, &app.org.admin, &json!({"role": "supervisor"}))
            .await,
        409,
    )
    .await;
    // Deactivating is allowed, and the caseload can still be moved afterwards.
    let response = app
        .patch(&path, &app.org.admin, &json!({"active": false}))
        .await;
    assert_eq!(response.status(), 200);
    let moved = app
        .post(
            "/pairings/reassign",
            Some(&app.org.supervisor),
            &json!({"from_coach_id": app.org.coach.id, "to_coach_id": app.org.other_coach.id, "reason": "coach left"}),
        )
        .await;
    assert_eq!(moved.status(), 200);
    assert_eq!(json(moved).await["moved"].as_array().unwrap().len(), 1);
    let response = app
        .patch(&path, &app.org.admin, &json!({"role": "supervisor"}))
        .await;
    assert_eq!(response.status(), 200);
}
