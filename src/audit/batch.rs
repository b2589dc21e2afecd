//! The success rows of concurrent reads, written together.
//!
//! Each HTTP worker has one writer. A read hands it its row and waits; the writer writes every
//! row waiting in one multi-row `INSERT` (one commit, one WAL flush, instead of one a read) and
//! tells each read when its own row is committed, so nothing is shown that is not audited.
//! The writer never waits for company: the rows that arrive while one batch is written form
//! the next, so at low load a batch is one row and costs what a single insert costs. Two
//! batches may be in flight at once, each on its own connection, so a row that arrives while
//! one is being committed goes at once rather than after it. A batch
//! that fails fails every read in it (503); a row whose token no longer speaks for its user is
//! not written, and that read alone is a 401.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;

use crate::db::models::audit_events::{self, NewAuditEvent};
use crate::db::models::users::Session;
use crate::db::Pool;
use crate::http::error::AppError;

/// Rows written by one statement, at most.
pub const MAX_BATCH: usize = 256;

/// Batches in flight at once, each on its own connection: the size of the writer's pool.
pub const IN_FLIGHT: usize = 2;

/// A worker's writer of read rows, on a connection of its own.
pub struct AuditWriter {
    pool: Pool,
    /// Started on first use, on the worker's own thread (so handing it a row wakes no other).
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
}

struct Pending {
    event: NewAuditEvent,
    session: Option<Session>,
    /// Whether the row was written (false: the token no longer speaks for its user).
    answer: oneshot::Sender<Result<bool, String>>,
}

impl AuditWriter {
    /// A writer using `pool` (its own, of [`IN_FLIGHT`] connections: a read waiting for its
    /// row holds no connection the writer could need).
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
            queue: OnceLock::new(),
        }
    }

    /// Writes `event` (only while `session` is live, when given), returning once it is
    /// committed.
    pub async fn write(
        &self,
        event: NewAuditEvent,
        session: Option<Session>,
    ) -> Result<(), AppError> {
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            event,
            session,
            answer,
        };
        self.queue()
            .send(pending)
            .map_err(|_| AppError::Unavailable("the audit writer has stopped".into()))?;
        match answered.await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(AppError::stale_token()),
            Ok(Err(error)) => Err(AppError::Unavailable(format!(
                "audit write failed: {error}"
            ))),
            Err(_) => Err(AppError::Unavailable("the audit writer has stopped".into())),
        }
    }

    fn queue(&self) -> &mpsc::UnboundedSender<Pending> {
        self.queue.get_or_init(|| {
            let (queue, rows) = mpsc::unbounded_channel();
            let rows = Arc::new(Mutex::new(rows));
            for _ in 0..IN_FLIGHT {
                actix_web::rt::spawn(run(self.pool.clone(), Arc::clone(&rows)));
            }
            queue
        })
    }
}

/// Writes batches until every sender is gone. Of the writers sharing `rows`, the one not
/// writing waits for the next rows.
async fn run(pool: Pool, rows: Arc<Mutex<mpsc::UnboundedReceiver<Pending>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rows.lock().await.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (written, answers): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .map(|p| ((p.event, p.session), p.answer))
            .unzip();
        let result = write(&pool, &written).await;
        for ((event, _), answer) in written.iter().zip(answers) {
            let outcome = match &result {
                Ok(ids) => Ok(ids.contains(&event.id)),
                Err(error) => Err(error.clone()),
            };
            // A read that went away meanwhile needs no answer.
            let _ = answer.send(outcome);
        }
    }
}

/// The ids of the rows written.
async fn write(
    pool: &Pool,
    rows: &[(NewAuditEvent, Option<Session>)],
) -> Result<HashSet<Uuid>, String> {
    let mut conn = pool.get().await.map_err(|error| error.to_string())?;
    let ids = audit_events::insert_many(&mut conn, rows)
        .await
        .map_err(|error| error.to_string())?;
    Ok(ids.into_iter().collect())
}
