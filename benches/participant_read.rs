//! The cost of one audited read: `GET /api/v1/participants/{id}` by the participant's coach,
//! under 32 concurrent keep-alive connections, against the release `tandem serve` binary
//! running as its own process over a real PostgreSQL.
//!
//! The organization has 50,000 participants, coaches with 25 participants each, and
//! 1,000,000 audit events already sealed into the chain. Each measured window reports
//! throughput and latency, the statements PostgreSQL ran per request (from
//! `pg_stat_statements`), and the CPU the server process and the database backends spent
//! per request. After the load, the server sits idle for 10 s to show what background work
//! costs.
//!
//! Run with `cargo bench --bench participant_read`. Prints figures; asserts nothing.
//!
//! * `BENCH_SECONDS`: length of each of the three measured windows (default 20).
//! * `BENCH_DATABASE_URL`: use this server instead of a private cluster; it must allow
//!   `CREATE DATABASE`. Statement counts need `pg_stat_statements` in its
//!   `shared_preload_libraries` (they are skipped otherwise), and the backends' CPU is only
//!   shown when the server runs on this machine.
//!
//! The load generator runs in this process and shares the machine's cores with the server
//! and PostgreSQL, so throughput is a figure for this machine, not a capacity.
//!
//! Only raw SQL, the `tandem` binary and a few stable library entry points are used, so the
//! same program can measure other versions of the service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Integer, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use embedded_pg::EmbeddedPostgres;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use tandem::auth::jwt::TokenKeys;
use tandem::auth::Role;
use uuid::Uuid;

use support::{
    database_url, load_average, process_cpu, Server, Statement, StatementStats, AUDIENCE, ISSUER,
    POOL_SIZE, SECRET,
};

const PARTICIPANTS: usize = 50_000;
const PER_COACH: usize = 25;
const AUDIT_EVENTS: usize = 1_000_000;
const CONNECTIONS: usize = 32;
const WARMUP: Duration = Duration::from_secs(3);
const WINDOWS: usize = 3;
const IDLE: Duration = Duration::from_secs(10);
const TOP_STATEMENTS: usize = 12;

fn main() {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(20);
    let (cluster, admin_url) = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let cluster = EmbeddedPostgres::start_temporary_with(
                &[("shared_preload_libraries", "pg_stat_statements")],
                &mut |line| eprintln!("{line}"),
            )
            .expect("start PostgreSQL");
            let url = cluster.url("postgres");
            (Some(cluster), url)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&admin_url, Duration::from_secs(seconds)));
    if let Some(cluster) = cluster {
        cluster.stop().ok();
    }
}

async fn run(admin_url: &str, window: Duration) {
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
    let organization = seed(&url).await;
    println!(
        "seeded 1 organization, {} coaches with {PER_COACH} participants each ({PARTICIPANTS} \
         participants, one active pairing each) and {AUDIT_EVENTS} sealed audit events in {:.1} s",
        PARTICIPANTS / PER_COACH,
        seeding.elapsed().as_secs_f64()
    );
    let caseloads = caseloads(&url).await;

    // The statistics are read from the admin database, filtered to the bench database, so
    // the bench's own queries never count.
    let stats = StatementStats::enable(&mut admin, &name).await;
    if stats.is_none() {
        println!(
            "note: pg_stat_statements is not available on this server (it must be in \
             shared_preload_libraries); statement counts are skipped"
        );
    }

    // The server connects as the service does in production: a login that owns nothing.
    let login = format!("{name}_app");
    let password = Uuid::new_v4().simple().to_string();
    admin
        .batch_execute(&format!(
            "CREATE ROLE {login} LOGIN PASSWORD '{password}' IN ROLE tandem_runtime"
        ))
        .await
        .unwrap();
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let runtime_url = format!("{scheme}://{login}:{password}@{host}");
    let server = Server::start(&runtime_url).await;
    println!(
        "server: `tandem serve` pid {}, pool {POOL_SIZE}, default workers, {} cores",
        server.pid(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS * 2)
        .build()
        .unwrap();
    let mut load = Load::new(&client, &server.base, organization, caseloads);
    load.check().await;
    println!(
        "load: {CONNECTIONS} connections, closed loop, keep-alive; GET /api/v1/participants/{{id}} \
         as the participant's coach over {} coaches and {} participants; warm-up {} s, \
         {WINDOWS} windows of {} s",
        load.tokens.len(),
        load.reads.len(),
        WARMUP.as_secs(),
        window.as_secs()
    );
    load.run(WARMUP).await;

    let mut runs = Vec::with_capacity(WINDOWS);
    for number in 1..=WINDOWS {
        let run = measure(
            &mut load,
            &server,
            &mut admin,
            stats.as_ref(),
            &name,
            window,
        )
        .await;
        runs.push(Run { number, ..run });
    }
    report_runs(&runs);
    if stats.is_some() {
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| runs[a].throughput().total_cmp(&runs[b].throughput()));
        let median = &runs[order[order.len() / 2]];
        if let Some(statements) = &median.statements {
            println!(
                "\nstatements per request in run {} (median throughput), including the \
                 background sealer's; % time = share of statement execution time:",
                median.number
            );
            print_statements(statements, median.requests, "calls/req");
        }
    }

    if let Some(unsealed) = unsealed_events(&url).await {
        println!("\naudit events not yet sealed when the load stopped: {unsealed}");
    }
    idle(&server, &mut admin, stats.as_ref(), &name).await;

    drop(load);
    drop(client);
    server.stop();
    drop(admin);
    let mut admin = AsyncPgConnection::establish(admin_url).await.unwrap();
    admin
        .batch_execute(&format!(
            "DROP DATABASE {name} WITH (FORCE); DROP ROLE {login}"
        ))
        .await
        .ok();
}

// ---------------------------------------------------------------------------------------
// Data

async fn seed(url: &str) -> Uuid {
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
         INSERT INTO coach_profiles (user_id, organization_id, languages, recovery_pathways)
             SELECT id, '{organization}', ARRAY['en'], ARRAY['twelve_step'] FROM bench_coaches;
         CREATE TEMP TABLE bench_participants AS
             SELECT gen_random_uuid() AS id, n FROM generate_series(0, {last_participant}) AS n;
         INSERT INTO participants (id, organization_id, first_name, last_name, recovery_pathways,
                                   intake_date)
             SELECT id, '{organization}', 'First' || n, 'Last' || n, ARRAY['twelve_step'],
                    current_date - (n % 365)
             FROM bench_participants;
         CREATE TEMP TABLE bench_pairings AS
             SELECT gen_random_uuid() AS id, p.id AS participant_id, c.id AS coach_id, p.n
             FROM bench_participants p JOIN bench_coaches c ON c.n = p.n / {PER_COACH};
         INSERT INTO pairings (id, organization_id, participant_id, coach_id, status, started_at,
                               created_by)
             SELECT id, '{organization}', participant_id, coach_id, 'active',
                    now() - interval '30 days', coach_id
             FROM bench_pairings;
         INSERT INTO status_changes (id, subject_type, subject_id, from_status, to_status, actor_id, at)
             SELECT gen_random_uuid(), 'pairing', id, NULL, 'active', coach_id,
                    now() - interval '30 days'
             FROM bench_pairings;",
        last_coach = coaches - 1,
        last_participant = PARTICIPANTS - 1,
    ))
    .await
    .unwrap();

    // Past reads of participants by their coaches, one every 2.5 s over the last month, with
    // time-ordered (version 7) ids like the service's own.
    conn.batch_execute(&format!(
        "INSERT INTO audit_events (id, at, actor_id, actor_role, organization_id, action,
                                   resource_type, resource_id, participant_id, outcome,
                                   request_id, ip)
             SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                        placing substring(int8send((extract(epoch FROM e.at) * 1000)::bigint) FROM 3)
                        FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid,
                    e.at, p.coach_id, 'coach', '{organization}', 'read', 'participant',
                    p.participant_id::text, p.participant_id, 'success',
                    md5(e.g::text), '127.0.0.1'
             FROM (SELECT g, now() - interval '1 hour' - ({AUDIT_EVENTS} - g) * interval '2.5 seconds' AS at
                   FROM generate_series(1, {AUDIT_EVENTS}) AS g) AS e
             JOIN bench_pairings p ON p.n = (e.g::bigint * 7919) % {PARTICIPANTS}
             ORDER BY e.g;"
    ))
    .await
    .unwrap();

    // Seal them all: one chain for the organization, positions 1.. in event order, sealed an
    // hour ago. The hashes are placeholders, not real links: this benchmark measures cost and
    // never verifies the chain.
    conn.batch_execute(&format!(
        "INSERT INTO audit_chain (chain_id, position, event_seq, prev_hash, hash, sealed_at)
             SELECT '{organization}', n, seq, lpad(to_hex(n - 1), 64, '0'), lpad(to_hex(n), 64, '0'),
                    now() - interval '1 hour'
             FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM audit_events) AS events;"
    ))
    .await
    .unwrap();
    conn.batch_execute("VACUUM ANALYZE").await.unwrap();
    organization
}

/// Every current pairing: (coach, participant).
async fn caseloads(url: &str) -> Vec<(Uuid, Uuid)> {
    #[derive(QueryableByName)]
    struct Pair {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        coach_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        participant_id: Uuid,
    }
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let pairs: Vec<Pair> = diesel::sql_query(
        "SELECT coach_id, participant_id FROM pairings WHERE status <> 'ended' ORDER BY participant_id",
    )
    .load(&mut conn)
    .await
    .unwrap();
    pairs
        .into_iter()
        .map(|p| (p.coach_id, p.participant_id))
        .collect()
}

/// Events not yet linked into the chain, or `None` when the query no longer fits the schema.
async fn unsealed_events(url: &str) -> Option<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let mut conn = AsyncPgConnection::establish(url).await.ok()?;
    let row: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM audit_events e
         WHERE e.seq > (SELECT coalesce(max(event_seq), 0) - 10000 FROM audit_chain)
           AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_seq = e.seq)",
    )
    .get_result(&mut conn)
    .await
    .ok()?;
    Some(row.count)
}

// ---------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------
// Load

struct Load {
    client: reqwest::Client,
    base: String,
    organization: Uuid,
    coaches: Vec<Uuid>,
    /// `Authorization` header per coach, reissued before each window so none expires.
    tokens: Vec<HeaderValue>,
    /// (coach index, participant), shuffled so consecutive requests hit unrelated rows.
    reads: Arc<Vec<(usize, Uuid)>>,
    next: Arc<AtomicUsize>,
}

struct LoadResult {
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
    /// Latencies of successful requests, sorted, in µs.
    latencies: Vec<u32>,
}

impl Load {
    fn new(
        client: &reqwest::Client,
        base: &str,
        organization: Uuid,
        caseloads: Vec<(Uuid, Uuid)>,
    ) -> Self {
        let mut coaches: Vec<Uuid> = caseloads.iter().map(|&(coach, _)| coach).collect();
        coaches.sort();
        coaches.dedup();
        let mut reads: Vec<(usize, Uuid)> = caseloads
            .iter()
            .map(|(coach, participant)| (coaches.binary_search(coach).unwrap(), *participant))
            .collect();
        reads.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));
        let mut load = Self {
            client: client.clone(),
            base: base.to_owned(),
            organization,
            coaches,
            tokens: Vec::new(),
            reads: Arc::new(reads),
            next: Arc::new(AtomicUsize::new(0)),
        };
        load.reissue_tokens();
        load
    }

    fn reissue_tokens(&mut self) {
        let keys = TokenKeys::new(SECRET.as_bytes(), ISSUER, AUDIENCE);
        self.tokens = self
            .coaches
            .iter()
            .map(|&coach| {
                let token = keys
                    .issue(coach, self.organization, Role::Coach, 0)
                    .unwrap();
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
            })
            .collect();
    }

    /// One read, to fail early and clearly when the request itself is wrong.
    async fn check(&self) {
        let (coach, participant) = self.reads[0];
        let response = self
            .client
            .get(format!("{}/api/v1/participants/{participant}", self.base))
            .header(AUTHORIZATION, self.tokens[coach].clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(
            status == 200 && body.contains(&participant.to_string()),
            "a coach's read of their participant answered {status}: {body}"
        );
    }

    async fn run(&self, duration: Duration) -> LoadResult {
        let started = Instant::now();
        let deadline = started + duration;
        let tokens = Arc::new(self.tokens.clone());
        let mut tasks = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let client = self.client.clone();
            let base = self.base.clone();
            let tokens = Arc::clone(&tokens);
            let reads = Arc::clone(&self.reads);
            let next = Arc::clone(&self.next);
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (mut errors, mut first_error) = (0u64, None);
                while Instant::now() < deadline {
                    let (coach, participant) =
                        reads[next.fetch_add(1, Ordering::Relaxed) % reads.len()];
                    let url = format!("{base}/api/v1/participants/{participant}");
                    let sent = Instant::now();
                    let outcome = match client
                        .get(url)
                        .header(AUTHORIZATION, tokens[coach].clone())
                        .send()
                        .await
                    {
                        Ok(response) => {
                            let status = response.status();
                            match response.bytes().await {
                                Ok(_) if status == 200 => Ok(()),
                                Ok(body) => Err(format!(
                                    "{status}: {}",
                                    String::from_utf8_lossy(&body[..body.len().min(200)])
                                )),
                                Err(error) => Err(error.to_string()),
                            }
                        }
                        Err(error) => Err(error.to_string()),
                    };
                    match outcome {
                        Ok(()) => latencies
                            .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX)),
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert(error);
                        }
                    }
                }
                (latencies, errors, first_error)
            }));
        }
        let mut result = LoadResult {
            requests: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            latencies: Vec::new(),
        };
        for task in tasks {
            let (latencies, errors, first_error) = task.await.unwrap();
            result.latencies.extend(latencies);
            result.errors += errors;
            if result.first_error.is_none() {
                result.first_error = first_error;
            }
        }
        result.elapsed = started.elapsed();
        result.requests = result.latencies.len() as u64 + result.errors;
        result.latencies.sort_unstable();
        result
    }
}

// ---------------------------------------------------------------------------------------
// Measured windows

struct Run {
    number: usize,
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latencies: Vec<u32>,
    app_cpu: Duration,
    /// CPU of the bench database's backends, when they run on this machine.
    db_cpu: Option<Duration>,
    statements: Option<Vec<Statement>>,
    /// The machine's 1-minute load average as the window closed (other work shows here).
    load_average: Option<f64>,
}

impl Run {
    fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Latency at quantile `q`, in ms.
    fn latency(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank =
            ((self.latencies.len() as f64 * q).ceil() as usize).clamp(1, self.latencies.len());
        f64::from(self.latencies[rank - 1]) / 1000.0
    }

    fn per_request(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }

    /// (transaction control, other) statement calls per request.
    fn statements_per_request(&self) -> Option<(f64, f64)> {
        let statements = self.statements.as_ref()?;
        let per = |control: bool| {
            statements
                .iter()
                .filter(|s| s.is_transaction_control() == control)
                .map(|s| s.calls as f64)
                .sum::<f64>()
                / self.requests.max(1) as f64
        };
        Some((per(true), per(false)))
    }
}

async fn measure(
    load: &mut Load,
    server: &Server,
    admin: &mut AsyncPgConnection,
    stats: Option<&StatementStats>,
    database: &str,
    window: Duration,
) -> Run {
    // Fresh tokens, so none expires however long the windows are.
    load.reissue_tokens();
    let backends = backend_pids(admin, database).await;
    if let Some(stats) = stats {
        stats.reset(admin).await;
    }
    let db_before = backends_cpu(&backends);
    let app_before = server.cpu();
    let result = load.run(window).await;
    let app_cpu = server.cpu().saturating_sub(app_before);
    let db_cpu = cpu_since(&db_before, &backends_cpu(&backends));
    let statements = match stats {
        Some(stats) => Some(stats.read(admin).await),
        None => None,
    };
    if let Some(error) = &result.first_error {
        eprintln!("first error: {error}");
    }
    Run {
        number: 0,
        requests: result.requests,
        errors: result.errors,
        elapsed: result.elapsed,
        latencies: result.latencies,
        app_cpu,
        db_cpu,
        statements,
        load_average: load_average(),
    }
}

fn report_runs(runs: &[Run]) {
    println!(
        "\n{:<7} {:>9} {:>6} {:>8} {:>7} {:>7} {:>8} {:>11} {:>10} {:>9} {:>7} {:>6}",
        "run",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "app µs/req",
        "db µs/req",
        "stmt/req",
        "tx/req",
        "load1"
    );
    type Column = Box<dyn Fn(&Run) -> Option<f64>>;
    let columns: Vec<(Column, usize)> = vec![
        (Box::new(|r: &Run| Some(r.requests as f64)), 0),
        (Box::new(|r: &Run| Some(r.errors as f64)), 0),
        (Box::new(|r: &Run| Some(r.throughput())), 0),
        (Box::new(|r: &Run| Some(r.latency(0.50))), 2),
        (Box::new(|r: &Run| Some(r.latency(0.99))), 2),
        (Box::new(|r: &Run| Some(r.latency(0.999))), 2),
        (Box::new(|r: &Run| Some(r.per_request(r.app_cpu))), 0),
        (
            Box::new(|r: &Run| r.db_cpu.map(|cpu| r.per_request(cpu))),
            0,
        ),
        (
            Box::new(|r: &Run| r.statements_per_request().map(|s| s.1)),
            2,
        ),
        (
            Box::new(|r: &Run| r.statements_per_request().map(|s| s.0)),
            2,
        ),
        (Box::new(|r: &Run| r.load_average), 1),
    ];
    let widths = [9, 6, 8, 7, 7, 8, 11, 10, 9, 7, 6];
    let cell = |value: Option<f64>, width: usize, decimals: usize| match value {
        Some(v) if v.is_finite() => format!(" {v:>width$.decimals$}"),
        _ => format!(" {:>width$}", "n/a"),
    };
    for run in runs {
        let mut line = format!("{:<7}", run.number);
        for ((column, decimals), width) in columns.iter().zip(widths) {
            line.push_str(&cell(column(run), width, *decimals));
        }
        println!("{line}");
    }
    let mut line = format!("{:<7}", "median");
    for ((column, decimals), width) in columns.iter().zip(widths) {
        let mut values: Vec<f64> = runs.iter().filter_map(column).collect();
        values.sort_by(f64::total_cmp);
        let median = (!values.is_empty()).then(|| values[values.len() / 2]);
        line.push_str(&cell(median, width, *decimals));
    }
    println!("{line}");
    println!(
        "(app = the server process's CPU, db = the bench database's backends' CPU; \
         stmt/req excludes BEGIN/COMMIT/ROLLBACK, counted in tx/req; all include the \
         background sealer's work during the window; load1 = the machine's load average)"
    );
}

/// Ten seconds with no requests: what the server and its background work cost.
async fn idle(
    server: &Server,
    admin: &mut AsyncPgConnection,
    stats: Option<&StatementStats>,
    database: &str,
) {
    // Let the sealer finish whatever the load left behind first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let backends = backend_pids(admin, database).await;
    if let Some(stats) = stats {
        stats.reset(admin).await;
    }
    let db_before = backends_cpu(&backends);
    let app_before = server.cpu();
    let started = Instant::now();
    tokio::time::sleep(IDLE).await;
    let elapsed = started.elapsed().as_secs_f64();
    let app = server.cpu().saturating_sub(app_before).as_secs_f64();
    let db = match cpu_since(&db_before, &backends_cpu(&backends)) {
        Some(cpu) => format!("{:.1}%", cpu.as_secs_f64() * 100.0 / elapsed),
        None => "n/a".to_owned(),
    };
    println!(
        "\nidle for {elapsed:.0} s after the load: server CPU {:.2}% of one core, database \
         backends' CPU {db} of one core",
        app * 100.0 / elapsed
    );
    if let Some(stats) = stats {
        let mut statements = stats.read(admin).await;
        statements.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        let calls: i64 = statements.iter().map(|s| s.calls).sum();
        let time: f64 = statements.iter().map(|s| s.total_ms).sum();
        println!(
            "statements while idle: {calls} calls ({:.1}/s), {time:.0} ms of execution \
             ({:.1}% of one core)",
            calls as f64 / elapsed,
            time / 10.0 / elapsed
        );
        print_statements(&statements, (elapsed.round() as u64).max(1), "calls/s");
    }
}

// ---------------------------------------------------------------------------------------
fn print_statements(statements: &[Statement], per: u64, unit: &str) {
    let total_ms: f64 = statements.iter().map(|s| s.total_ms).sum();
    let share = |ms: f64| {
        if total_ms > 0.0 {
            ms * 100.0 / total_ms
        } else {
            0.0
        }
    };
    println!("  {unit:>9} {:>9} {:>7}  query", "mean ms", "% time");
    for statement in statements.iter().take(TOP_STATEMENTS) {
        let text: String = statement
            .query
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(90)
            .collect();
        println!(
            "  {:>9.3} {:>9.3} {:>7.1}  {text}",
            statement.calls as f64 / per as f64,
            statement.total_ms / statement.calls.max(1) as f64,
            share(statement.total_ms)
        );
    }
    if statements.len() > TOP_STATEMENTS {
        let rest = &statements[TOP_STATEMENTS..];
        let calls: i64 = rest.iter().map(|s| s.calls).sum();
        println!(
            "  {:>9.3} {:>9} {:>7.1}  ({} other statements)",
            calls as f64 / per as f64,
            "",
            share(rest.iter().map(|s| s.total_ms).sum()),
            rest.len()
        );
    }
}

/// Server processes serving the bench database (the service's pool).
async fn backend_pids(admin: &mut AsyncPgConnection, database: &str) -> Vec<u32> {
    #[derive(QueryableByName)]
    struct Backend {
        #[diesel(sql_type = Integer)]
        pid: i32,
    }
    let backends: Vec<Backend> =
        diesel::sql_query("SELECT pid FROM pg_stat_activity WHERE datname = $1")
            .bind::<Text, _>(database)
            .load(admin)
            .await
            .unwrap_or_default();
    backends
        .into_iter()
        .filter_map(|b| u32::try_from(b.pid).ok())
        .collect()
}

/// CPU used so far by each of these backends that is a process of this machine.
fn backends_cpu(pids: &[u32]) -> HashMap<u32, Duration> {
    pids.iter()
        .filter_map(|&pid| Some((pid, process_cpu(pid)?)))
        .collect()
}

/// CPU the backends used between two readings (those alive at both), or `None` when none
/// could be read.
fn cpu_since(before: &HashMap<u32, Duration>, after: &HashMap<u32, Duration>) -> Option<Duration> {
    let common: Vec<Duration> = after
        .iter()
        .filter_map(|(pid, &now)| Some(now.saturating_sub(*before.get(pid)?)))
        .collect();
    (!common.is_empty()).then(|| common.iter().sum())
}
