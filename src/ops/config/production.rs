//! The checks production applies to secrets: long enough, and not a value anyone can read in
//! Tandem's own repository.

use super::{invalid, ConfigError};

/// The shortest secret production accepts.
pub const MIN_SECRET_BYTES: usize = 32;

/// Values that appear in Tandem's own README, compose file and examples, or were once their
/// defaults: anyone can read them, so production refuses them as secrets or passwords.
const PUBLISHED_VALUES: &[&str] = &[
    "change-me-to-at-least-32-random-bytes!!",
    "change-me-please",
    "a long admin passphrase",
];

/// Marks of a value someone was meant to replace.
const PLACEHOLDER_MARKS: &[&str] = &["change-me", "changeme", "change_me", "replace-me"];

/// The fewest bits a secret's characters must carry, estimated from how often each byte value
/// occurs in it (its Shannon entropy times its length): 64 random hex digits carry about 250,
/// 40 × `a` none.
pub const MIN_SECRET_BITS: f64 = 96.0;

/// The production check every secret passes (`TANDEM_JWT_SECRET`, `TANDEM_AUDIT_KEY`, and
/// any secret added later): at least [`MIN_SECRET_BYTES`] bytes, not a published or
/// placeholder value, and not so repetitive that it carries fewer than [`MIN_SECRET_BITS`].
pub fn check_production_secret(variable: &'static str, value: &[u8]) -> Result<(), ConfigError> {
    if value.len() < MIN_SECRET_BYTES {
        return Err(invalid(
            variable,
            format!("must be at least {MIN_SECRET_BYTES} bytes when TANDEM_ENV=production"),
        ));
    }
    refuse_published(variable, value)?;
    if estimated_bits(value) < MIN_SECRET_BITS {
        return Err(invalid(
            variable,
            "repeats too few characters to be a random secret; generate one \
             (e.g. `openssl rand -hex 32`)"
                .into(),
        ));
    }
    Ok(())
}

/// The Shannon entropy of `value`'s byte frequencies, times its length, in bits.
fn estimated_bits(value: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for byte in value {
        counts[usize::from(*byte)] += 1;
    }
    let length = value.len() as f64;
    let per_byte: f64 = counts
        .iter()
        .filter(|count| **count > 0)
        .map(|count| {
            let p = *count as f64 / length;
            -p * p.log2()
        })
        .sum();
    per_byte * length
}

/// Refuses a value published in Tandem's own docs and examples (the demo data's passwords
/// included), or a placeholder.
pub fn refuse_published(variable: &'static str, value: &[u8]) -> Result<(), ConfigError> {
    let lowered = String::from_utf8_lossy(value).trim().to_lowercase();
    let demo = crate::ops::seed_demo::PASSWORDS
        .iter()
        .any(|(_, password)| *password == lowered);
    let published = PUBLISHED_VALUES.contains(&lowered.as_str())
        || demo
        || PLACEHOLDER_MARKS.iter().any(|mark| lowered.contains(mark));
    if published {
        return Err(invalid(
            variable,
            "is a published example or placeholder value; generate a random one \
             (e.g. `openssl rand -hex 32`)"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::settings;
    use super::*;
    use crate::ops::config::Settings;

    const PRODUCTION: [(&str, &str); 3] = [
        ("TANDEM_ENV", "production"),
        ("DATABASE_URL", "postgres://tandem_app:pw@db/tandem"),
        (
            "TANDEM_AUDIT_KEY",
            "4b7e0c2d9a1f3e5b8c6d0a2f4e7b9c1d3f5a7e9b0c2d4f6a8e1b3c5d7f9a0b2c",
        ),
    ];
    const RANDOM_SECRET: &str = "9f1c3a7be04d52e8a6b19c0d7f3e2a5b8c4d6e1f0a9b7c3d2e5f4a1b0c9d8e7f";

    fn production(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut all = PRODUCTION.to_vec();
        all.extend_from_slice(vars);
        settings(&all)
    }

    #[test]
    fn production_refuses_short_published_and_placeholder_secrets() {
        for secret in [
            "short",
            "31-bytes-31-bytes-31-bytes-31-b",
            "change-me-to-at-least-32-random-bytes!!",
            "CHANGE-ME-to-at-least-32-random-bytes!!",
            "please-changeme-0123456789abcdef0123456789",
        ] {
            let err = production(&[("TANDEM_JWT_SECRET", secret)]).unwrap_err();
            assert_eq!(err.variable, "TANDEM_JWT_SECRET", "{secret}");
            let err = production(&[
                ("TANDEM_JWT_SECRET", RANDOM_SECRET),
                ("TANDEM_AUDIT_KEY", secret),
            ])
            .unwrap_err();
            assert_eq!(err.variable, "TANDEM_AUDIT_KEY", "{secret}");
        }
        assert!(production(&[("TANDEM_JWT_SECRET", RANDOM_SECRET)]).is_ok());
        // Long enough, and nothing like a random secret.
        for repetitive in [
            "a".repeat(40),
            "ab".repeat(24),
            "0000000000000000000000000000000001".into(),
        ] {
            let err = production(&[("TANDEM_JWT_SECRET", &repetitive)]).unwrap_err();
            assert_eq!(err.variable, "TANDEM_JWT_SECRET", "{repetitive}");
            assert!(err.message.contains("random"), "{}", err.message);
        }
        // The audit key is not the JWT secret.
        let err = production(&[
            ("TANDEM_JWT_SECRET", PRODUCTION[2].1),
            ("TANDEM_AUDIT_KEY", PRODUCTION[2].1),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "TANDEM_AUDIT_KEY");
        // Development keeps working with any secret of the minimum length.
        assert!(settings(&[(
            "TANDEM_JWT_SECRET",
            "change-me-to-at-least-32-random-bytes!!"
        )])
        .is_ok());
    }

    #[test]
    fn the_secret_check_applies_to_any_named_secret() {
        let err = check_production_secret("TANDEM_AUDIT_KEY", b"too short").unwrap_err();
        assert_eq!(err.variable, "TANDEM_AUDIT_KEY");
        assert!(err.message.contains("32 bytes"));
        let err =
            check_production_secret("TANDEM_AUDIT_KEY", b"change-me-please-change-me-please!")
                .unwrap_err();
        assert_eq!(err.variable, "TANDEM_AUDIT_KEY");
        assert!(check_production_secret("TANDEM_AUDIT_KEY", RANDOM_SECRET.as_bytes()).is_ok());
    }

    #[test]
    fn production_refuses_the_published_admin_passwords() {
        let demo = crate::ops::seed_demo::PASSWORDS.map(|(_, password)| password);
        let published = ["a long admin passphrase", "change-me-please"];
        for password in published.into_iter().chain(demo) {
            let err = production(&[
                ("TANDEM_JWT_SECRET", RANDOM_SECRET),
                ("TANDEM_BOOTSTRAP_ADMIN_EMAIL", "admin@example.org"),
                ("TANDEM_BOOTSTRAP_ADMIN_PASSWORD", password),
            ])
            .unwrap_err();
            assert_eq!(
                err.variable, "TANDEM_BOOTSTRAP_ADMIN_PASSWORD",
                "{password}"
            );
        }
        // In development the demo passwords stay usable, as the demo data's own.
        let development = Settings::from_lookup(|name| match name {
            "TANDEM_BOOTSTRAP_ADMIN_EMAIL" => Some("admin@example.org".into()),
            "TANDEM_BOOTSTRAP_ADMIN_PASSWORD" => Some(demo[0].into()),
            _ => None,
        });
        assert!(development.is_ok());
    }
}
