//! Episodes of care: opening, listing, reading, closing, the schedule, interviews and the
//! follow-up work list. Staff
//! in scope only: the participant themselves and clinics get 403.

use serde_json::json;
use uuid::Uuid;

use super::{get, post, run, Cast, Row, ALLOW, HIDDEN, SHOWN};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(app: &TestApp, episode: Uuid) -> Vec<Row> {
    let p = app.org.participant_id;
    let list = format!("/participants/{p}/episodes");
    let one = format!("/episodes/{episode}");
    let schedule = format!("/episodes/{episode}/schedule");
    let close = format!("/episodes/{episode}/close");
    let interviews = format!("/episodes/{episode}/interviews");
    let queue = "/follow-ups?state=missed,overdue,open,upcoming".to_owned();
    let open = json!({"started_on": "2026-01-05"});
    let ending = json!({"ended_on": "2026-02-01", "reason": "completed"});
    let interview = json!({"point": "baseline", "conducted_on": "2026-01-06", "mode": "phone"});
    vec![
        //                                  own organization                                                  | other organization
        //                                  admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                  coach   coach   coach           ptcp
        get(&list)                 .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("list", "episode").about(&[episode]).audited_naming(p),
        get(&one)                  .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("read", "episode").about(&[episode]).audited(),
        get(&schedule)             .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("read", "episode").about(&[episode]).audited(),
        get(&queue)                .expect([SHOWN,  SHOWN,  SHOWN,  HIDDEN, HIDDEN, 403,    403,    403,      HIDDEN, HIDDEN, HIDDEN, 403,    403]).logs("list", "episode").about(&[episode]).audited(),
        post(&list, &open)         .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("create", "episode").audited_naming(p),
        post(&close, &ending)      .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("change_status", "episode").audited(),
        post(&interviews, &interview).expect([ALLOW, ALLOW, ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("create", "follow_up_interview").audited(),
    ]
}

#[tokio::test]
async fn episode_endpoints_refuse_everyone_outside_the_participants_scope() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let p = app.org.participant_id;
    let episode = Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO episodes (id, organization_id, participant_id, started_on)
         VALUES ('{episode}', '{}', '{p}', '2026-01-05')",
        app.org.id
    ))
    .await
    .unwrap();
    let watched = [
        format!("/participants/{p}/episodes"),
        format!("/episodes/{episode}"),
        format!("/episodes/{episode}/schedule"),
    ];
    run(&app, &cast, &table(&app, episode), &watched).await;
}
