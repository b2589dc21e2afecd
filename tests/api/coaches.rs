use serde_json::json;

use crate::helpers::{error_fields, ids, json, ok_json, problem, TestApp};

#[tokio::test]
async fn admins_and_supervisors_list_the_organizations_coaches_with_their_load() {
    let app = TestApp::spawn().await;
    for caller in [&app.org.admin, &app.org.supervisor] {
        let page = ok_json(app.get("/coaches", caller).await).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let coach = items
            .iter()
            .find(|c| c["id"] == app.org.coach.id.to_string())
            .unwrap();
        assert_eq!(coach["current_caseload"], 1);
        assert_eq!(coach["max_caseload"], 25);
        assert_eq!(coach["accepting_new"], true);
    }
}

#[tokio::test]
async fn the_language_filter_keeps_only_the_coaches_who_speak_it() {
    let app = TestApp::spawn().await;
    let speaker = app.coach().await;
    let languages = json!({"languages": ["en", "es"]});
    let path = format!("/coaches/{}", speaker.id);
    ok_json(app.patch(&path, &app.org.supervisor, &languages).await).await;
    let outsider = app.coach_in(&app.other_org).await;
    let path = format!("/coaches/{}", outsider.id);
    ok_json(
        app.patch(&path, &app.other_org.supervisor, &languages)
            .await,
    )
    .await;

    let everyone = ids(&ok_json(app.get("/coaches", &app.org.admin).await).await);
    assert_eq!(everyone.len(), 3);
    let spanish = ids(&ok_json(app.get("/coaches?language=es", &app.org.admin).await).await);
    assert_eq!(spanish, vec![speaker.id.to_string()]);
    let french = ids(&ok_json(app.get("/coaches?language=fr", &app.org.admin).await).await);
    assert!(french.is_empty());
}

#[tokio::test]
async fn a_new_coach_account_gets_a_profile() {
    let app = TestApp::spawn().await;
    let response = app
        .post("/users", Some(&app.org.admin), &json!({"email": "new.coach@example.org", "display_name": "New Coach", "role": "coach", "password": "a long enough password"}))
        .await;
    let user = json(response).await;
    let profile = app
        .get(
            &format!("/coaches/{}", user["id"].as_str().unwrap()),
            &app.org.supervisor,
        )
        .await;
    assert_eq!(profile.status(), 200);
    let profile = json(profile).await;
    assert_eq!(profile["max_caseload"], 25);
    assert_eq!(profile["current_caseload"], 0);
}

#[tokio::test]
async fn a_coach_reads_and_edits_their_own_profile() {
    let app = TestApp::spawn().await;
    let own = format!("/coaches/{}", app.org.coach.id);
    assert_eq!(app.get(&own, &app.org.coach).await.status(), 200);
    let updated = app
        .patch(&own, &app.org.coach, &json!({"languages": ["en", "es"], "lived_experience": ["alcohol"], "bio": "Ten years in recovery."}))
        .await;
    assert_eq!(updated.status(), 200);
    let body = json(updated).await;
    assert_eq!(body["languages"], json!(["en", "es"]));
    assert_eq!(body["bio"], "Ten years in recovery.");
}

#[tokio::test]
async fn only_admins_and_supervisors_change_a_coachs_capacity() {
    let app = TestApp::spawn().await;
    let own = format!("/coaches/{}", app.org.coach.id);
    let refused = problem(
        app.patch(&own, &app.org.coach, &json!({"max_caseload": 99}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), vec!["max_caseload"]);
    let raised = json(
        app.patch(&own, &app.org.supervisor, &json!({"max_caseload": 30}))
            .await,
    )
    .await;
    assert_eq!(raised["max_caseload"], 30);
}

#[tokio::test]
async fn coach_profile_changes_are_validated() {
    let app = TestApp::spawn().await;
    let own = format!("/coaches/{}", app.org.coach.id);
    problem(
        app.patch(&own, &app.org.supervisor, &json!({"max_caseload": -1}))
            .await,
        422,
    )
    .await;
    problem(
        app.patch(
            &own,
            &app.org.supervisor,
            &json!({"languages": ["not a language"]}),
        )
        .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn another_organizations_admin_cannot_change_a_coachs_capacity() {
    let app = TestApp::spawn().await;
    let own = format!("/coaches/{}", app.org.coach.id);
    problem(
        app.patch(&own, &app.other_org.admin, &json!({"max_caseload": 1}))
            .await,
        404,
    )
    .await;
    let coach = ok_json(app.get(&own, &app.org.supervisor).await).await;
    assert_eq!(coach["max_caseload"], 25);
}

#[tokio::test]
async fn users_who_are_not_coaches_have_no_coach_profile() {
    let app = TestApp::spawn().await;
    problem(
        app.get(
            &format!("/coaches/{}", app.org.supervisor.id),
            &app.org.admin,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn a_caseload_lists_current_participants_for_the_coach_and_their_supervisors() {
    let app = TestApp::spawn().await;
    let path = format!("/coaches/{}/caseload", app.org.coach.id);
    for caller in [&app.org.coach, &app.org.supervisor, &app.org.admin] {
        let response = app.get(&path, caller).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let page = json(response).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0]["participant_id"],
            app.org.participant_id.to_string()
        );
        assert_eq!(items[0]["pairing_status"], "active");
        assert!(items[0]["last_contact_at"].is_null());
        assert_eq!(items[0]["open_goal_count"], 0);
        assert!(items[0]["next_follow_up_due"].is_null());
    }
    problem(app.get(&path, &app.org.other_coach).await, 404).await;
    problem(app.get(&path, &app.other_org.supervisor).await, 404).await;
    problem(app.get(&path, &app.other_org.admin).await, 404).await;
    problem(app.get(&path, &app.org.participant).await, 403).await;
    problem(app.get(&path, &app.org.client).await, 403).await;
    problem(
        app.get(&format!("{path}?limit=0"), &app.org.coach).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn a_caseload_drops_a_participant_once_the_pairing_ends() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let staying = app.participant_of(&coach).await;
    let leaving = app.participant_of(&coach).await;
    let path = format!("/coaches/{}/caseload", coach.id);
    let caseload = |page: &serde_json::Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["participant_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = ok_json(app.get(&path, &coach).await).await;
    assert_eq!(
        caseload(&before),
        vec![staying.id.to_string(), leaving.id.to_string()]
    );
    app.end_pairing(leaving.pairing_id).await;
    let after = ok_json(app.get(&path, &coach).await).await;
    assert_eq!(caseload(&after), vec![staying.id.to_string()]);
    let profile = ok_json(app.get(&format!("/coaches/{}", coach.id), &coach).await).await;
    assert_eq!(profile["current_caseload"], 1);
}
