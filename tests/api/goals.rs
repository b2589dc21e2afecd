//! Goals (the recovery plan): goals, their status, action items and the progress log.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::{Method, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_fields, ids, json, ok_json, problem, send, Caller, TestApp};

fn housing() -> Value {
    json!({"title": "Find stable housing", "description": "A place of my own", "domain": "housing", "target_date": "2099-06-30"})
}

async fn create_goal(
    app: &TestApp,
    participant: Uuid,
    caller: &dyn Caller,
    body: &Value,
) -> Response {
    app.post(
        &format!("/participants/{participant}/goals"),
        Some(caller),
        body,
    )
    .await
}

async fn count(app: &TestApp, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    row.n
}

fn id_of(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

async fn change_status(app: &TestApp, goal: &str, body: Value) -> Response {
    let path = format!("/goals/{goal}/status");
    app.post(&path, Some(&app.org.coach), &body).await
}

#[tokio::test]
async fn a_coach_sets_a_goal_for_their_participant_and_reads_it_back() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let response = create_goal(&app, p, &app.org.coach, &housing()).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let goal = json(response).await;
    assert_eq!(location, format!("/api/v1/goals/{}", id_of(&goal)));
    assert_eq!(goal["participant_id"], p.to_string());
    assert_eq!(goal["organization_id"], app.org.id.to_string());
    assert_eq!(goal["title"], "Find stable housing");
    assert_eq!(goal["description"], "A place of my own");
    assert_eq!(goal["domain"], "housing");
    assert_eq!(goal["target_date"], "2099-06-30");
    assert_eq!(goal["status"], "active");
    assert_eq!(goal["created_by"], app.org.coach.id.to_string());
    assert_eq!(goal["open_action_items"], json!([]));
    assert!(goal["latest_progress"].is_null());
    assert_eq!(goal["history"].as_array().unwrap().len(), 1);
    assert!(goal["history"][0]["from"].is_null());
    assert_eq!(goal["history"][0]["to"], "active");
    assert_eq!(goal["history"][0]["actor_id"], app.org.coach.id.to_string());

    let read = app
        .get(&format!("/goals/{}", id_of(&goal)), &app.org.coach)
        .await;
    assert_eq!(read.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(read.headers()["cache-control"], "no-store");
    assert_eq!(ok_json(read).await, goal);
}

#[tokio::test]
async fn a_participant_sets_their_own_goal_but_never_another_participants() {
    let app = TestApp::spawn().await;
    let me = &app.org.participant;
    let body = json!({"title": "Walk every morning", "domain": "physical_health"});
    let response = create_goal(&app, app.org.participant_id, me, &body).await;
    assert_eq!(response.status(), 201);
    let goal = json(response).await;
    assert_eq!(goal["created_by"], me.id.to_string());
    // The participant reads it, and their coach sees it too.
    ok_json(app.get(&format!("/goals/{}", id_of(&goal)), me).await).await;
    ok_json(
        app.get(&format!("/goals/{}", id_of(&goal)), &app.org.coach)
            .await,
    )
    .await;

    let neighbour = app.participant_of(&app.org.coach).await;
    let refused = create_goal(&app, neighbour.id, me, &body).await;
    problem(refused, 404).await;
    let outsider = create_goal(&app, app.other_org.participant_id, me, &body).await;
    problem(outsider, 404).await;
    assert_eq!(count(&app, "goals").await, 1);
}

#[tokio::test]
async fn goals_are_listed_oldest_first_filtered_and_paginated() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let mut made = Vec::new();
    for (title, domain) in [
        ("Housing", "housing"),
        ("Work", "employment_education"),
        ("Rent", "housing"),
    ] {
        let body = json!({"title": title, "domain": domain});
        made.push(id_of(&json(create_goal(&app, p, &app.org.coach, &body).await).await).to_owned());
    }
    let paused = change_status(
        &app,
        &made[1],
        json!({"status": "paused", "reason": "busy"}),
    )
    .await;
    assert_eq!(paused.status(), 200);
    let list = |query: &str| format!("/participants/{p}/goals{query}");
    let all = app.get(&list(""), &app.org.coach).await;
    assert_eq!(all.headers()["cache-control"], "no-store");
    assert_eq!(ids(&ok_json(all).await), made);
    let paused = ok_json(app.get(&list("?status=paused"), &app.org.coach).await).await;
    assert_eq!(ids(&paused), vec![made[1].clone()]);
    let housing = ok_json(
        app.get(&list("?domain=housing&status=active"), &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(ids(&housing), vec![made[0].clone(), made[2].clone()]);
    assert_eq!(housing["items"][0]["open_action_item_count"], 0);

    let first = ok_json(app.get(&list("?limit=2"), &app.org.participant).await).await;
    assert_eq!(ids(&first), made[..2].to_vec());
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = ok_json(
        app.get(
            &list(&format!("?limit=2&cursor={cursor}")),
            &app.org.participant,
        )
        .await,
    )
    .await;
    assert_eq!(ids(&second), made[2..].to_vec());
    assert!(second["next_cursor"].is_null());

    for bad in [
        "?status=done",
        "?domain=cooking",
        "?limit=0",
        "?limit=201",
        "?cursor=zzz",
        "?colour=red",
    ] {
        problem(app.get(&list(bad), &app.org.coach).await, 400).await;
    }
}

#[tokio::test]
async fn every_allowed_status_move_is_made_and_kept_in_the_history() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    for last in ["achieved", "abandoned"] {
        let goal = json(create_goal(&app, p, &app.org.coach, &housing()).await).await;
        let goal = id_of(&goal);
        let moves = [
            ("paused", "on hold"),
            ("active", "back at it"),
            ("paused", "again"),
            (last, "done"),
        ];
        for (to, reason) in moves {
            let response = change_status(&app, goal, json!({"status": to, "reason": reason})).await;
            let body = ok_json(response).await;
            assert_eq!(body["status"], to);
        }
        let body = ok_json(
            app.get(&format!("/goals/{goal}"), &app.org.supervisor)
                .await,
        )
        .await;
        let history: Vec<(Value, Value, Value)> = body["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["from"].clone(), h["to"].clone(), h["reason"].clone()))
            .collect();
        assert_eq!(history.len(), 5);
        assert_eq!(
            history[1],
            (json!("active"), json!("paused"), json!("on hold"))
        );
        assert_eq!(history[4], (json!("paused"), json!(last), json!("done")));
        assert_eq!(body["history"][4]["actor_id"], app.org.coach.id.to_string());
        assert!(body["closed_at"].is_string());
    }
    // Straight from active, too.
    for last in ["achieved", "abandoned"] {
        let goal = json(create_goal(&app, p, &app.org.coach, &housing()).await).await;
        let response =
            change_status(&app, id_of(&goal), json!({"status": last, "reason": "r"})).await;
        assert_eq!(ok_json(response).await["status"], last);
    }
}

#[tokio::test]
async fn forbidden_status_moves_are_409_and_change_nothing() {
    let app = TestApp::spawn().await;
    let goal =
        json(create_goal(&app, app.org.participant_id, &app.org.coach, &housing()).await).await;
    let goal = id_of(&goal);
    let same = problem(
        change_status(&app, goal, json!({"status": "active"})).await,
        409,
    )
    .await;
    assert!(same["detail"].as_str().unwrap().contains("`paused`"));
    let no_reason = problem(
        change_status(&app, goal, json!({"status": "abandoned"})).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&no_reason), vec!["reason"]);
    let unknown = problem(
        change_status(&app, goal, json!({"status": "finished"})).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&unknown), vec!["status"]);
    ok_json(change_status(&app, goal, json!({"status": "achieved"})).await).await;
    for to in ["active", "paused", "abandoned", "achieved"] {
        let body = json!({"status": to, "reason": "try"});
        let refused = problem(change_status(&app, goal, body).await, 409).await;
        assert!(
            refused["detail"].as_str().unwrap().contains("final"),
            "{refused}"
        );
    }
    let body = ok_json(app.get(&format!("/goals/{goal}"), &app.org.coach).await).await;
    assert_eq!(body["status"], "achieved");
    assert_eq!(body["history"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn invalid_goals_are_422_naming_each_field_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let cases = [
        (json!({"title": "  ", "domain": "housing"}), vec!["title"]),
        (
            json!({"title": "Home", "domain": "cooking"}),
            vec!["domain"],
        ),
        (json!({"title": "Home"}), vec!["domain"]),
        (
            json!({"title": "Home", "domain": "housing", "target_date": "2027-02-30"}),
            vec!["target_date"],
        ),
        (
            json!({"title": "Home", "domain": "housing", "target_date": "2001-01-01"}),
            vec!["target_date"],
        ),
        (
            json!({"title": "Home", "domain": "housing", "target_date": "9999-01-01"}),
            vec!["target_date"],
        ),
        (
            json!({"title": "Home", "domain": "housing", "description": ""}),
            vec!["description"],
        ),
        (
            json!({"title": "Home", "domain": "housing", "status": "achieved"}),
            vec!["status"],
        ),
        (
            json!({"title": "", "domain": "legal", "target_date": "1999-01-01"}),
            vec!["title", "target_date"],
        ),
    ];
    for (body, fields) in cases {
        let refused = problem(create_goal(&app, p, &app.org.coach, &body).await, 422).await;
        assert_eq!(error_fields(&refused), fields, "{body}");
    }
    assert_eq!(count(&app, "goals").await, 0);
}

#[tokio::test]
async fn a_goal_is_updated_with_if_match_and_a_stale_version_is_412() {
    let app = TestApp::spawn().await;
    let goal = app.goal_of(app.org.participant_id).await;
    let path = format!("/goals/{}", id_of(&goal));
    let etag = app.get(&path, &app.org.coach).await.headers()["etag"].clone();
    let change = json!({"title": "A flat near work", "description": null, "target_date": null, "domain": "finances"});
    let send_with = |tag: &str, body: &Value| {
        let request = app.request(Method::PATCH, &path, Some(&app.org.coach));
        send(request.header("If-Match", tag).json(body))
    };
    let updated = ok_json(send_with(etag.to_str().unwrap(), &change).await).await;
    assert_eq!(updated["title"], "A flat near work");
    assert!(updated["description"].is_null() && updated["target_date"].is_null());
    assert_eq!(updated["domain"], "finances");
    // The old tag no longer matches: 412, and nothing changes.
    let stale = send_with(etag.to_str().unwrap(), &json!({"title": "Overwritten"})).await;
    problem(stale, 412).await;
    assert_eq!(ok_json(app.get(&path, &app.org.coach).await).await, updated);
    for (body, fields) in [
        (json!({"status": "paused"}), vec!["status"]),
        (json!({"title": "", "domain": "finances"}), vec!["title"]),
        (json!({"title": null}), vec!["title"]),
        (json!({"target_date": "2000-01-01"}), vec!["target_date"]),
    ] {
        let refused = problem(app.patch(&path, &app.org.coach, &body).await, 422).await;
        assert_eq!(error_fields(&refused), fields, "{body}");
    }
    assert_eq!(ok_json(app.get(&path, &app.org.coach).await).await, updated);
}

#[tokio::test]
async fn action_items_are_added_completed_and_reopened() {
    let app = TestApp::spawn().await;
    let goal = app.goal_of(app.org.participant_id).await;
    let path = format!("/goals/{}/action-items", id_of(&goal));
    let body = json!({"title": "Call the housing office", "due_date": "2099-01-15"});
    let response = app.post(&path, Some(&app.org.coach), &body).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let item = json(response).await;
    assert_eq!(location, format!("/api/v1/action-items/{}", id_of(&item)));
    assert_eq!(item["goal_id"], goal["id"]);
    assert_eq!(
        (item["completed"].clone(), item["completed_at"].clone()),
        (json!(false), Value::Null)
    );
    let read = ok_json(
        app.get(&format!("/goals/{}", id_of(&goal)), &app.org.participant)
            .await,
    )
    .await;
    assert_eq!(read["open_action_items"], json!([item]));

    let one = format!("/action-items/{}", id_of(&item));
    let done = ok_json(
        app.patch(&one, &app.org.coach, &json!({"completed": true}))
            .await,
    )
    .await;
    assert_eq!(done["completed"], true);
    assert!(done["completed_at"].is_string());
    assert_eq!(
        ok_json(app.get(&one, &app.org.participant).await).await,
        done
    );
    let read = ok_json(
        app.get(&format!("/goals/{}", id_of(&goal)), &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(read["open_action_items"], json!([]));
    assert_eq!(read["completed_action_item_count"], 1);

    let change = json!({"completed": false, "title": "Visit the office", "due_date": null});
    let reopened = ok_json(app.patch(&one, &app.org.coach, &change).await).await;
    assert_eq!(
        (
            reopened["completed"].clone(),
            reopened["completed_at"].clone()
        ),
        (json!(false), Value::Null)
    );
    assert_eq!(reopened["title"], "Visit the office");
    assert!(reopened["due_date"].is_null());
}

#[tokio::test]
async fn invalid_action_items_are_422_naming_each_field() {
    let app = TestApp::spawn().await;
    let goal = app.goal_of(app.org.participant_id).await;
    let path = format!("/goals/{}/action-items", id_of(&goal));
    for (body, fields) in [
        (json!({"title": ""}), vec!["title"]),
        (
            json!({"title": "Call", "due_date": "soon"}),
            vec!["due_date"],
        ),
        (
            json!({"title": "Call", "due_date": "2000-01-01"}),
            vec!["due_date"],
        ),
        (
            json!({"title": "Call", "completed": true}),
            vec!["completed"],
        ),
    ] {
        let refused = problem(app.post(&path, Some(&app.org.coach), &body).await, 422).await;
        assert_eq!(error_fields(&refused), fields, "{body}");
    }
    assert_eq!(count(&app, "action_items").await, 0);
    let item = app.action_item_of(&goal).await;
    let one = format!("/action-items/{}", id_of(&item));
    for (body, fields) in [
        (json!({"title": " "}), vec!["title"]),
        (json!({"completed": "yes"}), vec!["completed"]),
        (json!({"due_date": "2000-01-01"}), vec!["due_date"]),
    ] {
        let refused = problem(app.patch(&one, &app.org.coach, &body).await, 422).await;
        assert_eq!(error_fields(&refused), fields, "{body}");
    }
    let stale = app
        .request(Method::PATCH, &one, Some(&app.org.coach))
        .header("If-Match", "\"stale\"");
    problem(send(stale.json(&json!({"completed": true}))).await, 412).await;
    assert_eq!(ok_json(app.get(&one, &app.org.coach).await).await, item);
}

#[tokio::test]
async fn progress_is_logged_newest_first_and_the_goal_shows_the_latest() {
    let app = TestApp::spawn().await;
    let goal = app.goal_of(app.org.participant_id).await;
    let path = format!("/goals/{}/progress", id_of(&goal));
    let mut made = Vec::new();
    for (caller, note, percent) in [
        (&app.org.participant, "Viewed two flats", json!(20)),
        (&app.org.coach, "Application sent", json!(null)),
        (&app.org.participant, "Interview booked", json!(60)),
    ] {
        let response = app
            .post(
                &path,
                Some(caller),
                &json!({"note": note, "percent_complete": percent}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let entry = json(response).await;
        assert_eq!(location, format!("/api/v1{path}/{}", id_of(&entry)));
        assert_eq!(entry["author_id"], caller.id.to_string());
        assert_eq!(
            ok_json(app.get(&format!("{path}/{}", id_of(&entry)), caller).await).await,
            entry
        );
        made.push(entry);
    }
    let newest_first: Vec<String> = made.iter().rev().map(|e| id_of(e).to_owned()).collect();
    let page = ok_json(app.get(&path, &app.org.participant).await).await;
    assert_eq!(ids(&page), newest_first);
    let first = ok_json(app.get(&format!("{path}?limit=2"), &app.org.coach).await).await;
    assert_eq!(ids(&first), newest_first[..2].to_vec());
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = ok_json(
        app.get(&format!("{path}?limit=2&cursor={cursor}"), &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(ids(&rest), newest_first[2..].to_vec());
    let read = ok_json(
        app.get(&format!("/goals/{}", id_of(&goal)), &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(read["latest_progress"], made[2]);
    problem(
        app.get(&format!("{path}?limit=500"), &app.org.coach).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn invalid_progress_is_422_naming_each_field_and_nothing_is_logged() {
    let app = TestApp::spawn().await;
    let goal = app.goal_of(app.org.participant_id).await;
    let path = format!("/goals/{}/progress", id_of(&goal));
    for (body, fields) in [
        (
            json!({"note": "Nearly", "percent_complete": 101}),
            vec!["percent_complete"],
        ),
        (
            json!({"note": "Nearly", "percent_complete": -1}),
            vec!["percent_complete"],
        ),
        (
            json!({"note": "Nearly", "percent_complete": 50.5}),
            vec!["percent_complete"],
        ),
        (json!({"note": "", "percent_complete": 10}), vec!["note"]),
        (json!({"percent_complete": 10}), vec!["note"]),
    ] {
        let refused = problem(
            app.post(&path, Some(&app.org.participant), &body).await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), fields, "{body}");
    }
    assert_eq!(count(&app, "goal_progress").await, 0);
}

#[tokio::test]
async fn a_closed_goal_takes_no_new_action_items_or_progress() {
    let app = TestApp::spawn().await;
    let goal = app.goal_of(app.org.participant_id).await;
    let item = app.action_item_of(&goal).await;
    let closed = change_status(
        &app,
        id_of(&goal),
        json!({"status": "abandoned", "reason": "moved"}),
    )
    .await;
    assert_eq!(closed.status(), 200);
    let base = format!("/goals/{}", id_of(&goal));
    let add = json!({"title": "Another step"});
    problem(
        app.post(&format!("{base}/action-items"), Some(&app.org.coach), &add)
            .await,
        409,
    )
    .await;
    let note = json!({"note": "Still trying"});
    problem(
        app.post(
            &format!("{base}/progress"),
            Some(&app.org.participant),
            &note,
        )
        .await,
        409,
    )
    .await;
    let one = format!("/action-items/{}", id_of(&item));
    problem(
        app.patch(&one, &app.org.coach, &json!({"completed": true}))
            .await,
        409,
    )
    .await;
    assert_eq!(
        (
            count(&app, "action_items").await,
            count(&app, "goal_progress").await
        ),
        (1, 0)
    );
    // Its wording can still be corrected.
    ok_json(
        app.patch(&base, &app.org.coach, &json!({"title": "Housing (closed)"}))
            .await,
    )
    .await;
}

#[tokio::test]
async fn a_repeated_create_with_the_same_idempotency_key_makes_one_goal() {
    let app = TestApp::spawn().await;
    let path = format!("/participants/{}/goals", app.org.participant_id);
    let post = |key: &str, body: &Value| {
        let request = app.request(Method::POST, &path, Some(&app.org.coach));
        send(request.header("Idempotency-Key", key).json(body))
    };
    let first = post("goal-1", &housing()).await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;
    let again = post("goal-1", &housing()).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await, first);
    let other = json!({"title": "Something else", "domain": "legal"});
    let refused = problem(post("goal-1", &other).await, 422).await;
    assert_eq!(error_fields(&refused), vec!["Idempotency-Key"]);
    assert_eq!(count(&app, "goals").await, 1);
}

#[tokio::test]
async fn goal_reads_and_lists_are_audited_naming_the_participant() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let goal = app.goal_of(p).await;
    ok_json(
        app.get(&format!("/goals/{}", id_of(&goal)), &app.org.coach)
            .await,
    )
    .await;
    ok_json(
        app.get(&format!("/participants/{p}/goals"), &app.org.coach)
            .await,
    )
    .await;
    ok_json(
        app.get(&format!("/goals/{}/progress", id_of(&goal)), &app.org.coach)
            .await,
    )
    .await;
    let query = format!(
        "/audit-events?participant_id={p}&actor_id={}",
        app.org.coach.id
    );
    let events = ok_json(app.get(&query, &app.org.admin).await).await;
    let seen: Vec<(String, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["resource_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for wanted in [
        ("read", "goal"),
        ("list", "goal"),
        ("list", "goal_progress"),
    ] {
        let wanted = (wanted.0.to_owned(), wanted.1.to_owned());
        assert!(seen.contains(&wanted), "{wanted:?} not in {seen:?}");
    }
    let creates = ok_json(
        app.get(
            &format!("/audit-events?participant_id={p}&action=create&resource_type=goal"),
            &app.org.admin,
        )
        .await,
    )
    .await;
    assert_eq!(creates["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_coach_loses_the_goals_when_the_pairing_ends() {
    let app = TestApp::spawn().await;
    let participant = app.participant_of(&app.org.coach).await;
    let goal = app.goal_of(participant.id).await;
    let one = format!("/goals/{}", id_of(&goal));
    ok_json(app.get(&one, &app.org.coach).await).await;
    app.end_pairing(participant.pairing_id).await;
    problem(app.get(&one, &app.org.coach).await, 404).await;
    problem(
        app.get(
            &format!("/participants/{}/goals", participant.id),
            &app.org.coach,
        )
        .await,
        404,
    )
    .await;
    let pause = json!({"status": "paused", "reason": "gone"});
    problem(
        app.post(&format!("{one}/status"), Some(&app.org.coach), &pause)
            .await,
        404,
    )
    .await;
    assert_eq!(
        ok_json(app.get(&one, &app.org.supervisor).await).await["status"],
        "active"
    );
}

/// The plan PostgreSQL chooses for `query`, as the app's runtime role sees it.
async fn plan(app: &TestApp, query: &str) -> String {
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
async fn goal_lists_and_progress_logs_read_an_index_in_order_without_sorting() {
    let app = TestApp::spawn().await;
    let (p, org, coach) = (app.org.participant_id, app.org.id, app.org.coach.id);
    let goal = app.goal_of(p).await;
    let seed = format!(
        "INSERT INTO goals (id, organization_id, participant_id, title, domain, status, created_by)
             SELECT gen_random_uuid(), '{org}', pa.id, 'Goal ' || n, 'housing',
                    (ARRAY['active', 'paused', 'achieved', 'abandoned'])[1 + n % 4], '{coach}'
             FROM participants pa, generate_series(1, 2000) n;
         INSERT INTO goal_progress (id, goal_id, participant_id, note, author_id)
             SELECT gen_random_uuid(), g.id, g.participant_id, 'Step ' || n, '{coach}'
             FROM goals g, generate_series(1, 3) n;
         INSERT INTO goal_progress (id, goal_id, participant_id, note, author_id)
             SELECT gen_random_uuid(), '{goal}', '{p}', 'Step ' || n, '{coach}'
             FROM generate_series(1, 3000) n;
         ANALYZE goals; ANALYZE goal_progress;",
        goal = id_of(&goal)
    );
    app.sql(&seed).await.unwrap();
    let in_scope = format!(
        "SELECT participants.id FROM participants WHERE participants.organization_id = '{org}'
           AND EXISTS (SELECT 1 FROM pairings WHERE pairings.participant_id = participants.id
                       AND pairings.coach_id = '{coach}' AND pairings.status <> 'ended')"
    );
    for status in ["", "AND goals.status = 'paused'"] {
        let list = plan(
            &app,
            &format!(
                "SELECT goals.id FROM goals WHERE goals.participant_id = '{p}'
               AND goals.participant_id IN ({in_scope}) {status}
             ORDER BY goals.id LIMIT 51"
            ),
        )
        .await;
        assert!(
            list.contains("Index") && list.contains("goals_participant"),
            "{list}"
        );
        assert!(!list.contains("Sort"), "{list}");
    }
    let log = plan(
        &app,
        &format!(
            "SELECT goal_progress.id FROM goal_progress WHERE goal_progress.goal_id = '{}'
           AND goal_progress.participant_id = '{p}' AND goal_progress.participant_id IN ({in_scope})
         ORDER BY goal_progress.id DESC LIMIT 51",
            id_of(&goal)
        ),
    )
    .await;
    assert!(
        log.contains("goal_progress_goal_idx") && !log.contains("Sort"),
        "{log}"
    );
}

#[tokio::test]
async fn two_status_changes_at_once_make_one_move_and_the_other_is_409() {
    let app = TestApp::spawn().await;
    let goal = app.goal_of(app.org.participant_id).await;
    let path = format!("/goals/{}/status", id_of(&goal));
    let achieve = json!({"status": "achieved", "reason": "moved in"});
    let abandon = json!({"status": "abandoned", "reason": "gave up"});
    let (first, second) = tokio::join!(
        app.post(&path, Some(&app.org.coach), &achieve),
        app.post(&path, Some(&app.org.supervisor), &abandon),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let read = ok_json(
        app.get(&format!("/goals/{}", id_of(&goal)), &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(read["history"].as_array().unwrap().len(), 2);
}
