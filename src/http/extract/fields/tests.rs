use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{Deserializer, Error as _, Unexpected, Visitor};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::*;
use crate::http::error::AppError;
use crate::http::extract::{parse_json, parse_query};

/// The `(field, message)` pairs of a refused body, sorted.
fn refusal<T: serde::de::DeserializeOwned + ToSchema>(
    body: serde_json::Value,
) -> Vec<(String, String)> {
    match parse_json::<T>(body.to_string().as_bytes()) {
        Err(AppError::Validation(errors)) => {
            let mut errors: Vec<_> = errors.into_iter().map(|e| (e.field, e.message)).collect();
            errors.sort();
            errors
        }
        Err(other) => panic!("expected a 422, got {other:?}"),
        Ok(_) => panic!("expected a 422, got a body"),
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(field, message)| (field.to_string(), message.to_string()))
        .collect()
}

/// Reads the value as text, then refuses it with a message that reads like another error.
fn refused_with<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    message: &str,
) -> Result<T, D::Error> {
    String::deserialize(deserializer)?;
    Err(D::Error::custom(message))
}

fn refused_as_missing<'de, D: Deserializer<'de>, T>(d: D) -> Result<T, D::Error> {
    refused_with(d, "missing field `x`")
}

fn refused_as_unknown<'de, D: Deserializer<'de>, T>(d: D) -> Result<T, D::Error> {
    refused_with(d, "unknown field `x`, expected `name`")
}

fn refused_as_uuid<'de, D: Deserializer<'de>, T>(d: D) -> Result<T, D::Error> {
    refused_with(d, "UUID parsing failed: invalid character")
}

fn refused_in_german<'de, D: Deserializer<'de>, T>(d: D) -> Result<T, D::Error> {
    refused_with(d, "ungültige Kennung")
}

/// Asks for a string while describing itself as an integer.
struct Mislabelled;

impl Visitor<'_> for Mislabelled {
    type Value = String;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an integer")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<String, E> {
        Ok(text.to_owned())
    }
}

fn mislabelled<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_string(Mislabelled)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Misleading {
    #[serde(deserialize_with = "refused_in_german")]
    id: Uuid,
    #[serde(deserialize_with = "refused_as_missing")]
    born: NaiveDate,
    #[serde(deserialize_with = "refused_as_unknown")]
    name: String,
    #[serde(deserialize_with = "refused_as_uuid")]
    count: i64,
    #[serde(deserialize_with = "mislabelled")]
    label: String,
}

#[test]
fn what_an_error_says_in_words_is_never_read() {
    // Each message mimics another error, or is in another language: the field is still
    // described by its type (a UUID, a date) and by the call serde made (a string).
    let body = json!({"id": "x", "born": "x", "name": "x", "count": "x", "label": true});
    assert_eq!(
        refusal::<Misleading>(body),
        pairs(&[
            ("born", "is not a valid date or time"),
            ("count", "is not a valid value"),
            ("id", "must be a UUID"),
            ("label", "must be a string"),
            ("name", "is not a valid value"),
        ])
    );
}

#[test]
fn serde_calls_are_kept_as_data_and_messages_dropped() {
    let garbled = Problem::custom("missing field `a`");
    assert_eq!(garbled.kind, Kind::BadValue);
    assert_eq!(Problem::missing_field("a").kind, Kind::Missing("a"));
    assert_eq!(
        Problem::unknown_field("b", &["a"]).kind,
        Kind::Unknown("b".into())
    );
    assert_eq!(
        Problem::unknown_variant("c", &["x", "y"]).kind,
        Kind::UnknownVariant(&["x", "y"])
    );
    let wrong = Problem::invalid_type(Unexpected::Bool(true), &"a UUID");
    assert_eq!(wrong.kind, Kind::WrongType);
    assert_eq!(
        Problem::invalid_length(3, &"ten answers").kind,
        Kind::WrongLength
    );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Colour {
    Red,
    Green,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Typed {
    id: Option<Uuid>,
    born: Option<NaiveDate>,
    at: Option<DateTime<Utc>>,
    colour: Option<Colour>,
    count: Option<i32>,
    ids: Option<Vec<Uuid>>,
    flag: Option<bool>,
    name: Option<String>,
}

#[test]
fn uuid_chrono_and_serde_refusals_are_described_by_the_field() {
    let cases = [
        (json!({"id": "not-a-uuid"}), "id", "must be a UUID"),
        (json!({"id": 5}), "id", "has the wrong type"),
        (
            json!({"born": "2024-02-30"}),
            "born",
            "is not a valid date or time",
        ),
        (
            json!({"born": "yesterday"}),
            "born",
            "is not a valid date or time",
        ),
        (
            json!({"at": "2024-13-01T00:00:00Z"}),
            "at",
            "is not a valid date or time",
        ),
        (json!({"at": true}), "at", "has the wrong type"),
        (
            json!({"colour": "blue"}),
            "colour",
            "must be one of: red, green",
        ),
        (json!({"colour": 3}), "colour", "must be one of: red, green"),
        (json!({"count": "x"}), "count", "must be an integer"),
        (json!({"count": 1.5}), "count", "must be an integer"),
        (
            json!({"count": 5_000_000_000_i64}),
            "count",
            "is not a valid value",
        ),
        (json!({"ids": ["a"]}), "ids[0]", "must be a UUID"),
        (json!({"ids": "a"}), "ids", "must be an array"),
        (json!({"flag": "yes"}), "flag", "must be a boolean"),
        (json!({"name": {"a": 1}}), "name", "must be a string"),
        (json!({"nickname": "x"}), "nickname", "is not a known field"),
    ];
    for (body, field, message) in cases {
        assert_eq!(
            refusal::<Typed>(body.clone()),
            pairs(&[(field, message)]),
            "{body}"
        );
    }
    // A whole number written with a fraction is an integer; an object is no list.
    assert!(parse_json::<Typed>(br#"{"count": 5.0}"#).is_ok());
    assert_eq!(
        refusal::<Vec<Typed>>(json!([{}, {"flag": 1}])),
        pairs(&[("[1].flag", "must be a boolean")])
    );
    assert_eq!(
        refusal::<Typed>(json!([1])),
        pairs(&[("body", "must be a JSON object")])
    );
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Filters {
    id: Option<Uuid>,
    from: Option<DateTime<Utc>>,
    colour: Option<Colour>,
    limit: Option<i64>,
    flag: Option<bool>,
}

#[test]
fn a_bad_query_parameter_is_named_and_described() {
    let cases = [
        ("id=zz", "Query parameter `id` must be a UUID."),
        (
            "from=monday",
            "Query parameter `from` is not a valid date or time.",
        ),
        (
            "colour=blue",
            "Query parameter `colour` must be one of: red, green.",
        ),
        ("limit=ten", "Query parameter `limit` must be an integer."),
        ("flag=maybe", "Query parameter `flag` must be a boolean."),
        (
            "limit=1&limit=2",
            "Query parameter `limit` is given more than once.",
        ),
        ("size=3", "Query parameter `size` is not a known field."),
    ];
    for (query, expected) in cases {
        match parse_query::<Filters>(query) {
            Err(AppError::BadRequest(detail)) => assert_eq!(detail, expected, "{query}"),
            other => panic!("{query}: {other:?}"),
        }
    }
    let filters: Filters = parse_query("id=0190c2a8-0000-7000-8000-000000000000&limit=5&flag=true")
        .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!((filters.limit, filters.flag), (Some(5), Some(true)));
}

#[test]
fn formats_are_found_through_references_and_nullable_choices() {
    use crate::routes::{group_sessions, participants};
    let at = |key: &str| vec![Step::Key(key.into())];
    let sessions = Shapes::of::<group_sessions::CreateGroupSessionRequest>();
    let mut first_facilitator = at("facilitator_ids");
    first_facilitator.push(Step::Index(0));
    assert_eq!(sessions.format_at(&first_facilitator), Format::Uuid);
    assert_eq!(sessions.format_at(&at("occurred_at")), Format::DateOrTime);
    assert_eq!(sessions.format_at(&at("title")), Format::Other);
    let update = Shapes::of::<participants::UpdateParticipantRequest>();
    assert_eq!(update.format_at(&at("date_of_birth")), Format::DateOrTime);
    assert_eq!(update.format_at(&at("no_such_field")), Format::Other);
    let attendance = Shapes::of::<Vec<group_sessions::AttendanceEntry>>();
    let first_participant = [Step::Index(0), Step::Key("participant_id".into())];
    assert_eq!(attendance.format_at(&first_participant), Format::Uuid);
}
