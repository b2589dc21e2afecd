//! Episodes of care and their follow-up schedule, through the API: opening (one open at a
//! time, also under a race), closing, re-enrolment, intake and discharge, interviews and
//! their windows, and the organization's time zone deciding "today".

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{created_json, error_fields, ok_json, problem, TestApp};

async fn today(app: &TestApp) -> NaiveDate {
    let organization = ok_json(app.get("/organization", &app.org.admin).await).await;
    organization["today"].as_str().unwrap().parse().unwrap()
}

fn days(day: NaiveDate, n: i64) -> String {
    (day + Duration::days(n)).to_string()
}

async fn open(app: &TestApp, started_on: &str) -> Value {
    let path = format!("/participants/{}/episodes", app.org.participant_id);
    let body = json!({"started_on": started_on, "program": "Peer Recovery Support"});
    created_json(app.post(&path, Some(&app.org.supervisor), &body).await).await
}

async fn schedule(app: &TestApp, episode: &str) -> Value {
    ok_json(
        app.get(&format!("/episodes/{episode}/schedule"), &app.org.coach)
            .await,
    )
    .await
}

fn states(schedule: &Value) -> Vec<(String, String)> {
    schedule["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["point"].as_str().unwrap().to_owned();
            (name, p["state"].as_str().unwrap().to_owned())
        })
        .collect()
}

async fn interview(app: &TestApp, episode: &str, body: Value) -> reqwest::Response {
    let path = format!("/episodes/{episode}/interviews");
    app.post(&path, Some(&app.org.coach), &body).await
}

#[tokio::test]
async fn one_open_episode_at_a_time_also_when_two_requests_race() {
    let app = TestApp::spawn().await;
    let day = today(&app).await;
    let path = format!("/participants/{}/episodes", app.org.participant_id);
    let body = json!({"started_on": days(day, -3)});
    let (a, b) = tokio::join!(
        app.post(&path, Some(&app.org.supervisor), &body),
        app.post(&path, Some(&app.org.admin), &body)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let sql = format!(
        "SELECT count(*) FROM episodes WHERE participant_id = '{}'",
        app.org.participant_id
    );
    assert_eq!(app.count(&sql).await, 1);
    let again = problem(app.post(&path, Some(&app.org.coach), &body).await, 409).await;
    assert!(again["detail"].as_str().unwrap().contains("open episode"));
    let list = ok_json(app.get(&path, &app.org.coach).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn dates_out_of_order_or_in_the_future_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let day = today(&app).await;
    let path = format!("/participants/{}/episodes", app.org.participant_id);
    let future = json!({"started_on": days(day, 1)});
    let refused = problem(
        app.post(&path, Some(&app.org.supervisor), &future).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["started_on"]);
    let long = json!({"started_on": days(day, -1), "grant_id": "x".repeat(101)});
    let refused = problem(app.post(&path, Some(&app.org.supervisor), &long).await, 422).await;
    assert_eq!(error_fields(&refused), ["grant_id"]);
    let episode = open(&app, &days(day, -10)).await;
    let id = episode["id"].as_str().unwrap();
    let close = format!("/episodes/{id}/close");
    for (ended_on, reason) in [
        (days(day, -10), "completed"),
        (days(day, -11), "completed"),
        (days(day, 1), "completed"),
    ] {
        let body = json!({"ended_on": ended_on, "reason": reason});
        let refused = problem(app.post(&close, Some(&app.org.coach), &body).await, 422).await;
        assert_eq!(error_fields(&refused), ["ended_on"], "{ended_on}");
    }
    let unknown = json!({"ended_on": days(day, -1), "reason": "bored"});
    problem(app.post(&close, Some(&app.org.coach), &unknown).await, 422).await;
    let sql = format!("SELECT count(*) FROM episodes WHERE id = '{id}' AND ended_on IS NULL");
    assert_eq!(app.count(&sql).await, 1);
    // Closed once; a second close is 409; a re-enrolment may not start before the end.
    let body = json!({"ended_on": days(day, -2), "reason": "disengaged", "note": "moved away"});
    let closed = ok_json(app.post(&close, Some(&app.org.coach), &body).await).await;
    assert_eq!(closed["end_reason"], "disengaged");
    problem(app.post(&close, Some(&app.org.coach), &body).await, 409).await;
    let early = json!({"started_on": days(day, -3)});
    let refused = problem(
        app.post(&path, Some(&app.org.supervisor), &early).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["started_on"]);
    // Re-enrolment after the closeout: a new episode with a new baseline.
    let second = open(&app, &days(day, -2)).await;
    let points = schedule(&app, second["id"].as_str().unwrap()).await;
    assert_eq!(points["points"][0]["point"], "baseline");
    assert_eq!(points["points"][0]["state"], "open");
    let first = schedule(&app, id).await;
    let names: Vec<String> = states(&first).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.last().unwrap(), "closeout");
}

#[tokio::test]
async fn intake_opens_the_first_episode_and_discharge_closes_it() {
    let app = TestApp::spawn().await;
    let day = today(&app).await;
    let body = json!({"first_name": "Sam", "last_name": "Reyes", "intake_date": days(day, -4)});
    let made = created_json(
        app.post("/participants", Some(&app.org.supervisor), &body)
            .await,
    )
    .await;
    let id = made["id"].as_str().unwrap();
    let list = ok_json(
        app.get(&format!("/participants/{id}/episodes"), &app.org.admin)
            .await,
    )
    .await;
    let episode = &list["items"][0];
    assert_eq!(episode["started_on"], days(day, -4));
    assert!(episode["ended_on"].is_null());
    let discharge = json!({"status": "discharged", "reason": "Completed the program"});
    let path = format!("/participants/{id}/status");
    ok_json(app.post(&path, Some(&app.org.supervisor), &discharge).await).await;
    let list = ok_json(
        app.get(&format!("/participants/{id}/episodes"), &app.org.admin)
            .await,
    )
    .await;
    let episode = &list["items"][0];
    assert_eq!(episode["ended_on"], day.to_string());
    assert_eq!(episode["end_reason"], "other");
    assert_eq!(episode["end_note"], "Discharged: Completed the program");
    // A discharged participant gets no new episode until readmitted.
    let path = format!("/participants/{id}/episodes");
    let body = json!({"started_on": day.to_string()});
    let refused = problem(app.post(&path, Some(&app.org.supervisor), &body).await, 409).await;
    assert!(refused["type"]
        .as_str()
        .unwrap()
        .ends_with("participant-discharged"));
    // Without an intake date, no episode.
    let body = json!({"first_name": "Kai", "last_name": "Moss"});
    let made = created_json(
        app.post("/participants", Some(&app.org.supervisor), &body)
            .await,
    )
    .await;
    let sql = format!(
        "SELECT count(*) FROM episodes WHERE participant_id = '{}'",
        made["id"].as_str().unwrap()
    );
    assert_eq!(app.count(&sql).await, 0);
}

#[tokio::test]
async fn interviews_fill_the_schedule_within_their_windows() {
    let app = TestApp::spawn().await;
    let day = today(&app).await;
    // Started 30 days ago: the baseline window closes today and is still open.
    let episode = open(&app, &days(day, -30)).await;
    let id = episode["id"].as_str().unwrap();
    let before = schedule(&app, id).await;
    assert_eq!(before["today"], day.to_string());
    assert_eq!(before["time_zone"], "UTC");
    let baseline = &before["points"][0];
    assert_eq!(baseline["window_closes"], day.to_string());
    assert_eq!(baseline["state"], "open");
    // Not a point, in the future, before the start, outside the window: 422, nothing written.
    let cases = [
        (
            json!({"point": "annual_9", "conducted_on": day.to_string(), "mode": "phone"}),
            "point",
        ),
        (
            json!({"point": "baseline", "conducted_on": days(day, 1), "mode": "phone"}),
            "conducted_on",
        ),
        (
            json!({"point": "baseline", "conducted_on": days(day, -31), "mode": "phone"}),
            "conducted_on",
        ),
        (
            json!({"point": "reassessment_6m", "conducted_on": day.to_string(), "mode": "phone"}),
            "conducted_on",
        ),
    ];
    for (body, field) in cases {
        let refused = problem(interview(&app, id, body.clone()).await, 422).await;
        assert_eq!(error_fields(&refused), [field], "{body}");
    }
    // An assessment of another participant cannot be linked.
    let other = app.participant_of(&app.org.coach).await;
    let theirs = Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO assessments (id, organization_id, participant_id, instrument, answers,
             total, taken_at, submitted_by, submitted_by_user_id)
         VALUES ('{theirs}', '{}', '{}', 'barc10', '{{6,6,6,6,6,6,6,6,6,6}}', 60, now(),
             'staff', '{}')",
        app.org.id, other.id, app.org.coach.id
    ))
    .await
    .unwrap();
    let linked = json!({"point": "baseline", "conducted_on": day.to_string(), "mode": "phone",
                        "assessment_id": theirs});
    let refused = problem(interview(&app, id, linked).await, 422).await;
    assert_eq!(error_fields(&refused), ["assessment_id"]);
    let sql = format!("SELECT count(*) FROM episode_interviews WHERE episode_id = '{id}'");
    assert_eq!(app.count(&sql).await, 0);
    // The baseline today, declined: done all the same; a second one is 409.
    let body = json!({"point": "baseline", "conducted_on": day.to_string(), "mode": "in_person",
                      "declined": true, "conducted_by_name": "Rosa Diaz"});
    let recorded = created_json(interview(&app, id, body.clone()).await).await;
    assert_eq!(recorded["declined"], true);
    problem(interview(&app, id, body).await, 409).await;
    let after = schedule(&app, id).await;
    assert_eq!(after["points"][0]["state"], "done");
    assert_eq!(after["points"][0]["interview"]["id"], recorded["id"]);
    // The reassessment now counts from today's baseline; early, it needs a late_reason.
    let reassessment = &after["points"][1];
    assert_eq!(reassessment["due"], days(day, 180));
    let early = json!({"point": "reassessment_6m", "conducted_on": day.to_string(),
                       "mode": "video", "late_reason": "Moving out of state next week"});
    created_json(interview(&app, id, early).await).await;
    assert_eq!(app.count(&sql).await, 2);
}

#[tokio::test]
async fn a_closeout_on_the_day_a_window_opens_keeps_that_point_and_cancels_the_rest() {
    let app = TestApp::spawn().await;
    let day = today(&app).await;
    let episode = open(&app, &days(day, -160)).await;
    let id = episode["id"].as_str().unwrap();
    let baseline = json!({"point": "baseline", "conducted_on": days(day, -160), "mode": "phone"});
    created_json(interview(&app, id, baseline).await).await;
    // The reassessment is due in 20 days; its window opened 10 days ago: close on that day.
    let close = json!({"ended_on": days(day, -10), "reason": "transferred"});
    ok_json(
        app.post(
            &format!("/episodes/{id}/close"),
            Some(&app.org.coach),
            &close,
        )
        .await,
    )
    .await;
    let after = schedule(&app, id).await;
    let expected = [
        ("baseline", "done"),
        ("reassessment_6m", "open"),
        ("annual_1", "not_required"),
        ("closeout", "open"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(states(&after), expected);
    assert_eq!(after["points"][1]["window_opens"], days(day, -10));
    let cancelled = json!({"point": "annual_1", "conducted_on": day.to_string(), "mode": "phone",
                           "late_reason": "asked"});
    problem(interview(&app, id, cancelled).await, 409).await;
    let closeout = json!({"point": "closeout", "conducted_on": day.to_string(), "mode": "phone"});
    created_json(interview(&app, id, closeout).await).await;
    let after = schedule(&app, id).await;
    assert_eq!(after["points"][3]["state"], "done");
}

#[tokio::test]
async fn the_organizations_time_zone_decides_today() {
    let app = TestApp::spawn().await;
    let refused = app
        .patch(
            "/organization",
            &app.org.admin,
            &json!({"time_zone": "Mars/Olympus_Mons"}),
        )
        .await;
    assert_eq!(error_fields(&problem(refused, 422).await), ["time_zone"]);
    let supervisor = app
        .patch(
            "/organization",
            &app.org.supervisor,
            &json!({"time_zone": "UTC"}),
        )
        .await;
    problem(supervisor, 403).await;
    problem(app.get("/organization", &app.org.participant).await, 403).await;
    problem(app.get("/organization", &app.org.client).await, 403).await;
    let clinic = app
        .patch(
            "/organization",
            &app.org.client,
            &json!({"time_zone": "UTC"}),
        )
        .await;
    problem(clinic, 403).await;
    let seen = ok_json(app.get("/organization", &app.org.coach).await).await;
    assert_eq!(seen["id"], app.org.id.to_string());
    for zone in ["Pacific/Kiritimati", "Pacific/Pago_Pago"] {
        let set = app
            .patch("/organization", &app.org.admin, &json!({"time_zone": zone}))
            .await;
        let organization = ok_json(set).await;
        assert_eq!(organization["time_zone"], zone);
        let sql = format!(
            "SELECT count(*) FROM organizations WHERE id = '{}'
             AND (now() AT TIME ZONE '{zone}')::date = '{}'",
            app.org.id,
            organization["today"].as_str().unwrap()
        );
        assert_eq!(app.count(&sql).await, 1, "{zone}");
    }
    // UTC+14 and UTC-11 are never on the same date: the two zones gave two different todays.
    let other = ok_json(app.get("/organization", &app.other_org.admin).await).await;
    assert_eq!(other["time_zone"], "UTC");
}

#[tokio::test]
async fn two_interviews_for_one_point_at_once_record_one() {
    let app = TestApp::spawn().await;
    let day = today(&app).await;
    let episode = open(&app, &days(day, -3)).await;
    let id = episode["id"].as_str().unwrap();
    let body = json!({"point": "baseline", "conducted_on": day.to_string(), "mode": "phone"});
    let (a, b) = tokio::join!(
        interview(&app, id, body.clone()),
        interview(&app, id, body.clone())
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let sql = format!("SELECT count(*) FROM episode_interviews WHERE episode_id = '{id}'");
    assert_eq!(app.count(&sql).await, 1);
}
