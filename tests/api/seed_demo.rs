//! `tandem seed-demo`, run as a user would run it: the same seed gives the same data, the
//! printed logins work, and a second run on the same database is refused.

use std::process::{Command, Output};

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::helpers::{json, RawToken, TestApp, TestDatabase};

fn seed_demo(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("seed-demo")
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("TANDEM_BIND", "127.0.0.1:8099")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const TABLES: &[&str] = &[
    "organizations",
    "users",
    "participants",
    "pairings",
    "goals",
    "session_notes",
    "assessments",
    "resources",
    "consents",
    "referrals",
    "disclosures",
    "status_changes",
];

#[derive(QueryableByName, Debug, PartialEq)]
struct Fingerprint {
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = Text)]
    ids: String,
}

/// Each table's row count and a digest of all its ids, in id order.
async fn fingerprints(url: &str) -> Vec<(&'static str, Fingerprint)> {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let mut all = Vec::new();
    for table in TABLES {
        let sql = format!(
            "SELECT count(*) AS rows, coalesce(md5(string_agg(id::text, ',' ORDER BY id)), '') \
             AS ids FROM {table}"
        );
        let print: Fingerprint = diesel::sql_query(sql).get_result(&mut conn).await.unwrap();
        all.push((*table, print));
    }
    all
}

/// A digest of the notes' content, beyond their ids.
async fn notes_digest(url: &str) -> String {
    #[derive(QueryableByName)]
    struct Digest {
        #[diesel(sql_type = Text)]
        digest: String,
    }
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let digest: Digest = diesel::sql_query(
        "SELECT md5(string_agg(concat_ws('|', id, participant_id, author_id, occurred_at, \
         summary, visibility, goal_ids, mood, signed_at), ',' ORDER BY id)) AS digest \
         FROM session_notes",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    digest.digest
}

#[tokio::test]
async fn the_same_seed_gives_the_same_rows_and_ids_on_two_databases() {
    let (first, second) = (TestDatabase::create().await, TestDatabase::create().await);
    succeeded(&seed_demo(&first.url, &["--scale", "small", "--seed", "7"]));
    succeeded(&seed_demo(
        &second.url,
        &["--scale", "small", "--seed", "7"],
    ));
    let prints = fingerprints(&first.url).await;
    assert_eq!(prints, fingerprints(&second.url).await);
    assert_eq!(
        notes_digest(&first.url).await,
        notes_digest(&second.url).await
    );
    let count = |table: &str| prints.iter().find(|(t, _)| *t == table).unwrap().1.rows;
    assert_eq!(count("organizations"), 2);
    assert_eq!(count("participants"), 50);
    assert_eq!(count("pairings"), 50);
    assert_eq!(count("session_notes"), 250);
    assert!(count("referrals") >= 2 && count("consents") >= 1);
    assert_eq!(
        count("resources"),
        2 * tandem::ops::directory_seed::RESOURCES.len() as i64
    );

    let other = TestDatabase::create().await;
    succeeded(&seed_demo(&other.url, &["--scale", "small", "--seed", "8"]));
    let organizations = |prints: &[(&str, Fingerprint)]| prints[0].1.ids.clone();
    assert_ne!(
        organizations(&prints),
        organizations(&fingerprints(&other.url).await)
    );
}

#[tokio::test]
async fn the_printed_coach_login_works_and_the_caseload_is_not_empty() {
    let app = TestApp::spawn().await;
    let stdout = succeeded(&seed_demo(
        &app.database_url,
        &["--scale", "small", "--seed", "7"],
    ));
    let login = |role: &str| -> (String, String) {
        let line = stdout
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("{role} ")))
            .unwrap_or_else(|| panic!("no {role} login in:\n{stdout}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        (words[1].to_owned(), words[2].to_owned())
    };
    // The curl line names the address the server is configured to listen on.
    assert!(stdout.contains("POST http://127.0.0.1:8099/api/v1/auth/login"));
    let (email, password) = login("coach");
    let response = app.login(&email, &password).await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["user"]["role"], "coach");
    let coach = RawToken::new(body["access_token"].as_str().unwrap());
    let caseload = json(app.get("/participants", &coach).await).await;
    let items = caseload["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{caseload}");
    let first = items[0]["id"].as_str().unwrap();
    let notes = json(
        app.get(&format!("/participants/{first}/session-notes"), &coach)
            .await,
    )
    .await;
    assert!(!notes["items"].as_array().unwrap().is_empty(), "{notes}");
    for role in ["admin", "supervisor", "participant"] {
        let (email, password) = login(role);
        let response = app.login(&email, &password).await;
        assert_eq!(response.status(), 200, "{role}");
        assert_eq!(json(response).await["user"]["role"], role);
    }
}

#[tokio::test]
async fn a_second_run_of_the_same_seed_is_refused_and_changes_nothing() {
    let database = TestDatabase::create().await;
    succeeded(&seed_demo(
        &database.url,
        &["--scale", "small", "--seed", "7"],
    ));
    let before = fingerprints(&database.url).await;
    let again = seed_demo(&database.url, &["--scale", "small", "--seed", "7"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already in this database"));
    assert_eq!(before, fingerprints(&database.url).await);
}

#[tokio::test]
async fn production_refuses_to_seed_demo_logins_and_creates_nothing() {
    let database = TestDatabase::create().await;
    let before = fingerprints(&database.url).await;
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["seed-demo", "--scale", "small"])
        .env("DATABASE_URL", &database.url)
        .env("TANDEM_ENV", "production")
        .env(
            "TANDEM_JWT_SECRET",
            "9f1c4e7a2b8d5f0c3e6a9d2b7f4c1e8a5d0b3f6c9e2a7d4b1f8c5e0a3d6b9f2c",
        )
        .env(
            "TANDEM_AUDIT_KEY",
            "2d7f0b5e8a3c6f1d9b4e7a2c5f8d0b3e6a9c1f4d7b2e5a8c0f3d6b9e1a4c7f2d",
        )
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("seed-demo creates logins"), "{stderr}");
    assert_eq!(before, fingerprints(&database.url).await);
}

#[test]
fn bad_options_are_refused_with_usage() {
    for args in [
        &["--scale", "huge"][..],
        &["--participants", "many"],
        &["--organizations", "0"],
        &["--organizations", "3", "--coaches", "2"],
        &[
            "--coaches",
            "1",
            "--organizations",
            "1",
            "--participants",
            "1000",
        ],
        &["--frobnicate", "1"],
        &["--seed"],
    ] {
        let output = seed_demo("postgres://unused/none", args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("seed-demo"));
    }
}
