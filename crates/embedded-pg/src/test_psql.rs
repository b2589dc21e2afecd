//! The tests' way into a cluster: `psql`, PostgreSQL's client, which is installed wherever the
//! server binaries are. A machine without it fails the tests that need it, never skips them.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::binaries::find_binaries;
use crate::{EmbeddedPostgres, SUPERUSER};

/// Runs `sql` as the superuser with `password`; panics, saying how to install it, when there
/// is no psql.
pub(crate) fn psql(pg: &EmbeddedPostgres, password: &str, sql: &str) -> Output {
    Command::new(psql_path())
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "10")
        .args(["-h", "127.0.0.1", "-p", &pg.port().to_string()])
        .args(["-U", SUPERUSER, "-d", "postgres", "-tAc", sql])
        .output()
        .unwrap_or_else(|error| panic!("cannot run psql: {error}"))
}

/// The single value `sql` returns, or `None` when psql failed (a refused login, say).
pub(crate) fn psql_value(pg: &EmbeddedPostgres, password: &str, sql: &str) -> Option<String> {
    let out = psql(pg, password, sql);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn psql_path() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain(find_binaries(None).ok().map(|binaries| binaries.bindir))
        .map(|dir| dir.join("psql"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "these tests need psql (PostgreSQL's client) on PATH or beside the server \
                 binaries; install it (Debian or Ubuntu: apt-get install postgresql-client; \
                 macOS: brew install libpq and add its bin directory to PATH)"
            )
        })
}
