//! Response conventions shared by every endpoint: `ETag`, `If-Match`, `201` with `Location`.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// The strong entity tag of a representation: a digest of its JSON.
pub fn etag_of<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// `200 OK` with the object and its `ETag`.
pub fn ok<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag_of(value)))
        .json(value)
}

/// `201 Created` with `Location`, the object and its `ETag`.
pub fn created<T: Serialize>(location: &str, value: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header((header::ETAG, etag_of(value)))
        .json(value)
}

/// Rebuilds a stored response, as an idempotent replay does.
pub fn replay(status: u16, location: Option<&str>, body: &serde_json::Value) -> HttpResponse {
    let mut response =
        HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED));
    if let Some(location) = location {
        response.insert_header((header::LOCATION, location));
    }
    response
        .insert_header((header::ETAG, etag_of(body)))
        .insert_header(("Idempotent-Replayed", "true"))
        .json(body)
}

/// The `If-Match` header of a request, when present.
#[derive(Debug, Clone)]
pub struct IfMatch(pub Option<String>);

impl IfMatch {
    /// 412 unless the header is absent, `*`, or lists the current tag (weak comparison).
    pub fn check<T: Serialize>(&self, current: &T) -> Result<(), AppError> {
        let Some(header) = &self.0 else {
            return Ok(());
        };
        let current = etag_of(current);
        let matches = header
            .split(',')
            .map(str::trim)
            .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == current);
        if matches {
            Ok(())
        } else {
            Err(AppError::PreconditionFailed)
        }
    }
}

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = req.headers().get(header::IF_MATCH).map(|value| {
            value
                .to_str()
                .map(ToOwned::to_owned)
                .map_err(|_| AppError::BadRequest("The If-Match header is not readable.".into()))
        });
        std::future::ready(match value {
            None => Ok(Self(None)),
            Some(Ok(value)) => Ok(Self(Some(value))),
            Some(Err(error)) => Err(error),
        })
    }
}
