//! How each error renders.

use super::*;

fn database_error(kind: DatabaseErrorKind, message: &str) -> AppError {
    DieselError::DatabaseError(kind, Box::new(message.to_owned())).into()
}

#[test]
fn a_connection_the_database_dropped_is_a_503_with_retry_after() {
    let gone = [
        (DatabaseErrorKind::ClosedConnection, "closed"),
        (DatabaseErrorKind::UnableToSendCommand, "connection closed"),
        (
            DatabaseErrorKind::Unknown,
            "terminating connection due to administrator command",
        ),
        (
            DatabaseErrorKind::Unknown,
            "server closed the connection unexpectedly",
        ),
        (
            DatabaseErrorKind::Unknown,
            "the database system is shutting down",
        ),
        (
            DatabaseErrorKind::Unknown,
            "the database system is starting up",
        ),
        (
            DatabaseErrorKind::Unknown,
            "error connecting to server: Connection refused (os error 111)",
        ),
    ];
    for (kind, message) in gone {
        let error = database_error(kind, message);
        assert!(
            matches!(error, AppError::Unavailable(_)),
            "{message}: {error:?}"
        );
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "5");
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
    }
}

#[test]
fn each_error_renders_the_type_title_and_status_of_its_kind() {
    let cases = [
        (
            AppError::BadRequest("x".into()),
            "/problems/bad-request",
            "Bad request",
        ),
        (
            AppError::Unauthorized("x".into()),
            "/problems/unauthorized",
            "Unauthorized",
        ),
        (AppError::Forbidden, "/problems/forbidden", "Forbidden"),
        (
            AppError::MissingScope("referrals:read"),
            "/problems/insufficient-scope",
            "Forbidden",
        ),
        (AppError::NotFound, "/problems/not-found", "Not found"),
        (
            AppError::MethodNotAllowed {
                allow: vec!["GET".into()],
            },
            "/problems/method-not-allowed",
            "Method not allowed",
        ),
        (
            AppError::conflict(ProblemType::Conflict, "x"),
            "/problems/conflict",
            "Conflict",
        ),
        (
            AppError::conflict(ProblemType::GoalClosed, "x"),
            "/problems/goal-closed",
            "Conflict",
        ),
        (
            AppError::PreconditionFailed,
            "/problems/precondition-failed",
            "Precondition failed",
        ),
        (
            AppError::PayloadTooLarge,
            "/problems/payload-too-large",
            "Payload too large",
        ),
        (
            AppError::UnsupportedMediaType,
            "/problems/unsupported-media-type",
            "Unsupported media type",
        ),
        (
            AppError::invalid("x", "y"),
            "/problems/validation-failed",
            "Validation failed",
        ),
        (
            AppError::TooManyRequests {
                retry_after: 1,
                detail: "x".into(),
            },
            "/problems/too-many-requests",
            "Too many requests",
        ),
        (
            AppError::Unavailable("x".into()),
            "/problems/service-unavailable",
            "Service unavailable",
        ),
        (
            AppError::Internal("x".into()),
            "/problems/internal-error",
            "Internal server error",
        ),
    ];
    for (error, uri, title) in cases {
        let problem = error.problem();
        assert_eq!(
            (problem.problem_type.as_str(), problem.title.as_str()),
            (uri, title)
        );
        assert_eq!(problem.status, error.status_code().as_u16(), "{uri}");
        assert_eq!(error.parts().0.status(), problem.status, "{uri}");
    }
}

#[test]
fn other_database_errors_stay_internal() {
    let error = database_error(
        DatabaseErrorKind::Unknown,
        "relation \"notes\" does not exist",
    );
    assert!(matches!(error, AppError::Internal(_)));
    assert!(matches!(
        AppError::from(DieselError::BrokenTransactionManager),
        AppError::Unavailable(_)
    ));
}
