//! The audit log's vocabulary: every operation declares what its rows say it does, a refusal
//! is logged under that declaration, and the log's filters take only the declared names.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{json as body_of, ok_json, problem, send, TestApp, TestUser};

#[tokio::test]
async fn every_secured_operation_declares_what_it_audits() {
    // An operation without a declaration answers 500 to everyone, before its token is read,
    // so a missing token's 401 shows that the declaration is there.
    let app = TestApp::spawn().await;
    let document: Value = serde_json::from_str(&tandem::http::openapi::document_json()).unwrap();
    let mut undeclared = Vec::new();
    let mut secured = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !crate::docs::is_secured(operation) {
                continue;
            }
            secured += 1;
            let concrete: String = path
                .split('/')
                .map(|segment| match segment.starts_with('{') {
                    true => Uuid::now_v7().to_string(),
                    false => segment.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = send(app.client.request(method.clone(), app.url(&concrete))).await;
            if response.status() != 401 {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                undeclared.push(format!("{method} {path}: {status} {text}"));
            }
        }
    }
    assert!(secured > 60, "only {secured} secured operations found");
    assert!(
        undeclared.is_empty(),
        "without a token these should be 401:\n{}",
        undeclared.join("\n")
    );
}

/// The denied events of `caller`, as `(action, resource_type, resource_id, participant_id)`.
async fn denied_events(app: &TestApp, caller: &TestUser) -> Vec<(Value, Value, Value, Value)> {
    let path = format!("/audit-events?actor_id={}&outcome=denied", caller.id);
    let page = ok_json(app.get(&path, &app.org.admin).await).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let field = |name: &str| e[name].clone();
            (
                field("action"),
                field("resource_type"),
                field("resource_id"),
                field("participant_id"),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_refused_request_on_a_note_names_its_participant_only_within_the_organization() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let note = app.session_note(&app.org.coach, p, "care_team").await;
    let path = format!("/session-notes/{note}");
    problem(app.get(&path, &app.org.other_coach).await, 404).await;
    let events = denied_events(&app, &app.org.other_coach).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].1, json!("session_note"));
    assert_eq!(events[0].3, json!(p.to_string()));
    let by_participant = format!("/audit-events?participant_id={p}&outcome=denied");
    let found = ok_json(app.get(&by_participant, &app.org.admin).await).await;
    assert!(found["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["actor_id"] == app.org.other_coach.id.to_string()));
    // Another organization's caller probing the same id is refused alike, and its own
    // organization's log never learns whose note it was.
    problem(app.get(&path, &app.other_org.coach).await, 404).await;
    let theirs = denied_events(&app, &app.other_org.coach).await;
    assert!(
        theirs.is_empty(),
        "another organization's row is not in this log: {theirs:?}"
    );
    let mut conn = app.conn().await;
    let named: Vec<Option<Uuid>> = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use tandem::db::schema::audit_events as events;
        events::table
            .filter(events::actor_id.eq(app.other_org.coach.id))
            .filter(events::outcome.eq("denied"))
            .select(events::participant_id)
            .load(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(named, [None]);
    // A refusal about an id that is nothing names no one.
    let missing = format!("/session-notes/{}", Uuid::now_v7());
    problem(app.get(&missing, &app.org.other_coach).await, 404).await;
    let events = denied_events(&app, &app.org.other_coach).await;
    assert!(events.iter().any(|e| e.3.is_null()), "{events:?}");
}

#[tokio::test]
async fn a_refusal_is_logged_as_the_operation_refused_wherever_it_is_refused() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let goal = app.goal_of(p).await;
    let goal_id = goal["id"].as_str().unwrap().to_owned();
    let pause = json!({"status": "paused", "reason": "refused"});
    let path = format!("/goals/{goal_id}/status");

    // The participant is refused by the role guard, before the handler runs.
    let by_guard = app.post(&path, Some(&app.org.participant), &pause).await;
    problem(by_guard, 403).await;
    // A coach outside the participant's care is refused by the handler's scoped work.
    let by_scope = app.post(&path, Some(&app.org.other_coach), &pause).await;
    problem(by_scope, 404).await;

    let goal_id = json!(goal_id);
    for caller in [&app.org.participant, &app.org.other_coach] {
        let events = denied_events(&app, caller).await;
        let [(action, resource_type, resource_id, participant)] = &events[..] else {
            panic!(
                "expected one denied event by {}, found {events:?}",
                caller.id
            );
        };
        // The goal exists, so the refusal names its participant: searching the log by
        // participant finds it.
        assert_eq!(
            (action, resource_type, resource_id, participant),
            (
                &json!("change_status"),
                &json!("goal"),
                &goal_id,
                &json!(p.to_string())
            )
        );
    }

    // Under `/participants/{id}`, a refusal names the participant, and the object only when
    // it is the participant.
    let goals = format!("/participants/{p}/goals");
    let new_goal = json!({"title": "Refused", "domain": "legal"});
    problem(
        app.post(&goals, Some(&app.org.client), &new_goal).await,
        403,
    )
    .await;
    let status = json!({"status": "inactive", "reason": "refused"});
    let change = format!("/participants/{p}/status");
    problem(
        app.post(&change, Some(&app.org.participant), &status).await,
        403,
    )
    .await;
    let events = denied_events(&app, &app.org.participant).await;
    assert_eq!(
        events.first(),
        Some(&(
            json!("change_status"),
            json!("participant"),
            json!(p.to_string()),
            json!(p.to_string())
        ))
    );
    let log = body_of(
        app.get(
            "/audit-events?action=create&resource_type=goal&outcome=denied",
            &app.org.admin,
        )
        .await,
    )
    .await;
    let refused: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["client_id"] == json!(app.org.client.id.to_string()))
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert_eq!(refused[0]["participant_id"], json!(p.to_string()));
    assert_eq!(refused[0]["resource_id"], Value::Null);
}

#[tokio::test]
async fn the_logs_filters_take_only_the_names_the_document_lists() {
    let app = TestApp::spawn().await;
    let admin = &app.org.admin;
    for query in [
        "action=delete",
        "resource_type=hsd",
        "action=Read",
        "resource_type=",
    ] {
        let body = problem(app.get(&format!("/audit-events?{query}"), admin).await, 400).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("must be one of"), "{query}: {detail}");
    }
    let detail = problem(app.get("/audit-events?action=delete", admin).await, 400).await;
    assert!(detail["detail"].as_str().unwrap().contains("change_status"));
    let detail = problem(app.get("/audit-events?resource_type=me", admin).await, 400).await;
    assert!(detail["detail"]
        .as_str()
        .unwrap()
        .contains("session_note_amendment"));
    for query in [
        "action=change_status",
        "resource_type=audit_event",
        "action=verify",
    ] {
        ok_json(app.get(&format!("/audit-events?{query}"), admin).await).await;
    }
}
