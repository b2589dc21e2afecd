//! Stopping a running cluster the way an operator does (`pg_ctl stop -m fast`) and starting
//! it again on the same data directory and port, so clients that reconnect to the old address
//! find it back: what a database restart looks like to a service.

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::binaries::Binaries;
use super::error::{io_err, EmbeddedPgError, Result};
use super::process::{configure_child, describe_command, FAST_SHUTDOWN_TIMEOUT, POLL_INTERVAL};
use super::server::{format_tail, spawn_server_on, ServerSettings};
use super::users::RunAs;
use super::EmbeddedPostgres;

const RESTART_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How a server this process started was launched, to launch it again the same way.
#[derive(Clone, Debug)]
pub(super) struct Launch {
    pub(super) bins: Binaries,
    pub(super) run_as: Option<RunAs>,
    /// The further `-c name=value` settings it was started with.
    pub(super) settings: Vec<(String, String)>,
}

impl Launch {
    pub(super) fn new(bins: &Binaries, run_as: Option<&RunAs>, settings: &[(&str, &str)]) -> Self {
        Self {
            bins: bins.clone(),
            run_as: run_as.cloned(),
            settings: settings
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }
}

impl EmbeddedPostgres {
    /// Stops the server with `pg_ctl stop -m fast` (every session is ended, the server
    /// shuts down cleanly) and keeps the cluster, so [`EmbeddedPostgres::start_again`] can
    /// bring it back. Runs `pg_ctl` as the user the server runs as.
    pub fn stop_fast(&mut self) -> Result<(), EmbeddedPgError> {
        let launch = self.launch()?.clone();
        let Some(mut child) = self.child.take() else {
            return Err(EmbeddedPgError::Cluster("the server is not running".into()));
        };
        let mut cmd = Command::new(launch.bins.bindir.join("pg_ctl"));
        cmd.arg("stop")
            .arg("-D")
            .arg(&self.pgdata)
            .args(["-m", "fast", "-w"])
            .arg(format!("--timeout={}", FAST_SHUTDOWN_TIMEOUT.as_secs()))
            .stdin(Stdio::null());
        configure_child(
            &mut cmd,
            launch.run_as.as_ref(),
            &self.pgdata,
            libc::SIGTERM,
        );
        let command = describe_command(&cmd);
        let output = cmd
            .output()
            .map_err(io_err(format!("cannot run `{command}`")))?;
        if !output.status.success() {
            self.child = Some(child);
            let text = String::from_utf8_lossy(&output.stderr).into_owned();
            return Err(EmbeddedPgError::Command {
                step: "pg_ctl stop".into(),
                command,
                status: output.status.to_string(),
                output: format_tail("its output", &text),
            });
        }
        // `pg_ctl -w` returns once the server has removed its pid file, just before it exits.
        let started = Instant::now();
        while !matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
            if started.elapsed() > FAST_SHUTDOWN_TIMEOUT {
                self.child = Some(child);
                return Err(EmbeddedPgError::Stop(
                    "the server outlived `pg_ctl stop`".into(),
                ));
            }
            thread::sleep(POLL_INTERVAL);
        }
        Ok(())
    }

    /// Starts the server stopped by [`EmbeddedPostgres::stop_fast`] again, on the same data
    /// directory and port and with the same settings, as a child of the calling thread (see
    /// the module documentation on the lifetime of the server process).
    pub fn start_again(&mut self, progress: &mut dyn FnMut(&str)) -> Result<(), EmbeddedPgError> {
        if self.child.is_some() {
            return Err(EmbeddedPgError::Cluster(
                "the server is already running".into(),
            ));
        }
        let launch = self.launch()?.clone();
        let extra: Vec<(&str, &str)> = launch
            .settings
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let settings = ServerSettings {
            bins: &launch.bins,
            pgdata: &self.pgdata,
            run_as: launch.run_as.as_ref(),
            temporary: self.remove_on_stop.is_some(),
            extra: &extra,
            timeout: RESTART_READY_TIMEOUT,
        };
        let child = spawn_server_on(&settings, self.port, progress)?;
        progress("PostgreSQL ready");
        self.child = Some(child);
        Ok(())
    }

    fn launch(&self) -> Result<&Launch> {
        self.launch.as_ref().ok_or_else(|| {
            EmbeddedPgError::Cluster(
                "this server belongs to another process; only the process that started it may \
                 stop and start it"
                    .into(),
            )
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::test_psql::psql_value;
    use std::net::TcpStream;

    use super::*;

    #[test]
    fn a_stopped_server_starts_again_on_its_port_with_its_settings() {
        let progress = &mut |line: &str| eprintln!("[embedded-pg] {line}");
        let mut pg =
            EmbeddedPostgres::start_temporary_with(&[("work_mem", "7MB")], progress).unwrap();
        let port = pg.port();
        assert!(pg.start_again(progress).is_err(), "started twice");
        pg.stop_fast().unwrap();
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        assert!(pg.stop_fast().is_err(), "stopped twice");
        pg.start_again(progress).unwrap();
        assert_eq!(pg.port(), port);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        assert_eq!(
            psql_value(&pg, &pg.password, "SHOW work_mem").as_deref(),
            Some("7MB")
        );
        let container = pg.remove_on_stop.clone().unwrap();
        pg.stop().unwrap();
        assert!(!container.exists());
    }
}
