//! Client authentication by signed assertion (`private_key_jwt`: RFC 7523 as SMART Backend
//! Services profiles it). The client signs a short-lived JWT with a private key; Tandem
//! verifies it with the public key of the client's registered set that the JWT's `kid`
//! names. Only RS384 and ES384 are accepted, and only with an RSA or a P-384 key: an
//! assertion cannot choose HMAC (a public key used as a shared secret) or `none`.

use chrono::{DateTime, TimeZone, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// `client_assertion_type` of a signed assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The algorithms an assertion may be signed with.
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::RS384, Algorithm::ES384];
/// The furthest ahead an assertion's `exp` may be, in seconds.
pub const MAX_LIFETIME: i64 = 300;
/// Clock difference allowed between the client and this server, in seconds.
const SKEW: i64 = 30;
/// The longest `jti` kept.
const MAX_JTI: usize = 255;

/// Why an assertion was refused: the `detail` of the `invalid_client` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

fn refused(detail: impl Into<String>) -> Refused {
    Refused(detail.into())
}

/// What an assertion says before anything is verified: only to find whose keys verify it,
/// and with which algorithm.
#[derive(Debug, Clone)]
pub struct Unverified {
    /// The header's `alg`, as written.
    pub alg: String,
    pub kid: Option<String>,
    /// The client the assertion claims to come from (its `iss`).
    pub client_id: String,
}

impl Unverified {
    /// The algorithm to verify with: RS384 or ES384, nothing else.
    pub fn algorithm(&self) -> Result<Algorithm, Refused> {
        match self.alg.as_str() {
            "RS384" => Ok(Algorithm::RS384),
            "ES384" => Ok(Algorithm::ES384),
            other => Err(refused(format!(
                "`client_assertion` is signed with `{}`; it must be RS384 or ES384.",
                other.chars().take(20).collect::<String>()
            ))),
        }
    }
}

/// Reads the header and the issuer of `assertion`, trusting none of it yet; refuses what is
/// not a JWT with an `alg` and an `iss`.
pub fn read(assertion: &str) -> Result<Unverified, Refused> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let not_a_jwt = || refused("`client_assertion` is not a signed JWT.");
    let part = |encoded: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()
    };
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(not_a_jwt());
    };
    let header = part(header).ok_or_else(not_a_jwt)?;
    let claims = part(claims).ok_or_else(not_a_jwt)?;
    let alg = header["alg"].as_str().ok_or_else(not_a_jwt)?.to_owned();
    let client_id = claims["iss"]
        .as_str()
        .filter(|iss| !iss.is_empty())
        .ok_or_else(|| refused("`client_assertion` has no `iss` (the client_id)."))?
        .to_owned();
    Ok(Unverified {
        alg,
        kid: header["kid"].as_str().map(str::to_owned),
        client_id,
    })
}

/// Which key of a set verifies an assertion.
#[derive(Debug)]
pub enum KeyChoice<'a> {
    Found(&'a Jwk),
    /// No key of the set has the `kid` (and key type): a fetched set may have changed.
    Missing,
    /// More than one would do: the set is ambiguous.
    Ambiguous,
}

/// The key of `keys` whose `kid` is the assertion's and whose type fits `alg` (any key of
/// that type when the assertion names none); exactly one must match.
pub fn choose<'a>(keys: &'a JwkSet, alg: Algorithm, kid: Option<&str>) -> KeyChoice<'a> {
    let mut matching = keys.keys.iter().filter(|key| {
        fits(key, alg)
            && match kid {
                Some(kid) => key.common.key_id.as_deref() == Some(kid),
                None => true,
            }
    });
    match (matching.next(), matching.next()) {
        (Some(key), None) => KeyChoice::Found(key),
        (None, _) => KeyChoice::Missing,
        (Some(_), Some(_)) => KeyChoice::Ambiguous,
    }
}

/// Whether `key` can verify `alg`: RS384 with an RSA key, ES384 with a P-384 key.
fn fits(key: &Jwk, alg: Algorithm) -> bool {
    match (&key.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS384) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384) => {
            ec.curve == EllipticCurve::P384
        }
        _ => false,
    }
}

/// An assertion whose signature and claims were checked: its `jti` and when it expires.
#[derive(Debug, Clone)]
pub struct Verified {
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Claims {
    exp: i64,
    jti: Option<String>,
}

/// Checks `assertion` with `key`: the signature, `iss` and `sub` both `client_id`, `aud`
/// naming `audience` (the token endpoint's URL), `exp` in the future but at most
/// [`MAX_LIFETIME`] seconds ahead, `nbf` if present, and a `jti`.
pub fn verify(
    assertion: &str,
    unverified: &Unverified,
    key: &Jwk,
    audience: &str,
) -> Result<Verified, Refused> {
    let alg = unverified.algorithm()?;
    if !fits(key, alg) {
        return Err(refused(
            "The registered key does not fit the assertion's `alg`.",
        ));
    }
    let decoding = DecodingKey::from_jwk(key)
        .map_err(|_| refused("The registered key the assertion names cannot be used."))?;
    let mut validation = Validation::new(alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[unverified.client_id.as_str()]);
    validation.sub = Some(unverified.client_id.clone());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = SKEW as u64;
    validation.validate_nbf = true;
    let data = jsonwebtoken::decode::<Claims>(assertion, &decoding, &validation)
        .map_err(|error| refused(describe(&error, audience)))?;
    let now = Utc::now().timestamp();
    if data.claims.exp > now + MAX_LIFETIME + SKEW {
        return Err(refused(format!(
            "`client_assertion` expires more than {MAX_LIFETIME} seconds from now."
        )));
    }
    let jti = data
        .claims
        .jti
        .filter(|jti| !jti.is_empty() && jti.len() <= MAX_JTI)
        .ok_or_else(|| {
            refused(format!(
                "`client_assertion` needs a `jti` of 1 to {MAX_JTI} characters."
            ))
        })?;
    let expires_at = Utc
        .timestamp_opt(data.claims.exp + SKEW, 0)
        .single()
        .ok_or_else(|| refused("`client_assertion` has an impossible `exp`."))?;
    Ok(Verified { jti, expires_at })
}

fn describe(error: &jsonwebtoken::errors::Error, audience: &str) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidSignature => {
            "The signature of `client_assertion` does not verify with the registered key.".into()
        }
        ErrorKind::ExpiredSignature => "`client_assertion` has expired.".into(),
        ErrorKind::ImmatureSignature => "`client_assertion` is not valid yet (`nbf`).".into(),
        ErrorKind::InvalidAudience => {
            format!("The `aud` of `client_assertion` must be {audience}.")
        }
        ErrorKind::InvalidIssuer => "The `iss` of `client_assertion` must be the client_id.".into(),
        ErrorKind::InvalidSubject => {
            "The `sub` of `client_assertion` must be the client_id.".into()
        }
        ErrorKind::MissingRequiredClaim(claim) => format!("`client_assertion` has no `{claim}`."),
        _ => "`client_assertion` could not be verified.".into(),
    }
}
