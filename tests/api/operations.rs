use crate::helpers::{json, problem, send, TestApp};

#[tokio::test]
async fn healthz_answers_without_a_token() {
    let app = TestApp::spawn().await;
    let response = send(app.client.get(app.url("/healthz"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["status"], "ok");
}

#[tokio::test]
async fn readiness_is_503_while_the_database_is_down_and_heals_without_a_restart() {
    let app = TestApp::spawn().await;
    assert_eq!(send(app.client.get(app.url("/readyz"))).await.status(), 200);

    // Take this test's database away: refuse new connections and end the open ones.
    let database = app.database.clone();
    let admin = crate::helpers::with_database(&app.database_url, "postgres");
    let run = |sql: String| {
        let admin = admin.clone();
        async move {
            use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
            let mut conn = AsyncPgConnection::establish(&admin).await.unwrap();
            diesel::sql_query(sql).execute(&mut conn).await.unwrap();
        }
    };
    run(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false")).await;
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    ))
    .await;

    let response = send(app.client.get(app.url("/readyz"))).await;
    assert!(response.headers().contains_key("retry-after"));
    problem(response, 503).await;
    let response = app.get("/me", &app.org.coach).await;
    assert!(response.headers().contains_key("retry-after"));
    let body = problem(response, 503).await;
    assert!(!body.to_string().contains("database \""));

    run(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true")).await;
    assert_eq!(send(app.client.get(app.url("/readyz"))).await.status(), 200);
    assert_eq!(app.get("/me", &app.org.coach).await.status(), 200);
}
