//! User administration: the organization's admins only.

use serde_json::json;

use super::{get, patch, post, run, Cast, Row, ALLOW, HIDDEN, SHOWN};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(app: &TestApp) -> Vec<Row> {
    let user = app.org.coach.id;
    let one = format!("/users/{user}");
    let new = json!({"email": "refused@example.org", "display_name": "Refused", "role": "coach", "password": "a long enough password"});
    let rename = json!({"display_name": "Refused"});
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        post("/users", &new)                        .expect([ALLOW,  403,    403,    403,    403,    403,    403,    403,      ALLOW,  403,    403,    403,    403]).logs("create", "user"),
        get("/users")                               .expect([SHOWN,  403,    403,    403,    403,    403,    403,    403,      HIDDEN, 403,    403,    403,    403]).logs("list", "user").about(&[user]),
        get(&one)                                   .expect([SHOWN,  403,    403,    403,    403,    403,    403,    403,      404,    403,    403,    403,    403]).logs("read", "user").about(&[user]),
        patch(&one, &rename)                        .expect([ALLOW,  403,    403,    403,    403,    403,    403,    403,      404,    403,    403,    403,    403]).logs("update", "user"),
    ]
}

#[tokio::test]
async fn user_endpoints_refuse_everyone_but_the_organizations_admins() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let watched = ["/users".to_owned(), format!("/users/{}", app.org.coach.id)];
    run(&app, &cast, &table(&app), &watched).await;
}
