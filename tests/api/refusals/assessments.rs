//! Assessments: the instrument catalogue, a participant's assessments and a single one.

use serde_json::json;
use uuid::Uuid;

use super::{get, post, run, Cast, Row, ALLOW, OK, SHOWN};
use crate::helpers::{json, TestApp};

#[rustfmt::skip]
fn table(app: &TestApp, assessment: Uuid) -> Vec<Row> {
    let p = app.org.participant_id;
    let list = format!("/participants/{p}/assessments");
    let one = format!("/assessments/{assessment}");
    let barc = json!({"instrument": "barc-10", "answers": [4, 4, 4, 4, 4, 4, 4, 4, 4, 4]});
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get("/instruments")                         .expect([OK,     OK,     OK,     OK,     OK,     OK,     OK,     403,      OK,     OK,     OK,     OK,     403]).logs("list", "instrument"),
        get(&list)                                  .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("list", "assessment").about(&[assessment]).audited_naming(p),
        get(format!("{list}?instrument=barc-10&limit=1"))
                                                    .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("list", "assessment").about(&[assessment]).audited_naming(p),
        post(&list, &barc)                          .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    ALLOW,  404,    403,      404,    404,    404,    404,    403]).logs("create", "assessment").audited_naming(p),
        get(&one)                                   .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("read", "assessment").about(&[assessment]).audited(),
    ]
}

#[tokio::test]
async fn assessment_endpoints_refuse_everyone_outside_the_participants_scope() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let p = app.org.participant_id;
    let barc = json!({"instrument": "barc-10", "answers": [5, 5, 5, 5, 5, 5, 5, 5, 5, 5]});
    let created = app
        .post(
            &format!("/participants/{p}/assessments"),
            Some(&app.org.coach),
            &barc,
        )
        .await;
    assert_eq!(created.status(), 201);
    let assessment: Uuid = json(created).await["id"].as_str().unwrap().parse().unwrap();
    let watched = [
        format!("/participants/{p}/assessments"),
        format!("/assessments/{assessment}"),
    ];
    run(&app, &cast, &table(&app, assessment), &watched).await;
}
