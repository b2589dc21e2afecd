use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::{json, Value};
use tandem::audit::chain::{link_hash, ChainKey, GENESIS};
use tandem::db::models::audit_events::{AuditEvent, ChainLink, NewAuditEvent};
use tandem::db::schema::{audit_chain, audit_events, audit_seal_gaps};
use uuid::Uuid;

use crate::helpers::{json, problem, TestApp};

async fn events(app: &TestApp, query: &str) -> Vec<Value> {
    let page = json(
        app.get(&format!("/audit-events?{query}"), &app.org.admin)
            .await,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

/// Waits until the background sealer has linked every event of the organization.
async fn sealed(app: &TestApp) -> Value {
    for _ in 0..100 {
        let report = json(app.get("/audit-events/verify", &app.org.admin).await).await;
        if report["unsealed"] == 0 {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the audit sealer did not catch up");
}

/// Inserts an audit event on `conn` (inside its transaction when it has one); returns its seq.
async fn insert_event(conn: &mut AsyncPgConnection, app: &TestApp) -> i64 {
    let event = NewAuditEvent {
        id: Uuid::now_v7(),
        at: Utc::now(),
        actor_id: Some(app.org.coach.id),
        actor_role: Some("coach".into()),
        client_id: None,
        organization_id: Some(app.org.id),
        action: "read",
        resource_type: "participant",
        resource_id: Some(app.org.participant_id.to_string()),
        participant_id: Some(app.org.participant_id),
        participant_ids: Vec::new(),
        outcome: "success".into(),
        request_id: Uuid::new_v4().simple().to_string(),
        ip: None,
    };
    diesel::insert_into(audit_events::table)
        .values(&event)
        .returning(audit_events::seq)
        .get_result(conn)
        .await
        .unwrap()
}

async fn chain_head(conn: &mut AsyncPgConnection) -> Option<i64> {
    audit_chain::table
        .select(diesel::dsl::max(audit_chain::event_seq))
        .first(conn)
        .await
        .unwrap()
}

async fn is_sealed(conn: &mut AsyncPgConnection, seq: i64) -> bool {
    diesel::select(diesel::dsl::exists(
        audit_chain::table.filter(audit_chain::event_seq.eq(seq)),
    ))
    .get_result(conn)
    .await
    .unwrap()
}

async fn gaps_watched(conn: &mut AsyncPgConnection) -> i64 {
    audit_seal_gaps::table
        .count()
        .get_result(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn reads_of_participant_data_are_audited_allowed_or_denied() {
    let app = TestApp::spawn().await;
    let path = format!("/participants/{}", app.org.participant_id);
    assert_eq!(app.get(&path, &app.org.coach).await.status(), 200);
    problem(app.get(&path, &app.org.other_coach).await, 404).await;
    problem(app.get(&path, &app.org.client).await, 403).await;

    let rows = events(
        &app,
        &format!(
            "participant_id={}&resource_type=participant",
            app.org.participant_id
        ),
    )
    .await;
    let seen: Vec<(Value, Value, Value, Value)> = rows
        .iter()
        .map(|e| {
            (
                e["actor_id"].clone(),
                e["client_id"].clone(),
                e["action"].clone(),
                e["outcome"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                Value::Null,
                json!(app.org.client.id),
                json!("read"),
                json!("denied")
            ),
            (
                json!(app.org.other_coach.id),
                Value::Null,
                json!("read"),
                json!("denied")
            ),
            (
                json!(app.org.coach.id),
                Value::Null,
                json!("read"),
                json!("success")
            ),
        ],
        "newest first"
    );
    assert!(rows
        .iter()
        .all(|e| e["request_id"].as_str().is_some_and(|id| id.len() == 32)));
    let denied = events(&app, "outcome=denied").await;
    assert_eq!(denied.len(), 2);
    let by_actor = events(&app, &format!("actor_id={}", app.org.coach.id)).await;
    assert_eq!(by_actor.len(), 1);
}

#[tokio::test]
async fn writes_are_audited_in_their_transaction() {
    let app = TestApp::spawn().await;
    let path = format!("/participants/{}", app.org.participant_id);
    assert_eq!(
        app.patch(&path, &app.org.coach, &json!({"pronouns": "they/them"}))
            .await
            .status(),
        200
    );
    problem(
        app.patch(&path, &app.org.coach, &json!({"first_name": ""}))
            .await,
        422,
    )
    .await;
    let rows = events(&app, "action=update").await;
    assert_eq!(rows.len(), 1, "validation failures never reach the data");
    assert_eq!(rows[0]["outcome"], "success");
    problem(
        app.patch(&path, &app.org.other_coach, &json!({"pronouns": "x"}))
            .await,
        404,
    )
    .await;
    let rows = events(&app, "action=update&outcome=denied").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["actor_id"], app.org.other_coach.id.to_string());
}

#[tokio::test]
async fn when_the_audit_write_fails_the_request_fails_with_503_and_nothing_changes() {
    let app = TestApp::spawn().await;
    app.sql(
        "CREATE FUNCTION refuse_updates() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.action = 'update' THEN RAISE EXCEPTION 'audit storage full'; END IF; RETURN NEW; END $$; \
         CREATE TRIGGER refuse_updates BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_updates()",
    )
    .await
    .unwrap();
    let path = format!("/participants/{}", app.org.participant_id);
    let response = app
        .patch(&path, &app.org.coach, &json!({"pronouns": "she/her"}))
        .await;
    assert!(response.headers().contains_key("retry-after"));
    let body = problem(response, 503).await;
    assert!(!body.to_string().contains("audit storage"));
    let participant = json(app.get(&path, &app.org.coach).await).await;
    assert!(participant["pronouns"].is_null());
}

#[tokio::test]
async fn when_a_reads_audit_write_fails_nothing_is_shown() {
    let app = TestApp::spawn().await;
    app.sql(
        "CREATE FUNCTION refuse_reads() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.action IN ('read', 'list') THEN RAISE EXCEPTION 'audit storage full'; END IF; \
         RETURN NEW; END $$; \
         CREATE TRIGGER refuse_reads BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_reads()",
    )
    .await
    .unwrap();
    for path in [
        format!("/participants/{}", app.org.participant_id),
        "/participants".to_owned(),
    ] {
        let response = app.get(&path, &app.org.coach).await;
        assert!(response.headers().contains_key("retry-after"));
        let body = problem(response, 503).await;
        assert!(!body.to_string().contains("Jordan"), "{path}: {body}");
        assert!(!body
            .to_string()
            .contains(&app.org.participant_id.to_string()));
    }
    // A refused read whose denied row cannot be written is a 503 too, never a silent 404.
    let response = app
        .get(
            &format!("/participants/{}", app.org.participant_id),
            &app.org.other_coach,
        )
        .await;
    problem(response, 503).await;
}

#[tokio::test]
async fn the_chain_verifies_and_reports_a_row_tampered_with_in_sql() {
    let app = TestApp::spawn().await;
    let path = format!("/participants/{}", app.org.participant_id);
    for _ in 0..3 {
        app.get(&path, &app.org.coach).await;
    }
    let report = sealed(&app).await;
    assert_eq!(report["ok"], true);
    assert_eq!(report["checked"], 3);
    assert!(report["first_broken_id"].is_null());

    let victim = events(&app, "").await.last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.sql(&format!(
        "SET session_replication_role = replica; \
         UPDATE audit_events SET outcome = 'denied' WHERE id = '{victim}'"
    ))
    .await
    .unwrap();
    let report = json(app.get("/audit-events/verify", &app.org.admin).await).await;
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_broken_id"], victim);
    assert_eq!(report["checked"], 0);

    // Each organization verifies its own chain.
    let other = json(app.get("/audit-events/verify", &app.other_org.admin).await).await;
    assert_eq!(other["ok"], true);
}

#[tokio::test]
async fn the_audit_tables_refuse_update_delete_and_truncate() {
    let app = TestApp::spawn().await;
    app.get(
        &format!("/participants/{}", app.org.participant_id),
        &app.org.coach,
    )
    .await;
    sealed(&app).await;
    for sql in [
        "UPDATE audit_events SET outcome = 'denied'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events CASCADE",
        "UPDATE audit_chain SET hash = 'x'",
        "DELETE FROM audit_chain",
    ] {
        // TRUNCATE … CASCADE locks both tables and can deadlock with the sealer, which reads
        // one and writes the other; PostgreSQL then cancels it, so that try proves nothing.
        let mut error = app.sql(sql).await.unwrap_err();
        for _ in 0..5 {
            if !error.contains("deadlock detected") {
                break;
            }
            error = app.sql(sql).await.unwrap_err();
        }
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
    let mut conn = app.conn().await;
    let count: i64 = tandem::db::schema::audit_events::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert!(count >= 1);
}

#[tokio::test]
async fn only_admins_read_the_audit_log_and_only_their_organizations() {
    let app = TestApp::spawn().await;
    app.get(
        &format!("/participants/{}", app.org.participant_id),
        &app.org.coach,
    )
    .await;
    for caller in [&app.org.supervisor, &app.org.coach, &app.org.participant] {
        problem(app.get("/audit-events", caller).await, 403).await;
        problem(app.get("/audit-events/verify", caller).await, 403).await;
    }
    problem(app.get("/audit-events", &app.org.client).await, 403).await;
    app.get(
        &format!("/participants/{}", app.other_org.participant_id),
        &app.other_org.coach,
    )
    .await;
    let outsider = json(app.get("/audit-events", &app.other_org.admin).await).await;
    let outsider = outsider["items"].as_array().unwrap();
    assert!(!outsider.is_empty());
    assert!(outsider
        .iter()
        .all(|e| e["organization_id"] == app.other_org.id.to_string()));
    problem(
        app.get("/audit-events?outcome=maybe", &app.org.admin).await,
        400,
    )
    .await;
    problem(
        app.get("/audit-events?from=yesterday", &app.org.admin)
            .await,
        400,
    )
    .await;
    let page = json(app.get("/audit-events?limit=1", &app.org.admin).await).await;
    assert!(page["next_cursor"].is_string());
}

#[tokio::test]
async fn an_event_committed_after_later_ones_were_sealed_is_sealed_too() {
    let app = TestApp::spawn().await;
    // A late writer is one of Tandem's own sessions: the sealer sees when its transaction began
    // only for sessions of its own role, as every instance of the service uses.
    let mut late = app.runtime_conn().await;
    late.batch_execute("BEGIN").await.unwrap();
    let late_seq = insert_event(&mut late, &app).await;

    let path = format!("/participants/{}", app.org.participant_id);
    for _ in 0..3 {
        assert_eq!(app.get(&path, &app.org.coach).await.status(), 200);
    }
    let report = sealed(&app).await;
    assert_eq!(report["checked"], 3);
    let mut conn = app.conn().await;
    assert!(chain_head(&mut conn).await > Some(late_seq));

    late.batch_execute("COMMIT").await.unwrap();
    for _ in 0..50 {
        if is_sealed(&mut conn, late_seq).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        is_sealed(&mut conn, late_seq).await,
        "the late event was skipped"
    );
    let report = sealed(&app).await;
    assert_eq!(report["ok"], true);
    assert_eq!(report["checked"], 4);
}

#[tokio::test]
async fn an_event_committed_into_a_gap_counts_as_unsealed_until_the_sealer_takes_it() {
    let app = TestApp::spawn().await;
    let mut late = app.conn().await;
    late.batch_execute("BEGIN").await.unwrap();
    let late_seq = insert_event(&mut late, &app).await;
    let path = format!("/participants/{}", app.org.participant_id);
    assert_eq!(app.get(&path, &app.org.coach).await.status(), 200);
    sealed(&app).await;
    let mut conn = app.conn().await;
    assert!(chain_head(&mut conn).await > Some(late_seq));

    // Hold the sealer's lock, so the late event stays unsealed while it is counted.
    let mut pause = app.conn().await;
    pause
        .batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7405232817263611)")
        .await
        .unwrap();
    late.batch_execute("COMMIT").await.unwrap();
    let report = json(app.get("/audit-events/verify", &app.org.admin).await).await;
    assert_eq!(report["unsealed"], 1, "{report}");
    assert!(!is_sealed(&mut conn, late_seq).await);

    pause.batch_execute("ROLLBACK").await.unwrap();
    let report = sealed(&app).await;
    assert_eq!(report["ok"], true);
    assert!(is_sealed(&mut conn, late_seq).await);
}

#[tokio::test]
async fn a_gap_left_by_a_rolled_back_event_is_forgotten_once_its_transaction_ends() {
    let app = TestApp::spawn().await;
    let mut rolled_back = app.conn().await;
    rolled_back.batch_execute("BEGIN").await.unwrap();
    let lost_seq = insert_event(&mut rolled_back, &app).await;
    let path = format!("/participants/{}", app.org.participant_id);
    app.get(&path, &app.org.coach).await;
    sealed(&app).await;
    let mut conn = app.conn().await;
    assert!(chain_head(&mut conn).await > Some(lost_seq));
    assert_eq!(
        gaps_watched(&mut conn).await,
        1,
        "the open insert is watched"
    );

    rolled_back.batch_execute("ROLLBACK").await.unwrap();
    for _ in 0..50 {
        if gaps_watched(&mut conn).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gaps_watched(&mut conn).await, 0);
    assert!(!is_sealed(&mut conn, lost_seq).await);
    let report = sealed(&app).await;
    assert_eq!(report["ok"], true);
    assert_eq!(report["checked"], 1);
}

async fn verify_against(app: &TestApp, position: &Value, hash: &Value) -> Value {
    let path = format!(
        "/audit-events/verify?position={position}&hash={}",
        hash.as_str().unwrap()
    );
    json(app.get(&path, &app.org.admin).await).await
}

#[tokio::test]
async fn verify_against_an_earlier_head_detects_that_the_latest_events_were_removed() {
    let app = TestApp::spawn().await;
    let path = format!("/participants/{}", app.org.participant_id);
    for _ in 0..3 {
        assert_eq!(app.get(&path, &app.org.coach).await.status(), 200);
    }
    let report = sealed(&app).await;
    assert_eq!(report["head"]["position"], 3);
    let (position, hash) = (
        report["head"]["position"].clone(),
        report["head"]["hash"].clone(),
    );
    assert_eq!(hash.as_str().map(str::len), Some(64));
    for _ in 0..3 {
        assert_eq!(app.get(&path, &app.org.coach).await.status(), 200);
    }
    let later = sealed(&app).await;
    assert_eq!(later["checked"], 6);
    let report = verify_against(&app, &position, &hash).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["earlier_head_found"], true);

    // Remove the last four events (the anchored one among them) and their links, with the
    // rights of the tables' owner.
    app.sql(&format!(
        "SET session_replication_role = replica; \
         CREATE TEMP TABLE doomed AS SELECT event_seq FROM audit_chain \
             WHERE chain_id = '{org}' AND position >= 3; \
         DELETE FROM audit_chain WHERE event_seq IN (SELECT event_seq FROM doomed); \
         DELETE FROM audit_events WHERE seq IN (SELECT event_seq FROM doomed)",
        org = app.org.id
    ))
    .await
    .unwrap();
    // What is left is a whole chain: only the earlier head shows that its end is gone.
    let report = json(app.get("/audit-events/verify", &app.org.admin).await).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["head"]["position"], 2);
    let report = verify_against(&app, &position, &hash).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["earlier_head_found"], false);
    assert_eq!(report["checked"], 2);

    // New events take the removed positions, under other hashes.
    for _ in 0..2 {
        assert_eq!(app.get(&path, &app.org.coach).await.status(), 200);
    }
    let report = sealed(&app).await;
    assert_eq!(report["ok"], true, "the chain itself is whole again");
    assert_eq!(report["checked"], 4);
    let report = verify_against(&app, &position, &hash).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["earlier_head_found"], false);
}

#[tokio::test]
async fn verify_refuses_a_garbled_earlier_head_and_knows_the_empty_chain() {
    let app = TestApp::spawn().await;
    let empty = json(app.get("/audit-events/verify", &app.org.admin).await).await;
    assert_eq!(empty["ok"], true);
    assert_eq!(empty["head"]["position"], 0);
    let genesis = "0".repeat(64);
    assert_eq!(empty["head"]["hash"], genesis);
    let digits = "a".repeat(64);
    for query in [
        "position=1".to_owned(),
        format!("hash={digits}"),
        format!("position=-1&hash={digits}"),
        format!("position=x&hash={digits}"),
        "position=1&hash=nothex".to_owned(),
        format!("position=1&hash={}", "g".repeat(64)),
        format!("position=99999999999999999999&hash={digits}"),
        format!("position=1&hash={digits}&extra=1"),
    ] {
        let response = app
            .get(&format!("/audit-events/verify?{query}"), &app.org.admin)
            .await;
        problem(response, 400).await;
    }
    let report = json(
        app.get(
            &format!("/audit-events/verify?position=9223372036854775807&hash={digits}"),
            &app.org.admin,
        )
        .await,
    )
    .await;
    assert_eq!(report["ok"], false);
    let report = json(
        app.get(
            &format!("/audit-events/verify?position=0&hash={genesis}"),
            &app.org.admin,
        )
        .await,
    )
    .await;
    assert_eq!(report["ok"], true);
}

/// The ids in an audit event's `participant_ids`.
fn named(event: &Value) -> Vec<String> {
    event["participant_ids"]
        .as_array()
        .unwrap_or_else(|| panic!("no participant_ids: {event}"))
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect()
}

/// The audit events that name `participant`, as an admin finds them.
async fn naming(app: &TestApp, participant: Uuid, rest: &str) -> Vec<Value> {
    events(app, &format!("participant_id={participant}&{rest}")).await
}

#[tokio::test]
async fn a_participant_list_names_every_participant_it_returned() {
    let app = TestApp::spawn().await;
    let first = app.org.participant_id;
    let second = app.participant_of(&app.org.coach).await.id;
    let elsewhere = app.participant_of(&app.org.other_coach).await.id;
    assert_eq!(app.get("/participants", &app.org.coach).await.status(), 200);

    for participant in [first, second] {
        let rows = naming(&app, participant, "action=list").await;
        assert_eq!(rows.len(), 1, "{participant}: {rows:?}");
        assert_eq!(rows[0]["actor_id"], app.org.coach.id.to_string());
        assert_eq!(rows[0]["resource_type"], "participant");
        let mut listed = named(&rows[0]);
        listed.sort();
        assert_eq!(listed, vec![first.to_string(), second.to_string()]);
    }
    assert!(naming(&app, elsewhere, "action=list").await.is_empty());

    // Only the rows the page shows are named, not the one fetched to find the next page.
    let page = json(app.get("/participants?limit=1", &app.org.coach).await).await;
    assert!(page["next_cursor"].is_string());
    let rows = naming(&app, second, "action=list").await;
    assert_eq!(rows.len(), 1, "the one-row page showed only {first}");
    assert_eq!(naming(&app, first, "action=list").await.len(), 2);
}

#[tokio::test]
async fn caseloads_pairing_lists_and_reassignments_name_their_participants() {
    let app = TestApp::spawn().await;
    let participant = app.org.participant_id;
    let caseload = format!("/coaches/{}/caseload", app.org.coach.id);
    assert_eq!(app.get(&caseload, &app.org.supervisor).await.status(), 200);
    let rows = naming(&app, participant, "resource_type=caseload").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["action"], "read");
    assert_eq!(named(&rows[0]), vec![participant.to_string()]);

    assert_eq!(app.get("/pairings", &app.org.coach).await.status(), 200);
    let rows = naming(&app, participant, "resource_type=pairing&action=list").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["actor_id"], app.org.coach.id.to_string());

    let response = app
        .post(
            "/pairings/reassign",
            Some(&app.org.supervisor),
            &json!({
                "from_coach_id": app.org.coach.id,
                "to_coach_id": app.org.other_coach.id,
                "reason": "the coach is on leave",
            }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let rows = naming(&app, participant, "action=reassign").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["outcome"], "success");
    assert_eq!(named(&rows[0]), vec![participant.to_string()]);
}

#[tokio::test]
async fn links_rebuilt_with_another_key_do_not_verify() {
    let app = TestApp::spawn().await;
    let path = format!("/participants/{}", app.org.participant_id);
    for _ in 0..3 {
        assert_eq!(app.get(&path, &app.org.coach).await.status(), 200);
    }
    assert_eq!(sealed(&app).await["ok"], true);

    // Whoever can write the tables but lacks the key rebuilds every link, correctly chained.
    let mut conn = app.conn().await;
    let chain: Vec<(ChainLink, AuditEvent)> = audit_chain::table
        .inner_join(audit_events::table)
        .filter(audit_chain::chain_id.eq(app.org.id))
        .order(audit_chain::position.asc())
        .select((ChainLink::as_select(), AuditEvent::as_select()))
        .load(&mut conn)
        .await
        .unwrap();
    let forger = ChainKey::new(b"a key that is not the server's audit key");
    let mut prev_hash = GENESIS.to_owned();
    let mut forged = Vec::new();
    for (link, event) in &chain {
        let hash = link_hash(&forger, link.chain_id, link.position, &prev_hash, event);
        forged.push(ChainLink {
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
            ..link.clone()
        });
    }
    conn.batch_execute(&format!(
        "SET session_replication_role = replica; DELETE FROM audit_chain WHERE chain_id = '{}'",
        app.org.id
    ))
    .await
    .unwrap();
    diesel::insert_into(audit_chain::table)
        .values(&forged)
        .execute(&mut conn)
        .await
        .unwrap();

    let report = json(app.get("/audit-events/verify", &app.org.admin).await).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["checked"], 0);
    assert_eq!(report["first_broken_id"], chain[0].1.id.to_string());
}
