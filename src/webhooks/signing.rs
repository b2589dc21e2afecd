//! How a delivery is signed: `X-Tandem-Signature` (keyed with the UTF-8 bytes of the whole
//! `whsec_…` secret) and the Standard Webhooks `webhook-signature` (keyed with the bytes the
//! base64 after `whsec_` decodes to). While a rotated secret is still valid, both headers
//! carry a signature with each secret, the current one first.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;

use crate::crypto::hmac_sha256;

const PREFIX: &str = "whsec_";

/// How long a rotated webhook secret goes on signing deliveries beside the new one.
pub const ROTATED_SECRET_VALID: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// A new webhook secret: `whsec_` and the standard base64 (with padding) of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub fn tandem_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let digest = hmac_sha256(secret.as_bytes(), &[t.as_bytes(), b".", body]);
    format!("t={t},v1={}", hex::encode(digest))
}

/// The two signature headers of one delivery, `(X-Tandem-Signature, webhook-signature)`,
/// signed with `secret` and, during a rotation, with `previous` too: `t=<t>,v1=<new>,v1=<old>`
/// and `v1,<new> v1,<old>` (space-separated, as Standard Webhooks allows).
pub fn headers(
    secret: &str,
    previous: Option<&str>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> (String, Option<String>) {
    let secrets = std::iter::once(secret).chain(previous);
    let mut tandem = format!("t={timestamp}");
    let mut standard = Vec::new();
    for key in secrets {
        let signed = tandem_signature(key, timestamp, body);
        tandem.push_str(&signed[signed.find(",v1=").unwrap_or(signed.len())..]);
        standard.extend(standard_signature(key, id, timestamp, body));
    }
    (tandem, (!standard.is_empty()).then(|| standard.join(" ")))
}

/// `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`; `None` when the secret is not a
/// `whsec_` secret.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()?;
    let t = timestamp.to_string();
    let digest = hmac_sha256(&key, &[id.as_bytes(), b".", t.as_bytes(), b".", body]);
    Some(format!("v1,{}", STANDARD.encode(digest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_standard_webhooks_shape() {
        let secret = new_secret();
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(key.len(), 32);
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn the_standard_signature_matches_the_specifications_example() {
        // The example of the Standard Webhooks specification.
        let signature = standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(standard_signature("not-whsec", "id", 1, b""), None);
    }

    #[test]
    fn during_a_rotation_both_headers_carry_both_signatures_the_new_one_first() {
        let (new, old) = (new_secret(), new_secret());
        let (tandem, standard) = headers(&new, Some(&old), "msg", 1700000000, b"{}");
        let expected_tandem = format!(
            "{},v1={}",
            tandem_signature(&new, 1700000000, b"{}"),
            tandem_signature(&old, 1700000000, b"{}")
                .split_once(",v1=")
                .unwrap()
                .1
        );
        assert_eq!(tandem, expected_tandem);
        let expected_standard = [&new, &old]
            .map(|key| standard_signature(key, "msg", 1700000000, b"{}").unwrap())
            .join(" ");
        assert_eq!(standard.as_deref(), Some(expected_standard.as_str()));

        let (tandem, standard) = headers(&new, None, "msg", 1700000000, b"{}");
        assert_eq!(tandem, tandem_signature(&new, 1700000000, b"{}"));
        assert_eq!(standard, standard_signature(&new, "msg", 1700000000, b"{}"));
    }

    #[test]
    fn the_tandem_signature_is_hex_over_timestamp_and_body() {
        let signature = tandem_signature("whsec_abc", 1700000000, b"{}");
        assert!(signature.starts_with("t=1700000000,v1="));
        assert_eq!(signature.len(), "t=1700000000,v1=".len() + 64);
    }
}
