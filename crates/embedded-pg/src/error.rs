//! The error type, and helpers to build it.

use std::io;

/// Errors from starting or stopping the embedded PostgreSQL server. The `Display`
/// text is meant to be shown to end users as is.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    /// No `initdb`/`postgres` binaries were found.
    #[error(
        "no DATABASE_URL is set, so tandem tried to start its own PostgreSQL server, but the \
         PostgreSQL server binaries (`initdb` and `postgres`) were not found (looked on PATH, \
         via `pg_config --bindir`, and under /usr/lib/postgresql/*/bin and /usr/pgsql-*/bin).\n\
         Do one of the following:\n  \
         * install the PostgreSQL server binaries (e.g. `sudo apt install postgresql`, \
         `sudo dnf install postgresql-server` or `brew install postgresql`), or\n  \
         * set DATABASE_URL to an existing PostgreSQL database, or\n  \
         * run `docker compose up` to start PostgreSQL in a container"
    )]
    BinariesNotFound,

    /// An existing cluster needs a PostgreSQL major version that is not installed.
    #[error(
        "the PostgreSQL cluster in {cluster} was created by PostgreSQL {cluster_version}, but \
         only these PostgreSQL server binaries were found: {found}. Install the PostgreSQL \
         {cluster_version} server binaries, or move {cluster} aside to have a new cluster created"
    )]
    VersionMismatch {
        cluster: String,
        cluster_version: String,
        found: String,
    },

    /// Running as root without a `postgres` system user.
    #[error(
        "tandem is running as root, and PostgreSQL refuses to run as root, but there is no \
         `postgres` system user to run it as. Create that user (installing the PostgreSQL \
         server package usually does), run tandem as an ordinary user, or set DATABASE_URL to \
         an existing PostgreSQL database"
    )]
    NoPostgresUser,

    /// A file-system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// An external command (e.g. `initdb`) failed.
    #[error("{step} failed: `{command}` {status}{output}")]
    Command {
        step: String,
        command: String,
        status: String,
        output: String,
    },

    /// The server did not come up.
    #[error("PostgreSQL did not start: {reason}\n  command: {command}\n  log file: {log_path}{log_tail}")]
    Startup {
        reason: String,
        command: String,
        log_path: String,
        log_tail: String,
    },

    /// The on-disk state of a cluster prevents using it.
    #[error("{0}")]
    Cluster(String),

    /// The server could not be shut down.
    #[error("could not stop PostgreSQL: {0}")]
    Stop(String),
}

pub(super) type Result<T, E = EmbeddedPgError> = std::result::Result<T, E>;

pub(super) fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedPgError {
    let context = context.into();
    move |source| EmbeddedPgError::Io { context, source }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn not_found_message_names_the_ways_forward() {
        let message = EmbeddedPgError::BinariesNotFound.to_string();
        assert!(message.contains("install"));
        assert!(message.contains("DATABASE_URL"));
        assert!(message.contains("docker compose up"));
    }
}
