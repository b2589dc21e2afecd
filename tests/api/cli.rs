//! The `tandem` command line, run as a user would run it.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::helpers::{json, problem, TestApp};

fn tandem(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn create_organization(app: &TestApp, name: &str, email: &str, password: &str) -> Output {
    tandem(
        &[
            "create-organization",
            "--name",
            name,
            "--admin-email",
            email,
        ],
        &[
            ("DATABASE_URL", &app.database_url),
            ("TANDEM_ADMIN_PASSWORD", password),
        ],
    )
}

#[tokio::test]
async fn create_organization_makes_an_admin_who_can_sign_in() {
    let app = TestApp::spawn().await;
    let output = create_organization(
        &app,
        "Harbor Recovery",
        "harbor@example.org",
        "harbor admin passphrase",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout)
        .contains("Created organization \"Harbor Recovery\""));
    let response = app
        .login("harbor@example.org", "harbor admin passphrase")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["user"]["role"], "admin");
}

#[tokio::test]
async fn create_organization_refuses_an_admin_email_already_in_use() {
    let app = TestApp::spawn().await;
    let passphrase = "harbor admin passphrase";
    let first = create_organization(&app, "Harbor Recovery", "harbor@example.org", passphrase);
    assert!(first.status.success());
    let again = create_organization(&app, "Harbor Again", "harbor@example.org", passphrase);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[tokio::test]
async fn create_organization_refuses_a_weak_admin_password() {
    let app = TestApp::spawn().await;
    let weak = create_organization(&app, "Weak", "weak@example.org", "short");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    problem(app.login("weak@example.org", "short").await, 401).await;
}

#[tokio::test]
async fn migrate_is_idempotent_on_a_migrated_database() {
    let app = TestApp::spawn().await;
    let output = tandem(&["migrate"], &[("DATABASE_URL", &app.database_url)]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("0 migration(s) applied"));
}

#[test]
fn invalid_configuration_stops_with_the_variable_named() {
    for (variable, value) in [
        ("TANDEM_BIND", "not-an-address"),
        ("TANDEM_ENV", "staging"),
        ("TANDEM_JWT_SECRET", "too-short"),
        ("DATABASE_URL", "mysql://nope"),
    ] {
        let output = tandem(&["serve"], &[(variable, value)]);
        assert_eq!(output.status.code(), Some(2), "{variable}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(variable),
            "{variable}"
        );
    }
    let output = tandem(&["serve"], &[("TANDEM_ENV", "production")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));
}

#[test]
fn openapi_prints_the_committed_document_and_unknown_commands_show_usage() {
    let output = tandem(&["openapi"], &[]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        tandem::http::openapi::document_json()
    );
    let output = tandem(&["frobnicate"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage: tandem"));
}

/// A fresh data dir for `tandem` run with no `DATABASE_URL`; on drop, stops any PostgreSQL
/// still running on its cluster and deletes it all.
struct DataDir {
    root: PathBuf,
}

impl DataDir {
    fn new() -> Self {
        let root = std::env::temp_dir().join(format!("tandem-cli-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(root.join("data")).unwrap();
        Self { root }
    }

    fn data(&self) -> PathBuf {
        std::fs::canonicalize(self.root.join("data")).unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
        command
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("TANDEM_ENV")
            .env("TANDEM_DATA_DIR", self.root.join("data"))
            .env("RUST_LOG", "warn");
        command
    }

    /// Runs a command to completion.
    fn tandem(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        command.output().unwrap()
    }

    /// Starts `tandem serve` on a free port; its output goes to a log file.
    fn serve(&self) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = self.root.join(format!("serve-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = self
            .command(&["serve"])
            .env("TANDEM_BIND", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Serve { child, port, log }
    }

    /// The cluster directory: recorded in `postgres-location` when run as root.
    fn cluster(&self) -> PathBuf {
        let data = self.root.join("data");
        match std::fs::read_to_string(data.join("postgres-location")) {
            Ok(text) => PathBuf::from(text.trim()),
            Err(_) => data.join("postgres"),
        }
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let cluster = self.cluster();
        let pid = std::fs::read_to_string(cluster.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<i32>().ok());
        if let Some(pid) = pid {
            let _ = signal(pid, libc::SIGINT);
            let deadline = Instant::now() + Duration::from_secs(30);
            while signal(pid, 0) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = signal(pid, libc::SIGKILL);
        }
        if cluster.starts_with(&self.root) {
            let _ = std::fs::remove_dir_all(&self.root);
        } else {
            let _ = std::fs::remove_dir_all(&cluster);
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn signal(pid: i32, signal: libc::c_int) -> bool {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// A running `tandem serve`; on drop it is stopped (SIGTERM, then SIGKILL).
struct Serve {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Serve {
    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/readyz` answers 200, failing the test if the server exits first.
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("tandem serve exited ({status}):\n{}", self.log());
            }
            if let Ok(response) = reqwest::get(self.url("/readyz")).await {
                if response.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "not ready:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to `timeout` for the process to exit.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    async fn readyz(&self) -> u16 {
        reqwest::get(self.url("/readyz"))
            .await
            .map_or(0, |response| response.status().as_u16())
    }

    async fn login(&self, email: &str, password: &str) -> u16 {
        reqwest::Client::new()
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .map_or(0, |response| response.status().as_u16())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = signal(self.pid(), libc::SIGTERM);
            if self.wait_exit(Duration::from_secs(30)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

const HARBOR_PASSPHRASE: &str = "harbor admin passphrase";

fn create_harbor(dir: &DataDir) -> Output {
    dir.tandem(
        &[
            "create-organization",
            "--name",
            "Harbor Recovery",
            "--admin-email",
            "harbor@example.org",
        ],
        &[("TANDEM_ADMIN_PASSWORD", HARBOR_PASSPHRASE)],
    )
}

#[tokio::test]
async fn commands_beside_a_running_server_leave_its_database_running() {
    let dir = DataDir::new();
    let mut serve = dir.serve();
    serve.wait_ready().await;

    let migrate = dir.tandem(&["migrate"], &[]);
    let stderr = String::from_utf8_lossy(&migrate.stderr);
    assert!(migrate.status.success(), "{stderr}");
    assert!(stderr.contains("0 migration(s) applied"), "{stderr}");
    let create = create_harbor(&dir);
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );

    assert_eq!(serve.readyz().await, 200, "{}", serve.log());
    assert_eq!(
        serve.login("harbor@example.org", HARBOR_PASSPHRASE).await,
        200
    );
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_refuses_to_start() {
    let dir = DataDir::new();
    let mut first = dir.serve();
    first.wait_ready().await;

    let mut second = dir.serve();
    let status = second.wait_exit(Duration::from_secs(60));
    let log = second.log();
    assert!(status.is_some_and(|s| !s.success()), "{status:?}: {log}");
    assert!(log.contains(&dir.data().display().to_string()), "{log}");
    assert!(log.contains(&format!("pid {}", first.pid())), "{log}");
    assert_eq!(first.readyz().await, 200, "{}", first.log());
}

#[tokio::test]
async fn a_killed_server_leaves_nothing_that_blocks_commands_or_the_next_server() {
    let dir = DataDir::new();
    let mut first = dir.serve();
    first.wait_ready().await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let create = create_harbor(&dir);
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );
    let mut second = dir.serve();
    second.wait_ready().await;
    assert_eq!(
        second.login("harbor@example.org", HARBOR_PASSPHRASE).await,
        200
    );
}

fn seed_directory(app: &TestApp, organization: &str) -> Output {
    tandem(
        &["seed-directory", "--organization", organization],
        &[("DATABASE_URL", &app.database_url)],
    )
}

#[tokio::test]
async fn seed_directory_adds_the_example_directory_once() {
    let app = TestApp::spawn().await;
    let org = app.org.id.to_string();
    let first = seed_directory(&app, &org);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    let count = tandem::ops::directory_seed::RESOURCES.len();
    assert!(String::from_utf8_lossy(&first.stdout).contains(&format!("Added {count} resources")));
    let again = seed_directory(&app, &org);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("Added 0 resources"));
    let page = json(app.get("/resources?limit=200", &app.org.coach).await).await;
    assert_eq!(page["items"].as_array().unwrap().len(), count);
    let spanish = json(
        app.get("/resources?language=es&q=recuperacion", &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(spanish["items"][0]["name"], "Centro Camino de Recuperación");
    let other = json(app.get("/resources", &app.other_org.admin).await).await;
    assert_eq!(other["items"], serde_json::json!([]));
    let missing = seed_directory(&app, &Uuid::now_v7().to_string());
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no organization"));
}
