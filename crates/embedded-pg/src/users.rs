//! Who `initdb` and `postgres` run as, and the directories they can use:
//! PostgreSQL refuses to run as root, so when we are root it runs as the
//! `postgres` system user.

use std::ffi::{CStr, CString, OsStr};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::error::{io_err, EmbeddedPgError, Result};

/// System user that runs PostgreSQL when we are root.
const SYSTEM_USER: &str = "postgres";

/// The identity `initdb` and `postgres` run as, when different from ours.
#[derive(Clone, Debug)]
pub(super) struct RunAs {
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) home: PathBuf,
}

pub(super) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

pub(super) fn is_root() -> bool {
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

pub(super) fn system_postgres_user() -> Result<RunAs> {
    match lookup_user(SYSTEM_USER) {
        Some(user) if user.uid != 0 => Ok(user),
        _ => Err(EmbeddedPgError::NoPostgresUser),
    }
}

/// The identity to run an existing cluster as (we are root): its owner.
pub(super) fn owner_of_cluster(pgdata: &Path) -> Result<RunAs> {
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
pub(super) fn postgres_owned_base(user: &RunAs, name: &str) -> Result<PathBuf> {
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
pub(super) fn ensure_owned_dir(path: &Path, owner: Option<&RunAs>) -> Result<()> {
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
pub(super) fn create_dirs_private(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_err(format!("cannot create {}", path.display())))
}
