//! Session notes at scale: page 2 of one participant's notes,
//! `GET /api/v1/participants/{id}/session-notes?limit=20&cursor=…`, by the participant's
//! coach, when the database holds 10,000 and then 1,000,000 session notes, and the creation of
//! a note, `POST /api/v1/participants/{id}/session-notes`, at 1,000,000; each under 8
//! concurrent keep-alive connections against the release `tandem serve` binary running as its
//! own process over a real PostgreSQL.
//!
//! The organization has 50,000 participants and coaches with 25 participants each. Fifty of
//! the participants (one in a thousand, so fifty coaches) have 100 notes each, five pages of
//! 20: the listed ones. The rest of the notes, 20 per participant, belong to as many of the
//! other participants as the total needs (250 for 10,000 notes, 49,750 for 1,000,000). Notes
//! are spread over the past year and stored in time order, so one participant's notes lie
//! scattered over the table as they would after a year of use. The table is refilled between
//! the two sizes; everything else stays.
//!
//! Prints, for each figure, requests, errors, req/s, p50/p99/p99.9 latency, statements per
//! request (from `pg_stat_statements`) and the machine's load average; the ratio of the list
//! figures at 1,000,000 and at 10,000 notes (near 1 when the list cost does not grow with the
//! table); and the plan (`EXPLAIN (ANALYZE, BUFFERS)`) of the page-2 list statement at
//! 1,000,000 notes, its text taken from `pg_stat_statements` as the server sent it, prepared
//! and executed as the server's pool does (so a generic plan shows if PostgreSQL picks one),
//! with whether it reads `session_notes_participant_occurred_idx` without sorting.
//!
//! Run with `cargo bench --bench session_notes`. Prints figures; asserts nothing.
//!
//! * `BENCH_SECONDS`: length of each measured window (default 15), after a 3 s warm-up.
//! * `BENCH_DATABASE_URL`: use this server instead of a private cluster; it must allow
//!   `CREATE DATABASE` and `CREATE ROLE`. Statement counts and the plan need
//!   `pg_stat_statements` in its `shared_preload_libraries` (they are skipped otherwise).
//!
//! The load generator runs in this process and shares the machine's cores with the server
//! and PostgreSQL, so throughput is a figure for this machine, not a capacity.
//!
//! Only raw SQL, the `tandem` binary and a few stable library entry points are used, so the
//! same program can measure other versions of the service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
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
    database_url, load_average, Server, StatementStats, AUDIENCE, ISSUER, POOL_SIZE, SECRET,
};

const PARTICIPANTS: usize = 50_000;
const PER_COACH: usize = 25;
/// Every `LISTED_EVERY`th participant is listed, and has `LISTED_NOTES` notes.
const LISTED_EVERY: usize = 1_000;
const LISTED_NOTES: usize = 100;
/// Notes of each other participant that has notes.
const NOTES_EACH: usize = 20;
const SMALL: usize = 10_000;
const LARGE: usize = 1_000_000;
const PAGE: usize = 20;
const CONNECTIONS: usize = 8;
const WARMUP: Duration = Duration::from_secs(3);
const INDEX: &str = "session_notes_participant_occurred_idx";

fn main() {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(15);
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
    let started = Instant::now();
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
         participants, one active pairing each) in {:.1} s",
        PARTICIPANTS / PER_COACH,
        seeding.elapsed().as_secs_f64()
    );
    let seeding = Instant::now();
    seed_notes(&url, organization, SMALL).await;
    println!(
        "seeded {SMALL} session notes in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let stats = StatementStats::enable(&mut admin, &name).await;
    if stats.is_none() {
        println!(
            "note: pg_stat_statements is not available on this server (it must be in \
             shared_preload_libraries); statement counts and the plan are skipped"
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
    let mut load = Load::new(&client, &server.base, organization, caseloads(&url).await);
    println!(
        "load: {CONNECTIONS} connections, closed loop, keep-alive; warm-up {} s and a window \
         of {} s per figure; lists over {} participants with {LISTED_NOTES} notes each, \
         creations over all {} participants",
        WARMUP.as_secs(),
        window.as_secs(),
        load.listed.len(),
        load.caseloads.len()
    );

    let mut figures = Vec::new();
    load.set_cursors().await;
    load.run(Kind::List, WARMUP).await;
    figures.push(
        measure(
            &mut load,
            &mut admin,
            stats.as_ref(),
            Kind::List,
            SMALL,
            window,
        )
        .await,
    );

    let seeding = Instant::now();
    seed_notes(&url, organization, LARGE).await;
    println!(
        "refilled the table with {LARGE} session notes in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    load.set_cursors().await;
    load.run(Kind::List, WARMUP).await;
    figures.push(
        measure(
            &mut load,
            &mut admin,
            stats.as_ref(),
            Kind::List,
            LARGE,
            window,
        )
        .await,
    );
    let statement = match &stats {
        Some(stats) => stats.page_two(&mut admin).await,
        None => None,
    };

    load.run(Kind::Create, WARMUP).await;
    figures.push(
        measure(
            &mut load,
            &mut admin,
            stats.as_ref(),
            Kind::Create,
            LARGE,
            window,
        )
        .await,
    );

    report(&figures);
    match statement {
        Some(statement) => {
            let (coach, participant) = load.listed[0];
            explain(
                &runtime_url,
                &statement,
                organization,
                load.coaches[coach],
                participant,
            )
            .await;
        }
        None if stats.is_some() => {
            println!("\nthe page-2 list statement was not found in pg_stat_statements")
        }
        None => {}
    }
    println!(
        "\ntotal run time {:.0} s, seeding included",
        started.elapsed().as_secs_f64()
    );

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
    // `bench_roster` numbers the participants for the note seeding; the service never reads it.
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
         CREATE TABLE bench_roster AS
             SELECT gen_random_uuid() AS pairing_id, p.id AS participant_id, c.id AS coach_id, p.n,
                    p.n % {LISTED_EVERY} = 0 AS listed,
                    -- rank among the participants that are not listed
                    p.n - p.n / {LISTED_EVERY} - 1 AS other_rank
             FROM bench_participants p JOIN bench_coaches c ON c.n = p.n / {PER_COACH};
         INSERT INTO pairings (id, organization_id, participant_id, coach_id, status, started_at,
                               created_by)
             SELECT pairing_id, '{organization}', participant_id, coach_id, 'active',
                    now() - interval '400 days', coach_id
             FROM bench_roster;
         INSERT INTO status_changes (id, subject_type, subject_id, from_status, to_status, actor_id, at)
             SELECT gen_random_uuid(), 'pairing', pairing_id, NULL, 'active', coach_id,
                    now() - interval '400 days'
             FROM bench_roster;",
        last_coach = coaches - 1,
        last_participant = PARTICIPANTS - 1,
    ))
    .await
    .unwrap();
    conn.batch_execute("VACUUM ANALYZE").await.unwrap();
    organization
}

/// Empties `session_notes` and fills it with `total` notes: `LISTED_NOTES` for each listed
/// participant, `NOTES_EACH` for as many others as the total needs; written by the
/// participant's coach, over the past year, stored in time order, with time-ordered
/// (version 7) ids like the service's own.
async fn seed_notes(url: &str, organization: Uuid, total: usize) {
    let listed = PARTICIPANTS / LISTED_EVERY;
    let others = (total - listed * LISTED_NOTES) / NOTES_EACH;
    assert!(
        others <= PARTICIPANTS - listed,
        "too many notes for the participants"
    );
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    conn.batch_execute(&format!(
        "TRUNCATE session_note_amendments, session_notes;
         INSERT INTO session_notes (id, organization_id, participant_id, author_id, session_type,
                                    occurred_at, duration_minutes, summary, visibility, mood,
                                    created_at, updated_at)
             SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                        placing substring(int8send((extract(epoch FROM s.at) * 1000)::bigint) FROM 3)
                        FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid,
                    '{organization}', s.participant_id, s.coach_id,
                    (ARRAY['individual', 'phone', 'video', 'outreach', 'group'])[1 + s.k % 5],
                    s.at, 15 + (s.k * 7) % 76,
                    'Checked in on the week; talked through triggers and next steps (' || s.k || ').',
                    'care_team', 1 + s.k % 5, s.at + interval '1 hour', s.at + interval '1 hour'
             FROM (SELECT r.participant_id, r.coach_id, k,
                          now() - interval '2 hours'
                              - (random() * 365 * 24 * 3600) * interval '1 second' AS at
                   FROM bench_roster r
                   CROSS JOIN LATERAL generate_series(1,
                       CASE WHEN r.listed THEN {LISTED_NOTES}
                            WHEN r.other_rank < {others} THEN {NOTES_EACH}
                            ELSE 0 END) AS k) AS s
             ORDER BY s.at;"
    ))
    .await
    .unwrap();
    conn.batch_execute("VACUUM ANALYZE session_notes")
        .await
        .unwrap();
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let count: Count = diesel::sql_query("SELECT count(*) AS count FROM session_notes")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(count.count as usize, total, "session notes seeded");
}

/// Every current pairing: (coach, participant, listed).
async fn caseloads(url: &str) -> Vec<(Uuid, Uuid, bool)> {
    #[derive(QueryableByName)]
    struct Pair {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        coach_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        participant_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        listed: bool,
    }
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let pairs: Vec<Pair> = diesel::sql_query(
        "SELECT coach_id, participant_id, listed FROM bench_roster ORDER BY participant_id",
    )
    .load(&mut conn)
    .await
    .unwrap();
    pairs
        .into_iter()
        .map(|p| (p.coach_id, p.participant_id, p.listed))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The server process

// ---------------------------------------------------------------------------------------
// Load

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Page 2 of a listed participant's notes.
    List,
    /// A new note for any participant.
    Create,
}

struct Load {
    client: reqwest::Client,
    base: String,
    organization: Uuid,
    coaches: Vec<Uuid>,
    /// `Authorization` header per coach, reissued before each window so none expires.
    tokens: Vec<HeaderValue>,
    /// (coach index, participant) of the listed participants.
    listed: Vec<(usize, Uuid)>,
    /// `next_cursor` of page 1, per listed participant (set for the current table).
    cursors: Arc<Vec<String>>,
    /// (coach index, participant) of every pairing, shuffled, for creations.
    caseloads: Arc<Vec<(usize, Uuid)>>,
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
        pairs: Vec<(Uuid, Uuid, bool)>,
    ) -> Self {
        let mut coaches: Vec<Uuid> = pairs.iter().map(|&(coach, _, _)| coach).collect();
        coaches.sort();
        coaches.dedup();
        let index = |coach: &Uuid| coaches.binary_search(coach).unwrap();
        let listed: Vec<(usize, Uuid)> = pairs
            .iter()
            .filter(|p| p.2)
            .map(|(coach, participant, _)| (index(coach), *participant))
            .collect();
        let mut caseloads: Vec<(usize, Uuid)> = pairs
            .iter()
            .map(|(coach, participant, _)| (index(coach), *participant))
            .collect();
        caseloads.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));
        let mut load = Self {
            client: client.clone(),
            base: base.to_owned(),
            organization,
            coaches,
            tokens: Vec::new(),
            listed,
            cursors: Arc::new(Vec::new()),
            caseloads: Arc::new(caseloads),
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

    fn notes_url(&self, participant: Uuid) -> String {
        format!(
            "{}/api/v1/participants/{participant}/session-notes",
            self.base
        )
    }

    /// Reads page 1 of each listed participant's notes for its `next_cursor`, then page 2 of
    /// one, to fail early and clearly when the requests themselves are wrong.
    async fn set_cursors(&mut self) {
        #[derive(serde::Deserialize)]
        struct Page {
            items: Vec<serde_json::Value>,
            next_cursor: Option<String>,
        }
        let mut cursors = Vec::with_capacity(self.listed.len());
        for &(coach, participant) in &self.listed {
            let response = self
                .client
                .get(format!("{}?limit={PAGE}", self.notes_url(participant)))
                .header(AUTHORIZATION, self.tokens[coach].clone())
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            assert!(
                status == 200,
                "page 1 of a participant's notes: {status}: {body}"
            );
            let page: Page = serde_json::from_str(&body).unwrap();
            assert_eq!(page.items.len(), PAGE, "page 1 of a participant's notes");
            cursors.push(page.next_cursor.expect("a second page"));
        }
        self.cursors = Arc::new(cursors);
        let (coach, participant) = self.listed[0];
        let response = self
            .client
            .get(page_two_url(&self.notes_url(participant), &self.cursors[0]))
            .header(AUTHORIZATION, self.tokens[coach].clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let page: Option<Page> = serde_json::from_str(&body).ok();
        assert!(
            status == 200 && page.is_some_and(|p| p.items.len() == PAGE && p.next_cursor.is_some()),
            "page 2 of a participant's notes answered {status}: {body}"
        );
    }

    async fn run(&self, kind: Kind, duration: Duration) -> LoadResult {
        let started = Instant::now();
        let deadline = started + duration;
        let tokens = Arc::new(self.tokens.clone());
        let listed = Arc::new(self.listed.clone());
        let mut tasks = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let client = self.client.clone();
            let base = self.base.clone();
            let tokens = Arc::clone(&tokens);
            let listed = Arc::clone(&listed);
            let cursors = Arc::clone(&self.cursors);
            let caseloads = Arc::clone(&self.caseloads);
            let next = Arc::clone(&self.next);
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let (mut errors, mut first_error) = (0u64, None);
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let (request, expected) = match kind {
                        Kind::List => {
                            let (coach, participant) = listed[n % listed.len()];
                            let url = page_two_url(
                                &format!("{base}/api/v1/participants/{participant}/session-notes"),
                                &cursors[n % cursors.len()],
                            );
                            (
                                client.get(url).header(AUTHORIZATION, tokens[coach].clone()),
                                200,
                            )
                        }
                        Kind::Create => {
                            let (coach, participant) = caseloads[n % caseloads.len()];
                            let occurred_at = chrono::Utc::now()
                                - chrono::Duration::minutes(10 + (n % 10_000) as i64);
                            let session_type = ["individual", "phone", "video"][n % 3];
                            let body = serde_json::json!({
                                "session_type": session_type,
                                "occurred_at": occurred_at,
                                "duration_minutes": 30 + n % 60,
                                "summary": "Reviewed the week and set a goal for the next one.",
                            });
                            (
                                client
                                    .post(format!(
                                        "{base}/api/v1/participants/{participant}/session-notes"
                                    ))
                                    .header(AUTHORIZATION, tokens[coach].clone())
                                    .json(&body),
                                201,
                            )
                        }
                    };
                    let sent = Instant::now();
                    let outcome = match request.send().await {
                        Ok(response) => {
                            let status = response.status();
                            match response.bytes().await {
                                Ok(_) if status == expected => Ok(()),
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

fn page_two_url(notes_url: &str, cursor: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("limit", &PAGE.to_string())
        .append_pair("cursor", cursor)
        .finish();
    format!("{notes_url}?{query}")
}

// ---------------------------------------------------------------------------------------
// Measured windows

struct Figure {
    kind: Kind,
    notes: usize,
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latencies: Vec<u32>,
    /// Statement calls per request, transaction control excluded.
    statements: Option<f64>,
    /// The machine's 1-minute load average as the window closed (other work shows here).
    load_average: Option<f64>,
}

impl Figure {
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
}

async fn measure(
    load: &mut Load,
    admin: &mut AsyncPgConnection,
    stats: Option<&StatementStats>,
    kind: Kind,
    notes: usize,
    window: Duration,
) -> Figure {
    // Fresh tokens, so none expires however long the windows are.
    load.reissue_tokens();
    if let Some(stats) = stats {
        stats.reset(admin).await;
    }
    let result = load.run(kind, window).await;
    let statements = match stats {
        Some(stats) => {
            let calls: i64 = stats
                .read(admin)
                .await
                .iter()
                .filter(|s| !s.is_transaction_control())
                .map(|s| s.calls)
                .sum();
            Some(calls as f64 / result.requests.max(1) as f64)
        }
        None => None,
    };
    if let Some(error) = &result.first_error {
        eprintln!("first error: {error}");
    }
    Figure {
        kind,
        notes,
        requests: result.requests,
        errors: result.errors,
        elapsed: result.elapsed,
        latencies: result.latencies,
        statements,
        load_average: load_average(),
    }
}

fn report(figures: &[Figure]) {
    println!(
        "\n{:<26} {:>9} {:>8} {:>6} {:>8} {:>7} {:>7} {:>8} {:>8} {:>6}",
        "request",
        "notes",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "stmt/req",
        "load1"
    );
    let optional = |value: Option<f64>, width: usize, decimals: usize| match value {
        Some(v) => format!("{v:>width$.decimals$}"),
        None => format!("{:>width$}", "n/a"),
    };
    for figure in figures {
        let label = match figure.kind {
            Kind::List => "GET notes, page 2 of 20",
            Kind::Create => "POST a note",
        };
        println!(
            "{label:<26} {:>9} {:>8} {:>6} {:>8.0} {:>7.2} {:>7.2} {:>8.2} {} {}",
            figure.notes,
            figure.requests,
            figure.errors,
            figure.throughput(),
            figure.latency(0.50),
            figure.latency(0.99),
            figure.latency(0.999),
            optional(figure.statements, 8, 2),
            optional(figure.load_average, 6, 1),
        );
    }
    println!(
        "(stmt/req excludes BEGIN/COMMIT/ROLLBACK and includes the background sealer's work \
         during the window; load1 = the machine's load average)"
    );
    let lists: Vec<&Figure> = figures.iter().filter(|f| f.kind == Kind::List).collect();
    if let [small, large] = lists[..] {
        println!(
            "\nlist at {} notes / at {} notes: p50 ×{:.2}, p99 ×{:.2}, req/s ×{:.2}",
            large.notes,
            small.notes,
            large.latency(0.50) / small.latency(0.50),
            large.latency(0.99) / small.latency(0.99),
            large.throughput() / small.throughput()
        );
    }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL's view

impl StatementStats {
    /// The text of the most called statement reading a page of session notes after a cursor.
    async fn page_two(&self, admin: &mut AsyncPgConnection) -> Option<String> {
        self.read(admin)
            .await
            .into_iter()
            .find(|s| {
                let q = &s.query;
                q.starts_with("SELECT")
                    && q.contains(r#"FROM "session_notes""#)
                    && q.contains("ORDER BY")
                    && q.contains(r#""session_notes"."occurred_at" <="#)
            })
            .map(|s| s.query)
    }
}

/// The value of the parameter that follows `before` in the page-2 statement: `Bind` for the
/// server's bind parameters (given as SQL literals for `EXECUTE`), `Inline` for constants the
/// service writes as literals, should `pg_stat_statements` show them as parameters.
enum Value {
    Bind(String),
    Inline(&'static str),
}

struct Binds {
    organization: Uuid,
    coach: Uuid,
    participant: Uuid,
    after_at: String,
    after_id: Uuid,
}

fn value_for(before: &str, binds: &Binds) -> Option<Value> {
    let b = before.trim_end();
    let ends = |suffixes: &[&str]| suffixes.iter().any(|s| b.ends_with(s));
    let uuid = |id: Uuid| Value::Bind(format!("'{id}'::uuid"));
    if ends(&[r#""organization_id" ="#]) {
        Some(uuid(binds.organization))
    } else if ends(&[r#""coach_id" ="#, r#""author_id" ="#]) {
        Some(uuid(binds.coach))
    } else if ends(&[r#""session_notes"."participant_id" ="#]) {
        Some(uuid(binds.participant))
    } else if ends(&[r#""occurred_at" <="#, r#""occurred_at" <"#]) {
        Some(Value::Bind(format!("'{}'::timestamptz", binds.after_at)))
    } else if ends(&[r#""session_notes"."id" <"#]) {
        Some(uuid(binds.after_id))
    } else if ends(&["LIMIT"]) {
        Some(Value::Bind(format!("{}::bigint", PAGE + 1)))
    } else if ends(&["status <>"]) {
        Some(Value::Inline("'ended'"))
    } else if ends(&["visibility <>"]) {
        Some(Value::Inline("'restricted'"))
    } else {
        None
    }
}

/// Prints the plan of the page-2 statement for the first listed participant, prepared and
/// executed five times first as the server's pool does, so the plan is the one PostgreSQL
/// settles on for the server (a generic one if it prefers it), run as the server's login.
async fn explain(
    runtime_url: &str,
    statement: &str,
    organization: Uuid,
    coach: Uuid,
    participant: Uuid,
) {
    #[derive(QueryableByName)]
    struct After {
        #[diesel(sql_type = Text)]
        at: String,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        #[diesel(column_name = "QUERY PLAN")]
        line: String,
    }
    let mut conn = AsyncPgConnection::establish(runtime_url).await.unwrap();
    // Where page 1 ends: its last note.
    let after: After = diesel::sql_query(format!(
        "SELECT occurred_at::text AS at, id FROM session_notes
         WHERE participant_id = $1 ORDER BY occurred_at DESC, id DESC OFFSET {} LIMIT 1",
        PAGE - 1
    ))
    .bind::<diesel::sql_types::Uuid, _>(participant)
    .get_result(&mut conn)
    .await
    .unwrap();
    let binds = Binds {
        organization,
        coach,
        participant,
        after_at: after.at,
        after_id: after.id,
    };

    // Rewrite the statement: constants back inline, bind parameters numbered anew from $1.
    let mut text = String::new();
    let mut arguments = Vec::new();
    let mut rest = statement;
    while let Some(at) = rest.find('$') {
        let digits = rest[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count();
        if digits == 0 {
            text.push_str(&rest[..=at]);
            rest = &rest[at + 1..];
            continue;
        }
        let before = format!("{text}{}", &rest[..at]);
        match value_for(&before, &binds) {
            Some(Value::Bind(value)) => {
                arguments.push(value);
                text = format!("{before}${}", arguments.len());
            }
            Some(Value::Inline(value)) => text = format!("{before}{value}"),
            None => {
                println!(
                    "\nno value known for parameter {} of the page-2 statement; its text:\n{statement}",
                    &rest[at..=at + digits]
                );
                return;
            }
        }
        rest = &rest[at + 1 + digits..];
    }
    text.push_str(rest);

    println!(
        "\npage-2 list statement as the server sent it (from pg_stat_statements):\n{statement}"
    );
    conn.batch_execute(&format!("PREPARE bench_page_two AS {text}"))
        .await
        .unwrap();
    let execute = format!("EXECUTE bench_page_two({})", arguments.join(", "));
    for _ in 0..5 {
        conn.batch_execute(&execute).await.unwrap();
    }
    let plan: Vec<Line> = diesel::sql_query(format!("EXPLAIN (ANALYZE, BUFFERS) {execute}"))
        .load(&mut conn)
        .await
        .unwrap();
    println!(
        "\nEXPLAIN (ANALYZE, BUFFERS), as the server's login, at {LARGE} notes, the 6th \
         execution of the prepared statement ({execute}):"
    );
    for line in &plan {
        println!("  {}", line.line);
    }
    let uses_index = plan.iter().any(|l| l.line.contains(INDEX));
    let sorts = plan.iter().any(|l| {
        let node = l.line.trim_start().trim_start_matches("->").trim_start();
        node.starts_with("Sort") || node.starts_with("Incremental Sort")
    });
    println!(
        "uses {INDEX}: {}; Sort node: {}",
        if uses_index { "yes" } else { "NO" },
        if sorts { "YES" } else { "none" }
    );
}
