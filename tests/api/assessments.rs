//! Assessments of recovery capital: the instrument catalogue, submitting BARC-10, validation,
//! the baseline/latest/change summary over every page, and who may submit and read.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_fields, json, ok_json, problem, send, Caller, TestApp};

/// A BARC-10 submission whose answers add up to `total` (10..=60).
fn barc10(total: i64) -> Value {
    json!({"instrument": "barc-10", "answers": answers_totalling(total)})
}

/// Ten answers in 1..=6 adding up to `total`.
fn answers_totalling(total: i64) -> Vec<i64> {
    let mut answers = vec![1; 10];
    let mut left = total - 10;
    for answer in &mut answers {
        let add = left.min(5);
        *answer += add;
        left -= add;
    }
    answers
}

fn path_of(participant: Uuid) -> String {
    format!("/participants/{participant}/assessments")
}

async fn submit(app: &TestApp, participant: Uuid, caller: &dyn Caller, body: &Value) -> Response {
    app.post(&path_of(participant), Some(caller), body).await
}

async fn count_stored(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use tandem::db::schema::assessments;
    assessments::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_catalogue_describes_barc_10_with_its_items_scale_range_and_cutoff() {
    let app = TestApp::spawn().await;
    let page = ok_json(app.get("/instruments", &app.org.participant).await).await;
    let barc = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "barc-10")
        .unwrap()
        .clone();
    assert!(barc["name"].as_str().unwrap().contains("Recovery Capital"));
    assert!(barc["description"].as_str().unwrap().len() > 20);
    let items = barc["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    for (index, item) in items.iter().enumerate() {
        assert_eq!(item["number"], index + 1);
        assert!(item["prompt"].as_str().unwrap().len() > 10);
        assert!(item["domain"].is_string());
    }
    assert_eq!(barc["scale"]["min"], 1);
    assert_eq!(barc["scale"]["max"], 6);
    let labels = barc["scale"]["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 6);
    assert_eq!(labels[0]["value"], 1);
    assert_eq!(labels[0]["label"], "Strongly disagree");
    assert_eq!(labels[5]["label"], "Strongly agree");
    assert_eq!(barc["total"], json!({"min": 10, "max": 60}));
    assert_eq!(barc["cutoff"]["total"], 47);
    assert!(barc["cutoff"]["description"].is_string());
    for caller in [&app.org.coach, &app.org.admin, &app.other_org.supervisor] {
        assert_eq!(app.get("/instruments", caller).await.status(), 200);
    }
    problem(app.get("/instruments", &app.org.client).await, 403).await;
}

#[tokio::test]
async fn a_coach_records_an_assessment_and_reads_it_back_with_its_total() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let before = Utc::now();
    let response = submit(&app, p, &app.org.coach, &barc10(52)).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(response).await;
    let id = body["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/assessments/{id}"));
    assert_eq!(body["participant_id"], p.to_string());
    assert_eq!(body["instrument"], "barc-10");
    assert_eq!(body["answers"], json!(answers_totalling(52)));
    assert_eq!(body["total"], 52);
    assert_eq!(body["meets_cutoff"], true);
    assert_eq!(body["cutoff"], 47);
    assert_eq!(body["submitted_by"], "staff");
    assert_eq!(body["submitted_by_user_id"], app.org.coach.id.to_string());
    let taken_at: chrono::DateTime<Utc> = body["taken_at"].as_str().unwrap().parse().unwrap();
    assert!(taken_at >= before - Duration::seconds(1) && taken_at <= Utc::now());

    let read = app.get(&format!("/assessments/{id}"), &app.org.coach).await;
    assert_eq!(read.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(ok_json(read).await, body);
}

#[tokio::test]
async fn a_total_of_47_meets_the_cutoff_and_46_does_not() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    for (total, meets) in [(46, false), (47, true), (10, false), (60, true)] {
        let body = json(submit(&app, p, &app.org.supervisor, &barc10(total)).await).await;
        assert_eq!(body["total"], total, "{body}");
        assert_eq!(body["meets_cutoff"], meets, "{total}");
    }
}

#[tokio::test]
async fn the_wrong_number_of_answers_is_refused_naming_answers() {
    let app = TestApp::spawn().await;
    for count in [9, 11, 0] {
        let body = json!({"instrument": "barc-10", "answers": vec![3; count]});
        let refused = problem(
            submit(&app, app.org.participant_id, &app.org.coach, &body).await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), vec!["answers"], "{count}");
        assert!(refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("10"));
    }
    assert_eq!(count_stored(&app).await, 0);
}

#[tokio::test]
async fn an_answer_out_of_range_is_refused_naming_the_item() {
    let app = TestApp::spawn().await;
    let mut answers = vec![3; 10];
    answers[3] = 0;
    answers[8] = 7;
    let body = json!({"instrument": "barc-10", "answers": answers});
    let refused = problem(
        submit(&app, app.org.participant_id, &app.org.coach, &body).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["answers[3]", "answers[8]"]);
    for error in refused["errors"].as_array().unwrap() {
        let message = error["message"].as_str().unwrap();
        assert!(message.contains('1') && message.contains('6'), "{message}");
    }
    let body = json!({"instrument": "barc-10", "answers": [3, 3, 3, 3, "x", 3, 3, 3, 3, 3]});
    let refused = problem(
        submit(&app, app.org.participant_id, &app.org.coach, &body).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["answers[4]"]);
    assert_eq!(count_stored(&app).await, 0);
}

#[tokio::test]
async fn an_unknown_instrument_or_missing_field_is_refused_naming_it() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let body = json!({"instrument": "phq-9", "answers": vec![3; 10]});
    let refused = problem(submit(&app, p, &app.org.coach, &body).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["instrument"]);
    assert!(refused["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("barc-10"));
    let refused = problem(
        submit(&app, p, &app.org.coach, &json!({"instrument": "barc-10"})).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["answers"]);
    let mut body = barc10(30);
    body["total"] = json!(60);
    let refused = problem(submit(&app, p, &app.org.coach, &body).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["total"]);
    assert_eq!(count_stored(&app).await, 0);
}

#[tokio::test]
async fn taken_at_in_the_future_is_refused_but_a_little_clock_skew_is_allowed() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let at = |offset: Duration| (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut body = barc10(30);
    body["taken_at"] = json!(at(Duration::minutes(10)));
    let refused = problem(submit(&app, p, &app.org.coach, &body).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["taken_at"]);
    assert_eq!(count_stored(&app).await, 0);

    body["taken_at"] = json!(at(Duration::minutes(2)));
    assert_eq!(submit(&app, p, &app.org.coach, &body).await.status(), 201);
    let past = at(-Duration::days(30));
    body["taken_at"] = json!(past);
    let stored = json(submit(&app, p, &app.org.coach, &body).await).await;
    assert_eq!(stored["taken_at"], past);
    body["taken_at"] = json!("yesterday");
    let refused = problem(submit(&app, p, &app.org.coach, &body).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["taken_at"]);
}

/// Submits `totals` as taken `days_ago` each; returns the ids.
async fn submit_history(app: &TestApp, p: Uuid, history: &[(i64, i64)]) -> Vec<String> {
    let mut ids = Vec::new();
    for &(total, days_ago) in history {
        let mut body = barc10(total);
        let taken_at = Utc::now() - Duration::days(days_ago);
        body["taken_at"] = json!(taken_at.to_rfc3339_opts(SecondsFormat::Secs, true));
        let created = json(submit(app, p, &app.org.coach, &body).await).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    ids
}

#[tokio::test]
async fn baseline_latest_and_change_cover_every_assessment_not_just_the_page() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    // Entered out of order: the baseline is the earliest taken, not the first entered.
    let ids = submit_history(&app, p, &[(35, 60), (28, 90), (44, 30), (49, 1), (40, 45)]).await;
    let newest_first = [&ids[3], &ids[2], &ids[4], &ids[0], &ids[1]];
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=2&cursor={c}"),
            None => "?limit=2".to_owned(),
        };
        let page = ok_json(
            app.get(&format!("{}{query}", path_of(p)), &app.org.coach)
                .await,
        )
        .await;
        assert_eq!(page["instrument"], "barc-10");
        assert_eq!(page["baseline_total"], 28);
        assert_eq!(page["latest_total"], 49);
        assert_eq!(page["change"], 21);
        assert_eq!(page["latest_meets_cutoff"], true);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.iter().collect::<Vec<_>>(), newest_first);
}

#[tokio::test]
async fn a_participant_with_no_assessments_has_no_baseline() {
    let app = TestApp::spawn().await;
    let page = ok_json(
        app.get(&path_of(app.org.participant_id), &app.org.participant)
            .await,
    )
    .await;
    assert_eq!(page["items"], json!([]));
    assert!(page["next_cursor"].is_null());
    for field in [
        "baseline_total",
        "latest_total",
        "change",
        "latest_meets_cutoff",
    ] {
        assert!(page[field].is_null(), "{field}");
    }
}

#[tokio::test]
async fn a_list_with_a_bad_limit_cursor_or_instrument_is_a_400() {
    let app = TestApp::spawn().await;
    let path = path_of(app.org.participant_id);
    for query in [
        "limit=0",
        "limit=201",
        "cursor=garbage",
        "instrument=phq-9",
        "colour=red",
    ] {
        let response = app.get(&format!("{path}?{query}"), &app.org.coach).await;
        problem(response, 400).await;
    }
    let page = ok_json(
        app.get(
            &format!("{path}?instrument=barc-10&limit=200"),
            &app.org.coach,
        )
        .await,
    )
    .await;
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn a_participant_submits_and_reads_their_own_but_not_anothers() {
    let app = TestApp::spawn().await;
    let own = app.org.participant_id;
    let me = &app.org.participant;
    let created = json(submit(&app, own, me, &barc10(41)).await).await;
    assert_eq!(created["submitted_by"], "participant");
    assert_eq!(created["submitted_by_user_id"], me.id.to_string());
    let id = created["id"].as_str().unwrap();
    ok_json(app.get(&format!("/assessments/{id}"), me).await).await;
    let page = ok_json(app.get(&path_of(own), me).await).await;
    assert_eq!(page["items"][0]["id"], id);

    let neighbour = app.participant_of(&app.org.coach).await;
    problem(submit(&app, neighbour.id, me, &barc10(41)).await, 404).await;
    problem(app.get(&path_of(neighbour.id), me).await, 404).await;
    let theirs = json(submit(&app, neighbour.id, &app.org.coach, &barc10(20)).await).await;
    let theirs = theirs["id"].as_str().unwrap();
    problem(app.get(&format!("/assessments/{theirs}"), me).await, 404).await;
    assert_eq!(count_stored(&app).await, 2);
}

#[tokio::test]
async fn a_former_coach_loses_the_assessments_when_the_pairing_ends() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let participant = app.participant_of(&coach).await;
    let created = json(submit(&app, participant.id, &coach, &barc10(33)).await).await;
    let one = format!("/assessments/{}", created["id"].as_str().unwrap());
    ok_json(app.get(&one, &coach).await).await;
    app.end_pairing(participant.pairing_id).await;
    problem(app.get(&one, &coach).await, 404).await;
    problem(app.get(&path_of(participant.id), &coach).await, 404).await;
    problem(submit(&app, participant.id, &coach, &barc10(33)).await, 404).await;
    ok_json(app.get(&one, &app.org.supervisor).await).await;
    assert_eq!(count_stored(&app).await, 1);
}

async fn post_with_key(app: &TestApp, p: Uuid, key: &str, body: &Value) -> Response {
    send(
        app.request(Method::POST, &path_of(p), Some(&app.org.coach))
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

#[tokio::test]
async fn a_repeated_submission_with_the_same_key_creates_one_assessment() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let first = post_with_key(&app, p, "barc-monday", &barc10(40)).await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;
    let again = post_with_key(&app, p, "barc-monday", &barc10(40)).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await, first);
    let other = post_with_key(&app, p, "barc-monday", &barc10(41)).await;
    problem(other, 422).await;
    assert_eq!(count_stored(&app).await, 1);
}

async fn audit_rows(app: &TestApp, query: &str) -> Vec<Value> {
    let page = ok_json(
        app.get(&format!("/audit-events?{query}&limit=200"), &app.org.admin)
            .await,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_read_and_write_is_audited_with_the_participant() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let created = json(submit(&app, p, &app.org.coach, &barc10(30)).await).await;
    let id = created["id"].as_str().unwrap();
    ok_json(app.get(&format!("/assessments/{id}"), &app.org.coach).await).await;
    ok_json(app.get(&path_of(p), &app.org.coach).await).await;
    problem(app.get(&path_of(p), &app.org.other_coach).await, 404).await;
    let rows = audit_rows(
        &app,
        &format!("participant_id={p}&resource_type=assessment"),
    )
    .await;
    let seen: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("create", "success"),
        ("read", "success"),
        ("list", "success"),
        ("list", "denied"),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(seen.contains(&expected), "{expected:?} not in {seen:?}");
    }
    let create = rows.iter().find(|r| r["action"] == "create").unwrap();
    assert_eq!(create["resource_id"], id);
}

#[tokio::test]
async fn the_list_query_reads_the_index_in_order_without_sorting() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    submit_history(&app, p, &[(30, 3), (40, 2), (50, 1)]).await;
    let mut conn = app.conn().await;
    let sql = format!(
        "EXPLAIN SELECT id FROM assessments WHERE participant_id = '{p}' AND instrument = 'barc-10' \
         AND (taken_at, id) < (now(), '{}') ORDER BY taken_at DESC, id DESC LIMIT 51",
        Uuid::max()
    );
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await
        .unwrap();
    let plan: Vec<Plan> = diesel::sql_query(sql).load(&mut conn).await.unwrap();
    let plan = plan
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(plan.contains("assessments_participant_taken_idx"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");
}
