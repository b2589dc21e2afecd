//! A private PostgreSQL cluster, started from the PostgreSQL server binaries
//! installed on the machine, for when no `DATABASE_URL` is configured.
//!
//! * [`EmbeddedPostgres::start_persistent`] keeps one cluster per data directory
//!   and reuses it on every later start (`tandem serve`).
//! * [`EmbeddedPostgres::start_temporary`] creates a throw-away cluster for the
//!   test suite; [`EmbeddedPostgres::stop`] (or dropping the value) deletes it,
//!   and later calls delete leftovers of runs whose owning process is gone.
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
//! ```ignore
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

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use rand::distributions::Alphanumeric;
use rand::Rng;
use uuid::Uuid;

/// Name of the superuser role created by `initdb`.
const SUPERUSER: &str = "tandem";
/// System user that runs PostgreSQL when we are root.
const SYSTEM_USER: &str = "postgres";
/// File in the data directory holding the superuser password.
const PASSWORD_FILE: &str = "postgres-password";
/// File in the data directory recording where the cluster lives (root only).
const LOCATION_FILE: &str = "postgres-location";
/// Sub-directory of the data directory holding the cluster (non-root).
const CLUSTER_SUBDIR: &str = "postgres";
/// Server log, inside the cluster directory.
const LOG_FILE: &str = "postgres.log";
/// File inside a temporary cluster's directory naming the owning process.
const OWNER_FILE: &str = "owner";
/// Cluster directory inside a temporary cluster's directory.
const TEMP_DATA_SUBDIR: &str = "data";
/// Prefix of the short-lived password file handed to `initdb`.
const PWFILE_PREFIX: &str = ".tandem-initdb-pwfile-";
const PERSISTENT_BASE: &str = "tandem-clusters";
const TEMPORARY_BASE: &str = "tandem-test-clusters";
const PASSWORD_LEN: usize = 40;
const PERSISTENT_READY_TIMEOUT: Duration = Duration::from_secs(120);
const TEMPORARY_READY_TIMEOUT: Duration = Duration::from_secs(60);
const FAST_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
const IMMEDIATE_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(20);
const PORT_ATTEMPTS: usize = 5;
const LOG_TAIL_LINES: usize = 30;
const LOG_TAIL_MAX_BYTES: u64 = 64 * 1024;
const LOG_ROTATE_BYTES: u64 = 16 * 1024 * 1024;
/// A temporary cluster directory without an owner file (or an `initdb` password
/// file) is only considered stale after this long (it may be in use right now).
const OWNERLESS_GRACE: Duration = Duration::from_secs(120);

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

type Result<T, E = EmbeddedPgError> = std::result::Result<T, E>;

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedPgError {
    let context = context.into();
    move |source| EmbeddedPgError::Io { context, source }
}

/// A running private PostgreSQL server. Shut it down with [`EmbeddedPostgres::stop`];
/// dropping it also shuts the server down (best effort).
pub struct EmbeddedPostgres {
    child: Option<Child>,
    port: u16,
    password: String,
    pgdata: PathBuf,
    /// Directory to delete after shutdown (temporary clusters only).
    remove_on_stop: Option<PathBuf>,
}

impl fmt::Debug for EmbeddedPostgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedPostgres")
            .field("pid", &self.child.as_ref().map(Child::id))
            .field("port", &self.port)
            .field("password", &"<redacted>")
            .field("pgdata", &self.pgdata)
            .field("temporary", &self.remove_on_stop.is_some())
            .finish()
    }
}

impl EmbeddedPostgres {
    /// Persistent cluster for `tandem serve`: initialised the first time under (or
    /// recorded in) `data_dir`, reused on every later start. `progress` receives
    /// short human-readable progress lines.
    ///
    /// If a server from an earlier run is still running on the cluster, it is shut
    /// down first.
    ///
    /// See the module documentation for where the cluster lives, and for why this
    /// must be called from a thread that lives as long as the server should.
    pub fn start_persistent(
        data_dir: &Path,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Self, EmbeddedPgError> {
        create_dirs_private(data_dir)?;
        let data_dir = fs::canonicalize(data_dir)
            .map_err(io_err(format!("cannot resolve {}", data_dir.display())))?;
        let location_file = data_dir.join(LOCATION_FILE);
        let password_file = data_dir.join(PASSWORD_FILE);
        let local_cluster = data_dir.join(CLUSTER_SUBDIR);

        let (pgdata, run_as) = if is_root() {
            let recorded = read_location(&location_file)?;
            match recorded {
                Some(dir) if is_initialised(&dir) => {
                    let run_as = owner_of_cluster(&dir)?;
                    (dir, Some(run_as))
                }
                _ if is_initialised(&local_cluster) => {
                    // Created by an earlier non-root run: keep running it as its owner.
                    let run_as = owner_of_cluster(&local_cluster)?;
                    (local_cluster, Some(run_as))
                }
                recorded => {
                    if let Some(old) = recorded {
                        // Left over from an initialisation that did not finish; only
                        // removed if empty.
                        let _ = fs::remove_dir(&old);
                    }
                    let user = system_postgres_user()?;
                    let base = postgres_owned_base(&user, PERSISTENT_BASE)?;
                    let dir = base.join(Uuid::new_v4().to_string());
                    write_private_file(
                        &location_file,
                        format!("{}\n", dir.display()).as_bytes(),
                        None,
                    )?;
                    (dir, Some(user))
                }
            }
        } else {
            if !is_initialised(&local_cluster) && location_file.exists() {
                return Err(EmbeddedPgError::Cluster(format!(
                    "{} records a PostgreSQL cluster that was created while tandem ran as root; \
                     run tandem as root again to use it, or delete {} to have a new cluster \
                     created in {}",
                    location_file.display(),
                    location_file.display(),
                    local_cluster.display()
                )));
            }
            (local_cluster, None)
        };

        let (bins, password) = if is_initialised(&pgdata) {
            let password = read_password(&password_file, &pgdata)?;
            let cluster_version = read_cluster_version(&pgdata)?;
            let bins = find_binaries(Some(&cluster_version)).map_err(|e| match e {
                EmbeddedPgError::VersionMismatch {
                    cluster_version,
                    found,
                    ..
                } => EmbeddedPgError::VersionMismatch {
                    cluster: pgdata.display().to_string(),
                    cluster_version,
                    found,
                },
                other => other,
            })?;
            stop_stale_postmaster(&pgdata, progress)?;
            (bins, password)
        } else {
            ensure_missing_or_empty(&pgdata)?;
            let bins = find_binaries(None)?;
            progress(&format!(
                "initialising PostgreSQL cluster in {}",
                pgdata.display()
            ));
            log::info!(
                "initialising PostgreSQL {} cluster in {} (binaries in {})",
                bins.version,
                pgdata.display(),
                bins.bindir.display()
            );
            let password = generate_password();
            run_initdb(&bins, &pgdata, run_as.as_ref(), &password, false)?;
            write_private_file(&password_file, format!("{password}\n").as_bytes(), None)?;
            (bins, password)
        };

        let settings = ServerSettings {
            bins: &bins,
            pgdata: &pgdata,
            run_as: run_as.as_ref(),
            temporary: false,
            timeout: PERSISTENT_READY_TIMEOUT,
        };
        let (child, port) = spawn_server(&settings, progress)?;
        progress("PostgreSQL ready");
        log::info!(
            "PostgreSQL {} running on 127.0.0.1:{port} (pid {}, cluster {})",
            bins.version,
            child.id(),
            pgdata.display()
        );
        Ok(Self {
            child: Some(child),
            port,
            password,
            pgdata,
            remove_on_stop: None,
        })
    }

    /// Throw-away cluster for the test suite: always freshly initialised; its
    /// directory is removed by [`EmbeddedPostgres::stop`] (or on drop). Leftovers of
    /// earlier runs whose owning process is gone are removed first.
    ///
    /// The cluster runs with `fsync=off` (its data is disposable) and
    /// `max_connections=200`.
    ///
    /// See the module documentation for why this must be called from a thread that
    /// lives as long as the server should.
    pub fn start_temporary(progress: &mut dyn FnMut(&str)) -> Result<Self, EmbeddedPgError> {
        let run_as = if is_root() {
            Some(system_postgres_user()?)
        } else {
            None
        };
        let base = match &run_as {
            Some(user) => postgres_owned_base(user, TEMPORARY_BASE)?,
            None => {
                let base = std::env::temp_dir().join(format!("{TEMPORARY_BASE}-{}", euid()));
                ensure_owned_dir(&base, None)?;
                base
            }
        };
        remove_stale_temporaries(&base);

        let container = base.join(Uuid::new_v4().to_string());
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&container)
            .map_err(io_err(format!("cannot create {}", container.display())))?;
        let mut guard = RemoveDirOnDrop(Some(container.clone()));
        if let Some(user) = &run_as {
            std::os::unix::fs::chown(&container, Some(user.uid), Some(user.gid))
                .map_err(io_err(format!("cannot chown {}", container.display())))?;
        }
        let me = std::process::id();
        let owner = match process_start_time(me) {
            Some(start) => format!("{me} {start}\n"),
            None => format!("{me}\n"),
        };
        write_private_file(&container.join(OWNER_FILE), owner.as_bytes(), None)?;

        let bins = find_binaries(None)?;
        let pgdata = container.join(TEMP_DATA_SUBDIR);
        progress(&format!(
            "initialising PostgreSQL cluster in {}",
            pgdata.display()
        ));
        let password = generate_password();
        run_initdb(&bins, &pgdata, run_as.as_ref(), &password, true)?;

        let settings = ServerSettings {
            bins: &bins,
            pgdata: &pgdata,
            run_as: run_as.as_ref(),
            temporary: true,
            timeout: TEMPORARY_READY_TIMEOUT,
        };
        let (child, port) = spawn_server(&settings, progress)?;
        progress("PostgreSQL ready");
        log::info!(
            "temporary PostgreSQL {} running on 127.0.0.1:{port} (pid {}, cluster {})",
            bins.version,
            child.id(),
            pgdata.display()
        );
        guard.0 = None;
        Ok(Self {
            child: Some(child),
            port,
            password,
            pgdata,
            remove_on_stop: Some(container),
        })
    }

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

// ---------------------------------------------------------------------------
// Users and permissions

/// The identity `initdb` and `postgres` run as, when different from ours.
#[derive(Clone, Debug)]
struct RunAs {
    uid: u32,
    gid: u32,
    home: PathBuf,
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn is_root() -> bool {
    euid() == 0
}

fn lookup_user(name: &str) -> Option<RunAs> {
    let cname = CString::new(name).ok()?;
    let mut buf: Vec<libc::c_char> = vec![0; 4096];
    loop {
        // SAFETY: an all-zero passwd (null pointers, zero ids) is a valid value.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the duration of the call and `buf.len()`
        // is the real size of `buf`.
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < (1 << 20) {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        let home = if pwd.pw_dir.is_null() {
            PathBuf::new()
        } else {
            // SAFETY: getpwnam_r succeeded, so pw_dir points to a NUL-terminated
            // string inside `buf`, which is still alive.
            let bytes = unsafe { CStr::from_ptr(pwd.pw_dir) }.to_bytes();
            PathBuf::from(OsStr::from_bytes(bytes))
        };
        return Some(RunAs {
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
            home,
        });
    }
}

fn system_postgres_user() -> Result<RunAs> {
    match lookup_user(SYSTEM_USER) {
        Some(user) if user.uid != 0 => Ok(user),
        _ => Err(EmbeddedPgError::NoPostgresUser),
    }
}

/// The identity to run an existing cluster as (we are root): its owner.
fn owner_of_cluster(pgdata: &Path) -> Result<RunAs> {
    let meta = fs::metadata(pgdata).map_err(io_err(format!("cannot stat {}", pgdata.display())))?;
    if meta.uid() == 0 {
        return Err(EmbeddedPgError::Cluster(format!(
            "the PostgreSQL cluster in {} is owned by root, and PostgreSQL refuses to run as \
             root; delete it to have a new cluster created",
            pgdata.display()
        )));
    }
    Ok(RunAs {
        uid: meta.uid(),
        gid: meta.gid(),
        home: PathBuf::new(),
    })
}

/// Whether `user` (with no supplementary groups, as std drops them) can enter
/// every directory from `/` down to `path`.
fn traversable_by(path: &Path, user: &RunAs) -> bool {
    path.ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .all(|dir| {
            let Ok(meta) = fs::metadata(dir) else {
                return false;
            };
            let mode = meta.mode();
            let bit = if meta.uid() == user.uid {
                0o100
            } else if meta.gid() == user.gid {
                0o010
            } else {
                0o001
            };
            meta.is_dir() && mode & bit != 0
        })
}

/// A directory owned by `user` (the `postgres` system user) to keep clusters in:
/// `<home>/<name>`, or `/var/tmp/<name>-postgres` when the home is unusable.
fn postgres_owned_base(user: &RunAs, name: &str) -> Result<PathBuf> {
    let home = &user.home;
    let home_usable = home.is_absolute()
        && home != Path::new("/")
        && fs::symlink_metadata(home).is_ok_and(|m| m.is_dir() && m.uid() == user.uid)
        && traversable_by(home, user);
    if home_usable {
        let dir = home.join(name);
        match ensure_owned_dir(&dir, Some(user)) {
            Ok(()) => return Ok(dir),
            Err(e) => log::warn!("not using {}: {e}", dir.display()),
        }
    }
    let dir = PathBuf::from("/var/tmp").join(format!("{name}-{SYSTEM_USER}"));
    ensure_owned_dir(&dir, Some(user))?;
    if !traversable_by(&dir, user) {
        return Err(EmbeddedPgError::Cluster(format!(
            "the `{SYSTEM_USER}` user cannot reach {}; fix the permissions of its parent \
             directories, run tandem as an ordinary user, or set DATABASE_URL",
            dir.display()
        )));
    }
    Ok(dir)
}

/// Makes sure `path` is a real directory (not a symlink) owned by `owner` (or by
/// us), creating it with mode 0700 if missing. Only used for directories whose
/// names tandem chose.
fn ensure_owned_dir(path: &Path, owner: Option<&RunAs>) -> Result<()> {
    let want_uid = owner.map_or_else(euid, |o| o.uid);
    for _ in 0..2 {
        match fs::symlink_metadata(path) {
            Ok(meta) => {
                if !meta.is_dir() {
                    return Err(EmbeddedPgError::Cluster(format!(
                        "{} exists but is not a directory",
                        path.display()
                    )));
                }
                if meta.uid() == want_uid {
                    return Ok(());
                }
                if let (Some(o), 0) = (owner, meta.uid()) {
                    // Ours (we are root and created it earlier): hand it over.
                    return std::os::unix::fs::chown(path, Some(o.uid), Some(o.gid))
                        .map_err(io_err(format!("cannot chown {}", path.display())));
                }
                return Err(EmbeddedPgError::Cluster(format!(
                    "{} is owned by uid {}, expected uid {want_uid}; remove it and try again",
                    path.display(),
                    meta.uid()
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match fs::DirBuilder::new().mode(0o700).create(path) {
                    Ok(()) => {
                        if let Some(o) = owner {
                            std::os::unix::fs::chown(path, Some(o.uid), Some(o.gid))
                                .map_err(io_err(format!("cannot chown {}", path.display())))?;
                        }
                        return Ok(());
                    }
                    // Created concurrently: check it on the next round.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_err(format!("cannot create {}", path.display()))(e)),
                }
            }
            Err(e) => return Err(io_err(format!("cannot stat {}", path.display()))(e)),
        }
    }
    Err(EmbeddedPgError::Cluster(format!(
        "cannot set up directory {}",
        path.display()
    )))
}

/// `mkdir -p` where newly created directories get mode 0700 (existing ones are
/// left alone).
fn create_dirs_private(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_err(format!("cannot create {}", path.display())))
}

// ---------------------------------------------------------------------------
// Files

/// Atomically writes a mode-0600 file, optionally owned by `owner`.
fn write_private_file(path: &Path, contents: &[u8], owner: Option<&RunAs>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or(OsStr::new("file"));
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", Uuid::new_v4().simple()));
    let tmp = dir.join(tmp_name);
    let result = (|| -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        if let Some(o) = owner {
            std::os::unix::fs::fchown(&file, Some(o.uid), Some(o.gid))?;
        }
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(format!("cannot write {}", path.display())))
}

fn read_location(location_file: &Path) -> Result<Option<PathBuf>> {
    match fs::read_to_string(location_file) {
        Ok(text) => {
            let line = text.lines().next().unwrap_or("").trim();
            if line.is_empty() || !Path::new(line).is_absolute() {
                return Err(EmbeddedPgError::Cluster(format!(
                    "{} does not contain an absolute path; delete it to have a new cluster created",
                    location_file.display()
                )));
            }
            Ok(Some(PathBuf::from(line)))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(format!("cannot read {}", location_file.display()))(
            e,
        )),
    }
}

fn read_password(password_file: &Path, pgdata: &Path) -> Result<String> {
    match fs::read_to_string(password_file) {
        Ok(text) => {
            let password = text.trim();
            if password.is_empty() {
                return Err(EmbeddedPgError::Cluster(format!(
                    "{} is empty",
                    password_file.display()
                )));
            }
            Ok(password.to_string())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(EmbeddedPgError::Cluster(format!(
            "the PostgreSQL cluster in {} exists but its password file {} is missing (perhaps \
             an earlier initialisation was interrupted); delete {} to have a new cluster created",
            pgdata.display(),
            password_file.display(),
            pgdata.display()
        ))),
        Err(e) => Err(io_err(format!("cannot read {}", password_file.display()))(
            e,
        )),
    }
}

fn is_initialised(pgdata: &Path) -> bool {
    pgdata.join("PG_VERSION").is_file()
}

fn read_cluster_version(pgdata: &Path) -> Result<String> {
    let path = pgdata.join("PG_VERSION");
    let text =
        fs::read_to_string(&path).map_err(io_err(format!("cannot read {}", path.display())))?;
    Ok(text.trim().to_string())
}

fn ensure_missing_or_empty(dir: &Path) -> Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_none() {
                Ok(())
            } else {
                Err(EmbeddedPgError::Cluster(format!(
                    "{} exists but is not a PostgreSQL cluster (no PG_VERSION file; perhaps an \
                     earlier initialisation was interrupted); delete it to have a new cluster \
                     created",
                    dir.display()
                )))
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(format!("cannot read {}", dir.display()))(e)),
    }
}

fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(PASSWORD_LEN)
        .map(char::from)
        .collect()
}

/// Removes a directory tree when dropped, unless disarmed by taking the path.
struct RemoveDirOnDrop(Option<PathBuf>);

impl Drop for RemoveDirOnDrop {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

struct RemoveFileOnDrop(PathBuf);

impl Drop for RemoveFileOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
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

// ---------------------------------------------------------------------------
// Binaries

#[derive(Clone, Debug)]
struct Binaries {
    bindir: PathBuf,
    initdb: PathBuf,
    postgres: PathBuf,
    /// Full version, e.g. `15.18`.
    version: String,
    /// Major version as written in `PG_VERSION`, e.g. `15` (or `9.6`).
    major: String,
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}

fn has_server_binaries(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))
}

/// Numeric sort key of a version-named directory ("15", "9.6", "pgsql-16" → 16).
fn version_key(name: &str) -> Option<(u32, u32)> {
    let mut parts = name.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = match parts.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    Some((major, minor))
}

/// `<root>/<prefix><version>/bin` for every version-named entry, newest first.
fn versioned_bindirs(root: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<((u32, u32), PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let key = version_key(name.to_str()?.strip_prefix(prefix)?)?;
            Some((key, entry.path().join("bin")))
        })
        .collect();
    found.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

fn pg_config_bindir(path_dirs: &[PathBuf]) -> Option<PathBuf> {
    let pg_config = path_dirs
        .iter()
        .map(|d| d.join("pg_config"))
        .find(|p| is_executable(p))?;
    let out = Command::new(pg_config)
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Directories holding both `initdb` and `postgres`, in order of preference.
fn candidate_bindirs() -> Vec<PathBuf> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .filter(|d| d.is_absolute())
                .collect()
        })
        .unwrap_or_default();
    let mut dirs: Vec<PathBuf> = path_dirs.clone();
    dirs.extend(pg_config_bindir(&path_dirs));
    dirs.extend(versioned_bindirs(Path::new("/usr/lib/postgresql"), ""));
    dirs.extend(versioned_bindirs(Path::new("/usr"), "pgsql-"));

    let mut seen = Vec::new();
    let mut result = Vec::new();
    for dir in dirs {
        if !has_server_binaries(&dir) {
            continue;
        }
        // Deduplicate on the real location of the postgres binary.
        let key = fs::canonicalize(dir.join("postgres")).unwrap_or_else(|_| dir.join("postgres"));
        if !seen.contains(&key) {
            seen.push(key);
            result.push(dir);
        }
    }
    result
}

/// Extracts the version from `postgres --version` output, e.g.
/// `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → `15.18`.
fn parse_server_version(output: &str) -> Option<String> {
    let line = output.lines().next()?;
    let rest = match line.find(')') {
        Some(i) => &line[i + 1..],
        None => line,
    };
    rest.split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// The major version as PostgreSQL writes it to `PG_VERSION`: `15.18` → `15`,
/// `16beta1` → `16`, `9.6.24` → `9.6`.
fn major_version(version: &str) -> String {
    let first: String = version.chars().take_while(char::is_ascii_digit).collect();
    match first.parse::<u32>() {
        Ok(n) if n < 10 => {
            let rest = &version[first.len()..];
            let minor: String = rest
                .strip_prefix('.')
                .unwrap_or("")
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if minor.is_empty() {
                first
            } else {
                format!("{first}.{minor}")
            }
        }
        _ => first,
    }
}

fn major_number(major: &str) -> u32 {
    let digits: String = major.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

fn server_version(postgres: &Path) -> Option<String> {
    let out = Command::new(postgres)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_server_version(&String::from_utf8_lossy(&out.stdout))
}

/// Finds the server binaries, optionally of a given major version.
fn find_binaries(required_major: Option<&str>) -> Result<Binaries> {
    let mut found = Vec::new();
    for bindir in candidate_bindirs() {
        let postgres = bindir.join("postgres");
        let Some(version) = server_version(&postgres) else {
            log::warn!(
                "ignoring {}: `postgres --version` failed",
                postgres.display()
            );
            continue;
        };
        let major = major_version(&version);
        if required_major.is_none_or(|r| r == major) {
            return Ok(Binaries {
                initdb: bindir.join("initdb"),
                postgres,
                bindir,
                version,
                major,
            });
        }
        found.push(format!("{version} in {}", bindir.display()));
    }
    match required_major {
        Some(required) if !found.is_empty() => Err(EmbeddedPgError::VersionMismatch {
            cluster: String::new(),
            cluster_version: required.to_string(),
            found: found.join(", "),
        }),
        _ => Err(EmbeddedPgError::BinariesNotFound),
    }
}

// ---------------------------------------------------------------------------
// Processes

/// Runs in the forked child just before `exec`, after std has applied
/// setgroups/setgid/setuid (so the death signal is not reset by the credential
/// change). Only async-signal-safe calls are allowed here.
fn child_setup(parent: libc::pid_t, death_signal: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscalls on a local, initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: prctl(PR_SET_PDEATHSIG) only affects the calling (child) process.
        let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, death_signal as libc::c_ulong) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // The parent may have died before the death signal was armed.
        // SAFETY: getppid has no preconditions.
        if unsafe { libc::getppid() } != parent {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = (parent, death_signal);
    Ok(())
}

/// Applies identity, working directory and the pre-exec setup to `cmd`.
fn configure_child(
    cmd: &mut Command,
    run_as: Option<&RunAs>,
    cwd: &Path,
    death_signal: libc::c_int,
) {
    // Start from a minimal environment: the service's environment may hold
    // secrets, and a child running as another user exposes it in /proc/<pid>/environ.
    cmd.env_clear();
    for var in [
        "PATH",
        "HOME",
        "TZ",
        "TMPDIR",
        "LD_LIBRARY_PATH",
        "DYLD_LIBRARY_PATH",
    ] {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    if let Some(user) = run_as {
        // std also clears the supplementary groups when the uid is set as root.
        cmd.uid(user.uid).gid(user.gid);
        if user.home.as_os_str().is_empty() {
            cmd.env_remove("HOME");
        } else {
            cmd.env("HOME", &user.home);
        }
        // Our TMPDIR is likely not usable by that user.
        cmd.env_remove("TMPDIR");
    }
    cmd.current_dir(cwd);
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure only makes async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(move || child_setup(parent, death_signal));
    }
}

fn describe_command(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

fn run_initdb(
    bins: &Binaries,
    pgdata: &Path,
    run_as: Option<&RunAs>,
    password: &str,
    temporary: bool,
) -> Result<()> {
    let parent = pgdata.parent().unwrap_or(Path::new("/"));
    remove_stale_pwfiles(parent);
    let pwfile = parent.join(format!("{PWFILE_PREFIX}{}", Uuid::new_v4().simple()));
    write_private_file(&pwfile, format!("{password}\n").as_bytes(), run_as)?;
    let _remove_pwfile = RemoveFileOnDrop(pwfile.clone());

    let auth = if major_number(&bins.major) >= 10 {
        "scram-sha-256"
    } else {
        "md5"
    };
    let mut pwfile_arg = OsString::from("--pwfile=");
    pwfile_arg.push(&pwfile);

    let mut last_error = None;
    for locale in ["--locale=C.UTF-8", "--no-locale"] {
        let mut cmd = Command::new(&bins.initdb);
        cmd.arg("-D")
            .arg(pgdata)
            .args(["-U", SUPERUSER])
            .arg(format!("--auth={auth}"))
            .arg(&pwfile_arg)
            .args(["-E", "UTF8", locale]);
        if temporary {
            cmd.arg("--no-sync");
        }
        cmd.stdin(Stdio::null());
        configure_child(&mut cmd, run_as, parent, libc::SIGTERM);
        let command = describe_command(&cmd);
        let out = cmd
            .output()
            .map_err(io_err(format!("cannot run `{command}`")))?;
        if out.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        let locale_problem = text.to_lowercase().contains("locale");
        let error = EmbeddedPgError::Command {
            step: "initialising the PostgreSQL cluster".to_string(),
            command,
            status: format!("exited with {}", out.status),
            output: format_tail("output", &text),
        };
        if !locale_problem {
            return Err(error);
        }
        log::info!("initdb failed with {locale}, retrying without a locale");
        last_error = Some(error);
    }
    Err(last_error.unwrap_or(EmbeddedPgError::Cluster(
        "initialising the PostgreSQL cluster failed".to_string(),
    )))
}

/// Removes password files of `initdb` runs that were killed before cleaning up.
fn remove_stale_pwfiles(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale_pwfile = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(PWFILE_PREFIX))
            && entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|age| age > OWNERLESS_GRACE);
        if stale_pwfile {
            let _ = fs::remove_file(entry.path());
        }
    }
}

struct ServerSettings<'a> {
    bins: &'a Binaries,
    pgdata: &'a Path,
    run_as: Option<&'a RunAs>,
    temporary: bool,
    timeout: Duration,
}

/// A free TCP port on 127.0.0.1 (never 5432).
fn pick_port() -> Result<u16> {
    for _ in 0..20 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(io_err("cannot find a free TCP port on 127.0.0.1"))?;
        let port = listener
            .local_addr()
            .map_err(io_err("cannot find a free TCP port on 127.0.0.1"))?
            .port();
        if port != 5432 {
            return Ok(port);
        }
    }
    Err(EmbeddedPgError::Cluster(
        "cannot find a free TCP port on 127.0.0.1".to_string(),
    ))
}

fn open_log(path: &Path, run_as: Option<&RunAs>) -> Result<(File, u64)> {
    if fs::metadata(path).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
        let mut old = path.as_os_str().to_owned();
        old.push(".1");
        let _ = fs::rename(path, old);
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(format!("cannot open {}", path.display())))?;
    if let Some(user) = run_as {
        std::os::unix::fs::fchown(&file, Some(user.uid), Some(user.gid))
            .map_err(io_err(format!("cannot chown {}", path.display())))?;
    }
    let offset = file
        .metadata()
        .map_err(io_err(format!("cannot stat {}", path.display())))?
        .len();
    Ok((file, offset))
}

/// Formats the last lines of `text` as an indented block headed by `title`.
fn format_tail(title: &str, text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return format!("\n  ({title} is empty)");
    }
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    let mut out = format!("\n  {title}:");
    for line in &lines[start..] {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

/// The part of the log written since `offset`, last lines only.
fn read_log_tail(path: &Path, offset: u64) -> String {
    let read = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let start = offset.max(len.saturating_sub(LOG_TAIL_MAX_BYTES)).min(len);
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => format_tail("last lines of the log", &text),
        Err(e) => format!("\n  (cannot read the log: {e})"),
    }
}

fn port_conflict(log_tail: &str) -> bool {
    log_tail.contains("could not bind")
        || log_tail.contains("Address already in use")
        || log_tail.contains("could not create any TCP/IP sockets")
}

/// Starts the postmaster and waits until it accepts connections. Retries with
/// another port if the one picked was taken in the meantime.
fn spawn_server(
    settings: &ServerSettings<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(Child, u16)> {
    let pgdata = settings.pgdata;
    let log_path = pgdata.join(LOG_FILE);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = pick_port()?;
        progress(&format!("starting PostgreSQL on port {port}"));
        let (log_file, offset) = open_log(&log_path, settings.run_as)?;
        let log_err = log_file
            .try_clone()
            .map_err(io_err(format!("cannot open {}", log_path.display())))?;

        let mut cmd = Command::new(&settings.bins.postgres);
        cmd.arg("-D")
            .arg(pgdata)
            .arg("-p")
            .arg(port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="]);
        if settings.temporary {
            cmd.args(["-c", "fsync=off"])
                .args(["-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off"])
                .args(["-c", "max_connections=200"]);
        }
        cmd.stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .process_group(0);
        configure_child(&mut cmd, settings.run_as, pgdata, libc::SIGINT);
        let command = describe_command(&cmd);
        let mut child = cmd
            .spawn()
            .map_err(io_err(format!("cannot run `{command}`")))?;

        let needs_status = major_number(&settings.bins.major) >= 10;
        let reason = match wait_ready(&mut child, pgdata, port, needs_status, settings.timeout) {
            Ok(()) => return Ok((child, port)),
            Err(reason) => reason,
        };
        if let Err(e) = stop_child(&mut child) {
            log::warn!("{e}");
        }
        let log_tail = read_log_tail(&log_path, offset);
        if attempt < PORT_ATTEMPTS && port_conflict(&log_tail) {
            log::info!("port {port} was taken, retrying PostgreSQL startup with another port");
            continue;
        }
        return Err(EmbeddedPgError::Startup {
            reason,
            command,
            log_path: log_path.display().to_string(),
            log_tail,
        });
    }
}

/// Contents of `postmaster.pid` we care about.
#[derive(Debug, PartialEq)]
struct PidFile {
    pid: i32,
    status: Option<String>,
}

fn parse_pid_file(text: &str) -> Option<PidFile> {
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let status = lines
        .nth(6)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    Some(PidFile { pid, status })
}

fn read_pid_file(pgdata: &Path) -> Option<PidFile> {
    parse_pid_file(&fs::read_to_string(pgdata.join("postmaster.pid")).ok()?)
}

fn tcp_accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

fn wait_ready(
    child: &mut Child,
    pgdata: &Path,
    port: u16,
    needs_status: bool,
    timeout: Duration,
) -> Result<(), String> {
    let start = Instant::now();
    let pid = i32::try_from(child.id()).unwrap_or(-1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Err(format!("the server exited during startup ({status})")),
            Ok(None) => {}
            Err(e) => return Err(format!("cannot check on the server process: {e}")),
        }
        if let Some(info) = read_pid_file(pgdata) {
            let ready = info.pid == pid
                && (!needs_status || info.status.as_deref() == Some("ready"))
                && tcp_accepts(port);
            if ready {
                return Ok(());
            }
        }
        if start.elapsed() > timeout {
            return Err(format!(
                "timed out after {} s waiting for the server to accept connections",
                timeout.as_secs()
            ));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

fn send_signal(pid: i32, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn wait_child(child: &mut Child, timeout: Duration) -> bool {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return true,
            Ok(None) => {}
            Err(_) => return false,
        }
        if start.elapsed() > timeout {
            return false;
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Fast shutdown, then immediate shutdown, then SIGKILL.
fn stop_child(child: &mut Child) -> Result<(), String> {
    if let Ok(Some(_)) = child.try_wait() {
        return Ok(());
    }
    let pid = i32::try_from(child.id()).map_err(|e| e.to_string())?;
    // The child has not been reaped (try_wait said so), so `pid` is still ours.
    if let Err(e) = send_signal(pid, libc::SIGINT) {
        log::warn!("cannot send SIGINT to PostgreSQL (pid {pid}): {e}");
    }
    if wait_child(child, FAST_SHUTDOWN_TIMEOUT) {
        return Ok(());
    }
    log::warn!(
        "PostgreSQL (pid {pid}) did not finish a fast shutdown within {} s; sending SIGQUIT",
        FAST_SHUTDOWN_TIMEOUT.as_secs()
    );
    let _ = send_signal(pid, libc::SIGQUIT);
    if wait_child(child, IMMEDIATE_SHUTDOWN_TIMEOUT) {
        return Ok(());
    }
    log::warn!("PostgreSQL (pid {pid}) ignored SIGQUIT; killing it");
    let _ = child.kill();
    match child.wait() {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("PostgreSQL (pid {pid}) could not be stopped: {e}")),
    }
}

#[derive(Debug, PartialEq)]
enum ProcState {
    /// No such process (or a zombie).
    Gone,
    /// Exists but belongs to another user.
    Foreign,
    Alive,
}

fn proc_stat_fields(pid: i32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn process_state(pid: i32) -> ProcState {
    if pid <= 0 {
        return ProcState::Gone;
    }
    if let Err(e) = send_signal(pid, 0) {
        return if e.raw_os_error() == Some(libc::EPERM) {
            ProcState::Foreign
        } else {
            ProcState::Gone
        };
    }
    match proc_stat_fields(pid) {
        Some(fields) if fields.first().is_some_and(|s| s == "Z" || s == "X") => ProcState::Gone,
        _ => ProcState::Alive,
    }
}

/// Start time of a process in clock ticks since boot (Linux), to tell a process
/// from a later one that reused its pid.
fn process_start_time(pid: u32) -> Option<u64> {
    proc_stat_fields(i32::try_from(pid).ok()?)?
        .get(19)?
        .parse()
        .ok()
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn wait_pid_gone(pid: i32, timeout: Duration) -> bool {
    let start = Instant::now();
    while process_state(pid) == ProcState::Alive {
        if start.elapsed() > timeout {
            return false;
        }
        thread::sleep(POLL_INTERVAL);
    }
    true
}

/// Who holds a cluster's `postmaster.pid` lock.
#[derive(Debug, PartialEq)]
enum LockHolder {
    /// No lock file, or the process in it is gone (PostgreSQL handles that).
    Nobody,
    /// A live postmaster running on this cluster.
    Postmaster(i32),
    /// A live process that reused the pid and is not a postmaster.
    Unrelated(i32),
    /// A live process we cannot identify.
    Unknown(i32),
}

fn lock_holder(pgdata: &Path) -> LockHolder {
    let Some(info) = read_pid_file(pgdata) else {
        return LockHolder::Nobody;
    };
    let pid = info.pid;
    if process_state(pid) != ProcState::Alive {
        return LockHolder::Nobody;
    }
    // A postmaster's working directory is its data directory.
    if let Ok(cwd) = fs::read_link(format!("/proc/{pid}/cwd")) {
        return if same_dir(&cwd, pgdata) {
            LockHolder::Postmaster(pid)
        } else {
            LockHolder::Unrelated(pid)
        };
    }
    match fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(comm) if !comm.starts_with("postgres") && !comm.starts_with("postmaster") => {
            LockHolder::Unrelated(pid)
        }
        _ => LockHolder::Unknown(pid),
    }
}

fn remove_stale_lock(pgdata: &Path, pid: i32) {
    // PostgreSQL would refuse to start because of a live pid in the lock file.
    log::info!(
        "removing stale {}/postmaster.pid (pid {pid} is an unrelated process)",
        pgdata.display()
    );
    let _ = fs::remove_file(pgdata.join("postmaster.pid"));
}

/// Sends `signal` to `pid` and waits for it to exit, escalating to SIGQUIT.
fn stop_foreign_postmaster(pid: i32, signal: libc::c_int) -> bool {
    if send_signal(pid, signal).is_err() {
        return process_state(pid) != ProcState::Alive;
    }
    let timeout = if signal == libc::SIGQUIT {
        IMMEDIATE_SHUTDOWN_TIMEOUT
    } else {
        FAST_SHUTDOWN_TIMEOUT
    };
    if wait_pid_gone(pid, timeout) {
        return true;
    }
    let _ = send_signal(pid, libc::SIGQUIT);
    wait_pid_gone(pid, IMMEDIATE_SHUTDOWN_TIMEOUT)
}

/// Shuts down a server left running on `pgdata` by an earlier run.
fn stop_stale_postmaster(pgdata: &Path, progress: &mut dyn FnMut(&str)) -> Result<()> {
    match lock_holder(pgdata) {
        LockHolder::Nobody => Ok(()),
        LockHolder::Unrelated(pid) => {
            remove_stale_lock(pgdata, pid);
            Ok(())
        }
        LockHolder::Unknown(pid) => {
            log::warn!(
                "cannot tell whether process {pid} (named in {}/postmaster.pid) is a \
                 PostgreSQL server for this cluster; leaving it to PostgreSQL",
                pgdata.display()
            );
            Ok(())
        }
        LockHolder::Postmaster(pid) => {
            progress(&format!(
                "stopping a previous PostgreSQL instance (pid {pid}) still running on {}",
                pgdata.display()
            ));
            if stop_foreign_postmaster(pid, libc::SIGINT) {
                Ok(())
            } else {
                Err(EmbeddedPgError::Cluster(format!(
                    "a previous PostgreSQL server (pid {pid}) is still running on {} and did \
                     not stop; stop it (kill -INT {pid}) and try again",
                    pgdata.display()
                )))
            }
        }
    }
}

fn read_owner(path: &Path) -> Option<(u32, Option<u64>)> {
    let text = fs::read_to_string(path).ok()?;
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    let start = words.next().and_then(|w| w.parse().ok());
    Some((pid, start))
}

fn owner_alive(pid: u32, start: Option<u64>) -> bool {
    let Ok(ipid) = i32::try_from(pid) else {
        return false;
    };
    if process_state(ipid) == ProcState::Gone {
        return false;
    }
    match (start, process_start_time(pid)) {
        (Some(recorded), Some(actual)) => recorded == actual,
        _ => true,
    }
}

/// Deletes temporary clusters in `base` whose owning process is gone.
fn remove_stale_temporaries(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let is_uuid = entry
            .file_name()
            .to_str()
            .is_some_and(|n| Uuid::parse_str(n).is_ok());
        let dir = entry.path();
        let Ok(meta) = fs::symlink_metadata(&dir) else {
            continue;
        };
        if !is_uuid || !meta.is_dir() {
            continue;
        }
        match read_owner(&dir.join(OWNER_FILE)) {
            Some((pid, start)) => {
                if owner_alive(pid, start) {
                    continue;
                }
            }
            None => {
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|m| SystemTime::now().duration_since(m).ok());
                if age.is_none_or(|a| a < OWNERLESS_GRACE) {
                    continue;
                }
            }
        }
        // Normally the server died with its owner (death signal); make sure.
        let stopped = match lock_holder(&dir.join(TEMP_DATA_SUBDIR)) {
            LockHolder::Nobody | LockHolder::Unrelated(_) => true,
            LockHolder::Postmaster(pid) => stop_foreign_postmaster(pid, libc::SIGQUIT),
            LockHolder::Unknown(_) => false,
        };
        if !stopped {
            log::warn!(
                "not removing stale PostgreSQL cluster {}: its server may still be running",
                dir.display()
            );
            continue;
        }
        match fs::remove_dir_all(&dir) {
            Ok(()) => log::info!(
                "removed stale temporary PostgreSQL cluster {}",
                dir.display()
            ),
            Err(e) => log::warn!("cannot remove stale {}: {e}", dir.display()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn progress_printer() -> impl FnMut(&str) {
        |line: &str| eprintln!("[embedded-pg] {line}")
    }

    /// A fresh mode-0700 directory under /tmp (like root's home or a new temp dir:
    /// the `postgres` user cannot enter it).
    fn private_tmp_dir() -> PathBuf {
        let dir = PathBuf::from("/tmp").join(format!("embedded-pg-test-{}", Uuid::new_v4()));
        fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        dir
    }

    fn psql_select_one(pg: &EmbeddedPostgres) -> Option<bool> {
        let psql = Path::new("/usr/bin/psql");
        if !psql.exists() {
            return None;
        }
        let out = Command::new(psql)
            .env("PGPASSWORD", &pg.password)
            .env("PGCONNECT_TIMEOUT", "10")
            .args(["-h", "127.0.0.1", "-p", &pg.port().to_string()])
            .args(["-U", SUPERUSER, "-d", "postgres", "-tAc", "select 1"])
            .output()
            .unwrap();
        Some(out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "1")
    }

    fn psql_wrong_password_rejected(pg: &EmbeddedPostgres) -> Option<bool> {
        let psql = Path::new("/usr/bin/psql");
        if !psql.exists() {
            return None;
        }
        let out = Command::new(psql)
            .env("PGPASSWORD", "wrong")
            .args(["-h", "127.0.0.1", "-p", &pg.port().to_string()])
            .args(["-U", SUPERUSER, "-d", "postgres", "-tAc", "select 1"])
            .output()
            .unwrap();
        Some(!out.status.success())
    }

    #[test]
    fn parses_versions() {
        assert_eq!(
            parse_server_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some("15.18".to_string())
        );
        assert_eq!(
            parse_server_version("postgres (PostgreSQL) 16beta1"),
            Some("16beta1".to_string())
        );
        assert_eq!(major_version("15.18"), "15");
        assert_eq!(major_version("16beta1"), "16");
        assert_eq!(major_version("9.6.24"), "9.6");
        assert_eq!(major_number("9.6"), 9);
        assert_eq!(version_key("9.6"), Some((9, 6)));
        assert_eq!(version_key("15"), Some((15, 0)));
        assert_eq!(version_key("common"), None);
    }

    #[test]
    fn parses_pid_file() {
        let text = "7607\n/tmp/x/data\n1795794408\n54999\n\n127.0.0.1\n 10018852  4\nready   \n";
        assert_eq!(
            parse_pid_file(text),
            Some(PidFile {
                pid: 7607,
                status: Some("ready".to_string())
            })
        );
        assert_eq!(
            parse_pid_file("12\n/x\n"),
            Some(PidFile {
                pid: 12,
                status: None
            })
        );
        assert_eq!(parse_pid_file(""), None);
    }

    #[test]
    fn classifies_lock_holders() {
        let dir = private_tmp_dir();
        assert_eq!(lock_holder(&dir), LockHolder::Nobody);
        // Our own pid: alive, but its working directory is not `dir`.
        let me = i32::try_from(std::process::id()).unwrap();
        fs::write(
            dir.join("postmaster.pid"),
            format!("{me}\n{}\n", dir.display()),
        )
        .unwrap();
        assert_eq!(lock_holder(&dir), LockHolder::Unrelated(me));
        let mut dead = Command::new("true").spawn().unwrap();
        dead.wait().unwrap();
        fs::write(dir.join("postmaster.pid"), format!("{}\n", dead.id())).unwrap();
        assert_eq!(lock_holder(&dir), LockHolder::Nobody);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn encodes_database_names() {
        assert_eq!(percent_encode("tandem_test-1"), "tandem_test-1");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn passwords_are_long_and_alphanumeric() {
        let p = generate_password();
        assert!(p.len() >= 32);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(p, generate_password());
    }

    #[test]
    fn binaries_are_found() {
        let bins = find_binaries(None).unwrap();
        assert!(bins.initdb.exists() && bins.postgres.exists());
        eprintln!(
            "found PostgreSQL {} in {}",
            bins.version,
            bins.bindir.display()
        );
        assert!(matches!(
            find_binaries(Some("1")),
            Err(EmbeddedPgError::VersionMismatch { .. })
        ));
    }

    #[test]
    fn not_found_message_names_the_ways_forward() {
        let message = EmbeddedPgError::BinariesNotFound.to_string();
        assert!(message.contains("install"));
        assert!(message.contains("DATABASE_URL"));
        assert!(message.contains("docker compose up"));
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
        if let Some(ok) = psql_select_one(&pg) {
            assert!(ok, "password login failed");
        }
        if let Some(rejected) = psql_wrong_password_rejected(&pg) {
            assert!(rejected, "wrong password accepted");
        }
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
    fn stale_temporary_clusters_are_removed() {
        // A cluster directory whose owner (a finished process) is gone.
        let mut dead = Command::new("true").spawn().unwrap();
        dead.wait().unwrap();
        let base = if is_root() {
            postgres_owned_base(&system_postgres_user().unwrap(), TEMPORARY_BASE).unwrap()
        } else {
            let base = std::env::temp_dir().join(format!("{TEMPORARY_BASE}-{}", euid()));
            ensure_owned_dir(&base, None).unwrap();
            base
        };
        let stale = base.join(Uuid::new_v4().to_string());
        fs::create_dir_all(stale.join(TEMP_DATA_SUBDIR)).unwrap();
        fs::write(stale.join(OWNER_FILE), format!("{}\n", dead.id())).unwrap();
        // One owned by a live process (us) must survive.
        let alive = base.join(Uuid::new_v4().to_string());
        fs::create_dir_all(&alive).unwrap();
        fs::write(
            alive.join(OWNER_FILE),
            format!(
                "{} {}\n",
                std::process::id(),
                process_start_time(std::process::id()).unwrap()
            ),
        )
        .unwrap();

        let pg = EmbeddedPostgres::start_temporary(&mut |_: &str| {}).unwrap();
        assert!(!stale.exists());
        assert!(alive.exists());
        pg.stop().unwrap();
        fs::remove_dir_all(&alive).unwrap();
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
        if let Some(ok) = psql_select_one(&pg) {
            assert!(ok, "password login failed");
        }
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
        if let Some(ok) = psql_select_one(&pg) {
            assert!(ok, "password login after restart failed");
        }

        // A server left running by a "previous run" is shut down by the next start.
        let old_port = pg.port();
        let old_pid = pg.child.as_ref().unwrap().id();
        std::mem::forget(pg);
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
        if let Some(ok) = psql_select_one(&pg) {
            assert!(ok, "password login after takeover failed");
        }
        pg.stop().unwrap();

        fs::remove_dir_all(&parent).unwrap();
        if pgdata.exists() {
            fs::remove_dir_all(&pgdata).unwrap();
        }
    }
}
