//! The audit log: the organization's admins only, and only their organization's events.

use super::{get, run, Cast, Row, HIDDEN, OK, SHOWN};
use crate::helpers::{ids, ok_json, TestApp};

#[rustfmt::skip]
fn table(app: &TestApp) -> Vec<Row> {
    let (org, p) = (app.org.id, app.org.participant_id);
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get("/audit-events")                        .expect([SHOWN,  403,    403,    403,    403,    403,    403,    403,      HIDDEN, 403,    403,    403,    403]).logs("list", "audit_event").about(&[org]),
        get(format!("/audit-events?participant_id={p}"))
                                                    .expect([SHOWN,  403,    403,    403,    403,    403,    403,    403,      HIDDEN, 403,    403,    403,    403]).logs("list", "audit_event").about(&[p]),
        get("/audit-events/verify")                 .expect([OK,     403,    403,    403,    403,    403,    403,    403,      OK,     403,    403,    403,    403]).logs("verify", "audit_event"),
    ]
}

#[tokio::test]
async fn the_audit_log_refuses_everyone_but_the_organizations_admins() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    // Both organizations have events, so the other admin's log is not empty.
    for org in [&app.org, &app.other_org] {
        ok_json(
            app.get(&format!("/participants/{}", org.participant_id), &org.coach)
                .await,
        )
        .await;
    }
    let outside = ok_json(app.get("/audit-events", &app.other_org.admin).await).await;
    assert!(!ids(&outside).is_empty());
    run(&app, &cast, &table(&app), &[]).await;
}
