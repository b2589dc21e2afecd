//! Finding the PostgreSQL server binaries (`initdb` and `postgres`) and their
//! version.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::{EmbeddedPgError, Result};

#[derive(Clone, Debug)]
pub(super) struct Binaries {
    pub(super) bindir: PathBuf,
    pub(super) initdb: PathBuf,
    pub(super) postgres: PathBuf,
    /// Full version, e.g. `15.18`.
    pub(super) version: String,
    /// Major version as written in `PG_VERSION`, e.g. `15` (or `9.6`).
    pub(super) major: String,
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}

fn has_server_binaries(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))
}

/// Numeric sort key of a version-named directory ("15", "9.6", "pgsql-16" → 16).
fn version_key(name: &str) -> Option<(u32, u32)> {
    let mut parts = name.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = match parts.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    Some((major, minor))
}

/// `<root>/<prefix><version>/bin` for every version-named entry, newest first.
fn versioned_bindirs(root: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<((u32, u32), PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let key = version_key(name.to_str()?.strip_prefix(prefix)?)?;
            Some((key, entry.path().join("bin")))
        })
        .collect();
    found.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

fn pg_config_bindir(path_dirs: &[PathBuf]) -> Option<PathBuf> {
    let pg_config = path_dirs
        .iter()
        .map(|d| d.join("pg_config"))
        .find(|p| is_executable(p))?;
    let out = Command::new(pg_config)
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Directories holding both `initdb` and `postgres`, in order of preference.
fn candidate_bindirs() -> Vec<PathBuf> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .filter(|d| d.is_absolute())
                .collect()
        })
        .unwrap_or_default();
    let mut dirs: Vec<PathBuf> = path_dirs.clone();
    dirs.extend(pg_config_bindir(&path_dirs));
    dirs.extend(versioned_bindirs(Path::new("/usr/lib/postgresql"), ""));
    dirs.extend(versioned_bindirs(Path::new("/usr"), "pgsql-"));

    let mut seen = Vec::new();
    let mut result = Vec::new();
    for dir in dirs {
        if !has_server_binaries(&dir) {
            continue;
        }
        // Deduplicate on the real location of the postgres binary.
        let key = fs::canonicalize(dir.join("postgres")).unwrap_or_else(|_| dir.join("postgres"));
        if !seen.contains(&key) {
            seen.push(key);
            result.push(dir);
        }
    }
    result
}

/// Extracts the version from `postgres --version` output, e.g.
/// `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → `15.18`.
fn parse_server_version(output: &str) -> Option<String> {
    let line = output.lines().next()?;
    let rest = match line.find(')') {
        Some(i) => &line[i + 1..],
        None => line,
    };
    rest.split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// The major version as PostgreSQL writes it to `PG_VERSION`: `15.18` → `15`,
/// `16beta1` → `16`, `9.6.24` → `9.6`.
fn major_version(version: &str) -> String {
    let first: String = version.chars().take_while(char::is_ascii_digit).collect();
    match first.parse::<u32>() {
        Ok(n) if n < 10 => {
            let rest = &version[first.len()..];
            let minor: String = rest
                .strip_prefix('.')
                .unwrap_or("")
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if minor.is_empty() {
                first
            } else {
                format!("{first}.{minor}")
            }
        }
        _ => first,
    }
}

pub(super) fn major_number(major: &str) -> u32 {
    let digits: String = major.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

fn server_version(postgres: &Path) -> Option<String> {
    let out = Command::new(postgres)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_server_version(&String::from_utf8_lossy(&out.stdout))
}

/// Finds the server binaries, optionally of a given major version.
pub(super) fn find_binaries(required_major: Option<&str>) -> Result<Binaries> {
    let mut found = Vec::new();
    for bindir in candidate_bindirs() {
        let postgres = bindir.join("postgres");
        let Some(version) = server_version(&postgres) else {
            log::warn!(
                "ignoring {}: `postgres --version` failed",
                postgres.display()
            );
            continue;
        };
        let major = major_version(&version);
        if required_major.is_none_or(|r| r == major) {
            return Ok(Binaries {
                initdb: bindir.join("initdb"),
                postgres,
                bindir,
                version,
                major,
            });
        }
        found.push(format!("{version} in {}", bindir.display()));
    }
    match required_major {
        Some(required) if !found.is_empty() => Err(EmbeddedPgError::VersionMismatch {
            cluster: String::new(),
            cluster_version: required.to_string(),
            found: found.join(", "),
        }),
        _ => Err(EmbeddedPgError::BinariesNotFound),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            parse_server_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some("15.18".to_string())
        );
        assert_eq!(
            parse_server_version("postgres (PostgreSQL) 16beta1"),
            Some("16beta1".to_string())
        );
        assert_eq!(major_version("15.18"), "15");
        assert_eq!(major_version("16beta1"), "16");
        assert_eq!(major_version("9.6.24"), "9.6");
        assert_eq!(major_number("9.6"), 9);
        assert_eq!(version_key("9.6"), Some((9, 6)));
        assert_eq!(version_key("15"), Some((15, 0)));
        assert_eq!(version_key("common"), None);
    }

    #[test]
    fn binaries_are_found() {
        let bins = find_binaries(None).unwrap();
        assert!(bins.initdb.exists() && bins.postgres.exists());
        eprintln!(
            "found PostgreSQL {} in {}",
            bins.version,
            bins.bindir.display()
        );
        assert!(matches!(
            find_binaries(Some("1")),
            Err(EmbeddedPgError::VersionMismatch { .. })
        ));
    }
}
