//! Child processes: spawning as another user with a parent-death signal, and
//! signalling, waiting for and inspecting processes.

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use super::users::RunAs;

pub(super) const FAST_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
pub(super) const IMMEDIATE_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(20);

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
pub(super) fn configure_child(
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

pub(super) fn describe_command(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

pub(super) fn send_signal(pid: i32, signal: libc::c_int) -> io::Result<()> {
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
pub(super) fn stop_child(child: &mut Child) -> Result<(), String> {
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
pub(super) enum ProcState {
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

pub(super) fn process_state(pid: i32) -> ProcState {
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
pub(super) fn process_start_time(pid: u32) -> Option<u64> {
    proc_stat_fields(i32::try_from(pid).ok()?)?
        .get(19)?
        .parse()
        .ok()
}

pub(super) fn wait_pid_gone(pid: i32, timeout: Duration) -> bool {
    let start = Instant::now();
    while process_state(pid) == ProcState::Alive {
        if start.elapsed() > timeout {
            return false;
        }
        thread::sleep(POLL_INTERVAL);
    }
    true
}
