//! `tandem seed-demo`: demo data at the size asked for, the same for the same `--seed`.
//!
//! Rows go in as large `INSERT … SELECT FROM unnest(…)` batches inside one transaction, so a
//! failed run leaves nothing behind. Every demo user of a role shares that role's password
//! (hashed once): this is demo data only, never for an instance holding real records.
//! Audit tables are left alone.

mod ids;
mod people;
mod recovery;
mod referrals;

use std::time::Instant;

use diesel::sql_types::{Bool, Uuid as SqlUuid};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, TransactionManager};

use crate::auth::password::hash_blocking;

pub use people::People;

/// The demo passwords, one per role, printed at the end of every run.
pub const PASSWORDS: [(&str, &str); 4] = [
    ("admin", "demo-admin-password"),
    ("supervisor", "demo-supervisor-password"),
    ("coach", "demo-coach-password"),
    ("participant", "demo-participant-password"),
];

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub organizations: u32,
    pub coaches: u32,
    pub participants: u32,
    pub goals_per_participant: u32,
    pub notes_per_participant: u32,
    pub assessments_per_participant: u32,
    /// Every n-th participant of an organization gets a consent and a referral (0: none).
    pub referral_every: u32,
    pub seed: u64,
}

impl Options {
    /// `small`: what a newcomer explores `/docs` with.
    pub fn small() -> Self {
        Self {
            organizations: 2,
            coaches: 6,
            participants: 50,
            goals_per_participant: 3,
            notes_per_participant: 5,
            assessments_per_participant: 1,
            referral_every: 10,
            seed: 1,
        }
    }

    /// `bench`: the benchmark's dataset (1,000,000 notes).
    pub fn bench() -> Self {
        Self {
            organizations: 10,
            coaches: 1_000,
            participants: 50_000,
            goals_per_participant: 10,
            notes_per_participant: 20,
            assessments_per_participant: 2,
            referral_every: 5,
            seed: 1,
        }
    }

    /// Parses `seed-demo`'s arguments: a `--scale` preset (default `small`) with any count
    /// overridden by its own option.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = match scale_of(args)? {
            "small" => Self::small(),
            "bench" => Self::bench(),
            other => return Err(format!("unknown scale `{other}` (small or bench)")),
        };
        let mut rest = args.iter();
        while let Some(flag) = rest.next() {
            let value = rest
                .next()
                .ok_or_else(|| format!("`{flag}` needs a value"))?;
            let number = || {
                value
                    .parse::<u32>()
                    .map_err(|_| format!("`{flag}` needs a whole number, not `{value}`"))
            };
            match flag.as_str() {
                "--scale" => {}
                "--organizations" => options.organizations = number()?,
                "--coaches" => options.coaches = number()?,
                "--participants" => options.participants = number()?,
                "--goals-per-participant" => options.goals_per_participant = number()?,
                "--notes-per-participant" => options.notes_per_participant = number()?,
                "--seed" => {
                    options.seed = value
                        .parse()
                        .map_err(|_| format!("`--seed` needs a whole number, not `{value}`"))?
                }
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        options.check()?;
        Ok(options)
    }

    fn check(&self) -> Result<(), String> {
        if self.organizations == 0 {
            return Err("--organizations must be at least 1".into());
        }
        if self.coaches < self.organizations {
            return Err("--coaches must be at least --organizations (a coach each)".into());
        }
        if self.goals_per_participant > 100 || self.notes_per_participant > 1_000 {
            return Err("at most 100 goals and 1,000 notes per participant".into());
        }
        if people::max_caseload(self) > 500 {
            return Err("too few coaches: a caseload would exceed 500 participants".into());
        }
        Ok(())
    }
}

fn scale_of(args: &[String]) -> Result<&str, String> {
    match args.iter().position(|arg| arg == "--scale") {
        None => Ok("small"),
        Some(at) => args
            .get(at + 1)
            .map(String::as_str)
            .ok_or_else(|| "`--scale` needs small or bench".into()),
    }
}

/// Rows written per table, in the order they were written.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<(&'static str, usize)>,
    pub logins: Vec<(&'static str, String, &'static str)>,
}

/// Counts rows per table and prints the running totals every few seconds, with the time
/// since the start.
pub struct Progress {
    started: Instant,
    printed: Instant,
    report: Report,
}

impl Progress {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            printed: Instant::now(),
            report: Report::default(),
        }
    }

    pub fn done(&mut self, table: &'static str, rows: usize) {
        match self.report.rows.iter_mut().find(|(name, _)| *name == table) {
            Some((_, total)) => *total += rows,
            None => self.report.rows.push((table, rows)),
        }
        if self.printed.elapsed().as_secs() >= 3 {
            self.print();
        }
    }

    fn print(&mut self) {
        let totals: Vec<String> = self
            .report
            .rows
            .iter()
            .map(|(table, rows)| format!("{table} {rows}"))
            .collect();
        println!(
            "  {:>6.1} s  {}",
            self.started.elapsed().as_secs_f64(),
            totals.join(", ")
        );
        self.printed = Instant::now();
    }
}

/// The password hash of each role, computed once and shared by that role's demo users.
pub struct Hashes {
    pub admin: String,
    pub supervisor: String,
    pub coach: String,
    pub participant: String,
}

async fn hashes() -> Result<Hashes, String> {
    tokio::task::spawn_blocking(|| {
        let hash = |role: usize| hash_blocking(PASSWORDS[role].1).map_err(|e| e.to_string());
        Ok(Hashes {
            admin: hash(0)?,
            supervisor: hash(1)?,
            coach: hash(2)?,
            participant: hash(3)?,
        })
    })
    .await
    .map_err(|error| error.to_string())?
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

/// Seeds the demo data; refused when this seed's first organization is already there.
pub async fn run(conn: &mut AsyncPgConnection, options: &Options) -> Result<Report, String> {
    let first = people::first_organization_id(options.seed);
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)")
            .bind::<SqlUuid, _>(first)
            .get_result(conn)
            .await
            .map_err(|error| format!("database error: {error}"))?;
    if found.exists {
        return Err(format!(
            "the demo data of seed {} is already in this database (organization {first}); \
             use another --seed or a fresh database",
            options.seed
        ));
    }
    let hashes = hashes().await?;
    println!("Seeding demo data (seed {}):", options.seed);
    let mut progress = Progress::new();
    AnsiTransactionManager::begin_transaction(conn)
        .await
        .map_err(|error| format!("database error: {error}"))?;
    match insert_all(conn, options, &hashes, &mut progress).await {
        Ok(people) => {
            AnsiTransactionManager::commit_transaction(conn)
                .await
                .map_err(|error| format!("database error: {error}"))?;
            progress.report.logins = people.logins(options.seed);
            println!("Done in {:.1} s:", progress.started.elapsed().as_secs_f64());
            for (table, rows) in &progress.report.rows {
                println!("  {table:<16} {rows:>10} rows");
            }
            Ok(progress.report)
        }
        Err(error) => {
            let _ = AnsiTransactionManager::rollback_transaction(conn).await;
            Err(format!("cannot seed the demo data: {error}"))
        }
    }
}

async fn insert_all(
    conn: &mut AsyncPgConnection,
    options: &Options,
    hashes: &Hashes,
    progress: &mut Progress,
) -> diesel::QueryResult<People> {
    diesel::sql_query("SET LOCAL synchronous_commit = off")
        .execute(conn)
        .await?;
    let people = people::insert(conn, options, hashes, progress).await?;
    let directory = referrals::insert_directory(conn, options, &people, progress).await?;
    recovery::insert(conn, options, &people, progress).await?;
    referrals::insert_referrals(conn, options, &people, &directory, progress).await?;
    Ok(people)
}

/// How to sign in as each demo role, for the end of the run, against a server listening on
/// `bind` (`TANDEM_BIND`).
pub fn login_instructions(report: &Report, bind: std::net::SocketAddr) -> String {
    let mut text =
        String::from("\nDemo logins (demo data only: every user of a role shares its password):\n");
    for (role, email, password) in &report.logins {
        text.push_str(&format!("  {role:<12} {email:<40} {password}\n"));
    }
    if let Some((_, email, password)) = report.logins.iter().find(|(role, ..)| *role == "coach") {
        text.push_str(&format!(
            "\nSign in with:\n  curl -s -X POST http://{bind}/api/v1/auth/login \\\n    \
             -H 'Content-Type: application/json' \\\n    \
             -d '{{\"email\": \"{email}\", \"password\": \"{password}\"}}'\n"
        ));
    }
    text
}
