//! Group sessions: recording them, reading them, setting who attended, and a participant's
//! own attendance record.

use serde_json::json;

use super::{get, post, put, run, Cast, Row, ALLOW, HIDDEN, SHOWN};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(app: &TestApp, session: uuid::Uuid) -> Vec<Row> {
    let p = app.org.participant_id;
    let create = json!({"title": "Refusal group", "kind": "wellness", "occurred_at": "2026-01-05T18:00:00Z",
                        "duration_minutes": 60, "facilitator_ids": [app.org.coach.id]});
    let attendance = json!([{"participant_id": p, "status": "absent"}]);
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get(format!("/group-sessions/{session}"))  .expect([SHOWN,  SHOWN,  SHOWN,  HIDDEN, HIDDEN, 403,    403,    403,      404,    404,    404,    403,    403]).logs("read", "group_session").about(&[p]).audited(),
        get("/group-sessions")                     .expect([SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  403,    403,    403,      HIDDEN, HIDDEN, HIDDEN, 403,    403]).logs("list", "group_session").about(&[session]).audited(),
        put(format!("/group-sessions/{session}/attendance"), &attendance)
                                                   .expect([ALLOW,  ALLOW,  ALLOW,  403,    403,    403,    403,    403,      404,    404,    403,    403,    403]).logs("set_attendance", "group_session").audited(),
        post("/group-sessions", &create)           .expect([ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  403,    403,    403,      422,    422,    422,    403,    403]).logs("create", "group_session").audited(),
        get(format!("/participants/{p}/group-attendance"))
                                                   .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("list", "group_attendance").about(&[session]).audited_naming(p),
    ]
}

#[tokio::test]
async fn group_session_endpoints_refuse_everyone_outside_their_scope() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let session = app.group_session(&app.org.coach, 3).await;
    app.set_attendance(session, &[(app.org.participant_id, "present")])
        .await;
    let watched = [
        format!("/group-sessions/{session}"),
        "/group-sessions".to_owned(),
        format!("/participants/{}/group-attendance", app.org.participant_id),
    ];
    run(&app, &cast, &table(&app, session), &watched).await;
}
