//! Response conventions shared by every endpoint: `ETag`, `If-Match`, `201` with `Location`.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::IntoParams;

use crate::http::error::AppError;

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

/// What a create made (or, on a replay, made earlier): where it lives and how it looks now.
pub struct Created<T> {
    pub id: Uuid,
    pub location: String,
    pub body: T,
}

impl<T: Serialize> Created<T> {
    /// `201 Created` with `Location`, the object and its `ETag`; a replay also says
    /// `Idempotent-Replayed: true`.
    pub fn respond(&self, replayed: bool) -> HttpResponse {
        let mut response = HttpResponse::Created();
        response
            .insert_header((header::LOCATION, self.location.as_str()))
            .insert_header((header::ETAG, etag_of(&self.body)));
        if replayed {
            response.insert_header(("Idempotent-Replayed", "true"));
        }
        response.json(&self.body)
    }
}

/// The `If-Match` header of a request, when present.
#[derive(Debug, Clone)]
pub struct IfMatch(pub Option<String>);

impl IfMatch {
    /// Whether the request named a version at all.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

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

impl IntoParams for IfMatch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![header_parameter(
            "If-Match",
            "The `ETag` this change is based on; 412 when it is no longer current",
        )]
    }
}

/// An optional string header, as operations document their `If-Match` and `Idempotency-Key`.
pub fn header_parameter(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}
