//! `Idempotency-Key` for creating requests: the same key from the same caller with the same
//! body replays the first response; with a different body it is a 422. The key is stored in
//! the same transaction as the object it created, so a replay never sees a half-made object.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::models::idempotency_keys::{self, IdempotencyRecord};
use crate::error::{AppError, AppResult};
use crate::http;

pub const HEADER: &str = "Idempotency-Key";
const MAX_KEY_LENGTH: usize = 255;

/// The `Idempotency-Key` header, when the client sent one.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.headers().get(HEADER) {
            None => Ok(Self(None)),
            Some(value) => match value.to_str() {
                Ok(key) if (1..=MAX_KEY_LENGTH).contains(&key.len()) => {
                    Ok(Self(Some(key.to_owned())))
                }
                _ => Err(AppError::BadRequest(format!(
                    "The {HEADER} header must be 1 to {MAX_KEY_LENGTH} visible ASCII characters."
                ))),
            },
        };
        std::future::ready(result)
    }
}

/// What a create handler made: where it lives and its representation.
pub struct Created {
    pub location: String,
    pub body: serde_json::Value,
}

impl Created {
    pub fn new<T: Serialize>(location: String, body: &T) -> AppResult<Self> {
        let body = serde_json::to_value(body)
            .map_err(|error| AppError::Internal(format!("serialising a response: {error}")))?;
        Ok(Self { location, body })
    }
}

/// What a creating request produced: a new object, or the replay of an earlier response.
/// Built inside the transaction, turned into an HTTP response after it commits.
pub enum CreateOutcome {
    Created(Created),
    Replayed(IdempotencyRecord),
}

impl CreateOutcome {
    pub fn into_response(self) -> HttpResponse {
        match self {
            Self::Created(created) => http::created(&created.location, &created.body),
            Self::Replayed(record) => http::replay(
                record.response_status as u16,
                record.location.as_deref(),
                &record.response_body,
            ),
        }
    }
}

/// Looks up the key inside the caller's transaction. `Some` is the earlier outcome to replay
/// instead of creating anything. Call [`remember`] after creating, in the same transaction.
pub async fn replay_if_seen<B: Serialize>(
    conn: &mut AsyncPgConnection,
    caller_id: Uuid,
    key: &IdempotencyKey,
    request: &B,
) -> AppResult<Option<CreateOutcome>> {
    let Some(key) = &key.0 else {
        return Ok(None);
    };
    idempotency_keys::lock_key(conn, caller_id, key).await?;
    let Some(record) = idempotency_keys::find(conn, caller_id, key).await? else {
        return Ok(None);
    };
    if record.request_hash != request_hash(request) {
        return Err(AppError::invalid(
            HEADER,
            "was already used with a different request body",
        ));
    }
    Ok(Some(CreateOutcome::Replayed(record)))
}

/// Stores the response under the key, when one was sent.
pub async fn remember<B: Serialize>(
    conn: &mut AsyncPgConnection,
    caller_id: Uuid,
    key: &IdempotencyKey,
    request: &B,
    created: &Created,
) -> AppResult<()> {
    let Some(key) = &key.0 else {
        return Ok(());
    };
    let record = IdempotencyRecord {
        caller_id,
        key: key.clone(),
        request_hash: request_hash(request),
        response_status: 201,
        response_body: created.body.clone(),
        location: Some(created.location.clone()),
        created_at: Utc::now(),
    };
    idempotency_keys::insert(conn, &record).await?;
    Ok(())
}

fn request_hash<B: Serialize>(request: &B) -> String {
    let bytes = serde_json::to_vec(request).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}
