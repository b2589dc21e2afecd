//! Throw-away clusters for the test suite, and removal of those left behind by
//! processes that are gone.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use super::binaries::find_binaries;
use super::error::{io_err, EmbeddedPgError};
use super::files::{write_private_file, RemoveDirOnDrop, OWNERLESS_GRACE};
use super::initdb::{generate_password, run_initdb};
use super::lock::{lock_holder, stop_foreign_postmaster, LockHolder};
use super::process::{process_start_time, process_state, ProcState};
use super::restart::Launch;
use super::server::{spawn_server, ServerSettings};
use super::users::{ensure_owned_dir, euid, is_root, postgres_owned_base, system_postgres_user};
use super::EmbeddedPostgres;

/// File inside a temporary cluster's directory naming the owning process.
pub(super) const OWNER_FILE: &str = "owner";
/// Cluster directory inside a temporary cluster's directory.
const TEMP_DATA_SUBDIR: &str = "data";
const TEMPORARY_BASE: &str = "tandem-test-clusters";
const TEMPORARY_READY_TIMEOUT: Duration = Duration::from_secs(60);

impl EmbeddedPostgres {
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
        Self::start_temporary_with(&[], progress)
    }

    /// Like [`EmbeddedPostgres::start_temporary`], with further server settings given as
    /// `(name, value)` pairs and passed to `postgres` as `-c name=value`, after (and so
    /// overriding) the built-in ones; e.g.
    /// `[("shared_preload_libraries", "pg_stat_statements")]`.
    pub fn start_temporary_with(
        settings: &[(&str, &str)],
        progress: &mut dyn FnMut(&str),
    ) -> Result<Self, EmbeddedPgError> {
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

        let server = ServerSettings {
            bins: &bins,
            pgdata: &pgdata,
            run_as: run_as.as_ref(),
            temporary: true,
            extra: settings,
            timeout: TEMPORARY_READY_TIMEOUT,
        };
        let (child, port) = spawn_server(&server, progress)?;
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
            owner_lock: None,
            launch: Some(Launch::new(&bins, run_as.as_ref(), settings)),
        })
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
    use std::process::Command;

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
}
