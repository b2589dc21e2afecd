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
