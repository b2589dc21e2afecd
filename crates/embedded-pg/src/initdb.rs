//! Creating a new cluster with `initdb`, and its superuser password.

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::SystemTime;

use rand::distributions::Alphanumeric;
use rand::Rng;
use uuid::Uuid;

use super::binaries::{major_number, Binaries};
use super::error::{io_err, EmbeddedPgError, Result};
use super::files::{write_private_file, RemoveFileOnDrop, OWNERLESS_GRACE};
use super::process::{configure_child, describe_command};
use super::server::format_tail;
use super::users::RunAs;
use super::SUPERUSER;

/// Prefix of the short-lived password file handed to `initdb`.
const PWFILE_PREFIX: &str = ".tandem-initdb-pwfile-";
const PASSWORD_LEN: usize = 40;

pub(super) fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(PASSWORD_LEN)
        .map(char::from)
        .collect()
}

pub(super) fn run_initdb(
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_and_alphanumeric() {
        let p = generate_password();
        assert!(p.len() >= 32);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(p, generate_password());
    }
}
