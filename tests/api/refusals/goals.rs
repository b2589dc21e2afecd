//! Goals: the recovery plan, its status, action items and progress log.

use serde_json::{json, Value};
use uuid::Uuid;

use super::{get, patch, post, run, Cast, Row, ALLOW, SHOWN};
use crate::helpers::{json as body_of, TestApp};

fn id(value: &Value) -> Uuid {
    value["id"].as_str().unwrap().parse().unwrap()
}

#[rustfmt::skip]
fn table(p: Uuid, goal: Uuid, item: Uuid, entry: Uuid) -> Vec<Row> {
    let one = format!("/goals/{goal}");
    let new_goal = json!({"title": "Refused goal", "domain": "legal"});
    let rename = json!({"title": "Refused title"});
    let pause = json!({"status": "paused", "reason": "refusal test"});
    let step = json!({"title": "Refused step"});
    let done = json!({"completed": true});
    let note = json!({"note": "Refused note", "percent_complete": 10});
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get(format!("/participants/{p}/goals"))     .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("list", "goal").about(&[goal]).audited_naming(p),
        get(format!("/participants/{p}/goals?status=active"))
                                                    .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("list", "goal").about(&[goal]).audited_naming(p),
        post(format!("/participants/{p}/goals"), &new_goal)
                                                    .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    ALLOW,  404,    403,      404,    404,    404,    404,    403]).logs("create", "goal").audited_naming(p),
        get(&one)                                   .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("read", "goal").about(&[goal]).audited(),
        patch(&one, &rename)                        .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("update", "goal").audited(),
        post(format!("{one}/status"), &pause)       .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("change_status", "goal").audited(),
        post(format!("{one}/action-items"), &step)  .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("create", "action_item").audited(),
        get(format!("/action-items/{item}"))        .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("read", "action_item").about(&[item]).audited(),
        patch(format!("/action-items/{item}"), &done)
                                                    .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("update", "action_item").audited(),
        post(format!("{one}/progress"), &note)      .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    ALLOW,  404,    403,      404,    404,    404,    404,    403]).logs("create", "goal_progress").audited(),
        get(format!("{one}/progress"))              .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("list", "goal_progress").about(&[entry]).audited(),
        get(format!("{one}/progress/{entry}"))      .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("read", "goal_progress").about(&[entry]).audited(),
    ]
}

#[tokio::test]
async fn goal_endpoints_refuse_everyone_outside_the_participants_scope() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let p = app.org.participant_id;
    let goal = app.goal_of(p).await;
    let item = app.action_item_of(&goal).await;
    let progress = format!("/goals/{}/progress", id(&goal));
    let entry = app
        .post(
            &progress,
            Some(&app.org.participant),
            &json!({"note": "First week done"}),
        )
        .await;
    assert_eq!(entry.status(), 201);
    let entry = body_of(entry).await;
    let watched = [
        format!("/goals/{}", id(&goal)),
        format!("/participants/{p}/goals"),
        format!("/action-items/{}", id(&item)),
        progress,
    ];
    let table = table(p, id(&goal), id(&item), id(&entry));
    run(&app, &cast, &table, &watched).await;
}
