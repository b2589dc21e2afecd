//! Participants: the list, the record, its status and its portal login.

use serde_json::json;

use super::{get, patch, post, run, Cast, Row, ALLOW, HIDDEN, SHOWN};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(app: &TestApp) -> Vec<Row> {
    let (p, coach) = (app.org.participant_id, app.org.coach.id);
    let one = format!("/participants/{p}");
    let details = json!({"pronouns": "they/them"});
    let status = json!({"status": "inactive", "reason": "refusal test"});
    let login = json!({"email": "refused@example.org", "password": "a long enough password"});
    let intake = json!({"first_name": "Refused", "last_name": "Intake"});
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get(&one)                                   .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("read", "participant").about(&[p]).audited_naming(p),
        patch(&one, &details)                       .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("update", "participant").audited_naming(p),
        post(format!("{one}/status"), &status)      .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("change_status", "participant").audited_naming(p),
        post(format!("{one}/portal-account"), &login)
                                                    .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("create", "portal_account").audited_naming(p),
        get("/participants")                        .expect([SHOWN,  SHOWN,  SHOWN,  HIDDEN, HIDDEN, SHOWN,  HIDDEN, 403,      HIDDEN, HIDDEN, HIDDEN, HIDDEN, 403]).logs("list", "participant").about(&[p]).audited(),
        get(format!("/participants?coach_id={coach}"))
                                                    .expect([SHOWN,  SHOWN,  SHOWN,  HIDDEN, HIDDEN, SHOWN,  HIDDEN, 403,      HIDDEN, HIDDEN, HIDDEN, HIDDEN, 403]).logs("list", "participant").about(&[p]).audited(),
        get("/participants?q=jordan")               .expect([SHOWN,  SHOWN,  SHOWN,  HIDDEN, HIDDEN, SHOWN,  HIDDEN, 403,      HIDDEN, HIDDEN, HIDDEN, HIDDEN, 403]).logs("list", "participant").about(&[p]).audited(),
        post("/participants", &intake)              .expect([ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  403,    403,    403,      ALLOW,  ALLOW,  ALLOW,  403,    403]).logs("create", "participant").audited(),
    ]
}

#[tokio::test]
async fn participant_endpoints_refuse_everyone_outside_the_participants_scope() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let p = app.org.participant_id;
    let watched = [format!("/participants/{p}"), "/participants".to_owned()];
    run(&app, &cast, &table(&app), &watched).await;
}
