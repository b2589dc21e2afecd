//! Starting the postmaster: port, log file, and waiting until it accepts
//! connections.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::binaries::{major_number, Binaries};
use super::error::{io_err, EmbeddedPgError, Result};
use super::lock::read_pid_file;
use super::process::{configure_child, describe_command, stop_child, POLL_INTERVAL};
use super::users::RunAs;

/// Server log, inside the cluster directory.
const LOG_FILE: &str = "postgres.log";
const PORT_ATTEMPTS: usize = 5;
const LOG_TAIL_LINES: usize = 30;
const LOG_TAIL_MAX_BYTES: u64 = 64 * 1024;
const LOG_ROTATE_BYTES: u64 = 16 * 1024 * 1024;

pub(super) struct ServerSettings<'a> {
    pub(super) bins: &'a Binaries,
    pub(super) pgdata: &'a Path,
    pub(super) run_as: Option<&'a RunAs>,
    pub(super) temporary: bool,
    /// Further server settings, each passed as `-c name=value` after the built-in ones.
    pub(super) extra: &'a [(&'a str, &'a str)],
    pub(super) timeout: Duration,
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
pub(super) fn format_tail(title: &str, text: &str) -> String {
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
pub(super) fn spawn_server(
    settings: &ServerSettings<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(Child, u16)> {
    spawn(settings, None, progress)
}

/// Starts the postmaster on `port` (no retry with another one) and waits until it accepts
/// connections.
pub(super) fn spawn_server_on(
    settings: &ServerSettings<'_>,
    port: u16,
    progress: &mut dyn FnMut(&str),
) -> Result<Child> {
    spawn(settings, Some(port), progress).map(|(child, _)| child)
}

fn spawn(
    settings: &ServerSettings<'_>,
    fixed_port: Option<u16>,
    progress: &mut dyn FnMut(&str),
) -> Result<(Child, u16)> {
    let pgdata = settings.pgdata;
    let log_path = pgdata.join(LOG_FILE);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = match fixed_port {
            Some(port) => port,
            None => pick_port()?,
        };
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
        for (name, value) in settings.extra {
            cmd.arg("-c").arg(format!("{name}={value}"));
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
        if fixed_port.is_none() && attempt < PORT_ATTEMPTS && port_conflict(&log_tail) {
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

pub(super) fn tcp_accepts(port: u16) -> bool {
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
