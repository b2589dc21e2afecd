//! Pairings: reading them, changing their status, making them and moving caseloads.

use serde_json::json;

use super::{get, post, run, Cast, Row, ALLOW, HIDDEN, SHOWN};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(app: &TestApp, cast: &Cast) -> Vec<Row> {
    let (p, current, ended) = (app.org.participant_id, app.org.pairing_id, cast.former_pairing_id);
    let former = cast.former_coach.id;
    let pause = json!({"status": "paused", "reason": "refusal test"});
    let pair = json!({"participant_id": p, "coach_id": app.org.other_coach.id});
    let reassign = json!({"from_coach_id": app.org.coach.id, "to_coach_id": app.org.other_coach.id, "reason": "refusal test"});
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get(format!("/pairings/{current}"))         .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("read", "pairing").about(&[current]).audited(),
        get(format!("/pairings/{ended}"))           .expect([SHOWN,  SHOWN,  404,    404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("read", "pairing").about(&[ended]).audited(),
        post(format!("/pairings/{current}/status"), &pause)
                                                    .expect([ALLOW,  ALLOW,  403,    403,    403,    403,    403,    403,      404,    404,    403,    403,    403]).logs("change_status", "pairing").audited(),
        post("/pairings", &pair)                    .expect([ALLOW,  ALLOW,  403,    403,    403,    403,    403,    403,      422,    422,    403,    403,    403]).logs("create", "pairing").audited(),
        post("/pairings/reassign", &reassign)       .expect([ALLOW,  ALLOW,  403,    403,    403,    403,    403,    403,      404,    404,    403,    403,    403]).logs("reassign", "caseload").audited(),
        get("/pairings")                            .expect([SHOWN,  SHOWN,  SHOWN,  HIDDEN, HIDDEN, SHOWN,  HIDDEN, 403,      HIDDEN, HIDDEN, HIDDEN, HIDDEN, 403]).logs("list", "pairing").about(&[current]).audited(),
        get("/pairings")                            .expect([SHOWN,  SHOWN,  HIDDEN, HIDDEN, HIDDEN, SHOWN,  HIDDEN, 403,      HIDDEN, HIDDEN, HIDDEN, HIDDEN, 403]).logs("list", "pairing").about(&[ended]).audited(),
        get(format!("/pairings?participant_id={p}"))
                                                    .expect([SHOWN,  SHOWN,  SHOWN,  HIDDEN, HIDDEN, SHOWN,  HIDDEN, 403,      HIDDEN, HIDDEN, HIDDEN, HIDDEN, 403]).logs("list", "pairing").about(&[current]).audited(),
        get(format!("/pairings?coach_id={former}")) .expect([SHOWN,  SHOWN,  HIDDEN, HIDDEN, HIDDEN, SHOWN,  HIDDEN, 403,      HIDDEN, HIDDEN, HIDDEN, HIDDEN, 403]).logs("list", "pairing").about(&[ended]).audited(),
    ]
}

#[tokio::test]
async fn pairing_endpoints_refuse_everyone_outside_the_pairings_scope() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let watched = [
        format!("/pairings/{}", app.org.pairing_id),
        format!("/pairings/{}", cast.former_pairing_id),
        "/pairings".to_owned(),
        format!("/coaches/{}", app.org.other_coach.id),
    ];
    run(&app, &cast, &table(&app, &cast), &watched).await;
}
