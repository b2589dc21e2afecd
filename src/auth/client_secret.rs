//! Integration-client secrets: generated here, shown once, stored only as a digest.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new client secret: `cs_` and 32 random bytes, URL-safe base64.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("cs_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a client secret (SHA-256, hex). Secrets are 256 random bits, so a fast
/// digest is enough: there is nothing to guess from it.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_url_safe_and_different() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(a.len() >= 46);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(hash(&a).len(), 64);
    }
}
