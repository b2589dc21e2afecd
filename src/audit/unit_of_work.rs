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

use crate::audit::{self, Action, Actor, Outcome, Target};
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

/// Runs `work`, which must change nothing, and audits it as `target`.
pub async fn read<T>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: Target,
    work: impl AsyncFnOnce(&mut AsyncPgConnection, &mut Target) -> AppResult<T>,
) -> AppResult<T> {
    let mut target = target;
    let result = if cfg!(debug_assertions) {
        transaction(conn, "BEGIN READ ONLY", async |conn| {
            work(conn, &mut target).await
        })
        .await
    } else {
        work(conn, &mut target).await
    };
    if result.is_ok() {
        audit::record(conn, actor, &target, Outcome::Success).await?;
    }
    refused(conn, actor, &target, result).await
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
async fn transaction<T>(
    conn: &mut AsyncPgConnection,
    begin: &str,
    work: impl AsyncFnOnce(&mut AsyncPgConnection) -> AppResult<T>,
) -> AppResult<T> {
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

/// A creating unit of work that honours `Idempotency-Key`.
///
/// `make` creates the object and returns its id; `show` reads it back through the caller's
/// scope. A request repeating an earlier one (same caller, key, route and body) skips `make`
/// and is audited as a `replay` of the stored id: `show` then answers 404 if the caller can
/// no longer see it. The key is stored in the same transaction as the object.
pub async fn create<T: Serialize>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: Target,
    key: &IdempotencyKey,
    body: &impl Serialize,
    make: impl AsyncFnOnce(&mut AsyncPgConnection, &mut Target) -> AppResult<Uuid>,
    show: impl AsyncFnOnce(&mut AsyncPgConnection, Uuid, &mut Target) -> AppResult<Created<T>>,
) -> AppResult<HttpResponse> {
    let caller_id = actor
        .id
        .or(actor.client_id)
        .ok_or_else(|| AppError::Internal("an anonymous caller cannot create".into()))?;
    let fingerprint = key.fingerprint(body)?;
    let (created, replayed) = write(conn, actor, target, async |conn, target| {
        let earlier = key.earlier(conn, caller_id, &fingerprint).await?;
        let id = match earlier {
            Some(id) => {
                target.action = Action::Replay;
                id
            }
            None => make(conn, target).await?,
        };
        target.set_id(id);
        let created = show(conn, id, target).await?;
        if earlier.is_none() {
            key.remember(conn, caller_id, fingerprint, id, &created.location)
                .await?;
        }
        Ok((created, earlier.is_some()))
    })
    .await?;
    Ok(created.respond(replayed))
}
