//! Every answer under `/fhir/r4` is `application/fhir+json`, and every error an
//! `OperationOutcome`: the problem document the rest of the server would answer with, restated
//! as FHIR (one issue per invalid element, naming it in `expression`), with the same status and
//! headers (`WWW-Authenticate`, `Allow`, `Retry-After`).

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::HttpResponse;
use serde_json::{json, Value};

use crate::http::error::{AppError, Problem};

/// The FHIR JSON media type, with the FHIR version it speaks.
pub const FHIR_JSON: &str = "application/fhir+json; fhirVersion=4.0; charset=utf-8";

/// The middleware of the FHIR scope.
pub async fn fhir_responses(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The SMART configuration under the FHIR base is plain JSON, as SMART specifies.
    let is_discovery = req.path().contains("/.well-known/");
    let response = next.call(req).await?;
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let is_problem = content_type.starts_with("application/problem+json");
    let is_json = content_type.starts_with("application/json");
    if !is_problem {
        let mut response = response.map_into_boxed_body();
        if is_json && !is_discovery {
            fhir_content_type(response.headers_mut());
        }
        return Ok(response);
    }
    let (request, response) = response.into_parts();
    let status = response.status();
    let (head, payload) = response.into_parts();
    let bytes = body::to_bytes(payload).await.unwrap_or_default();
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let outcome = from_problem(status, &problem);
    let mut rebuilt = head.set_body(BoxBody::new(outcome.to_string()));
    fhir_content_type(rebuilt.headers_mut());
    Ok(ServiceResponse::new(request, rebuilt))
}

fn fhir_content_type(headers: &mut header::HeaderMap) {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
}

/// An `OperationOutcome` stating `problem`: one issue per field error, or one for the whole.
pub fn from_problem(status: StatusCode, problem: &Value) -> Value {
    let slug = problem["type"]
        .as_str()
        .and_then(|kind| kind.rsplit('/').next())
        .unwrap_or_default();
    let code = issue_type(status, slug);
    let title = problem["title"].as_str().unwrap_or("Error");
    let detail = problem["detail"].as_str().unwrap_or(title);
    let fields = problem["errors"].as_array().cloned().unwrap_or_default();
    let issues: Vec<Value> = if fields.is_empty() {
        vec![
            json!({"severity": "error", "code": code, "details": {"text": title},
                    "diagnostics": detail}),
        ]
    } else {
        fields
            .iter()
            .map(|field| {
                let path = field["field"].as_str().unwrap_or("body");
                let message = field["message"].as_str().unwrap_or(detail);
                json!({"severity": "error", "code": code, "details": {"text": title},
                       "diagnostics": format!("{path}: {message}"), "expression": [path]})
            })
            .collect()
    };
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// The FHIR issue type of a problem.
fn issue_type(status: StatusCode, slug: &str) -> &'static str {
    match (status.as_u16(), slug) {
        (409, "invalid-transition" | "consent-required" | "resource-not-accepting-referrals") => {
            "business-rule"
        }
        (400, _) => "structure",
        (401, _) => "login",
        (403, _) => "forbidden",
        (404, _) => "not-found",
        (405 | 406 | 415, _) => "not-supported",
        (409 | 412, _) => "conflict",
        (413, _) => "too-long",
        (422, _) => "invalid",
        (429, _) => "throttled",
        (503, _) => "transient",
        _ => "exception",
    }
}

/// The answer to a request the FHIR scope has no interaction for: 404 for an unknown path or
/// resource type.
pub async fn unknown_interaction() -> HttpResponse {
    let error = AppError::NotFound;
    let problem: Problem = error.problem();
    let body = serde_json::to_value(&problem).unwrap_or(Value::Null);
    HttpResponse::NotFound()
        .insert_header((header::CONTENT_TYPE, FHIR_JSON))
        .body(from_problem(StatusCode::NOT_FOUND, &body).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_become_one_issue_each_naming_the_element() {
        let problem = json!({"type": "/problems/validation-failed", "title": "Validation failed",
            "status": 422, "detail": "1 field is invalid.",
            "errors": [{"field": "Task.owner", "message": "may not be changed"}]});
        let outcome = from_problem(StatusCode::UNPROCESSABLE_ENTITY, &problem);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"][0]["expression"], json!(["Task.owner"]));
        assert_eq!(outcome["issue"][0]["code"], "invalid");
        assert_eq!(
            outcome["issue"][0]["diagnostics"],
            "Task.owner: may not be changed"
        );
    }

    #[test]
    fn a_refused_move_is_a_business_rule_and_a_missing_one_not_found() {
        let problem = json!({"type": "/problems/invalid-transition", "title": "Conflict",
            "detail": "From `completed` it may not move."});
        let outcome = from_problem(StatusCode::CONFLICT, &problem);
        assert_eq!(outcome["issue"][0]["code"], "business-rule");
        assert!(outcome["issue"][0].get("expression").is_none());
        let outcome = from_problem(StatusCode::NOT_FOUND, &Value::Null);
        assert_eq!(outcome["issue"][0]["code"], "not-found");
    }
}
