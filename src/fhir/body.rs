//! A FHIR resource in a request body: JSON (`application/fhir+json` or `application/json`,
//! else 415), at most the server's body limit (413), of the resource type the interaction
//! takes and made only of elements R4 defines (422 naming the element otherwise; 400 when it
//! is not JSON at all).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::http::error::AppError;
use crate::http::extract::{is_json, read_body};

/// A resource type the interface reads from a body.
pub trait Resource: DeserializeOwned {
    const TYPE: &'static str;
}

impl Resource for super::task::Task {
    const TYPE: &'static str = "Task";
}

impl Resource for super::patient::Patient {
    const TYPE: &'static str = "Patient";
}

impl Resource for super::service_request::ServiceRequest {
    const TYPE: &'static str = "ServiceRequest";
}

/// A request body holding one `T`.
#[derive(Debug)]
pub struct FhirBody<T>(pub T);

impl<T: Resource + 'static> FromRequest for FhirBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let media_type_ok = is_json(req);
        let body = read_body(req, payload);
        Box::pin(async move {
            if !media_type_ok {
                return Err(AppError::UnsupportedMediaType);
            }
            let value: Value = serde_json::from_slice(&body.await?).map_err(|_| {
                AppError::BadRequest("The request body is not a FHIR JSON resource.".into())
            })?;
            parse(value).map(FhirBody)
        })
    }
}

/// `value` as a `T`: 422 when its `resourceType` is another, or an element is unknown or of
/// the wrong type (named by its path).
pub fn parse<T: Resource>(value: Value) -> Result<T, AppError> {
    if value["resourceType"] != T::TYPE {
        return Err(AppError::invalid(
            format!("{}.resourceType", T::TYPE),
            format!("must be `{}`", T::TYPE),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let element = match path.as_str() {
            "." | "" => T::TYPE.to_owned(),
            path => format!("{}.{path}", T::TYPE),
        };
        not_fhir(element)
    })
}

/// 422 naming an element that R4 does not define there, or that has the wrong type.
pub fn not_fhir(element: String) -> AppError {
    AppError::invalid(
        element,
        "is not an element FHIR R4 defines here, or not of its type",
    )
}
