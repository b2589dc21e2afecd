//! The `tandem` command line, run as a user would run it.

use std::process::{Command, Output};

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
        tandem::openapi::document_json()
    );
    let output = tandem(&["frobnicate"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage: tandem"));
}
