//! Keyed hashing: the HMAC-SHA256 that links the audit chain, fingerprints idempotent requests
//! and signs webhook deliveries. It uses nothing from the rest of the crate.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of `parts`, concatenated, keyed with `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length (a longer one is hashed first), so `new_from_slice` never
    // returns its `InvalidLength`: the `Result` is only the shape of the `KeyInit` trait.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length")
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(key: &[u8], parts: &[&[u8]]) -> String {
        hex::encode(hmac_sha256(key, parts))
    }

    #[test]
    fn matches_the_rfc_4231_test_vectors() {
        // Test case 2: a key shorter than the block.
        assert_eq!(
            hex_of(b"Jefe", &[b"what do ya want ", b"for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block, which HMAC hashes first.
        assert_eq!(
            hex_of(
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // An empty key is a key too.
        assert_eq!(hex_of(b"", &[]).len(), 64);
    }
}
