//! Referrals: reading, listing, creating and moving them.

use serde_json::json;

use super::{get, post, run, Cast, Row, ALLOW, HIDDEN, SEEN_403, SHOWN};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(app: &TestApp, resource: uuid::Uuid, referral: uuid::Uuid) -> Vec<Row> {
    let p = app.org.participant_id;
    let refer = json!({"participant_id": p, "resource_id": resource, "reason": "refusal test", "urgency": "routine"});
    let cancel = json!({"status": "cancelled", "reason": "refusal test"});
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get(format!("/referrals/{referral}"))       .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    SHOWN,    404,    404,    404,    404,    404]).logs("read", "referral").about(&[referral]).audited(),
        get("/referrals")                           .expect([SHOWN,  SHOWN,  SHOWN,  HIDDEN, HIDDEN, SHOWN,  HIDDEN, SHOWN,    HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN]).logs("list", "referral").about(&[referral]).audited(),
        get(format!("/referrals?participant_id={p}"))
                                                    .expect([SHOWN,  SHOWN,  SHOWN,  HIDDEN, HIDDEN, SHOWN,  HIDDEN, SHOWN,    HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN]).logs("list", "referral").about(&[referral]).audited(),
        post(format!("/referrals/{referral}/status"), &cancel)
                                                    .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    ALLOW,  404,    SEEN_403, 404,    404,    404,    404,    404]).logs("change_status", "referral").audited(),
        post("/referrals", &refer)                  .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    ALLOW,  404,    403,      404,    404,    404,    404,    403]).logs("create", "referral").audited(),
    ]
}

#[tokio::test]
async fn referral_endpoints_refuse_everyone_outside_the_referrals_scope() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let org = &app.org;
    let resource = app.referral_resource(org, Some(&org.client)).await;
    app.referral_consent(
        org,
        org.participant_id,
        None,
        Some(resource),
        &["referral_details"],
        30,
    )
    .await;
    let created = app
        .referral(&org.coach, org.participant_id, resource, "requested")
        .await;
    let referral: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let watched = [format!("/referrals/{referral}"), "/referrals".to_owned()];
    run(&app, &cast, &table(&app, resource, referral), &watched).await;
}
