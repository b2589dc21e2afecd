//! The connection pool, migrations, the model modules, scope in SQL and keyset pages. It uses
//! nothing above it: not `auth`, `audit`, `domain`, `routes` or the HTTP error type.

pub mod fragment;
pub mod models;
pub mod pagination;
pub mod schema;
pub mod scope;
pub mod text_enum;
pub mod with;

use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool as DeadPool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

pub type Pool = DeadPool<AsyncPgConnection>;
pub type PooledConnection = Object<AsyncPgConnection>;
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The longest any single statement may run before PostgreSQL cancels it.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a request waits for a connection (and a connection takes to open) before it is
/// answered 503.
pub const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds the pool. Connections are made lazily, so this succeeds while the database is down.
/// A checkout runs no query: diesel-async's recycle check discards a connection whose socket
/// the server closed or whose transaction broke, so after a database restart the dead
/// connections are dropped as they come up and new ones are opened, without a restart here.
pub fn build_pool(database_url: &str, max_size: usize) -> Result<Pool, String> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(establish_with_timeout);
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    DeadPool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(POOL_TIMEOUT))
        .create_timeout(Some(POOL_TIMEOUT))
        .recycle_timeout(Some(POOL_TIMEOUT))
        .runtime(deadpool_runtime())
        .build()
        .map_err(|error| error.to_string())
}

fn deadpool_runtime() -> deadpool::Runtime {
    deadpool::Runtime::Tokio1
}

fn establish_with_timeout(url: &str) -> BoxFuture<'_, diesel::ConnectionResult<AsyncPgConnection>> {
    async move {
        let mut conn = AsyncPgConnection::establish(url).await?;
        // No JIT: compiling a plan costs hundreds of milliseconds, and the planner turns it on
        // by cost estimates, which a set-returning function in a query (the follow-up
        // schedule's) inflates far beyond the milliseconds the query takes.
        let setup = format!(
            "SET statement_timeout = {}; SET idle_in_transaction_session_timeout = 60000; \
             SET TIME ZONE 'UTC'; SET jit = off",
            STATEMENT_TIMEOUT.as_millis()
        );
        conn.batch_execute(&setup)
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        Ok(conn)
    }
    .boxed()
}

/// Applies pending migrations, returning the versions applied. Blocking: call it from a
/// plain thread or `spawn_blocking`, never from an async worker. Instances starting together
/// take turns (a session advisory lock, released with the connection), so one applies them
/// and the others find nothing pending.
pub fn migrate(database_url: &str) -> Result<Vec<String>, String> {
    let url = database_url.to_owned();
    // The sync wrapper drives its own runtime, which must not be nested in the caller's.
    let worker = std::thread::spawn(move || -> Result<Vec<String>, String> {
        use diesel::Connection;
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)
            .map_err(|error| format!("cannot connect to the database: {error}"))?;
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            "SELECT pg_advisory_lock(7405232817263613)",
        )
        .map_err(|error| format!("cannot lock the migrations: {error}"))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|error| format!("migration failed: {error}"))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    });
    worker
        .join()
        .map_err(|_| "the migration thread panicked".to_owned())?
}

/// Checks out a connection, mapping pool failures to 503.
pub async fn connection(pool: &Pool) -> Result<PooledConnection, PoolError> {
    pool.get().await
}

/// Why the connected role is too powerful to serve with, or `None` when it is not: a role that
/// is (or can become) a superuser, can bypass row-level security or replicate, or owns Tandem's
/// tables, their schema or the database could switch off the audit trail's append-only triggers
/// or rewrite its rows.
pub async fn privilege_problem(
    conn: &mut AsyncPgConnection,
) -> diesel::QueryResult<Option<String>> {
    #[derive(diesel::QueryableByName)]
    struct Problem {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        problem: Option<String>,
    }
    let row: Problem = diesel::sql_query(PRIVILEGE_PROBLEM)
        .get_result(conn)
        .await?;
    Ok(row.problem)
}

// `pg_has_role(.., 'MEMBER')` holds for the role itself and for every role it can SET ROLE to,
// and counts the owner of the current database as a member of `pg_database_owner`.
const PRIVILEGE_PROBLEM: &str = "\
SELECT CASE
    WHEN EXISTS (SELECT 1 FROM pg_roles r
                 WHERE r.rolsuper AND pg_has_role(current_user, r.oid, 'MEMBER'))
        THEN 'is a superuser or can become one'
    WHEN EXISTS (SELECT 1 FROM pg_roles r
                 WHERE r.rolbypassrls AND pg_has_role(current_user, r.oid, 'MEMBER'))
        THEN 'can bypass row-level security'
    WHEN EXISTS (SELECT 1 FROM pg_roles r
                 WHERE r.rolreplication AND pg_has_role(current_user, r.oid, 'MEMBER'))
        THEN 'has the REPLICATION attribute'
    WHEN EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND pg_has_role(current_user, c.relowner, 'MEMBER'))
        THEN 'owns tables in the public schema'
    WHEN EXISTS (SELECT 1 FROM pg_namespace n
                 WHERE n.nspname = 'public' AND pg_has_role(current_user, n.nspowner, 'MEMBER'))
        THEN 'owns the public schema'
    WHEN EXISTS (SELECT 1 FROM pg_database d
                 WHERE d.datname = current_database()
                   AND pg_has_role(current_user, d.datdba, 'MEMBER'))
        THEN 'owns the database'
END AS problem";

/// The versions of embedded migrations not yet applied, read without writing anything (a role
/// that may not create the migrations table can still ask).
pub async fn pending_migrations(conn: &mut AsyncPgConnection) -> Result<Vec<String>, String> {
    use diesel::migration::MigrationSource;
    #[derive(diesel::QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let applied: Vec<Applied> = diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
        .load(conn)
        .await
        .map_err(|error| format!("cannot read which migrations ran: {error}"))?;
    let migrations = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(|error| error.to_string())?;
    Ok(migrations
        .iter()
        .map(|migration| migration.name().version().to_string())
        .filter(|version| !applied.iter().any(|row| &row.version == version))
        .collect())
}
