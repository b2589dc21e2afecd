//! The `postmaster.pid` lock file: who holds it, and shutting down servers left
//! running on a cluster by earlier runs.

use std::fs;
use std::path::Path;

use super::error::{EmbeddedPgError, Result};
use super::process::{
    process_state, send_signal, wait_pid_gone, ProcState, FAST_SHUTDOWN_TIMEOUT,
    IMMEDIATE_SHUTDOWN_TIMEOUT,
};

/// Contents of `postmaster.pid` we care about.
#[derive(Debug, PartialEq)]
pub(super) struct PidFile {
    pub(super) pid: i32,
    pub(super) port: Option<u16>,
    pub(super) status: Option<String>,
}

fn parse_pid_file(text: &str) -> Option<PidFile> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let pid = lines.first()?.parse().ok()?;
    let port = lines.get(3).and_then(|s| s.parse().ok());
    let status = lines
        .get(7)
        .filter(|s| !s.is_empty())
        .map(|s| (*s).to_string());
    Some(PidFile { pid, port, status })
}

pub(super) fn read_pid_file(pgdata: &Path) -> Option<PidFile> {
    parse_pid_file(&fs::read_to_string(pgdata.join("postmaster.pid")).ok()?)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Who holds a cluster's `postmaster.pid` lock.
#[derive(Debug, PartialEq)]
pub(super) enum LockHolder {
    /// No lock file, or the process in it is gone (PostgreSQL handles that).
    Nobody,
    /// A live postmaster running on this cluster.
    Postmaster(i32),
    /// A live process that reused the pid and is not a postmaster.
    Unrelated(i32),
    /// A live process we cannot identify.
    Unknown(i32),
}

pub(super) fn lock_holder(pgdata: &Path) -> LockHolder {
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
pub(super) fn stop_foreign_postmaster(pid: i32, signal: libc::c_int) -> bool {
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
pub(super) fn stop_stale_postmaster(pgdata: &Path, progress: &mut dyn FnMut(&str)) -> Result<()> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::process::Command;

    use super::super::tests::private_tmp_dir;

    #[test]
    fn parses_pid_file() {
        let text = "7607\n/tmp/x/data\n1795794408\n54999\n\n127.0.0.1\n 10018852  4\nready   \n";
        assert_eq!(
            parse_pid_file(text),
            Some(PidFile {
                pid: 7607,
                port: Some(54999),
                status: Some("ready".to_string())
            })
        );
        assert_eq!(
            parse_pid_file("12\n/x\n"),
            Some(PidFile {
                pid: 12,
                port: None,
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
}
