//! Integration clients and their webhook deliveries: the organization's admins only.

use serde_json::json;

use super::{get, patch, post, run, Cast, Row, ALLOW, HIDDEN, OK, SHOWN};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(app: &TestApp, delivery: uuid::Uuid) -> Vec<Row> {
    let client = app.org.client.id;
    let one = format!("/integration-clients/{client}");
    let rotate = format!("{one}/rotate-secret");
    let deliveries = format!("{one}/deliveries");
    let redeliver = format!("{deliveries}/{delivery}/redeliver");
    let new = json!({"name": "Refused Clinic", "resource_ids": [], "scopes": ["directory:read"]});
    let rename = json!({"name": "Refused"});
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        post("/integration-clients", &new)          .expect([ALLOW,  403,    403,    403,    403,    403,    403,    403,      ALLOW,  403,    403,    403,    403]).logs("create", "integration_client"),
        get("/integration-clients")                 .expect([SHOWN,  403,    403,    403,    403,    403,    403,    403,      HIDDEN, 403,    403,    403,    403]).logs("list", "integration_client").about(&[client]),
        get(&one)                                   .expect([SHOWN,  403,    403,    403,    403,    403,    403,    403,      404,    403,    403,    403,    403]).logs("read", "integration_client").about(&[client]),
        patch(&one, &rename)                        .expect([ALLOW,  403,    403,    403,    403,    403,    403,    403,      404,    403,    403,    403,    403]).logs("update", "integration_client"),
        post(&rotate, &json!({}))                   .expect([ALLOW,  403,    403,    403,    403,    403,    403,    403,      404,    403,    403,    403,    403]).logs("rotate_secret", "integration_client"),
        get(&deliveries)                            .expect([OK,     403,    403,    403,    403,    403,    403,    403,      404,    403,    403,    403,    403]).logs("list", "webhook_delivery"),
        post(&redeliver, &json!({}))                .expect([ALLOW,  403,    403,    403,    403,    403,    403,    403,      404,    403,    403,    403,    403]).logs("redeliver", "webhook_delivery"),
    ]
}

#[tokio::test]
async fn integration_client_endpoints_refuse_everyone_but_the_organizations_admins() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let delivery = app.webhook_delivery_of(&app.org, app.org.client.id).await;
    let client = app.org.client.id;
    let watched = [
        "/integration-clients".to_owned(),
        format!("/integration-clients/{client}"),
        format!("/integration-clients/{client}/deliveries"),
    ];
    run(&app, &cast, &table(&app, delivery), &watched).await;
}
