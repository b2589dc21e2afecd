//! Consents and the accounting of disclosures: a participant's list, one consent, signing,
//! revoking and the disclosures list.

use serde_json::json;
use uuid::Uuid;

use super::{get, post, run, Cast, Row, ALLOW, SHOWN};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(app: &TestApp, consent: Uuid, disclosure: Uuid) -> Vec<Row> {
    let p = app.org.participant_id;
    let list = format!("/participants/{p}/consents");
    let one = format!("/consents/{consent}");
    let revoke = format!("/consents/{consent}/revoke");
    let accounting = format!("/participants/{p}/disclosures");
    let sign = TestApp::consent_body(app.org.client.id);
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get(&list)                                  .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("list", "consent").about(&[consent]).audited_naming(p),
        get(format!("{list}?state=active&limit=1")) .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("list", "consent").about(&[consent]).audited_naming(p),
        get(&one)                                   .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("read", "consent").about(&[consent]).audited(),
        post(&list, &sign)                          .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    ALLOW,  404,    403,      404,    404,    404,    404,    403]).logs("create", "consent").audited_naming(p),
        post(&revoke, &json!({"reason": "no"}))     .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    ALLOW,  404,    403,      404,    404,    404,    404,    403]).logs("revoke", "consent").audited(),
        get(&accounting)                            .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("list", "disclosure").about(&[disclosure]).audited_naming(p),
    ]
}

#[tokio::test]
async fn consent_endpoints_refuse_everyone_outside_the_participants_scope() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let p = app.org.participant_id;
    let consent = app.consent_of(p).await;
    let consent: Uuid = consent["id"].as_str().unwrap().parse().unwrap();
    let disclosure = Uuid::now_v7();
    let sql = format!(
        "INSERT INTO disclosures (id, organization_id, participant_id, recipient_client_id,
             recipient_name, information_categories, description, purpose, consent_id)
         VALUES ('{disclosure}', '{}', '{p}', '{}', 'Riverside Clinic', '{{demographics}}',
             'Name and date of birth', 'Referral', '{consent}')",
        app.org.id, app.org.client.id
    );
    app.sql(&sql).await.unwrap();
    let watched = [
        format!("/participants/{p}/consents"),
        format!("/consents/{consent}"),
        format!("/participants/{p}/disclosures"),
    ];
    run(&app, &cast, &table(&app, consent, disclosure), &watched).await;
}
