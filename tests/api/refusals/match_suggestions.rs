//! Match suggestions: admins and supervisors of the participant's organization only.

use super::{get, run, Cast, Row, OK};
use crate::helpers::TestApp;

#[rustfmt::skip]
fn table(app: &TestApp) -> Vec<Row> {
    let p = app.org.participant_id;
    let suggestions = format!("/participants/{p}/match-suggestions");
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get(&suggestions)                           .expect([OK,     OK,     403,    403,    403,    403,    403,    403,      404,    404,    403,    403,    403]).logs("match", "participant").audited_naming(p),
        get(format!("{suggestions}?limit=1"))       .expect([OK,     OK,     403,    403,    403,    403,    403,    403,      404,    404,    403,    403,    403]).logs("match", "participant").audited_naming(p),
    ]
}

#[tokio::test]
async fn match_suggestions_refuse_everyone_but_the_organizations_admins_and_supervisors() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let watched = [format!("/participants/{}", app.org.participant_id)];
    run(&app, &cast, &table(&app), &watched).await;
}
