//! Typed configuration, read once from the environment and passed down.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::distributions::Alphanumeric;
use rand::Rng;

mod auth_policy;
mod production;
mod public_url;
mod webhooks;

pub use auth_policy::AuthPolicy;
pub use production::{check_production_secret, refuse_published, MIN_SECRET_BYTES};
pub use webhooks::WebhookPolicy;

/// Which rules apply: development allows an embedded database and generated secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// A configuration value that could not be used; names the variable.
#[derive(Debug)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Everything Tandem reads from its environment.
#[derive(Clone)]
pub struct Settings {
    /// What `serve` connects as: in production, a role that owns nothing (see README).
    pub database_url: Option<String>,
    /// What migrations run as: the owner of the schema. `None`: `DATABASE_URL` in development;
    /// in production `serve` then migrates nothing and refuses to start with migrations pending.
    pub migration_database_url: Option<String>,
    /// Whether Swagger UI is served at `/docs` (`TANDEM_DOCS=off` turns it off).
    pub docs: bool,
    pub bind: SocketAddr,
    pub environment: Environment,
    pub data_dir: PathBuf,
    /// `None` in development until [`Settings::resolve_jwt_secret`] has generated or loaded one.
    pub jwt_secret: Option<Vec<u8>>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<String>,
    pub database_pool_size: usize,
    /// Worker threads for the HTTP server; `None` means one per core.
    pub workers: Option<usize>,
    /// Whether the audit rows of concurrent reads are written together
    /// (`TANDEM_AUDIT_BATCHING=on|off`, default on; see `audit::batch`).
    pub audit_batching: bool,
    pub auth: AuthPolicy,
    /// The key of the audit chain's links; `None` in development until
    /// [`Settings::resolve_audit_key`] has generated or loaded one.
    pub audit_key: Option<Vec<u8>>,
    /// How often each organization's audit chain head is logged.
    pub audit_head_log_interval: Duration,
    /// The webhook worker.
    pub webhooks: WebhookPolicy,
    /// The URL clients reach this server at (`TANDEM_PUBLIC_URL`, e.g.
    /// `https://tandem.example.org`, no trailing slash): the issuer of the OAuth metadata, and
    /// the `aud` a signed client assertion must name. Unset, both come from the address each
    /// request reached (its `Host`, or a proxy's `Forwarded` headers).
    pub public_url: Option<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("environment", &self.environment)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

pub const MIN_JWT_SECRET_BYTES: usize = 32;

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can supply their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let environment = match get("TANDEM_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(invalid(
                    "TANDEM_ENV",
                    format!("must be `development` or `production`, not `{other}`"),
                ))
            }
        };
        let bind = match get("TANDEM_BIND") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(raw) => raw.parse().map_err(|_| {
                invalid(
                    "TANDEM_BIND",
                    format!("`{raw}` is not a socket address such as 127.0.0.1:8080"),
                )
            })?,
        };
        let database_url = postgres_url(get("DATABASE_URL"), "DATABASE_URL")?;
        let migration_database_url = postgres_url(
            get("TANDEM_MIGRATION_DATABASE_URL"),
            "TANDEM_MIGRATION_DATABASE_URL",
        )?;
        let docs = on_off(get("TANDEM_DOCS"), "TANDEM_DOCS")?;
        if environment == Environment::Production && database_url.is_none() {
            return Err(invalid(
                "DATABASE_URL",
                "is required when TANDEM_ENV=production".into(),
            ));
        }
        let jwt_secret = match get("TANDEM_JWT_SECRET") {
            Some(secret) if secret.len() < MIN_JWT_SECRET_BYTES => {
                return Err(invalid(
                    "TANDEM_JWT_SECRET",
                    format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
                ))
            }
            Some(secret) => Some(secret.into_bytes()),
            None if environment == Environment::Production => {
                return Err(invalid(
                    "TANDEM_JWT_SECRET",
                    "is required when TANDEM_ENV=production".into(),
                ))
            }
            None => None,
        };
        let bootstrap_admin_email = get("TANDEM_BOOTSTRAP_ADMIN_EMAIL");
        let bootstrap_admin_password = get("TANDEM_BOOTSTRAP_ADMIN_PASSWORD");
        if let Some(password) = &bootstrap_admin_password {
            if let Err(message) = crate::auth::password::check_strength(password) {
                return Err(invalid("TANDEM_BOOTSTRAP_ADMIN_PASSWORD", message));
            }
        }
        if environment == Environment::Production {
            if let Some(secret) = &jwt_secret {
                check_production_secret("TANDEM_JWT_SECRET", secret)?;
            }
            if let Some(password) = &bootstrap_admin_password {
                refuse_published("TANDEM_BOOTSTRAP_ADMIN_PASSWORD", password.as_bytes())?;
            }
        }
        if bootstrap_admin_password.is_some() != bootstrap_admin_email.is_some() {
            let missing = if bootstrap_admin_email.is_none() {
                "TANDEM_BOOTSTRAP_ADMIN_EMAIL"
            } else {
                "TANDEM_BOOTSTRAP_ADMIN_PASSWORD"
            };
            return Err(invalid(
                missing,
                "must be set together with its partner bootstrap variable".into(),
            ));
        }
        let (audit_key, audit_head_log_interval) = audit_settings(&get, environment)?;
        if environment == Environment::Production && audit_key.is_some() && audit_key == jwt_secret
        {
            // One leaked secret must not both forge tokens and rewrite the audit chain.
            return Err(invalid(
                "TANDEM_AUDIT_KEY",
                "must differ from TANDEM_JWT_SECRET".into(),
            ));
        }
        Ok(Self {
            database_url,
            migration_database_url,
            docs,
            bind,
            environment,
            data_dir: PathBuf::from(get("TANDEM_DATA_DIR").unwrap_or_else(|| "./.data".into())),
            jwt_secret,
            jwt_issuer: get("TANDEM_JWT_ISSUER").unwrap_or_else(|| "tandem".into()),
            jwt_audience: get("TANDEM_JWT_AUDIENCE").unwrap_or_else(|| "tandem-api".into()),
            bootstrap_admin_email,
            bootstrap_admin_password,
            database_pool_size: parse_number(
                get("TANDEM_DB_POOL_SIZE"),
                "TANDEM_DB_POOL_SIZE",
                16,
            )?,
            workers: match get("TANDEM_WORKERS") {
                None => None,
                raw => Some(parse_number(raw, "TANDEM_WORKERS", 1)?),
            },
            audit_batching: on_off(get("TANDEM_AUDIT_BATCHING"), "TANDEM_AUDIT_BATCHING")?,
            auth: AuthPolicy::from_lookup(&get)?,
            audit_key,
            audit_head_log_interval,
            webhooks: WebhookPolicy::from_lookup(&get)?,
            public_url: public_url::from_env(get("TANDEM_PUBLIC_URL"))?,
        })
    }

    /// In development without `TANDEM_JWT_SECRET`, loads the secret kept in the data dir,
    /// generating it the first time so tokens survive a restart.
    pub fn resolve_jwt_secret(&mut self) -> Result<(), ConfigError> {
        if self.jwt_secret.is_some() {
            return Ok(());
        }
        let path = self.data_dir.join("jwt-secret");
        let secret = load_or_create_secret(&path).map_err(|error| {
            invalid(
                "TANDEM_DATA_DIR",
                format!("cannot keep the JWT secret at {}: {error}", path.display()),
            )
        })?;
        self.jwt_secret = Some(secret.into_bytes());
        Ok(())
    }
}

pub const MIN_AUDIT_KEY_BYTES: usize = 32;

/// `TANDEM_AUDIT_KEY` (the HMAC key of the audit chain's links: required in production, in
/// development generated and kept in the data dir) and `TANDEM_AUDIT_HEAD_LOG_SECONDS`.
fn audit_settings(
    get: &impl Fn(&str) -> Option<String>,
    environment: Environment,
) -> Result<(Option<Vec<u8>>, Duration), ConfigError> {
    let key = match get("TANDEM_AUDIT_KEY") {
        Some(key) if key.len() < MIN_AUDIT_KEY_BYTES => {
            return Err(invalid(
                "TANDEM_AUDIT_KEY",
                format!("must be at least {MIN_AUDIT_KEY_BYTES} bytes"),
            ))
        }
        Some(key) => {
            if environment == Environment::Production {
                check_production_secret("TANDEM_AUDIT_KEY", key.as_bytes())?;
            }
            Some(key.into_bytes())
        }
        None if environment == Environment::Production => {
            return Err(invalid(
                "TANDEM_AUDIT_KEY",
                "is required when TANDEM_ENV=production".into(),
            ))
        }
        None => None,
    };
    let seconds = parse_number(
        get("TANDEM_AUDIT_HEAD_LOG_SECONDS"),
        "TANDEM_AUDIT_HEAD_LOG_SECONDS",
        3600,
    )?;
    Ok((key, Duration::from_secs(seconds as u64)))
}

fn postgres_url(
    url: Option<String>,
    variable: &'static str,
) -> Result<Option<String>, ConfigError> {
    match url {
        Some(url) if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) => {
            Err(invalid(
                variable,
                "must be a postgres:// or postgresql:// URL".into(),
            ))
        }
        url => Ok(url),
    }
}

pub(crate) fn invalid(variable: &'static str, message: String) -> ConfigError {
    ConfigError { variable, message }
}

/// `on` (the default) or `off`.
pub(crate) fn on_off(raw: Option<String>, variable: &'static str) -> Result<bool, ConfigError> {
    match raw.as_deref() {
        None | Some("on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(invalid(
            variable,
            format!("must be `on` or `off`, not `{other}`"),
        )),
    }
}

fn parse_number(
    raw: Option<String>,
    variable: &'static str,
    default: usize,
) -> Result<usize, ConfigError> {
    match raw {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(value) if value > 0 => Ok(value),
            _ => Err(invalid(
                variable,
                format!("`{raw}` is not a positive whole number"),
            )),
        },
    }
}

impl Settings {
    /// In development without `TANDEM_AUDIT_KEY`, loads the key kept in the data dir,
    /// generating it the first time so the chain still verifies after a restart.
    pub fn resolve_audit_key(&mut self) -> Result<(), ConfigError> {
        if self.audit_key.is_some() {
            return Ok(());
        }
        let path = self.data_dir.join("audit-key");
        let key = load_or_create_secret(&path).map_err(|error| {
            invalid(
                "TANDEM_DATA_DIR",
                format!("cannot keep the audit key at {}: {error}", path.display()),
            )
        })?;
        self.audit_key = Some(key.into_bytes());
        Ok(())
    }
}

fn load_or_create_secret(path: &Path) -> std::io::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= MIN_JWT_SECRET_BYTES {
            return Ok(existing);
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let secret: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(64)
        .map(char::from)
        .collect();
    write_private_file(path, secret.as_bytes())?;
    Ok(secret)
}

/// Writes a file readable only by its owner.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Settings from exactly these variables.
    pub(super) fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_in_development() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.environment, Environment::Development);
        assert_eq!(s.data_dir, PathBuf::from("./.data"));
    }

    #[test]
    fn invalid_values_name_their_variable() {
        assert_eq!(
            settings(&[("TANDEM_BIND", "nope")]).unwrap_err().variable,
            "TANDEM_BIND"
        );
        assert_eq!(
            settings(&[("TANDEM_ENV", "staging")]).unwrap_err().variable,
            "TANDEM_ENV"
        );
        assert_eq!(
            settings(&[("TANDEM_JWT_SECRET", "short")])
                .unwrap_err()
                .variable,
            "TANDEM_JWT_SECRET"
        );
    }

    #[test]
    fn production_requires_database_and_secret() {
        let err = settings(&[("TANDEM_ENV", "production")]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        let err = settings(&[
            ("TANDEM_ENV", "production"),
            ("DATABASE_URL", "postgres://x@localhost/tandem"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "TANDEM_JWT_SECRET");
    }

    #[test]
    fn docs_are_on_unless_turned_off() {
        assert!(settings(&[]).unwrap().docs);
        assert!(settings(&[("TANDEM_DOCS", "on")]).unwrap().docs);
        assert!(!settings(&[("TANDEM_DOCS", "off")]).unwrap().docs);
        let err = settings(&[("TANDEM_DOCS", "no")]).unwrap_err();
        assert_eq!(err.variable, "TANDEM_DOCS");
    }

    #[test]
    fn the_migration_url_is_separate_and_checked() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://tandem_app:a@db/tandem"),
            (
                "TANDEM_MIGRATION_DATABASE_URL",
                "postgres://tandem:b@db/tandem",
            ),
        ])
        .unwrap();
        assert_eq!(
            s.database_url.as_deref(),
            Some("postgres://tandem_app:a@db/tandem")
        );
        assert_eq!(
            s.migration_database_url.as_deref(),
            Some("postgres://tandem:b@db/tandem")
        );
        let err = settings(&[("TANDEM_MIGRATION_DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(err.variable, "TANDEM_MIGRATION_DATABASE_URL");
    }

    #[test]
    fn sign_in_limits_and_session_lifetimes_have_defaults_and_bounds() {
        let auth = settings(&[]).unwrap().auth;
        assert_eq!(auth.address_limit, 30);
        assert_eq!(auth.address_window, Duration::from_secs(900));
        assert_eq!(auth.refresh_lifetime, Duration::from_secs(30 * 86_400));
        assert_eq!(auth.refresh_idle, Duration::from_secs(7 * 86_400));
        let err = settings(&[("TANDEM_REFRESH_IDLE_HOURS", "800")]).unwrap_err();
        assert_eq!(err.variable, "TANDEM_REFRESH_IDLE_HOURS");
        let err = settings(&[("TANDEM_REFRESH_LIFETIME_DAYS", "99999999")]).unwrap_err();
        assert_eq!(err.variable, "TANDEM_REFRESH_LIFETIME_DAYS");
        let err = settings(&[("TANDEM_SIGNIN_ADDRESS_LIMIT", "0")]).unwrap_err();
        assert_eq!(err.variable, "TANDEM_SIGNIN_ADDRESS_LIMIT");
    }

    #[test]
    fn the_audit_key_is_required_in_production_and_long_enough() {
        let err = settings(&[
            ("TANDEM_ENV", "production"),
            ("DATABASE_URL", "postgres://x@localhost/tandem"),
            (
                "TANDEM_JWT_SECRET",
                "a-jwt-secret-of-at-least-32-bytes-long",
            ),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "TANDEM_AUDIT_KEY");
        let err = settings(&[("TANDEM_AUDIT_KEY", "short")]).unwrap_err();
        assert_eq!(err.variable, "TANDEM_AUDIT_KEY");
        let err = settings(&[("TANDEM_AUDIT_HEAD_LOG_SECONDS", "0")]).unwrap_err();
        assert_eq!(err.variable, "TANDEM_AUDIT_HEAD_LOG_SECONDS");
        let s = settings(&[]).unwrap();
        assert!(s.audit_key.is_none());
        assert_eq!(s.audit_head_log_interval, Duration::from_secs(3600));
    }
}
