//! The test harness: a real Tandem server on a real PostgreSQL, one fresh database per test.
//!
//! Databases are cloned from a template migrated once per run. Without `TEST_DATABASE_URL` or
//! `DATABASE_URL`, the run starts its own private PostgreSQL cluster and shares it.

use std::collections::HashMap;
use std::sync::{mpsc, OnceLock};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tandem::auth::jwt::TokenKeys;
use tandem::auth::Role;
use tandem::config::Settings;
use tandem::db::schema::{organizations, users};
use tandem::embedded_pg::EmbeddedPostgres;
use tandem::startup::Application;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const ISSUER: &str = "tandem";
pub const AUDIENCE: &str = "tandem-api";

/// Where test databases are made.
struct Server {
    /// A URL to any database on the server, with rights to create databases.
    admin_url: String,
    template: String,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

fn server() -> &'static Server {
    match SERVER.get_or_init(prepare_server) {
        Ok(server) => server,
        Err(message) => panic!("cannot prepare the test database server: {message}"),
    }
}

fn prepare_server() -> Result<Server, String> {
    let admin_url = match std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .ok()
        .filter(|url| !url.is_empty())
    {
        Some(url) => url,
        None => start_private_cluster()?,
    };
    let template = format!("tandem_template_{}", Uuid::new_v4().simple());
    let url = admin_url.clone();
    let name = template.clone();
    // Own runtime on its own thread: the caller may be inside a test's runtime.
    std::thread::spawn(move || -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(execute(&url, &format!("CREATE DATABASE {name}")))?;
        tandem::db::migrate(&with_database(&url, &name)).map(|_| ())
    })
    .join()
    .map_err(|_| "template thread panicked".to_owned())??;
    Ok(Server {
        admin_url,
        template,
    })
}

/// Starts the run's cluster on a thread that lives as long as the test process, so the
/// cluster (which stops when the thread that started it ends) lasts the whole run.
fn start_private_cluster() -> Result<String, String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        match EmbeddedPostgres::start_temporary(&mut |line| eprintln!("{line}")) {
            Ok(cluster) => {
                let _ = sender.send(Ok(cluster.url("postgres")));
                loop {
                    std::thread::park();
                }
            }
            Err(error) => {
                let _ = sender.send(Err(error.to_string()));
            }
        }
    });
    receiver
        .recv()
        .map_err(|_| "the cluster thread ended".to_owned())?
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}

async fn execute(url: &str, sql: &str) -> Result<(), String> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|e| format!("connecting to {url}: {e}"))?;
    diesel::sql_query(sql)
        .execute(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| format!("{sql}: {e}"))
}

/// A user made by the fixture.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub role: Role,
    pub token: String,
}

/// One organization of the fixture, with one user of each role.
#[derive(Debug, Clone)]
pub struct TestOrg {
    pub id: Uuid,
    pub admin: TestUser,
    pub supervisor: TestUser,
    pub coach: TestUser,
    pub participant: TestUser,
}

/// A running Tandem on its own database, with two organizations.
pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub database: String,
    pub client: reqwest::Client,
    pub org: TestOrg,
    pub other_org: TestOrg,
}

fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        tandem::auth::password::hash_blocking(PASSWORD).unwrap_or_else(|e| panic!("hash: {e}"))
    })
}

impl TestApp {
    pub async fn spawn() -> Self {
        let _ = env_logger::builder().is_test(true).try_init();
        let server = server();
        let database = format!("t_{}", Uuid::new_v4().simple());
        execute(
            &server.admin_url,
            &format!("CREATE DATABASE {database} TEMPLATE {}", server.template),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let database_url = with_database(&server.admin_url, &database);
        let settings = test_settings();
        let app = Application::build(&settings, &database_url)
            .await
            .unwrap_or_else(|e| panic!("build: {e}"));
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let tokens = TokenKeys::new(JWT_SECRET.as_bytes(), ISSUER, AUDIENCE);
        let mut conn = AsyncPgConnection::establish(&database_url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let org = seed_org(&mut conn, &tokens, "First Recovery Community").await;
        let other_org = seed_org(&mut conn, &tokens, "Second Recovery Community").await;
        Self {
            address,
            database_url,
            database,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
            org,
            other_org,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request to an `/api/v1` path, authenticated as `user` when given.
    pub fn request(&self, method: Method, path: &str, user: Option<&TestUser>) -> RequestBuilder {
        let request = self
            .client
            .request(method, self.url(&format!("/api/v1{path}")));
        match user {
            Some(user) => request.bearer_auth(&user.token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, user: &TestUser) -> Response {
        send(self.request(Method::GET, path, Some(user))).await
    }

    pub async fn post(&self, path: &str, user: Option<&TestUser>, body: &Value) -> Response {
        send(self.request(Method::POST, path, user).json(body)).await
    }

    pub async fn patch(&self, path: &str, user: &TestUser, body: &Value) -> Response {
        send(self.request(Method::PATCH, path, Some(user)).json(body)).await
    }

    pub async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.database_url)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs SQL directly against this test's database.
    pub async fn sql(&self, sql: &str) -> Result<(), String> {
        execute(&self.database_url, sql).await
    }

    /// Signs in through the API and returns the token response.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/auth/login",
            None,
            &serde_json::json!({"email": email, "password": password}),
        )
        .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let admin_url = server().admin_url.clone();
        let database = self.database.clone();
        // Dropping needs async I/O and the test's runtime may be shutting down: use a thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                let sql = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                let _ = runtime.block_on(execute(&admin_url, &sql));
            }
        })
        .join();
    }
}

pub fn test_settings() -> Settings {
    let vars: HashMap<&str, &str> = HashMap::from([
        ("TANDEM_BIND", "127.0.0.1:0"),
        ("TANDEM_JWT_SECRET", JWT_SECRET),
        ("TANDEM_WORKERS", "1"),
        ("TANDEM_DB_POOL_SIZE", "4"),
    ]);
    Settings::from_lookup(|name| vars.get(name).map(|v| v.to_string()))
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn seed_org(conn: &mut AsyncPgConnection, tokens: &TokenKeys, name: &str) -> TestOrg {
    let id = Uuid::now_v7();
    diesel::insert_into(organizations::table)
        .values((organizations::id.eq(id), organizations::name.eq(name)))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut user = async |role: Role| {
        let user_id = Uuid::now_v7();
        let email = format!("{}-{}@example.org", role.as_str(), user_id.simple());
        diesel::insert_into(users::table)
            .values((
                users::id.eq(user_id),
                users::organization_id.eq(id),
                users::email.eq(&email),
                users::display_name.eq(format!("Test {}", role.as_str())),
                users::role.eq(role),
                users::password_hash.eq(password_hash()),
            ))
            .execute(conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        TestUser {
            id: user_id,
            organization_id: id,
            email,
            role,
            token: tokens
                .issue(user_id, id, role, 0)
                .unwrap_or_else(|e| panic!("{e}")),
        }
    };
    TestOrg {
        id,
        admin: user(Role::Admin).await,
        supervisor: user(Role::Supervisor).await,
        coach: user(Role::Coach).await,
        participant: user(Role::Participant).await,
    }
}

pub async fn send(request: RequestBuilder) -> Response {
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"))
}

/// Reads a JSON body, failing the test when it is not JSON.
pub async fn json(response: Response) -> Value {
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Asserts a problem+json response with `status` and returns its body.
pub async fn problem(response: Response, status: u16) -> Value {
    if response.status().as_u16() != status {
        let actual = response.status();
        let text = response.text().await.unwrap_or_default();
        panic!("expected {status}, got {actual}: {text}");
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body = json(response).await;
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    body
}

/// The field names of a 422's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(ToOwned::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
