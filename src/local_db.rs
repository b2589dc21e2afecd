//! Which database to use: `DATABASE_URL`, or in development a private PostgreSQL cluster
//! kept under the data dir.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::config::Settings;
use crate::embedded_pg::{EmbeddedPostgres, Purpose};

pub const DATABASE_NAME: &str = "tandem";

/// A database URL, and the cluster serving it when Tandem started one itself.
pub struct Database {
    pub url: String,
    pub cluster: Option<EmbeddedPostgres>,
}

/// Resolves the database for `serve`, `migrate` and `create-organization`. Blocking (it may
/// initialise and start a cluster); prints progress as it goes. Without `DATABASE_URL`, a
/// command run beside a `tandem serve` on the same data dir uses that server's cluster and
/// leaves it running, and a second `tandem serve` is refused.
pub fn resolve(settings: &Settings, purpose: Purpose) -> Result<Database, String> {
    if let Some(url) = &settings.database_url {
        return Ok(Database {
            url: url.clone(),
            cluster: None,
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
    Ok(Database {
        url: cluster.url(DATABASE_NAME),
        cluster: Some(cluster),
    })
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
