use serde_json::{json, Value};

use crate::helpers::{error_fields, ids, json, ok_json, problem, TestApp};

async fn unassigned_participant(app: &TestApp, name: &str) -> String {
    let response = app
        .post(
            "/participants",
            Some(&app.org.supervisor),
            &json!({"first_name": name, "last_name": "Queue"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    json(response).await["id"].as_str().unwrap().to_owned()
}

async fn current_pairings(app: &TestApp, coach: uuid::Uuid) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use tandem::db::schema::pairings::dsl::*;
    let mut conn = app.conn().await;
    pairings
        .filter(coach_id.eq(coach))
        .filter(status.ne("ended"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

fn pairing(participant: &str, coach: uuid::Uuid) -> Value {
    json!({"participant_id": participant, "coach_id": coach, "reason": "good fit"})
}

#[tokio::test]
async fn a_supervisor_pairs_a_participant_and_the_history_starts() {
    let app = TestApp::spawn().await;
    let participant = unassigned_participant(&app, "Ava").await;
    let response = app
        .post(
            "/pairings",
            Some(&app.org.supervisor),
            &pairing(&participant, app.org.other_coach.id),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body = json(response).await;
    assert_eq!(
        location,
        format!("/api/v1/pairings/{}", body["id"].as_str().unwrap())
    );
    assert_eq!(body["status"], "active");
    assert!(body["started_at"].is_string());
    assert_eq!(body["history"][0]["to"], "active");
    assert!(body["history"][0]["from"].is_null());
    assert_eq!(body["history"][0]["reason"], "good fit");
    assert_eq!(
        body["history"][0]["actor_id"],
        app.org.supervisor.id.to_string()
    );

    // The coach now sees the participant.
    assert_eq!(
        app.get(
            &format!("/participants/{participant}"),
            &app.org.other_coach
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn only_admins_and_supervisors_make_pairings() {
    let app = TestApp::spawn().await;
    let participant = unassigned_participant(&app, "Ava").await;
    let body = pairing(&participant, app.org.coach.id);
    problem(
        app.post("/pairings", Some(&app.org.coach), &body).await,
        403,
    )
    .await;
    problem(
        app.post("/pairings", Some(&app.org.participant), &body)
            .await,
        403,
    )
    .await;
    problem(
        app.post("/pairings", Some(&app.org.client), &body).await,
        403,
    )
    .await;
    // Another organization's supervisor cannot even name our participant.
    let outsider = problem(
        app.post(
            "/pairings",
            Some(&app.other_org.supervisor),
            &pairing(&participant, app.other_org.coach.id),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&outsider), vec!["participant_id"]);
    assert_eq!(current_pairings(&app, app.org.coach.id).await, 1);
    assert_eq!(current_pairings(&app, app.other_org.coach.id).await, 1);
}

#[tokio::test]
async fn unknown_ids_are_422_naming_the_field_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let participant = unassigned_participant(&app, "Ava").await;
    let unknown = uuid::Uuid::now_v7();
    let body = problem(
        app.post(
            "/pairings",
            Some(&app.org.supervisor),
            &pairing(&unknown.to_string(), app.org.coach.id),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["participant_id"]);
    let body = problem(
        app.post(
            "/pairings",
            Some(&app.org.supervisor),
            &pairing(&participant, unknown),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["coach_id"]);
    let body = problem(
        app.post(
            "/pairings",
            Some(&app.org.supervisor),
            &pairing(&participant, app.other_org.coach.id),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["coach_id"]);
    let body = problem(
        app.post(
            "/pairings",
            Some(&app.org.supervisor),
            &pairing(&participant, app.org.supervisor.id),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["coach_id"]);
    let body = problem(app.post("/pairings", Some(&app.org.supervisor), &json!({"participant_id": participant, "coach_id": app.org.coach.id, "status": "ended"})).await, 422).await;
    assert_eq!(error_fields(&body), vec!["status"]);
    let queue = json(
        app.get("/participants?unassigned=true", &app.org.supervisor)
            .await,
    )
    .await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_participant_with_a_current_pairing_cannot_get_a_second() {
    let app = TestApp::spawn().await;
    let body = pairing(&app.org.participant_id.to_string(), app.org.other_coach.id);
    problem(
        app.post("/pairings", Some(&app.org.supervisor), &body)
            .await,
        409,
    )
    .await;
    assert_eq!(current_pairings(&app, app.org.other_coach.id).await, 0);
}

#[tokio::test]
async fn ten_concurrent_pairings_for_one_participant_yield_exactly_one() {
    let app = TestApp::spawn().await;
    let participant = unassigned_participant(&app, "Ava").await;
    let coaches = [app.org.coach.id, app.org.other_coach.id];
    let requests = (0..10).map(|n| {
        let body = pairing(&participant, coaches[n % 2]);
        let app = &app;
        async move {
            app.post("/pairings", Some(&app.org.supervisor), &body)
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(requests).await;
    statuses.sort();
    assert_eq!(
        statuses,
        vec![201, 409, 409, 409, 409, 409, 409, 409, 409, 409]
    );
    let mine = json(
        app.get(
            &format!("/pairings?participant_id={participant}"),
            &app.org.supervisor,
        )
        .await,
    )
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn parallel_pairings_never_push_a_coach_past_capacity() {
    let app = TestApp::spawn().await;
    app.sql(&format!(
        "UPDATE coach_profiles SET max_caseload = 4 WHERE user_id = '{}'",
        app.org.other_coach.id
    ))
    .await
    .unwrap();
    let mut participants = Vec::new();
    for n in 0..10 {
        participants.push(unassigned_participant(&app, &format!("P{n}")).await);
    }
    let requests = participants.iter().map(|participant| {
        let body = pairing(participant, app.org.other_coach.id);
        let app = &app;
        async move {
            app.post("/pairings", Some(&app.org.supervisor), &body)
                .await
        }
    });
    let responses = futures_util::future::join_all(requests).await;
    let created = responses.iter().filter(|r| r.status() == 201).count();
    let full = responses.iter().filter(|r| r.status() == 409).count();
    assert_eq!((created, full), (4, 6));
    assert_eq!(current_pairings(&app, app.org.other_coach.id).await, 4);
    let coach = json(
        app.get(
            &format!("/coaches/{}", app.org.other_coach.id),
            &app.org.supervisor,
        )
        .await,
    )
    .await;
    assert_eq!(coach["current_caseload"], 4);
}

async fn move_pairing(app: &TestApp, status: &str, reason: Option<&str>) -> reqwest::Response {
    app.post(
        &format!("/pairings/{}/status", app.org.pairing_id),
        Some(&app.org.supervisor),
        &json!({"status": status, "reason": reason}),
    )
    .await
}

#[tokio::test]
async fn a_paused_pairing_is_still_current_so_the_coach_keeps_the_participant() {
    let app = TestApp::spawn().await;
    let paused = ok_json(move_pairing(&app, "paused", Some("in treatment")).await).await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(
        app.get(
            &format!("/participants/{}", app.org.participant_id),
            &app.org.coach
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn a_forbidden_pairing_move_is_409_naming_the_allowed_ones() {
    let app = TestApp::spawn().await;
    ok_json(move_pairing(&app, "paused", Some("in treatment")).await).await;
    let refused = problem(move_pairing(&app, "proposed", None).await, 409).await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("`paused`") && detail.contains("`active`") && detail.contains("`ended`"),
        "{detail}"
    );
}

#[tokio::test]
async fn ending_a_pairing_needs_a_reason_and_a_known_status() {
    let app = TestApp::spawn().await;
    let body = problem(move_pairing(&app, "ended", None).await, 422).await;
    assert_eq!(error_fields(&body), vec!["reason"]);
    problem(move_pairing(&app, "finished", Some("x")).await, 422).await;
    let pairing = format!("/pairings/{}", app.org.pairing_id);
    assert_eq!(
        ok_json(app.get(&pairing, &app.org.supervisor).await).await["status"],
        "active"
    );
}

#[tokio::test]
async fn an_ended_pairing_is_final_and_keeps_its_history() {
    let app = TestApp::spawn().await;
    ok_json(move_pairing(&app, "paused", Some("in treatment")).await).await;
    let ended = ok_json(move_pairing(&app, "ended", Some("moved to another county")).await).await;
    assert_eq!(ended["status"], "ended");
    assert!(ended["ended_at"].is_string());
    let moves: Vec<&str> = ended["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(moves, vec!["paused", "ended"]);
    let refused = problem(move_pairing(&app, "active", None).await, 409).await;
    assert!(refused["detail"].as_str().unwrap().contains("final"));
}

#[tokio::test]
async fn once_a_pairing_ends_the_coach_loses_the_participant_and_the_pairing() {
    let app = TestApp::spawn().await;
    ok_json(move_pairing(&app, "ended", Some("moved to another county")).await).await;
    problem(
        app.get(
            &format!("/participants/{}", app.org.participant_id),
            &app.org.coach,
        )
        .await,
        404,
    )
    .await;
    problem(
        app.get(&format!("/pairings/{}", app.org.pairing_id), &app.org.coach)
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn pairings_are_read_within_scope() {
    let app = TestApp::spawn().await;
    let path = format!("/pairings/{}", app.org.pairing_id);
    for caller in [
        &app.org.admin,
        &app.org.supervisor,
        &app.org.coach,
        &app.org.participant,
    ] {
        assert_eq!(app.get(&path, caller).await.status(), 200);
    }
    for caller in [
        &app.org.other_coach,
        &app.other_org.admin,
        &app.other_org.participant,
    ] {
        problem(app.get(&path, caller).await, 404).await;
    }
    problem(app.get(&path, &app.org.client).await, 403).await;
    problem(app.get("/pairings", &app.org.client).await, 403).await;
}

#[tokio::test]
async fn pairings_are_listed_within_scope_and_filtered() {
    let app = TestApp::spawn().await;
    let seeded = app.org.pairing_id.to_string();
    let former = app.former_coach_of(&app.org.participant_record()).await;
    let ended = ids(&ok_json(
        app.get(
            &format!("/pairings?coach_id={}", former.id),
            &app.org.supervisor,
        )
        .await,
    )
    .await);
    let elsewhere = app.participant_of(&app.org.other_coach).await;

    let mine = ok_json(app.get("/pairings", &app.org.coach).await).await;
    assert_eq!(ids(&mine), vec![seeded.clone()]);
    let theirs = ok_json(app.get("/pairings", &app.org.other_coach).await).await;
    assert_eq!(ids(&theirs), vec![elsewhere.pairing_id.to_string()]);
    assert!(ids(&ok_json(app.get("/pairings", &former).await).await).is_empty());
    let outsider = json(app.get("/pairings", &app.other_org.supervisor).await).await;
    assert_eq!(ids(&outsider), vec![app.other_org.pairing_id.to_string()]);

    let filtered = ok_json(
        app.get(
            &format!("/pairings?coach_id={}&status=active", app.org.coach.id),
            &app.org.supervisor,
        )
        .await,
    )
    .await;
    assert_eq!(ids(&filtered), vec![seeded]);
    let over = ok_json(app.get("/pairings?status=ended", &app.org.supervisor).await).await;
    assert_eq!(ids(&over), ended);
    assert_eq!(ended.len(), 1);
    problem(
        app.get("/pairings?status=over", &app.org.supervisor).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn reassign_moves_a_caseload_and_reports_what_it_skipped() {
    let app = TestApp::spawn().await;
    let mut on_caseload = vec![app.org.participant_id.to_string()];
    for _ in 0..3 {
        on_caseload.push(app.participant_of(&app.org.coach).await.id.to_string());
    }
    app.sql(&format!(
        "UPDATE coach_profiles SET max_caseload = 3 WHERE user_id = '{}'",
        app.org.other_coach.id
    ))
    .await
    .unwrap();
    let not_paired = unassigned_participant(&app, "Loose").await;
    let mut listed = on_caseload.clone();
    listed.push(not_paired.clone());
    let body = json!({
        "from_coach_id": app.org.coach.id, "to_coach_id": app.org.other_coach.id,
        "participant_ids": listed, "reason": "coach on leave"
    });
    let outcome = ok_json(
        app.post("/pairings/reassign", Some(&app.org.supervisor), &body)
            .await,
    )
    .await;
    let moved: Vec<String> = outcome["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["participant_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(moved.len(), 3);
    let skipped: Vec<(String, String)> = outcome["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["participant_id"].as_str().unwrap().to_owned(),
                s["why"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(skipped.len(), 2);
    assert!(skipped.contains(&(not_paired, "not current".to_owned())));
    // The one left behind is the fourth of the caseload, for want of a place.
    let left: Vec<&String> = on_caseload.iter().filter(|p| !moved.contains(p)).collect();
    assert_eq!(left.len(), 1);
    assert!(skipped.contains(&(left[0].clone(), "target at capacity".to_owned())));
    assert_eq!(current_pairings(&app, app.org.other_coach.id).await, 3);
    assert_eq!(current_pairings(&app, app.org.coach.id).await, 1);
    let new_pairing = outcome["moved"][0]["to_pairing_id"].as_str().unwrap();
    let read = ok_json(
        app.get(&format!("/pairings/{new_pairing}"), &app.org.other_coach)
            .await,
    )
    .await;
    assert_eq!(read["history"][0]["reason"], "coach on leave");
}

#[tokio::test]
async fn reassigning_to_a_coach_of_another_organization_is_404_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let body = json!({"from_coach_id": app.org.coach.id, "to_coach_id": app.other_org.coach.id, "reason": "x"});
    problem(
        app.post("/pairings/reassign", Some(&app.org.supervisor), &body)
            .await,
        404,
    )
    .await;
    let body = json!({"from_coach_id": app.other_org.coach.id, "to_coach_id": app.org.coach.id, "reason": "x"});
    problem(
        app.post("/pairings/reassign", Some(&app.org.supervisor), &body)
            .await,
        404,
    )
    .await;
    assert_eq!(current_pairings(&app, app.org.coach.id).await, 1);
    assert_eq!(current_pairings(&app, app.other_org.coach.id).await, 1);
    let same =
        json!({"from_coach_id": app.org.coach.id, "to_coach_id": app.org.coach.id, "reason": "x"});
    let body = problem(
        app.post("/pairings/reassign", Some(&app.org.supervisor), &same)
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["to_coach_id"]);
    let no_reason =
        json!({"from_coach_id": app.org.coach.id, "to_coach_id": app.org.other_coach.id});
    let body = problem(
        app.post("/pairings/reassign", Some(&app.org.supervisor), &no_reason)
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), vec!["reason"]);
}

#[tokio::test]
async fn a_discharged_participant_cannot_be_paired() {
    let app = TestApp::spawn().await;
    let participant = unassigned_participant(&app, "Dee").await;
    let response = app
        .post(
            &format!("/participants/{participant}/status"),
            Some(&app.org.supervisor),
            &json!({"status": "discharged", "reason": "done"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    problem(
        app.post(
            "/pairings",
            Some(&app.org.supervisor),
            &pairing(&participant, app.org.other_coach.id),
        )
        .await,
        409,
    )
    .await;
}
