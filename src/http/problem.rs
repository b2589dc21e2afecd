//! The kinds of problem the API reports: each a problem document's `type` (`/problems/<slug>`)
//! with its `title` and status, written once here and listed in the OpenAPI document.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The `type` of the problem documents the web framework itself answers with, for a failure
/// no [`ProblemType`] names; their `title` is the status's reason phrase.
pub const BLANK: &str = "about:blank";

/// Declares [`ProblemType`]: each variant's doc comment says when it happens (and becomes
/// its line in the OpenAPI document), then its slug, status and title.
macro_rules! problem_types {
    ($($(#[doc = $doc:literal])+ $variant:ident => $slug:literal, $status:literal, $title:literal;)+) => {
        /// The kind of problem a problem document reports, named by its `type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemType {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl ProblemType {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The last segment of the `type` URI, e.g. `goal-closed`.
            pub fn slug(self) -> &'static str {
                match self {
                    $(Self::$variant => $slug,)+
                }
            }

            /// The `title`: the same for every problem of the kind.
            pub fn title(self) -> &'static str {
                match self {
                    $(Self::$variant => $title,)+
                }
            }

            /// The HTTP status problems of this kind are answered with.
            pub fn status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)+
                }
            }

            /// When problems of this kind happen, in one sentence.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!($($doc),+).trim(),)+
                }
            }
        }
    };
}

problem_types! {
    /// The request could not be read: malformed JSON, path or query parameter, or header.
    BadRequest => "bad-request", 400, "Bad request";
    /// No valid credentials: a missing, invalid or expired access token, or sign-in
    /// credentials that were not accepted.
    Unauthorized => "unauthorized", 401, "Unauthorized";
    /// The caller's role may not use this operation.
    Forbidden => "forbidden", 403, "Forbidden";
    /// The integration client's token does not carry the scope the operation needs.
    InsufficientScope => "insufficient-scope", 403, "Forbidden";
    /// No such object in the caller's scope, or no such route.
    NotFound => "not-found", 404, "Not found";
    /// The route does not take this method; `Allow` lists those it takes.
    MethodNotAllowed => "method-not-allowed", 405, "Method not allowed";
    /// The request conflicts with the current state, as `detail` says: a record with these
    /// values exists already, for instance.
    Conflict => "conflict", 409, "Conflict";
    /// The status may not move that way; `detail` names the allowed next statuses.
    InvalidTransition => "invalid-transition", 409, "Conflict";
    /// The goal is achieved or abandoned: it takes no new action items or progress.
    GoalClosed => "goal-closed", 409, "Conflict";
    /// The goal holds as many open action items as it may.
    TooManyActionItems => "too-many-action-items", 409, "Conflict";
    /// The session note is signed and never changes; amend it instead.
    NoteSigned => "note-signed", 409, "Conflict";
    /// The session note is not signed yet; change it instead of amending it.
    NoteUnsigned => "note-unsigned", 409, "Conflict";
    /// The coach's caseload is full.
    CaseloadFull => "caseload-full", 409, "Conflict";
    /// The participant already has a current pairing.
    AlreadyPaired => "already-paired", 409, "Conflict";
    /// The coach still has current pairings; reassign them before changing the role.
    CaseloadNotEmpty => "caseload-not-empty", 409, "Conflict";
    /// The participant is discharged; readmit them before pairing.
    ParticipantDischarged => "participant-discharged", 409, "Conflict";
    /// Sending the referral needs an active consent of the participant that names its
    /// recipient and covers referral details; also when the consent given is revoked or
    /// expired.
    ConsentRequired => "consent-required", 409, "Conflict";
    /// The consent is already revoked.
    ConsentRevoked => "consent-revoked", 409, "Conflict";
    /// The resource does not take referrals now.
    ResourceNotAcceptingReferrals => "resource-not-accepting-referrals", 409, "Conflict";
    /// `If-Match` names a version that is no longer current.
    PreconditionFailed => "precondition-failed", 412, "Precondition failed";
    /// The body exceeds the size limit.
    PayloadTooLarge => "payload-too-large", 413, "Payload too large";
    /// The body is not sent as JSON.
    UnsupportedMediaType => "unsupported-media-type", 415, "Unsupported media type";
    /// Fields are invalid; `errors` names each.
    ValidationFailed => "validation-failed", 422, "Validation failed";
    /// Too many attempts, or too busy; retry after `Retry-After`.
    TooManyRequests => "too-many-requests", 429, "Too many requests";
    /// An unexpected error on the server.
    InternalError => "internal-error", 500, "Internal server error";
    /// The database is unavailable; retry after `Retry-After`.
    ServiceUnavailable => "service-unavailable", 503, "Service unavailable";
}

impl ProblemType {
    /// The problem document's `type`: `/problems/<slug>`.
    pub fn uri(self) -> String {
        format!("/problems/{}", self.slug())
    }
}

// Written out so the document lists the `type` values a client can meet, each with its
// status, title and meaning.
impl PartialSchema for ProblemType {
    fn schema() -> RefOr<Schema> {
        let mut values: Vec<String> = Self::ALL.iter().map(|kind| kind.uri()).collect();
        values.push(BLANK.to_owned());
        let mut description = String::from(
            "A URI reference naming the kind of problem; problems of one kind share a `title`.\n",
        );
        for kind in Self::ALL {
            description.push_str(&format!(
                "\n- `{}` ({}, {}): {}",
                kind.uri(),
                kind.status(),
                kind.title(),
                kind.meaning()
            ));
        }
        description.push_str(&format!(
            "\n- `{BLANK}`: a failure the web framework reports itself; \
             the `title` is the status's reason phrase."
        ));
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values))
            .description(Some(description))
            .into()
    }
}

impl ToSchema for ProblemType {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ProblemType")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// The slugs clients match on: changing one breaks them.
    const PUBLISHED: [&str; 26] = [
        "bad-request",
        "unauthorized",
        "forbidden",
        "insufficient-scope",
        "not-found",
        "method-not-allowed",
        "conflict",
        "invalid-transition",
        "goal-closed",
        "too-many-action-items",
        "note-signed",
        "note-unsigned",
        "caseload-full",
        "already-paired",
        "caseload-not-empty",
        "participant-discharged",
        "consent-required",
        "consent-revoked",
        "resource-not-accepting-referrals",
        "precondition-failed",
        "payload-too-large",
        "unsupported-media-type",
        "validation-failed",
        "too-many-requests",
        "internal-error",
        "service-unavailable",
    ];

    #[test]
    fn every_slug_is_unique_and_stays_as_published() {
        let slugs: Vec<&str> = ProblemType::ALL.iter().map(|kind| kind.slug()).collect();
        assert_eq!(slugs, PUBLISHED);
        let unique: HashSet<&str> = slugs.iter().copied().collect();
        assert_eq!(unique.len(), slugs.len());
        for slug in slugs {
            assert!(
                slug.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{slug}"
            );
        }
    }

    #[test]
    fn every_kind_has_a_title_a_meaning_and_an_error_status() {
        for kind in ProblemType::ALL {
            assert!(!kind.title().trim().is_empty(), "{kind:?}");
            assert!(kind.meaning().ends_with('.'), "{kind:?}");
            assert!((400..600).contains(&kind.status()), "{kind:?}");
            assert_eq!(kind.uri(), format!("/problems/{}", kind.slug()));
        }
        assert_eq!(ProblemType::GoalClosed.title(), "Conflict");
        assert_eq!(ProblemType::InsufficientScope.title(), "Forbidden");
    }

    #[test]
    fn the_schema_enumerates_every_type_and_the_blank_one() {
        let json = serde_json::to_value(ProblemType::schema()).unwrap();
        let values: Vec<&str> = json["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|value| value.as_str())
            .collect();
        assert_eq!(values.len(), ProblemType::ALL.len() + 1);
        assert!(values.contains(&"/problems/goal-closed"));
        assert!(values.contains(&BLANK));
        let description = json["description"].as_str().unwrap();
        assert!(description.contains("`/problems/note-signed` (409, Conflict): The session note"));
    }
}
