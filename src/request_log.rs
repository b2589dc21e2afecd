//! One log line per request: method, path, status, latency and request id. Never the query
//! string, headers or bodies, which can carry tokens, passwords or participant names.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use uuid::Uuid;

/// The id of the current request, echoed in `X-Request-Id` and recorded in audit events.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = Uuid::new_v4().simple().to_string();
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().clone();
    let path = req.path().to_owned();
    let started = Instant::now();
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    log::info!(
        "{method} {path} {status} {latency:.1}ms request_id={request_id}",
        status = response.status().as_u16(),
        latency = started.elapsed().as_secs_f64() * 1000.0,
    );
    Ok(response)
}
