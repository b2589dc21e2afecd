//! Argon2id password hashing, run off the async workers with bounded concurrency, on threads
//! of their own that yield the CPU to everything else.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
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

/// Checks the length rules ([`crate::http::limits::PASSWORD`]); the message is shown to the user.
pub fn check_strength(password: &str) -> Result<(), String> {
    crate::http::limits::PASSWORD.check(password)
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

type Job = Box<dyn FnOnce() + Send>;

/// How much less the hashing threads weigh with the scheduler (a nice value).
const HASHING_NICENESS: i32 = 10;

/// Runs hashing on its own threads, one job per core at a time. The threads run at a lower
/// priority, so a sign-in storm uses the CPU the rest leaves idle but cannot delay the async
/// workers (`/healthz`, every other request) or PostgreSQL.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    jobs: Sender<Job>,
    /// Verified against when the email is unknown, so both failures take the same time.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new() -> Result<Self, HashingError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        return_large_blocks_to_the_system();
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for number in 0..cores {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-hashing-{number}"))
                .spawn(move || hashing_thread(&queue))
                .map_err(|error| HashingError::Failed(error.to_string()))?;
        }
        Ok(Self {
            permits: Arc::new(Semaphore::new(cores)),
            jobs,
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
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                done.send(job()).ok();
            }))
            .map_err(|_| HashingError::Failed("the hashing threads have stopped".into()))?;
        result
            .await
            .map_err(|_| HashingError::Failed("a hashing thread stopped".into()))?
    }
}

/// Takes jobs until every [`PasswordHasher`] is gone.
fn hashing_thread(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Lowers the calling thread's scheduling priority (Linux: the nice value is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority and gettid only read their arguments; the thread id is our own.
    unsafe {
        let thread = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, HASHING_NICENESS);
    }
}

/// Each hash allocates a 19 MiB block. glibc would serve repeated blocks of that size from a
/// heap it keeps, so every thread that ever hashed would hold one; with a fixed threshold the
/// blocks are mapped for each hash and unmapped after, and the server's memory returns to what
/// its requests need.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies_on_threads_that_yield_to_the_rest() {
        let hasher = PasswordHasher::new().unwrap();
        let hash = hasher.hash("correct horse battery".into()).await.unwrap();
        assert!(hasher
            .verify("correct horse battery".into(), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!hasher.verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!hasher.verify("anything".into(), None).await.unwrap());

        #[cfg(target_os = "linux")]
        {
            // SAFETY: getpriority and gettid only read their arguments.
            let niceness = hasher
                .run(|| {
                    Ok(unsafe {
                        libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t)
                    })
                })
                .await
                .unwrap();
            // SAFETY: as above, for this (test) thread.
            let ours =
                unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
            assert_eq!(niceness, (ours + HASHING_NICENESS).min(19));
        }
    }
}
