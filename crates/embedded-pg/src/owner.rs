//! Who is using a data directory's persistent cluster.
//!
//! Every process that uses the cluster holds an exclusive advisory lock (`flock`) on
//! `<data_dir>/postgres-owner` for as long as it runs, and writes its pid and what it
//! runs (`serve`, `migrate`, ...) into the file. The kernel drops the lock when the
//! process exits, however it exits, so a crashed process never looks alive, and a
//! postmaster left behind by it is stale. The file is opened close-on-exec, so the
//! postmaster never inherits the lock.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::error::{io_err, Result};

/// Lock file in the data directory.
pub(super) const OWNER_FILE: &str = "postgres-owner";

/// What `tandem` runs on a data directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// `tandem serve`: owns the cluster for its whole life; a second one is refused.
    Serve,
    /// A one-off command (e.g. `migrate`): uses the cluster of a running
    /// `tandem serve` and leaves it running, or else starts the cluster for itself.
    Command(&'static str),
}

impl Purpose {
    fn name(self) -> &'static str {
        match self {
            Purpose::Serve => "serve",
            Purpose::Command(name) => name,
        }
    }
}

/// The lock, held until dropped.
#[derive(Debug)]
pub(super) struct OwnerLock {
    file: File,
}

impl Drop for OwnerLock {
    /// Unlocks before the file is closed. Closing alone would leave the lock held while any
    /// child forked meanwhile by another thread still has the descriptor (between its fork
    /// and its exec, which closes it): the lock belongs to the open file, which the child
    /// shares, and unlocking releases it for every holder of that file at once.
    fn drop(&mut self) {
        // SAFETY: flock on the file descriptor this value owns; no memory is passed.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// The live process holding the lock, as written in the lock file.
#[derive(Debug, PartialEq)]
pub(super) struct Holder {
    pub(super) pid: u32,
    /// `serve` or the command's name.
    pub(super) running: String,
}

impl Holder {
    pub(super) fn is_serve(&self) -> bool {
        self.running == Purpose::Serve.name()
    }

    /// `` `tandem serve` (pid 1234)``
    pub(super) fn describe(&self) -> String {
        format!("`tandem {}` (pid {})", self.running, self.pid)
    }
}

/// One attempt at the lock: `Ok(Ok(lock))` when taken; `Ok(Err(holder))` when a live
/// process holds it (`None` while that process has not written its name yet).
pub(super) fn try_lock(
    data_dir: &Path,
    purpose: Purpose,
) -> Result<std::result::Result<OwnerLock, Option<Holder>>> {
    let path = data_dir.join(OWNER_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io_err(format!("cannot open {}", path.display())))?;
    // SAFETY: flock on a file descriptor we own; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(io_err(format!("cannot lock {}", path.display()))(error));
        }
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        return Ok(Err(parse_holder(&text)));
    }
    let record = format!("{} {}\n", std::process::id(), purpose.name());
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(record.as_bytes()))
        .map_err(io_err(format!("cannot write {}", path.display())))?;
    Ok(Ok(OwnerLock { file }))
}

fn parse_holder(text: &str) -> Option<Holder> {
    let line = text.lines().next()?;
    let (pid, running) = line.trim().split_once(' ')?;
    Some(Holder {
        pid: pid.parse().ok()?,
        running: running.trim().to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    use super::super::tests::private_tmp_dir;

    #[test]
    fn the_lock_names_its_holder_until_released() {
        let dir = private_tmp_dir();
        let lock = try_lock(&dir, Purpose::Serve).unwrap().unwrap();
        let holder = try_lock(&dir, Purpose::Command("migrate"))
            .unwrap()
            .unwrap_err()
            .unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert!(holder.is_serve());
        assert_eq!(
            holder.describe(),
            format!("`tandem serve` (pid {})", std::process::id())
        );
        drop(lock);
        let lock = try_lock(&dir, Purpose::Command("migrate"))
            .unwrap()
            .unwrap();
        let holder = try_lock(&dir, Purpose::Serve)
            .unwrap()
            .unwrap_err()
            .unwrap();
        assert!(!holder.is_serve());
        assert_eq!(holder.running, "migrate");
        drop(lock);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parses_holders() {
        assert_eq!(
            parse_holder("42 create-organization\n"),
            Some(Holder {
                pid: 42,
                running: "create-organization".to_string()
            })
        );
        assert_eq!(parse_holder(""), None);
        assert_eq!(parse_holder("x serve"), None);
    }
}
