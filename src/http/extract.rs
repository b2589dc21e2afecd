//! Request extractors that answer every client mistake with a problem document.
//!
//! [`Json`] replaces actix's own: it checks the media type (415), the size (413), the syntax
//! (400), NUL characters (422) and the shape of the body (422 naming every missing, unknown or
//! wrong-typed field), and never echoes parser messages back to the client. What is wrong with
//! a field comes from `extract_fields` as data, never from a message's wording.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::http::error::{AppError, FieldError};
use crate::http::validation;
use fields::{describe, field_path, form_fields, JsonValue, Kind, Problem, Shapes, Step};

mod fields;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + ToSchema + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let media_type_ok = is_json(req);
        let body = read_body(req, payload);
        Box::pin(async move {
            if !media_type_ok {
                return Err(AppError::UnsupportedMediaType);
            }
            parse_json(&body.await?).map(Json)
        })
    }
}

/// A JSON body that may be left out: `None` when the request has no body, else as [`Json`].
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + ToSchema + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let media_type_ok = is_json(req);
        let body = read_body(req, payload);
        Box::pin(async move {
            let body = body.await?;
            if body.is_empty() {
                return Ok(Self(None));
            }
            if !media_type_ok {
                return Err(AppError::UnsupportedMediaType);
            }
            // The document allows `null` for a body that may be left out, and it means the same.
            if matches!(serde_json::from_slice(&body), Ok(Value::Null)) {
                return Ok(Self(None));
            }
            parse_json(&body).map(|value| Self(Some(value)))
        })
    }
}

/// A body sent either as JSON or as `application/x-www-form-urlencoded` (as OAuth clients do).
#[derive(Debug)]
pub struct FormOrJson<T>(pub T);

impl<T: DeserializeOwned + ToSchema + 'static> FromRequest for FormOrJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let form = media_type(req) == "application/x-www-form-urlencoded";
        let body = read_body(req, payload);
        Box::pin(async move {
            let body = body.await?;
            if json {
                return parse_json(&body).map(FormOrJson);
            }
            if !form {
                return Err(AppError::UnsupportedMediaType);
            }
            if body.contains(&0)
                || String::from_utf8_lossy(&body)
                    .to_ascii_lowercase()
                    .contains("%00")
            {
                return Err(AppError::invalid("body", "must not contain NUL characters"));
            }
            serde_path_to_error::deserialize(form_fields(&body))
                .map(FormOrJson)
                .map_err(|error| {
                    AppError::Validation(vec![describe_error(&error, &Shapes::of::<T>())])
                })
        })
    }
}

/// Reads the body up to [`BODY_LIMIT`] (413 beyond).
pub(crate) fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Vec<u8>, AppError>> + 'static {
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let mut payload = payload.take();
    async move {
        if declared_length.is_some_and(|length| length > BODY_LIMIT) {
            return Err(AppError::PayloadTooLarge);
        }
        let mut body = Vec::with_capacity(declared_length.unwrap_or(1024).min(BODY_LIMIT));
        while let Some(chunk) = payload.next().await {
            let chunk = chunk
                .map_err(|_| AppError::BadRequest("The request body could not be read.".into()))?;
            if body.len() + chunk.len() > BODY_LIMIT {
                return Err(AppError::PayloadTooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

pub(crate) fn is_json(req: &HttpRequest) -> bool {
    let essence = media_type(req);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON document into `T`, with client-facing errors: a 422 names every field that
/// is missing, of the wrong type or unknown, not just the first one serde meets.
pub fn parse_json<T: DeserializeOwned + ToSchema>(bytes: &[u8]) -> Result<T, AppError> {
    let mut value: Value = serde_json::from_slice(bytes)
        .map_err(|_| AppError::BadRequest("The request body is not valid JSON.".into()))?;
    if let Some(field) = find_nul(&value, String::new()) {
        return Err(AppError::invalid(field, "must not contain NUL characters"));
    }
    whole_numbers_as_integers(&mut value);
    match serde_path_to_error::deserialize(JsonValue(&value)) {
        Ok(body) => Ok(body),
        Err(first) => Err(AppError::Validation(every_problem::<T>(value, first))),
    }
}

/// At most this many attempts to find further problems in one body.
const MAX_FIELD_ERRORS: usize = 32;

/// Every problem of a body that did not deserialize into `T`. serde stops at the first bad
/// field, so each offending top-level field is dropped in turn and the rest tried again;
/// serde also names only the first missing field, so the missing ones come from `T`'s
/// required fields ([`validation::required_fields`]).
fn every_problem<T: DeserializeOwned + ToSchema>(
    mut value: Value,
    first: serde_path_to_error::Error<Problem>,
) -> Vec<FieldError> {
    let shapes = Shapes::of::<T>();
    let Some(required) = validation::required_fields::<T>() else {
        return vec![describe_error(&first, &shapes)];
    };
    let Some(sent) = value
        .as_object()
        .map(|object| object.keys().cloned().collect::<Vec<_>>())
    else {
        return vec![FieldError::new("body", "must be a JSON object")];
    };
    let mut errors = Vec::new();
    let mut next = Some(first);
    while let Some(error) = next.take() {
        let steps = field_path(error.path(), error.inner());
        let field = describe(&steps, error.inner(), &shapes);
        if matches!(error.inner().kind, Kind::Missing(_)) && steps.len() == 1 {
            // Every field that was sent deserialized; only required ones are missing.
            if !sent.contains(&field.field) {
                errors.push(field);
            }
            break;
        }
        errors.push(field);
        let Some(Step::Key(key)) = steps.first() else {
            break;
        };
        let removed = value.as_object_mut().and_then(|object| object.remove(key));
        if removed.is_none() || errors.len() >= MAX_FIELD_ERRORS {
            break;
        }
        next = serde_path_to_error::deserialize::<_, T>(JsonValue(&value)).err();
    }
    for name in required.iter().filter(|name| !sent.contains(name)) {
        if !errors.iter().any(|error| &error.field == name) {
            errors.push(FieldError::new(name, "is required"));
        }
    }
    errors
}

fn describe_error(error: &serde_path_to_error::Error<Problem>, shapes: &Shapes) -> FieldError {
    describe(
        &field_path(error.path(), error.inner()),
        error.inner(),
        shapes,
    )
}

/// JSON has one kind of number, so `5.0` is the integer 5 (JSON Schema says so too); serde
/// would refuse it for an integer field. Every number with no fraction that fits an `i64` is
/// made an integer before deserializing. No request field is a floating-point number.
fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64()) {
                // Exactly representable bounds: -2^63 fits, 2^63 does not.
                let fits = float.fract() == 0.0
                    && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&float);
                if fits {
                    *number = (float as i64).into();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// Finds the first string (or key) holding a NUL character and returns its path.
fn find_nul(value: &Value, path: String) -> Option<String> {
    match value {
        Value::String(text) if text.contains('\0') => Some(display_path(&path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| find_nul(item, format!("{path}[{index}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let child = join(&path, key);
            if key.contains('\0') {
                Some(display_path(&path))
            } else {
                find_nul(item, child)
            }
        }),
        _ => None,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() || path == "." {
        "body".into()
    } else {
        path.to_owned()
    }
}

/// A query string of type `T`; a bad query is a 400 naming the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + IntoParams> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

pub fn parse_query<T: DeserializeOwned + IntoParams>(query: &str) -> Result<T, AppError> {
    if query.to_ascii_lowercase().contains("%00") {
        return Err(AppError::BadRequest(
            "Query parameters must not contain NUL characters.".into(),
        ));
    }
    serde_path_to_error::deserialize(form_fields(query.as_bytes())).map_err(|error| {
        let field = describe_error(&error, &Shapes::of_params::<T>());
        AppError::BadRequest(format!(
            "Query parameter `{}` {}.",
            field.field, field.message
        ))
    })
}
