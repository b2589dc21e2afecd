//! A create answers from what its insert returned, without reading the object back: the
//! answer must be exactly what a read of its `Location` shows, `ETag` included.

use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{json, TestApp, TestUser};

/// The created object's body and `ETag`, and those of a read of its `Location`.
async fn created_and_read(
    app: &TestApp,
    caller: &TestUser,
    created: Response,
) -> [(Value, String); 2] {
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();
    let body = json(created).await;
    let path = location.trim_start_matches("/api/v1");
    let read = app.get(path, caller).await;
    assert_eq!(read.status(), 200, "{location}");
    let read_etag = read.headers()["etag"].to_str().unwrap().to_owned();
    [(body, etag), (json(read).await, read_etag)]
}

#[tokio::test]
async fn a_new_note_goal_and_referral_answer_as_a_read_of_them_does() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let participant = app.participant_of(&coach).await;
    let goal = app
        .post(
            &format!("/participants/{}/goals", participant.id),
            Some(&coach),
            &json!({"title": "Walk daily", "domain": "physical_health", "target_date": "2027-03-01"}),
        )
        .await;
    let [made, read] = created_and_read(&app, &coach, goal).await;
    assert_eq!(made, read);
    assert_eq!(made.0["history"].as_array().unwrap().len(), 1);
    let goal_id = made.0["id"].as_str().unwrap().to_owned();

    let note = app
        .post(
            &format!("/participants/{}/session-notes", participant.id),
            Some(&coach),
            &json!({"session_type": "individual", "occurred_at": "2026-11-30T15:00:00Z",
                    "duration_minutes": 45, "summary": "Check-in", "body": "Went well.",
                    "goal_ids": [goal_id], "mood": 4, "follow_up": "Call Friday",
                    "follow_up_due": "2026-12-11"}),
        )
        .await;
    let [made, read] = created_and_read(&app, &coach, note).await;
    assert_eq!(made, read);
    assert_eq!(made.0["amendments"], json!([]));

    let resource = app.referral_resource(&app.org, None).await;
    let referral = app
        .post(
            "/referrals",
            Some(&coach),
            &json!({"participant_id": participant.id, "resource_id": resource,
                    "reason": "needs MOUD", "urgency": "routine"}),
        )
        .await;
    let [made, read] = created_and_read(&app, &coach, referral).await;
    assert_eq!(made, read);
    assert_eq!(made.0["status"], "draft");
    assert_eq!(
        made.0["participant"]["first_name"],
        read.0["participant"]["first_name"]
    );
}

#[tokio::test]
async fn a_note_or_goal_for_someone_out_of_scope_is_404_and_a_foreign_goal_422() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let mine = app.participant_of(&coach).await;
    let other_coach = app.coach().await;
    let theirs = app.participant_of(&other_coach).await;
    let note = json!({"session_type": "individual", "occurred_at": "2026-11-30T15:00:00Z",
                      "duration_minutes": 45, "summary": "Check-in"});
    let goal_history = "SELECT count(*) FROM status_changes WHERE subject_type = 'goal'";
    let histories = app.count(goal_history).await;
    for path in [
        format!("/participants/{}/session-notes", theirs.id),
        format!("/participants/{}/goals", theirs.id),
    ] {
        let body = if path.ends_with("goals") {
            json!({"title": "Walk daily", "domain": "physical_health"})
        } else {
            note.clone()
        };
        let refused = app.post(&path, Some(&coach), &body).await;
        assert_eq!(refused.status(), 404, "{path}");
    }
    assert_eq!(
        app.count(goal_history).await,
        histories,
        "no first status was kept"
    );
    let their_goal = json(
        app.post(
            &format!("/participants/{}/goals", theirs.id),
            Some(&other_coach),
            &json!({"title": "Theirs", "domain": "housing"}),
        )
        .await,
    )
    .await;
    let mut with_foreign_goal = note.clone();
    with_foreign_goal["goal_ids"] = json!([their_goal["id"]]);
    let refused = app
        .post(
            &format!("/participants/{}/session-notes", mine.id),
            Some(&coach),
            &with_foreign_goal,
        )
        .await;
    let body = crate::helpers::problem(refused, 422).await;
    assert_eq!(crate::helpers::error_fields(&body), vec!["goal_ids"]);
    let notes = app
        .count(&format!(
            "SELECT count(*) FROM session_notes WHERE participant_id = '{}'",
            mine.id
        ))
        .await;
    assert_eq!(notes, 0);
}
