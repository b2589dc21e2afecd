//! Which database to use: `DATABASE_URL` (and `TANDEM_MIGRATION_DATABASE_URL`), or in
//! development a private PostgreSQL cluster kept under the data dir; and the roles Tandem uses
//! on it: migrations run as the owner of the schema, the service as a role that owns nothing.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::db;
use crate::ops::config::{Environment, Settings};
use embedded_pg::{EmbeddedPostgres, Purpose};

pub const DATABASE_NAME: &str = "tandem";
/// The login role the service uses on the private cluster; a member of `tandem_runtime`, the
/// group role the migrations grant to.
pub const RUNTIME_LOGIN: &str = "tandem_app";
/// File in the data directory holding the runtime login's password.
const RUNTIME_PASSWORD_FILE: &str = "postgres-app-password";

/// The database URLs, and the cluster serving them when Tandem started one itself.
pub struct Database {
    /// What `serve` connects as: the runtime role.
    pub url: String,
    /// What migrations run as (the owner of the schema), when known: always on the private
    /// cluster, else `TANDEM_MIGRATION_DATABASE_URL`.
    pub migration_url: Option<String>,
    pub cluster: Option<EmbeddedPostgres>,
    /// The runtime login's password on the private cluster; set on every start, so a cluster
    /// created before the login existed gets it.
    runtime_password: Option<String>,
}

/// Resolves the database for `serve`, `migrate` and `create-organization`. Blocking (it may
/// initialise and start a cluster); prints progress as it goes. Without a database URL, a
/// command run beside a `tandem serve` on the same data dir uses that server's cluster and
/// leaves it running, and a second `tandem serve` is refused.
pub fn resolve(settings: &Settings, purpose: Purpose) -> Result<Database, String> {
    let given = settings
        .database_url
        .clone()
        .or_else(|| settings.migration_database_url.clone());
    if let Some(url) = given {
        return Ok(Database {
            url,
            migration_url: settings.migration_database_url.clone(),
            cluster: None,
            runtime_password: None,
        });
    }
    std::fs::create_dir_all(&settings.data_dir).map_err(|error| {
        format!(
            "TANDEM_DATA_DIR: cannot create {}: {error}",
            settings.data_dir.display()
        )
    })?;
    let cluster = EmbeddedPostgres::open_persistent(&settings.data_dir, purpose, &mut |line| {
        eprintln!("{line}");
    })
    .map_err(|error| error.to_string())?;
    let password = runtime_password(settings)?;
    Ok(Database {
        url: format!(
            "postgres://{RUNTIME_LOGIN}:{password}@127.0.0.1:{}/{DATABASE_NAME}",
            cluster.port()
        ),
        migration_url: Some(cluster.url(DATABASE_NAME)),
        cluster: Some(cluster),
        runtime_password: Some(password),
    })
}

/// The runtime login's password, kept in the data dir (generated the first time).
fn runtime_password(settings: &Settings) -> Result<String, String> {
    let path = settings.data_dir.join(RUNTIME_PASSWORD_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let password = text.trim();
        if password.len() >= 32 && password.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(password.to_owned());
        }
    }
    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    crate::ops::config::write_private_file(&path, format!("{password}\n").as_bytes())
        .map_err(|error| format!("cannot keep {}: {error}", path.display()))?;
    Ok(password)
}

/// On the private cluster: creates the database, and the runtime login (or brings an existing
/// one back to its password and attributes). Nothing to do elsewhere.
pub async fn prepare(database: &Database) -> Result<(), String> {
    let (Some(cluster), Some(password)) = (&database.cluster, &database.runtime_password) else {
        return Ok(());
    };
    ensure_database(&cluster.url("postgres"), DATABASE_NAME).await?;
    let mut conn = AsyncPgConnection::establish(&cluster.url(DATABASE_NAME))
        .await
        .map_err(|error| format!("cannot connect to PostgreSQL: {error}"))?;
    // The password is alphanumeric (checked when read), so it can stand in a literal.
    let sql = format!(
        "DO $$ BEGIN
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tandem_runtime') THEN
                 CREATE ROLE tandem_runtime NOLOGIN;
             END IF;
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{RUNTIME_LOGIN}') THEN
                 CREATE ROLE {RUNTIME_LOGIN} LOGIN;
             END IF;
         END $$;
         ALTER ROLE {RUNTIME_LOGIN} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
             NOREPLICATION NOBYPASSRLS PASSWORD '{password}';
         GRANT tandem_runtime TO {RUNTIME_LOGIN};"
    );
    conn.batch_execute(&sql)
        .await
        .map_err(|error| format!("cannot set up the database role {RUNTIME_LOGIN}: {error}"))
}

/// Applies pending migrations as the owner. Without the owner's URL, `DATABASE_URL` serves
/// for it in development and for `tandem migrate`; otherwise (production `serve`) nothing is
/// migrated, and pending migrations stop the start.
pub async fn migrate(database: &Database, settings: &Settings, asked: bool) -> Result<(), String> {
    let url = match &database.migration_url {
        Some(url) => url.clone(),
        None if asked || settings.environment == Environment::Development => database.url.clone(),
        None => return refuse_pending(&database.url).await,
    };
    eprintln!("applying database migrations");
    let applied = tokio::task::spawn_blocking(move || db::migrate(&url))
        .await
        .map_err(|error| error.to_string())??;
    eprintln!("{} migration(s) applied", applied.len());
    Ok(())
}

async fn refuse_pending(url: &str) -> Result<(), String> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|error| format!("cannot connect to the database: {error}"))?;
    let pending = db::pending_migrations(&mut conn).await?;
    if pending.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} migration(s) pending ({}); apply them with `tandem migrate` and \
         TANDEM_MIGRATION_DATABASE_URL set to the schema owner's URL, or set it for `serve`",
        pending.len(),
        pending.join(", ")
    ))
}

/// Checks that the role `serve` connects as cannot alter the schema or the audit trail. In
/// production such a role stops the start; in development it is a warning.
pub async fn check_serving_role(database: &Database, settings: &Settings) -> Result<(), String> {
    let mut conn = AsyncPgConnection::establish(&database.url)
        .await
        .map_err(|error| format!("cannot connect to the database: {error}"))?;
    let Some(problem) = db::privilege_problem(&mut conn)
        .await
        .map_err(|error| format!("cannot check the database role: {error}"))?
    else {
        return Ok(());
    };
    let message = format!(
        "the role in DATABASE_URL {problem}, so it could alter the append-only audit trail; \
         serve as a role that owns nothing (see README, \"Database roles\")"
    );
    match settings.environment {
        Environment::Production => Err(message),
        Environment::Development => {
            log::warn!("{message}");
            Ok(())
        }
    }
}

/// Creates `name` on the cluster behind `admin_url` unless it exists.
pub async fn ensure_database(admin_url: &str, name: &str) -> Result<(), String> {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .map_err(|error| format!("cannot connect to PostgreSQL: {error}"))?;
    let row: Found =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS found")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(&mut conn)
            .await
            .map_err(|error| format!("cannot list databases: {error}"))?;
    if !row.found {
        diesel::sql_query(format!("CREATE DATABASE \"{}\"", name.replace('"', "")))
            .execute(&mut conn)
            .await
            .map_err(|error| format!("cannot create database {name}: {error}"))?;
    }
    Ok(())
}
