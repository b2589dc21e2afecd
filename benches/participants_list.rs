//! p50/p95/p99 of `GET /api/v1/participants?limit=50` for a coach with 25 participants in an
//! organization of 50,000, over a real server and a real PostgreSQL (a private cluster, or
//! `BENCH_DATABASE_URL`, whose server must allow CREATE DATABASE).
//!
//! Each list read writes one audit row naming every participant it returned; the last figure
//! is an admin's `GET /api/v1/audit-events?participant_id=` over the rows those reads left.
//!
//! Run with `cargo bench --bench participants_list`. Prints figures; asserts nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use embedded_pg::EmbeddedPostgres;
use tandem::auth::jwt::TokenKeys;
use tandem::auth::Role;
use tandem::ops::config::Settings;
use tandem::ops::startup::Application;
use uuid::Uuid;

const PARTICIPANTS: usize = 50_000;
const PER_COACH: usize = 25;
const WARMUP: usize = 100;
const SAMPLES: usize = 2_000;
const SECRET: &str = "bench-secret-bench-secret-bench-secret-000";

fn main() {
    let (cluster, admin_url) = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let cluster = EmbeddedPostgres::start_temporary(&mut |line| eprintln!("{line}"))
                .expect("start PostgreSQL");
            let url = cluster.url("postgres");
            (Some(cluster), url)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&admin_url));
    if let Some(cluster) = cluster {
        cluster.stop().ok();
    }
}

fn database_url(admin_url: &str, name: &str) -> String {
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

async fn run(admin_url: &str) {
    let name = format!("bench_{}", Uuid::new_v4().simple());
    let mut admin = AsyncPgConnection::establish(admin_url).await.unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = database_url(admin_url, &name);
    let migrate_url = url.clone();
    tokio::task::spawn_blocking(move || tandem::db::migrate(&migrate_url))
        .await
        .unwrap()
        .unwrap();

    let seeding = Instant::now();
    let (organization, coach) = seed(&url).await;
    eprintln!(
        "seeded {PARTICIPANTS} participants, {} coaches with {PER_COACH} each, in {:.1} s",
        PARTICIPANTS / PER_COACH,
        seeding.elapsed().as_secs_f64()
    );

    let vars: HashMap<&str, &str> = HashMap::from([
        ("TANDEM_BIND", "127.0.0.1:0"),
        ("TANDEM_JWT_SECRET", SECRET),
        ("TANDEM_AUDIT_KEY", SECRET),
    ]);
    let settings = Settings::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    let app = Application::build(&settings, &url).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let tokens = TokenKeys::new(
        SECRET.as_bytes(),
        &settings.jwt_issuer,
        &settings.jwt_audience,
    );
    let coach_token = tokens.issue(coach, organization, Role::Coach, 0).unwrap();
    let client = reqwest::Client::new();

    let url = format!("{base}/api/v1/participants?limit=50");
    let first = client
        .get(&url)
        .bearer_auth(&coach_token)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let body: serde_json::Value = first.json().await.unwrap();
    let items = body["items"].as_array().unwrap().len();
    assert_eq!(items, PER_COACH, "the coach sees exactly their caseload");

    let latencies = measure(&client, &url, &coach_token).await;
    report(
        "GET /participants?limit=50 as a coach with 25 participants",
        &latencies,
    );
    explain(
        &settings_url(admin_url, &name),
        "the coach's list",
        &format!(
            "SELECT participants.id FROM participants
             WHERE participants.organization_id = '{organization}'
               AND EXISTS (SELECT 1 FROM pairings WHERE pairings.participant_id = participants.id
                           AND pairings.coach_id = '{coach}' AND pairings.status <> 'ended')
             ORDER BY participants.id LIMIT 51"
        ),
    )
    .await;

    let supervisor = seed_supervisor(&settings_url(admin_url, &name), organization).await;
    let supervisor_token = tokens
        .issue(supervisor, organization, Role::Supervisor, 0)
        .unwrap();
    let latencies = measure(&client, &url, &supervisor_token).await;
    report(
        "GET /participants?limit=50 as a supervisor (50,000 visible)",
        &latencies,
    );
    let search = format!("{base}/api/v1/participants?limit=50&q=last4999");
    let latencies = measure(&client, &search, &supervisor_token).await;
    report("GET /participants?q=last4999 as a supervisor", &latencies);
    explain(
        &settings_url(admin_url, &name),
        "the search",
        &format!(
            "SELECT participants.id FROM participants
             WHERE participants.organization_id = '{organization}'
               AND participants.search_text LIKE tandem_fold('%last4999%')
             ORDER BY participants.id LIMIT 51"
        ),
    )
    .await;

    let (participant, auditor) =
        seed_auditor(&settings_url(admin_url, &name), organization, coach).await;
    let auditor_token = tokens.issue(auditor, organization, Role::Admin, 0).unwrap();
    let lookup = format!("{base}/api/v1/audit-events?participant_id={participant}&limit=50");
    let latencies = measure(&client, &lookup, &auditor_token).await;
    report(
        "GET /audit-events?participant_id= as an admin (2,101 list reads name the participant)",
        &latencies,
    );

    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .ok();
}

/// Prints the plan PostgreSQL chooses for a query, with its actual timings.
async fn explain(url: &str, label: &str, query: &str) {
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    use diesel_async::RunQueryDsl;
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let plan: Vec<Line> = diesel::sql_query(format!("EXPLAIN (ANALYZE, COSTS OFF) {query}"))
        .load(&mut conn)
        .await
        .unwrap();
    println!("plan of {label}:");
    for line in plan {
        println!("    {}", line.line);
    }
}

fn settings_url(admin_url: &str, name: &str) -> String {
    database_url(admin_url, name)
}

async fn measure(client: &reqwest::Client, url: &str, token: &str) -> Vec<Duration> {
    for _ in 0..WARMUP {
        client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let mut latencies = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let response = client.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    latencies
}

fn report(label: &str, sorted: &[Duration]) {
    let at =
        |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{label}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} sequential requests)",
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0),
        sorted.len()
    );
}

async fn seed(url: &str) -> (Uuid, Uuid) {
    let organization = Uuid::now_v7();
    let coaches = PARTICIPANTS / PER_COACH;
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO organizations (id, name) VALUES ('{organization}', 'Bench Recovery Network');
         CREATE TEMP TABLE bench_coaches AS
             SELECT gen_random_uuid() AS id, n FROM generate_series(0, {last_coach}) AS n;
         INSERT INTO users (id, organization_id, email, display_name, role, password_hash)
             SELECT id, '{organization}', 'coach' || n || '@bench.example', 'Coach ' || n, 'coach', 'x'
             FROM bench_coaches;
         INSERT INTO coach_profiles (user_id, organization_id)
             SELECT id, '{organization}' FROM bench_coaches;
         CREATE TEMP TABLE bench_participants AS
             SELECT gen_random_uuid() AS id, n FROM generate_series(0, {last_participant}) AS n;
         INSERT INTO participants (id, organization_id, first_name, last_name, recovery_pathways)
             SELECT id, '{organization}', 'First' || n, 'Last' || n, ARRAY['twelve_step']
             FROM bench_participants;
         INSERT INTO pairings (id, organization_id, participant_id, coach_id, status, created_by)
             SELECT gen_random_uuid(), '{organization}', p.id, c.id, 'active', c.id
             FROM bench_participants p JOIN bench_coaches c ON c.n = p.n / {PER_COACH};
         ANALYZE;",
        last_coach = coaches - 1,
        last_participant = PARTICIPANTS - 1,
    ))
    .await
    .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    use diesel_async::RunQueryDsl;
    let coach: Id =
        diesel::sql_query("SELECT id FROM users WHERE email = 'coach1000@bench.example'")
            .get_result(&mut conn)
            .await
            .unwrap();
    (organization, coach.id)
}

async fn seed_supervisor(url: &str, organization: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO users (id, organization_id, email, display_name, role, password_hash)
         VALUES ('{id}', '{organization}', 'supervisor@bench.example', 'Supervisor', 'supervisor', 'x')"
    ))
    .await
    .unwrap();
    id
}

/// An admin of the organization, and one of `coach`'s participants.
async fn seed_auditor(url: &str, organization: Uuid, coach: Uuid) -> (Uuid, Uuid) {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    use diesel_async::RunQueryDsl;
    let id = Uuid::now_v7();
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO users (id, organization_id, email, display_name, role, password_hash)
         VALUES ('{id}', '{organization}', 'admin@bench.example', 'Admin', 'admin', 'x')"
    ))
    .await
    .unwrap();
    let participant: Id = diesel::sql_query(format!(
        "SELECT participant_id AS id FROM pairings WHERE coach_id = '{coach}' LIMIT 1"
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    (participant.id, id)
}
