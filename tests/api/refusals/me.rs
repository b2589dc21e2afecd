//! The caller's own account: every user, never an integration client.

use serde_json::json;

use super::{get, post, run, Cast, Row, ALLOW, OK};
use crate::helpers::{ok_json, TestApp, PASSWORD};

#[rustfmt::skip]
fn table() -> Vec<Row> {
    let password = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get("/me")                                  .expect([OK,     OK,     OK,     OK,     OK,     OK,     OK,     403,      OK,     OK,     OK,     OK,     403]).logs("read", "user"),
        post("/me/password", &password)             .expect([ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  ALLOW,  403,      ALLOW,  ALLOW,  ALLOW,  ALLOW,  403]).logs("change_password", "user"),
    ]
}

#[tokio::test]
async fn me_refuses_integration_clients_and_bad_tokens() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    run(&app, &cast, &table(), &["/users".to_owned()]).await;
}

#[tokio::test]
async fn me_answers_every_user_with_their_own_account() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    for column in cast.columns() {
        if let (Some(id), None) = column.actor {
            let me = ok_json(app.get("/me", column.caller).await).await;
            assert_eq!(me["id"], id.to_string(), "{}", column.name);
        }
    }
}
