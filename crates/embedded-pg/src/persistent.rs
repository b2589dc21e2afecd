//! The persistent cluster of `tandem serve`, and the files in the data directory
//! that describe it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::binaries::find_binaries;
use super::error::{io_err, EmbeddedPgError, Result};
use super::files::write_private_file;
use super::initdb::{generate_password, run_initdb};
use super::lock::{lock_holder, read_pid_file, stop_stale_postmaster, LockHolder};
use super::owner::{try_lock, Holder, OwnerLock, Purpose};
use super::restart::Launch;
use super::server::{spawn_server, tcp_accepts, ServerSettings};
use super::users::{
    create_dirs_private, is_root, owner_of_cluster, postgres_owned_base, system_postgres_user,
    RunAs,
};
use super::EmbeddedPostgres;

/// File in the data directory holding the superuser password.
pub(super) const PASSWORD_FILE: &str = "postgres-password";
/// File in the data directory recording where the cluster lives (root only).
pub(super) const LOCATION_FILE: &str = "postgres-location";
/// Sub-directory of the data directory holding the cluster (non-root).
pub(super) const CLUSTER_SUBDIR: &str = "postgres";
const PERSISTENT_BASE: &str = "tandem-clusters";
const PERSISTENT_READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a process waits for another one to finish with the data directory, or for
/// the server of a starting `tandem serve` to accept connections.
const OWNER_WAIT_TIMEOUT: Duration = Duration::from_secs(120);
const OWNER_POLL_INTERVAL: Duration = Duration::from_millis(100);

impl EmbeddedPostgres {
    /// Persistent cluster for `tandem serve`: initialised the first time under (or
    /// recorded in) `data_dir`, reused on every later start. `progress` receives
    /// short human-readable progress lines. Same as
    /// [`EmbeddedPostgres::open_persistent`] with [`Purpose::Serve`].
    pub fn start_persistent(
        data_dir: &Path,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Self, EmbeddedPgError> {
        Self::open_persistent(data_dir, Purpose::Serve, progress)
    }

    /// The persistent cluster of `data_dir`, for `purpose`:
    ///
    /// * While a `tandem serve` runs on `data_dir`, a command attaches to its server
    ///   (waiting until it accepts connections) and leaves it running; a second
    ///   `tandem serve` is refused with an error naming the first.
    /// * While another command runs on `data_dir`, this waits for it to finish.
    /// * Otherwise the server is started for this process, which owns the cluster
    ///   until the returned value is dropped. A server left running by an earlier
    ///   process that is gone (e.g. killed) is shut down first.
    ///
    /// See the module documentation for where the cluster lives, and for why this
    /// must be called from a thread that lives as long as the server should.
    pub fn open_persistent(
        data_dir: &Path,
        purpose: Purpose,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Self, EmbeddedPgError> {
        create_dirs_private(data_dir)?;
        let data_dir = fs::canonicalize(data_dir)
            .map_err(io_err(format!("cannot resolve {}", data_dir.display())))?;
        let deadline = Instant::now() + OWNER_WAIT_TIMEOUT;
        let mut announced = String::new();
        loop {
            let waiting_for = match try_lock(&data_dir, purpose)? {
                Ok(lock) => return start_owned(&data_dir, lock, progress),
                Err(Some(holder)) if holder.is_serve() => {
                    if purpose == Purpose::Serve {
                        return Err(in_use_by_server(&data_dir, &holder));
                    }
                    if let Some(attached) = attach(&data_dir)? {
                        progress(&format!(
                            "using the PostgreSQL server of {} (port {})",
                            holder.describe(),
                            attached.port
                        ));
                        return Ok(attached);
                    }
                    format!(
                        "the PostgreSQL server of {} on {} to accept connections",
                        holder.describe(),
                        data_dir.display()
                    )
                }
                Err(Some(holder)) => {
                    format!(
                        "{} to finish with {}",
                        holder.describe(),
                        data_dir.display()
                    )
                }
                Err(None) => String::new(),
            };
            if !waiting_for.is_empty() && waiting_for != announced {
                progress(&format!("waiting for {waiting_for}"));
                announced = waiting_for;
            }
            if Instant::now() > deadline {
                return Err(EmbeddedPgError::Cluster(format!(
                    "gave up after {} s waiting for {announced}",
                    OWNER_WAIT_TIMEOUT.as_secs()
                )));
            }
            thread::sleep(OWNER_POLL_INTERVAL);
        }
    }
}

fn in_use_by_server(data_dir: &Path, holder: &Holder) -> EmbeddedPgError {
    EmbeddedPgError::Cluster(format!(
        "the data directory {} is in use by {}; stop that process first, or give this one \
         its own data directory (TANDEM_DATA_DIR) or a DATABASE_URL",
        data_dir.display(),
        holder.describe()
    ))
}

/// The server of the running `tandem serve` that owns `data_dir`'s cluster, once it
/// accepts connections.
fn attach(data_dir: &Path) -> Result<Option<EmbeddedPostgres>> {
    let recorded = read_location(&data_dir.join(LOCATION_FILE)).ok().flatten();
    let Some(pgdata) = recorded
        .into_iter()
        .chain([data_dir.join(CLUSTER_SUBDIR)])
        .find(|dir| is_initialised(dir))
    else {
        return Ok(None);
    };
    let Some(info) = read_pid_file(&pgdata) else {
        return Ok(None);
    };
    let ready = info
        .status
        .as_deref()
        .is_none_or(|status| status == "ready")
        && lock_holder(&pgdata) == LockHolder::Postmaster(info.pid);
    let Some(port) = info.port.filter(|&port| ready && tcp_accepts(port)) else {
        return Ok(None);
    };
    let password = read_password(&data_dir.join(PASSWORD_FILE), &pgdata)?;
    Ok(Some(EmbeddedPostgres {
        child: None,
        port,
        password,
        pgdata,
        remove_on_stop: None,
        owner_lock: None,
        launch: None,
    }))
}

/// Starts the server of `data_dir`'s cluster (initialising the cluster the first
/// time) for the process holding `lock`.
fn start_owned(
    data_dir: &Path,
    lock: OwnerLock,
    progress: &mut dyn FnMut(&str),
) -> Result<EmbeddedPostgres> {
    let password_file = data_dir.join(PASSWORD_FILE);
    let (pgdata, run_as) = locate_cluster(data_dir)?;

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
        extra: &[],
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
    Ok(EmbeddedPostgres {
        child: Some(child),
        port,
        password,
        pgdata,
        remove_on_stop: None,
        owner_lock: Some(lock),
        launch: Some(Launch::new(&bins, run_as.as_ref(), &[])),
    })
}

/// Where the cluster of `data_dir` lives (choosing the place the first time), and who
/// runs it.
fn locate_cluster(data_dir: &Path) -> Result<(PathBuf, Option<RunAs>)> {
    let location_file = data_dir.join(LOCATION_FILE);
    let local_cluster = data_dir.join(CLUSTER_SUBDIR);
    Ok(if is_root() {
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
    })
}

pub(super) fn read_location(location_file: &Path) -> Result<Option<PathBuf>> {
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

pub(super) fn is_initialised(pgdata: &Path) -> bool {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    use super::super::tests::private_tmp_dir;

    #[test]
    fn a_server_waits_for_a_command_then_commands_attach_and_a_second_server_is_refused() {
        let parent = private_tmp_dir();
        let data_dir = parent.join("data");
        create_dirs_private(&data_dir).unwrap();
        let data_dir = fs::canonicalize(&data_dir).unwrap();
        let command = try_lock(&data_dir, Purpose::Command("migrate"))
            .unwrap()
            .unwrap();
        let release = thread::spawn(move || {
            thread::sleep(Duration::from_millis(500));
            drop(command);
        });
        let mut lines = Vec::new();
        let pg = EmbeddedPostgres::start_persistent(&data_dir, &mut |line| {
            lines.push(line.to_string());
        })
        .unwrap();
        release.join().unwrap();
        let waited = format!("waiting for `tandem migrate` (pid {})", std::process::id());
        assert!(
            lines.iter().any(|line| line.starts_with(&waited)),
            "{lines:?}"
        );
        assert!(pg.owns_server());

        let attached =
            EmbeddedPostgres::open_persistent(&data_dir, Purpose::Command("migrate"), &mut |_| {})
                .unwrap();
        assert!(!attached.owns_server());
        assert_eq!(attached.port, pg.port);
        assert_eq!(attached.url("tandem"), pg.url("tandem"));
        attached.stop().unwrap();
        assert!(
            tcp_accepts(pg.port),
            "the attached command stopped the server"
        );

        let refused = EmbeddedPostgres::start_persistent(&data_dir, &mut |_| {}).unwrap_err();
        let message = refused.to_string();
        assert!(
            message.contains(&data_dir.display().to_string()),
            "{message}"
        );
        assert!(message.contains("in use by `tandem serve`"), "{message}");
        assert!(tcp_accepts(pg.port));

        let pgdata = pg.pgdata.clone();
        pg.stop().unwrap();
        fs::remove_dir_all(&parent).unwrap();
        if pgdata.exists() {
            fs::remove_dir_all(&pgdata).unwrap();
        }
    }
}
