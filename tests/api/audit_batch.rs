//! The audit rows of concurrent reads are written together (`tandem::audit::batch`), and each
//! keeps the guarantees of a row written alone.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tandem::audit::AuditWriter;
use tandem::db::models::audit_events::NewAuditEvent;
use tandem::db::models::users::Session;
use tandem::db::schema::users;
use tandem::http::error::AppError;
use tokio::task::LocalSet;
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser};

fn read_row(app: &TestApp, user: &TestUser, outcome: &str) -> NewAuditEvent {
    NewAuditEvent {
        id: Uuid::now_v7(),
        at: Utc::now(),
        actor_id: Some(user.id),
        actor_role: Some(user.role.as_str().to_owned()),
        client_id: None,
        organization_id: Some(app.org.id),
        action: "read",
        resource_type: "participant",
        resource_id: Some(app.org.participant_id.to_string()),
        participant_id: Some(app.org.participant_id),
        participant_ids: vec![app.org.participant_id, app.org.participant_id],
        outcome: outcome.to_owned(),
        request_id: Uuid::new_v4().simple().to_string(),
        ip: Some("127.0.0.1".into()),
    }
}

async fn session_of(app: &TestApp, user: &TestUser) -> Session {
    let mut conn = app.conn().await;
    let token_version: i32 = users::table
        .find(user.id)
        .select(users::token_version)
        .first(&mut conn)
        .await
        .unwrap();
    Session {
        user_id: user.id,
        organization_id: user.organization_id,
        role: user.role,
        token_version,
    }
}

/// The transaction ids (`xmin`) that wrote the rows with these ids.
async fn writers_of(app: &TestApp, ids: &[Uuid]) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Writer {
        #[diesel(sql_type = diesel::sql_types::Text)]
        xmin: String,
    }
    let mut conn = app.conn().await;
    let rows: Vec<Writer> =
        diesel::sql_query("SELECT xmin::text AS xmin FROM audit_events WHERE id = ANY($1)")
            .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids.to_vec())
            .load(&mut conn)
            .await
            .unwrap();
    rows.into_iter().map(|row| row.xmin).collect()
}

#[tokio::test]
async fn rows_waiting_together_are_one_transaction_and_a_stale_token_is_left_out_alone() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let live = session_of(&app, coach).await;
    let stale = Session {
        token_version: live.token_version + 1,
        ..live
    };
    let pool = tandem::db::build_pool(&app.runtime_url, 1).unwrap();
    LocalSet::new()
        .run_until(async {
            let writer = AuditWriter::new(pool);
            let mut rows: Vec<_> = (0..8)
                .map(|_| (read_row(&app, coach, "success"), Some(live)))
                .collect();
            rows.push((read_row(&app, coach, "success"), Some(stale)));
            rows.push((read_row(&app, &app.org.admin, "success"), None));
            let ids: Vec<Uuid> = rows.iter().map(|(event, _)| event.id).collect();
            // Every write is queued before the writer first runs, so they form one batch.
            let results =
                futures_util::future::join_all(rows.into_iter().map(|(event, session)| {
                    let writer = &writer;
                    async move { writer.write(event, session).await }
                }))
                .await;
            for (index, result) in results.iter().enumerate() {
                match index {
                    8 => assert!(
                        matches!(result, Err(AppError::Unauthorized(_))),
                        "the stale token's row: {result:?}"
                    ),
                    _ => assert!(result.is_ok(), "row {index}: {result:?}"),
                }
            }
            let writers = writers_of(&app, &ids).await;
            assert_eq!(
                writers.len(),
                9,
                "every row but the stale token's is written"
            );
            assert!(
                writers.iter().all(|xmin| *xmin == writers[0]),
                "one transaction wrote them: {writers:?}"
            );
        })
        .await;
    let mut conn = app.conn().await;
    let names: Vec<Vec<Uuid>> = tandem::db::schema::audit_events::table
        .filter(tandem::db::schema::audit_events::actor_id.eq(app.org.admin.id))
        .filter(tandem::db::schema::audit_events::action.eq("read"))
        .select(tandem::db::schema::audit_events::participant_ids)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        names,
        vec![vec![app.org.participant_id; 2]],
        "arrays survive the batch"
    );
}

#[tokio::test]
async fn a_batch_that_fails_fails_every_read_in_it_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let live = session_of(&app, coach).await;
    let pool = tandem::db::build_pool(&app.runtime_url, 1).unwrap();
    LocalSet::new()
        .run_until(async {
            let writer = AuditWriter::new(pool);
            let mut rows: Vec<_> = (0..4).map(|_| read_row(&app, coach, "success")).collect();
            // The table's CHECK refuses this outcome, and so the whole statement.
            rows.push(read_row(&app, coach, "bogus"));
            let ids: Vec<Uuid> = rows.iter().map(|event| event.id).collect();
            let results = futures_util::future::join_all(rows.into_iter().map(|event| {
                let writer = &writer;
                async move { writer.write(event, Some(live)).await }
            }))
            .await;
            for result in &results {
                let error = result.as_ref().unwrap_err();
                assert!(matches!(error, AppError::Unavailable(_)), "{error:?}");
            }
            assert!(writers_of(&app, &ids).await.is_empty());

            // The writer carries on with the next batch.
            let event = read_row(&app, coach, "success");
            let id = event.id;
            writer.write(event, Some(live)).await.unwrap();
            assert_eq!(writers_of(&app, &[id]).await.len(), 1);
        })
        .await;
}

#[tokio::test]
async fn concurrent_reads_through_the_api_each_answer_after_their_own_row() {
    let app = TestApp::spawn().await;
    let coach = &app.org.coach;
    let path = format!("/participants/{}", app.org.participant_id);
    let reads = (0..16).map(|_| app.get(&path, coach));
    let responses = futures_util::future::join_all(reads).await;
    let mut request_ids = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 200);
        request_ids.push(
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut conn = app.conn().await;
    let recorded: Vec<String> = tandem::db::schema::audit_events::table
        .filter(tandem::db::schema::audit_events::request_id.eq_any(&request_ids))
        .filter(tandem::db::schema::audit_events::outcome.eq("success"))
        .select(tandem::db::schema::audit_events::request_id)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 16, "one success row a read");
}
