//! Guessing limits and session lifetimes: `TANDEM_SIGNIN_ADDRESS_*` and `TANDEM_REFRESH_*`.

use std::time::Duration;

use super::{invalid, parse_number, ConfigError};

/// Guessing limits and session lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthPolicy {
    /// Failed sign-ins and client-credential attempts one address may make per window, over
    /// all emails and clients together.
    pub address_limit: u32,
    pub address_window: Duration,
    /// A refresh-token family ends this long after its sign-in, however often it is used.
    pub refresh_lifetime: Duration,
    /// A refresh-token family ends when its current token has gone unused this long.
    pub refresh_idle: Duration,
}

impl AuthPolicy {
    const HOUR: u64 = 3600;

    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // Each value is bounded so that it converts to any duration type without overflow.
        let number = |name: &'static str, default: usize, max: usize| {
            let value = parse_number(get(name), name, default)?;
            if value > max {
                return Err(invalid(name, format!("must be at most {max}")));
            }
            Ok(value as u64)
        };
        let hours = |count: u64| Duration::from_secs(count * Self::HOUR);
        let policy = Self {
            address_limit: number("TANDEM_SIGNIN_ADDRESS_LIMIT", 30, 1_000_000)? as u32,
            address_window: Duration::from_secs(number(
                "TANDEM_SIGNIN_ADDRESS_WINDOW_SECONDS",
                900,
                86_400,
            )?),
            refresh_lifetime: hours(24 * number("TANDEM_REFRESH_LIFETIME_DAYS", 30, 3650)?),
            refresh_idle: hours(number("TANDEM_REFRESH_IDLE_HOURS", 7 * 24, 24 * 3650)?),
        };
        if policy.refresh_idle > policy.refresh_lifetime {
            return Err(invalid(
                "TANDEM_REFRESH_IDLE_HOURS",
                "must not be longer than TANDEM_REFRESH_LIFETIME_DAYS".into(),
            ));
        }
        Ok(policy)
    }
}
