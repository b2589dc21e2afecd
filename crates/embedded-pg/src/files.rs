//! Small file-system helpers: private files written atomically, and
//! clean-up guards.

use std::ffi::{OsStr, OsString};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::error::{io_err, Result};
use super::users::RunAs;

/// A temporary cluster directory without an owner file (or an `initdb` password
/// file) is only considered stale after this long (it may be in use right now).
pub(super) const OWNERLESS_GRACE: std::time::Duration = std::time::Duration::from_secs(120);

/// Atomically writes a mode-0600 file, optionally owned by `owner`.
pub(super) fn write_private_file(
    path: &Path,
    contents: &[u8],
    owner: Option<&RunAs>,
) -> Result<()> {
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

/// Removes a directory tree when dropped, unless disarmed by taking the path.
pub(super) struct RemoveDirOnDrop(pub(super) Option<PathBuf>);

impl Drop for RemoveDirOnDrop {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

pub(super) struct RemoveFileOnDrop(pub(super) PathBuf);

impl Drop for RemoveFileOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
