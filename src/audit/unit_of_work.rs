//! One audited unit of work per request, on the request's one connection.
//!
//! - [`write`]: the work runs in one transaction and the success audit row is written inside
//!   it, so the row and the change commit together; if the row cannot be written the request
//!   is a 503 and nothing changes.
//! - [`read`]: work that changes nothing runs without `BEGIN`/`COMMIT` (a read-committed
//!   transaction would add two round trips and no consistency), and its success row is
//!   written after it; if the row cannot be written the request is a 503 and nothing is shown.
//!   Debug builds, and so the test suite, run it in a `READ ONLY` transaction, so a write
//!   slipped into a read fails loudly.
//! - [`create`]: a write that honours `Idempotency-Key`.
//!
//! When the work is refused (any 4xx: out of scope, forbidden, conflict, invalid), its changes
//! are rolled back and a `denied` row is written instead. Server failures are not the caller's
//! doing and leave nothing to record.

use actix_web::{HttpResponse, ResponseError};
use diesel::result::Error as DieselError;
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Action, Actor, AuditWriter, Outcome, Target};
use crate::db::PooledConnection;
use crate::http::error::{AppError, AppResult};
use crate::http::idempotency::IdempotencyKey;
use crate::http::Created;

/// Runs `work` in a transaction and audits it as `target` (which the work may refine, e.g.
/// with the id of what it created or the participant it found).
pub async fn write<T>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: Target,
    work: impl AsyncFnOnce(&mut AsyncPgConnection, &mut Target) -> AppResult<T>,
) -> AppResult<T> {
    let mut target = target;
    let result = transaction(conn, "BEGIN", async |conn| {
        let value = work(conn, &mut target).await?;
        audit::record(conn, actor, &target, Outcome::Success).await?;
        Ok(value)
    })
    .await;
    refused(conn, actor, &target, result).await
}

/// Runs `work`, which must change nothing, and audits it as `target`: through `writer`,
/// with the rows of concurrent reads, after the connection is given back (see
/// [`audit::batch`]); without one, on the connection.
pub async fn read<T>(
    mut conn: PooledConnection,
    writer: Option<&AuditWriter>,
    actor: &Actor,
    target: Target,
    work: impl AsyncFnOnce(&mut AsyncPgConnection, &mut Target) -> AppResult<T>,
) -> AppResult<T> {
    let mut target = target;
    let result = if cfg!(debug_assertions) {
        transaction(&mut conn, "BEGIN READ ONLY", async |conn| {
            work(conn, &mut target).await
        })
        .await
    } else {
        work(&mut conn, &mut target).await
    };
    match (result, writer) {
        (Ok(value), Some(writer)) => {
            drop(conn);
            audit::record_read(writer, actor, &target).await?;
            Ok(value)
        }
        (Ok(value), None) => {
            audit::record(&mut conn, actor, &target, Outcome::Success).await?;
            Ok(value)
        }
        (refusal, _) => refused(&mut conn, actor, &target, refusal).await,
    }
}

/// After work the caller was refused (a 4xx), records the refusal.
async fn refused<T>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: &Target,
    result: AppResult<T>,
) -> AppResult<T> {
    match result {
        Err(error) if error.status_code().is_client_error() => {
            audit::record(conn, actor, target, Outcome::Denied).await?;
            Err(error)
        }
        other => other,
    }
}

/// `begin`, the work, then `COMMIT` (or `ROLLBACK` when the work fails).
async fn transaction<T, E: From<DieselError>>(
    conn: &mut AsyncPgConnection,
    begin: &str,
    work: impl AsyncFnOnce(&mut AsyncPgConnection) -> Result<T, E>,
) -> Result<T, E> {
    AnsiTransactionManager::begin_transaction_sql(conn, begin).await?;
    match work(conn).await {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn).await?;
            Ok(value)
        }
        Err(error) => match AnsiTransactionManager::rollback_transaction(conn).await {
            Ok(()) | Err(DieselError::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// Why a first attempt at a create made nothing.
enum NotMade {
    /// The work was refused or failed.
    Failed(AppError),
    /// Another request already holds the `Idempotency-Key`.
    KeyTaken,
}

impl From<DieselError> for NotMade {
    fn from(error: DieselError) -> Self {
        Self::Failed(error.into())
    }
}

impl From<AppError> for NotMade {
    fn from(error: AppError) -> Self {
        Self::Failed(error)
    }
}

/// A creating unit of work that honours `Idempotency-Key`.
///
/// `make` creates the object and answers with it (from what its insert returned); `show`
/// reads an object made earlier back through the caller's scope. The success row is written
/// with the key in one statement, so a create is `BEGIN`, `make`'s statements, that one, and
/// `COMMIT`.
///
/// The key is claimed by that statement: a unique index on (caller, key) lets one request
/// win, and a concurrent one waits for it to commit. A request repeating an earlier one
/// (same caller, key, route and body) finds the key taken, or is refused by its own work
/// because of what the first one made (a second pairing, say): either way its work is rolled
/// back, and it is answered in a unit of its own as a `replay` of the stored id, audited like
/// a read: `show` then answers 404 if the caller can no longer see it. The same key for
/// another request is a 422.
pub async fn create<T: Serialize>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: Target,
    key: &IdempotencyKey,
    body: &impl Serialize,
    make: impl AsyncFnOnce(&mut AsyncPgConnection, &mut Target) -> AppResult<Created<T>>,
    show: impl AsyncFnOnce(&mut AsyncPgConnection, Uuid, &mut Target) -> AppResult<Created<T>>,
) -> AppResult<HttpResponse> {
    let caller_id = actor
        .id
        .or(actor.client_id)
        .ok_or_else(|| AppError::Internal("an anonymous caller cannot create".into()))?;
    let fingerprint = key.fingerprint(body)?;
    let mut target = target;
    let attempt = transaction(conn, "BEGIN", async |conn| {
        let created = make(conn, &mut target).await?;
        target.set_id(created.id);
        let claim = key.claim(caller_id, &fingerprint, created.id, &created.location);
        match audit::record_created(conn, actor, &target, claim.as_ref()).await? {
            true => Ok(created),
            false => Err(NotMade::KeyTaken),
        }
    })
    .await;
    let refusal = match attempt {
        Ok(created) => return Ok(created.respond(false)),
        Err(NotMade::KeyTaken) => None,
        Err(NotMade::Failed(error)) if key.is_set() && error.status_code().is_client_error() => {
            Some(error)
        }
        Err(NotMade::Failed(error)) => return refused(conn, actor, &target, Err(error)).await,
    };
    let created = write(conn, actor, target, async |conn, target| {
        match key.earlier(conn, caller_id, &fingerprint).await? {
            Some(id) => {
                target.action = Action::Replay;
                target.set_id(id);
                show(conn, id, target).await
            }
            None => Err(refusal.unwrap_or_else(|| {
                AppError::Unavailable("the idempotency key was released; try again".into())
            })),
        }
    })
    .await?;
    Ok(created.respond(true))
}
