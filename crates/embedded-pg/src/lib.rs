//! A private PostgreSQL cluster, started from the PostgreSQL server binaries
//! installed on the machine, for when no `DATABASE_URL` is configured.
//!
//! * [`EmbeddedPostgres::start_persistent`] keeps one cluster per data directory
//!   and reuses it on every later start (`tandem serve`).
//! * [`EmbeddedPostgres::start_temporary`] creates a throw-away cluster for the
//!   test suite; [`EmbeddedPostgres::stop`] (or dropping the value) deletes it,
//!   and later calls delete leftovers of runs whose owning process is gone.
//! * [`EmbeddedPostgres::stop_fast`] and [`EmbeddedPostgres::start_again`] restart
//!   the server of a value that started it (`pg_ctl stop -m fast`, then the same
//!   data directory, port and settings), as a database restart looks to a service.
//!
//! The server is always a direct child process of the caller (never daemonised),
//! listens only on `127.0.0.1` on a free port picked at each start (never 5432),
//! has Unix-domain sockets disabled, and accepts the superuser `tandem` with a
//! random password (SCRAM-SHA-256).
//!
//! # Where clusters live
//!
//! * Ordinary user: persistent cluster in `<data_dir>/postgres`; temporary
//!   clusters in `<temp dir>/tandem-test-clusters-<uid>/<uuid>/data`.
//! * root: PostgreSQL refuses to run as root, so `initdb` and `postgres` run as the
//!   `postgres` system user, and the cluster has to live somewhere that user can
//!   reach: `<postgres home>/tandem-clusters/<uuid>` (temporary clusters:
//!   `<postgres home>/tandem-test-clusters/<uuid>/data`), or, when that home is
//!   unusable, `/var/tmp/tandem-clusters-postgres/<uuid>` (resp.
//!   `/var/tmp/tandem-test-clusters-postgres/<uuid>/data`). The path of the
//!   persistent cluster is recorded in `<data_dir>/postgres-location`.
//!
//! In both cases the password of a persistent cluster is kept in
//! `<data_dir>/postgres-password` (mode 0600) and the server log in
//! `postgres.log` inside the cluster directory.
//!
//! # Sharing a persistent cluster
//!
//! The process using a persistent cluster holds an advisory lock on
//! `<data_dir>/postgres-owner` (see `owner.rs`), which the kernel releases when that
//! process exits, however it exits. [`EmbeddedPostgres::open_persistent`] uses it so
//! that a command run beside `tandem serve` connects to the running server instead of
//! stopping it, a second `tandem serve` is refused, and only a server whose owner is
//! gone counts as left over and is shut down.
//!
//! # Lifetime of the server process
//!
//! On Linux the server is started with `PR_SET_PDEATHSIG = SIGINT`, so it performs a
//! fast shutdown when its parent goes away, even if the parent is killed. The kernel
//! ties that "parent" to the **thread** that spawned the child, not to the process:
//! the server also shuts down when the thread that called `start_*` exits. Callers
//! that want the server to live as long as the process must call `start_*` from a
//! thread that lives as long as the process (e.g. the main thread or a dedicated
//! long-lived thread — not a pool thread such as `tokio::task::spawn_blocking`).
//!
//! The server runs in its own process group, so a Ctrl-C in the terminal reaches
//! only the service, which can then shut down gracefully and call `stop`.
//!
//! A test suite that shares one temporary cluster between tests (each test runs on
//! its own short-lived thread) should therefore start it from a dedicated thread
//! that never exits, e.g.:
//!
//! ```no_run
//! # use embedded_pg::EmbeddedPostgres;
//! static PG: std::sync::OnceLock<EmbeddedPostgres> = std::sync::OnceLock::new();
//!
//! fn shared_cluster() -> &'static EmbeddedPostgres {
//!     PG.get_or_init(|| {
//!         let (tx, rx) = std::sync::mpsc::channel();
//!         std::thread::spawn(move || {
//!             let _ = tx.send(EmbeddedPostgres::start_temporary(&mut |line| eprintln!("{line}")));
//!             loop {
//!                 std::thread::park(); // keep the server's parent thread alive
//!             }
//!         });
//!         match rx.recv() {
//!             Ok(Ok(pg)) => pg,
//!             Ok(Err(e)) => panic!("{e}"),
//!             Err(e) => panic!("{e}"),
//!         }
//!     })
//! }
//! ```
//!
//! A value kept in a `static` is never dropped: when the test process exits, the
//! death signal shuts the server down, and the next `start_temporary` deletes the
//! directory left behind.

mod binaries;
mod error;
mod files;
mod initdb;
mod lock;
mod owner;
mod persistent;
mod process;
mod restart;
mod server;
mod temporary;
#[cfg(test)]
mod test_psql;
mod users;

pub use error::EmbeddedPgError;
pub use owner::Purpose;

use std::fmt;
use std::fs;
use std::path::PathBuf;
use std::process::Child;

use error::{io_err, Result};
use owner::OwnerLock;
use process::stop_child;

/// Name of the superuser role created by `initdb`.
const SUPERUSER: &str = "tandem";

/// A running private PostgreSQL server. Shut it down with [`EmbeddedPostgres::stop`];
/// dropping it also shuts the server down (best effort). A value that attached to the
/// server of a running `tandem serve` ([`EmbeddedPostgres::open_persistent`]) leaves
/// that server running.
pub struct EmbeddedPostgres {
    /// The postmaster, when this value started it.
    child: Option<Child>,
    port: u16,
    password: String,
    pgdata: PathBuf,
    /// Directory to delete after shutdown (temporary clusters only).
    remove_on_stop: Option<PathBuf>,
    /// Held while this process uses a persistent cluster it started (released after
    /// the server has stopped, when the value is dropped).
    owner_lock: Option<OwnerLock>,
    /// How this value started the server, to start it again (`None` when attached).
    launch: Option<restart::Launch>,
}

impl fmt::Debug for EmbeddedPostgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedPostgres")
            .field("pid", &self.child.as_ref().map(Child::id))
            .field("port", &self.port)
            .field("password", &"<redacted>")
            .field("pgdata", &self.pgdata)
            .field("temporary", &self.remove_on_stop.is_some())
            .field("owner", &self.owner_lock.is_some())
            .finish()
    }
}

// The constructors live next to what they set up: `start_persistent` in
// `persistent.rs`, `start_temporary` in `temporary.rs`.
impl EmbeddedPostgres {
    /// Connection URL for `database` on this cluster:
    /// `postgres://tandem:<password>@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{}",
            self.password,
            self.port,
            percent_encode(database)
        )
    }

    /// TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether this value started the server (and [`EmbeddedPostgres::stop`] stops it),
    /// rather than attaching to the server of a running `tandem serve`.
    pub fn owns_server(&self) -> bool {
        self.child.is_some()
    }

    /// Fast shutdown (SIGINT to the postmaster), waiting up to 30 s for it to exit
    /// before escalating to an immediate shutdown (SIGQUIT); then deletes the cluster
    /// if it is temporary.
    pub fn stop(mut self) -> Result<(), EmbeddedPgError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child).map_err(EmbeddedPgError::Stop)?;
        }
        if let Some(dir) = self.remove_on_stop.take() {
            fs::remove_dir_all(&dir).map_err(io_err(format!(
                "cannot remove temporary PostgreSQL cluster {}",
                dir.display()
            )))?;
        }
        Ok(())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            log::warn!("{e}");
        }
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::net::TcpStream;
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    use std::time::Instant;

    use uuid::Uuid;

    use super::persistent::{
        is_initialised, read_location, CLUSTER_SUBDIR, LOCATION_FILE, PASSWORD_FILE,
    };
    use super::process::{process_state, ProcState};
    use super::temporary::OWNER_FILE;
    use super::test_psql::psql_value;
    use super::users::is_root;

    fn progress_printer() -> impl FnMut(&str) {
        |line: &str| eprintln!("[embedded-pg] {line}")
    }

    /// A fresh mode-0700 directory under /tmp (like root's home or a new temp dir:
    /// the `postgres` user cannot enter it).
    pub(super) fn private_tmp_dir() -> PathBuf {
        let dir = PathBuf::from("/tmp").join(format!("embedded-pg-test-{}", Uuid::new_v4()));
        fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        dir
    }

    fn psql_select_one(pg: &EmbeddedPostgres) -> bool {
        psql_value(pg, &pg.password, "select 1").as_deref() == Some("1")
    }

    fn psql_wrong_password_rejected(pg: &EmbeddedPostgres) -> bool {
        psql_value(pg, "wrong", "select 1").is_none()
    }

    #[test]
    fn encodes_database_names() {
        assert_eq!(percent_encode("tandem_test-1"), "tandem_test-1");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn temporary_cluster_starts_and_is_removed() {
        let started = Instant::now();
        let pg = EmbeddedPostgres::start_temporary(&mut progress_printer()).unwrap();
        eprintln!(
            "temporary cluster: first start took {:?}",
            started.elapsed()
        );
        let port = pg.port();
        assert_ne!(port, 5432);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        assert!(pg.url("tandem").starts_with(&format!(
            "postgres://tandem:{}@127.0.0.1:{port}/tandem",
            pg.password
        )));
        assert!(psql_select_one(&pg), "password login failed");
        assert!(psql_wrong_password_rejected(&pg), "wrong password accepted");
        let container = pg.remove_on_stop.clone().unwrap();
        assert!(container.join(OWNER_FILE).exists());
        let stopping = Instant::now();
        pg.stop().unwrap();
        eprintln!("temporary cluster: stop took {:?}", stopping.elapsed());
        assert!(!container.exists());
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn dropping_stops_the_server() {
        let pg = EmbeddedPostgres::start_temporary(&mut |_: &str| {}).unwrap();
        let port = pg.port();
        let container = pg.remove_on_stop.clone().unwrap();
        drop(pg);
        assert!(!container.exists());
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn persistent_cluster_is_reused() {
        let parent = private_tmp_dir();
        let data_dir = parent.join("data");

        let started = Instant::now();
        let pg = EmbeddedPostgres::start_persistent(&data_dir, &mut progress_printer()).unwrap();
        eprintln!(
            "persistent cluster: first start (initdb + start) took {:?}",
            started.elapsed()
        );
        let first_password = pg.password.clone();
        let pgdata = pg.pgdata.clone();
        assert!(TcpStream::connect(("127.0.0.1", pg.port())).is_ok());
        assert!(psql_select_one(&pg), "password login failed");
        let mode = fs::metadata(data_dir.join(PASSWORD_FILE)).unwrap().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::metadata(&parent).unwrap().mode() & 0o777, 0o700);
        if is_root() {
            let recorded = read_location(&data_dir.join(LOCATION_FILE))
                .unwrap()
                .unwrap();
            assert_eq!(recorded, pgdata);
        } else {
            assert_eq!(
                pgdata,
                fs::canonicalize(&data_dir).unwrap().join(CLUSTER_SUBDIR)
            );
        }
        let stopping = Instant::now();
        pg.stop().unwrap();
        eprintln!("persistent cluster: stop took {:?}", stopping.elapsed());
        assert!(is_initialised(&pgdata));

        let restarted = Instant::now();
        let pg = EmbeddedPostgres::start_persistent(&data_dir, &mut progress_printer()).unwrap();
        eprintln!("persistent cluster: restart took {:?}", restarted.elapsed());
        assert_eq!(pg.password, first_password);
        assert_eq!(pg.pgdata, pgdata);
        assert!(TcpStream::connect(("127.0.0.1", pg.port())).is_ok());
        assert!(psql_select_one(&pg), "password login after restart failed");

        // A server left running by a "previous run" that is gone (its owner lock
        // released) is shut down by the next start.
        let old_port = pg.port();
        let mut pg = pg;
        let orphan = pg.child.take().unwrap();
        let old_pid = orphan.id();
        drop(pg);
        std::mem::forget(orphan);
        let again = Instant::now();
        let pg = EmbeddedPostgres::start_persistent(&data_dir, &mut progress_printer()).unwrap();
        eprintln!(
            "persistent cluster: restart over a running instance took {:?}",
            again.elapsed()
        );
        assert_eq!(
            process_state(i32::try_from(old_pid).unwrap()),
            ProcState::Gone
        );
        assert!(TcpStream::connect(("127.0.0.1", old_port)).is_err() || old_port == pg.port());
        assert!(psql_select_one(&pg), "password login after takeover failed");
        pg.stop().unwrap();

        fs::remove_dir_all(&parent).unwrap();
        if pgdata.exists() {
            fs::remove_dir_all(&pgdata).unwrap();
        }
    }
}
