//! `/healthz` latency while a storm of sign-ins runs Argon2 on every core: password hashing
//! runs on the blocking pool with bounded concurrency, so the async workers stay free.
//!
//! Run with `cargo bench --bench login_storm`. Prints figures; asserts nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use embedded_pg::EmbeddedPostgres;
use tandem::ops::config::Settings;
use tandem::ops::startup::Application;
use uuid::Uuid;

const CONCURRENT_LOGINS: usize = 32;
const LOGINS: usize = 400;
const PASSWORD: &str = "storm password 0123";

fn main() {
    let cluster = EmbeddedPostgres::start_temporary(&mut |line| eprintln!("{line}")).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&cluster.url("postgres")));
    cluster.stop().ok();
}

async fn run(admin_url: &str) {
    let name = format!("storm_{}", Uuid::new_v4().simple());
    let mut admin = AsyncPgConnection::establish(admin_url).await.unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let migrate_url = url.clone();
    tokio::task::spawn_blocking(move || tandem::db::migrate(&migrate_url))
        .await
        .unwrap()
        .unwrap();
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let (_, _) = tandem::ops::bootstrap::create_organization(
        &mut conn,
        "Storm",
        "storm@example.org",
        PASSWORD,
    )
    .await
    .unwrap();

    let vars: HashMap<&str, &str> = HashMap::from([
        ("TANDEM_BIND", "127.0.0.1:0"),
        (
            "TANDEM_JWT_SECRET",
            "storm-secret-storm-secret-storm-secret-00",
        ),
        // Every storm sign-in fails and comes from one address: lift the address limit, or
        // most would be answered 429 without a password being checked.
        ("TANDEM_SIGNIN_ADDRESS_LIMIT", "1000000"),
        (
            "TANDEM_AUDIT_KEY",
            "storm-audit-key-storm-audit-key-storm-00",
        ),
    ]);
    let settings = Settings::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    let app = Application::build(&settings, &url).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let idle = sample_healthz(&client, &base, Duration::from_secs(2), None).await;
    report("/healthz, idle", &idle);

    let storming = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..CONCURRENT_LOGINS {
        let client = client.clone();
        let base = base.clone();
        workers.push(tokio::spawn(async move {
            let mut ok = 0;
            // Distinct emails, so no attempt is cut short by the per-email lock.
            for attempt in (worker..LOGINS).step_by(CONCURRENT_LOGINS) {
                let response = client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&serde_json::json!({"email": format!("visitor{attempt}@example.org"), "password": PASSWORD}))
                    .send()
                    .await
                    .unwrap();
                if response.status() == 401 {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let sampler = {
        let client = client.clone();
        let base = base.clone();
        let storming = storming.clone();
        tokio::spawn(async move {
            sample_healthz(&client, &base, Duration::from_secs(600), Some(storming)).await
        })
    };
    let mut answered = 0;
    for worker in workers {
        answered += worker.await.unwrap();
    }
    let elapsed = started.elapsed();
    storming.store(false, Ordering::SeqCst);
    let during = sampler.await.unwrap();
    println!(
        "{answered} sign-in attempts ({CONCURRENT_LOGINS} at a time, each an Argon2id verification) in {:.1} s: {:.0} per second",
        elapsed.as_secs_f64(),
        answered as f64 / elapsed.as_secs_f64()
    );
    report("/healthz during the storm", &during);
}

async fn sample_healthz(
    client: &reqwest::Client,
    base: &str,
    limit: Duration,
    until: Option<Arc<AtomicBool>>,
) -> Vec<Duration> {
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < limit
        && until
            .as_ref()
            .is_none_or(|flag| flag.load(Ordering::SeqCst))
    {
        let t = Instant::now();
        let response = client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        samples.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    samples.sort();
    samples
}

fn report(label: &str, sorted: &[Duration]) {
    let at =
        |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{label}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        at(0.5),
        at(0.99),
        at(1.0),
        sorted.len()
    );
}
