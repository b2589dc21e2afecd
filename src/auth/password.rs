//! Argon2id password hashing, run off the async workers with bounded concurrency.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// How long a request waits for a hashing slot before it is told to retry.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("too many password operations in progress")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Argon2id at OWASP's recommended minimum: 19 MiB, 2 iterations, 1 lane.
fn argon2() -> Result<Argon2<'static>, HashingError> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|error| HashingError::Failed(error.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks the length rules ([`crate::limits::PASSWORD`]); the message is shown to the user.
pub fn check_strength(password: &str) -> Result<(), String> {
    crate::limits::PASSWORD.check(password)
}

pub fn hash_blocking(password: &str) -> Result<String, HashingError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| HashingError::Failed(error.to_string()))
}

fn verify_blocking(password: &str, hash: &str) -> Result<bool, HashingError> {
    let parsed =
        PasswordHash::new(hash).map_err(|error| HashingError::Failed(error.to_string()))?;
    Ok(argon2()?
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// Runs hashing on the blocking pool, at most one job per core at a time, so a login storm
/// cannot starve the async workers that answer `/healthz`.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the email is unknown, so both failures take the same time.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new() -> Result<Self, HashingError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            permits: Arc::new(Semaphore::new(cores)),
            dummy_hash: Arc::new(hash_blocking("tandem-timing-equaliser")?),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, HashingError> {
        self.run(move || hash_blocking(&password)).await
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there is no account.
    pub async fn verify(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, HashingError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let matches = self.run(move || verify_blocking(&password, &hash)).await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, HashingError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let _permit = tokio::time::timeout(QUEUE_WAIT, self.permits.acquire())
            .await
            .map_err(|_| HashingError::Busy)?
            .map_err(|_| HashingError::Busy)?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|error| HashingError::Failed(error.to_string()))?
    }
}
