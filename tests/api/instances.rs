//! Two `tandem serve` processes on one database, as a deployment behind a load balancer runs
//! them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{json, Value};
use tandem::db::schema::{audit_chain, audit_events, organizations};
use uuid::Uuid;

use crate::helpers::{TestDatabase, AUDIT_KEY, JWT_SECRET, PASSWORD};

const ADMIN_EMAIL: &str = "admin@instances.example";

/// A scratch directory for the processes' data dirs and logs, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tandem-instances-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `tandem serve`, killed when dropped.
struct Instance {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Instance {
    /// Serves as the runtime login and migrates as the owner, like a deployment.
    fn start(name: &'static str, database: &TestDatabase, scratch: &Path) -> Self {
        let log = scratch.join(format!("{name}.log"));
        let out = std::fs::File::create(scratch.join(format!("{name}.out"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("serve")
            .env_remove("TANDEM_ENV")
            .env("DATABASE_URL", &database.runtime_url)
            .env("TANDEM_MIGRATION_DATABASE_URL", &database.url)
            .env("TANDEM_BIND", "127.0.0.1:0")
            .env("TANDEM_DATA_DIR", scratch.join(name))
            .env("TANDEM_JWT_SECRET", JWT_SECRET)
            .env("TANDEM_AUDIT_KEY", AUDIT_KEY)
            .env("TANDEM_AUDIT_HEAD_LOG_SECONDS", "1")
            .env("TANDEM_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("TANDEM_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD)
            .env("TANDEM_DB_POOL_SIZE", "4")
            .env("TANDEM_WORKERS", "2")
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        Self { name, child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The instance's base URL once it listens.
    async fn listening(&mut self) -> String {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            let log = self.log();
            if let Some(rest) = log.split("Tandem listening on ").nth(1) {
                let address = rest.split_whitespace().next().unwrap();
                return format!("{address}/api/v1");
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status}:\n{log}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} did not start:\n{}", self.name, self.log());
    }

    /// Log lines that report a failure.
    fn failures(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|line| {
                line.contains(" WARN ") || line.contains(" ERROR ") || line.contains("panicked")
            })
            .map(ToOwned::to_owned)
            .collect()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn sign_in(client: &reqwest::Client, base: &str) -> String {
    let response = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Creates `count` participants through `base` and lists them after each.
async fn write_load(client: reqwest::Client, base: String, token: String, count: usize) {
    for n in 0..count {
        let response = client
            .post(format!("{base}/participants"))
            .bearer_auth(&token)
            .json(&json!({"first_name": "Load", "last_name": format!("Test {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let response = client
            .get(format!("{base}/participants?limit=5"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

/// Verifies through `base` once every event is sealed.
async fn verified(client: &reqwest::Client, base: &str, token: &str, query: &str) -> Value {
    for _ in 0..100 {
        let report: Value = client
            .get(format!("{base}/audit-events/verify{query}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if report["unsealed"] == 0 {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the audit sealer did not catch up");
}

#[tokio::test]
async fn two_instances_on_one_database_serve_and_seal_one_verifiable_chain() {
    let database = TestDatabase::create().await;
    let scratch = Scratch::new();
    let mut first = Instance::start("first", &database, &scratch.0);
    let mut second = Instance::start("second", &database, &scratch.0);
    let bases = [first.listening().await, second.listening().await];
    let client = reqwest::Client::new();
    let token = sign_in(&client, &bases[0]).await;

    let mut load = Vec::new();
    for base in bases.iter().chain(bases.iter()) {
        let task = write_load(client.clone(), base.clone(), token.clone(), 15);
        load.push(tokio::spawn(task));
    }
    for task in load {
        task.await.unwrap();
    }

    let report = verified(&client, &bases[1], &token, "").await;
    assert_eq!(report["ok"], true, "{report}");
    let mut conn = AsyncPgConnection::establish(&database.url).await.unwrap();
    let organization: Uuid = organizations::table
        .select(organizations::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    let events: i64 = audit_events::table
        .filter(audit_events::organization_id.eq(organization))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert!(events > 120, "a sign-in, 60 creates and 60 lists: {events}");
    assert_eq!(report["checked"], events);
    let positions: Vec<i64> = audit_chain::table
        .filter(audit_chain::chain_id.eq(organization))
        .order(audit_chain::position.asc())
        .select(audit_chain::position)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(positions, (1..=events).collect::<Vec<_>>());

    let head = &report["head"];
    let query = format!(
        "?position={}&hash={}",
        head["position"],
        head["hash"].as_str().unwrap()
    );
    let again = verified(&client, &bases[0], &token, &query).await;
    assert_eq!(again["ok"], true, "{again}");
    assert_eq!(again["earlier_head_found"], true);

    // Wait for the head logging to tick on both, then read what each process reported.
    let anchor = format!("audit chain head: chain={organization} position=");
    let deadline = Instant::now() + Duration::from_secs(60);
    while ![&first, &second].iter().all(|i| i.log().contains(&anchor)) && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for instance in [&first, &second] {
        assert_eq!(
            instance.failures(),
            Vec::<String>::new(),
            "{}",
            instance.name
        );
        assert!(instance.log().contains(&anchor), "{}", instance.log());
    }
}

#[tokio::test]
async fn instances_starting_together_on_an_empty_database_migrate_it_once() {
    let database = TestDatabase::unmigrated().await;
    let migrate = || {
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("migrate")
            .env("DATABASE_URL", &database.url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (migrate(), migrate());
    let mut applied = Vec::new();
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        applied.push(stderr);
    }
    let fresh = applied
        .iter()
        .filter(|stderr| !stderr.lines().any(|line| line == "0 migration(s) applied"))
        .count();
    assert_eq!(
        fresh, 1,
        "one applied the migrations, the other found none: {applied:?}"
    );
}
