//! `Idempotency-Key` for creating requests.
//!
//! The same key from the same caller for the same request (method, route, path parameters and
//! body) answers again with the object the first request created; the same key for any other
//! request is a 422. What is kept is the created object's id and location, never a response
//! body: a replay re-reads the object through the caller's scope, so it is audited like a read
//! and is a 404 once the caller can no longer see the object.
//!
//! The request is remembered as an HMAC keyed with a server secret, so a body holding a
//! password leaves no crackable copy of it in the database.

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::crypto::hmac_sha256;
use crate::db::models::idempotency_keys::{self, IdempotencyRecord};
use crate::http::error::{AppError, AppResult};

pub const HEADER: &str = "Idempotency-Key";
const MAX_KEY_LENGTH: usize = 255;

/// The server secret request fingerprints are keyed with.
#[derive(Clone)]
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    /// Derives the key from the server's signing secret, so there is no extra secret to keep.
    pub fn derive(secret: &[u8]) -> Self {
        Self(hmac_sha256(secret, &[b"tandem idempotency fingerprints"]))
    }
}

/// The `Idempotency-Key` header of a creating request, with what identifies the request.
#[derive(Clone)]
pub struct IdempotencyKey {
    key: Option<String>,
    /// Method, route pattern and path parameters.
    request: String,
    secret: FingerprintKey,
}

impl IdempotencyKey {
    /// The keyed fingerprint of this request with `body`.
    pub fn fingerprint(&self, body: &impl Serialize) -> AppResult<String> {
        let mut message = self.request.clone().into_bytes();
        message.push(b'\n');
        serde_json::to_writer(&mut message, body)
            .map_err(|error| AppError::Internal(format!("fingerprinting a request: {error}")))?;
        Ok(hex::encode(hmac_sha256(&self.secret.0, &[&message])))
    }

    /// The object made earlier under this key by `caller_id`, when this request repeats it.
    /// 422 when the key was used for a different request.
    pub async fn earlier(
        &self,
        conn: &mut AsyncPgConnection,
        caller_id: Uuid,
        fingerprint: &str,
    ) -> AppResult<Option<Uuid>> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        match idempotency_keys::find(conn, caller_id, key).await? {
            None => Ok(None),
            Some(record) if record.fingerprint == fingerprint => Ok(Some(record.resource_id)),
            Some(_) => Err(AppError::invalid(
                HEADER,
                "was already used for a different request",
            )),
        }
    }

    /// Whether the request carried a key.
    pub fn is_set(&self) -> bool {
        self.key.is_some()
    }

    /// What to remember of a request that created `resource_id` at `location`, when it
    /// carried a key: written with the create's audit row, which a unique index on
    /// (caller, key) makes the one claim that wins (see [`crate::audit::record_created`]).
    pub fn claim(
        &self,
        caller_id: Uuid,
        fingerprint: &str,
        resource_id: Uuid,
        location: &str,
    ) -> Option<IdempotencyRecord> {
        self.key.as_ref().map(|key| IdempotencyRecord {
            caller_id,
            key: key.clone(),
            fingerprint: fingerprint.to_owned(),
            resource_id,
            location: location.to_owned(),
            created_at: Utc::now(),
        })
    }
}

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(extract(req))
    }
}

/// 1 to `MAX_KEY_LENGTH` visible ASCII characters (`!` to `~`): what the document states as
/// [`KEY_PATTERN`].
fn is_key(key: &str) -> bool {
    (1..=MAX_KEY_LENGTH).contains(&key.len()) && key.bytes().all(|b| (b'!'..=b'~').contains(&b))
}

/// [`is_key`] as a regular expression, for the document.
const KEY_PATTERN: &str = "^[!-~]+$";

fn extract(req: &HttpRequest) -> Result<IdempotencyKey, AppError> {
    let key = match req.headers().get(HEADER) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(key) if is_key(key) => Some(key.to_owned()),
            _ => {
                return Err(AppError::BadRequest(format!(
                    "The {HEADER} header must be 1 to {MAX_KEY_LENGTH} visible ASCII characters."
                )))
            }
        },
    };
    let secret = req
        .app_data::<web::Data<FingerprintKey>>()
        .map(|key| key.get_ref().clone())
        .ok_or_else(|| AppError::Internal("fingerprint key missing".into()))?;
    Ok(IdempotencyKey {
        key,
        request: describe_request(req.method(), req),
        secret,
    })
}

/// `POST /api/v1/participants/{id}/portal-account id=…`: the route and its parameters, with
/// ids in one spelling.
fn describe_request(method: &Method, req: &HttpRequest) -> String {
    let mut request = format!(
        "{method} {}",
        req.match_pattern().unwrap_or_else(|| req.path().to_owned())
    );
    for (name, value) in req.match_info().iter() {
        request.push_str(&format!(" {name}={}", value.to_ascii_lowercase()));
    }
    request
}

impl utoipa::IntoParams for IdempotencyKey {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        let mut parameter = crate::http::header_parameter(
            HEADER,
            &format!(
                "Repeating the request with the same key answers with what the first one \
                 created; the same key for another request is 422. 1 to {MAX_KEY_LENGTH} \
                 visible ASCII characters."
            ),
        );
        parameter.schema = Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_KEY_LENGTH))
                .pattern(Some(KEY_PATTERN))
                .into(),
        );
        vec![parameter]
    }
}
