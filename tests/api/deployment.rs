//! Deployment defaults: what the compose file, the image and a production start refuse.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{problem, send, TestApp};

const RANDOM_SECRET: &str = "4b8e1f0c9a7d3e2b6f5a4c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f";

fn repository_file(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

fn compose() -> serde_yaml::Value {
    serde_yaml::from_str(&repository_file("docker-compose.yml")).unwrap()
}

#[tokio::test]
async fn swagger_ui_can_be_turned_off() {
    let app = TestApp::spawn_with(&[("TANDEM_DOCS", "off")]).await;
    for path in ["/docs", "/docs/", "/docs/swagger-initializer.js"] {
        problem(send(app.client.get(app.url(path))).await, 404).await;
    }
    let document = send(app.client.get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(document.status(), 200);
}

#[test]
fn compose_requires_every_secret_and_publishes_on_localhost() {
    let text = repository_file("docker-compose.yml");
    for secret in [
        "TANDEM_JWT_SECRET",
        "TANDEM_BOOTSTRAP_ADMIN_PASSWORD",
        "TANDEM_DB_OWNER_PASSWORD",
        "TANDEM_DB_APP_PASSWORD",
    ] {
        assert!(
            text.contains(&format!("${{{secret}:?")),
            "{secret} is not required"
        );
        assert!(
            !text.contains(&format!("${{{secret}:-")),
            "{secret} has a default"
        );
        assert!(
            !text.contains(&format!("${{{secret}-")),
            "{secret} has a default"
        );
    }
    for published in ["change-me", "tandem:tandem@"] {
        assert!(!text.contains(published), "{published}");
    }
    let compose = compose();
    let tandem = &compose["services"]["tandem"];
    let environment = &tandem["environment"];
    let serving = environment["DATABASE_URL"].as_str().unwrap();
    assert!(serving.starts_with("postgres://tandem_app:${TANDEM_DB_APP_PASSWORD:?"));
    assert_eq!(environment["TANDEM_ENV"].as_str(), Some("production"));
    // The serving container never holds the owner's login (a superuser of its database):
    // a one-shot service migrates with it, and the server starts once that succeeded.
    assert!(!serde_yaml::to_string(tandem)
        .unwrap()
        .contains("TANDEM_DB_OWNER_PASSWORD"));
    let migrate = &compose["services"]["migrate"];
    assert_eq!(
        migrate["command"],
        serde_yaml::from_str::<serde_yaml::Value>("[tandem, migrate]").unwrap()
    );
    let migrating = migrate["environment"]["DATABASE_URL"].as_str().unwrap();
    assert!(migrating.starts_with("postgres://tandem:${TANDEM_DB_OWNER_PASSWORD:?"));
    assert_eq!(
        migrate["environment"]["TANDEM_ENV"].as_str(),
        Some("production")
    );
    assert_eq!(
        tandem["depends_on"]["migrate"]["condition"].as_str(),
        Some("service_completed_successfully")
    );
    assert_eq!(migrate["image"], tandem["image"]);
    let ports = tandem["ports"].as_sequence().unwrap();
    for port in ports {
        let port = port.as_str().unwrap();
        assert!(
            port.starts_with("${TANDEM_PUBLISH:-127.0.0.1:") || port.starts_with("127.0.0.1:"),
            "{port} is published on every interface"
        );
    }
}

/// The compose health check runs a program the image has: the tandem binary, or a package
/// the runtime stage installs.
#[test]
fn the_health_check_runs_a_program_the_image_contains() {
    let compose = compose();
    let test = compose["services"]["tandem"]["healthcheck"]["test"]
        .as_sequence()
        .unwrap();
    assert_eq!(test[0].as_str(), Some("CMD"));
    let program = test[1].as_str().unwrap();
    let dockerfile = repository_file("Dockerfile");
    let runtime_stage = dockerfile.rsplit_once("\nFROM ").unwrap().1;
    let installed = runtime_stage
        .split("apt-get install")
        .nth(1)
        .and_then(|rest| rest.split("&&").next())
        .unwrap_or_default();
    let present = program == "tandem"
        || installed
            .split_whitespace()
            .any(|package| package == program);
    assert!(present, "the image has no `{program}` for its health check");
    assert!(test
        .iter()
        .any(|word| word.as_str().unwrap().ends_with("/readyz")));
}

/// Every target the manifest declares has its source inside what the Dockerfile copies
/// (`.ci/docker-context` proves the whole build; this catches the usual miss early).
#[test]
fn the_dockerfile_copies_every_declared_target() {
    let dockerfile = repository_file("Dockerfile");
    // The text after the first FROM, up to the second: the build stage.
    let build_stage = dockerfile.split("\nFROM ").nth(1).unwrap();
    let copied: Vec<&str> = build_stage
        .lines()
        .filter(|line| line.starts_with("COPY ") && !line.contains("--from"))
        .flat_map(|line| {
            let words: Vec<&str> = line.split_whitespace().skip(1).collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    let manifest = repository_file("Cargo.toml");
    let mut needed = vec!["Cargo.toml".to_owned(), "Cargo.lock".to_owned()];
    let mut section = "";
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if let Some(name) = line.strip_prefix("name = ") {
            let name = name.trim_matches('"');
            match section {
                "[[bench]]" => needed.push(format!("benches/{name}.rs")),
                "[[test]]" => needed.push(format!("tests/{name}.rs")),
                "[[example]]" => needed.push(format!("examples/{name}.rs")),
                _ => {}
            }
        } else if let Some(path) = line.strip_prefix("path = ") {
            needed.push(path.trim_matches('"').to_owned());
        }
    }
    for path in needed {
        let covered = copied
            .iter()
            .any(|source| path == *source || path.starts_with(&format!("{source}/")));
        assert!(covered, "the Dockerfile does not copy {path}");
    }
}

const RANDOM_AUDIT_KEY: &str = "5e2a9c7f1b3d8e0a4c6f2b9d7e1a3c5f8b0d2e4a6c9f1b3d5e7a0c2f4b6d8e1a";

fn tandem(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
    command.arg("serve");
    for (key, _) in std::env::vars() {
        if key.starts_with("TANDEM_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command
        .env("RUST_LOG", "warn")
        .env("TANDEM_ENV", "production")
        .env("TANDEM_BIND", "127.0.0.1:0")
        .env("TANDEM_JWT_SECRET", RANDOM_SECRET)
        .env("TANDEM_AUDIT_KEY", RANDOM_AUDIT_KEY);
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

#[test]
fn production_refuses_published_and_short_secrets() {
    for secret in [
        "change-me-to-at-least-32-random-bytes!!",
        "only-thirty-one-bytes-long-0123",
    ] {
        let output = tandem(&[
            ("DATABASE_URL", "postgres://tandem_app:x@127.0.0.1:1/tandem"),
            ("TANDEM_JWT_SECRET", secret),
        ])
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(2), "{secret}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("TANDEM_JWT_SECRET"), "{stderr}");
    }
}

#[tokio::test]
async fn production_refuses_to_serve_as_a_role_that_could_rewrite_the_audit_trail() {
    let app = TestApp::spawn().await;
    // The privileged URL the tests use for setup: a superuser that owns every table.
    let output = tandem(&[("DATABASE_URL", &app.database_url)])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is a superuser"), "{stderr}");
}

/// Kills the server when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tandem serve` in production with `env` and waits until it is ready (true) or gives
/// up; returns that and its log, then stops it.
async fn serve(app: &TestApp, env: &[(&str, &str)]) -> (bool, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut server = Running(
        tandem(env)
            .env("TANDEM_BIND", &bind)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = server.0.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let listening = line.contains("listening on");
            seen.push(line);
            if listening {
                break;
            }
        }
        seen
    });
    let started = Instant::now();
    let ready = loop {
        let response = app.client.get(format!("http://{bind}/readyz")).send().await;
        if response.is_ok_and(|response| response.status() == 200) {
            break true;
        }
        if started.elapsed() > Duration::from_secs(30) || server.0.try_wait().unwrap().is_some() {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(server);
    (ready, lines.join().unwrap().join("\n"))
}

#[tokio::test]
async fn production_serves_as_the_runtime_role_without_the_owners_url() {
    let app = TestApp::spawn().await;
    let (ready, log) = serve(&app, &[("DATABASE_URL", &app.runtime_url)]).await;
    assert!(ready, "the server did not become ready:\n{log}");
    assert!(!log.contains("could alter"), "{log}");
    assert!(!log.contains("applying database migrations"), "{log}");
}

#[tokio::test]
async fn production_without_the_owners_url_refuses_pending_migrations_and_with_it_applies_them() {
    let app = TestApp::spawn().await;
    let latest = "2026-12-01-000001";
    app.sql(&format!(
        "DELETE FROM __diesel_schema_migrations WHERE version = '{}'",
        latest.replace('-', "")
    ))
    .await
    .unwrap();
    let output = tandem(&[("DATABASE_URL", &app.runtime_url)])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 migration(s) pending"), "{stderr}");
    assert!(stderr.contains("TANDEM_MIGRATION_DATABASE_URL"), "{stderr}");
    let (ready, log) = serve(
        &app,
        &[
            ("DATABASE_URL", &app.runtime_url),
            ("TANDEM_MIGRATION_DATABASE_URL", &app.database_url),
        ],
    )
    .await;
    assert!(ready, "the server did not become ready:\n{log}");
    assert!(log.contains("1 migration(s) applied"), "{log}");
}

/// Fails the test, saying how to install it, when PostgreSQL's `psql` client is not on `PATH`:
/// a test that needs it never passes without running.
fn require_psql() {
    match Command::new("psql").arg("--version").output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "`psql --version` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!(
            "this test runs deploy/postgres-init/10-tandem-runtime-role.sh, which needs psql \
             (PostgreSQL's client) on PATH, and could not start it ({error}); install it \
             (Debian or Ubuntu: `apt-get install postgresql-client`; macOS: \
             `brew install libpq` and add its bin directory to PATH) and run the test again"
        ),
    }
}

/// The script the compose file gives the postgres container creates a login that serves with
/// least privilege, and can run again (on a volume from before the role existed).
#[tokio::test]
async fn the_compose_init_script_creates_a_least_privilege_login() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    require_psql();
    let app = TestApp::spawn().await;
    let user = format!("tandem_test_script_{}", uuid::Uuid::new_v4().simple());
    let password = uuid::Uuid::new_v4().simple().to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/postgres-init/10-tandem-runtime-role.sh");
    for _ in 0..2 {
        let output = match Command::new("sh")
            .arg(&script)
            .env("POSTGRES_DB", &app.database_url)
            .env("TANDEM_DB_APP_USER", &user)
            .env("TANDEM_DB_APP_PASSWORD", &password)
            .output()
        {
            Ok(output) => output,
            Err(error) => panic!("cannot run {}: {error}", script.display()),
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
    }
    let url = crate::helpers::with_login(&app.database_url, &user, &password);
    {
        let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
        assert_eq!(
            tandem::db::privilege_problem(&mut conn).await.unwrap(),
            None
        );
        conn.batch_execute("SELECT count(*) FROM participants")
            .await
            .unwrap();
        let refused = conn.batch_execute("DELETE FROM audit_events").await;
        assert!(refused
            .unwrap_err()
            .to_string()
            .contains("permission denied"));
    }
    app.sql(&format!("DROP ROLE {user}")).await.unwrap();
}
