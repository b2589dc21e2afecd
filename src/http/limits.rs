//! Every limit on what clients send, each written once.
//!
//! A limit is a constant here (`PERSON_NAME`, `TAGS`, `CASELOAD`…). The same constant is
//! enforced by `validation::Checks` and, through the schema type of the same name
//! (`PersonName`, `Tags`, `Caseload`…), states the bounds and their description in the OpenAPI
//! document:
//!
//! ```text
//! /// The participant's legal first name.
//! #[schema(value_type = limits::PersonName)]
//! pub first_name: String,
//! /// `null` clears it.
//! #[schema(value_type = Option<limits::PersonName>)]
//! pub preferred_name: Option<String>,
//! // ...
//! checks.text("first_name", &body.first_name, limits::PERSON_NAME);
//! ```
//!
//! The schema type replaces only the field's type in the document: wrap it as the field's own
//! type is wrapped (`Option<...>`), and keep the field's doc comment for what the field means.

use serde_json::json;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, SchemaFormat};

/// The length of a text in characters (after trimming, for texts that are trimmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    /// 0 when there is no minimum beyond what the field's format requires.
    pub min: usize,
    pub max: usize,
}

/// The number of entries in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct List {
    pub max: usize,
}

/// An integer's bounds, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: i64,
    pub max: i64,
}

/// A participant's first, last or preferred name.
pub const PERSON_NAME: Text = Text { min: 1, max: 100 };
/// A user's display name.
pub const DISPLAY_NAME: Text = Text { min: 1, max: 200 };
/// An organization's name (also a check constraint on `organizations.name`).
pub const ORGANIZATION_NAME: Text = Text { min: 1, max: 200 };
pub const PRONOUNS: Text = Text { min: 1, max: 50 };
/// A coach's profile text.
pub const BIO: Text = Text { min: 1, max: 2000 };
/// Why a status changed or a caseload moved.
pub const REASON: Text = Text { min: 1, max: 1000 };
/// RFC 5321's limit on a forward path.
pub const EMAIL: Text = Text { min: 0, max: 254 };
/// A new password, counted untrimmed.
pub const PASSWORD: Text = Text { min: 12, max: 256 };
/// A password, refresh token or client credential being presented, counted untrimmed.
pub const CREDENTIAL: Text = Text { min: 0, max: 256 };
/// The `scope` of a client-credentials request.
pub const OAUTH_SCOPE: Text = Text { min: 0, max: 1000 };
/// A signed client assertion (`private_key_jwt`), a compact JWT.
pub const ASSERTION: Text = Text {
    min: 1,
    max: 16 * 1024,
};
/// An integration client's `jwks_url`.
pub const JWKS_URL: Text = Text { min: 1, max: 2000 };
/// The keys of an integration client's inline `jwks`.
pub const JWKS_KEYS: List = List { max: 10 };
pub const PHONE: Text = Text { min: 3, max: 40 };
/// A language tag such as `en` or `pt-BR`.
pub const LANGUAGE_TAG: Text = Text { min: 2, max: 35 };
/// One tag such as `twelve_step` or `housing`.
pub const TAG: Text = Text { min: 1, max: 40 };
/// Tags in one list (recovery pathways, needs, specialties, lived experience).
pub const TAGS: List = List { max: 20 };
/// Language tags in a coach's profile.
pub const LANGUAGES: List = List { max: 20 };
/// Participants named in one caseload move.
pub const PARTICIPANT_IDS: List = List { max: 500 };
/// A coach's `max_caseload`.
pub const CASELOAD: Range = Range { min: 0, max: 500 };
/// The `q` of a list search, counted untrimmed.
pub const SEARCH: Text = Text { min: 0, max: 100 };
/// The `limit` of a paginated list.
pub const PAGE_SIZE: Range = Range { min: 1, max: 200 };
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// The `page` of `GET /hsds/services`, numbered from 1; far beyond any directory's last page.
pub const HSDS_PAGE: Range = Range {
    min: 1,
    max: 1_000_000,
};
/// The `limit` of match suggestions.
pub const SUGGESTIONS: Range = Range { min: 1, max: 50 };
pub const DEFAULT_SUGGESTIONS: i64 = 10;
/// The `instrument` an assessment names, such as `barc-10`.
pub const INSTRUMENT_ID: Text = Text { min: 1, max: 40 };
/// The `id`s of `instruments::ALL`, for the document (a test keeps them equal).
pub const INSTRUMENT_IDS: &[&str] = &["barc-10"];

/// A group session's title.
pub const GROUP_TITLE: Text = Text { min: 1, max: 200 };
/// What happened in a group session.
pub const GROUP_SUMMARY: Text = Text { min: 1, max: 2000 };
/// How long a group session lasted, in minutes.
pub const GROUP_DURATION: Range = Range { min: 1, max: 600 };
/// Facilitators of one group session (at least one).
pub const FACILITATORS: List = List { max: 20 };
/// Entries in one group session's attendance list.
pub const ATTENDANCE: List = List { max: 200 };

/// A session note's summary.
pub const NOTE_SUMMARY: Text = Text { min: 1, max: 500 };
/// A session note's body, or an amendment's.
pub const NOTE_BODY: Text = Text {
    min: 1,
    max: 20_000,
};
/// What is to follow a session.
pub const FOLLOW_UP: Text = Text { min: 1, max: 1000 };
/// How long a session lasted, in minutes.
pub const SESSION_MINUTES: Range = Range { min: 1, max: 600 };
/// Mood at a session, 1 (very low) to 5 (very good).
pub const MOOD: Range = Range { min: 1, max: 5 };
/// Craving at a session, 0 (none) to 10 (overwhelming).
pub const CRAVING: Range = Range { min: 0, max: 10 };
/// Goals one session note is about.
pub const NOTE_GOALS: List = List { max: 20 };
/// The `no_contact_days` of a caseload.
pub const NO_CONTACT_DAYS: Range = Range { min: 1, max: 365 };

// A presented password must be allowed to be as long as any password that was accepted.
const _: () = assert!(CREDENTIAL.max >= PASSWORD.max);

/// One character that `str::trim` keeps, i.e. outside Unicode White_Space, as a JSON Schema
/// (ECMA-262) pattern. A required text (minimum 1) is trimmed before it is checked, so its
/// schema states that it holds one: a blank text is refused as the document says.
pub const NOT_BLANK_PATTERN: &str =
    r"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

impl Text {
    /// "1 to 100 characters." or "At most 254 characters."
    pub fn describe(self) -> String {
        if self.min == 0 {
            format!("At most {} characters.", self.max)
        } else {
            format!("{} to {} characters.", self.min, self.max)
        }
    }

    /// Why `value`, counted as given, breaks the limit, worded for a field error.
    pub fn check(self, value: &str) -> Result<(), String> {
        let length = value.chars().count();
        if length < self.min {
            Err(if self.min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {} characters", self.min)
            })
        } else if length > self.max {
            Err(format!("must be at most {} characters", self.max))
        } else {
            Ok(())
        }
    }

    fn schema(self, what: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length((self.min > 0).then_some(self.min))
            .max_length(Some(self.max))
            .pattern((self.min == 1).then_some(NOT_BLANK_PATTERN))
            .description(Some(described(what, self.describe())))
    }
}

impl List {
    /// "At most 20 entries."
    pub fn describe(self) -> String {
        format!("At most {} entries.", self.max)
    }

    /// Why a list of `length` entries breaks the limit, worded for a field error.
    pub fn check(self, length: usize) -> Result<(), String> {
        if length > self.max {
            Err(format!("must have at most {} entries", self.max))
        } else {
            Ok(())
        }
    }

    fn schema(self, items: ObjectBuilder) -> ArrayBuilder {
        ArrayBuilder::new()
            .items(items)
            .max_items(Some(self.max))
            .description(Some(self.describe()))
    }
}

impl Range {
    /// "0 to 500."
    pub fn describe(self) -> String {
        format!("{} to {}.", self.min, self.max)
    }

    pub fn contains(self, value: i64) -> bool {
        (self.min..=self.max).contains(&value)
    }

    /// Why `value` breaks the limit, worded for a field error.
    pub fn check(self, value: i64) -> Result<(), String> {
        if self.contains(value) {
            Ok(())
        } else {
            Err(format!("must be between {} and {}", self.min, self.max))
        }
    }

    fn schema(self) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(self.min))
            .maximum(Some(self.max))
            .description(Some(self.describe()))
    }
}

/// "Digits. 3 to 40 characters." from "Digits." and the bounds.
fn described(what: &str, bounds: String) -> String {
    if what.is_empty() {
        bounds
    } else {
        format!("{what} {bounds}")
    }
}

/// Declares schema types for `#[schema(value_type = ...)]` and `#[param(value_type = ...)]`,
/// each built from a limit above. They exist only in the OpenAPI document.
macro_rules! schema_types {
    ($($name:ident => $schema:expr;)*) => {$(
        #[doc = concat!("The document's schema for `", stringify!($schema), "`.")]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<Schema> {
                Schema::from($schema.build()).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    )*};
}

/// Declares a schema type for a field that takes only some values of a text enum: a string
/// naming exactly `$values` (a slice of the enum).
macro_rules! subset_schema {
    ($(#[$doc:meta])* $name:ident = $values:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($values.iter().map(|value| value.as_str())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use subset_schema;

schema_types! {
    PersonName => PERSON_NAME.schema("");
    DisplayName => DISPLAY_NAME.schema("");
    Pronouns => PRONOUNS.schema("");
    Bio => BIO.schema("");
    Reason => REASON.schema("");
    Email => EMAIL.schema("An email address.").format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)));
    Password => PASSWORD.schema("");
    Credential => CREDENTIAL.schema("");
    OauthScope => OAUTH_SCOPE.schema("Scopes, separated by spaces.");
    Assertion => ASSERTION.schema("A compact JWT.");
    Phone => PHONE.schema("Digits, spaces and `+ - ( ) x`.").pattern(Some(PHONE_PATTERN));
    LanguageTag => LANGUAGE_TAG.schema(LANGUAGE_TAG_FORMAT).pattern(Some(LANGUAGE_TAG_PATTERN));
    Tags => TAGS.schema(TAG.schema(TAG_FORMAT).pattern(Some(TAG_PATTERN)));
    Languages => LANGUAGES.schema(
        LANGUAGE_TAG.schema(LANGUAGE_TAG_FORMAT).pattern(Some(LANGUAGE_TAG_PATTERN)),
    );
    ParticipantIds => PARTICIPANT_IDS.schema(
        ObjectBuilder::new().schema_type(Type::String).format(Some(uuid_format())),
    );
    Caseload => CASELOAD.schema();
    Search => SEARCH.schema("");
    PageSize => PAGE_SIZE.schema().default(Some(json!(DEFAULT_PAGE_SIZE)));
    Suggestions => SUGGESTIONS.schema().default(Some(json!(DEFAULT_SUGGESTIONS)));
    InstrumentId => INSTRUMENT_ID
        .schema("An instrument's `id` from `GET /instruments`.")
        .enum_values(Some(INSTRUMENT_IDS.iter().copied()));
}

schema_types! {
    GroupTitle => GROUP_TITLE.schema("");
    GroupSummary => GROUP_SUMMARY.schema("");
    GroupDuration => GROUP_DURATION.schema();
    Facilitators => FACILITATORS.schema(
        ObjectBuilder::new().schema_type(Type::String).format(Some(uuid_format())),
    )
    .min_items(Some(1))
    .unique_items(true);
}

schema_types! {
    NoteSummary => NOTE_SUMMARY.schema("");
    NoteBody => NOTE_BODY.schema("");
    FollowUp => FOLLOW_UP.schema("");
    SessionMinutes => SESSION_MINUTES.schema();
    Mood => MOOD.schema();
    Craving => CRAVING.schema();
    NoteGoals => NOTE_GOALS.schema(
        ObjectBuilder::new().schema_type(Type::String).format(Some(uuid_format())),
    );
    NoContactDays => NO_CONTACT_DAYS.schema();
}

const LANGUAGE_TAG_FORMAT: &str = "A language tag such as `en`, `es` or `pt-BR`.";
const TAG_FORMAT: &str = "Lower-case letters, digits and underscores, starting with a letter.";
/// What `Checks::language` accepts, as the document states it.
pub const LANGUAGE_TAG_PATTERN: &str = "^[A-Za-z][A-Za-z0-9-]*$";
/// What `Checks::phone` accepts: at least one digit.
pub const PHONE_PATTERN: &str = "^[0-9 +().x-]*[0-9][0-9 +().x-]*$";
/// An `http(s)` URL with a host and no space or control character.
pub const URL_PATTERN: &str =
    "^https?://[^/?#.\\s\\x00-\\x1f\\x7f-\\x9f][^\\s\\x00-\\x1f\\x7f-\\x9f]*$";
/// A web URL, in either case, with any host form (name, IPv4, `[IPv6]`, a port): every URL
/// the server accepts as a webhook endpoint matches it. Which of them it accepts (`https`, no
/// private addresses, plain `http` to loopback in development) is checked beyond the pattern.
pub const WEBHOOK_URL_PATTERN: &str = "^\\s*[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+([/?#]\\S*)?\\s*$";
/// What `Checks::tags` accepts of each tag.
pub const TAG_PATTERN: &str = "^[a-z][a-z0-9_]*$";

fn uuid_format() -> SchemaFormat {
    SchemaFormat::KnownFormat(KnownFormat::Uuid)
}

/// A goal's title, and an action item's.
pub const GOAL_TITLE: Text = Text { min: 1, max: 200 };
/// A goal's description.
pub const GOAL_DESCRIPTION: Text = Text { min: 1, max: 4000 };
/// The note of a progress entry.
pub const PROGRESS_NOTE: Text = Text { min: 1, max: 4000 };
/// How complete a goal is, in percent.
pub const PERCENT_COMPLETE: Range = Range { min: 0, max: 100 };
/// Open action items on one goal.
pub const OPEN_ACTION_ITEMS: List = List { max: 100 };
/// How far ahead a goal's target date or an action item's due date may be, in years.
pub const PLAN_YEARS_AHEAD: i32 = 100;

schema_types! {
    GoalTitle => GOAL_TITLE.schema("");
    GoalDescription => GOAL_DESCRIPTION.schema("");
    ProgressNote => PROGRESS_NOTE.schema("");
    PercentComplete => PERCENT_COMPLETE.schema();
}

/// A directory resource's name, and the name of the organization that runs it.
pub const RESOURCE_NAME: Text = Text { min: 1, max: 200 };
/// What a directory resource offers.
pub const RESOURCE_DESCRIPTION: Text = Text { min: 0, max: 4000 };
/// Who a resource is for, and when it is open.
pub const RESOURCE_NOTE: Text = Text { min: 1, max: 2000 };
/// A resource's web address.
pub const URL: Text = Text { min: 0, max: 2000 };
/// A street address line.
pub const ADDRESS_LINE: Text = Text { min: 1, max: 200 };
/// A city, or a state or province.
pub const PLACE_NAME: Text = Text { min: 1, max: 100 };
/// A postal code, also the `postal_code` of a directory search.
pub const POSTAL_CODE: Text = Text { min: 1, max: 20 };
/// An ISO 3166-1 alpha-2 country code.
pub const COUNTRY: Text = Text { min: 2, max: 2 };
/// Categories of one resource (each at most once).
pub const CATEGORIES: List = List { max: 12 };

schema_types! {
    ResourceName => RESOURCE_NAME.schema("");
    ResourceDescription => RESOURCE_DESCRIPTION.schema("");
    ResourceNote => RESOURCE_NOTE.schema("");
    Url => URL.schema("An `http` or `https` URL.").pattern(Some(URL_PATTERN));
    AddressLine => ADDRESS_LINE.schema("");
    PlaceName => PLACE_NAME.schema("");
    PostalCode => POSTAL_CODE.schema("");
    Country => COUNTRY.schema("An ISO 3166-1 alpha-2 code such as `US`.").pattern(Some("^[A-Za-z]{2}$"));
    Categories => CATEGORIES.schema(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(crate::db::models::resources::ResourceCategory::ALL.iter().map(|c| c.as_str()))),
    );
}

/// Who receives information under a consent.
pub const RECIPIENT_NAME: Text = Text { min: 1, max: 200 };
/// Who discloses under a consent.
pub const DISCLOSER_NAME: Text = Text { min: 1, max: 200 };
/// Why a consent lets information be disclosed.
pub const CONSENT_PURPOSE: Text = Text { min: 1, max: 1000 };
/// How much and what kind of information a consent covers, in words.
pub const INFORMATION_DESCRIPTION: Text = Text { min: 1, max: 2000 };
/// The event or condition on which a consent expires.
pub const EXPIRATION_EVENT: Text = Text { min: 1, max: 500 };
/// The name of whoever signed a consent.
pub const SIGNER_NAME: Text = Text { min: 1, max: 200 };
/// Information categories one consent names (each at most once).
pub const INFORMATION_CATEGORIES: List = List {
    max: INFORMATION_CATEGORY_CODES.len(),
};
/// The codes of `consents::InformationCategory` (the migration's CHECK on
/// `consents.information_categories`), for the document.
pub const INFORMATION_CATEGORY_CODES: &[&str] = &[
    "demographics",
    "contact_information",
    "referral_details",
    "substance_use_history",
    "treatment_history",
    "recovery_plan",
    "assessments",
    "session_notes",
    "other",
];

schema_types! {
    RecipientName => RECIPIENT_NAME.schema("");
    DiscloserName => DISCLOSER_NAME.schema("");
    ConsentPurpose => CONSENT_PURPOSE.schema("");
    InformationDescription => INFORMATION_DESCRIPTION.schema("");
    ExpirationEvent => EXPIRATION_EVENT.schema("");
    SignerName => SIGNER_NAME.schema("");
    InformationCategories => INFORMATION_CATEGORIES.schema(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(INFORMATION_CATEGORY_CODES.iter().copied())),
    )
    .min_items(Some(1));
}

/// Why a participant is referred.
pub const REFERRAL_REASON: Text = Text { min: 1, max: 2000 };
/// A referring system's own id of an inbound referral.
pub const EXTERNAL_ID: Text = Text { min: 1, max: 200 };
/// Who referred an inbound patient.
pub const REFERRING_PROVIDER: Text = Text { min: 1, max: 200 };
/// The namespace (a URI) of a clinic's identifier of a patient; its value is as long as an
/// [`EXTERNAL_ID`].
pub const IDENTIFIER_SYSTEM: Text = Text { min: 1, max: 500 };
/// An identifier's type code (HL7 v2 table 0203).
pub const IDENTIFIER_TYPE: Text = Text { min: 1, max: 20 };

schema_types! {
    ReferralReason => REFERRAL_REASON.schema("");
    ExternalId => EXTERNAL_ID.schema("");
    ReferringProvider => REFERRING_PROVIDER.schema("");
}

#[cfg(test)]
mod tests;

/// An integration client's name.
pub const CLIENT_NAME: Text = Text { min: 1, max: 200 };
/// A webhook endpoint URL.
pub const WEBHOOK_URL: Text = Text { min: 1, max: 2000 };
/// The resources one integration client is linked to.
pub const CLIENT_RESOURCES: List = List { max: 100 };

schema_types! {
    ClientName => CLIENT_NAME.schema("");
    WebhookUrl => WEBHOOK_URL.schema("An `https` URL.").pattern(Some(WEBHOOK_URL_PATTERN));
    ClientResources => CLIENT_RESOURCES.schema(
        ObjectBuilder::new().schema_type(Type::String).format(Some(uuid_format())),
    );
}

mod follow_up;
pub use follow_up::*;
