//! What the benchmarks that run the release `tandem serve` binary share: the server process,
//! its settings, and PostgreSQL's statement statistics.
#![allow(dead_code)]

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Double, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use uuid::Uuid;

pub const POOL_SIZE: usize = 16;
pub const SECRET: &str = "bench-secret-bench-secret-bench-secret-000";
pub const ISSUER: &str = "tandem";
pub const AUDIENCE: &str = "tandem-api";

pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

// The server process

pub struct Server {
    child: Option<Child>,
    pub base: String,
    log: PathBuf,
}

impl Server {
    pub async fn start(database_url: &str) -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("tandem-bench-{}.log", Uuid::new_v4()));
        let log_file = fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
        command.arg("serve");
        for (key, _) in std::env::vars() {
            if key.starts_with("TANDEM_") || key == "DATABASE_URL" || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command
            .env("DATABASE_URL", database_url)
            .env("TANDEM_ENV", "production")
            .env("TANDEM_BIND", format!("127.0.0.1:{port}"))
            .env("TANDEM_JWT_SECRET", SECRET)
            .env("TANDEM_AUDIT_KEY", SECRET)
            .env("TANDEM_JWT_ISSUER", ISSUER)
            .env("TANDEM_JWT_AUDIENCE", AUDIENCE)
            .env("TANDEM_DB_POOL_SIZE", POOL_SIZE.to_string())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        let child = command.spawn().expect("run the tandem binary");
        let mut server = Self {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_ready().await;
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "the server exited during startup ({status}); its log:\n{}",
                    fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            let ready = client
                .get(format!("{}/readyz", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return;
            }
            if started.elapsed() > Duration::from_secs(60) {
                panic!(
                    "the server was not ready after 60 s; its log:\n{}",
                    fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// CPU time the server process has used so far.
    pub fn cpu(&self) -> Duration {
        process_cpu(self.pid()).unwrap_or_default()
    }

    /// SIGTERM (graceful shutdown), then SIGKILL if it has not exited within 15 s.
    pub fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: signalling our own child process.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(15) {
                if let Ok(Some(_)) = child.try_wait() {
                    fs::remove_file(&self.log).ok();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            child.kill().ok();
            child.wait().ok();
        }
        fs::remove_file(&self.log).ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
            eprintln!("server log kept at {}", self.log.display());
        }
    }
}

/// utime + stime of a process (all its threads), from `/proc/<pid>/stat`.
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the file; the first one after the name is field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|&t| t > 0)?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks as f64,
    ))
}

pub fn load_average() -> Option<f64> {
    fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

// PostgreSQL's view

/// pg_stat_statements, read from the admin database for the bench database only.
pub struct StatementStats {
    pub database: String,
}

#[derive(QueryableByName)]
pub struct Statement {
    #[diesel(sql_type = BigInt)]
    pub calls: i64,
    #[diesel(sql_type = Double)]
    pub total_ms: f64,
    #[diesel(sql_type = Text)]
    pub query: String,
}

impl Statement {
    pub fn is_transaction_control(&self) -> bool {
        let first = self
            .query
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_end_matches(';')
            .to_ascii_uppercase();
        matches!(
            first.as_str(),
            "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "SAVEPOINT" | "RELEASE"
        )
    }
}

impl StatementStats {
    pub async fn enable(admin: &mut AsyncPgConnection, database: &str) -> Option<Self> {
        admin
            .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .await
            .ok()?;
        let stats = Self {
            database: database.to_owned(),
        };
        // Fails unless the library is preloaded.
        diesel::sql_query("SELECT pg_stat_statements_reset()")
            .execute(admin)
            .await
            .ok()?;
        stats.try_read(admin).await.ok()?;
        Some(stats)
    }

    pub async fn reset(&self, admin: &mut AsyncPgConnection) {
        diesel::sql_query("SELECT pg_stat_statements_reset()")
            .execute(admin)
            .await
            .unwrap();
    }

    /// The bench database's statements since the last reset, most called first.
    pub async fn read(&self, admin: &mut AsyncPgConnection) -> Vec<Statement> {
        self.try_read(admin).await.unwrap()
    }

    pub async fn try_read(
        &self,
        admin: &mut AsyncPgConnection,
    ) -> diesel::QueryResult<Vec<Statement>> {
        diesel::sql_query(
            "SELECT s.calls, s.total_exec_time AS total_ms, s.query
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname = $1
             ORDER BY s.calls DESC, s.total_exec_time DESC",
        )
        .bind::<Text, _>(&self.database)
        .load(admin)
        .await
    }
}
