//! Group sessions: recording them, their attendance lists, who sees which entries, and a
//! participant's own attendance record.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};
use tandem::auth::Role;
use tandem::db::schema::{audit_events, group_attendance, group_sessions};
use uuid::Uuid;

use crate::helpers::{error_fields, json, ok_json, problem, send, TestApp, TestUser};

fn new_session(facilitators: &[Uuid]) -> Value {
    json!({
        "title": "  Thursday recovery skills  ", "kind": "recovery_skills",
        "occurred_at": Utc::now() - Duration::hours(2), "duration_minutes": 75,
        "facilitator_ids": facilitators, "summary": "Coping with cravings.",
    })
}

async fn session_count(app: &TestApp) -> i64 {
    group_sessions::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

/// A participant of the first organization with names no other record has, created by its
/// supervisor (unassigned); returns the id.
async fn distinct_participant(app: &TestApp, first: &str, last: &str) -> Uuid {
    let body = json!({"first_name": first, "last_name": last});
    let response = app
        .post("/participants", Some(&app.org.supervisor), &body)
        .await;
    assert_eq!(response.status(), 201);
    json(response).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn attendance_path(session: Uuid) -> String {
    format!("/group-sessions/{session}/attendance")
}

fn listed(session: &Value) -> Vec<(String, String)> {
    session["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["participant_id"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_coach_records_a_group_session_and_reads_it_back() {
    let app = TestApp::spawn().await;
    let (coach, supervisor) = (&app.org.coach, &app.org.supervisor);
    let body = new_session(&[coach.id, supervisor.id]);
    let response = app.post("/group-sessions", Some(coach), &body).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(response.headers().contains_key("etag"));
    let created = json(response).await;
    assert_eq!(
        location,
        format!("/api/v1/group-sessions/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["title"], "Thursday recovery skills");
    assert_eq!(created["kind"], "recovery_skills");
    assert_eq!(created["duration_minutes"], 75);
    assert_eq!(created["summary"], "Coping with cravings.");
    assert_eq!(created["created_by"], coach.id.to_string());
    let mut expected = vec![coach.id.to_string(), supervisor.id.to_string()];
    expected.sort();
    assert_eq!(created["facilitator_ids"], json!(expected));
    assert_eq!(created["attendance"], json!([]));
    assert_eq!(created["attendance_visible"], "all");
    let read = app.get(location.trim_start_matches("/api/v1"), coach).await;
    assert!(read.headers().contains_key("etag"));
    assert_eq!(read.headers()["cache-control"], "no-store");
    assert_eq!(ok_json(read).await, created);
}

#[tokio::test]
async fn repeating_a_create_with_its_idempotency_key_replays_it() {
    let app = TestApp::spawn().await;
    let body = new_session(&[app.org.coach.id]);
    let create = || {
        app.request(Method::POST, "/group-sessions", Some(&app.org.coach))
            .header("Idempotency-Key", "group-1")
            .json(&body)
    };
    let first = send(create()).await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;
    let again = send(create()).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await["id"], first["id"]);
    assert_eq!(session_count(&app).await, 1);
    let other = app
        .request(Method::POST, "/group-sessions", Some(&app.org.coach))
        .header("Idempotency-Key", "group-1")
        .json(&new_session(&[app.org.supervisor.id]));
    problem(send(other).await, 422).await;
    assert_eq!(session_count(&app).await, 1);
}

#[tokio::test]
async fn invalid_group_sessions_are_refused_naming_each_field() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let mut body = new_session(&[]);
    body["title"] = json!("   ");
    body["duration_minutes"] = json!(0);
    body["occurred_at"] = json!(Utc::now() + Duration::minutes(30));
    body["summary"] = json!("a".repeat(2001));
    let refused = problem(app.post("/group-sessions", Some(coach), &body).await, 422).await;
    let mut fields = error_fields(&refused);
    fields.sort();
    assert_eq!(
        fields,
        [
            "duration_minutes",
            "facilitator_ids",
            "occurred_at",
            "summary",
            "title"
        ]
    );
    let mut body = new_session(&[]);
    body["kind"] = json!("book_club");
    body["id"] = json!(Uuid::now_v7());
    let refused = problem(app.post("/group-sessions", Some(coach), &body).await, 422).await;
    let mut fields = error_fields(&refused);
    fields.sort();
    assert_eq!(fields, ["id", "kind"]);
    assert_eq!(session_count(&app).await, 0);
}

#[tokio::test]
async fn facilitators_must_be_active_staff_of_the_organization_each_named_once() {
    let app = TestApp::spawn().await;
    let inactive = app.coach().await;
    app.sql(&format!(
        "UPDATE users SET active = false WHERE id = '{}'",
        inactive.id
    ))
    .await
    .unwrap();
    let ids = [
        app.org.coach.id,
        app.other_org.coach.id,
        app.org.participant.id,
        inactive.id,
        Uuid::now_v7(),
        app.org.coach.id,
    ];
    let refused = problem(
        app.post("/group-sessions", Some(&app.org.admin), &new_session(&ids))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["facilitator_ids[5]"], "{refused}");
    let refused = problem(
        app.post(
            "/group-sessions",
            Some(&app.org.admin),
            &new_session(&ids[..5]),
        )
        .await,
        422,
    )
    .await;
    let expected: Vec<String> = (1..5).map(|i| format!("facilitator_ids[{i}]")).collect();
    assert_eq!(error_fields(&refused), expected, "{refused}");
    assert_eq!(session_count(&app).await, 0);
}

#[tokio::test]
async fn attendance_replaces_the_whole_list() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let session = app.group_session(coach, 1).await;
    let (a, b, c) = (
        app.participant_of(coach).await.id,
        app.participant_of(coach).await.id,
        app.participant_of(coach).await.id,
    );
    let first = json!([{"participant_id": a, "status": "present"}, {"participant_id": b, "status": "absent"}]);
    let set = ok_json(app.put(&attendance_path(session), coach, &first).await).await;
    assert_eq!(listed(&set).len(), 2);
    let second = json!([{"participant_id": b, "status": "excused"}, {"participant_id": c, "status": "present"}]);
    let response = app.put(&attendance_path(session), coach, &second).await;
    assert!(response.headers().contains_key("etag"));
    let set = ok_json(response).await;
    let mut expected = vec![
        (b.to_string(), "excused".to_owned()),
        (c.to_string(), "present".to_owned()),
    ];
    expected.sort();
    assert_eq!(listed(&set), expected);
    let read = ok_json(
        app.get(&format!("/group-sessions/{session}"), &app.org.admin)
            .await,
    )
    .await;
    assert_eq!(listed(&read), expected);
    let record = ok_json(
        app.get(&format!("/participants/{a}/group-attendance"), coach)
            .await,
    )
    .await;
    assert_eq!(record["items"], json!([]));
    let emptied = ok_json(app.put(&attendance_path(session), coach, &json!([])).await).await;
    assert_eq!(emptied["attendance"], json!([]));
}

#[tokio::test]
async fn invalid_attendance_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let session = app.group_session(&app.org.coach, 1).await;
    let before = app.set_attendance(session, &[(p, "present")]).await;
    let path = attendance_path(session);
    let outsider = app.other_org.participant_id;
    let bodies = [
        (
            json!([{"participant_id": p, "status": "absent"}, {"participant_id": outsider, "status": "present"}]),
            "[1].participant_id",
        ),
        (
            json!([{"participant_id": p, "status": "absent"}, {"participant_id": Uuid::now_v7(), "status": "present"}]),
            "[1].participant_id",
        ),
        (
            json!([{"participant_id": p, "status": "absent"}, {"participant_id": p, "status": "present"}]),
            "[1].participant_id",
        ),
        (
            json!([{"participant_id": p, "status": "asleep"}]),
            "[0].status",
        ),
        (
            json!([{"participant_id": p, "status": "absent", "note": "x"}]),
            "[0].note",
        ),
    ];
    for (body, field) in bodies {
        let refused = problem(app.put(&path, &app.org.supervisor, &body).await, 422).await;
        assert_eq!(error_fields(&refused), [field], "{refused}");
    }
    let too_many: Vec<Value> = (0..=tandem::http::limits::ATTENDANCE.max)
        .map(|_| json!({"participant_id": Uuid::now_v7(), "status": "present"}))
        .collect();
    let refused = problem(
        app.put(&path, &app.org.supervisor, &json!(too_many)).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["body"]);
    let after = ok_json(
        app.get(&format!("/group-sessions/{session}"), &app.org.admin)
            .await,
    )
    .await;
    assert_eq!(after["attendance"], before["attendance"]);
}

/// The session facilitated by the first coach, attended by one participant of each coach.
async fn shared_session(app: &TestApp) -> (Uuid, Uuid, Uuid) {
    let session = app.group_session(&app.org.coach, 2).await;
    let mine = app.org.participant_id;
    let theirs = app.participant_of(&app.org.other_coach).await.id;
    app.set_attendance(session, &[(mine, "present"), (theirs, "excused")])
        .await;
    (session, mine, theirs)
}

#[tokio::test]
async fn a_coach_who_does_not_facilitate_sees_only_their_own_caseloads_entries() {
    let app = TestApp::spawn().await;
    let (session, mine, theirs) = shared_session(&app).await;
    let path = format!("/group-sessions/{session}");
    let response = app.get(&path, &app.org.other_coach).await;
    let text = response.text().await.unwrap();
    assert!(!text.contains(&mine.to_string()), "{text}");
    let seen: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(seen["attendance_visible"], "caseload");
    assert_eq!(listed(&seen), [(theirs.to_string(), "excused".to_owned())]);
    let unrelated = app.coach().await;
    let seen = ok_json(app.get(&path, &unrelated).await).await;
    assert_eq!(
        (
            seen["attendance"].clone(),
            seen["attendance_visible"].clone()
        ),
        (json!([]), json!("caseload"))
    );
    for everyone in [&app.org.coach, &app.org.supervisor, &app.org.admin] {
        let seen = ok_json(app.get(&path, everyone).await).await;
        assert_eq!(seen["attendance_visible"], "all");
        assert_eq!(listed(&seen).len(), 2);
    }
}

#[tokio::test]
async fn a_coach_who_does_not_facilitate_may_not_set_attendance() {
    let app = TestApp::spawn().await;
    let (session, mine, _) = shared_session(&app).await;
    let body = json!([{"participant_id": mine, "status": "absent"}]);
    for coach in [&app.org.other_coach, &app.other_org.coach] {
        problem(app.put(&attendance_path(session), coach, &body).await, 403).await;
        problem(
            app.put(&attendance_path(Uuid::now_v7()), coach, &body)
                .await,
            403,
        )
        .await;
    }
    let read = ok_json(
        app.get(&format!("/group-sessions/{session}"), &app.org.admin)
            .await,
    )
    .await;
    assert_eq!(listed(&read).len(), 2);
    assert!(listed(&read).contains(&(mine.to_string(), "present".to_owned())));
}

#[tokio::test]
async fn a_facilitating_coach_adds_only_participants_on_their_caseload() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let session = app.group_session(coach, 1).await;
    let mine = app.participant_of(coach).await.id;
    let theirs = app.participant_of(&app.org.other_coach).await.id;
    let unassigned = distinct_participant(&app, "Quinn", "Unpaired").await;
    let elsewhere = app.participant_of(&app.other_org.coach).await.id;
    let path = attendance_path(session);
    let entry = |id: Uuid| json!({"participant_id": id, "status": "present"});
    // Another coach's participant, an unassigned one, another organization's and one that
    // does not exist are refused alike, and nothing changes.
    let mut details = Vec::new();
    for outsider in [theirs, unassigned, elsewhere, Uuid::now_v7()] {
        let body = json!([entry(mine), entry(outsider)]);
        let refused = problem(app.put(&path, coach, &body).await, 422).await;
        assert_eq!(error_fields(&refused), ["[1].participant_id"]);
        details.push(refused["errors"][0]["message"].clone());
        let read = ok_json(app.get(&format!("/group-sessions/{session}"), coach).await).await;
        assert_eq!(read["attendance"], json!([]));
    }
    assert!(
        details.windows(2).all(|pair| pair[0] == pair[1]),
        "{details:?}"
    );
    ok_json(app.put(&path, coach, &json!([entry(mine)])).await).await;
    // A supervisor may add anyone in the organization; the facilitator then keeps that entry
    // (and may change its status) but still cannot add another.
    let both = json!([entry(mine), entry(theirs)]);
    ok_json(app.put(&path, &app.org.supervisor, &both).await).await;
    let kept = json!([entry(mine), {"participant_id": theirs, "status": "excused"}]);
    let set = ok_json(app.put(&path, coach, &kept).await).await;
    assert!(listed(&set).contains(&(theirs.to_string(), "excused".to_owned())));
    let more = json!([entry(mine), entry(theirs), entry(unassigned)]);
    problem(app.put(&path, coach, &more).await, 422).await;
    ok_json(app.put(&path, &app.org.admin, &more).await).await;
}

/// The raw body of a participant's attendance record, read by `caller`.
async fn record_text(app: &TestApp, participant: Uuid, caller: &TestUser) -> String {
    let response = app
        .get(
            &format!("/participants/{participant}/group-attendance"),
            caller,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_participants_attendance_record_never_names_anyone_else() {
    let app = TestApp::spawn().await;
    let me = app.org.participant_id;
    let other = distinct_participant(&app, "Wilhelmina", "Quackenbush").await;
    let session = app.group_session(&app.org.coach, 4).await;
    app.set_attendance(session, &[(me, "present"), (other, "absent")])
        .await;
    let callers = [
        &app.org.participant,
        &app.org.coach,
        &app.org.supervisor,
        &app.org.admin,
    ];
    for caller in callers {
        let text = record_text(&app, me, caller).await;
        for secret in [other.to_string(), "Wilhelmina".into(), "Quackenbush".into()] {
            assert!(!text.contains(&secret), "{secret} leaked: {text}");
        }
        assert!(
            !text.contains("count") && !text.contains("attendance\""),
            "{text}"
        );
        let page: Value = serde_json::from_str(&text).unwrap();
        let item = &page["items"][0];
        assert_eq!(item["group_session_id"], session.to_string());
        assert_eq!(item["status"], "present");
        assert_eq!(item["title"], "Tuesday peer support");
        assert_eq!(item["kind"], "peer_support");
        assert_eq!(item["duration_minutes"], 90);
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 6, "{item}");
    }
}

#[tokio::test]
async fn a_former_coach_cannot_read_a_participants_attendance() {
    let app = TestApp::spawn().await;
    let participant = app.participant_of(&app.org.coach).await;
    let session = app.group_session(&app.org.coach, 1).await;
    app.set_attendance(session, &[(participant.id, "present")])
        .await;
    let path = format!("/participants/{}/group-attendance", participant.id);
    assert_eq!(
        ok_json(app.get(&path, &app.org.coach).await).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.end_pairing(participant.pairing_id).await;
    let gone = problem(app.get(&path, &app.org.coach).await, 404).await;
    let missing = problem(
        app.get(
            &format!("/participants/{}/group-attendance", Uuid::now_v7()),
            &app.org.coach,
        )
        .await,
        404,
    )
    .await;
    assert_eq!(gone, missing);
    let outsider = app.user_in(&app.other_org, Role::Admin).await;
    problem(app.get(&path, &outsider).await, 404).await;
}

/// Every page of `path` (which has no query yet) with `limit`, as `caller`.
async fn walk(app: &TestApp, path: &str, limit: u32, caller: &TestUser) -> Vec<Value> {
    let (mut items, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let query = match &cursor {
            Some(cursor) => format!("{path}?limit={limit}&cursor={cursor}"),
            None => format!("{path}?limit={limit}"),
        };
        let page = ok_json(app.get(&query, caller).await).await;
        let page_items = page["items"].as_array().unwrap();
        assert!(page_items.len() <= limit as usize);
        items.extend(page_items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

#[tokio::test]
async fn lists_are_paginated_newest_first() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let mut sessions = Vec::new();
    for days_ago in [5, 1, 9, 3, 7] {
        let session = app.group_session(&app.org.coach, days_ago).await;
        app.set_attendance(session, &[(p, "present")]).await;
        sessions.push((days_ago, session.to_string()));
    }
    // Two sessions at the same time are ordered by id.
    app.sql(&format!("UPDATE group_sessions SET occurred_at = (SELECT occurred_at FROM group_sessions WHERE id = '{}') WHERE id = '{}'", sessions[0].1, sessions[3].1)).await.unwrap();
    let mut expected: Vec<(i64, String)> = sessions
        .iter()
        .map(|(d, s)| (if *d == 3 { 5 } else { *d }, s.clone()))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let expected: Vec<String> = expected.into_iter().map(|(_, s)| s).collect();
    let record = walk(
        &app,
        &format!("/participants/{p}/group-attendance"),
        2,
        &app.org.participant,
    )
    .await;
    let got: Vec<String> = record
        .iter()
        .map(|i| i["group_session_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected);
    let listed = walk(&app, "/group-sessions", 2, &app.org.other_coach).await;
    let got: Vec<String> = listed
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected);
    assert!(listed.iter().all(|i| i.get("attendance").is_none()));
    problem(
        app.get("/group-sessions?limit=0", &app.org.coach).await,
        400,
    )
    .await;
    problem(
        app.get("/group-sessions?cursor=garbage", &app.org.coach)
            .await,
        400,
    )
    .await;
    problem(
        app.get(
            &format!("/participants/{p}/group-attendance?limit=201"),
            &app.org.coach,
        )
        .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn the_session_list_filters_by_kind_and_facilitator() {
    let app = TestApp::spawn().await;
    let mine = app.group_session(&app.org.coach, 1).await;
    let mut body = new_session(&[app.org.other_coach.id]);
    body["kind"] = json!("family");
    let response = app
        .post("/group-sessions", Some(&app.org.supervisor), &body)
        .await;
    let theirs = json(response).await["id"].as_str().unwrap().to_owned();
    let by_kind = ok_json(app.get("/group-sessions?kind=family", &app.org.coach).await).await;
    assert_eq!(crate::helpers::ids(&by_kind), [theirs]);
    let path = format!("/group-sessions?facilitator_id={}", app.org.coach.id);
    let by_facilitator = ok_json(app.get(&path, &app.org.admin).await).await;
    assert_eq!(crate::helpers::ids(&by_facilitator), [mine.to_string()]);
    problem(
        app.get("/group-sessions?kind=book_club", &app.org.coach)
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn reads_and_writes_name_every_participant_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let (session, mine, theirs) = shared_session(&app).await;
    let mut conn = app.conn().await;
    let named: Vec<Uuid> = audit_events::table
        .filter(audit_events::action.eq("set_attendance"))
        .select(audit_events::participant_ids)
        .first(&mut conn)
        .await
        .unwrap();
    assert!(named.contains(&mine) && named.contains(&theirs));
    app.get(&format!("/group-sessions/{session}"), &app.org.other_coach)
        .await;
    let (named, outcome): (Vec<Uuid>, String) = audit_events::table
        .filter(audit_events::action.eq("read"))
        .filter(audit_events::resource_type.eq("group_session"))
        .select((audit_events::participant_ids, audit_events::outcome))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((named, outcome.as_str()), (vec![theirs], "success"));
    app.get(
        &format!("/participants/{mine}/group-attendance"),
        &app.org.coach,
    )
    .await;
    let subject: Option<Uuid> = audit_events::table
        .filter(audit_events::resource_type.eq("group_attendance"))
        .select(audit_events::participant_id)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(subject, Some(mine));
}

#[tokio::test]
async fn the_latest_attended_group_is_one_function_call_away() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let (older, newer, absent) = (
        app.group_session(&app.org.coach, 6).await,
        app.group_session(&app.org.coach, 2).await,
        app.group_session(&app.org.coach, 1).await,
    );
    let mut conn = app.conn().await;
    let latest = tandem::db::models::group_attendance::last_present_at;
    assert_eq!(latest(&mut conn, p).await.unwrap(), None);
    app.set_attendance(older, &[(p, "present")]).await;
    app.set_attendance(newer, &[(p, "present")]).await;
    app.set_attendance(absent, &[(p, "absent")]).await;
    let expected: chrono::DateTime<Utc> = group_attendance::table
        .filter(group_attendance::group_session_id.eq(newer))
        .select(group_attendance::occurred_at)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(latest(&mut conn, p).await.unwrap(), Some(expected));
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The plan of `sql` with plenty of rows about, as one text.
async fn plan(conn: &mut diesel_async::AsyncPgConnection, sql: &str) -> String {
    let lines: Vec<PlanLine> = diesel::sql_query(format!("EXPLAIN {sql}"))
        .load(conn)
        .await
        .unwrap();
    lines
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_lists_read_their_indexes_in_order_without_sorting() {
    let app = TestApp::spawn().await;
    let (org, p, admin) = (app.org.id, app.org.participant_id, app.org.admin.id);
    app.sql(&format!(
        "INSERT INTO group_sessions (id, organization_id, title, kind, occurred_at, duration_minutes, created_by)
         SELECT gen_random_uuid(), '{org}', 'g', 'other', now() - i * interval '1 hour', 60, '{admin}'
         FROM generate_series(1, 5000) i;
         INSERT INTO group_attendance (group_session_id, participant_id, organization_id, occurred_at, status, recorded_by)
         SELECT id, '{p}', organization_id, occurred_at, 'present', '{admin}' FROM group_sessions;
         ANALYZE group_sessions; ANALYZE group_attendance;"
    ))
    .await
    .unwrap();
    let mut conn = app.conn().await;
    let record = plan(&mut conn, &format!(
        "SELECT a.group_session_id FROM group_attendance a JOIN group_sessions s ON s.id = a.group_session_id
         WHERE a.participant_id = '{p}' AND a.organization_id = '{org}'
           AND a.participant_id IN (SELECT id FROM participants WHERE organization_id = '{org}')
           AND a.occurred_at <= now() AND (a.occurred_at < now() OR a.group_session_id < '{p}')
         ORDER BY a.occurred_at DESC, a.group_session_id DESC LIMIT 51"
    ))
    .await;
    assert!(
        record.contains("group_attendance_participant_idx") && !record.contains("Sort"),
        "{record}"
    );
    let list = plan(
        &mut conn,
        &format!(
            "SELECT id FROM group_sessions WHERE organization_id = '{org}'
         ORDER BY occurred_at DESC, id DESC LIMIT 51"
        ),
    )
    .await;
    assert!(
        list.contains("group_sessions_organization_idx") && !list.contains("Sort"),
        "{list}"
    );
    // The body of `tandem_last_group_contact`.
    let latest = plan(&mut conn, &format!(
        "SELECT max(occurred_at) FROM group_attendance WHERE participant_id = '{p}' AND status = 'present'"
    ))
    .await;
    assert!(latest.contains("group_attendance_present_idx"), "{latest}");
}

#[tokio::test]
async fn two_attendance_lists_sent_at_once_leave_one_of_them_whole() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let session = app.group_session(coach, 1).await;
    let mut people = Vec::new();
    for _ in 0..6 {
        people.push(app.participant_of(coach).await.id);
    }
    let list = |ids: &[Uuid], status: &str| {
        let entries: Vec<Value> = ids
            .iter()
            .map(|id| json!({"participant_id": id, "status": status}))
            .collect();
        json!(entries)
    };
    let (first, second) = (list(&people[..4], "present"), list(&people[2..], "absent"));
    let path = attendance_path(session);
    let (a, b) = tokio::join!(
        app.put(&path, coach, &first),
        app.put(&path, &app.org.supervisor, &second)
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let read = ok_json(
        app.get(&format!("/group-sessions/{session}"), &app.org.admin)
            .await,
    )
    .await;
    let entries: Vec<Value> = read["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!({"participant_id": e["participant_id"], "status": e["status"]}))
        .collect();
    let sorted = |list: &Value| {
        let mut list = list.as_array().unwrap().clone();
        list.sort_by_key(|e| e["participant_id"].as_str().unwrap().to_owned());
        list
    };
    assert!(
        entries == sorted(&first) || entries == sorted(&second),
        "{read}"
    );
}
