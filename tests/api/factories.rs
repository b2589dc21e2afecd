//! The factories in `helpers.rs` make what they say, as the API sees it, so the tests built on
//! them prove what they claim.

use tandem::auth::Role;

use crate::helpers::{ok_json, problem, RawToken, TestApp};

#[tokio::test]
async fn a_factory_coach_has_a_profile_and_a_working_token() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let me = ok_json(app.get("/me", &coach).await).await;
    assert_eq!(me["role"], "coach");
    assert_eq!(me["organization_id"], app.org.id.to_string());
    let profile = ok_json(app.get(&format!("/coaches/{}", coach.id), &coach).await).await;
    assert_eq!(profile["current_caseload"], 0);

    let outsider = app.coach_in(&app.other_org).await;
    let me = ok_json(app.get("/me", &outsider).await).await;
    assert_eq!(me["organization_id"], app.other_org.id.to_string());
    problem(
        app.get(&format!("/coaches/{}", outsider.id), &app.org.admin)
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn a_factory_participant_is_in_an_active_pairing_with_the_coach() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let participant = app.participant_of(&coach).await;
    let record = ok_json(
        app.get(&format!("/participants/{}", participant.id), &coach)
            .await,
    )
    .await;
    let pairing = &record["current_pairing"];
    assert_eq!(pairing["pairing_id"], participant.pairing_id.to_string());
    assert_eq!(pairing["coach_id"], participant.coach_id.to_string());
    assert_eq!(pairing["coach_id"], coach.id.to_string());
    assert_eq!(pairing["status"], "active");
    assert_eq!(record["has_portal_account"], false);
}

#[tokio::test]
async fn a_factory_portal_user_sees_their_own_record() {
    let app = TestApp::spawn().await;
    let participant = app.participant_of(&app.org.coach).await;
    let user = app.portal_user_of(&participant).await;
    let record = ok_json(
        app.get(&format!("/participants/{}", participant.id), &user)
            .await,
    )
    .await;
    assert_eq!(record["has_portal_account"], true);
    let me = ok_json(app.get("/me", &user).await).await;
    assert_eq!(me["role"], "participant");
}

#[tokio::test]
async fn a_factory_former_coach_has_an_ended_pairing_and_no_access() {
    let app = TestApp::spawn().await;
    let participant = app.org.participant_record();
    let former = app.former_coach_of(&participant).await;
    let pairings = ok_json(
        app.get(
            &format!("/pairings?participant_id={}", participant.id),
            &app.org.supervisor,
        )
        .await,
    )
    .await;
    let ended = &pairings["items"][1];
    assert_eq!(ended["coach_id"], former.id.to_string());
    assert_eq!(ended["status"], "ended");
    let ended = ok_json(
        app.get(
            &format!("/pairings/{}", ended["id"].as_str().unwrap()),
            &app.org.supervisor,
        )
        .await,
    )
    .await;
    let moves: Vec<&str> = ended["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(moves, vec!["active", "ended"]);
    // The participant's current pairing is untouched.
    let record = ok_json(
        app.get(
            &format!("/participants/{}", participant.id),
            &app.org.supervisor,
        )
        .await,
    )
    .await;
    assert_eq!(
        record["current_pairing"]["pairing_id"],
        participant.pairing_id.to_string()
    );
    problem(
        app.get(&format!("/participants/{}", participant.id), &former)
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn a_factory_user_has_the_role_asked_for() {
    let app = TestApp::spawn().await;
    let supervisor = app.user_in(&app.other_org, Role::Supervisor).await;
    let me = ok_json(app.get("/me", &supervisor).await).await;
    assert_eq!(me["role"], "supervisor");
    assert_eq!(me["organization_id"], app.other_org.id.to_string());
}

#[tokio::test]
async fn raw_tokens_are_refused_unless_they_are_the_servers_own() {
    let app = TestApp::spawn().await;
    let user = &app.org.admin;
    assert_eq!(app.get("/me", user).await.status(), 200);
    for token in [
        RawToken::new("not-a-token"),
        RawToken::expired(user),
        RawToken::forged(user),
    ] {
        problem(app.get("/me", &token).await, 401).await;
    }
}
