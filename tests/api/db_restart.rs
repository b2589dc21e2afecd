//! Surviving a database restart. Under steady load (a coach reading a participant and their
//! notes, and writing notes with `Idempotency-Key`, each retried with the same key until it
//! gets a definite answer), once each kind of request has succeeded PostgreSQL is stopped with
//! `pg_ctl stop -m fast`, kept down five seconds and started again on the same port. Meanwhile every request is answered, a 503 with
//! `Retry-After` and a problem document within the pool's wait timeout, none hangs and none is
//! a 500; within ten seconds of the database being back requests succeed again and `/readyz`
//! is 200, with the same running server; and every note that was answered 201 exists exactly
//! once.
//!
//! The test runs its own cluster: stopping the one the suite shares would break every other
//! test.

use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use embedded_pg::EmbeddedPostgres;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::{json, Value};
use tandem::auth::jwt::TokenKeys;
use tandem::db::schema::session_notes;
use tandem::db::POOL_TIMEOUT;
use tandem::ops::startup::Application;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use crate::helpers::{
    seed_org, test_settings_with, with_database, with_login, AUDIENCE, ISSUER, JWT_SECRET,
};

/// How long PostgreSQL stays down.
const OUTAGE: Duration = Duration::from_secs(5);
/// How soon after PostgreSQL is back requests must succeed again.
const RECOVERY: Duration = Duration::from_secs(10);
/// A 503 must come within the pool's wait timeout; this much more allows for a busy machine.
const MARGIN: Duration = Duration::from_secs(1);
/// Every client request gives up after this long, and a request that does has hung.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(POOL_TIMEOUT.as_secs() + 2);
/// The kinds of request the load sends.
const KINDS: [&str; 3] = ["read", "list", "create"];
/// The load goes on after recovery until each kind has succeeded this often since the last
/// failure.
const SUCCESSES_AFTER: usize = 3;
/// How long the test waits for the load to get going before the stop, and to succeed again
/// after recovery (the bound on recovery itself is `RECOVERY`, checked afterwards).
const PATIENCE: Duration = Duration::from_secs(60);
/// Pause between one worker's requests.
const PACE: Duration = Duration::from_millis(15);

enum Order {
    StopFast,
    Start,
}

type Reply = oneshot::Sender<Result<(), String>>;

/// This test's own PostgreSQL. The server stops when the thread that started it ends, so one
/// long-lived thread starts it, stops it, starts it again and finally removes it.
struct Cluster {
    /// A superuser URL of the `postgres` database.
    url: String,
    orders: Option<mpsc::Sender<(Order, Reply)>>,
    thread: Option<JoinHandle<()>>,
}

impl Cluster {
    fn start() -> Self {
        let (orders, inbox) = mpsc::channel::<(Order, Reply)>();
        let (ready, started) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let progress = &mut |line: &str| eprintln!("[restart cluster] {line}");
            let mut pg = match EmbeddedPostgres::start_temporary(progress) {
                Ok(pg) => pg,
                Err(error) => {
                    let _ = ready.send(Err(error.to_string()));
                    return;
                }
            };
            let _ = ready.send(Ok(pg.url("postgres")));
            for (order, reply) in inbox {
                let done = match order {
                    Order::StopFast => pg.stop_fast(),
                    Order::Start => pg.start_again(progress),
                };
                let _ = reply.send(done.map_err(|error| error.to_string()));
            }
            if let Err(error) = pg.stop() {
                eprintln!("[restart cluster] {error}");
            }
        });
        let url = started
            .recv()
            .unwrap()
            .unwrap_or_else(|e| panic!("cannot start a cluster: {e}"));
        Self {
            url,
            orders: Some(orders),
            thread: Some(thread),
        }
    }

    async fn order(&self, order: Order) {
        let (reply, done) = oneshot::channel();
        self.orders.as_ref().unwrap().send((order, reply)).unwrap();
        done.await.unwrap().unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.orders = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A migrated database on `cluster`, served by a running Tandem that connects as a
/// least-privilege login, with one organization.
struct Served {
    base: String,
    /// A privileged URL of the database, for counting rows.
    owner_url: String,
    token: String,
    participant: Uuid,
}

async fn serve(cluster: &Cluster) -> Served {
    let owner_url = with_database(&cluster.url, "tandem_restart");
    let mut admin = AsyncPgConnection::establish(&cluster.url).await.unwrap();
    admin
        .batch_execute("CREATE DATABASE tandem_restart")
        .await
        .unwrap();
    let url = owner_url.clone();
    tokio::task::spawn_blocking(move || tandem::db::migrate(&url))
        .await
        .unwrap()
        .unwrap();
    let password = Uuid::new_v4().simple().to_string();
    let mut owner = AsyncPgConnection::establish(&owner_url).await.unwrap();
    owner
        .batch_execute(&format!(
            "CREATE ROLE tandem_restart_login LOGIN PASSWORD '{password}' IN ROLE tandem_runtime"
        ))
        .await
        .unwrap();
    let runtime_url = with_login(&owner_url, "tandem_restart_login", &password);
    let app = Application::build(&test_settings_with(&[]), &runtime_url)
        .await
        .unwrap_or_else(|e| panic!("build: {e}"));
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let tokens = TokenKeys::new(JWT_SECRET.as_bytes(), ISSUER, AUDIENCE);
    let org = seed_org(&mut owner, &tokens, "Restart Recovery Community").await;
    Served {
        base,
        owner_url,
        token: org.coach.token,
        participant: org.participant_id,
    }
}

/// What one request got.
#[derive(Debug)]
struct Sample {
    what: &'static str,
    sent: Instant,
    took: Duration,
    /// The status, or why there was none (a timeout counts as a hung request).
    status: Result<u16, String>,
    /// For a 503: whether it had `Retry-After` and a problem document saying 503.
    well_formed: bool,
    replayed: bool,
}

impl Sample {
    fn succeeded(&self) -> bool {
        matches!(self.status, Ok(200 | 201))
    }
}

async fn send(what: &'static str, request: reqwest::RequestBuilder) -> (Sample, Option<Value>) {
    let sent = Instant::now();
    let mut sample = Sample {
        what,
        sent,
        took: Duration::ZERO,
        status: Err(String::new()),
        well_formed: false,
        replayed: false,
    };
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            sample.took = sent.elapsed();
            sample.status = Err(format!("{error:?}"));
            return (sample, None);
        }
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.ok();
    sample.took = sent.elapsed();
    sample.status = Ok(status);
    sample.replayed = headers.contains_key("idempotent-replayed");
    sample.well_formed = headers.contains_key(RETRY_AFTER)
        && headers
            .get(CONTENT_TYPE)
            .is_some_and(|value| value == "application/problem+json")
        && body.as_ref().is_some_and(|body| body["status"] == status);
    (sample, body)
}

type Samples = Arc<Mutex<Vec<Sample>>>;

/// Reads the participant and a page of their notes, in turn, until told to stop.
async fn reader(
    client: reqwest::Client,
    served: Arc<Served>,
    samples: Samples,
    stop: watch::Receiver<bool>,
) {
    let record = format!("{}/api/v1/participants/{}", served.base, served.participant);
    let notes = format!("{record}/session-notes?limit=20");
    let pages = [("read", record), ("list", notes)];
    for (what, url) in pages.iter().cycle() {
        if *stop.borrow() {
            return;
        }
        let (sample, _) = send(what, client.get(url).bearer_auth(&served.token)).await;
        samples.lock().unwrap().push(sample);
        tokio::time::sleep(PACE).await;
    }
}

/// Writes notes, each with its own key and text, retrying one with the same key and body
/// while it gets a 503 or no answer; returns the notes answered 201, as (id, text).
async fn writer(
    client: reqwest::Client,
    served: Arc<Served>,
    samples: Samples,
    stop: watch::Receiver<bool>,
) -> Vec<(Uuid, String)> {
    let url = format!(
        "{}/api/v1/participants/{}/session-notes",
        served.base, served.participant
    );
    let mut created = Vec::new();
    while !*stop.borrow() {
        let key = Uuid::new_v4();
        let summary = format!("Check-in during the database restart, attempt {key}");
        let body = json!({
            "session_type": "individual",
            "occurred_at": (Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
            "duration_minutes": 30,
            "summary": summary,
        });
        loop {
            let request = client
                .post(&url)
                .bearer_auth(&served.token)
                .header("Idempotency-Key", key.to_string())
                .json(&body);
            let (sample, answer) = send("create", request).await;
            let status = sample.status.clone();
            samples.lock().unwrap().push(sample);
            tokio::time::sleep(PACE).await;
            match status {
                Ok(201) => {
                    let id = answer.unwrap()["id"].as_str().unwrap().parse().unwrap();
                    created.push((id, summary));
                    break;
                }
                Ok(503) | Err(_) => continue,
                Ok(_) => break,
            }
        }
    }
    created
}

/// Polls `/readyz` until it answers 200; returns when that was.
async fn ready_again(client: &reqwest::Client, base: &str, back: Instant) -> Instant {
    loop {
        let response = client.get(format!("{base}/readyz")).send().await;
        if response.is_ok_and(|r| r.status() == 200) {
            return Instant::now();
        }
        assert!(
            back.elapsed() < RECOVERY,
            "/readyz is not 200 {} s after the database came back",
            RECOVERY.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `done` holds for the answers so far, polling; panics after `within`.
async fn until(samples: &Samples, within: Duration, what: &str, done: impl Fn(&[Sample]) -> bool) {
    let deadline = Instant::now() + within;
    loop {
        if done(&samples.lock().unwrap()) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}, not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// When the last answer that was not a success came, if any did.
fn last_failure(samples: &[Sample]) -> Option<Instant> {
    samples
        .iter()
        .filter(|sample| !sample.succeeded())
        .map(|sample| sample.sent + sample.took)
        .max()
}

/// Times of the outage, as the test saw them.
struct Timeline {
    stopping: Instant,
    stopped: Instant,
    back: Instant,
    ready: Instant,
}

#[tokio::test]
async fn a_database_restart_answers_503_meanwhile_and_heals_without_a_restart() {
    let _ = env_logger::builder().is_test(true).try_init();
    let cluster = Cluster::start();
    let served = Arc::new(serve(&cluster).await);
    let client = reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .unwrap();
    let samples: Samples = Arc::default();
    let (stop, stopping_flag) = watch::channel(false);
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let args = (client.clone(), served.clone(), samples.clone());
            tokio::spawn(reader(args.0, args.1, args.2, stopping_flag.clone()))
        })
        .collect();
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let args = (client.clone(), served.clone(), samples.clone());
            tokio::spawn(writer(args.0, args.1, args.2, stopping_flag.clone()))
        })
        .collect();

    // The pool holds live connections when the database goes away.
    until(
        &samples,
        PATIENCE,
        "every kind of request succeeds",
        |samples| {
            KINDS
                .iter()
                .all(|what| samples.iter().any(|s| s.what == *what && s.succeeded()))
        },
    )
    .await;
    let stopping = Instant::now();
    cluster.order(Order::StopFast).await;
    let down = Instant::now();
    let readyz = client
        .get(format!("{}/readyz", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(readyz.status(), 503, "/readyz while the database is down");
    assert!(readyz.headers().contains_key(RETRY_AFTER));
    tokio::time::sleep(OUTAGE).await;
    cluster.order(Order::Start).await;
    let back = Instant::now();
    let ready = ready_again(&client, &served.base, back).await;
    let recovered =
        format!("every kind of request succeeds {SUCCESSES_AFTER} times after the last failure");
    until(&samples, PATIENCE, &recovered, |samples| {
        let last = last_failure(samples);
        KINDS.iter().all(|what| {
            samples
                .iter()
                .filter(|s| s.what == *what && s.succeeded() && Some(s.sent) > last)
                .count()
                >= SUCCESSES_AFTER
        })
    })
    .await;

    stop.send(true).unwrap();
    for reader in readers {
        reader.await.unwrap();
    }
    let mut created = Vec::new();
    for writer in writers {
        created.extend(writer.await.unwrap());
    }
    let timeline = Timeline {
        stopping,
        stopped: down,
        back,
        ready,
    };
    let samples = std::mem::take(&mut *samples.lock().unwrap());
    check_answers(&samples, &timeline);
    check_notes(&served, &created).await;
}

/// Every answer was a success or a well-formed, timely 503; none hung, none was a 500; the
/// outage was seen; and within the bound after the database came back everything succeeds.
fn check_answers(samples: &[Sample], timeline: &Timeline) {
    let bound = POOL_TIMEOUT + MARGIN;
    for sample in samples {
        match &sample.status {
            Ok(200 | 201) => {}
            Ok(503) => {
                assert!(
                    sample.well_formed,
                    "a 503 without Retry-After or problem+json: {sample:?}"
                );
                assert!(
                    sample.took <= bound,
                    "a 503 slower than {bound:?}: {sample:?}"
                );
            }
            _ => panic!("neither a success nor a 503: {sample:?}"),
        }
    }
    let last_failure = last_failure(samples).expect("no request saw the outage");
    let recovery = last_failure.saturating_duration_since(timeline.back);
    assert!(
        recovery <= RECOVERY,
        "requests still failed {recovery:?} after the database came back"
    );
    for what in KINDS {
        assert!(
            samples
                .iter()
                .any(|s| s.what == what && s.status == Ok(503)),
            "no {what} was answered 503 during the outage"
        );
        assert!(
            samples
                .iter()
                .any(|s| s.what == what && s.succeeded() && s.sent > last_failure),
            "no {what} succeeded after the outage"
        );
    }
    print_summary(samples, timeline, recovery);
}

fn print_summary(samples: &[Sample], timeline: &Timeline, recovery: Duration) {
    let count = |test: &dyn Fn(&Sample) -> bool| samples.iter().filter(|s| test(s)).count();
    let during_outage = samples
        .iter()
        .filter(|s| s.sent >= timeline.stopping && s.sent <= timeline.back)
        .map(|s| s.took)
        .max()
        .unwrap_or_default();
    println!(
        "database restart: {} requests ({} reads, {} lists, {} creates); {} answered 201 \
         ({} replayed after a retry), {} answered 503, none hung or 500; pg_ctl stop took \
         {:.2} s; max latency during the outage {} ms; /readyz 200 {:.2} s and every request \
         succeeding {:.2} s after PostgreSQL was back",
        samples.len(),
        count(&|s| s.what == "read"),
        count(&|s| s.what == "list"),
        count(&|s| s.what == "create"),
        count(&|s| s.status == Ok(201)),
        count(&|s| s.replayed),
        count(&|s| s.status == Ok(503)),
        (timeline.stopped - timeline.stopping).as_secs_f64(),
        during_outage.as_millis(),
        (timeline.ready.saturating_duration_since(timeline.back)).as_secs_f64(),
        recovery.as_secs_f64(),
    );
}

/// Each note answered 201 exists exactly once, by id and by its text, and nothing else was
/// written: retries with the same key never made a second note.
async fn check_notes(served: &Served, created: &[(Uuid, String)]) {
    assert!(!created.is_empty(), "no note was created");
    let mut conn = AsyncPgConnection::establish(&served.owner_url)
        .await
        .unwrap();
    for (id, summary) in created {
        let by_id: i64 = session_notes::table
            .filter(session_notes::id.eq(id))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap();
        let by_text: i64 = session_notes::table
            .filter(session_notes::summary.eq(summary))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap();
        assert_eq!((by_id, by_text), (1, 1), "note {id} ({summary})");
    }
    let all: i64 = session_notes::table
        .filter(session_notes::participant_id.eq(served.participant))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(all, i64::try_from(created.len()).unwrap());
}
