//! Field rules shared by request bodies. Each check adds to a list so one response names
//! every invalid field.

use crate::error::{AppError, FieldError};

pub const MAX_EMAIL_LENGTH: usize = 254;
pub const MAX_NAME_LENGTH: usize = 200;

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

    /// A required text: trimmed, not empty, at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        let length = value.trim().chars().count();
        if length == 0 {
            self.add(field, "must not be empty");
        } else if length > max {
            self.add(field, format!("must be at most {max} characters"));
        }
    }

    pub fn email(&mut self, field: &str, value: &str) {
        if let Err(message) = check_email(value) {
            self.add(field, message);
        }
    }

    pub fn password(&mut self, field: &str, value: &str) {
        if let Err(message) = crate::auth::password::check_strength(value) {
            self.add(field, message);
        }
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }
}

/// Emails are compared and stored trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn check_email(value: &str) -> Result<(), &'static str> {
    let value = value.trim();
    if value.chars().count() > MAX_EMAIL_LENGTH {
        return Err("must be at most 254 characters");
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err("must be an email address");
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
        Err("must be an email address")
    }
}

pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_LENGTH: usize = 40;

impl Checks {
    /// An optional text: when present, trimmed, not empty, at most `max` characters.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(value) = value {
            self.text(field, value, max);
        }
    }

    /// Tags such as `moud` or `twelve_step`: lower-case letters, digits and underscores.
    pub fn tags(&mut self, field: &str, values: &[String]) {
        if values.len() > MAX_TAGS {
            self.add(field, format!("must have at most {MAX_TAGS} entries"));
            return;
        }
        let well_formed = |tag: &str| {
            (1..=MAX_TAG_LENGTH).contains(&tag.len())
                && tag.starts_with(|c: char| c.is_ascii_lowercase())
                && tag
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if let Some(index) = values.iter().position(|tag| !well_formed(tag)) {
            self.add(
                &format!("{field}[{index}]"),
                "must be lower-case letters, digits and underscores (at most 40)",
            );
        }
    }

    /// Language tags such as `en`, `es` or `pt-BR`.
    pub fn language(&mut self, field: &str, value: &str) {
        let ok = (2..=35).contains(&value.len())
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && value
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic());
        if !ok {
            self.add(
                field,
                "must be a language tag such as `en`, `es` or `pt-BR`",
            );
        }
    }

    pub fn phone(&mut self, field: &str, value: &str) {
        let ok = (3..=40).contains(&value.chars().count())
            && value
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().x".contains(c))
            && value.chars().any(|c| c.is_ascii_digit());
        if !ok {
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

    /// A reason for a status change: required, at most 1000 characters.
    pub fn reason(&mut self, field: &str, value: Option<&str>, required: bool) {
        match value {
            Some(reason) => self.text(field, reason, MAX_REASON_LENGTH),
            None if required => self.add(field, "is required for this change"),
            None => {}
        }
    }
}

pub const MAX_REASON_LENGTH: usize = 1000;

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
    fn checks_collect_every_failure() {
        let mut checks = Checks::new();
        checks.text("display_name", "  ", 10);
        checks.email("email", "nope");
        match checks.finish() {
            Err(AppError::Validation(errors)) => assert_eq!(errors.len(), 2),
            other => panic!("unexpected {other:?}"),
        }
    }
}
