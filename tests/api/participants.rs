use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    error_fields, ids, json, ok_json, problem, send, RawToken, TestApp, TestParticipant,
};

fn jose() -> Value {
    json!({
        "first_name": "José",
        "last_name": "Núñez",
        "preferred_name": "Pepe",
        "preferred_language": "es",
        "recovery_pathways": ["moud"],
        "needs": ["opioids", "housing"],
        "date_of_birth": "1988-04-02"
    })
}

async fn create(app: &TestApp, caller: &crate::helpers::TestUser, body: &Value) -> Value {
    let response = app.post("/participants", Some(caller), body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    json(response).await
}

async fn count_participants(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let mut conn = app.conn().await;
    tandem::db::schema::participants::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_coach_who_creates_a_participant_is_paired_with_them_at_once() {
    let app = TestApp::spawn().await;
    let response = app
        .post("/participants", Some(&app.org.coach), &jose())
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body = json(response).await;
    assert_eq!(
        location,
        format!("/api/v1/participants/{}", body["id"].as_str().unwrap())
    );
    assert_eq!(body["first_name"], "José");
    assert_eq!(body["status"], "active");
    assert_eq!(
        body["current_pairing"]["coach_id"],
        app.org.coach.id.to_string()
    );
    assert_eq!(body["current_pairing"]["status"], "active");

    let id = body["id"].as_str().unwrap();
    let listed = ok_json(app.get("/participants", &app.org.coach).await).await;
    assert!(ids(&listed).contains(&id.to_owned()));
    problem(
        app.get(&format!("/participants/{id}"), &app.org.other_coach)
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn participants_created_by_supervisors_wait_in_the_unassigned_queue() {
    let app = TestApp::spawn().await;
    let body = create(&app, &app.org.supervisor, &jose()).await;
    assert!(body["current_pairing"].is_null());
    let queue = json(
        app.get("/participants?unassigned=true", &app.org.supervisor)
            .await,
    )
    .await;
    assert_eq!(ids(&queue), vec![body["id"].as_str().unwrap()]);
    let assigned = json(
        app.get("/participants?unassigned=false", &app.org.supervisor)
            .await,
    )
    .await;
    assert_eq!(
        assigned["items"][0]["id"],
        app.org.participant_id.to_string()
    );
    assert_eq!(assigned["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_coach_at_capacity_cannot_create_a_participant_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    app.sql(&format!(
        "UPDATE coach_profiles SET max_caseload = 1 WHERE user_id = '{}'",
        app.org.coach.id
    ))
    .await
    .unwrap();
    let before = count_participants(&app).await;
    problem(
        app.post("/participants", Some(&app.org.coach), &jose())
            .await,
        409,
    )
    .await;
    assert_eq!(count_participants(&app).await, before);
}

#[tokio::test]
async fn each_role_lists_only_the_participants_in_its_scope() {
    let app = TestApp::spawn().await;
    let unassigned = create(&app, &app.org.supervisor, &jose()).await;
    let former_coach = app.former_coach_of(&app.org.participant_record()).await;
    let list = async |caller| ids(&ok_json(app.get("/participants", caller).await).await);
    let seeded = app.org.participant_id.to_string();
    let everyone = vec![
        seeded.clone(),
        unassigned["id"].as_str().unwrap().to_owned(),
    ];
    assert_eq!(list(&app.org.supervisor).await, everyone);
    assert_eq!(list(&app.org.admin).await, everyone);
    assert_eq!(list(&app.org.coach).await, vec![seeded.clone()]);
    assert!(list(&app.org.other_coach).await.is_empty());
    assert!(list(&former_coach).await.is_empty());
    assert_eq!(list(&app.org.participant).await, vec![seeded]);
    let outsider = list(&app.other_org.admin).await;
    assert_eq!(outsider, vec![app.other_org.participant_id.to_string()]);
    problem(app.get("/participants", &app.org.client).await, 403).await;
    problem(
        app.get(
            &format!("/participants?coach_id={}", app.org.coach.id),
            &app.org.client,
        )
        .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn an_out_of_scope_participant_is_a_404_identical_to_a_missing_one() {
    let app = TestApp::spawn().await;
    let path = format!("/participants/{}", app.org.participant_id);
    let missing = format!("/participants/{}", uuid::Uuid::now_v7());
    let missing_raw = send(app.request(Method::GET, &missing, Some(&app.org.admin)))
        .await
        .bytes()
        .await
        .unwrap();
    // What a missing participant answers does not depend on who asks.
    let reference = send(app.request(Method::GET, &missing, Some(&app.org.other_coach))).await;
    assert_eq!(reference.status(), 404);
    assert_eq!(reference.bytes().await.unwrap(), missing_raw);
    for caller in [
        &app.org.other_coach,
        &app.other_org.admin,
        &app.other_org.supervisor,
        &app.other_org.coach,
        &app.other_org.participant,
    ] {
        let raw = send(app.request(Method::GET, &path, Some(caller))).await;
        assert_eq!(raw.status(), 404);
        assert_eq!(
            raw.bytes().await.unwrap(),
            missing_raw,
            "byte-identical 404"
        );
    }
    problem(app.get(&path, &app.org.client).await, 403).await;
    problem(app.get(&path, &app.other_org.client).await, 403).await;

    for caller in [
        &app.org.admin,
        &app.org.supervisor,
        &app.org.coach,
        &app.org.participant,
    ] {
        let response = app.get(&path, caller).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert!(response.headers().contains_key("etag"));
    }
}

#[tokio::test]
async fn q_searches_names_ignoring_case_and_accents() {
    let app = TestApp::spawn().await;
    let created = create(&app, &app.org.supervisor, &jose()).await;
    let id = created["id"].as_str().unwrap();
    for q in ["jose", "JOSÉ", "nunez", "Núñ", "pepe", "jose%20nunez"] {
        let page = json(
            app.get(&format!("/participants?q={q}"), &app.org.supervisor)
                .await,
        )
        .await;
        assert_eq!(ids(&page), vec![id], "q={q}");
    }
    let none = json(app.get("/participants?q=%25", &app.org.supervisor).await).await;
    assert!(none["items"].as_array().unwrap().is_empty(), "% is literal");
    // Scope still applies to searches.
    let coach = json(app.get("/participants?q=jose", &app.org.coach).await).await;
    assert!(coach["items"].as_array().unwrap().is_empty());
    let outsider = json(app.get("/participants?q=jose", &app.other_org.admin).await).await;
    assert!(outsider["items"].as_array().unwrap().is_empty());
    problem(
        app.get("/participants?status=asleep", &app.org.supervisor)
            .await,
        400,
    )
    .await;
    problem(
        app.get("/participants?unassigned=maybe", &app.org.supervisor)
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn participants_are_paginated() {
    let app = TestApp::spawn().await;
    for n in 0..4 {
        let mut body = jose();
        body["first_name"] = json!(format!("P{n}"));
        create(&app, &app.org.supervisor, &body).await;
    }
    let first = json(app.get("/participants?limit=3", &app.org.supervisor).await).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json(
        app.get(
            &format!("/participants?limit=3&cursor={cursor}"),
            &app.org.supervisor,
        )
        .await,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn invalid_participants_are_refused_naming_each_field() {
    let app = TestApp::spawn().await;
    let before = count_participants(&app).await;
    let body = json!({
        "first_name": "", "last_name": "x".repeat(101), "email": "nope",
        "date_of_birth": "2999-01-01", "preferred_language": "!!", "needs": ["Not A Tag"]
    });
    let problem_body = problem(
        app.post("/participants", Some(&app.org.coach), &body).await,
        422,
    )
    .await;
    let mut fields = error_fields(&problem_body);
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "date_of_birth",
            "email",
            "first_name",
            "last_name",
            "needs[0]",
            "preferred_language"
        ]
    );
    let mut smuggled = jose();
    smuggled["status"] = json!("discharged");
    let body = problem(
        app.post("/participants", Some(&app.org.coach), &smuggled)
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["status"]);
    let body = problem(
        app.post(
            "/participants",
            Some(&app.org.coach),
            &json!({"first_name": "A", "last_name": "B", "date_of_birth": "02/04/1988"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["date_of_birth"]);
    assert_eq!(count_participants(&app).await, before);
}

#[tokio::test]
async fn staff_in_scope_update_participants_with_if_match() {
    let app = TestApp::spawn().await;
    let path = format!("/participants/{}", app.org.participant_id);
    let current = app.get(&path, &app.org.coach).await;
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();
    let updated = send(
        app.request(Method::PATCH, &path, Some(&app.org.coach))
            .header("If-Match", &etag)
            .json(&json!({"preferred_name": "Jo", "needs": ["alcohol"], "phone": null})),
    )
    .await;
    assert_eq!(updated.status(), 200);
    let body = json(updated).await;
    assert_eq!(body["preferred_name"], "Jo");
    assert_eq!(body["needs"], json!(["alcohol"]));
    let stale = send(
        app.request(Method::PATCH, &path, Some(&app.org.supervisor))
            .header("If-Match", &etag)
            .json(&json!({"preferred_name": "Other"})),
    )
    .await;
    problem(stale, 412).await;
    let cleared = json(
        app.patch(&path, &app.org.supervisor, &json!({"preferred_name": null}))
            .await,
    )
    .await;
    assert!(cleared["preferred_name"].is_null());
}

#[tokio::test]
async fn participant_updates_reject_status_and_blank_names_and_change_nothing() {
    let app = TestApp::spawn().await;
    let path = format!("/participants/{}", app.org.participant_id);
    let before = ok_json(app.get(&path, &app.org.supervisor).await).await;
    let body = problem(
        app.patch(&path, &app.org.coach, &json!({"status": "inactive"}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["status"]);
    let body = problem(
        app.patch(&path, &app.org.coach, &json!({"first_name": " "}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["first_name"]);
    let after = ok_json(app.get(&path, &app.org.supervisor).await).await;
    assert_eq!(after, before);
}

async fn change_status(app: &TestApp, status: &str, reason: &str) -> reqwest::Response {
    app.post(
        &format!("/participants/{}/status", app.org.participant_id),
        Some(&app.org.coach),
        &json!({"status": status, "reason": reason}),
    )
    .await
}

#[tokio::test]
async fn a_participant_status_change_needs_a_reason() {
    let app = TestApp::spawn().await;
    let path = format!("/participants/{}/status", app.org.participant_id);
    let body = problem(
        app.post(
            &path,
            Some(&app.org.coach),
            &json!({"status": "discharged"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["reason"]);
}

#[tokio::test]
async fn discharge_ends_the_pairing_and_the_history_records_each_move() {
    let app = TestApp::spawn().await;
    let inactive = change_status(&app, "inactive", "moved away for a month").await;
    assert_eq!(inactive.status(), 200);
    let discharged =
        ok_json(change_status(&app, "discharged", "completed the program").await).await;
    assert_eq!(discharged["status"], "discharged");
    assert!(discharged["current_pairing"].is_null());
    let history: Vec<(&str, &str)> = discharged["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["from"].as_str().unwrap(), h["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        vec![("active", "inactive"), ("inactive", "discharged")]
    );

    // The pairing ended, so the coach no longer sees the participant.
    problem(
        app.get(
            &format!("/participants/{}", app.org.participant_id),
            &app.org.coach,
        )
        .await,
        404,
    )
    .await;
    let pairing = json(
        app.get(
            &format!("/pairings/{}", app.org.pairing_id),
            &app.org.supervisor,
        )
        .await,
    )
    .await;
    assert_eq!(pairing["status"], "ended");
}

#[tokio::test]
async fn a_discharged_participant_can_only_be_readmitted() {
    let app = TestApp::spawn().await;
    ok_json(change_status(&app, "discharged", "completed the program").await).await;
    let path = format!("/participants/{}/status", app.org.participant_id);
    let refused = problem(
        app.post(
            &path,
            Some(&app.org.supervisor),
            &json!({"status": "inactive", "reason": "x"}),
        )
        .await,
        409,
    )
    .await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("`discharged`") && detail.contains("`active`"),
        "{detail}"
    );
    let readmitted = app
        .post(
            &path,
            Some(&app.org.supervisor),
            &json!({"status": "active", "reason": "came back"}),
        )
        .await;
    assert_eq!(readmitted.status(), 200);
}

#[tokio::test]
async fn a_coach_cannot_read_a_participant_after_the_pairing_ends() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let participant = app.participant_of(&coach).await;
    let path = format!("/participants/{}", participant.id);
    ok_json(app.get(&path, &coach).await).await;
    app.end_pairing(participant.pairing_id).await;

    let missing = problem(
        app.get(&format!("/participants/{}", uuid::Uuid::now_v7()), &coach)
            .await,
        404,
    )
    .await;
    assert_eq!(problem(app.get(&path, &coach).await, 404).await, missing);
    let edit = json!({"preferred_name": "Jo"});
    assert_eq!(
        problem(app.patch(&path, &coach, &edit).await, 404).await,
        missing
    );
    let listed = ok_json(app.get("/participants", &coach).await).await;
    assert!(!ids(&listed).contains(&participant.id.to_string()));
    // The record is still there for the supervisors, unchanged.
    let record = ok_json(app.get(&path, &app.org.supervisor).await).await;
    assert!(record["preferred_name"].is_null());
    assert!(record["current_pairing"].is_null());
}

fn portal_account(participant: &TestParticipant) -> String {
    format!("/participants/{}/portal-account", participant.id)
}

fn jose_login() -> Value {
    json!({"email": "jose@example.org", "password": "a long enough password"})
}

#[tokio::test]
async fn only_staff_in_scope_create_a_portal_account() {
    let app = TestApp::spawn().await;
    let participant = app.participant_of(&app.org.coach).await;
    let (path, login) = (portal_account(&participant), jose_login());
    problem(
        app.post(&path, Some(&app.org.other_coach), &login).await,
        404,
    )
    .await;
    problem(
        app.post(&path, Some(&app.other_org.admin), &login).await,
        404,
    )
    .await;
    problem(
        app.post(&path, Some(&app.org.participant), &login).await,
        403,
    )
    .await;
    problem(app.post(&path, Some(&app.org.client), &login).await, 403).await;
    let body = problem(
        app.post(
            &path,
            Some(&app.org.coach),
            &json!({"email": "bad", "password": "short"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body).len(), 2);
}

#[tokio::test]
async fn a_participant_gets_one_portal_account() {
    let app = TestApp::spawn().await;
    let participant = app.participant_of(&app.org.coach).await;
    let (path, login) = (portal_account(&participant), jose_login());
    let response = app.post(&path, Some(&app.org.coach), &login).await;
    assert_eq!(response.status(), 201);
    let user = json(response).await;
    assert_eq!(user["role"], "participant");
    problem(
        app.post(
            &path,
            Some(&app.org.coach),
            &json!({"email": "again@example.org", "password": "a long enough password"}),
        )
        .await,
        409,
    )
    .await;
}

#[tokio::test]
async fn a_portal_account_sees_only_its_own_record() {
    let app = TestApp::spawn().await;
    let participant = app.participant_of(&app.org.coach).await;
    let (path, login) = (portal_account(&participant), jose_login());
    let id = participant.id.to_string();
    assert_eq!(
        app.post(&path, Some(&app.org.coach), &login).await.status(),
        201
    );
    let tokens = json(
        app.login("jose@example.org", "a long enough password")
            .await,
    )
    .await;
    let portal = RawToken::new(tokens["access_token"].as_str().unwrap());
    let own = ok_json(app.get(&format!("/participants/{id}"), &portal).await).await;
    assert_eq!(own["has_portal_account"], true);
    let other = app
        .get(
            &format!("/participants/{}", app.org.participant_id),
            &portal,
        )
        .await;
    problem(other, 404).await;
    let listed = ok_json(app.get("/participants", &portal).await).await;
    assert_eq!(ids(&listed), vec![id]);
}

#[tokio::test]
async fn match_suggestions_rank_coaches_with_readable_reasons() {
    let app = TestApp::spawn().await;
    let participant = create(&app, &app.org.supervisor, &jose()).await;
    let id = participant["id"].as_str().unwrap();
    let coach = &app.org.coach;
    let patch = json!({"languages": ["en", "es"], "recovery_pathways": ["moud"], "lived_experience": ["opioids"], "max_caseload": 25});
    assert_eq!(
        app.patch(
            &format!("/coaches/{}", coach.id),
            &app.org.supervisor,
            &patch
        )
        .await
        .status(),
        200
    );
    app.sql(&format!(
        "UPDATE coach_profiles SET accepting_new = false WHERE user_id = '{}'",
        app.org.other_coach.id
    ))
    .await
    .unwrap();

    let path = format!("/participants/{id}/match-suggestions");
    let response = app.get(&path, &app.org.supervisor).await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "coaches not accepting new participants are left out"
    );
    assert_eq!(items[0]["coach_id"], coach.id.to_string());
    assert_eq!(
        items[0]["reasons"],
        json!([
            "speaks Spanish",
            "also on a MOUD pathway",
            "lived experience with opioids",
            "24 of 25 places free"
        ])
    );
    assert_eq!(items[0]["score"], 30 + 15 + 10 + 19);

    problem(
        app.get(&format!("{path}?limit=0"), &app.org.supervisor)
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn a_repeated_create_with_the_same_idempotency_key_makes_one_participant() {
    let app = TestApp::spawn().await;
    let before = count_participants(&app).await;
    let create = |body: Value| {
        app.request(Method::POST, "/participants", Some(&app.org.coach))
            .header("Idempotency-Key", "intake-42")
            .json(&body)
    };
    let first = send(create(jose())).await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;
    let again = send(create(jose())).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await, first);
    let mut other = jose();
    other["first_name"] = json!("Someone");
    problem(send(create(other)).await, 422).await;
    assert_eq!(count_participants(&app).await, before + 1);
    // The replay showed participant data again, so it is audited too.
    let log = json(app.get("/audit-events?action=replay", &app.org.admin).await).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
}
