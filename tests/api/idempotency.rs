//! `Idempotency-Key` beyond the happy path: a replay after the caller lost access, the same
//! key on another path, concurrent requests with one key, and what the server keeps.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::{Method, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{error_fields, json, problem, send, Caller, TestApp};

fn new_participant() -> Value {
    json!({"first_name": "Ana", "last_name": "Idempotent"})
}

async fn post_with_key(
    app: &TestApp,
    path: &str,
    caller: &dyn Caller,
    key: &str,
    body: &Value,
) -> Response {
    send(
        app.request(Method::POST, path, Some(caller))
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

async fn audit_rows(app: &TestApp, query: &str) -> Vec<Value> {
    let page = json(
        app.get(&format!("/audit-events?{query}"), &app.org.admin)
            .await,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_replay_after_the_coach_lost_the_participant_is_a_404_and_audited_as_denied() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let created = post_with_key(&app, "/participants", coach, "intake-7", &new_participant()).await;
    assert_eq!(created.status(), 201);
    let created = json(created).await;
    let participant_id = created["id"].as_str().unwrap().to_owned();
    let pairing_id = created["current_pairing"]["pairing_id"].as_str().unwrap();

    let ended = app
        .post(
            &format!("/pairings/{pairing_id}/status"),
            Some(&app.org.supervisor),
            &json!({"status": "ended", "reason": "moved away"}),
        )
        .await;
    assert_eq!(ended.status(), 200);
    problem(
        app.get(&format!("/participants/{participant_id}"), coach)
            .await,
        404,
    )
    .await;

    let replay = post_with_key(&app, "/participants", coach, "intake-7", &new_participant()).await;
    let body = problem(replay, 404).await;
    assert!(!body.to_string().contains("Idempotent"));
    assert!(!body.to_string().contains(&participant_id));

    let rows = audit_rows(
        &app,
        &format!("participant_id={participant_id}&action=replay"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["outcome"], "denied");
    assert_eq!(rows[0]["actor_id"], coach.id.to_string());
}

#[tokio::test]
async fn a_replay_shows_the_object_as_it_is_now_and_is_audited_as_a_read() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let first =
        json(post_with_key(&app, "/participants", coach, "k-1", &new_participant()).await).await;
    let id = first["id"].as_str().unwrap();
    let path = format!("/participants/{id}");
    assert_eq!(
        app.patch(&path, coach, &json!({"pronouns": "she/her"}))
            .await
            .status(),
        200
    );

    let replay = post_with_key(&app, "/participants", coach, "k-1", &new_participant()).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(
        replay.headers()["location"],
        format!("/api/v1/participants/{id}").as_str()
    );
    assert!(replay.headers().contains_key("etag"));
    let replay = json(replay).await;
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(replay["pronouns"], "she/her");

    let rows = audit_rows(&app, &format!("participant_id={id}&action=replay")).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["outcome"], "success");
    assert_eq!(rows[0]["resource_id"], id);
}

#[tokio::test]
async fn the_same_key_and_body_on_another_path_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let supervisor = &app.org.supervisor;
    let make = |first: &str| json!({"first_name": first, "last_name": "Portal"});
    let a = json(
        app.post("/participants", Some(supervisor), &make("Aria"))
            .await,
    )
    .await;
    let b = json(
        app.post("/participants", Some(supervisor), &make("Bo"))
            .await,
    )
    .await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let login = json!({"email": "aria.portal@example.org", "password": "a long enough password"});

    let first = post_with_key(
        &app,
        &format!("/participants/{a}/portal-account"),
        supervisor,
        "portal-1",
        &login,
    )
    .await;
    assert_eq!(first.status(), 201);
    let second = post_with_key(
        &app,
        &format!("/participants/{b}/portal-account"),
        supervisor,
        "portal-1",
        &login,
    )
    .await;
    let body = problem(second, 422).await;
    assert_eq!(error_fields(&body), vec!["Idempotency-Key"]);

    let b_now = json(app.get(&format!("/participants/{b}"), supervisor).await).await;
    assert_eq!(b_now["has_portal_account"], false);
    let rows = audit_rows(
        &app,
        &format!("participant_id={b}&resource_type=portal_account"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["outcome"], "denied");
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_participant() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let body = new_participant();
    let requests = (0..6).map(|_| post_with_key(&app, "/participants", coach, "burst", &body));
    let responses = futures_util::future::join_all(requests).await;
    let mut ids = Vec::new();
    let mut replayed = 0;
    for response in responses {
        assert_eq!(response.status(), 201);
        replayed += usize::from(response.headers().contains_key("idempotent-replayed"));
        ids.push(json(response).await["id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every request names the same participant");
    assert_eq!(replayed, 5);
    let mut conn = app.conn().await;
    let named: i64 = tandem::db::schema::participants::table
        .filter(tandem::db::schema::participants::last_name.eq("Idempotent"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(named, 1);
}

#[tokio::test]
async fn the_server_keeps_no_response_body_and_no_crackable_digest_of_a_password() {
    let app = TestApp::spawn().await;
    let password = "correct horse battery staple 2";
    let body = json!({
        "email": "kept@example.org",
        "display_name": "Kept Nothing",
        "role": "coach",
        "password": password,
    });
    let created = post_with_key(&app, "/users", &app.org.admin, "user-1", &body).await;
    assert_eq!(created.status(), 201);

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        stored: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        fingerprint: String,
    }
    let mut conn = app.conn().await;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT row_to_json(k)::text AS stored, k.fingerprint FROM idempotency_keys k",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    let (row, fingerprint) = (&rows[0].stored, &rows[0].fingerprint);
    for secret_or_data in [password, "kept@example.org", "Kept Nothing"] {
        assert!(!row.contains(secret_or_data), "{row}");
    }
    let plain = |bytes: &[u8]| hex::encode(Sha256::digest(bytes));
    assert_ne!(fingerprint, &plain(body.to_string().as_bytes()));
    assert_ne!(fingerprint, &plain(password.as_bytes()));
    assert_eq!(fingerprint.len(), 64);
}

#[tokio::test]
async fn a_key_must_be_visible_ascii_as_the_document_states_and_a_bad_one_creates_nothing() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    for bad in ["two words", "x".repeat(256).as_str()] {
        let response = post_with_key(&app, "/participants", coach, bad, &new_participant()).await;
        problem(response, 400).await;
    }
    let count = "SELECT count(*) FROM participants WHERE last_name = 'Idempotent'";
    assert_eq!(app.count(count).await, 0);
    let longest = "x".repeat(255);
    let ok = post_with_key(&app, "/participants", coach, &longest, &new_participant()).await;
    assert_eq!(ok.status(), 201);

    let document = json(send(app.client.get(app.url("/api/v1/openapi.json"))).await).await;
    let parameters = document["paths"]["/api/v1/participants"]["post"]["parameters"].clone();
    let key = parameters
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "Idempotency-Key"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(key["schema"]["pattern"], "^[!-~]+$");
    assert_eq!(key["schema"]["maxLength"], 255);
}

#[tokio::test]
async fn a_repeat_that_its_own_work_would_now_refuse_is_still_a_replay() {
    let app = TestApp::spawn().await;
    let supervisor = &app.org.supervisor;
    let participant = json(
        app.post("/participants", Some(supervisor), &new_participant())
            .await,
    )
    .await;
    let path = format!(
        "/participants/{}/portal-account",
        participant["id"].as_str().unwrap()
    );
    let login = json!({"email": "ana.portal@example.org", "password": "a long enough password"});
    let first = post_with_key(&app, &path, supervisor, "portal-once", &login).await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;

    // A second login for the participant is a 409, but this is the first request again.
    let again = post_with_key(&app, &path, supervisor, "portal-once", &login).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await["id"], first["id"]);
    // Without the key it is the 409 it would be.
    problem(app.post(&path, Some(supervisor), &login).await, 409).await;
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_note_and_one_goal() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let participant = app.participant_of(&coach).await;
    let note = json!({
        "session_type": "individual", "occurred_at": "2026-01-05T15:00:00Z",
        "duration_minutes": 30, "summary": "Once only",
    });
    let goal = json!({"title": "Once only", "domain": "physical_health"});
    for (path, body, count) in [
        (
            format!("/participants/{}/session-notes", participant.id),
            &note,
            "session_notes",
        ),
        (
            format!("/participants/{}/goals", participant.id),
            &goal,
            "goals",
        ),
    ] {
        let requests = (0..6).map(|_| post_with_key(&app, &path, &coach, count, body));
        let responses = futures_util::future::join_all(requests).await;
        let mut ids = Vec::new();
        let mut replayed = 0;
        for response in responses {
            assert_eq!(response.status(), 201, "{path}");
            replayed += usize::from(response.headers().contains_key("idempotent-replayed"));
            ids.push(json(response).await["id"].clone());
        }
        ids.dedup();
        assert_eq!(
            ids.len(),
            1,
            "every request to {path} names the same object"
        );
        assert_eq!(replayed, 5);
        let mut conn = app.conn().await;
        let made: i64 = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM {count} WHERE participant_id = $1"
        ))
        .bind::<diesel::sql_types::Uuid, _>(participant.id)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .n;
        assert_eq!(made, 1, "one row in {count}");
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn a_list_audit_row_names_each_participant_once() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let participant = app.participant_of(&coach).await;
    let path = format!("/participants/{}/goals", participant.id);
    for title in ["One", "Two", "Three"] {
        let goal = json!({"title": title, "domain": "physical_health"});
        assert_eq!(app.post(&path, Some(&coach), &goal).await.status(), 201);
    }
    let listed = json(app.get(&path, &coach).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);

    let rows = audit_rows(
        &app,
        &format!(
            "participant_id={}&action=list&resource_type=goal",
            participant.id
        ),
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["participant_ids"], json!([participant.id]));
}
