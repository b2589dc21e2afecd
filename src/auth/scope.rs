//! What an integration client's token allows: the OAuth 2.0 scopes ([`ApiScope`]), a set of
//! them ([`Grants`]), and the caller types that carry them ([`Client`], and [`Identity`] for
//! operations open to users and clients alike).
//!
//! The queries only need to know whose data they run for ([`Viewer`]); whether a client may
//! make the call at all is decided here, inside the unit of work, so a refusal is audited.

use uuid::Uuid;

use crate::db::scope::{ClientScope, Scope, Viewer};
use crate::http::error::AppError;

crate::text_enum! {
    /// What an integration client's token allows (OAuth 2.0 scopes).
    pub enum ApiScope {
        ReferralsRead => "referrals:read",
        ReferralsWrite => "referrals:write",
        DirectoryRead => "directory:read",
    }
}

/// SMART Backend Services' system scopes, and the scope of Tandem's each stands for: reading
/// Tasks, ServiceRequests and (consented) Patients is reading referrals, updating a Task is
/// moving a referral, reading HealthcareServices is reading the directory.
pub const SMART_SCOPES: [(&str, ApiScope); 5] = [
    ("system/Task.rs", ApiScope::ReferralsRead),
    ("system/ServiceRequest.rs", ApiScope::ReferralsRead),
    ("system/Patient.rs", ApiScope::ReferralsRead),
    ("system/Task.u", ApiScope::ReferralsWrite),
    ("system/HealthcareService.rs", ApiScope::DirectoryRead),
];

/// The scope `name` asks for: one of Tandem's, or a SMART system scope.
fn parse_requested(name: &str) -> Option<ApiScope> {
    ApiScope::parse(name).or_else(|| {
        SMART_SCOPES
            .iter()
            .find(|(smart, _)| *smart == name)
            .map(|(_, scope)| *scope)
    })
}

bitflags::bitflags! {
    /// A set of [`ApiScope`]s.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Grants: u8 {
        const REFERRALS_READ = 1;
        const REFERRALS_WRITE = 1 << 1;
        const DIRECTORY_READ = 1 << 2;
    }
}

impl From<ApiScope> for Grants {
    fn from(scope: ApiScope) -> Self {
        match scope {
            ApiScope::ReferralsRead => Self::REFERRALS_READ,
            ApiScope::ReferralsWrite => Self::REFERRALS_WRITE,
            ApiScope::DirectoryRead => Self::DIRECTORY_READ,
        }
    }
}

impl Grants {
    pub fn allows(self, scope: ApiScope) -> bool {
        self.contains(scope.into())
    }

    /// The known scopes among `names`; unknown names grant nothing.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        names
            .into_iter()
            .filter_map(ApiScope::parse)
            .map(Self::from)
            .collect()
    }

    /// The scopes a token gets from a client holding `self`: those `requested` (an OAuth
    /// `scope`, space-separated, Tandem's names or [`SMART_SCOPES`]), each of which the client
    /// must hold (422 naming `scope` otherwise), or everything it holds when none are asked
    /// for.
    pub fn granted(self, requested: Option<&str>) -> Result<Self, AppError> {
        let Some(requested) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(self);
        };
        requested
            .split_ascii_whitespace()
            .map(|name| match parse_requested(name) {
                Some(scope) if self.allows(scope) => Ok(Self::from(scope)),
                _ => Err(AppError::invalid(
                    "scope",
                    format!("`{name}` is not a scope this client holds."),
                )),
            })
            .collect()
    }

    /// The scope names in the set, in the order of [`ApiScope::ALL`].
    pub fn names(self) -> Vec<&'static str> {
        ApiScope::ALL
            .iter()
            .filter(|scope| self.allows(**scope))
            .map(|scope| scope.as_str())
            .collect()
    }
}

/// An integration client acting within its organization, with the scopes its token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub organization_id: Uuid,
    /// The client's row id (`integration_clients.id`), not its public `client_id`.
    pub client_id: Uuid,
    pub grants: Grants,
}

impl Client {
    /// Whose data the client's queries run for.
    pub fn scope(self) -> ClientScope {
        ClientScope {
            organization_id: self.organization_id,
            client_id: self.client_id,
        }
    }

    /// `Ok` when the token carries `scope`; a 403 naming it otherwise. Call it inside the unit
    /// of work, so the refusal is audited.
    pub fn require(self, scope: ApiScope) -> Result<(), AppError> {
        if self.grants.allows(scope) {
            Ok(())
        } else {
            Err(AppError::MissingScope(scope.as_str()))
        }
    }
}

/// Whoever an operation open to both users and integration clients runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    User(Scope),
    Client(Client),
}

impl Identity {
    pub fn organization_id(self) -> Uuid {
        self.viewer().organization_id()
    }

    /// Whose data the caller's queries run for.
    pub fn viewer(self) -> Viewer {
        match self {
            Self::User(scope) => Viewer::User(scope),
            Self::Client(client) => Viewer::Client(client.scope()),
        }
    }

    /// A client needs `scope`; users pass (their role decides, in the query).
    pub fn require(self, scope: ApiScope) -> Result<(), AppError> {
        match self {
            Self::User(_) => Ok(()),
            Self::Client(client) => client.require(scope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_has_a_flag_of_its_own() {
        let all: Grants = ApiScope::ALL
            .iter()
            .map(|scope| Grants::from(*scope))
            .collect();
        assert_eq!(all.bits().count_ones() as usize, ApiScope::ALL.len());
        assert_eq!(all, Grants::all());
    }

    #[test]
    fn names_round_trip_and_unknown_names_grant_nothing() {
        let grants = Grants::from_names(["directory:read", "referrals:read", "admin"]);
        assert_eq!(grants.names(), ["referrals:read", "directory:read"]);
        assert_eq!(Grants::from_names(["admin", ""]), Grants::empty());
    }

    #[test]
    fn a_token_gets_the_scopes_asked_for_that_the_client_holds_or_all_it_holds() {
        let held = Grants::from_names(["referrals:read", "directory:read"]);
        assert_eq!(held.granted(None).ok(), Some(held));
        assert_eq!(held.granted(Some("  ")).ok(), Some(held));
        let asked = held.granted(Some("directory:read")).ok();
        assert_eq!(asked, Some(Grants::DIRECTORY_READ));
        assert!(held
            .granted(Some("directory:read referrals:write"))
            .is_err());
        assert!(held.granted(Some("admin")).is_err());
    }

    #[test]
    fn a_client_without_the_scope_is_refused_and_a_user_passes() {
        let client = Client {
            organization_id: Uuid::nil(),
            client_id: Uuid::nil(),
            grants: ApiScope::ReferralsRead.into(),
        };
        assert!(client.require(ApiScope::ReferralsRead).is_ok());
        assert!(client.require(ApiScope::ReferralsWrite).is_err());
        assert!(Identity::Client(client)
            .require(ApiScope::DirectoryRead)
            .is_err());
    }
}
