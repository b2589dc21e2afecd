//! The follow-up work list (`GET /follow-ups`) and each caseload entry's next point: the
//! same states as the episodes' own schedules, most urgent first, within the caller's scope.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use crate::helpers::{created_json, ok_json, problem, TestApp, TestUser};

async fn today(app: &TestApp) -> NaiveDate {
    let organization = ok_json(app.get("/organization", &app.org.admin).await).await;
    organization["today"].as_str().unwrap().parse().unwrap()
}

/// A participant of `coach` enrolled `days_ago` days ago; with their baseline interview on
/// that day when `baseline`. Returns the participant and episode ids.
async fn enrolled(
    app: &TestApp,
    coach: &TestUser,
    name: &str,
    days_ago: i64,
    baseline: bool,
) -> (String, String) {
    let day = today(app).await - Duration::days(days_ago);
    let body = json!({"first_name": name, "last_name": "Example", "intake_date": day.to_string()});
    let made = created_json(app.post("/participants", Some(coach), &body).await).await;
    let id = made["id"].as_str().unwrap().to_owned();
    let episodes = ok_json(
        app.get(&format!("/participants/{id}/episodes"), coach)
            .await,
    )
    .await;
    let episode = episodes["items"][0]["id"].as_str().unwrap().to_owned();
    if baseline {
        let body = json!({"point": "baseline", "conducted_on": day.to_string(), "mode": "phone"});
        let path = format!("/episodes/{episode}/interviews");
        created_json(app.post(&path, Some(coach), &body).await).await;
    }
    (id, episode)
}

fn listed(page: &Value) -> Vec<(String, String, String)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["first_name"].as_str().unwrap().to_owned(),
                item["point"].as_str().unwrap().to_owned(),
                item["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn triples(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[tokio::test]
async fn the_work_list_puts_overdue_before_open_and_agrees_with_each_schedule() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    enrolled(&app, coach, "Missed", 40, false).await;
    let (_, open_episode) = enrolled(&app, coach, "Open", 10, false).await;
    let (_, late_episode) = enrolled(&app, coach, "Late", 200, true).await;
    let page = ok_json(app.get("/follow-ups", &app.org.supervisor).await).await;
    assert_eq!(
        listed(&page),
        triples(&[
            ("Late", "reassessment_6m", "overdue"),
            ("Open", "baseline", "open")
        ])
    );
    // Each state is the one the episode's own schedule gives.
    for item in page["items"].as_array().unwrap() {
        let episode = item["episode_id"].as_str().unwrap();
        let schedule = ok_json(
            app.get(&format!("/episodes/{episode}/schedule"), coach)
                .await,
        )
        .await;
        let point = schedule["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["point"] == item["point"])
            .unwrap();
        for field in ["due", "window_opens", "window_closes", "state"] {
            assert_eq!(point[field], item[field], "{field} of {item}");
        }
    }
    assert!([open_episode, late_episode]
        .contains(&page["items"][0]["episode_id"].as_str().unwrap().to_owned()));
    let missed = ok_json(app.get("/follow-ups?state=missed", coach).await).await;
    assert_eq!(
        listed(&missed),
        triples(&[("Missed", "baseline", "missed")])
    );
    let upcoming = ok_json(app.get("/follow-ups?state=upcoming,done", coach).await).await;
    let states: Vec<String> = listed(&upcoming).into_iter().map(|t| t.2).collect();
    assert!(
        states.iter().all(|s| s == "upcoming" || s == "done"),
        "{states:?}"
    );
    assert!(states.contains(&"done".to_owned()));
    // Paged one at a time, the same list.
    let mut seen = Vec::new();
    let mut path = "/follow-ups?limit=1".to_owned();
    loop {
        let page = ok_json(app.get(&path, &app.org.admin).await).await;
        seen.extend(listed(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/follow-ups?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        triples(&[
            ("Late", "reassessment_6m", "overdue"),
            ("Open", "baseline", "open")
        ])
    );
    // due_before narrows.
    let soon = today(&app).await - Duration::days(1);
    let page = ok_json(
        app.get(&format!("/follow-ups?due_before={soon}"), coach)
            .await,
    )
    .await;
    assert_eq!(
        listed(&page),
        triples(&[("Late", "reassessment_6m", "overdue")])
    );
}

#[tokio::test]
async fn the_work_list_stays_within_the_callers_scope() {
    let app = TestApp::spawn().await;
    let (participant, _) = enrolled(&app, &app.org.coach, "Open", 10, false).await;
    let mine = ok_json(app.get("/follow-ups", &app.org.coach).await).await;
    assert_eq!(listed(&mine).len(), 1);
    let other = ok_json(app.get("/follow-ups", &app.org.other_coach).await).await;
    assert!(listed(&other).is_empty());
    let elsewhere = ok_json(app.get("/follow-ups", &app.other_org.supervisor).await).await;
    assert!(listed(&elsewhere).is_empty());
    problem(app.get("/follow-ups", &app.org.participant).await, 403).await;
    problem(app.get("/follow-ups", &app.org.client).await, 403).await;
    problem(app.get("/follow-ups?state=late", &app.org.admin).await, 400).await;
    problem(
        app.get("/follow-ups?cursor=nonsense", &app.org.admin).await,
        400,
    )
    .await;
    let named = format!(
        "SELECT count(*) FROM audit_events WHERE action = 'list' AND resource_type = 'episode'
         AND outcome = 'success' AND '{participant}' = ANY (participant_ids)"
    );
    assert_eq!(
        app.count(&named).await,
        1,
        "the coach's list names the participant"
    );
}

#[tokio::test]
async fn each_caseload_entry_names_its_next_point() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let (open, _) = enrolled(&app, coach, "Open", 10, false).await;
    let (done, _) = enrolled(&app, coach, "Done", 5, true).await;
    let caseload = ok_json(
        app.get(&format!("/coaches/{}/caseload", coach.id), coach)
            .await,
    )
    .await;
    let entry = |id: &str| {
        caseload["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["participant_id"] == id)
            .unwrap()
            .clone()
    };
    let next = &entry(&open)["next_point"];
    assert_eq!(next["point"], "baseline");
    assert_eq!(next["state"], "open");
    let next = &entry(&done)["next_point"];
    assert_eq!(next["point"], "reassessment_6m");
    assert_eq!(next["state"], "upcoming");
    // The seeded participant has no episode: no next point.
    let seeded = entry(&app.org.participant_id.to_string());
    assert!(seeded["next_point"].is_null());
}

#[tokio::test]
async fn every_point_of_every_schedule_is_in_the_work_list_with_the_same_dates_and_state() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let mut episodes = Vec::new();
    for (name, days_ago, baseline) in [
        ("A", 3, false),
        ("B", 45, false),
        ("C", 200, true),
        ("D", 400, true),
        ("E", 800, false),
    ] {
        episodes.push(enrolled(&app, coach, name, days_ago, baseline).await.1);
    }
    // One closed before its reassessment window opened, one closed a week ago.
    let day = today(&app).await;
    let close = |ended: NaiveDate| json!({"ended_on": ended.to_string(), "reason": "completed"});
    let path = format!("/episodes/{}/close", episodes[1]);
    ok_json(
        app.post(&path, Some(coach), &close(day - Duration::days(40)))
            .await,
    )
    .await;
    let path = format!("/episodes/{}/close", episodes[3]);
    ok_json(
        app.post(&path, Some(coach), &close(day - Duration::days(7)))
            .await,
    )
    .await;
    let all = "/follow-ups?state=upcoming,open,overdue,done,missed,not_required&limit=200";
    let page = ok_json(app.get(all, coach).await).await;
    let mut listed: Vec<(String, String, String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let text = |f: &str| p[f].as_str().unwrap().to_owned();
            (
                text("episode_id"),
                text("point"),
                text("due"),
                text("state"),
            )
        })
        .collect();
    let mut scheduled = Vec::new();
    for episode in &episodes {
        let schedule = ok_json(
            app.get(&format!("/episodes/{episode}/schedule"), coach)
                .await,
        )
        .await;
        for p in schedule["points"].as_array().unwrap() {
            let text = |f: &str| p[f].as_str().unwrap().to_owned();
            scheduled.push((episode.clone(), text("point"), text("due"), text("state")));
        }
    }
    listed.sort();
    scheduled.sort();
    assert_eq!(listed, scheduled);
    // Without upcoming and not_required the list is computed another way: the same points.
    let some = "/follow-ups?state=open,overdue,missed,done&limit=200";
    let page = ok_json(app.get(some, coach).await).await;
    let mut narrowed: Vec<(String, String, String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let text = |f: &str| p[f].as_str().unwrap().to_owned();
            (
                text("episode_id"),
                text("point"),
                text("due"),
                text("state"),
            )
        })
        .collect();
    narrowed.sort();
    let expected: Vec<_> = scheduled
        .iter()
        .filter(|p| ["open", "overdue", "missed", "done"].contains(&p.3.as_str()))
        .cloned()
        .collect();
    assert_eq!(narrowed, expected);
    let states: std::collections::BTreeSet<&str> = scheduled.iter().map(|p| p.3.as_str()).collect();
    assert!(states.len() >= 4, "{states:?}");
}
