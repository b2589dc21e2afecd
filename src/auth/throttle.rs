//! Guessing limits on everything that checks a secret: sign-in per email, `current_password`
//! per user, client secrets per client, and sign-ins with client-credential attempts together
//! per client address.
//!
//! An attempt is counted before its secret is checked, atomically (see
//! [`login_throttles::reserve`]), so concurrent guesses cannot slip past a lock: of any number
//! sent at once, at most [`login_throttles::FREE_ATTEMPTS`] are checked and the rest get 429
//! with `Retry-After`. A right answer clears the count; locks always run out. The start of a
//! lock is audited once (`lock`), the refusals it causes are not, so a flood of refused
//! requests cannot flood the audit log.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::audit::{self, Action, Actor, Outcome, ResourceType, Target};
use crate::db::models::login_throttles::{self, Reservation};
use crate::http::error::{AppError, AppResult};
use crate::http::request_log::RequestMeta;
use crate::ops::config::AuthPolicy;

/// What attempts are counted under.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// A sign-in, by normalised email, whether or not an account has it.
    Email(&'a str),
    /// A password change, by the user making it.
    User(Uuid),
    /// A client-credentials request, by `client_id`, whether or not the client exists.
    Client(&'a str),
}

impl Key<'_> {
    /// The stored key; the prefix keeps an email from ever naming a user or a client.
    fn stored(self) -> String {
        match self {
            Self::Email(email) => format!("email:{email}"),
            Self::User(id) => format!("user:{id}"),
            Self::Client(client_id) => format!("client:{client_id}"),
        }
    }

    fn refusal(self) -> &'static str {
        match self {
            Self::Email(_) => "Too many failed sign-ins for this account; try again later.",
            Self::User(_) => "Too many wrong current passwords for this account; try again later.",
            Self::Client(_) => "Too many failed attempts for this client; try again later.",
        }
    }
}

/// An attempt admitted to have its secret checked. It has been counted as a failure already:
/// when the secret proves right, call [`Attempt::succeeded`] in the transaction that acts on it.
#[must_use]
pub struct Attempt {
    key: String,
    address: Option<String>,
    /// Set when this attempt, if wrong, locks its key.
    locks: bool,
}

impl Attempt {
    /// Admits an attempt under `key` from the caller's address, or refuses it with a 429.
    pub async fn admit(
        conn: &mut AsyncPgConnection,
        policy: &AuthPolicy,
        key: Key<'_>,
        meta: &RequestMeta,
    ) -> AppResult<Self> {
        let address = meta.ip.as_deref().map(address_key);
        if let Some(address) = &address {
            let window = chrono::Duration::from_std(policy.address_window)
                .map_err(|error| AppError::Internal(format!("address window: {error}")))?;
            let (attempts, ends) = login_throttles::count_address(conn, address, window).await?;
            if i64::from(attempts) > i64::from(policy.address_limit) {
                if i64::from(attempts) == i64::from(policy.address_limit) + 1 {
                    record_lock(conn, &anonymous(meta), ResourceType::Session, None).await?;
                }
                return Err(too_many(
                    ends,
                    "Too many failed attempts from this address; try again later.",
                ));
            }
        }
        match login_throttles::reserve(conn, &key.stored()).await? {
            Reservation::Admitted { locks } => Ok(Self {
                key: key.stored(),
                address,
                locks: locks.is_some(),
            }),
            Reservation::Locked(until) => {
                // Never checked, so not a guess from this address.
                if let Some(address) = &address {
                    login_throttles::uncount_address(conn, address).await?;
                }
                Err(too_many(until, key.refusal()))
            }
        }
    }

    /// Admits a guess at `user`'s current password (no address limit: the caller is signed in).
    pub async fn admit_user(conn: &mut AsyncPgConnection, user: Uuid) -> AppResult<Self> {
        let key = Key::User(user);
        match login_throttles::reserve(conn, &key.stored()).await? {
            Reservation::Admitted { locks } => Ok(Self {
                key: key.stored(),
                address: None,
                locks: locks.is_some(),
            }),
            Reservation::Locked(until) => Err(too_many(until, key.refusal())),
        }
    }

    /// The secret was right: forgets the key's count and takes this attempt back from the
    /// address's.
    pub async fn succeeded(self, conn: &mut AsyncPgConnection) -> AppResult<()> {
        login_throttles::clear(conn, &self.key).await?;
        if let Some(address) = &self.address {
            login_throttles::uncount_address(conn, address).await?;
        }
        Ok(())
    }
}

impl Attempt {
    /// The secret was wrong. When this attempt locked its key, records the lock once, as
    /// `actor` on the `resource_type` object `resource_id` (the row beside the attempt's own
    /// `denied` row).
    pub async fn failed(
        self,
        conn: &mut AsyncPgConnection,
        actor: &Actor,
        resource_type: ResourceType,
        resource_id: Option<String>,
    ) -> AppResult<()> {
        if self.locks {
            record_lock(conn, actor, resource_type, resource_id).await?;
        }
        Ok(())
    }
}

async fn record_lock(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    resource_type: ResourceType,
    resource_id: Option<String>,
) -> AppResult<()> {
    let mut target = Target::new(Action::Lock, resource_type);
    target.resource_id = resource_id;
    audit::record(conn, actor, &target, Outcome::Denied).await
}

/// Whoever is behind an address: no account, no organization.
fn anonymous(meta: &RequestMeta) -> Actor {
    Actor {
        id: None,
        role: None,
        client_id: None,
        organization_id: None,
        meta: meta.clone(),
        session: None,
    }
}

fn too_many(until: DateTime<Utc>, detail: &str) -> AppError {
    let seconds = (until - Utc::now()).num_seconds().max(1);
    AppError::TooManyRequests {
        retry_after: u64::try_from(seconds).unwrap_or(1),
        detail: detail.into(),
    }
}

/// The unit one client address is counted as: an IPv4 address, or an IPv6 /64 (the least
/// any one subscriber is usually given, so rotating within it gains nothing).
fn address_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let segments = v6.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
        Ok(IpAddr::V6(v6)) => v6.to_canonical().to_string(),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        assert_eq!(address_key("127.0.0.1"), "127.0.0.1");
        assert_eq!(address_key("::ffff:10.0.0.7"), "10.0.0.7");
        assert_eq!(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            address_key("2001:db8:1:2:bbbb::9"),
            address_key("2001:db8:1:2:aaaa::1")
        );
    }
}
