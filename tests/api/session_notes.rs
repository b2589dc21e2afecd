//! Session notes: recording, bounds, author-only changes, signing, amendments, lists and the
//! caseload's contact dates.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_fields, ids, json, ok_json, problem, send, TestApp, TestUser};

fn notes_of(participant: Uuid) -> String {
    format!("/participants/{participant}/session-notes")
}

fn a_note() -> Value {
    json!({
        "session_type": "individual",
        "occurred_at": (Utc::now() - Duration::hours(2)).to_rfc3339(),
        "duration_minutes": 50,
        "summary": "  Talked about the job interview.  ",
    })
}

/// Creates a note through the API as `author` and returns it.
async fn create(app: &TestApp, author: &TestUser, participant: Uuid, body: &Value) -> Value {
    let response = app.post(&notes_of(participant), Some(author), body).await;
    let status = response.status();
    let body = json(response).await;
    assert_eq!(status, 201, "{body}");
    body
}

fn id_of(note: &Value) -> String {
    note["id"].as_str().unwrap().to_owned()
}

async fn count_notes(app: &TestApp) -> i64 {
    use tandem::db::schema::session_notes::dsl::*;
    session_notes
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_coach_records_a_note_and_reads_it_back() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let mut body = a_note();
    body["mood"] = json!(4);
    body["craving"] = json!(2);
    body["follow_up"] = json!("Call after the interview");
    body["follow_up_due"] = json!("2031-01-10");
    let response = app.post(&notes_of(p), Some(&app.org.coach), &body).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(response.headers().contains_key("etag"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let note = json(response).await;
    assert_eq!(location, format!("/api/v1/session-notes/{}", id_of(&note)));
    assert_eq!(note["summary"], "Talked about the job interview.");
    assert_eq!(note["visibility"], "care_team");
    assert_eq!(note["author_id"], app.org.coach.id.to_string());
    assert_eq!(note["participant_id"], p.to_string());
    assert_eq!(
        (note["mood"].clone(), note["craving"].clone()),
        (json!(4), json!(2))
    );
    assert_eq!(note["signed"], false);
    assert_eq!(note["amendments"], json!([]));
    let read = app
        .get(location.trim_start_matches("/api/v1"), &app.org.coach)
        .await;
    assert!(read.headers().contains_key("etag"));
    assert_eq!(ok_json(read).await, note);
}

#[tokio::test]
async fn every_bound_is_refused_naming_its_field_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let bad = json!({
        "session_type": "individual",
        "occurred_at": (Utc::now() + Duration::hours(1)).to_rfc3339(),
        "duration_minutes": 601, "summary": "   ", "body": "a".repeat(20_001),
        "mood": 6, "craving": 11, "follow_up": "a".repeat(1001),
    });
    let refused = problem(
        app.post(&notes_of(p), Some(&app.org.coach), &bad).await,
        422,
    )
    .await;
    let mut fields = error_fields(&refused);
    fields.sort();
    let expected = [
        "body",
        "craving",
        "duration_minutes",
        "follow_up",
        "mood",
        "occurred_at",
        "summary",
    ];
    assert_eq!(fields, expected);
    for (field, value) in [
        ("duration_minutes", json!(0)),
        ("mood", json!(0)),
        ("craving", json!(-1)),
        ("summary", json!("a".repeat(501))),
        ("session_type", json!("sauna")),
        ("visibility", json!("everyone")),
        ("goal_ids", json!(vec![Uuid::now_v7(); 21])),
    ] {
        let mut body = a_note();
        body[field] = value;
        let refused = problem(
            app.post(&notes_of(p), Some(&app.org.coach), &body).await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), vec![field], "{refused}");
    }
    let mut unknown = a_note();
    unknown["author_id"] = json!(app.org.admin.id);
    let refused = problem(
        app.post(&notes_of(p), Some(&app.org.coach), &unknown).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["author_id"]);
    assert_eq!(count_notes(&app).await, 0);
}

#[tokio::test]
async fn a_session_in_the_future_is_refused_beyond_five_minutes_of_clock_skew() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let mut body = a_note();
    body["occurred_at"] = json!((Utc::now() + Duration::minutes(3)).to_rfc3339());
    create(&app, &app.org.coach, p, &body).await;
    body["occurred_at"] = json!((Utc::now() + Duration::minutes(7)).to_rfc3339());
    let refused = problem(
        app.post(&notes_of(p), Some(&app.org.coach), &body).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["occurred_at"]);
    assert_eq!(count_notes(&app).await, 1);
}

#[tokio::test]
async fn goal_ids_must_be_goals_of_the_participant() {
    // An id that names no goal is refused; an empty list is fine.
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let mut body = a_note();
    body["goal_ids"] = json!([Uuid::now_v7()]);
    let refused = problem(
        app.post(&notes_of(p), Some(&app.org.coach), &body).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["goal_ids"]);
    assert!(refused["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("unknown goal"));
    body["goal_ids"] = json!([]);
    let note = create(&app, &app.org.coach, p, &body).await;
    let path = format!("/session-notes/{}", id_of(&note));
    let change = json!({"goal_ids": [Uuid::now_v7()]});
    let refused = problem(app.patch(&path, &app.org.coach, &change).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["goal_ids"]);

    // The participant's own goal may be named; another participant's may not.
    let own = app.goal_of(p).await["id"].as_str().unwrap().to_owned();
    let other = app.participant_of(&app.org.coach).await;
    let theirs = app.goal_of(other.id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = problem(
        app.patch(&path, &app.org.coach, &json!({"goal_ids": [own, theirs]}))
            .await,
        422,
    )
    .await;
    assert!(refused["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&theirs));
    let changed = json(
        app.patch(&path, &app.org.coach, &json!({"goal_ids": [own]}))
            .await,
    )
    .await;
    assert_eq!(changed["goal_ids"], json!([own]));
}

#[tokio::test]
async fn only_the_author_changes_an_unsigned_note() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let note = create(&app, &app.org.supervisor, p, &a_note()).await;
    let path = format!("/session-notes/{}", id_of(&note));
    let change = json!({"summary": "Rescheduled", "mood": null, "body": "Longer account."});
    // The current coach reads the note but did not write it.
    problem(app.patch(&path, &app.org.coach, &change).await, 403).await;
    problem(app.patch(&path, &app.org.admin, &change).await, 403).await;
    problem(app.patch(&path, &app.org.other_coach, &change).await, 404).await;
    problem(
        app.patch(&path, &app.other_org.supervisor, &change).await,
        404,
    )
    .await;
    assert_eq!(ok_json(app.get(&path, &app.org.coach).await).await, note);
    let updated = ok_json(app.patch(&path, &app.org.supervisor, &change).await).await;
    assert_eq!(updated["summary"], "Rescheduled");
    assert_eq!(updated["body"], "Longer account.");
    let refused = problem(
        app.patch(&path, &app.org.supervisor, &json!({"summary": ""}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["summary"]);
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let note = create(&app, &app.org.coach, app.org.participant_id, &a_note()).await;
    let path = format!("/session-notes/{}", id_of(&note));
    let read = app.get(&path, &app.org.coach).await;
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let change = |summary: &str| {
        app.request(Method::PATCH, &path, Some(&app.org.coach))
            .header("If-Match", etag.clone())
            .json(&json!({"summary": summary}))
    };
    ok_json(send(change("First")).await).await;
    problem(send(change("Second")).await, 412).await;
    let current = ok_json(app.get(&path, &app.org.coach).await).await;
    assert_eq!(current["summary"], "First");
}

#[tokio::test]
async fn a_signed_note_never_changes_and_is_signed_once() {
    let app = TestApp::spawn().await;
    let note = create(&app, &app.org.coach, app.org.participant_id, &a_note()).await;
    let path = format!("/session-notes/{}", id_of(&note));
    let sign = format!("{path}/sign");
    problem(
        app.post(&sign, Some(&app.org.supervisor), &json!({})).await,
        403,
    )
    .await;
    let signed = ok_json(app.post(&sign, Some(&app.org.coach), &json!({})).await).await;
    assert_eq!(signed["signed"], true);
    assert!(signed["signed_at"].is_string());
    problem(app.post(&sign, Some(&app.org.coach), &json!({})).await, 409).await;
    let refused = problem(
        app.patch(&path, &app.org.coach, &json!({"summary": "Later"}))
            .await,
        409,
    )
    .await;
    assert!(refused["type"].as_str().unwrap().ends_with("note-signed"));
    assert_eq!(ok_json(app.get(&path, &app.org.coach).await).await, signed);
}

#[tokio::test]
async fn amendments_need_a_signed_note_and_come_back_oldest_first() {
    let app = TestApp::spawn().await;
    let note = create(&app, &app.org.coach, app.org.participant_id, &a_note()).await;
    let path = format!("/session-notes/{}", id_of(&note));
    let amendments = format!("{path}/amendments");
    let amend = |body: &str| json!({"body": body, "reason": "a detail was missing"});
    problem(
        app.post(&amendments, Some(&app.org.coach), &amend("early"))
            .await,
        409,
    )
    .await;
    ok_json(
        app.post(&format!("{path}/sign"), Some(&app.org.coach), &json!({}))
            .await,
    )
    .await;
    let first = app
        .post(&amendments, Some(&app.org.coach), &amend("first"))
        .await;
    assert_eq!(first.status(), 201);
    assert_eq!(
        first.headers()["location"],
        format!("/api/v1{path}").as_str()
    );
    let second = json(
        app.post(&amendments, Some(&app.org.supervisor), &amend("second"))
            .await,
    )
    .await;
    problem(
        app.post(&amendments, Some(&app.org.admin), &amend("admin"))
            .await,
        403,
    )
    .await;
    problem(
        app.post(&amendments, Some(&app.org.other_coach), &amend("x"))
            .await,
        404,
    )
    .await;
    let refused = problem(
        app.post(
            &amendments,
            Some(&app.org.coach),
            &json!({"body": "", "reason": ""}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["body", "reason"]);
    let list = second["amendments"].as_array().unwrap();
    let bodies: Vec<&str> = list.iter().map(|a| a["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["first", "second"]);
    assert_eq!(list[0]["author_id"], app.org.coach.id.to_string());
    assert_eq!(list[1]["author_id"], app.org.supervisor.id.to_string());
    assert_eq!(list[1]["reason"], "a detail was missing");
    assert!(list[1]["created_at"].is_string() && list[1]["author_name"].is_string());
    assert_eq!(ok_json(app.get(&path, &app.org.coach).await).await, second);
}

#[tokio::test]
async fn one_idempotency_key_creates_one_note() {
    let app = TestApp::spawn().await;
    let path = notes_of(app.org.participant_id);
    let body = a_note();
    let send_with = |body: &Value| {
        app.request(Method::POST, &path, Some(&app.org.coach))
            .header("Idempotency-Key", "note-once")
            .json(body)
    };
    let first = send(send_with(&body)).await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;
    let again = send(send_with(&body)).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await["id"], first["id"]);
    let mut other = body.clone();
    other["summary"] = json!("Something else");
    problem(send(send_with(&other)).await, 422).await;
    assert_eq!(count_notes(&app).await, 1);
}

/// Notes of `participant` by `author`, `hours_ago` each, of `session_type`.
async fn notes_at(
    app: &TestApp,
    author: &TestUser,
    participant: Uuid,
    at: &[(i64, &str)],
) -> Vec<String> {
    let (now, mut made) = (Utc::now(), Vec::new());
    for (hours_ago, session_type) in at {
        let mut body = a_note();
        body["occurred_at"] = json!((now - Duration::hours(*hours_ago)).to_rfc3339());
        body["session_type"] = json!(session_type);
        made.push(id_of(&create(app, author, participant, &body).await));
    }
    made
}

#[tokio::test]
async fn a_list_pages_newest_first_and_filters_by_time_and_type() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let plan = [
        (5, "phone"),
        (1, "individual"),
        (3, "phone"),
        (3, "video"),
        (48, "phone"),
    ];
    let made = notes_at(&app, &app.org.coach, p, &plan).await;
    let (h1, h3a, h3b, h5, h48) = (&made[1], &made[2], &made[3], &made[0], &made[4]);
    // Equal times come newest id first.
    let newest_first = vec![
        h1.clone(),
        h3b.clone(),
        h3a.clone(),
        h5.clone(),
        h48.clone(),
    ];
    let mut seen = Vec::new();
    let mut path = format!("{}?limit=2", notes_of(p));
    loop {
        let page = ok_json(app.get(&path, &app.org.coach).await).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{}?limit=2&cursor={cursor}", notes_of(p)),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);
    let phones = ok_json(
        app.get(
            &format!("{}?session_type=phone", notes_of(p)),
            &app.org.coach,
        )
        .await,
    )
    .await;
    assert_eq!(ids(&phones), vec![h3a.clone(), h5.clone(), h48.clone()]);
    let from = (Utc::now() - Duration::hours(4)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = (Utc::now() - Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ");
    let window = ok_json(
        app.get(
            &format!("{}?from={from}&to={to}", notes_of(p)),
            &app.org.coach,
        )
        .await,
    )
    .await;
    assert_eq!(ids(&window), vec![h3b.clone(), h3a.clone()]);
}

#[tokio::test]
async fn a_list_with_a_bad_filter_or_page_is_400() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let from = (Utc::now() - Duration::hours(4)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = (Utc::now() - Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ");
    for bad in [
        format!("from={to}&to={from}"),
        "from=yesterday".to_owned(),
        "to=2026-13-01T00:00:00Z".to_owned(),
        "limit=0".to_owned(),
        "limit=201".to_owned(),
        "cursor=garbage".to_owned(),
        "session_type=sauna".to_owned(),
    ] {
        problem(
            app.get(&format!("{}?{bad}", notes_of(p)), &app.org.coach)
                .await,
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn a_list_read_is_audited_naming_the_participant() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    notes_at(&app, &app.org.coach, p, &[(1, "phone")]).await;
    ok_json(app.get(&notes_of(p), &app.org.coach).await).await;
    let path = format!("/audit-events?participant_id={p}&resource_type=session_note&action=list");
    let events = ok_json(app.get(&path, &app.org.admin).await).await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_former_coach_loses_every_note_even_their_own() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let participant = app.participant_of(&coach).await;
    let note = create(&app, &coach, participant.id, &a_note()).await;
    let path = format!("/session-notes/{}", id_of(&note));
    ok_json(app.get(&path, &coach).await).await;
    app.end_pairing(participant.pairing_id).await;
    problem(app.get(&path, &coach).await, 404).await;
    problem(app.get(&notes_of(participant.id), &coach).await, 404).await;
    problem(
        app.patch(&path, &coach, &json!({"summary": "late"})).await,
        404,
    )
    .await;
    ok_json(app.get(&path, &app.org.supervisor).await).await;
}
