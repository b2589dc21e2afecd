//! Field rules shared by request bodies. Each check adds to a list so one response names
//! every invalid field. The limits themselves are in [`crate::http::limits`].

use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use crate::http::error::{AppError, FieldError};
use crate::http::limits::{self, List, Range, Text};

/// Collects field errors; `finish` turns them into a 422.
#[derive(Debug, Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn check(&mut self, field: &str, result: Result<(), impl Into<String>>) {
        if let Err(message) = result {
            self.add(field, message);
        }
    }

    /// A text, trimmed, within `limit` (so a limit with a minimum refuses blank text).
    pub fn text(&mut self, field: &str, value: &str, limit: Text) {
        self.check(field, limit.check(value.trim()));
    }

    /// An optional text: when present, as [`Checks::text`].
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, limit: Text) {
        if let Some(value) = value {
            self.text(field, value, limit);
        }
    }

    pub fn email(&mut self, field: &str, value: &str) {
        self.check(field, check_email(value));
    }

    /// A new password, counted as typed.
    pub fn password(&mut self, field: &str, value: &str) {
        self.check(field, crate::auth::password::check_strength(value));
    }

    /// A password, token or client credential being presented, counted as sent: only its
    /// length is checked, so a wrong one is refused by whoever checks it.
    pub fn credential(&mut self, field: &str, value: &str) {
        self.check(field, limits::CREDENTIAL.check(value));
    }

    /// A list's number of entries.
    pub fn count(&mut self, field: &str, length: usize, limit: List) {
        self.check(field, limit.check(length));
    }

    pub fn range(&mut self, field: &str, value: i64, limit: Range) {
        self.check(field, limit.check(value));
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }
}

/// A text query parameter, counted as sent, within `limit`; 400, as for any bad query
/// parameter.
pub fn query_text(parameter: &str, value: Option<&str>, limit: Text) -> Result<(), AppError> {
    match value.map(|value| limit.check(value)) {
        Some(Err(message)) => Err(AppError::BadRequest(format!(
            "Query parameter `{parameter}` {message}."
        ))),
        _ => Ok(()),
    }
}

/// The `language` filter of a list: a language tag (400 otherwise).
pub fn query_language(value: Option<&str>) -> Result<(), AppError> {
    let Some(language) = value else {
        return Ok(());
    };
    let mut checks = Checks::new();
    checks.language("language", language.trim());
    checks.finish().map_err(|_| {
        AppError::BadRequest(
            "Query parameter `language` must be a language tag such as `en` or `es`.".into(),
        )
    })
}

/// Emails are compared and stored trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

const NOT_AN_EMAIL: &str = "must be an email address";

fn check_email(value: &str) -> Result<(), String> {
    let value = value.trim();
    limits::EMAIL.check(value)?;
    let Some((local, domain)) = value.split_once('@') else {
        return Err(NOT_AN_EMAIL.into());
    };
    let plausible = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if plausible {
        Ok(())
    } else {
        Err(NOT_AN_EMAIL.into())
    }
}

impl Checks {
    /// Tags such as `moud` or `twelve_step`: lower-case letters, digits and underscores.
    pub fn tags(&mut self, field: &str, values: &[String]) {
        if let Err(message) = limits::TAGS.check(values.len()) {
            self.add(field, message);
            return;
        }
        let well_formed = |tag: &str| {
            limits::TAG.check(tag).is_ok()
                && tag.starts_with(|c: char| c.is_ascii_lowercase())
                && tag
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if let Some(index) = values.iter().position(|tag| !well_formed(tag)) {
            self.add(
                &format!("{field}[{index}]"),
                format!(
                    "must be lower-case letters, digits and underscores (at most {})",
                    limits::TAG.max
                ),
            );
        }
    }

    /// Language tags such as `en`, `es` or `pt-BR`.
    pub fn language(&mut self, field: &str, value: &str) {
        let well_formed = value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && value
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic());
        if let Err(message) = limits::LANGUAGE_TAG.check(value) {
            self.add(field, message);
        } else if !well_formed {
            self.add(
                field,
                "must be a language tag such as `en`, `es` or `pt-BR`",
            );
        }
    }

    /// A list of language tags, each named by its index when it is not one.
    pub fn languages(&mut self, field: &str, values: &[String]) {
        if let Err(message) = limits::LANGUAGES.check(values.len()) {
            self.add(field, message);
            return;
        }
        for (index, language) in values.iter().enumerate() {
            self.language(&format!("{field}[{index}]"), language);
        }
    }

    pub fn phone(&mut self, field: &str, value: &str) {
        let well_formed = value
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().x".contains(c))
            && value.chars().any(|c| c.is_ascii_digit());
        if let Err(message) = limits::PHONE.check(value) {
            self.add(field, message);
        } else if !well_formed {
            self.add(
                field,
                "must be a phone number (digits, spaces, + - ( ) and x)",
            );
        }
    }

    /// A date that is not in the future and not before 1900.
    pub fn past_date(&mut self, field: &str, value: chrono::NaiveDate) {
        let today = chrono::Utc::now().date_naive();
        let earliest = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(value);
        if value > today {
            self.add(field, "must not be in the future");
        } else if value < earliest {
            self.add(field, "must not be before 1900-01-01");
        }
    }

    /// A reason for a status change, within [`limits::REASON`]; `required` when the change
    /// needs one.
    pub fn reason(&mut self, field: &str, value: Option<&str>, required: bool) {
        match value {
            Some(reason) => self.text(field, reason, limits::REASON),
            None if required => self.add(field, "is required for this change"),
            None => {}
        }
    }
}

/// The fields a JSON body of type `T` must have, read from the OpenAPI schema its
/// `#[derive(ToSchema)]` generates: the derive leaves out `Option` and `#[serde(default)]`
/// fields, as serde does, so the list needs no upkeep of its own. `None` when `T` is not
/// documented as a JSON object (e.g. a list).
pub fn required_fields<T: ToSchema>() -> Option<Vec<String>> {
    match T::schema() {
        RefOr::T(Schema::Object(object))
            if object.schema_type == SchemaType::Type(Type::Object) =>
        {
            Some(object.required)
        }
        _ => None,
    }
}

/// Deserializes a field that distinguishes "absent" (`None`) from `null` (`Some(None)`), for
/// PATCH bodies where `null` clears a value. Use with `#[serde(default)]`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_normalised() {
        assert!(check_email("coach@example.org").is_ok());
        assert!(check_email("no-at-sign").is_err());
        assert!(check_email("a@b").is_err());
        assert!(check_email("a b@example.org").is_err());
        assert_eq!(normalize_email("  Coach@Example.ORG "), "coach@example.org");
    }

    #[test]
    fn required_fields_follow_serde() {
        #[derive(serde::Deserialize, ToSchema)]
        #[allow(dead_code)]
        struct Body {
            name: String,
            nickname: Option<String>,
            #[serde(default)]
            tags: Vec<String>,
            #[serde(default)]
            #[schema(value_type = Vec<String>)]
            languages: Vec<String>,
            count: i64,
        }
        assert_eq!(
            required_fields::<Body>(),
            Some(vec!["name".to_owned(), "count".to_owned()])
        );
        assert_eq!(required_fields::<Vec<String>>(), None);
    }

    #[test]
    fn checks_collect_every_failure() {
        let mut checks = Checks::new();
        checks.text("display_name", "  ", limits::DISPLAY_NAME);
        checks.email("email", "nope");
        match checks.finish() {
            Err(AppError::Validation(errors)) => assert_eq!(errors.len(), 2),
            other => panic!("unexpected {other:?}"),
        }
    }
}
