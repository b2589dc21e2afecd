//! Session notes: every visibility tier against every caller, and the author-only writes.

use serde_json::json;
use uuid::Uuid;

use super::{get, patch, post, run, Cast, Row, ALLOW, HIDDEN, SEEN_403, SHOWN};
use crate::helpers::TestApp;

/// The seeded participant's notes the table reads.
struct Notes {
    /// `care_team`, by their current coach.
    care_team: Uuid,
    /// `care_team`, by the supervisor: the current coach reads it without being its author.
    by_supervisor: Uuid,
    /// `participant`, by their current coach.
    shared: Uuid,
    /// `restricted`, by their current coach.
    restricted: Uuid,
    /// `restricted`, by the supervisor.
    restricted_by_supervisor: Uuid,
    /// `care_team`, by the former coach while they were paired.
    by_former_coach: Uuid,
    /// `care_team`, by their current coach, signed.
    signed: Uuid,
}

impl Notes {
    async fn new(app: &TestApp, cast: &Cast) -> Self {
        let p = app.org.participant_id;
        let (coach, supervisor) = (&cast.their_coach, &cast.supervisor);
        let signed = app.session_note(coach, p, "care_team").await;
        app.sign_note(signed).await;
        Self {
            care_team: app.session_note(coach, p, "care_team").await,
            by_supervisor: app.session_note(supervisor, p, "care_team").await,
            shared: app.session_note(coach, p, "participant").await,
            restricted: app.session_note(coach, p, "restricted").await,
            restricted_by_supervisor: app.session_note(supervisor, p, "restricted").await,
            by_former_coach: app.session_note(&cast.former_coach, p, "care_team").await,
            signed,
        }
    }
}

#[rustfmt::skip]
fn table(app: &TestApp, n: &Notes) -> Vec<Row> {
    let p = app.org.participant_id;
    let list = format!("/participants/{p}/session-notes");
    let one = |id: Uuid| format!("/session-notes/{id}");
    let new_note = json!({"session_type": "phone", "occurred_at": "2026-01-05T10:00:00Z", "duration_minutes": 20, "summary": "refusal test"});
    let change = json!({"summary": "refusal test"});
    let amend = json!({"body": "refusal test", "reason": "refusal test"});
    let none = json!({});
    vec![
        //                                                   own organization                                                  | other organization
        //                                                   admin   super   their   other   former  self    other   clinic  | admin   super   coach   ptcp    clinic
        //                                                                   coach   coach   coach           ptcp
        get(one(n.care_team))                       .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    404,    404,    403,      404,    404,    404,    404,    403]).logs("read", "session_note").about(&[n.care_team]).audited(),
        get(one(n.by_supervisor))                   .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    404,    404,    403,      404,    404,    404,    404,    403]).logs("read", "session_note").about(&[n.by_supervisor]).audited(),
        get(one(n.shared))                          .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("read", "session_note").about(&[n.shared]).audited(),
        get(one(n.restricted))                      .expect([404,    SHOWN,  SHOWN,  404,    404,    404,    404,    403,      404,    404,    404,    404,    403]).logs("read", "session_note").about(&[n.restricted]).audited(),
        get(one(n.restricted_by_supervisor))        .expect([404,    SHOWN,  404,    404,    404,    404,    404,    403,      404,    404,    404,    404,    403]).logs("read", "session_note").about(&[n.restricted_by_supervisor]).audited(),
        get(one(n.by_former_coach))                 .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    404,    404,    403,      404,    404,    404,    404,    403]).logs("read", "session_note").about(&[n.by_former_coach]).audited(),
        get(&list)                                  .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    HIDDEN, 404,    403,      404,    404,    404,    404,    403]).logs("list", "session_note").about(&[n.care_team, n.by_supervisor, n.by_former_coach]).audited_naming(p),
        get(&list)                                  .expect([SHOWN,  SHOWN,  SHOWN,  404,    404,    SHOWN,  404,    403,      404,    404,    404,    404,    403]).logs("list", "session_note").about(&[n.shared]).audited_naming(p),
        get(&list)                                  .expect([HIDDEN, SHOWN,  SHOWN,  404,    404,    HIDDEN, 404,    403,      404,    404,    404,    404,    403]).logs("list", "session_note").about(&[n.restricted]).audited_naming(p),
        get(&list)                                  .expect([HIDDEN, SHOWN,  HIDDEN, 404,    404,    HIDDEN, 404,    403,      404,    404,    404,    404,    403]).logs("list", "session_note").about(&[n.restricted_by_supervisor]).audited_naming(p),
        post(&list, &new_note)                      .expect([ALLOW,  ALLOW,  ALLOW,  404,    404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("create", "session_note").audited_naming(p),
        patch(one(n.care_team), &change)            .expect([SEEN_403, SEEN_403, ALLOW, 404, 404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("update", "session_note").audited(),
        patch(one(n.restricted), &change)           .expect([404,    SEEN_403, ALLOW, 404,   404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("update", "session_note").audited(),
        patch(one(n.by_former_coach), &change)      .expect([SEEN_403, SEEN_403, SEEN_403, 404, 404, 403,    403,    403,      404,    404,    404,    403,    403]).logs("update", "session_note").audited(),
        post(format!("{}/sign", one(n.care_team)), &none)
                                                    .expect([SEEN_403, SEEN_403, ALLOW, 404, 404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("sign", "session_note").audited(),
        post(format!("{}/sign", one(n.by_supervisor)), &none)
                                                    .expect([SEEN_403, ALLOW, SEEN_403, 404, 404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("sign", "session_note").audited(),
        post(format!("{}/amendments", one(n.signed)), &amend)
                                                    .expect([SEEN_403, ALLOW, ALLOW, 404,   404,    403,    403,    403,      404,    404,    404,    403,    403]).logs("create", "session_note_amendment").audited(),
    ]
}

#[tokio::test]
async fn session_notes_are_read_and_changed_only_within_their_visibility_tier() {
    let app = TestApp::spawn().await;
    let cast = Cast::new(&app).await;
    let notes = Notes::new(&app, &cast).await;
    let p = app.org.participant_id;
    let watched = [
        format!("/session-notes/{}", notes.care_team),
        format!("/session-notes/{}", notes.by_supervisor),
        format!("/session-notes/{}", notes.signed),
        format!("/participants/{p}/session-notes"),
    ];
    run(&app, &cast, &table(&app, &notes), &watched).await;
}
