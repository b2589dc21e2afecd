//! Access tokens: HS256 JWTs with a pinned algorithm, required claims and `typ: at+jwt`.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::models::users::Role;

/// The `role` claim: a user's role, or `integration` for a machine client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRole {
    Admin,
    Supervisor,
    Coach,
    Participant,
    Integration,
}

impl From<Role> for TokenRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => Self::Admin,
            Role::Supervisor => Self::Supervisor,
            Role::Coach => Self::Coach,
            Role::Participant => Self::Participant,
        }
    }
}

impl TokenRole {
    /// The user role the claim names; `None` for an integration client.
    pub fn user_role(self) -> Option<Role> {
        match self {
            Self::Admin => Some(Role::Admin),
            Self::Supervisor => Some(Role::Supervisor),
            Self::Coach => Some(Role::Coach),
            Self::Participant => Some(Role::Participant),
            Self::Integration => None,
        }
    }
}

/// Access tokens live this long.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;
pub const TOKEN_TYPE: &str = "at+jwt";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub org: Uuid,
    pub role: TokenRole,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: Uuid,
    /// The subject's token version when issued; a later deactivation, role change or
    /// password change bumps it and so ends this token.
    pub ver: i32,
    /// An integration client's public `client_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// An integration client's scopes, space-separated (RFC 9068).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What a client token carries beyond the common claims.
pub struct ClientClaims<'a> {
    pub client_id: &'a str,
    pub scope: &'a str,
}

/// Signs and checks access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Issues a token for the subject; returns the token and its lifetime in seconds.
    pub fn issue(
        &self,
        subject: Uuid,
        organization: Uuid,
        role: impl Into<TokenRole>,
        version: i32,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let lifetime = ACCESS_TOKEN_SECONDS;
        self.issue_with(subject, organization, role.into(), version, None, lifetime)
    }

    /// Issues a token for an integration client, naming its `client_id` and scopes, valid for
    /// `lifetime` seconds (at most [`ACCESS_TOKEN_SECONDS`]).
    pub fn issue_client(
        &self,
        subject: Uuid,
        organization: Uuid,
        version: i32,
        client: ClientClaims<'_>,
        lifetime: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.issue_with(
            subject,
            organization,
            TokenRole::Integration,
            version,
            Some(client),
            lifetime.clamp(1, ACCESS_TOKEN_SECONDS),
        )
    }

    fn issue_with(
        &self,
        subject: Uuid,
        organization: Uuid,
        role: TokenRole,
        version: i32,
        client: Option<ClientClaims<'_>>,
        lifetime: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: subject,
            org: organization,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + lifetime,
            nbf: now,
            iat: now,
            jti: Uuid::new_v4(),
            ver: version,
            client_id: client.as_ref().map(|c| c.client_id.to_owned()),
            scope: client.as_ref().map(|c| c.scope.to_owned()),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.into());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
    }

    /// Verifies signature, algorithm, `typ`, issuer, audience, `exp` and `nbf`, and that the
    /// token was not issued in the future nor for longer than access tokens live (a correctly
    /// signed token cannot grant itself a longer life).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let typ_ok = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case(TOKEN_TYPE) || typ.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok || header.alg != Algorithm::HS256 {
            return None;
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        let leeway = LEEWAY_SECONDS as i64;
        let issued_in_future = claims.iat > Utc::now().timestamp() + leeway;
        let too_long = claims.exp.saturating_sub(claims.iat) > ACCESS_TOKEN_SECONDS + leeway;
        (!issued_in_future && !too_long).then_some(claims)
    }
}
