//! The community-resource directory: every role of the organization and its clients with
//! `directory:read` read it, admins and supervisors change it, and no other organization
//! sees it.

use serde_json::json;

use super::{get, patch, post, run, Cast, Row, ALLOW, HIDDEN, SHOWN};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(id: &str) -> Vec<Row> {
    let one = format!("/resources/{id}");
    let hsds = format!("/hsds/services/{id}");
    let rename = json!({"name": "Refused rename"});
    let new = json!({"name": "Refused resource", "organization_name": "Nobody"});
    let about = [id.parse().unwrap()];
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get(&one)                                   .expect([SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,    404,    404,    404,    404,    404]).logs("read", "resource").about(&about),
        get(&hsds)                                  .expect([SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,    404,    404,    404,    404,    404]).logs("read", "resource").about(&about),
        get("/resources")                           .expect([SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,    HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN]).logs("list", "resource").about(&about),
        get("/resources?q=harbor")                  .expect([SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,    HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN]).logs("list", "resource").about(&about),
        get("/hsds/services")                       .expect([SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  SHOWN,    HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN]).logs("list", "resource").about(&about),
        patch(&one, &rename)                        .expect([ALLOW,  ALLOW,  403,    403,    403,    403,    403,    403,      404,    404,    403,    403,    403]).logs("update", "resource").audited(),
        post("/resources", &new)                    .expect([ALLOW,  ALLOW,  403,    403,    403,    403,    403,    403,      ALLOW,  ALLOW,  403,    403,    403]).logs("create", "resource").audited(),
    ]
}

#[tokio::test]
async fn directory_endpoints_refuse_writers_outside_staff_and_hide_it_from_other_organizations() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let body = json!({"name": "Harbor Peer Center", "organization_name": "Harbor"});
    let response = app
        .post("/resources", Some(&app.org.supervisor), &body)
        .await;
    assert_eq!(response.status(), 201);
    let created = crate::helpers::json(response).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let watched = [format!("/resources/{id}"), "/resources".to_owned()];
    run(&app, &cast, &table(&id), &watched).await;
}
