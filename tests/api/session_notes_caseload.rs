//! The caseload's contact dates, computed from session notes, and the plan of a note list.

use chrono::{Duration, Utc};
use diesel::sql_types::Text;
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{ok_json, problem, TestApp, TestParticipant, TestUser};

/// A note by `author` about `participant`, `days_ago` days old, with a follow-up due then.
async fn note(
    app: &TestApp,
    author: &TestUser,
    participant: Uuid,
    days_ago: i64,
    due: Option<&str>,
) {
    let due = due.map_or("NULL".to_owned(), |d| format!("'{d}'"));
    let sql = format!(
        "INSERT INTO session_notes (id, organization_id, participant_id, author_id, session_type,
             occurred_at, duration_minutes, summary, visibility, follow_up, follow_up_due)
         VALUES ('{}', '{}', '{participant}', '{}', 'phone', now() - interval '{days_ago} days',
             20, 'Check-in', 'restricted', 'Call back', {due})",
        Uuid::now_v7(),
        author.organization_id,
        author.id
    );
    app.sql(&sql).await.unwrap();
}

/// Backdates when a pairing was made.
async fn paired_days_ago(app: &TestApp, participant: &TestParticipant, days: i64) {
    let sql = format!(
        "UPDATE pairings SET created_at = now() - interval '{days} days' WHERE id = '{}'",
        participant.pairing_id
    );
    app.sql(&sql).await.unwrap();
}

fn entry<'a>(page: &'a Value, participant: &TestParticipant) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["participant_id"] == participant.id.to_string())
        .unwrap_or_else(|| panic!("{} is not in {page}", participant.id))
}

fn participants(page: &Value) -> Vec<String> {
    let items = page["items"].as_array().unwrap();
    items
        .iter()
        .map(|e| e["participant_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_caseload_shows_the_last_contact_and_the_next_follow_up_due() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let seen = app.participant_of(&coach).await;
    let never = app.participant_of(&coach).await;
    let today = Utc::now().date_naive();
    let (past, soon, later) = (
        today - Duration::days(1),
        today + Duration::days(3),
        today + Duration::days(9),
    );
    // Another author's restricted notes count too: only their dates are shown.
    note(
        &app,
        &app.org.supervisor,
        seen.id,
        4,
        Some(&past.to_string()),
    )
    .await;
    note(&app, &coach, seen.id, 2, Some(&later.to_string())).await;
    note(&app, &coach, seen.id, 6, Some(&soon.to_string())).await;
    let path = format!("/coaches/{}/caseload", coach.id);
    for caller in [&coach, &app.org.admin, &app.org.supervisor] {
        let page = ok_json(app.get(&path, caller).await).await;
        let contacted = entry(&page, &seen);
        let last = contacted["last_contact_at"].as_str().unwrap();
        let last = chrono::DateTime::parse_from_rfc3339(last).unwrap();
        assert!(
            (Utc::now() - Duration::days(2) - last.to_utc())
                .num_minutes()
                .abs()
                < 5
        );
        assert_eq!(contacted["days_since_contact"], 2);
        assert_eq!(contacted["next_follow_up_due"], soon.to_string());
        let untouched = entry(&page, &never);
        assert!(untouched["last_contact_at"].is_null());
        assert!(untouched["days_since_contact"].is_null());
        assert!(untouched["next_follow_up_due"].is_null());
    }
}

#[tokio::test]
async fn no_contact_days_keeps_only_participants_not_seen_in_that_many_days() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let recent = app.participant_of(&coach).await;
    let lapsed = app.participant_of(&coach).await;
    let never_long = app.participant_of(&coach).await;
    let never_new = app.participant_of(&coach).await;
    note(&app, &coach, recent.id, 2, None).await;
    note(&app, &coach, lapsed.id, 10, None).await;
    paired_days_ago(&app, &never_long, 30).await;
    note(&app, &coach, recent.id, 0, None).await;
    let path = format!("/coaches/{}/caseload", coach.id);
    let week = ok_json(app.get(&format!("{path}?no_contact_days=7"), &coach).await).await;
    assert_eq!(
        participants(&week),
        vec![lapsed.id.to_string(), never_long.id.to_string()]
    );
    let one = ok_json(
        app.get(&format!("{path}?no_contact_days=1&limit=1"), &coach)
            .await,
    )
    .await;
    assert_eq!(participants(&one), vec![lapsed.id.to_string()]);
    let cursor = one["next_cursor"].as_str().unwrap();
    let rest = ok_json(
        app.get(&format!("{path}?no_contact_days=1&cursor={cursor}"), &coach)
            .await,
    )
    .await;
    assert_eq!(participants(&rest), vec![never_long.id.to_string()]);
    let month = ok_json(app.get(&format!("{path}?no_contact_days=60"), &coach).await).await;
    assert!(participants(&month).is_empty());
    for bad in ["0", "366", "-1", "week"] {
        problem(
            app.get(&format!("{path}?no_contact_days={bad}"), &coach)
                .await,
            400,
        )
        .await;
    }
    problem(
        app.get(&format!("{path}?no_contact_days=7"), &app.org.other_coach)
            .await,
        404,
    )
    .await;
    // Paired today and never contacted: not yet a week without contact.
    assert!(!participants(&week).contains(&never_new.id.to_string()));
}

#[tokio::test]
async fn attended_groups_are_contact_and_open_goals_are_counted() {
    let app = TestApp::spawn().await;
    let coach = app.coach().await;
    let grouped = app.participant_of(&coach).await;
    let absent = app.participant_of(&coach).await;
    paired_days_ago(&app, &grouped, 30).await;
    paired_days_ago(&app, &absent, 30).await;
    note(&app, &coach, grouped.id, 20, None).await;
    let session = app.group_session(&coach, 3).await;
    app.set_attendance(session, &[(grouped.id, "present"), (absent.id, "absent")])
        .await;
    app.goal_of(grouped.id).await;
    for to in ["paused", "achieved", "abandoned"] {
        let goal = app.goal_of(grouped.id).await;
        let path = format!("/goals/{}/status", goal["id"].as_str().unwrap());
        let body = serde_json::json!({"status": to, "reason": "Reviewed together"});
        ok_json(app.post(&path, Some(&app.org.supervisor), &body).await).await;
    }

    let path = format!("/coaches/{}/caseload", coach.id);
    let page = ok_json(app.get(&path, &coach).await).await;
    let row = entry(&page, &grouped);
    assert_eq!(row["days_since_contact"], 3, "{row}");
    assert_eq!(row["open_goal_count"], 2, "{row}");
    let row = entry(&page, &absent);
    assert!(row["last_contact_at"].is_null(), "{row}");
    assert_eq!(row["open_goal_count"], 0, "{row}");
    // A group the participant attended three days ago is recent contact; being marked absent
    // is not contact.
    let week = ok_json(app.get(&format!("{path}?no_contact_days=7"), &coach).await).await;
    assert_eq!(participants(&week), vec![absent.id.to_string()]);
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

#[tokio::test]
async fn the_second_page_of_a_participants_notes_is_an_index_scan_without_a_sort() {
    let app = TestApp::spawn().await;
    let (org, coach, p) = (app.org.id, app.org.coach.id, app.org.participant_id);
    let other = app.participant_of(&app.org.other_coach).await;
    for (participant, count) in [(p, 3000), (other.id, 20000)] {
        let sql = format!(
            "INSERT INTO session_notes (id, organization_id, participant_id, author_id, session_type,
                 occurred_at, duration_minutes, summary)
             SELECT gen_random_uuid(), '{org}', '{participant}', '{coach}', 'phone',
                 now() - i * interval '1 hour', 30, 'Check-in'
             FROM generate_series(1, {count}) AS i;
             ANALYZE session_notes;"
        );
        app.sql(&sql).await.unwrap();
    }
    let after = Utc::now() - Duration::hours(50);
    // The query `session_notes::list` sends for a coach, after a first page of 50.
    let sql = format!(
        "EXPLAIN SELECT * FROM session_notes
         WHERE session_notes.organization_id = '{org}'
           AND session_notes.participant_id IN (SELECT participants.id FROM participants
               WHERE participants.organization_id = '{org}' AND EXISTS (SELECT pairings.id
                   FROM pairings WHERE pairings.participant_id = participants.id
                   AND pairings.coach_id = '{coach}' AND pairings.status <> 'ended'))
           AND (session_notes.visibility <> 'restricted' OR session_notes.author_id = '{coach}')
           AND session_notes.participant_id = '{p}'
           AND session_notes.occurred_at <= '{after}'
           AND (session_notes.occurred_at < '{after}' OR session_notes.id < '{}')
         ORDER BY session_notes.occurred_at DESC, session_notes.id DESC LIMIT 51",
        Uuid::max()
    );
    let plan: Vec<PlanLine> = diesel::sql_query(sql)
        .load(&mut app.conn().await)
        .await
        .unwrap();
    let plan: Vec<String> = plan.into_iter().map(|l| l.line).collect();
    let text = plan.join("\n");
    eprintln!("{text}");
    assert!(
        text.contains("Index Scan using session_notes_participant_occurred_idx"),
        "{text}"
    );
    assert!(!text.contains("Sort"), "{text}");
    assert!(!text.contains("Seq Scan on session_notes"), "{text}");
}
