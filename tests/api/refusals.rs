//! The authorization matrix: for every caseload endpoint, each caller who must be refused is
//! refused with the status the contract names, and none of the refused requests changes
//! anything.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{problem, send, Caller, TestApp};

struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
}

impl Case {
    fn new(method: Method, path: String, body: Option<Value>) -> Self {
        Self { method, path, body }
    }
}

async fn expect(app: &TestApp, case: &Case, caller: &dyn Caller, status: u16) {
    let mut request = app.request(case.method.clone(), &case.path, Some(caller));
    if let Some(body) = &case.body {
        request = request.json(body);
    }
    let response = send(request).await;
    if response.status().as_u16() != status {
        panic!(
            "{} {}: expected {status}, got {}",
            case.method,
            case.path,
            response.status()
        );
    }
    problem(response, status).await;
}

#[tokio::test]
async fn every_caseload_endpoint_refuses_the_callers_it_must() {
    let app = TestApp::spawn().await;
    let (org, other) = (&app.org, &app.other_org);
    let participant = format!("/participants/{}", org.participant_id);
    let pairing = format!("/pairings/{}", org.pairing_id);
    let coach = format!("/coaches/{}", org.coach.id);
    let status = json!({"status": "inactive", "reason": "refusal test"});
    let login = json!({"email": "refused@example.org", "password": "a long enough password"});

    let before_participant =
        crate::helpers::json(app.get(&participant, &org.supervisor).await).await;
    let before_pairing = crate::helpers::json(app.get(&pairing, &org.supervisor).await).await;
    let before_coach = crate::helpers::json(app.get(&coach, &org.supervisor).await).await;

    // Endpoints a coach may use within their caseload: another coach and other organizations
    // get 404, participants (where the role may never act) and clinic clients 403.
    let scoped = [
        (Case::new(Method::GET, participant.clone(), None), false),
        (
            Case::new(
                Method::PATCH,
                participant.clone(),
                Some(json!({"pronouns": "x"})),
            ),
            true,
        ),
        (
            Case::new(
                Method::POST,
                format!("{participant}/status"),
                Some(status.clone()),
            ),
            true,
        ),
        (
            Case::new(
                Method::POST,
                format!("{participant}/portal-account"),
                Some(login.clone()),
            ),
            true,
        ),
        (Case::new(Method::GET, pairing.clone(), None), false),
        (Case::new(Method::GET, coach.clone(), None), true),
        (
            Case::new(Method::PATCH, coach.clone(), Some(json!({"bio": "x"}))),
            true,
        ),
        (
            Case::new(Method::GET, format!("{coach}/caseload"), None),
            true,
        ),
    ];
    for (case, participants_refused) in &scoped {
        expect(&app, case, &org.other_coach, 404).await;
        for outsider in [&other.admin, &other.supervisor, &other.coach] {
            expect(&app, case, outsider, 404).await;
        }
        let participant_status = if *participants_refused { 403 } else { 404 };
        expect(&app, case, &other.participant, participant_status).await;
        expect(&app, case, &org.client, 403).await;
        expect(&app, case, &other.client, 403).await;
    }

    // Supervisor-only endpoints: coaches, participants and clients are refused by role;
    // other organizations cannot see the objects.
    let supervised = [
        (
            Case::new(
                Method::GET,
                format!("{participant}/match-suggestions"),
                None,
            ),
            404,
        ),
        (
            Case::new(
                Method::POST,
                format!("{pairing}/status"),
                Some(json!({"status": "paused"})),
            ),
            404,
        ),
        (
            Case::new(
                Method::POST,
                "/pairings/reassign".into(),
                Some(
                    json!({"from_coach_id": org.coach.id, "to_coach_id": org.other_coach.id, "reason": "x"}),
                ),
            ),
            404,
        ),
        (
            Case::new(
                Method::POST,
                "/pairings".into(),
                Some(json!({"participant_id": org.participant_id, "coach_id": org.other_coach.id})),
            ),
            422,
        ),
        (Case::new(Method::GET, "/coaches".into(), None), 0),
    ];
    for (case, outsider_status) in &supervised {
        for caller in [&org.coach, &org.other_coach, &org.participant] {
            expect(&app, case, caller, 403).await;
        }
        expect(&app, case, &org.client, 403).await;
        if *outsider_status != 0 {
            expect(&app, case, &other.admin, *outsider_status).await;
            expect(&app, case, &other.supervisor, *outsider_status).await;
        }
    }

    // Lists: clients are refused; everyone else gets only their scope (see the list tests).
    for path in ["/participants", "/pairings", "/audit-events"] {
        expect(
            &app,
            &Case::new(Method::GET, path.into(), None),
            &org.client,
            403,
        )
        .await;
    }
    for caller in [&org.supervisor, &org.coach, &org.participant] {
        expect(
            &app,
            &Case::new(Method::GET, "/audit-events".into(), None),
            caller,
            403,
        )
        .await;
        expect(
            &app,
            &Case::new(Method::GET, "/audit-events/verify".into(), None),
            caller,
            403,
        )
        .await;
    }

    let after_participant =
        crate::helpers::json(app.get(&participant, &org.supervisor).await).await;
    let after_pairing = crate::helpers::json(app.get(&pairing, &org.supervisor).await).await;
    let after_coach = crate::helpers::json(app.get(&coach, &org.supervisor).await).await;
    assert_eq!(before_participant, after_participant);
    assert_eq!(before_pairing, after_pairing);
    assert_eq!(before_coach, after_coach);
}
