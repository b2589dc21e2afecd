//! Problem responses shared by operations, defined once and named in each operation's
//! `responses(...)`: `responses((status = 200, …), Authenticated, JsonBody, NotFound)`.
//!
//! Every error body is `application/problem+json` (see [`Problem`]); the operation's own
//! description says when its 403, 404 or 409 happen.

use std::collections::BTreeMap;

use utoipa::openapi::response::Response;
use utoipa::openapi::RefOr;
use utoipa::IntoResponses;

use crate::http::error::Problem;

const PROBLEM: &str = "application/problem+json";

type Responses = BTreeMap<String, RefOr<Response>>;

macro_rules! problem_response {
    ($(#[doc = $doc:literal])* $name:ident => $status:literal, $description:literal) => {
        $(#[doc = $doc])*
        #[derive(IntoResponses)]
        pub enum $name {
            #[response(status = $status, description = $description, content_type = PROBLEM)]
            Problem(Problem),
        }
    };
}

problem_response!(
    /// 400: the request could not be read.
    BadRequest => 400, "Malformed JSON, path parameter, query parameter or header"
);
problem_response!(
    /// 401 on operations that need a bearer token.
    Unauthorized => 401, "Missing, invalid or expired access token"
);
problem_response!(
    /// 401 on sign-in operations.
    BadCredentials => 401, "The credentials or refresh token were not accepted"
);
problem_response!(
    /// 403: the caller's role may never use the operation.
    Forbidden => 403, "The caller's role may not use this operation"
);
problem_response!(
    /// 404: the object does not exist or is outside the caller's scope (the same answer).
    NotFound => 404, "No such object in the caller's scope"
);
problem_response!(
    /// 409: the request conflicts with the current state.
    Conflict => 409, "Conflicts with the current state; `detail` says how"
);
problem_response!(
    /// 412: `If-Match` names a version that is no longer current.
    PreconditionFailed => 412, "`If-Match` does not match the current version"
);
problem_response!(
    /// 413: the body exceeds the limit.
    PayloadTooLarge => 413, "Body over 1 MiB"
);
problem_response!(
    /// 415: the body is not JSON.
    UnsupportedMediaType => 415, "The body's `Content-Type` is not one the operation accepts (JSON)"
);
problem_response!(
    /// 422: a field is invalid.
    Unprocessable => 422, "Invalid fields; `errors` names each, and an `Idempotency-Key` reused for another request is one"
);
problem_response!(
    /// 429: slow down.
    TooManyRequests => 429, "Too many attempts or too busy; retry after `Retry-After`"
);
problem_response!(
    /// 503: the database cannot be reached.
    Unavailable => 503, "Database unavailable; retry after `Retry-After`"
);

/// Every operation that needs a bearer token: 401 and 503.
pub struct Authenticated;

impl IntoResponses for Authenticated {
    fn responses() -> Responses {
        merge([Unauthorized::responses(), Unavailable::responses()])
    }
}

/// Every operation that reads a JSON body: 400, 413, 415 and 422.
pub struct JsonBody;

impl IntoResponses for JsonBody {
    fn responses() -> Responses {
        merge([
            BadRequest::responses(),
            PayloadTooLarge::responses(),
            UnsupportedMediaType::responses(),
            Unprocessable::responses(),
        ])
    }
}

fn merge<const N: usize>(parts: [Responses; N]) -> Responses {
    parts.into_iter().flatten().collect()
}
