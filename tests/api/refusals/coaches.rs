//! Coach profiles and caseloads.

use serde_json::json;

use super::{get, patch, run, Cast, Row, ALLOW, HIDDEN, SHOWN};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(app: &TestApp, cast: &Cast) -> Vec<Row> {
    let (p, coach, former) = (app.org.participant_id, app.org.coach.id, cast.former_coach.id);
    let profile = format!("/coaches/{coach}");
    let bio = json!({"bio": "refusal test"});
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get("/coaches")                             .expect([SHOWN,  SHOWN,  403,    403,    403,    403,    403,    403,      HIDDEN, HIDDEN, 403,    403,    403]).logs("list", "coach").about(&[coach]),
        get(&profile)                               .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("read", "coach").about(&[coach]),
        patch(&profile, &bio)                       .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("update", "coach"),
        get(format!("{profile}/caseload"))          .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("read", "caseload").about(&[p]).audited(),
        get(format!("/coaches/{former}/caseload"))  .expect([HIDDEN, HIDDEN, 404,    404,    HIDDEN, 403,    403,    403,      404,    404,    404,    403,    403]).logs("read", "caseload").about(&[p]).audited(),
    ]
}

#[tokio::test]
async fn coach_endpoints_refuse_everyone_but_the_coach_and_their_organizations_staff() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let profile = format!("/coaches/{}", app.org.coach.id);
    let watched = [
        profile.clone(),
        format!("{profile}/caseload"),
        "/coaches".to_owned(),
    ];
    run(&app, &cast, &table(&app, &cast), &watched).await;
}
