//! The test harness: a real Tandem server on a real PostgreSQL, one fresh database per test.
//!
//! Databases are cloned from a template migrated once per run. Without `TEST_DATABASE_URL` or
//! `DATABASE_URL`, the run starts its own private PostgreSQL cluster and shares it.
//!
//! The app under test connects as a least-privilege login role made for the run (a member of
//! `tandem_runtime`, like the service's own login role), so every test shows the service works
//! with nothing more. Tests keep a privileged connection (`conn`, `sql`) for setup and tampering.

use std::collections::HashMap;
use std::sync::{mpsc, OnceLock};

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use embedded_pg::EmbeddedPostgres;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use tandem::auth::jwt::ClientClaims;
use tandem::auth::jwt::TokenKeys;
use tandem::auth::Role;
use tandem::db::schema::{
    coach_profiles, integration_clients, organizations, pairings, participants, status_changes,
    users,
};
use tandem::ops::config::Settings;
use tandem::ops::startup::Application;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const AUDIT_KEY: &str = "test-audit-key-test-audit-key-0123456789";
pub const ISSUER: &str = "tandem";
pub const AUDIENCE: &str = "tandem-api";

/// Where test databases are made.
struct Server {
    /// A URL to any database on the server, with rights to create databases and roles.
    admin_url: String,
    template: String,
    /// The run's runtime login role and its password.
    runtime_login: (String, String),
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
    let runtime_login = create_runtime_login(&admin_url)?;
    Ok(Server {
        admin_url,
        template,
        runtime_login,
    })
}

/// Creates this run's runtime login role, a member of `tandem_runtime` (which the migrations
/// create and grant to). It expires after a day; later runs drop the expired ones, so runs on a
/// shared server neither collide nor pile up roles.
fn create_runtime_login(admin_url: &str) -> Result<(String, String), String> {
    let name = format!("tandem_test_{}", Uuid::new_v4().simple());
    let password = Uuid::new_v4().simple().to_string();
    let valid_until = (Utc::now() + Duration::days(1)).to_rfc3339();
    let sql = format!(
        "DO $$ DECLARE expired record; BEGIN
             FOR expired IN SELECT rolname FROM pg_roles
                 WHERE rolname LIKE 'tandem\\_test\\_%' AND rolvaliduntil < now() LOOP
                 BEGIN
                     EXECUTE format('DROP ROLE %I', expired.rolname);
                 EXCEPTION WHEN others THEN NULL;
                 END;
             END LOOP;
         END $$;
         CREATE ROLE {name} LOGIN PASSWORD '{password}' VALID UNTIL '{valid_until}'
             IN ROLE tandem_runtime;"
    );
    let url = admin_url.to_owned();
    std::thread::spawn(move || -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(execute(&url, &sql))
    })
    .join()
    .map_err(|_| "role thread panicked".to_owned())??;
    Ok((name, password))
}

/// `url` with its user and password replaced.
pub fn with_login(url: &str, user: &str, password: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    format!("{}{user}:{password}@{host}", &url[..scheme_end])
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
    conn.batch_execute(sql)
        .await
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

/// An integration client made by the fixture.
#[derive(Debug, Clone)]
pub struct TestClient {
    pub id: Uuid,
    pub client_id: String,
    pub secret: String,
    pub token: String,
}

/// Anything that can send a bearer token.
pub trait Caller {
    fn token(&self) -> &str;
}

impl Caller for TestUser {
    fn token(&self) -> &str {
        &self.token
    }
}

impl Caller for TestClient {
    fn token(&self) -> &str {
        &self.token
    }
}

/// Sends any string as the bearer token: expired, forged or garbage tokens.
#[derive(Debug, Clone)]
pub struct RawToken(pub String);

impl Caller for RawToken {
    fn token(&self) -> &str {
        &self.0
    }
}

impl RawToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// `user`'s token, correctly signed, that expired two minutes ago (beyond the leeway).
    pub fn expired(user: &TestUser) -> Self {
        let mut claims = claims_for(user);
        claims["iat"] = json!(Utc::now().timestamp() - 1000);
        claims["nbf"] = claims["iat"].clone();
        claims["exp"] = json!(Utc::now().timestamp() - 120);
        Self(sign_token(&claims, JWT_SECRET.as_bytes()))
    }

    /// `user`'s token with valid claims, signed with a secret the server does not know.
    pub fn forged(user: &TestUser) -> Self {
        Self(sign_token(
            &claims_for(user),
            b"not-the-server-secret-not-the-server-secret",
        ))
    }
}

/// The claims of a well-formed access token for `user`, valid for ten minutes.
pub fn claims_for(user: &TestUser) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "sub": user.id, "org": user.organization_id, "role": user.role.as_str(),
        "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "nbf": now - 5,
        "iat": now - 5, "jti": Uuid::new_v4(), "ver": 0
    })
}

/// Signs `claims` the way the server signs access tokens (HS256, `typ: at+jwt`) with `secret`.
pub fn sign_token(claims: &Value, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One organization of the fixture: one user of each role, a second coach, an integration
/// client, and a participant record (`participant_id`) that belongs to the `participant` user
/// and is in an active pairing (`pairing_id`) with `coach`.
#[derive(Debug, Clone)]
pub struct TestOrg {
    pub id: Uuid,
    pub admin: TestUser,
    pub supervisor: TestUser,
    pub coach: TestUser,
    pub other_coach: TestUser,
    pub participant: TestUser,
    pub client: TestClient,
    pub participant_id: Uuid,
    pub pairing_id: Uuid,
}

impl TestOrg {
    /// The seeded participant record (`participant_id`, owned by the `participant` user).
    pub fn participant_record(&self) -> TestParticipant {
        TestParticipant {
            id: self.participant_id,
            organization_id: self.id,
            coach_id: self.coach.id,
            pairing_id: self.pairing_id,
        }
    }
}

/// A participant record made by a factory, in an active pairing with a coach.
#[derive(Debug, Clone)]
pub struct TestParticipant {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The coach of the current pairing.
    pub coach_id: Uuid,
    /// The current pairing.
    pub pairing_id: Uuid,
}

/// A running Tandem on its own database, with two organizations.
pub struct TestApp {
    pub address: String,
    /// A privileged URL of this test's database: for setup and tampering, never the app's.
    pub database_url: String,
    /// What the app under test connects as: the run's least-privilege runtime login.
    pub runtime_url: String,
    pub database: String,
    pub client: reqwest::Client,
    pub org: TestOrg,
    pub other_org: TestOrg,
    tokens: TokenKeys,
}

fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        tandem::auth::password::hash_blocking(PASSWORD).unwrap_or_else(|e| panic!("hash: {e}"))
    })
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Like [`TestApp::spawn`], with further configuration variables.
    pub async fn spawn_with(vars: &[(&str, &str)]) -> Self {
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
        let (user, password) = &server.runtime_login;
        let runtime_url = with_login(&database_url, user, password);
        let settings = test_settings_with(vars);
        let app = Application::build(&settings, &runtime_url)
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
            runtime_url,
            database,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
            org,
            other_org,
            tokens,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request to an `/api/v1` path, authenticated as `user` when given.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        caller: Option<&dyn Caller>,
    ) -> RequestBuilder {
        let request = self
            .client
            .request(method, self.url(&format!("/api/v1{path}")));
        match caller {
            Some(caller) => request.bearer_auth(caller.token()),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, caller: &dyn Caller) -> Response {
        send(self.request(Method::GET, path, Some(caller))).await
    }

    pub async fn post(&self, path: &str, caller: Option<&dyn Caller>, body: &Value) -> Response {
        send(self.request(Method::POST, path, caller).json(body)).await
    }

    pub async fn patch(&self, path: &str, caller: &dyn Caller, body: &Value) -> Response {
        send(self.request(Method::PATCH, path, Some(caller)).json(body)).await
    }

    /// A privileged connection to this test's database, for setup and tampering.
    pub async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.database_url)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A connection as the runtime role the app under test uses.
    pub async fn runtime_conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.runtime_url)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs SQL directly against this test's database, with privileges.
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

/// Factories: each makes what a test needs in one line. Rows whose shape is all that matters
/// are written with SQL (fast); changes whose path through the API matters go through the API.
impl TestApp {
    /// The fixture organization `organization_id` belongs to.
    fn org_of(&self, organization_id: Uuid) -> &TestOrg {
        if organization_id == self.other_org.id {
            &self.other_org
        } else {
            &self.org
        }
    }

    /// A new user of `org` with `role` and a token (a coach made this way has no profile).
    pub async fn user_in(&self, org: &TestOrg, role: Role) -> TestUser {
        insert_user(&mut self.conn().await, &self.tokens, org.id, role).await
    }

    /// A new integration client of `org` holding `scopes`, with a token carrying them all.
    pub async fn client_in(&self, org: &TestOrg, scopes: &[&str]) -> TestClient {
        insert_client(&mut self.conn().await, &self.tokens, org.id, scopes).await
    }

    /// A new coach of the first organization, with the default coach profile and a token.
    pub async fn coach(&self) -> TestUser {
        self.coach_in(&self.org).await
    }

    /// A new coach of `org` (`&app.other_org` for the other organization).
    pub async fn coach_in(&self, org: &TestOrg) -> TestUser {
        insert_coach(&mut self.conn().await, &self.tokens, org.id).await
    }

    /// A new participant of `coach`'s organization in an active pairing with `coach`.
    pub async fn participant_of(&self, coach: &TestUser) -> TestParticipant {
        let org = self.org_of(coach.organization_id);
        let mut conn = self.conn().await;
        let id = insert_participant(&mut conn, org.id, None, "Factory").await;
        let pairing_id = insert_pairing(&mut conn, id, coach, org.admin.id).await;
        TestParticipant {
            id,
            organization_id: org.id,
            coach_id: coach.id,
            pairing_id,
        }
    }

    /// A portal login for `participant`: a user with the participant role whose own record
    /// `participant` is.
    pub async fn portal_user_of(&self, participant: &TestParticipant) -> TestUser {
        let mut conn = self.conn().await;
        let user = insert_user(
            &mut conn,
            &self.tokens,
            participant.organization_id,
            Role::Participant,
        )
        .await;
        diesel::update(participants::table.find(participant.id))
            .set(participants::user_id.eq(user.id))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        user
    }

    /// A new coach whose pairing with `participant` has ended. The participant's current
    /// pairing is left as it is.
    pub async fn former_coach_of(&self, participant: &TestParticipant) -> TestUser {
        let coach = self
            .coach_in(self.org_of(participant.organization_id))
            .await;
        self.ended_pairing(participant, &coach).await;
        coach
    }

    /// Records a past pairing of `coach` with `participant`, as `POST /pairings/{id}/status`
    /// leaves one that has ended (status, start and end, history); returns its id.
    pub async fn ended_pairing(&self, participant: &TestParticipant, coach: &TestUser) -> Uuid {
        let org = self.org_of(participant.organization_id);
        let (id, started, ended) = (
            Uuid::now_v7(),
            Utc::now() - Duration::days(90),
            Utc::now() - Duration::days(7),
        );
        let mut conn = self.conn().await;
        diesel::insert_into(pairings::table)
            .values((
                pairings::id.eq(id),
                pairings::organization_id.eq(org.id),
                pairings::participant_id.eq(participant.id),
                pairings::coach_id.eq(coach.id),
                pairings::status.eq("ended"),
                pairings::started_at.eq(started),
                pairings::ended_at.eq(ended),
                pairings::created_by.eq(org.supervisor.id),
                pairings::created_at.eq(started),
                pairings::updated_at.eq(ended),
            ))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for (from, to, at) in [(None, "active", started), (Some("active"), "ended", ended)] {
            diesel::insert_into(status_changes::table)
                .values((
                    status_changes::id.eq(Uuid::now_v7()),
                    status_changes::subject_type.eq("pairing"),
                    status_changes::subject_id.eq(id),
                    status_changes::from_status.eq(from),
                    status_changes::to_status.eq(to),
                    status_changes::reason.eq("moved to another program"),
                    status_changes::actor_id.eq(org.supervisor.id),
                    status_changes::at.eq(at),
                ))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        id
    }

    /// Ends a pairing through the API, as its organization's supervisor; returns the pairing.
    pub async fn end_pairing(&self, pairing_id: Uuid) -> Value {
        let organization_id: Uuid = pairings::table
            .find(pairing_id)
            .select(pairings::organization_id)
            .get_result(&mut self.conn().await)
            .await
            .unwrap_or_else(|e| panic!("no pairing {pairing_id}: {e}"));
        let response = self
            .post(
                &format!("/pairings/{pairing_id}/status"),
                Some(&self.org_of(organization_id).supervisor),
                &json!({"status": "ended", "reason": "the participant moved away"}),
            )
            .await;
        ok_json(response).await
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

/// A fresh migrated database of its own, with no server and no rows, dropped with the value:
/// for tests that run `tandem` processes against it.
pub struct TestDatabase {
    /// As the owner: what migrations run as.
    pub url: String,
    /// As the run's least-privilege runtime login: what a server connects as.
    pub runtime_url: String,
    name: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        Self::make(&format!("TEMPLATE {}", server().template)).await
    }

    /// A database with no tables at all: migrations have not run.
    pub async fn unmigrated() -> Self {
        Self::make("").await
    }

    async fn make(options: &str) -> Self {
        let server = server();
        let name = format!("t_{}", Uuid::new_v4().simple());
        execute(
            &server.admin_url,
            &format!("CREATE DATABASE {name} {options}"),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let url = with_database(&server.admin_url, &name);
        let (user, password) = &server.runtime_login;
        Self {
            runtime_url: with_login(&url, user, password),
            url,
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = server().admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                let _ = runtime.block_on(execute(&admin_url, &sql));
            }
        })
        .join();
    }
}

/// The test configuration with `extra` variables added (or replaced).
pub fn test_settings_with(extra: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<&str, &str> = HashMap::from([
        ("TANDEM_BIND", "127.0.0.1:0"),
        ("TANDEM_JWT_SECRET", JWT_SECRET),
        ("TANDEM_AUDIT_KEY", AUDIT_KEY),
        ("TANDEM_WORKERS", "1"),
        ("TANDEM_DB_POOL_SIZE", "4"),
        // Webhook tests turn the worker on.
        ("TANDEM_WEBHOOK_WORKER", "off"),
    ]);
    vars.extend(extra.iter().copied());
    Settings::from_lookup(|name| vars.get(name).map(|v| v.to_string()))
        .unwrap_or_else(|e| panic!("{e}"))
}

pub async fn seed_org(conn: &mut AsyncPgConnection, tokens: &TokenKeys, name: &str) -> TestOrg {
    let id = Uuid::now_v7();
    diesel::insert_into(organizations::table)
        .values((organizations::id.eq(id), organizations::name.eq(name)))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let admin = insert_user(conn, tokens, id, Role::Admin).await;
    let supervisor = insert_user(conn, tokens, id, Role::Supervisor).await;
    let coach = insert_coach(conn, tokens, id).await;
    let other_coach = insert_coach(conn, tokens, id).await;
    let participant = insert_user(conn, tokens, id, Role::Participant).await;
    let participant_id =
        insert_participant(conn, id, Some(participant.id), &format!("Seeded {name}")).await;
    let pairing_id = insert_pairing(conn, participant_id, &coach, admin.id).await;
    let client = insert_client(conn, tokens, id, ALL_SCOPES).await;
    TestOrg {
        id,
        admin,
        supervisor,
        coach,
        other_coach,
        participant,
        client,
        participant_id,
        pairing_id,
    }
}

async fn insert_user(
    conn: &mut AsyncPgConnection,
    tokens: &TokenKeys,
    organization_id: Uuid,
    role: Role,
) -> TestUser {
    let id = Uuid::now_v7();
    let email = format!("{}-{}@example.org", role.as_str(), id.simple());
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::organization_id.eq(organization_id),
            users::email.eq(&email),
            users::display_name.eq(format!("Test {}", role.as_str())),
            users::role.eq(role),
            users::password_hash.eq(password_hash()),
        ))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    TestUser {
        id,
        organization_id,
        email,
        role,
        token: tokens
            .issue(id, organization_id, role, 0)
            .unwrap_or_else(|e| panic!("{e}")),
    }
}

/// A coach user with the default coach profile.
async fn insert_coach(
    conn: &mut AsyncPgConnection,
    tokens: &TokenKeys,
    organization_id: Uuid,
) -> TestUser {
    let coach = insert_user(conn, tokens, organization_id, Role::Coach).await;
    diesel::insert_into(coach_profiles::table)
        .values((
            coach_profiles::user_id.eq(coach.id),
            coach_profiles::organization_id.eq(organization_id),
        ))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    coach
}

async fn insert_participant(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Option<Uuid>,
    last_name: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    diesel::insert_into(participants::table)
        .values((
            participants::id.eq(id),
            participants::organization_id.eq(organization_id),
            participants::user_id.eq(user_id),
            participants::first_name.eq("Jordan"),
            participants::last_name.eq(last_name),
        ))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    id
}

/// An active pairing of `participant_id` with `coach`.
async fn insert_pairing(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    coach: &TestUser,
    created_by: Uuid,
) -> Uuid {
    let id = Uuid::now_v7();
    diesel::insert_into(pairings::table)
        .values((
            pairings::id.eq(id),
            pairings::organization_id.eq(coach.organization_id),
            pairings::participant_id.eq(participant_id),
            pairings::coach_id.eq(coach.id),
            pairings::status.eq("active"),
            pairings::created_by.eq(created_by),
        ))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    id
}

/// Every scope a client may hold.
pub const ALL_SCOPES: &[&str] = &["referrals:read", "referrals:write", "directory:read"];

async fn insert_client(
    conn: &mut AsyncPgConnection,
    tokens: &TokenKeys,
    organization_id: Uuid,
    scopes: &[&str],
) -> TestClient {
    let id = Uuid::now_v7();
    let client_id = format!("clinic-{}", id.simple());
    let secret = format!("secret-{}", Uuid::new_v4().simple());
    diesel::insert_into(integration_clients::table)
        .values((
            integration_clients::id.eq(id),
            integration_clients::organization_id.eq(organization_id),
            integration_clients::name.eq("Riverside Clinic"),
            integration_clients::client_id.eq(&client_id),
            integration_clients::secret_hash.eq(tandem::routes::auth::hash_client_secret(&secret)),
            integration_clients::scopes
                .eq(scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        ))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    TestClient {
        id,
        client_id: client_id.clone(),
        secret,
        token: tokens
            .issue_client(
                id,
                organization_id,
                0,
                ClientClaims {
                    client_id: &client_id,
                    scope: &scopes.join(" "),
                },
                tandem::auth::jwt::ACCESS_TOKEN_SECONDS,
            )
            .unwrap_or_else(|e| panic!("{e}")),
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

/// Asserts a 200 and returns the JSON body.
pub async fn ok_json(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "expected 200, got {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// The body of a 201, failing the test with the body otherwise.
pub async fn created_json(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 201, "expected 201, got {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// The `id`s of a list page's `items`, in order.
pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list page: {page}"))
        .iter()
        .map(|item| {
            item["id"]
                .as_str()
                .unwrap_or_else(|| panic!("an item without an id: {item}"))
                .to_owned()
        })
        .collect()
}

/// Group sessions: recorded and attended through the API.
impl TestApp {
    pub async fn put(&self, path: &str, caller: &dyn Caller, body: &Value) -> Response {
        send(self.request(Method::PUT, path, Some(caller)).json(body)).await
    }

    /// A peer support group that `facilitator` ran `days_ago` days ago; returns its id.
    pub async fn group_session(&self, facilitator: &TestUser, days_ago: i64) -> Uuid {
        let occurred_at = Utc::now() - Duration::days(days_ago);
        let body = json!({
            "title": "Tuesday peer support", "kind": "peer_support", "occurred_at": occurred_at,
            "duration_minutes": 90, "facilitator_ids": [facilitator.id],
        });
        let response = self.post("/group-sessions", Some(facilitator), &body).await;
        let status = response.status();
        let created = json(response).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().parse().unwrap()
    }

    /// Sets the attendance list of `session` to `entries` (participant, status), as the
    /// session's organization's supervisor; returns the session.
    pub async fn set_attendance(&self, session: Uuid, entries: &[(Uuid, &str)]) -> Value {
        let body: Vec<Value> = entries
            .iter()
            .map(|(id, status)| json!({"participant_id": id, "status": status}))
            .collect();
        let path = format!("/group-sessions/{session}/attendance");
        ok_json(self.put(&path, &self.org.supervisor, &json!(body)).await).await
    }
}

/// Factories for the recovery plan: goals and their action items, made through the API.
impl TestApp {
    /// A new active goal of `participant_id` (of the first organization unless it is the other
    /// organization's), created by that organization's supervisor; returns the goal.
    pub async fn goal_of(&self, participant_id: Uuid) -> Value {
        let organization_id: Uuid = participants::table
            .find(participant_id)
            .select(participants::organization_id)
            .get_result(&mut self.conn().await)
            .await
            .unwrap_or_else(|e| panic!("no participant {participant_id}: {e}"));
        let response = self
            .post(
                &format!("/participants/{participant_id}/goals"),
                Some(&self.org_of(organization_id).supervisor),
                &json!({"title": "Find stable housing", "domain": "housing"}),
            )
            .await;
        assert_eq!(response.status(), 201, "creating a goal");
        json(response).await
    }

    /// A new open action item on `goal` (a goal response), added by its organization's
    /// supervisor; returns the action item.
    pub async fn action_item_of(&self, goal: &Value) -> Value {
        let organization_id: Uuid = goal["organization_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("not a goal: {goal}"));
        let response = self
            .post(
                &format!(
                    "/goals/{}/action-items",
                    goal["id"].as_str().unwrap_or_default()
                ),
                Some(&self.org_of(organization_id).supervisor),
                &json!({"title": "Call the housing office"}),
            )
            .await;
        assert_eq!(response.status(), 201, "adding an action item");
        json(response).await
    }
}

/// Session-note factories.
impl TestApp {
    /// A session note by `author` about `participant_id` with `visibility`, written with SQL
    /// as the API stores one (unsigned, an individual session an hour ago). The author need
    /// not be able to write it through the API now: a former coach's note stays theirs.
    pub async fn session_note(
        &self,
        author: &TestUser,
        participant_id: Uuid,
        visibility: &str,
    ) -> Uuid {
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO session_notes (id, organization_id, participant_id, author_id,
                 session_type, occurred_at, duration_minutes, summary, visibility)
             VALUES ('{id}', '{}', '{participant_id}', '{}', 'individual',
                 now() - interval '1 hour', 45, 'Talked through the week', '{visibility}')",
            author.organization_id, author.id
        );
        self.sql(&sql).await.unwrap_or_else(|e| panic!("{e}"));
        id
    }

    /// Signs a note as `POST /session-notes/{id}/sign` does.
    pub async fn sign_note(&self, id: Uuid) {
        let sql = format!("UPDATE session_notes SET signed_at = now() WHERE id = '{id}'");
        self.sql(&sql).await.unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Consent factories: a directory resource to name as a recipient, and consents signed
/// through the API.
impl TestApp {
    /// A resource of `org`'s directory with a street address, written with SQL.
    pub async fn consent_recipient_resource(&self, org: &TestOrg) -> Uuid {
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO resources (id, organization_id, name, organization_name, categories,
                 address_1, city, state_province, postal_code, country)
             VALUES ('{id}', '{}', 'Harbor Light MOUD Clinic', 'Harbor Light Health', '{{moud}}',
                 '12 Pier Street', 'Portland', 'ME', '04101', 'US')",
            org.id
        );
        self.sql(&sql).await.unwrap_or_else(|e| panic!("{e}"));
        id
    }

    /// A consent body with every 42 CFR 2.31 element, naming `client` of the organization.
    pub fn consent_body(client: Uuid) -> Value {
        json!({
            "recipient_client_id": client,
            "purpose": "Coordinate a referral for medication treatment",
            "information_categories": ["demographics", "referral_details"],
            "information_description": "Name, date of birth and the reason for the referral",
            "expires_at": Utc::now() + Duration::days(365),
            "signed_by_name": "Jordan Rivera",
            "signer_relationship": "self",
            "signed_at": Utc::now() - Duration::minutes(1),
            "signature_method": "electronic",
        })
    }

    /// A consent of `participant_id` (first organization) to disclose to the organization's
    /// clinic client, signed through the API by the supervisor; returns the consent.
    pub async fn consent_of(&self, participant_id: Uuid) -> Value {
        let path = format!("/participants/{participant_id}/consents");
        let body = Self::consent_body(self.org.client.id);
        let response = self.post(&path, Some(&self.org.supervisor), &body).await;
        let status = response.status();
        let created = json(response).await;
        assert_eq!(status, 201, "signing a consent: {created}");
        created
    }
}

/// Referral factories: directory resources, their links to clients, and consents, written
/// with SQL as the directory and consent endpoints store them.
impl TestApp {
    /// A resource of `org` that accepts referrals; linked to `client` when given, a day ago (so
    /// before the consents [`TestApp::referral_consent`] signs an hour ago).
    pub async fn referral_resource(&self, org: &TestOrg, client: Option<&TestClient>) -> Uuid {
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO resources (id, organization_id, name, organization_name, categories,
                 address_1, city, state_province, postal_code)
             VALUES ('{id}', '{}', 'Harbor MOUD Clinic', 'Harbor Health', '{{moud}}',
                 '12 Pier Road', 'Portland', 'ME', '04101')",
            org.id
        );
        self.sql(&sql).await.unwrap_or_else(|e| panic!("{e}"));
        if let Some(client) = client {
            let sql = format!(
                "INSERT INTO integration_client_resources
                     (client_id, resource_id, organization_id, linked_at)
                 VALUES ('{}', '{id}', '{}', now() - interval '1 day')",
                client.id, org.id
            );
            self.sql(&sql).await.unwrap_or_else(|e| panic!("{e}"));
        }
        id
    }

    /// A consent of `participant_id` to disclose `categories` to `client` (and `resource`),
    /// signed by an admin of `org`, expiring in `days` days (negative: already expired).
    pub async fn referral_consent(
        &self,
        org: &TestOrg,
        participant_id: Uuid,
        client: Option<&TestClient>,
        resource: Option<Uuid>,
        categories: &[&str],
        days: i64,
    ) -> Uuid {
        let id = Uuid::now_v7();
        let quote = |v: Option<String>| v.map_or("NULL".to_owned(), |v| format!("'{v}'"));
        let sql = format!(
            "INSERT INTO consents (id, organization_id, participant_id, discloser_name,
                 recipient_client_id, recipient_resource_id, recipient_name, purpose,
                 information_categories, information_description, expires_at, signed_by_name,
                 signer_relationship, signed_at, signature_method, created_by)
             VALUES ('{id}', '{}', '{participant_id}', 'First Recovery Community', {}, {},
                 'Harbor Health', 'treatment referral', '{{{}}}', 'name and referral',
                 now() + interval '{days} days', 'Jordan', 'self', now() - interval '1 hour',
                 'electronic', '{}')",
            org.id,
            quote(client.map(|c| c.id.to_string())),
            quote(resource.map(|r| r.to_string())),
            categories.join(","),
            org.admin.id
        );
        self.sql(&sql).await.unwrap_or_else(|e| panic!("{e}"));
        id
    }

    /// Creates a referral of `participant_id` to `resource` as `user` with `status`; returns
    /// the response body (asserting 201).
    pub async fn referral(
        &self,
        user: &TestUser,
        participant_id: Uuid,
        resource: Uuid,
        status: &str,
    ) -> Value {
        let body = json!({"participant_id": participant_id, "resource_id": resource,
            "reason": "needs MOUD", "urgency": "routine", "status": status});
        let response = self.post("/referrals", Some(user), &body).await;
        let status = response.status();
        let created = json(response).await;
        assert_eq!(status, 201, "{created}");
        created
    }

    /// Counts the rows of `sql` (a `SELECT count(*)`).
    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        diesel::sql_query(sql)
            .get_result::<Count>(&mut self.conn().await)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .count
    }
}

/// Integration-client factories.
impl TestApp {
    /// A directory resource of `org`, written with SQL, to link integration clients to.
    pub async fn resource_for_clients(&self, org: &TestOrg) -> Uuid {
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO resources (id, organization_id, name, organization_name)
             VALUES ('{id}', '{}', 'Harbor Light Recovery Center', 'Harbor Light')",
            org.id
        );
        self.sql(&sql).await.unwrap_or_else(|e| panic!("{e}"));
        id
    }

    /// An integration client of `org` made through `POST /integration-clients` by its admin,
    /// with every scope and `webhook_url`: the created answer, secrets included.
    pub async fn integration_client_with_webhook(&self, org: &TestOrg, webhook_url: &str) -> Value {
        let response = self
            .post(
                "/integration-clients",
                Some(&org.admin),
                &json!({"name": "Riverside Clinic", "resource_ids": [], "scopes": ALL_SCOPES,
                        "webhook_url": webhook_url}),
            )
            .await;
        assert_eq!(response.status(), 201, "creating an integration client");
        json(response).await
    }

    /// A delivery attempt of a new event to `client_id`, written with SQL as the worker
    /// records one (a failed first attempt).
    pub async fn webhook_delivery_of(&self, org: &TestOrg, client_id: Uuid) -> Uuid {
        let (event, delivery) = (Uuid::now_v7(), Uuid::now_v7());
        let sql = format!(
            "INSERT INTO webhook_events (id, organization_id, client_id, event_type, data, state,
                 attempts)
             VALUES ('{event}', '{org}', '{client_id}', 'referral.created', '{{}}', 'failed', 1);
             INSERT INTO webhook_deliveries (id, organization_id, client_id, event_id, event_type,
                 attempt, attempted_at, url, response_status, duration_ms, succeeded)
             VALUES ('{delivery}', '{org}', '{client_id}', '{event}', 'referral.created', 1,
                 now(), 'https://clinic.example.org/hooks', 500, 12, false)",
            org = org.id
        );
        self.sql(&sql).await.unwrap_or_else(|e| panic!("{e}"));
        delivery
    }
}
