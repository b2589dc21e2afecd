//! The service's database role: it may record and read the audit trail but never rewrite it,
//! and it owns nothing it could alter.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use crate::helpers::TestApp;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .await
        .unwrap()
        .n
}

/// Runs `sql` and returns PostgreSQL's refusal, failing the test when it succeeds.
async fn refused(conn: &mut AsyncPgConnection, sql: &str) -> String {
    match conn.batch_execute(sql).await {
        Ok(()) => panic!("the runtime role was allowed to run `{sql}`"),
        Err(error) => error.to_string(),
    }
}

/// One sealed event: a row in each audit table, written as the service writes them.
async fn record_and_seal_an_event(conn: &mut AsyncPgConnection) {
    conn.batch_execute(
        "INSERT INTO audit_events (id, action, resource_type, outcome, request_id)
             VALUES (gen_random_uuid(), 'read', 'participant', 'success', 'req-1');
         INSERT INTO audit_chain (chain_id, position, event_seq, prev_hash, hash)
             SELECT '00000000-0000-0000-0000-000000000001', 1, max(seq), 'genesis', 'link'
             FROM audit_events;",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_runtime_role_cannot_rewrite_or_unprotect_the_audit_trail() {
    let app = TestApp::spawn().await;
    let mut conn = app.runtime_conn().await;
    record_and_seal_an_event(&mut conn).await;
    let events = count(&mut conn, "SELECT count(*) AS n FROM audit_events").await;
    let links = count(&mut conn, "SELECT count(*) AS n FROM audit_chain").await;
    for (table, column) in [("audit_events", "request_id"), ("audit_chain", "hash")] {
        for sql in [
            format!("UPDATE {table} SET {column} = 'forged'"),
            format!("DELETE FROM {table}"),
            format!("TRUNCATE {table} CASCADE"),
        ] {
            let error = refused(&mut conn, &sql).await;
            assert!(error.contains("permission denied"), "{sql}: {error}");
        }
        for trigger in ["ALL", "USER"] {
            let sql = format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}");
            let error = refused(&mut conn, &sql).await;
            assert!(error.contains("must be owner"), "{sql}: {error}");
        }
    }
    let error = refused(&mut conn, "SET session_replication_role = replica").await;
    assert!(error.contains("permission denied"), "{error}");
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_events").await,
        events
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_chain").await,
        links
    );
}

#[tokio::test]
async fn the_runtime_role_is_no_superuser_and_owns_no_table() {
    let app = TestApp::spawn().await;
    let mut conn = app.runtime_conn().await;
    let powers = count(
        &mut conn,
        "SELECT count(*) AS n FROM pg_roles r
         WHERE pg_has_role(current_user, r.oid, 'MEMBER')
           AND (r.rolsuper OR r.rolbypassrls OR r.rolreplication OR r.rolcreaterole
                OR r.rolcreatedb)",
    )
    .await;
    assert_eq!(powers, 0);
    let owned = count(
        &mut conn,
        "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND pg_has_role(current_user, c.relowner, 'MEMBER')",
    )
    .await;
    assert_eq!(owned, 0);
    let tables = count(
        &mut conn,
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'",
    )
    .await;
    assert!(tables > 10, "the runtime role sees {tables} tables");
    assert_eq!(
        tandem::db::privilege_problem(&mut conn).await.unwrap(),
        None
    );
    // The privileged connection the tests use for setup is what `serve` refuses in production.
    let problem = tandem::db::privilege_problem(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(problem.as_deref(), Some("is a superuser or can become one"));
}

#[tokio::test]
async fn the_runtime_role_reads_and_writes_ordinary_tables() {
    let app = TestApp::spawn().await;
    let mut conn = app.runtime_conn().await;
    conn.batch_execute(
        "INSERT INTO login_throttles (email_key, failures) VALUES ('someone@example.org', 1);
         UPDATE login_throttles SET failures = 2 WHERE email_key = 'someone@example.org';
         INSERT INTO audit_seal_gaps (first_seq, last_seq) VALUES (5, 7);
         DELETE FROM audit_seal_gaps WHERE first_seq = 5;",
    )
    .await
    .unwrap();
    let failures = count(
        &mut conn,
        "SELECT failures::bigint AS n FROM login_throttles WHERE email_key = 'someone@example.org'",
    )
    .await;
    assert_eq!(failures, 2);
    conn.batch_execute("DELETE FROM login_throttles")
        .await
        .unwrap();
    // Only reading which migrations ran.
    count(
        &mut conn,
        "SELECT count(*) AS n FROM __diesel_schema_migrations",
    )
    .await;
    let error = refused(&mut conn, "DELETE FROM __diesel_schema_migrations").await;
    assert!(error.contains("permission denied"), "{error}");
    let error = refused(&mut conn, "CREATE TABLE mine (id int)").await;
    assert!(error.contains("permission denied"), "{error}");
}

#[tokio::test]
async fn tables_added_by_later_migrations_are_open_to_the_runtime_role() {
    let app = TestApp::spawn().await;
    // As the owner that runs migrations.
    app.sql("CREATE TABLE later_notes (id bigserial PRIMARY KEY, body text NOT NULL)")
        .await
        .unwrap();
    let mut conn = app.runtime_conn().await;
    conn.batch_execute(
        "INSERT INTO later_notes (body) VALUES ('first');
         UPDATE later_notes SET body = 'changed';
         DELETE FROM later_notes;",
    )
    .await
    .unwrap();
}
